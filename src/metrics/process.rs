//! The per-process accounting behind `mod_wsgi.request_metrics()`,
//! `mod_wsgi.process_metrics()` and the telemetry reporter. Lifetime
//! counters (requests served, active requests, busy time, per-thread
//! counts) are atomics updated on every request; the interval aggregates
//! (phase times, status classes, I/O, per-thread ticks) are kept under a
//! short lock and only once recording was switched on
//! (`start_recording_metrics()` or a telemetry service), as mod_wsgi does.

use super::phase::Phase;
use super::usage::{self, Cpu};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// The phases, in the order of [`Interval::phases`].
pub const PHASES: [&str; 8] = [
    "server_time",
    "queue_time",
    "daemon_time",
    "application_time",
    "request_time",
    "gil_wait_time",
    "input_read_time",
    "output_write_time",
];

/// Index of a phase in [`PHASES`].
#[derive(Clone, Copy)]
pub enum P {
    Server = 0,
    Queue,
    Daemon,
    Application,
    Request,
    GilWait,
    InputRead,
    OutputWrite,
}

/// One request thread's lifetime state.
#[derive(Default)]
pub struct Slot {
    /// Whether this thread has served a request.
    pub used: AtomicBool,
    /// Start of the request it runs now (µs since the epoch), 0 when idle.
    pub start_us: AtomicU64,
    /// Requests it started (as mod_wsgi's per-thread `request_count`).
    pub count: AtomicU64,
    /// The running request, while slow requests are reported.
    pub running: Mutex<Option<std::sync::Arc<super::slow::Running>>>,
}

/// One request thread's share of the current interval.
#[derive(Clone, Copy, Default)]
pub struct Tick {
    pub completed: u64,
    pub busy_us: u64,
    pub cpu_us: u64,
    pub max_duration_us: u64,
    /// Busy time up to here was already counted (a reader folded the
    /// running request's tail into an earlier interval).
    pub folded_until_us: u64,
}

/// The aggregates of the current interval and the baselines it started from.
pub struct Interval {
    pub start_us: u64,
    pub start_cpu: Cpu,
    pub start_busy_us: u64,
    pub start_count: u64,
    pub requests: u64,
    pub phases: [Phase; 8],
    pub status: [u64; 5],
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub gil_wait_count: u64,
    pub ticks: Vec<Tick>,
}

/// What one finished request contributes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Finished {
    /// `mod_wsgi.request_start`, `queue_start` (0 in embedded mode),
    /// `daemon_start`, `application_start`, and the end, in µs.
    pub request_start_us: u64,
    pub queue_start_us: u64,
    pub daemon_start_us: u64,
    pub application_start_us: u64,
    pub finish_us: u64,
    /// The status sent, 0 when none was (the server answered 5xx).
    pub status: u16,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub input_read_us: u64,
    pub output_write_us: u64,
    pub gil_wait_us: u64,
    pub cpu_user_us: u64,
    pub cpu_system_us: u64,
}

/// This process's metrics.
pub struct ProcessMetrics {
    /// Request threads of this process (`request_threads_maximum`).
    pub threads_max: usize,
    /// A daemon process (queue and daemon phases exist).
    pub daemon: bool,
    /// When the accounting began (`restart_time`), µs.
    pub started_us: u64,
    /// Whether the interval aggregates are being recorded.
    recording: AtomicBool,
    pub active: AtomicI64,
    pub total: AtomicU64,
    /// Busy time of completed requests, µs.
    pub busy_us: AtomicU64,
    pub slots: Box<[Slot]>,
    pub interval: Mutex<Interval>,
    /// `WSGISlowRequests`: the threshold and the records to report.
    pub slow: super::slow::SlowRequests,
}

impl ProcessMetrics {
    pub fn new(threads_max: usize, daemon: bool) -> ProcessMetrics {
        let threads_max = threads_max.max(1);
        ProcessMetrics {
            threads_max,
            daemon,
            started_us: usage::now_us(),
            recording: AtomicBool::new(false),
            active: AtomicI64::new(0),
            total: AtomicU64::new(0),
            busy_us: AtomicU64::new(0),
            slots: (0..threads_max).map(|_| Slot::default()).collect(),
            interval: Mutex::new(Interval {
                start_us: 0,
                start_cpu: Cpu::default(),
                start_busy_us: 0,
                start_count: 0,
                requests: 0,
                phases: Default::default(),
                status: [0; 5],
                input_bytes: 0,
                input_reads: 0,
                output_bytes: 0,
                output_writes: 0,
                gil_wait_count: 0,
                ticks: vec![Tick::default(); threads_max],
            }),
            slow: Default::default(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Interval> {
        self.interval.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Switches recording on (idempotent); the first interval starts now.
    pub fn start_recording(&self) {
        let mut iv = self.lock();
        if self.recording() {
            return;
        }
        let now = usage::now_us();
        iv.start_us = now;
        iv.start_cpu = usage::process_cpu();
        iv.start_busy_us = self.busy_time_us(now);
        iv.start_count = self.total.load(Ordering::Relaxed);
        self.recording.store(true, Ordering::Relaxed);
    }

    /// The slot of a 1-based `mod_wsgi.thread_id`, if it has one.
    fn slot(&self, thread_id: i64) -> Option<(usize, &Slot)> {
        let i = usize::try_from(thread_id).ok()?.checked_sub(1)?;
        self.slots.get(i).map(|s| (i, s))
    }

    /// A request starts on thread `thread_id` at `start_us`; returns the
    /// requests now active, this one included.
    pub fn begin(&self, thread_id: i64, start_us: u64) -> i64 {
        let active = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some((_, s)) = self.slot(thread_id) {
            s.used.store(true, Ordering::Relaxed);
            s.count.fetch_add(1, Ordering::Relaxed);
            s.start_us.store(start_us.max(1), Ordering::Relaxed);
        }
        active
    }

    /// The request on thread `thread_id` ended; `done` is its account
    /// when recording.
    pub fn end(&self, thread_id: i64, start_us: u64, now_us: u64, done: Option<&Finished>) {
        let elapsed = now_us.saturating_sub(start_us);
        self.busy_us.fetch_add(elapsed, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        let slot = self.slot(thread_id);
        if let Some(f) = done.filter(|_| self.recording()) {
            let mut iv = self.lock();
            record(&mut iv, f);
            if let Some((i, _)) = slot {
                let t = &mut iv.ticks[i];
                t.completed += 1;
                t.busy_us += now_us.saturating_sub(start_us.max(t.folded_until_us));
                t.cpu_us += f.cpu_user_us + f.cpu_system_us;
                t.max_duration_us = t.max_duration_us.max(elapsed);
            }
        }
        if let Some((_, s)) = slot {
            s.start_us.store(0, Ordering::Relaxed);
        }
        self.active.fetch_sub(1, Ordering::Relaxed);
    }

    /// Sets (or clears) what the request on thread `thread_id` left for
    /// the slow-request reporting.
    pub fn set_running(&self, thread_id: i64, r: Option<std::sync::Arc<super::slow::Running>>) {
        if let Some((_, s)) = self.slot(thread_id) {
            *s.running.lock().unwrap_or_else(|e| e.into_inner()) = r;
        }
    }

    /// The requests running for at least the slow threshold, as records.
    pub fn running_slow(&self, now_us: u64) -> Vec<super::slow::SlowRecord> {
        let threshold = self.slow.threshold_us();
        let mut out = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            let start = s.start_us.load(Ordering::Relaxed);
            if threshold == 0 || start == 0 || now_us.saturating_sub(start) < threshold {
                continue;
            }
            let Some(r) = s.running.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
                continue;
            };
            out.push(super::slow::SlowRecord {
                completed: false,
                start_us: start,
                end_us: now_us,
                thread_id: i as i64 + 1,
                who: r.who.clone(),
                done: Finished {
                    finish_us: now_us,
                    ..r.times
                },
                cpu_user: 0.0,
                cpu_system: 0.0,
                active_at_start: r.active_at_start,
                active_at_end: 0,
            });
        }
        out
    }

    /// Busy time so far (completed requests and the running ones), µs.
    pub fn busy_time_us(&self, now_us: u64) -> u64 {
        let running: u64 = self
            .slots
            .iter()
            .map(|s| match s.start_us.load(Ordering::Relaxed) {
                0 => 0,
                t => now_us.saturating_sub(t),
            })
            .sum();
        self.busy_us.load(Ordering::Relaxed) + running
    }

    /// Threads that have served a request (`request_threads`).
    pub fn threads_started(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.used.load(Ordering::Relaxed))
            .count()
    }
}

fn record(iv: &mut Interval, f: &Finished) {
    let d = |a: u64, b: u64| a.saturating_sub(b);
    let (server, queue, daemon) = if f.queue_start_us != 0 {
        (
            d(f.queue_start_us, f.request_start_us),
            d(f.daemon_start_us, f.queue_start_us),
            d(f.application_start_us, f.daemon_start_us),
        )
    } else {
        (d(f.application_start_us, f.request_start_us), 0, 0)
    };
    let application = d(f.finish_us, f.application_start_us);
    iv.requests += 1;
    iv.phases[P::Server as usize].record(server);
    if f.queue_start_us != 0 {
        iv.phases[P::Queue as usize].record(queue);
        iv.phases[P::Daemon as usize].record(daemon);
    }
    iv.phases[P::Application as usize].record(application);
    iv.phases[P::Request as usize].record(server + queue + daemon + application);
    iv.phases[P::GilWait as usize].record(f.gil_wait_us);
    iv.phases[P::InputRead as usize].record(f.input_read_us);
    iv.phases[P::OutputWrite as usize].record(f.output_write_us);
    iv.gil_wait_count += 1;
    // No status (the application failed before start_response) is a 5xx,
    // as the client saw; out-of-range statuses are not counted.
    let class = if f.status == 0 { 5 } else { f.status / 100 };
    if (1..=5).contains(&class) {
        iv.status[class as usize - 1] += 1;
    }
    iv.input_bytes += f.input_bytes;
    iv.input_reads += f.input_reads;
    iv.output_bytes += f.output_bytes;
    iv.output_writes += f.output_writes;
}
