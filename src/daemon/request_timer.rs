//! The request timers of a daemon process, as mod_wsgi 6 keeps them:
//! request-timeout judged per worker thread against a threshold scaled by
//! the thread count (`T * (1 + ln(threads))`, [`threshold_ms`]), with
//! interrupt-timeout first raising `mod_wsgi.RequestTimeout` in the one
//! thread past it (one thread per pass, in the interpreter it runs) and
//! restarting only when it has not unwound within interrupt-timeout; and
//! startup-timeout, armed by the first request and cancelled once a WSGI
//! script has loaded. Before a timer interrupts or restarts anything, the
//! Python stack of every thread goes to the error log, the stuck one
//! marked (`python::stacks`).
//!
//! Read by the watchdogs (`watchdog`) on the daemon's main thread, which
//! never takes the GIL here: the raise (which needs the GIL, possibly
//! held by the stuck thread) is handed to one "wsgi-interrupt" thread, and
//! the restart dumps the stacks without the GIL.

use super::state::DaemonState;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{LogId, REQUEST_INTERRUPTING, STACK_DUMP};
use crate::python::{interp, interrupt, stacks};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// What the timers know of one worker thread.
struct Slot {
    /// Its Python thread ident (`PyThread_get_thread_ident`), 0 until known.
    ident: AtomicU64,
    /// The application group whose interpreter its request runs in.
    group: Mutex<Option<String>>,
    /// When RequestTimeout was raised in it (ms; older than the request's
    /// start means "not for this request").
    raised_ms: AtomicU64,
}

/// A RequestTimeout to raise: worker, thread ident, application group.
type Job = (u32, u64, String);

/// The timers' per-thread records and the startup deadline.
pub struct RequestTimers {
    slots: Vec<Slot>,
    /// startup-timeout's deadline (ms since the process started; 0: not armed).
    startup_deadline_ms: AtomicU64,
    /// The interrupting thread's queue, started on first use.
    interrupter: OnceLock<Mutex<Sender<Job>>>,
}

/// request-timeout's threshold for one thread, as mod_wsgi 6:
/// `request-timeout * (1 + ln(threads))` (request-timeout itself with one
/// thread, about 3.3 times it with ten).
pub fn threshold_ms(limit: Duration, threads: u32) -> u64 {
    let scale = 1.0 + f64::from(threads.max(1)).ln();
    (limit.as_millis() as f64 * scale) as u64
}

impl RequestTimers {
    pub fn new(threads: u32) -> RequestTimers {
        RequestTimers {
            slots: (0..threads)
                .map(|_| Slot {
                    ident: AtomicU64::new(0),
                    group: Mutex::new(None),
                    raised_ms: AtomicU64::new(0),
                })
                .collect(),
            startup_deadline_ms: AtomicU64::new(0),
            interrupter: OnceLock::new(),
        }
    }

    /// Called on worker thread `worker` when it starts.
    pub fn thread_started(&self, worker: u32) {
        if let Some(s) = self.slots.get(worker as usize) {
            // SAFETY: a plain OS thread id query; needs no GIL.
            let ident = unsafe { pyo3::ffi::PyThread_get_thread_ident() };
            s.ident.store(ident as u64, Ordering::SeqCst);
        }
    }

    /// Worker `worker` runs its request in `group` (None: it ended).
    pub fn set_group(&self, worker: u32, group: Option<&str>) {
        if let Some(s) = self.slots.get(worker as usize) {
            *s.group.lock().unwrap_or_else(|e| e.into_inner()) = group.map(str::to_string);
        }
    }

    /// A request begins loading the WSGI script: arms startup-timeout once.
    pub fn arm_startup(&self, now_ms: u64, limit: Option<Duration>) {
        if let Some(limit) = limit {
            let deadline = now_ms + limit.as_millis() as u64;
            let _ = self.startup_deadline_ms.compare_exchange(
                0,
                deadline,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// Whether startup-timeout has passed with no script loaded.
    pub fn startup_expired(&self, now_ms: u64) -> bool {
        let deadline = self.startup_deadline_ms.load(Ordering::SeqCst);
        deadline > 0 && now_ms >= deadline && !crate::python::script::any_loaded()
    }

    /// A note for the stack dump: which worker a thread is, and the stuck one.
    fn mark(&self, state: &DaemonState, stuck: Option<u32>, ident: u64) -> String {
        let Some(w) = self
            .slots
            .iter()
            .position(|s| s.ident.load(Ordering::SeqCst) == ident)
        else {
            return String::new();
        };
        let started = state.started_ms(w as u32);
        let running = if started > 0 {
            let secs = state.now_ms().saturating_sub(started) as f64 / 1000.0;
            format!(", request running for {secs:.1}s")
        } else {
            String::new()
        };
        let stuck = if stuck == Some(w as u32) {
            "STUCK "
        } else {
            ""
        };
        format!(" ({stuck}worker {w}{running})")
    }
}

/// Logs the stacks of every thread (read without the GIL), `stuck` marked.
pub fn log_stacks(state: &DaemonState, stuck: Option<u32>, why: &str) {
    let lines = stacks::without_gil(&|id| state.timers.mark(state, stuck, id));
    log_dump(state, why, &lines);
}

fn log_dump(state: &DaemonState, why: &str, lines: &[String]) {
    log::server(
        Level::Err,
        None,
        &format!(
            "{STACK_DUMP} Python stacks of the threads of daemon process {} of group '{}' ({why}):",
            std::process::id(),
            state.group.opts.name
        ),
    );
    for line in lines {
        log::server(Level::Err, None, line);
    }
}

/// request-timeout's watchdog: None while every thread is within its
/// threshold (or has just had RequestTimeout raised in it); else why the
/// process restarts (log id, text) and the stuck worker, for the caller to
/// log after the stacks.
pub fn check(state: &DaemonState) -> Option<(LogId, String, u32)> {
    let o = &state.group.opts;
    let limit = o.request_timeout?;
    let fire = threshold_ms(limit, o.threads);
    let now = state.now_ms();
    for w in 0..o.threads {
        let started = state.started_ms(w);
        if started == 0 || now.saturating_sub(started) <= fire {
            continue;
        }
        let Some(grace) = o.interrupt_timeout else {
            return Some((
                crate::apache::log_ids::REQUEST_TIMEOUT,
                format!(
                    "worker thread {w}'s request has run longer than request-timeout={:.1}s \
                     x (1 + ln {} threads) = {:.1}s; restarting the process",
                    limit.as_secs_f64(),
                    o.threads,
                    fire as f64 / 1000.0
                ),
                w,
            ));
        };
        let slot = &state.timers.slots[w as usize];
        let raised = slot.raised_ms.load(Ordering::SeqCst);
        if raised < started {
            slot.raised_ms.store(now, Ordering::SeqCst);
            interrupt_thread(state, w, now.saturating_sub(started), fire);
            return None;
        }
        if now.saturating_sub(raised) > grace.as_millis() as u64 {
            return Some((
                crate::apache::log_ids::INTERRUPT_TIMEOUT,
                format!(
                    "worker thread {w} did not unwind within interrupt-timeout={:.1}s of the \
                     mod_wsgi.RequestTimeout raised in it; restarting the process",
                    grace.as_secs_f64()
                ),
                w,
            ));
        }
    }
    None
}

/// With interrupt-timeout set: starts the thread that raises
/// RequestTimeout (it takes the GIL, which the stuck thread may hold, so
/// the watchdogs never wait for it).
pub fn start_interrupter(state: &Arc<DaemonState>) {
    if state.group.opts.interrupt_timeout.is_none() {
        return;
    }
    interrupt::enable();
    let (tx, rx) = channel::<Job>();
    let st = state.clone();
    let started = std::thread::Builder::new()
        .name("wsgi-interrupt".into())
        .spawn(move || {
            for job in rx {
                raise(&st, job);
            }
        });
    if started.is_ok() {
        let _ = state.timers.interrupter.set(Mutex::new(tx));
    }
}

/// Hands the raise of RequestTimeout in worker `w` to the interrupting thread.
fn interrupt_thread(state: &DaemonState, w: u32, ran_ms: u64, fire_ms: u64) {
    let slot = &state.timers.slots[w as usize];
    let group = slot.group.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let o = &state.group.opts;
    log::server(
        Level::Err,
        None,
        &format!(
            "{REQUEST_INTERRUPTING} daemon process {} of group '{}': worker thread {w}'s request has \
             run {:.1}s, past request-timeout={:.1}s x (1 + ln {} threads) = {:.1}s; raising \
             mod_wsgi.RequestTimeout in it (interrupt-timeout={:.1}s to unwind)",
            std::process::id(),
            o.name,
            ran_ms as f64 / 1000.0,
            o.request_timeout.unwrap_or_default().as_secs_f64(),
            o.threads,
            fire_ms as f64 / 1000.0,
            o.interrupt_timeout.unwrap_or_default().as_secs_f64()
        ),
    );
    let (Some(group), ident) = (group, slot.ident.load(Ordering::SeqCst)) else {
        // Not in Python yet (reading the request): nothing to raise in.
        return;
    };
    let Some(sender) = state.timers.interrupter.get() else {
        return;
    };
    let _ = sender
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((w, ident, group));
}

/// On the interrupting thread: in the worker's interpreter, dumps every
/// thread's stack (the worker marked), then raises RequestTimeout in it.
fn raise(state: &DaemonState, (w, ident, group): Job) {
    let Some(target) = interp::existing(&group) else {
        return;
    };
    let lines = interp::run(target, |py| {
        stacks::with_gil(py, &|id| state.timers.mark(state, Some(w), id))
    });
    // Logged before the raise, so the log reads in the order things happened.
    log_dump(
        state,
        "request-timeout, before raising mod_wsgi.RequestTimeout",
        &lines,
    );
    if interp::run(target, |py| interrupt::raise_in(py, ident)) {
        // mod_wsgi 6's words (its tests look for them).
        log::server(
            Level::Info,
            None,
            &format!(
                "{REQUEST_INTERRUPTING} Injected RequestTimeout into thread {w} of daemon process \
                 '{}'.",
                state.group.opts.name
            ),
        );
    } else {
        log::server(
            Level::Err,
            None,
            &format!(
                "{REQUEST_INTERRUPTING} daemon process {}: worker thread {w} was no longer in \
                 application group '{group}'; nothing raised",
                std::process::id()
            ),
        );
    }
}

/// Held while the group's `WSGIImportScript` scripts run, before any
/// request (the watchdogs are not running yet): with startup-timeout set,
/// a watcher ends the process if they have not finished by then (stacks
/// and WSGIRS0468 logged first), and the supervisor starts a new one.
pub struct PreloadGuard(Arc<std::sync::atomic::AtomicBool>);

impl Drop for PreloadGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Starts startup-timeout's watch over the preload (None when not set).
pub fn guard_preload(state: &Arc<DaemonState>) -> Option<PreloadGuard> {
    let limit = state.group.opts.startup_timeout?;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (st, seen) = (state.clone(), done.clone());
    let deadline = std::time::Instant::now() + limit;
    std::thread::Builder::new()
        .name("wsgi-startup".into())
        .spawn(move || {
            while std::time::Instant::now() < deadline {
                if seen.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if seen.load(Ordering::SeqCst) {
                return;
            }
            log_stacks(&st, None, "startup-timeout, before restarting");
            log::server(
                Level::Err,
                None,
                &format!(
                    "{} daemon process {} of group '{}': its WSGIImportScript scripts have not \
                     finished within startup-timeout={:.1}s; restarting the process",
                    crate::apache::log_ids::STARTUP_TIMEOUT,
                    std::process::id(),
                    st.group.opts.name,
                    limit.as_secs_f64()
                ),
            );
            // SAFETY: the main thread is stuck in Python; leave without
            // Apache's exit handlers, as a crashed daemon would.
            unsafe { libc::_exit(1) }
        })
        .ok()?;
    Some(PreloadGuard(done))
}
