//! Slow requests (`WSGISlowRequests`): a request whose run took at least
//! the threshold leaves a [`SlowRecord`] in a bounded queue of the process,
//! which the telemetry reporter drains each interval into `slow_request`
//! records. When the queue is full (a reporter that cannot keep up) the
//! oldest record is dropped: a request never waits for the reporter. A
//! request still running past the threshold is reported every interval
//! from what it left in its thread's slot ([`Running`]), as mod_wsgi's
//! active records.

use super::process::Finished;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Records kept between two reporter ticks at most.
const CAPACITY: usize = 1024;

/// Who made the request, taken from its environ when slow requests are
/// reported (empty strings when absent).
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub log_id: String,
    pub server_pid: u32,
    pub method: String,
    pub scheme: String,
    pub hostname: String,
    pub script_name: String,
    pub path_info: String,
    pub protocol: String,
    pub peer_ip: String,
    /// Only with `WSGITelemetryOptions +CaptureUserAgent`.
    pub user_agent: String,
}

/// One slow request, completed or (`completed` false) still running.
#[derive(Clone, Debug)]
pub struct SlowRecord {
    pub completed: bool,
    pub start_us: u64,
    pub end_us: u64,
    pub thread_id: i64,
    pub who: Who,
    pub done: Finished,
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub active_at_start: u64,
    pub active_at_end: u64,
}

/// What a running request leaves in its thread's slot while slow requests
/// are reported.
#[derive(Debug)]
pub struct Running {
    pub who: Who,
    /// Its times so far (`finish_us` and the counts are 0).
    pub times: Finished,
    pub active_at_start: u64,
}

/// The threshold and the queue.
#[derive(Default)]
pub struct SlowRequests {
    /// µs; 0: not reported.
    threshold_us: AtomicU64,
    /// Whether `Who::user_agent` is captured.
    pub capture_user_agent: std::sync::atomic::AtomicBool,
    queue: Mutex<VecDeque<SlowRecord>>,
}

impl SlowRequests {
    pub fn set_threshold(&self, seconds: f64) {
        self.threshold_us
            .store((seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// The threshold in µs, 0 when slow requests are not reported.
    pub fn threshold_us(&self) -> u64 {
        self.threshold_us.load(Ordering::Relaxed)
    }

    /// Keeps `r` if it took at least the threshold.
    pub fn offer(&self, r: SlowRecord) {
        let t = self.threshold_us();
        if t == 0 || r.end_us.saturating_sub(r.start_us) < t {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= CAPACITY {
            q.pop_front();
        }
        q.push_back(r);
    }

    /// Everything kept since the last call.
    pub fn drain(&self) -> Vec<SlowRecord> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.drain(..).collect()
    }
}
