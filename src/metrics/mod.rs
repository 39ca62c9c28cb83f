//! Per-process request metrics, as mod_wsgi 6 keeps them: lifetime
//! counters always, interval aggregates once recording was switched on by
//! `mod_wsgi.start_recording_metrics()` (or a telemetry service). One
//! [`ProcessMetrics`] per process (Apache child or daemon process), made
//! when the first interpreter of the process is set up; the WSGI core
//! (`wsgi::request`) reports each request to it through [`begin`] and
//! dropping the [`RequestMeter`]. `python` holds the `mod_wsgi` functions that read
//! it.

pub mod gc;
pub mod phase;
pub mod process;
pub mod python;
pub mod records;
pub mod reporter;
pub mod sample;
pub mod service;
pub mod slow;
pub mod usage;
pub mod wire;

pub use process::{Finished, ProcessMetrics};
pub use sample::Sample;
pub use slow::Who;

use std::sync::{Arc, Mutex, OnceLock};

/// The process's metrics. A static because the `mod_wsgi` module's
/// functions (C entry points without a receiver) and every request thread
/// reach it; set once per process.
static PROCESS: OnceLock<ProcessMetrics> = OnceLock::new();

/// Makes this process's metrics for `threads` request threads, in a
/// daemon process or an Apache child (first call wins).
pub fn init(threads: i32, daemon: bool) -> &'static ProcessMetrics {
    PROCESS.get_or_init(|| ProcessMetrics::new(threads.max(1) as usize, daemon))
}

/// This process's metrics, once made.
pub fn get() -> Option<&'static ProcessMetrics> {
    PROCESS.get()
}

/// What a request read and wrote and the status it sent, counted by the
/// WSGI core's host wrapper while recording.
#[derive(Clone, Copy, Debug, Default)]
pub struct Io {
    pub status: u16,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub input_read_us: u64,
    pub output_write_us: u64,
}

/// The request's times as the environ has them (`mod_wsgi.request_start`,
/// `queue_start`, `daemon_start`, `application_start`), seconds since the
/// epoch, 0 when absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Times {
    pub request_start: f64,
    pub queue_start: f64,
    pub daemon_start: f64,
    pub application_start: f64,
}

/// One running request's account; dropping it ends the request (also
/// when the request path unwinds).
pub struct RequestMeter {
    metrics: &'static ProcessMetrics,
    thread_id: i64,
    start_us: u64,
    active_at_start: i64,
    /// Set while recording.
    recorded: Option<Recorded>,
}

struct Recorded {
    times: Times,
    io: Arc<Mutex<Io>>,
    cpu_start: Option<usage::Cpu>,
    gil_wait_us: u64,
    /// Who made the request, when slow requests are reported.
    who: Option<Who>,
}

fn us(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1e6) as u64
}

/// Whether requests must say who made them (slow requests are reported),
/// and with the User-Agent.
pub fn wants_who() -> Option<bool> {
    let m = get()?;
    (m.recording() && m.slow.threshold_us() > 0).then(|| {
        m.slow
            .capture_user_agent
            .load(std::sync::atomic::Ordering::Relaxed)
    })
}

/// A request starts on thread `thread_id` (the environ's 1-based
/// `mod_wsgi.thread_id`); `who` as [`wants_who`] asked. None before the
/// process's metrics exist.
pub fn begin(thread_id: i64, times: Times, who: Option<Who>) -> Option<RequestMeter> {
    let metrics = get()?;
    let start_us = usage::now_us();
    let active_at_start = metrics.begin(thread_id, start_us);
    if let Some(who) = &who {
        metrics.set_running(
            thread_id,
            Some(Arc::new(slow::Running {
                who: who.clone(),
                times: Finished {
                    request_start_us: us(times.request_start),
                    queue_start_us: us(times.queue_start),
                    daemon_start_us: us(times.daemon_start),
                    application_start_us: us(times.application_start),
                    ..Finished::default()
                },
                active_at_start: active_at_start.max(0) as u64,
            })),
        );
    }
    let recorded = metrics.recording().then(|| Recorded {
        times,
        io: Arc::new(Mutex::new(Io::default())),
        cpu_start: usage::thread_cpu(),
        gil_wait_us: 0,
        who,
    });
    Some(RequestMeter {
        metrics,
        thread_id,
        start_us,
        active_at_start,
        recorded,
    })
}

impl RequestMeter {
    /// The counters the host wrapper fills, when recording.
    pub fn io(&self) -> Option<Arc<Mutex<Io>>> {
        self.recorded.as_ref().map(|r| r.io.clone())
    }

    /// The time spent waiting for the GIL before the application ran.
    pub fn gil_waited(&mut self, waited: std::time::Duration) {
        if let Some(r) = self.recorded.as_mut() {
            r.gil_wait_us = waited.as_micros() as u64;
        }
    }
}

impl Drop for RequestMeter {
    /// The request ended.
    fn drop(&mut self) {
        let now = usage::now_us();
        let done = self.recorded.as_ref().map(|r| {
            let io = *r.io.lock().unwrap_or_else(|e| e.into_inner());
            let (cpu_user_us, cpu_system_us) = match (r.cpu_start, usage::thread_cpu()) {
                (Some(a), Some(b)) => (us(b.user - a.user), us(b.system - a.system)),
                _ => (0, 0),
            };
            Finished {
                request_start_us: us(r.times.request_start),
                queue_start_us: us(r.times.queue_start),
                daemon_start_us: us(r.times.daemon_start),
                application_start_us: us(r.times.application_start),
                finish_us: now,
                status: io.status,
                input_bytes: io.input_bytes,
                input_reads: io.input_reads,
                output_bytes: io.output_bytes,
                output_writes: io.output_writes,
                input_read_us: io.input_read_us,
                output_write_us: io.output_write_us,
                gil_wait_us: r.gil_wait_us,
                cpu_user_us,
                cpu_system_us,
            }
        });
        if let (Some(done), Some(who)) = (done, self.recorded.as_mut().and_then(|r| r.who.take())) {
            self.metrics.set_running(self.thread_id, None);
            self.metrics.slow.offer(slow::SlowRecord {
                completed: true,
                start_us: self.start_us,
                end_us: now,
                thread_id: self.thread_id,
                who,
                done,
                cpu_user: done.cpu_user_us as f64 / 1e6,
                cpu_system: done.cpu_system_us as f64 / 1e6,
                active_at_start: self.active_at_start.max(0) as u64,
                active_at_end: self
                    .metrics
                    .active
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .max(0) as u64,
            });
        }
        self.metrics
            .end(self.thread_id, self.start_us, now, done.as_ref());
    }
}
