//! A daemon process, from the moment the supervisor forks it in the Apache
//! parent until it exits (it never returns into Apache): process name,
//! closing what it must not keep (Apache's listeners, other groups'
//! sockets and secrets), privilege drop (refusing uid 0, fatal on failure),
//! home/umask/locale/environment, Python (`python::init`, GIL released
//! afterwards), then `threads` worker threads that accept only while idle
//! and run `server::serve` (one idle worker at a time waits, `acceptor`). The main thread waits for SIGTERM/SIGINT/
//! SIGHUP/SIGUSR1 and stops the process: no new connections, in-flight
//! requests get up to `shutdown-timeout`.

use super::acceptor::Acceptor;
use super::server;
use super::supervisor::{Group, Registry};
use crate::apache::log::{self, Level};
use crate::config::ServerConfig;
use crate::python::{init, modules};
use nix::sys::signal::{SigHandler, SigSet, Signal, signal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Set when the process is stopping: workers finish their request and exit.
pub static STOPPING: AtomicBool = AtomicBool::new(false);
/// Set when the process stops itself (maximum-requests): the socket stays
/// open in the parent, so queued connections wait for the replacement.
static SELF_RESTART: AtomicBool = AtomicBool::new(false);
/// Requests being served right now, and when the last one ended or began
/// (ms since `EPOCH`), for inactivity-timeout.
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static LAST_ACTIVITY_MS: AtomicU64 = AtomicU64::new(0);
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// When the GIL monitor last took the GIL (ms since `EPOCH`), for deadlock-timeout.
static GIL_SEEN_MS: AtomicU64 = AtomicU64::new(0);
static MONITOR_STOP: AtomicBool = AtomicBool::new(false);

/// Start time (ms since `EPOCH`, 0 = idle) of each worker's current request,
/// for request-timeout.
static STARTED_MS: std::sync::OnceLock<Vec<AtomicU64>> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Requests served by this process (for maximum-requests).
static SERVED: AtomicU64 = AtomicU64::new(0);

/// Set when a WSGI script changed and this process restarts for it.
static SCRIPT_CHANGED: AtomicBool = AtomicBool::new(false);
/// Modification time of each (application group, script) this process
/// has run, as first seen.
static SCRIPTS: std::sync::Mutex<Vec<(String, String, f64)>> = std::sync::Mutex::new(Vec::new());

/// With script reloading on: whether `script` changed since this process
/// first ran it in `application_group`. A changed script makes the process
/// restart (as mod_wsgi: every module the application imported is loaded
/// afresh, not only the script), so the caller refuses the request with
/// REJECT RESTARTING and the Apache child sends it again, to a new process.
pub fn script_changed(application_group: &str, script: &str, mtime: f64) -> bool {
    let mut seen = SCRIPTS.lock().unwrap_or_else(|e| e.into_inner());
    match seen
        .iter()
        .find(|(g, s, _)| g == application_group && s == script)
    {
        Some((_, _, first)) => *first != mtime,
        None => {
            seen.push((application_group.to_string(), script.to_string(), mtime));
            false
        }
    }
}

/// Stops this process after its requests in flight; the supervisor starts
/// a new one, and connections still queued on the socket wait for it.
pub fn restart_for_changed_script(group: &Group, script: &str) {
    if SCRIPT_CHANGED.swap(true, Ordering::SeqCst) {
        return;
    }
    restart_self(
        "[WSGIRS0416]",
        group,
        &format!("restarting: WSGI script '{script}' changed"),
    );
}

/// Logs why this daemon process restarts itself, then stops it after its
/// requests in flight (the supervisor starts a new one).
fn restart_self(code: &str, group: &Group, why: &str) {
    log::server(
        Level::Info,
        None,
        &format!(
            "{code} daemon process {} of group '{}' {why}",
            std::process::id(),
            group.opts.name
        ),
    );
    SELF_RESTART.store(true, Ordering::SeqCst);
    STOPPING.store(true, Ordering::SeqCst);
}

fn fatal(group: &Group, msg: String) -> ! {
    log::server(
        Level::Alert,
        None,
        &format!(
            "[WSGIRS0410] daemon process {} of group '{}': {msg}",
            std::process::id(),
            group.opts.name
        ),
    );
    // Back off so a failure that would recur cannot make the parent spin
    // (the supervisor adds a growing delay before the next start).
    sleep_unless_stopped(Duration::from_secs(2));
    // SAFETY: leaving the forked process without running Apache's atexit code.
    unsafe { libc::_exit(1) }
}

const STOP_SIGNALS: [Signal; 5] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Sleeps (stop signals are blocked), but exits at once on a stop signal,
/// so Apache's stop does not have to wait for a back-off delay.
fn sleep_unless_stopped(d: Duration) {
    let mut mask = SigSet::empty();
    for s in STOP_SIGNALS {
        mask.add(s);
    }
    let t = libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: a valid signal set and timeout; no siginfo wanted.
    if unsafe { libc::sigtimedwait(mask.as_ref(), std::ptr::null_mut(), &t) } > 0 {
        // SAFETY: leaving the forked process without Apache's exit handlers.
        unsafe { libc::_exit(0) }
    }
}

/// Overwrites the process's argv area (what `ps` shows) and its comm name.
fn set_display_name(name: &str) {
    if let Some(s) = log::main_server() {
        // SAFETY: process->argv is Apache's argv vector, whose strings are
        // contiguous in memory; we write within their combined length.
        unsafe {
            let process = (*s.as_ptr()).process;
            let argc = (*process).argc as usize;
            let argv = (*process).argv;
            if argc > 0 && !argv.is_null() && !(*argv).is_null() {
                let start = *argv as *mut u8;
                let last = *argv.add(argc - 1);
                let end = last.add(libc::strlen(last)) as *mut u8;
                let room = end.offset_from(start) as usize;
                std::ptr::write_bytes(start, 0, room);
                let n = name.len().min(room);
                std::ptr::copy_nonoverlapping(name.as_ptr(), start, n);
            }
        }
    }
    let comm =
        std::ffi::CString::new(name.chars().take(15).collect::<String>()).unwrap_or_default();
    // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr()) };
}

fn drop_privileges(group: &Group) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let o = &group.opts;
    let uid = o.user.as_ref().map(|u| u.1).unwrap_or(group.apache_uid);
    if uid == 0 {
        return Err("refusing to run a daemon process as root (user=, or the Apache User)".into());
    }
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten();
    let gid = match (&o.group, &o.user, &user) {
        (Some((_, g)), _, _) => *g,
        (None, Some(_), Some(u)) => u.gid.as_raw(),
        _ => group.apache_gid,
    };
    let gid = nix::unistd::Gid::from_raw(gid);
    nix::unistd::setgid(gid).map_err(|e| format!("setgid({gid}) failed: {e}"))?;
    if !o.supplementary_groups.is_empty() {
        let gids: Vec<_> = o
            .supplementary_groups
            .iter()
            .map(|(_, g)| nix::unistd::Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&gids).map_err(|e| format!("setgroups failed: {e}"))?;
    } else if let Some(u) = &user {
        let name = std::ffi::CString::new(u.name.clone()).unwrap_or_default();
        nix::unistd::initgroups(&name, gid)
            .map_err(|e| format!("initgroups({}) failed: {e}", u.name))?;
    } else {
        nix::unistd::setgroups(&[gid]).map_err(|e| format!("setgroups failed: {e}"))?;
    }
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
        .map_err(|e| format!("setuid({uid}) failed: {e}"))?;
    if nix::unistd::geteuid().is_root() || nix::unistd::getuid().is_root() {
        return Err("still root after setuid".into());
    }
    Ok(())
}

/// Runs the daemon process; never returns.
pub fn run(group: &Arc<Group>, reg: &Registry, index: u32, delay: Duration) -> ! {
    STOPPING.store(false, Ordering::SeqCst);
    now_ms();
    // Signals: default dispositions (Apache's handlers are the parent's), then
    // block the stop signals so only the main thread's sigwait sees them.
    let mut mask = SigSet::empty();
    for s in STOP_SIGNALS {
        mask.add(s);
        // SAFETY: resetting to the default disposition; no handler code runs.
        let _ = unsafe { signal(s, SigHandler::SigDfl) };
    }
    // SAFETY: ignoring SIGPIPE so a write to a vanished child returns EPIPE.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    // SAFETY: as above; the supervisor's SIGCHLD handling is the parent's.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let _ = mask.thread_block();

    if !delay.is_zero() {
        sleep_unless_stopped(delay);
    }
    // Close what this process must not keep.
    // SAFETY: Apache's listening sockets are not used here.
    unsafe { crate::apache::sys::ap_close_listeners() };
    for g in &reg.groups {
        if g.id != group.id {
            // SAFETY: another group's listener, unused here.
            unsafe { libc::close(g.listener) };
        }
    }
    let o = &group.opts;
    if let Some(name) = o.display_name() {
        set_display_name(&name);
    }
    if let Err(e) = drop_privileges(group) {
        fatal(group, e);
    }
    if let Some(home) = &o.home
        && let Err(e) = std::env::set_current_dir(home)
    {
        fatal(
            group,
            format!("cannot change to home directory '{home}': {e}"),
        );
    }
    if let Some(m) = o.umask {
        // SAFETY: umask(2) on this single-threaded process.
        unsafe { libc::umask(m as libc::mode_t) };
    }
    // SAFETY: no other thread exists yet (set_var), and setlocale gets a
    // NUL-terminated string.
    unsafe {
        if let Some(l) = &o.lang {
            std::env::set_var("LANG", l);
        }
        if let Some(l) = &o.locale {
            std::env::set_var("LC_ALL", l);
            let c = std::ffi::CString::new(l.as_str()).unwrap_or_default();
            libc::setlocale(libc::LC_ALL, c.as_ptr());
        }
        if let Some(e) = &o.python_eggs {
            std::env::set_var("PYTHON_EGG_CACHE", e);
        }
    }
    let mut settings = log::main_server()
        .and_then(|s| s.config::<ServerConfig>())
        .map(|c| c.python.clone())
        .unwrap_or_default();
    if let Some(h) = &o.python_home {
        settings.home = Some(h.clone());
    }
    if !o.python_path.is_empty() {
        settings.path = o.python_path.clone();
    }
    if let Some(home) = &o.home {
        settings.path.insert(0, home.clone());
    }
    if o.threads == 0 {
        // Service scripts may install signal handlers (mod_wsgi lifts
        // WSGIRestrictSignal for threads=0 daemons).
        settings.restrict_signal = Some(false);
    }
    let info = modules::ProcessInfo {
        process_group: o.name.clone(),
        maximum_processes: o.processes as i32,
        threads_per_process: o.threads as i32,
    };
    if let Err(e) = init::initialize(&settings, &info, crate::wsgi::PYTHON_EXTENSION) {
        fatal(group, format!("Python could not be started: {e}"));
    }
    // WSGIImportScript process-group=<this group> (and static-group aliases), before
    // any request is accepted, as mod_wsgi.
    if o.threads == 0 {
        service_main(group, mask);
    }
    if let Some(main) = log::main_server() {
        crate::python::preload::run_group(main, &o.name);
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "[WSGIRS0411] daemon process {} (#{index}) of group '{}' ready with {} threads",
            std::process::id(),
            o.name,
            o.threads
        ),
    );
    let acceptor = match Acceptor::new(group.listener) {
        Ok(a) => Arc::new(a),
        Err(e) => fatal(group, format!("cannot wait for connections: {e}")),
    };
    let _ = STARTED_MS.set((0..o.threads).map(|_| AtomicU64::new(0)).collect());
    let workers: Vec<_> = (0..o.threads)
        .map(|i| {
            let g = group.clone();
            let a = acceptor.clone();
            std::thread::Builder::new()
                .name(format!("wsgi-{i}"))
                .spawn(move || worker(&g, &a, i))
        })
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| fatal(group, format!("cannot start worker threads: {e}")));
    let monitor = o.deadlock_timeout.and_then(|_| start_gil_monitor());
    let sig = wait_for_stop(&mask, o);
    STOPPING.store(true, Ordering::SeqCst);
    log::server(
        Level::Info,
        None,
        &format!(
            "[WSGIRS0412] daemon process {} of group '{}' stopping ({})",
            std::process::id(),
            o.name,
            sig
        ),
    );
    let deadline = Instant::now() + o.shutdown_timeout;
    let mut all_done = true;
    for w in workers {
        while !w.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if w.is_finished() {
            let _ = w.join();
        } else {
            all_done = false;
        }
    }
    MONITOR_STOP.store(true, Ordering::SeqCst);
    if let Some(m) = monitor {
        let until = Instant::now() + Duration::from_secs(2);
        while !m.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        all_done &= m.is_finished();
    }
    if all_done && settings.destroy_interpreter() {
        init::finalize();
    }
    // SAFETY: leaving the forked process without Apache's exit handlers.
    unsafe { libc::_exit(0) }
}

/// A service-script daemon (`threads=0`): its `WSGIImportScript` scripts run
/// on this, the main thread (Python installs signal handlers only there, and
/// such scripts usually never return), while a helper thread waits for the
/// stop signal and ends the process. Never returns.
fn service_main(group: &Arc<Group>, mask: SigSet) -> ! {
    let g = group.clone();
    let waiter = std::thread::Builder::new()
        .name("wsgi-stop".into())
        .spawn(move || {
            let sig = wait_for_stop(&mask, &g.opts);
            log::server(
                Level::Info,
                None,
                &format!(
                    "[WSGIRS0412] daemon process {} of group '{}' stopping ({})",
                    std::process::id(),
                    g.opts.name,
                    sig
                ),
            );
            // The service script still holds the main thread: no finalisation.
            // SAFETY: leaving the forked process without Apache's exit handlers.
            unsafe { libc::_exit(0) }
        });
    if let Err(e) = waiter {
        fatal(group, format!("cannot start the stop-signal thread: {e}"));
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "[WSGIRS0411] service daemon process {} of group '{}' running its scripts",
            std::process::id(),
            group.opts.name
        ),
    );
    if let Some(main) = log::main_server() {
        crate::python::preload::run_group(main, &group.opts.name);
    }
    // The scripts returned: stay until stopped (mod_wsgi keeps the process).
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Waits for a stop signal, or for a worker to set [`STOPPING`] itself
/// (maximum-requests); returns what stopped the process.
fn wait_for_stop(mask: &SigSet, o: &crate::config::daemon_options::DaemonOptions) -> &'static str {
    let (inactivity, request_timeout) = (o.inactivity_timeout, o.request_timeout);
    let timeout = libc::timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    loop {
        if STOPPING.load(Ordering::SeqCst) {
            if SCRIPT_CHANGED.load(Ordering::SeqCst) {
                return "WSGI script changed";
            }
            return "maximum-requests reached";
        }
        // inactivity-timeout: armed by the first request, fires when no
        // request has been running for that long.
        if let Some(limit) = inactivity {
            let last = LAST_ACTIVITY_MS.load(Ordering::SeqCst);
            if last > 0
                && IN_FLIGHT.load(Ordering::SeqCst) == 0
                && now_ms().saturating_sub(last) >= limit.as_millis() as u64
            {
                SELF_RESTART.store(true, Ordering::SeqCst);
                return "inactivity-timeout reached";
            }
        }
        // deadlock-timeout: the GIL monitor could not take the GIL for that long.
        if let Some(limit) = o.deadlock_timeout {
            let seen = GIL_SEEN_MS.load(Ordering::SeqCst);
            if seen > 0 && now_ms().saturating_sub(seen) >= limit.as_millis() as u64 {
                log::server(
                    Level::Err,
                    None,
                    &format!(
                        "[WSGIRS0415] daemon process {} could not take the Python GIL for \
                         deadlock-timeout={:.1}s; restarting the process",
                        std::process::id(),
                        limit.as_secs_f64()
                    ),
                );
                SELF_RESTART.store(true, Ordering::SeqCst);
                return "deadlock-timeout reached";
            }
        }
        // request-timeout: a request running longer than that restarts the
        // process (the other requests get shutdown-timeout to finish).
        if let (Some(limit), Some(started)) = (request_timeout, STARTED_MS.get()) {
            let now = now_ms();
            let late = started.iter().any(|s| {
                let t = s.load(Ordering::SeqCst);
                t > 0 && now.saturating_sub(t) >= limit.as_millis() as u64
            });
            if late {
                log::server(
                    Level::Err,
                    None,
                    &format!(
                        "[WSGIRS0414] daemon process {} has a request running longer than \
                         request-timeout={:.1}s; restarting the process",
                        std::process::id(),
                        limit.as_secs_f64()
                    ),
                );
                SELF_RESTART.store(true, Ordering::SeqCst);
                return "request-timeout reached";
            }
        }
        // SAFETY: a valid signal set and timeout; no siginfo wanted.
        let n = unsafe { libc::sigtimedwait(mask.as_ref(), std::ptr::null_mut(), &timeout) };
        if n > 0 {
            return Signal::try_from(n).map(|s| s.as_str()).unwrap_or("signal");
        }
    }
}

/// Takes and releases the GIL (main interpreter) every 100 ms, recording
/// when it last succeeded; a GIL held for deadlock-timeout restarts the process.
fn start_gil_monitor() -> Option<std::thread::JoinHandle<()>> {
    let main = crate::python::interp::main()?;
    GIL_SEEN_MS.store(now_ms().max(1), Ordering::SeqCst);
    std::thread::Builder::new()
        .name("wsgi-gil-monitor".into())
        .spawn(move || {
            while !MONITOR_STOP.load(Ordering::SeqCst) {
                crate::python::interp::run(main, |_py| ());
                GIL_SEEN_MS.store(now_ms().max(1), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .ok()
}

/// One worker thread: accept while idle, serve, repeat until stopping;
/// then serve what is still queued on the socket (connections made before
/// the parent removed it) so that a stop or restart drops no request.
fn worker(group: &Arc<Group>, acceptor: &Acceptor, id: u32) {
    loop {
        let stopping = STOPPING.load(Ordering::SeqCst);
        if stopping && SELF_RESTART.load(Ordering::SeqCst) {
            return;
        }
        let Some(stream) = acceptor.next(if stopping { 0 } else { 200 }) else {
            if stopping {
                return;
            }
            continue;
        };
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        let start = now_ms().max(1);
        LAST_ACTIVITY_MS.store(start, Ordering::SeqCst);
        let slot = STARTED_MS.get().and_then(|v| v.get(id as usize));
        if let Some(s) = slot {
            s.store(start, Ordering::SeqCst);
        }
        server::serve(stream, group, id);
        if let Some(s) = slot {
            s.store(0, Ordering::SeqCst);
        }
        LAST_ACTIVITY_MS.store(now_ms().max(1), Ordering::SeqCst);
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        let served = SERVED.fetch_add(1, Ordering::SeqCst) + 1;
        let max = group.opts.maximum_requests;
        if max > 0 && served == max {
            restart_self(
                "[WSGIRS0413]",
                group,
                &format!("reached maximum-requests={max}; restarting"),
            );
        }
    }
}
