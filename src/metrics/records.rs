//! The telemetry records this process sends, encoded as mod_wsgi 6 does:
//! `request` (one interval's [`Sample`] with the process's identity),
//! `slow_request` (one request that took longer than `WSGISlowRequests`),
//! and the lifecycle records `started`, `stopping` and `stopped`.

use super::process::PHASES;
use super::sample::Sample;
use super::slow::SlowRecord;
use super::wire::{
    Datagram, KIND_REQUEST, KIND_SLOW_REQUEST, KIND_STARTED, KIND_STOPPED, KIND_STOPPING, f,
};

/// Who sends: the same on every record of the process.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub mod_wsgi_version: String,
    pub python_version: String,
    pub apache_version: String,
    pub mpm_name: String,
    pub hostname: String,
    /// The daemon process group, empty in an Apache child.
    pub process_group: String,
    pub parent_pid: u32,
}

/// The reporter's settings carried in `request` records.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub interval: f64,
    /// 0.0 when `WSGISlowRequests` is not set.
    pub slow_threshold: f64,
}

fn identity(d: &mut Datagram, id: &Identity, versions: bool) {
    if versions {
        d.str(f::MOD_WSGI_VERSION, &id.mod_wsgi_version)
            .str(f::PYTHON_VERSION, &id.python_version)
            .str(f::APACHE_VERSION, &id.apache_version)
            .str(f::MPM_NAME, &id.mpm_name);
    }
    d.str(f::HOSTNAME, &id.hostname)
        .str(f::PROCESS_GROUP, &id.process_group);
    if versions {
        d.u64(f::PARENT_PID, u64::from(id.parent_pid));
    }
}

fn stamp(us: u64) -> f64 {
    us as f64 / 1e6
}

/// `process_started`, stamped with the process's start.
pub fn started(id: &Identity, seq: u32, start_us: u64) -> Datagram {
    let mut d = Datagram::new(KIND_STARTED, std::process::id(), seq, stamp(start_us));
    identity(&mut d, id, true);
    d
}

/// `request`: one interval.
pub fn request(id: &Identity, settings: Settings, seq: u32, s: &Sample) -> Datagram {
    let mut d = Datagram::new(KIND_REQUEST, s.pid, seq, stamp(s.stop_us));
    identity(&mut d, id, true);
    d.f64(f::SAMPLE_PERIOD, s.period)
        .f64(f::TELEMETRY_INTERVAL, settings.interval)
        .f64(f::SLOW_REQUESTS_THRESHOLD, settings.slow_threshold)
        .u64(f::REQUEST_COUNT, s.request_count)
        .f64(f::REQUEST_THROUGHPUT, s.throughput)
        .f64(f::CAPACITY_UTILIZATION, s.capacity_utilization)
        .f64(f::CPU_USER_UTILIZATION, s.cpu_user)
        .f64(f::CPU_SYSTEM_UTILIZATION, s.cpu_system)
        .f64(f::CPU_UTILIZATION, s.cpu_user + s.cpu_system)
        .u64(f::MEMORY_RSS, s.memory_rss.max(0) as u64)
        .u64(f::MEMORY_MAX_RSS, s.memory_max_rss.max(0) as u64)
        .u64(f::THREADS_MAXIMUM, s.threads_max as u64)
        .u64(f::THREADS_STARTED, s.threads_started as u64)
        .u64(f::THREADS_ACTIVE, s.threads_active as u64);
    phases(&mut d, s);
    d.u64(f::INPUT_BYTES, s.input_bytes)
        .u64(f::INPUT_READS, s.input_reads)
        .u64(f::OUTPUT_BYTES, s.output_bytes)
        .u64(f::OUTPUT_WRITES, s.output_writes);
    for (i, n) in s.status.iter().enumerate() {
        d.u64(f::STATUS_1XX + i as u16, *n);
    }
    let counts = s.completed.iter().map(|&c| c.min(i32::MAX as u64) as i32);
    d.i32s(f::THREADS_COMPLETED, counts)
        .f64s(f::THREADS_BUSY_TIME, &s.busy)
        .f64s(f::THREADS_CPU_TIME, &s.cpu)
        .f64s(f::THREADS_CURRENT_ELAPSED, &s.current_elapsed)
        .f64s(f::THREADS_MAX_DURATION, &s.max_duration);
    d
}

/// Means, exact extremes (when the phase saw a request) and histograms;
/// the queue and daemon phases only from a daemon process.
fn phases(d: &mut Datagram, s: &Sample) {
    let daemon = s.has_daemon_timing;
    for (i, (name, p)) in PHASES.iter().zip(&s.phases).enumerate() {
        let id = i as u16;
        if !daemon && (*name == "queue_time" || *name == "daemon_time") {
            continue;
        }
        d.f64(f::PHASE_MEANS + id, p.mean(s.requests));
        if let Some((min, max)) = p.extremes() {
            d.f64(f::PHASE_MEANS + 10 + id, min as f64 / 1e6)
                .f64(f::PHASE_MEANS + 20 + id, max as f64 / 1e6);
        }
        d.i32s(
            f::PHASE_MEANS + 30 + id,
            p.buckets.iter().map(|&b| b.min(i32::MAX as u32) as i32),
        );
    }
}

/// `slow_request`: one request over the threshold, completed (state 1)
/// or still running (state 0: the times so far, no status, CPU or I/O yet).
pub fn slow(seq: u32, r: &SlowRecord) -> Datagram {
    let mut d = Datagram::new(KIND_SLOW_REQUEST, std::process::id(), seq, stamp(r.end_us));
    let t = &r.done;
    let ds = |a: u64, b: u64| a.saturating_sub(b) as f64 / 1e6;
    let (server, queue, daemon) = if t.queue_start_us != 0 {
        (
            ds(t.queue_start_us, t.request_start_us),
            ds(t.daemon_start_us, t.queue_start_us),
            ds(t.application_start_us, t.daemon_start_us),
        )
    } else {
        (ds(t.application_start_us, t.request_start_us), 0.0, 0.0)
    };
    d.u64(f::SLOW_STATE, u64::from(r.completed))
        .f64(f::SLOW_START_STAMP, stamp(r.start_us))
        .f64(f::SLOW_DURATION, ds(r.end_us, r.start_us))
        .u64(f::SLOW_THREAD_ID, r.thread_id.max(0) as u64)
        .str(f::SLOW_LOG_ID, &r.who.log_id)
        .u64(f::SLOW_SERVER_PID, u64::from(r.who.server_pid))
        .str(f::SLOW_METHOD, &r.who.method)
        .str(f::SLOW_SCHEME, &r.who.scheme)
        .str(f::SLOW_HOSTNAME, &r.who.hostname)
        .str(f::SLOW_SCRIPT_NAME, &r.who.script_name)
        .str(f::SLOW_PATH_INFO, &r.who.path_info)
        .str(f::SLOW_PROTOCOL, &r.who.protocol)
        .str(f::SLOW_PEER_IP, &r.who.peer_ip)
        .str(f::SLOW_USER_AGENT, &r.who.user_agent)
        .f64(f::SLOW_SERVER_TIME, server)
        .f64(f::SLOW_QUEUE_TIME, queue)
        .f64(f::SLOW_DAEMON_TIME, daemon)
        .f64(
            f::SLOW_APPLICATION_TIME,
            ds(t.finish_us, t.application_start_us),
        )
        .u64(f::SLOW_INPUT_BYTES, t.input_bytes)
        .u64(f::SLOW_INPUT_READS, t.input_reads)
        .u64(f::SLOW_OUTPUT_BYTES, t.output_bytes)
        .u64(f::SLOW_OUTPUT_WRITES, t.output_writes)
        .f64(f::SLOW_INPUT_READ_TIME, t.input_read_us as f64 / 1e6)
        .f64(f::SLOW_OUTPUT_WRITE_TIME, t.output_write_us as f64 / 1e6)
        .u64(f::SLOW_STATUS, u64::from(t.status))
        .f64(f::SLOW_CPU_USER_TIME, r.cpu_user)
        .f64(f::SLOW_CPU_SYSTEM_TIME, r.cpu_system)
        .u64(f::SLOW_ACTIVE_AT_START, r.active_at_start)
        .u64(f::SLOW_ACTIVE_AT_COMPLETION, r.active_at_end);
    d
}

/// `process_stopping`: the process decided to stop.
pub fn stopping(id: &Identity, seq: u32, reason: &str, active: u64) -> Datagram {
    let mut d = Datagram::new(
        KIND_STOPPING,
        std::process::id(),
        seq,
        stamp(super::usage::now_us()),
    );
    identity(&mut d, id, false);
    d.str(f::SHUTDOWN_REASON, reason)
        .u64(f::ACTIVE_AT_DECISION, active);
    d
}

/// What a `process_stopped` record says.
pub struct Stopped<'a> {
    pub reason: &'a str,
    pub uptime: f64,
    pub lifetime_requests: u64,
    pub active: u64,
    pub graceful: bool,
}

/// `process_stopped`: the process is about to exit.
pub fn stopped(id: &Identity, seq: u32, s: &Stopped<'_>) -> Datagram {
    let mut d = Datagram::new(
        KIND_STOPPED,
        std::process::id(),
        seq,
        stamp(super::usage::now_us()),
    );
    identity(&mut d, id, false);
    d.str(f::SHUTDOWN_REASON, s.reason)
        .f64(f::PROCESS_UPTIME, s.uptime)
        .u64(f::LIFETIME_REQUEST_COUNT, s.lifetime_requests)
        .u64(f::ACTIVE_AT_EXIT, s.active)
        .u64(f::GRACEFUL_DRAIN, u64::from(s.graceful));
    d
}
