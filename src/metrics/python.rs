//! The `mod_wsgi` functions over this process's metrics:
//! `start_recording_metrics()`, `request_metrics()` (the interval since the
//! previous call) and `process_metrics()` (lifetime), with mod_wsgi 6's
//! keys and value types. Until recording is on, and whenever a telemetry
//! service takes the samples, both return None, as in mod_wsgi.

use super::phase::Phase;
use super::process::PHASES;
use super::sample::Sample;
use super::usage;
use super::{ProcessMetrics, get};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether a telemetry reporter owns the samples in this process (the
/// Python accessors then return None).
static REPORTER_OWNS: AtomicBool = AtomicBool::new(false);

/// A telemetry reporter takes the samples of this process from now on.
pub fn reporter_owns_samples() {
    REPORTER_OWNS.store(true, Ordering::Relaxed);
}

/// Adds the functions to the `mod_wsgi` module of an interpreter being set
/// up (current on this thread), whose garbage collections telemetry then
/// records.
pub fn add(m: &Bound<'_, PyModule>) -> PyResult<()> {
    super::reporter::watch_gc(m.py());
    m.add_function(wrap_pyfunction!(start_recording_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(request_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(process_metrics, m)?)?;
    Ok(())
}

/// The metrics the accessors may read: recording on, no reporter.
fn readable() -> Option<&'static ProcessMetrics> {
    if REPORTER_OWNS.load(Ordering::Relaxed) {
        return None;
    }
    get().filter(|m| m.recording())
}

/// `mod_wsgi.start_recording_metrics()`: idempotent opt-in.
#[pyfunction]
fn start_recording_metrics(py: Python<'_>) {
    if REPORTER_OWNS.load(Ordering::Relaxed) {
        return;
    }
    if let Some(m) = get() {
        py.detach(|| m.start_recording());
    }
}

/// `mod_wsgi.request_metrics()`.
#[pyfunction]
fn request_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(m) = readable() else {
        return Ok(None);
    };
    let s = py.detach(|| m.sample());
    sample_dict(py, &s).map(Some)
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

fn sample_dict<'py>(py: Python<'py>, s: &Sample) -> PyResult<Bound<'py, PyDict>> {
    let daemon = s.has_daemon_timing;
    let d = PyDict::new(py);
    d.set_item("pid", s.pid)?;
    d.set_item("start_time", seconds(s.start_us))?;
    d.set_item("stop_time", seconds(s.stop_us))?;
    d.set_item("sample_period", s.period)?;
    // The *_time names are mod_wsgi's deprecated aliases of *_utilization.
    for (k, v) in [
        ("cpu_user", s.cpu_user),
        ("cpu_system", s.cpu_system),
        ("cpu", s.cpu_user + s.cpu_system),
    ] {
        d.set_item(format!("{k}_utilization"), v)?;
        d.set_item(format!("{k}_time"), v)?;
    }
    d.set_item("memory_max_rss", s.memory_max_rss)?;
    d.set_item("memory_rss", s.memory_rss)?;
    d.set_item("request_threads_maximum", s.threads_max)?;
    d.set_item("request_threads_started", s.threads_started)?;
    d.set_item("request_threads_active", s.threads_active)?;
    d.set_item("capacity_utilization", s.capacity_utilization)?;
    d.set_item("request_count", s.request_count)?;
    d.set_item("request_throughput", s.throughput)?;
    for (i, n) in s.status.iter().enumerate() {
        d.set_item(format!("status_{}xx", i + 1), n)?;
    }
    d.set_item("input_bytes", s.input_bytes)?;
    d.set_item("input_reads", s.input_reads)?;
    d.set_item("output_bytes", s.output_bytes)?;
    d.set_item("output_writes", s.output_writes)?;
    for (name, p) in PHASES.iter().zip(&s.phases) {
        d.set_item(format!("{name}_buckets"), p.buckets.to_vec())?;
    }
    d.set_item("request_threads_completed", &s.completed)?;
    // Deprecated alias of request_threads_completed.
    d.set_item("request_threads_buckets", &s.completed)?;
    d.set_item("request_threads_busy_time", &s.busy)?;
    d.set_item("request_threads_cpu_time", &s.cpu)?;
    d.set_item("request_threads_current_elapsed", &s.current_elapsed)?;
    d.set_item("request_threads_max_duration", &s.max_duration)?;
    phase_means(&d, s, daemon)?;
    d.set_item("gil_wait_count", s.gil_wait_count)?;
    phase_extremes(&d, s, daemon)?;
    Ok(d)
}

/// Queue and daemon phases exist in daemon mode only (None in embedded mode).
fn daemon_only(name: &str) -> bool {
    name == "queue_time" || name == "daemon_time"
}

fn phase_means(d: &Bound<'_, PyDict>, s: &Sample, daemon: bool) -> PyResult<()> {
    for (name, p) in PHASES.iter().zip(&s.phases) {
        if daemon_only(name) && !daemon {
            d.set_item(*name, d.py().None())?;
        } else {
            d.set_item(*name, p.mean(s.requests))?;
        }
    }
    Ok(())
}

fn phase_extremes(d: &Bound<'_, PyDict>, s: &Sample, daemon: bool) -> PyResult<()> {
    for (name, p) in PHASES.iter().zip(&s.phases) {
        let (min, max) = match Phase::extremes(p) {
            Some((a, b)) if daemon || !daemon_only(name) => (Some(a), Some(b)),
            _ => (None, None),
        };
        d.set_item(format!("{name}_min_us"), min)?;
        d.set_item(format!("{name}_max_us"), max)?;
    }
    Ok(())
}

/// `mod_wsgi.process_metrics()`.
#[pyfunction]
fn process_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(m) = readable() else {
        return Ok(None);
    };
    let d = PyDict::new(py);
    let now = usage::now_us();
    let cpu = usage::process_cpu();
    d.set_item("pid", std::process::id())?;
    d.set_item("request_busy_time", seconds(m.busy_time_us(now)))?;
    d.set_item("request_count", m.total.load(Ordering::Relaxed))?;
    d.set_item("memory_max_rss", usage::max_rss())?;
    d.set_item("memory_rss", usage::current_rss())?;
    d.set_item("cpu_user_time", cpu.user)?;
    d.set_item("cpu_system_time", cpu.system)?;
    d.set_item("cpu_time", cpu.user + cpu.system)?;
    d.set_item("restart_time", seconds(m.started_us))?;
    d.set_item("current_time", seconds(now))?;
    d.set_item("running_time", now.saturating_sub(m.started_us) / 1_000_000)?;
    d.set_item("request_threads", m.threads_started())?;
    d.set_item("active_requests", m.active.load(Ordering::Relaxed))?;
    let threads = PyList::empty(py);
    for (i, slot) in m.slots.iter().enumerate() {
        if !slot.used.load(Ordering::Relaxed) {
            continue;
        }
        let t = PyDict::new(py);
        t.set_item("thread_id", i + 1)?;
        t.set_item("request_count", slot.count.load(Ordering::Relaxed))?;
        threads.append(t)?;
    }
    d.set_item("threads", threads)?;
    Ok(Some(d))
}
