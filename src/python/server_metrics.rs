//! `mod_wsgi.server_metrics()`: the Apache scoreboard as a Python dict, with
//! mod_wsgi 6's keys, value types and gate. The gate is per process: in an
//! Apache child `WSGIServerMetrics On`, in a daemon process its group's
//! `server-metrics=on` (the two are independent, as in mod_wsgi); closed,
//! or with no scoreboard in this process, the call returns None.

use crate::apache::scoreboard::{self, Snapshot, WorkerSlot};
use pyo3::exceptions::PySystemError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process may read the scoreboard (set before Python runs
/// any application code: child_init, daemon start-up).
static ALLOWED: AtomicBool = AtomicBool::new(false);

/// Opens or closes this process's gate.
pub fn allow(allowed: bool) {
    ALLOWED.store(allowed, Ordering::Relaxed);
}

/// APR microseconds as mod_wsgi's `apr_time_sec((double)t)`: float seconds.
fn seconds(t: i64) -> f64 {
    t as f64 / 1_000_000.0
}

/// `mod_wsgi.server_metrics()`.
#[pyfunction]
pub fn server_metrics(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    if !ALLOWED.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let taken = py.detach(|| {
        std::panic::catch_unwind(|| scoreboard::snapshot().map(|s| (s, scoreboard::now())))
    });
    match taken {
        Ok(Some((snap, now))) => to_dict(py, &snap, now).map(Some),
        Ok(None) => Ok(None),
        Err(_) => Err(PySystemError::new_err(
            "mod_wsgi.server_metrics(): reading the Apache scoreboard failed",
        )),
    }
}

fn to_dict<'py>(py: Python<'py>, s: &Snapshot, now: i64) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("server_limit", s.server_limit)?;
    d.set_item("thread_limit", s.thread_limit)?;
    d.set_item("running_generation", s.running_generation)?;
    d.set_item("restart_time", seconds(s.restart_time))?;
    d.set_item("current_time", seconds(now))?;
    // mod_wsgi: the float difference in seconds, truncated to an integer.
    d.set_item("running_time", seconds(now - s.restart_time) as i64)?;
    let processes = PyList::empty(py);
    for p in &s.processes {
        let pd = PyDict::new(py);
        pd.set_item("process_num", p.process_num)?;
        pd.set_item("pid", p.pid)?;
        pd.set_item("generation", p.generation)?;
        pd.set_item("quiescing", p.quiescing)?;
        let workers = PyList::empty(py);
        for w in &p.workers {
            workers.append(worker_dict(py, w)?)?;
        }
        pd.set_item("workers", workers)?;
        processes.append(pd)?;
    }
    d.set_item("processes", processes)?;
    Ok(d)
}

fn worker_dict<'py>(py: Python<'py>, w: &WorkerSlot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("thread_num", w.thread_num)?;
    d.set_item("generation", w.generation)?;
    d.set_item("status", w.status.to_string())?;
    d.set_item("access_count", w.access_count)?;
    d.set_item("bytes_served", w.bytes_served)?;
    d.set_item("start_time", seconds(w.start_time))?;
    d.set_item("stop_time", seconds(w.stop_time))?;
    d.set_item("last_used", seconds(w.last_used))?;
    d.set_item("client", &w.client)?;
    d.set_item("request", &w.request)?;
    d.set_item("vhost", &w.vhost)?;
    Ok(d)
}
