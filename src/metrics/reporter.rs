//! The telemetry reporter of one process (`WSGITelemetryService`): a
//! thread that every interval takes the process's [`Sample`] and sends it,
//! with any slow-request records, as datagrams to the service's UNIX
//! socket, plus `process_started` when it starts and `process_stopping` /
//! `process_stopped` (after a last sample) when the process stops. Sends
//! never block a request: the socket is non-blocking, a full listener gets
//! a short grace, and a datagram the service cannot take (not listening,
//! queue still full) is dropped, as in mod_wsgi.
//! Started once per process; requests only touch [`ProcessMetrics`].

use super::records::{self, Identity, Settings, Stopped};
use super::{ProcessMetrics, usage};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::TELEMETRY_THREAD_FAILED;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// What the reporter needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// The service's socket path.
    pub path: String,
    pub interval: f64,
    /// `WSGISlowRequests` in seconds.
    pub slow_requests: Option<f64>,
    pub capture_user_agent: bool,
}

/// The process's reporter.
pub struct Reporter {
    metrics: &'static ProcessMetrics,
    identity: Identity,
    config: Config,
    socket: Option<UnixDatagram>,
    seq: AtomicU32,
    /// Set when the process stops; the thread then exits.
    stop: Mutex<bool>,
    wake: Condvar,
    stopped_sent: AtomicBool,
    /// The garbage collectors of the process's interpreters.
    gc: super::gc::GcWatch,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The process's reporter, once started: a static because the process's
/// stop paths (a daemon's shutdown, an Apache child's exit) reach it from
/// where no owner could be passed.
static REPORTER: OnceLock<Arc<Reporter>> = OnceLock::new();

impl Reporter {
    fn next_seq(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Sends one record. A listener whose queue is full (the kernel keeps
    /// only a few datagrams per UNIX socket) gets up to 100 ms to catch up;
    /// then, or when nothing listens, the record is dropped. Only the
    /// reporter (and a stopping process) waits here, never a request.
    fn send(&self, d: &super::wire::Datagram) {
        let Some(s) = &self.socket else {
            return;
        };
        for _ in 0..10 {
            match s.send_to(d.bytes(), &self.config.path) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => return,
            }
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            interval: self.config.interval,
            slow_threshold: self.config.slow_requests.unwrap_or(0.0),
        }
    }

    /// One interval in the reporter thread: [`Reporter::tick`], then the
    /// interpreters' garbage-collector records (which take each
    /// interpreter's GIL in turn, briefly).
    fn tick_with_gc(&self) {
        self.tick();
        for d in self.gc.tick(|| self.next_seq()) {
            self.send(&d);
        }
    }

    /// One interval: the sample, then the slow requests of the interval.
    fn tick(&self) {
        let sample = self.metrics.sample();
        self.send(&records::request(
            &self.identity,
            self.settings(),
            self.next_seq(),
            &sample,
        ));
        for r in self.metrics.slow.drain() {
            self.send(&records::slow(self.next_seq(), &r));
        }
        for r in self.metrics.running_slow(usage::now_us()) {
            self.send(&records::slow(self.next_seq(), &r));
        }
    }

    fn run(&self) {
        let interval = Duration::from_secs_f64(self.config.interval);
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let (guard, _) = self
                .wake
                .wait_timeout(stop, interval)
                .unwrap_or_else(|e| e.into_inner());
            stop = guard;
            if *stop {
                return;
            }
            drop(stop);
            self.tick_with_gc();
            stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Starts this process's reporter (once): recording on, the Python
/// accessors handed over, `process_started` sent, the thread running.
pub fn start(metrics: &'static ProcessMetrics, identity: Identity, config: Config) {
    if REPORTER.get().is_some() {
        return;
    }
    if let Some(s) = config.slow_requests {
        metrics.slow.set_threshold(s);
    }
    metrics
        .slow
        .capture_user_agent
        .store(config.capture_user_agent, Ordering::Relaxed);
    super::python::reporter_owns_samples();
    metrics.start_recording();
    let socket = UnixDatagram::unbound()
        .and_then(|s| s.set_nonblocking(true).map(|_| s))
        .ok();
    let reporter = Arc::new(Reporter {
        metrics,
        identity,
        config,
        socket,
        seq: AtomicU32::new(0),
        stop: Mutex::new(false),
        wake: Condvar::new(),
        stopped_sent: AtomicBool::new(false),
        gc: Default::default(),
        thread: Mutex::new(None),
    });
    if REPORTER.set(reporter.clone()).is_err() {
        return;
    }
    reporter.send(&records::started(
        &reporter.identity,
        reporter.next_seq(),
        metrics.started_us,
    ));
    // Collections in the interpreters that exist already count from now;
    // those made later are watched from their creation (`watch_gc`).
    for interp in crate::python::interp::all() {
        crate::python::interp::run(interp, |py| reporter.gc.watch_current(py));
    }
    let thread = reporter.clone();
    let spawned = std::thread::Builder::new()
        .name("wsgi-telemetry".into())
        .spawn(move || thread.run());
    match spawned {
        Ok(handle) => *reporter.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle),
        Err(e) => report_no_thread(&e),
    }
}

fn report_no_thread(e: &std::io::Error) {
    log::server(
        Level::Warning,
        None,
        &format!(
            "{TELEMETRY_THREAD_FAILED} could not start the telemetry reporter thread of process {}: {e}; \
             no telemetry will be sent from it",
            std::process::id()
        ),
    );
}

/// A new interpreter is set up on this thread (GIL held): its garbage
/// collections are recorded from now, when telemetry runs.
pub fn watch_gc(py: pyo3::Python<'_>) {
    if let Some(r) = REPORTER.get() {
        r.gc.watch_current(py);
    }
}

/// The process decided to stop (`reason`: mod_wsgi's shutdown reason).
pub fn stopping(reason: &str) {
    if let Some(r) = REPORTER.get() {
        let active = r.metrics.active.load(Ordering::Relaxed).max(0) as u64;
        r.send(&records::stopping(
            &r.identity,
            r.next_seq(),
            reason,
            active,
        ));
    }
}

/// The process is about to exit: the thread stops (waited for up to
/// 2 seconds, so that it is out of Python before Python is finalised), the
/// partial interval is sent, then `process_stopped` (once).
pub fn stopped(reason: &str, graceful: bool) {
    let Some(r) = REPORTER.get() else {
        return;
    };
    if r.stopped_sent.swap(true, Ordering::Relaxed) {
        return;
    }
    *r.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
    r.wake.notify_all();
    let thread = r.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(t) = thread {
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while !t.is_finished() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        }
    }
    r.tick();
    let m = r.metrics;
    r.send(&records::stopped(
        &r.identity,
        r.next_seq(),
        &Stopped {
            reason,
            uptime: usage::now_us().saturating_sub(m.started_us) as f64 / 1e6,
            lifetime_requests: m.total.load(Ordering::Relaxed),
            active: m.active.load(Ordering::Relaxed).max(0) as u64,
            graceful,
        },
    ));
}
