//! The request events of the WSGI core, with mod_wsgi 6's payloads:
//! `request_started` (before the application is called; a subscriber may
//! replace `application_object`), `response_started` (from
//! `start_response`), `request_exception` (when the application's exception
//! is logged) and `request_finished` (after `close()`), for both hosts. Each
//! hook is a separate function the request path calls; nothing is built
//! unless `python::events::any_subscriber()` says someone subscribed. The
//! per-request bookkeeping (`request_data()`, `active_requests`) is the
//! [`RequestScope`] held here. Called with the GIL held.

use super::Outcome;
use super::environ::EnvironData;
use super::host::Exchange;
use crate::apache::log_ids::EVENT_PAYLOAD_FAILED;
use crate::python::events::{self, RequestScope};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What the input and output counted, for `request_finished`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Io {
    pub reads: u64,
    pub bytes: u64,
    /// Seconds spent waiting on the host (counted while someone subscribed).
    pub seconds: f64,
}

/// One request's events state, from before the application is called until
/// after it finished.
pub struct RequestEvents {
    scope: RequestScope,
    /// Thread CPU times (user, system) at the start, when publishing.
    cpu: Option<(f64, f64)>,
    application_start: f64,
}

fn seconds_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The calling thread's CPU times (user, system) in seconds.
fn thread_cpu() -> Option<(f64, f64)> {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: filled by the successful call above.
    let ru = unsafe { ru.assume_init() };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some((s(ru.ru_utime), s(ru.ru_stime)))
}

fn time_of(env: &EnvironData, key: &str) -> f64 {
    env.times
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .unwrap_or(0.0)
}

fn int_var(env: &EnvironData, key: &str) -> i64 {
    env.get(key)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn thread_id(env: &EnvironData) -> i64 {
    env.ints
        .iter()
        .find(|(k, _)| *k == "mod_wsgi.thread_id")
        .map(|(_, v)| *v)
        .unwrap_or(0)
}

/// The keys `request_started` and `request_finished` share.
fn common<'py>(py: Python<'py>, env: &EnvironData) -> PyResult<Bound<'py, PyDict>> {
    let event = PyDict::new(py);
    if let Some((Some(id), _)) = events::current(py) {
        event.set_item("request_id", id)?;
    }
    event.set_item("thread_id", thread_id(env))?;
    event.set_item("server_pid", int_var(env, "mod_wsgi.server_pid"))?;
    for (key, var) in [
        ("request_start", "mod_wsgi.request_start"),
        ("queue_start", "mod_wsgi.queue_start"),
        ("daemon_start", "mod_wsgi.daemon_start"),
    ] {
        event.set_item(key, time_of(env, var))?;
    }
    Ok(event)
}

fn failed(py: Python<'_>, name: &str, e: PyErr) {
    let mut lines = vec![format!(
        "{EVENT_PAYLOAD_FAILED} cannot build the payload of event '{name}'"
    )];
    lines.extend(crate::python::format_exception(py, &e));
    events::log_lines(py, crate::apache::log::Level::Err, &lines);
}

impl RequestEvents {
    /// Starts the request's scope (`request_data()`, `active_requests`,
    /// `LogHandler`'s request context), before its script is loaded.
    pub fn enter(py: Python<'_>, env: &EnvironData, exchange: &Arc<Exchange>) -> RequestEvents {
        let id = env.get("mod_wsgi.request_id");
        RequestEvents {
            scope: RequestScope::begin(py, id, exchange.clone()),
            cpu: None,
            application_start: time_of(env, "mod_wsgi.application_start"),
        }
    }

    /// `request_started`, if anyone subscribed, just before the application
    /// is called. Returns the application to call (a subscriber may have
    /// returned another `application_object`).
    pub fn started<'py>(
        &mut self,
        py: Python<'py>,
        env: &EnvironData,
        environ: &Bound<'py, PyDict>,
        application: Bound<'py, PyAny>,
        callable: &str,
    ) -> Bound<'py, PyAny> {
        if events::tracking() {
            // The script this request loaded may just have subscribed or
            // looked at `active_requests`.
            self.scope.track(py, env.get("mod_wsgi.request_id"));
        }
        if !events::any_subscriber() {
            return application;
        }
        self.cpu = thread_cpu();
        let built = (|| -> PyResult<Bound<'py, PyDict>> {
            let event = common(py, env)?;
            // The Apache child's connects and restarts of a daemon are not
            // counted across its retries (docs/differences.md).
            let daemon = !env
                .get("mod_wsgi.process_group")
                .unwrap_or_default()
                .is_empty();
            event.set_item("daemon_connects", i64::from(daemon))?;
            event.set_item("daemon_restarts", 0)?;
            event.set_item("application_object", &application)?;
            event.set_item("callable_object", callable)?;
            event.set_item("request_environ", environ)?;
            event.set_item("application_start", self.application_start)?;
            if let Some((_, data)) = events::current(py) {
                event.set_item("request_data", data)?;
            }
            Ok(event)
        })();
        match built {
            Ok(event) => {
                events::publish(py, "request_started", &event);
                if let Ok(Some(app)) = event.get_item("application_object") {
                    return app;
                }
            }
            Err(e) => failed(py, "request_started", e),
        }
        application
    }
}

/// `response_started`, from `start_response` (before the head is checked,
/// as mod_wsgi).
pub fn response_started(
    py: Python<'_>,
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    exc_info: Option<&Bound<'_, PyAny>>,
) {
    if !events::any_subscriber() {
        return;
    }
    let built = (|| -> PyResult<Bound<'_, PyDict>> {
        let event = PyDict::new(py);
        let current = events::current(py);
        if let Some((Some(id), _)) = &current {
            event.set_item("request_id", id)?;
        }
        event.set_item("response_status", status)?;
        event.set_item("response_headers", headers)?;
        event.set_item(
            "exception_info",
            exc_info
                .cloned()
                .unwrap_or_else(|| py.None().into_bound(py)),
        )?;
        if let Some((_, data)) = &current {
            event.set_item("request_data", data)?;
        }
        Ok(event)
    })();
    match built {
        Ok(event) => events::publish(py, "response_started", &event),
        Err(e) => failed(py, "response_started", e),
    }
}

/// `request_exception`, when the application's exception is logged.
pub fn request_exception(py: Python<'_>, err: &PyErr) {
    if !events::any_subscriber() {
        return;
    }
    let built = (|| -> PyResult<Bound<'_, PyDict>> {
        let event = PyDict::new(py);
        let current = events::current(py);
        if let Some((Some(id), _)) = &current {
            event.set_item("request_id", id)?;
        }
        let tb = err
            .traceback(py)
            .map(|t| t.into_any())
            .unwrap_or_else(|| py.None().into_bound(py));
        let info = PyTuple::new(
            py,
            [
                err.get_type(py).into_any(),
                err.value(py).clone().into_any(),
                tb,
            ],
        )?;
        event.set_item("exception_info", info)?;
        if let Some((_, data)) = &current {
            event.set_item("request_data", data)?;
        }
        Ok(event)
    })();
    match built {
        Ok(event) => events::publish(py, "request_exception", &event),
        Err(e) => failed(py, "request_exception", e),
    }
}

/// What `request_finished` reports about the response.
pub struct Finished {
    pub outcome_status: u16,
    pub input: Io,
    pub output: Io,
}

/// The status mod_wsgi reports for a request that ended with `outcome`,
/// the application's status `head` when it gave one.
pub fn status_of(outcome: &Outcome, head: Option<u16>) -> u16 {
    match outcome {
        Outcome::FailedBeforeHead => 500,
        Outcome::TimedOut => 504,
        Outcome::Completed | Outcome::FailedAfterHead => head.unwrap_or(200),
    }
}

impl RequestEvents {
    /// `request_finished` (if anyone subscribed and the application ran:
    /// `done`), then the end of the request's `request_data()` and
    /// `active_requests` entry.
    pub fn finish(self, py: Python<'_>, env: &EnvironData, done: Option<&Finished>) {
        if let Some(done) = done.filter(|_| events::any_subscriber()) {
            match self.finished_event(py, env, done) {
                Ok(event) => events::publish(py, "request_finished", &event),
                Err(e) => failed(py, "request_finished", e),
            }
        }
        self.scope.end(py);
    }

    fn finished_event<'py>(
        &self,
        py: Python<'py>,
        env: &EnvironData,
        done: &Finished,
    ) -> PyResult<Bound<'py, PyDict>> {
        let finish = seconds_now();
        let application_time = (finish - self.application_start).max(0.0);
        let event = common(py, env)?;
        event.set_item("input_reads", done.input.reads)?;
        event.set_item("input_length", done.input.bytes)?;
        event.set_item("input_time", done.input.seconds)?;
        event.set_item("output_length", done.output.bytes)?;
        event.set_item("output_writes", done.output.reads)?;
        if let (Some((u0, s0)), Some((u1, s1))) = (self.cpu, thread_cpu()) {
            let (mut user, mut system) = ((u1 - u0).max(0.0), (s1 - s0).max(0.0));
            // As mod_wsgi: never more CPU than wall time.
            let total = user + system;
            if total > application_time && total > 0.0 {
                user = user / total * application_time;
                system = application_time - user;
            }
            event.set_item("cpu_user_time", user)?;
            event.set_item("cpu_system_time", system)?;
            event.set_item("cpu_time", user + system)?;
        }
        event.set_item("output_time", done.output.seconds)?;
        event.set_item("application_finish", finish)?;
        event.set_item("application_time", application_time)?;
        event.set_item("status", done.outcome_status)?;
        // GIL waits are not measured (docs/differences.md).
        event.set_item("gil_wait_time", 0.0)?;
        event.set_item("gil_wait_count", 0)?;
        if let Some((_, data)) = events::current(py) {
            event.set_item("request_data", data)?;
        }
        Ok(event)
    }
}
