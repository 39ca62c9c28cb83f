//! The `mod_wsgi` events API as mod_wsgi 6 has it: `subscribe_events`,
//! `subscribe_shutdown`, `subscribe_signals`, the `event_callbacks`,
//! `shutdown_callbacks` and `signal_callbacks` lists they append to,
//! `request_data()` and `active_requests`, and [`publish`], which calls the
//! subscribers of one event (each with the event name and the payload as
//! keyword arguments; a dict a subscriber returns is merged into the payload
//! the later subscribers see; one that raises is logged with its traceback
//! and the others still run). The WSGI core builds the request events
//! (`wsgi::events`); [`process_stopping`] and [`process_signal`] are
//! published here for the daemon (`daemon::process`,
//! `daemon::signal_events`) and the Apache child's exit (`hooks`).
//!
//! Cost when nobody subscribed: one relaxed atomic load ([`any_subscriber`])
//! before any payload is built. The flag is set by the first `subscribe_*`
//! call in the process and never cleared (lists emptied later only make
//! [`publish`] find nobody). The request running on a thread is a
//! thread-local (as mod_wsgi's per-thread info): `request_data()` and
//! `LogHandler` are called from Python with nothing else to find it by.
//! Called with the GIL held unless said otherwise.

use crate::apache::log::{self, Level};
use crate::apache::log_ids::{EVENT_CALLBACK_FAILED, REQUEST_DATA_FAILED, SIGNALS_EMBEDDED};
use crate::python::logstream::RequestLog;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule, PyString, PyTuple};
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether any `subscribe_*` call was made in this process (any
/// interpreter). Process-wide because the C request path reads it before it
/// knows which interpreter will run the request.
static SUBSCRIBED: AtomicBool = AtomicBool::new(false);

/// Whether some interpreter of this process may have event subscribers.
#[inline]
pub fn any_subscriber() -> bool {
    SUBSCRIBED.load(Ordering::Relaxed)
}

/// Whether some interpreter of this process has looked at
/// `mod_wsgi.active_requests` (the attribute is made on first access, by
/// the module's `__getattr__`).
static ACTIVE_WANTED: AtomicBool = AtomicBool::new(false);

/// Whether requests must be entered in `active_requests` (and get their
/// `request_data` dict up front): once someone subscribed or looked at it.
#[inline]
pub fn tracking() -> bool {
    any_subscriber() || ACTIVE_WANTED.load(Ordering::Relaxed)
}

/// The request running on this thread: its id, its `request_data` dict and
/// where its log lines go (`request_data()`, `LogHandler`, the events).
struct Current {
    id: Option<Py<PyString>>,
    /// Made up front while [`tracking`], else on first use.
    data: Option<Py<PyDict>>,
    log: Arc<dyn RequestLog>,
}

impl Current {
    fn data<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.data
            .get_or_insert_with(|| PyDict::new(py).unbind())
            .clone_ref(py)
            .into_bound(py)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Adds the events API to a new `mod_wsgi` module.
pub fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("event_callbacks", PyList::empty(py))?;
    m.add("shutdown_callbacks", PyList::empty(py))?;
    m.add("signal_callbacks", PyList::empty(py))?;
    m.add_function(wrap_pyfunction!(subscribe_events, m)?)?;
    m.add_function(wrap_pyfunction!(subscribe_shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(subscribe_signals, m)?)?;
    m.add_function(wrap_pyfunction!(request_data, m)?)?;
    Ok(())
}

/// This interpreter's `mod_wsgi` module (from `sys.modules`, no import).
fn module(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; a borrowed reference to this interpreter's
    // `sys.modules` (cheaper than an import, which runs `__import__`).
    let modules = unsafe { Bound::from_borrowed_ptr(py, pyo3::ffi::PyImport_GetModuleDict()) };
    modules
        .cast_into::<PyDict>()?
        .get_item("mod_wsgi")?
        .ok_or_else(|| PyRuntimeError::new_err("mod_wsgi is not in sys.modules"))
}

fn append(py: Python<'_>, list: &str, callback: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    module(py)?
        .getattr(list)
        .map_err(|_| PyRuntimeError::new_err(format!("mod_wsgi {list} not initialised")))?
        .cast_into::<PyList>()?
        .append(&callback)?;
    SUBSCRIBED.store(true, Ordering::Relaxed);
    // Returned, so that the function can be used as a decorator.
    Ok(callback.unbind())
}

/// `mod_wsgi.subscribe_events(callback)`: every event.
#[pyfunction]
fn subscribe_events<'py>(py: Python<'py>, callback: Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    append(py, "event_callbacks", callback)
}

/// `mod_wsgi.subscribe_shutdown(callback)`: `process_stopping` only.
#[pyfunction]
fn subscribe_shutdown<'py>(py: Python<'py>, callback: Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    append(py, "shutdown_callbacks", callback)
}

/// `mod_wsgi.subscribe_signals(callback)`: `process_signal`, delivered in
/// daemon processes only; elsewhere logged (with the caller's stack) and
/// the callback is returned without being kept, as mod_wsgi.
#[pyfunction]
fn subscribe_signals<'py>(py: Python<'py>, callback: Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
    let group: String = module(py)?.getattr("process_group")?.extract()?;
    if !group.is_empty() {
        return append(py, "signal_callbacks", callback);
    }
    let mut lines = vec![format!(
        "{SIGNALS_EMBEDDED} mod_wsgi.subscribe_signals() called outside daemon mode; the callback \
         will not be invoked. Signal callbacks are only delivered in daemon mode processes."
    )];
    if let Ok(stack) = py
        .import("traceback")
        .and_then(|t| t.call_method0("format_stack"))
        .and_then(|s| s.extract::<Vec<String>>())
    {
        lines.extend(stack.iter().flat_map(|c| c.lines().map(str::to_string)));
    }
    log_lines(py, Level::Info, &lines);
    Ok(callback.unbind())
}

/// `mod_wsgi.request_data()`: the dict of the request running on this
/// thread (the `request_data` of its events).
#[pyfunction]
fn request_data(py: Python<'_>) -> PyResult<Py<PyDict>> {
    CURRENT.with(|c| {
        c.borrow_mut()
            .as_mut()
            .map(|c| c.data(py).unbind())
            .ok_or_else(|| PyRuntimeError::new_err("no active request for thread"))
    })
}

/// `mod_wsgi.active_requests` on first access (from the module's
/// `__getattr__`): made, kept as the module's attribute, and from now on
/// every request of the process is entered in it. Requests already
/// running on other threads at that moment are not in it.
pub fn active_requests_attr(py: Python<'_>) -> PyResult<Py<PyAny>> {
    ACTIVE_WANTED.store(true, Ordering::Relaxed);
    let d = PyDict::new(py);
    let cur = CURRENT.with(|c| {
        c.borrow_mut().as_mut().and_then(|c| {
            let id = c.id.as_ref()?.clone_ref(py);
            Some((id, c.data(py)))
        })
    });
    if let Some((id, data)) = cur {
        d.set_item(id, data)?;
    }
    module(py)?.setattr("active_requests", &d)?;
    Ok(d.into_any().unbind())
}

/// Logs lines in the current request's context if there is one, else the
/// server's, with the GIL released.
pub fn log_lines(py: Python<'_>, level: Level, lines: &[String]) {
    log_lines_at(py, level, None, lines)
}

/// As [`log_lines`], with a source location for `%F` when given.
pub fn log_lines_at(py: Python<'_>, level: Level, at: Option<(&str, u32)>, lines: &[String]) {
    let request = CURRENT.with(|c| c.borrow().as_ref().map(|c| c.log.clone()));
    py.detach(|| {
        let done = match (&request, at) {
            (Some(r), Some(at)) => r.log_lines_at(level, at, lines),
            (Some(r), None) => r.log_lines(level, lines),
            (None, _) => false,
        };
        if !done {
            for l in lines {
                match at {
                    Some((file, line)) => log::server_at(level, None, file, line, l),
                    None => log::server(level, None, l),
                }
            }
        }
    });
}

fn log_error(py: Python<'_>, first: String, err: &PyErr) {
    let mut lines = vec![first];
    lines.extend(super::format_exception(py, err));
    log_lines(py, Level::Err, &lines);
}

/// Marks the start of a request on this thread: creates its `request_data`
/// dict and enters it in `mod_wsgi.active_requests` under its id. End it
/// with [`RequestScope::end`] (GIL held).
pub struct RequestScope {
    _private: (),
}

thread_local! {
    /// This thread's reference to each interpreter's `active_requests`
    /// dict, keyed by interpreter, so a request does not look the module
    /// up (the lookups cost more than the rest of this bookkeeping). Never
    /// dropped: a thread that exits keeps the reference (one per thread and
    /// interpreter) rather than release it without the GIL. An application
    /// that rebinds `mod_wsgi.active_requests` is not followed.
    static ACTIVE: RefCell<Vec<(usize, std::mem::ManuallyDrop<Py<PyDict>>)>> =
        const { RefCell::new(Vec::new()) };
}

/// The current interpreter's `active_requests` dict.
fn active_requests(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: the GIL is held, so there is a current interpreter.
    let key = unsafe { pyo3::ffi::PyInterpreterState_Get() } as usize;
    let cached = ACTIVE.with(|a| {
        a.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| d.clone_ref(py).into_bound(py))
    });
    if let Some(d) = cached {
        return Ok(d);
    }
    let d = module(py)?
        .getattr("active_requests")?
        .cast_into::<PyDict>()?;
    let kept = std::mem::ManuallyDrop::new(d.clone().unbind());
    ACTIVE.with(|a| a.borrow_mut().push((key, kept)));
    Ok(d)
}

impl RequestScope {
    /// `id`: the request's id (Apache's log id), if it has one.
    pub fn begin(py: Python<'_>, id: Option<&[u8]>, log: Arc<dyn RequestLog>) -> RequestScope {
        if !tracking() {
            // Nobody subscribed or looked at active_requests: only what
            // `request_data()` and `LogHandler` need to find this request.
            let current = Current {
                id: None,
                data: None,
                log,
            };
            CURRENT.with(|c| *c.borrow_mut() = Some(current));
            return RequestScope { _private: () };
        }
        let data = PyDict::new(py);
        let id = id.map(|id| PyString::new(py, &String::from_utf8_lossy(id)));
        if let Some(id) = &id {
            let entered = active_requests(py).and_then(|a| a.set_item(id, &data));
            if let Err(e) = entered {
                log_error(
                    py,
                    format!(
                        "{REQUEST_DATA_FAILED} cannot record the request in mod_wsgi.active_requests"
                    ),
                    &e,
                );
            }
        }
        let current = Current {
            id: id.map(Bound::unbind),
            data: Some(data.unbind()),
            log,
        };
        CURRENT.with(|c| *c.borrow_mut() = Some(current));
        RequestScope { _private: () }
    }

    /// Enters a request begun while nobody tracked requests in
    /// `active_requests`, now that someone does (its script just
    /// subscribed). Nothing if it is already there.
    pub fn track(&self, py: Python<'_>, id: Option<&[u8]>) {
        let Some(id) = id else { return };
        let untracked = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            let c = c.as_mut()?;
            if c.id.is_some() {
                return None;
            }
            let id = PyString::new(py, &String::from_utf8_lossy(id));
            c.id = Some(id.clone().unbind());
            Some((id, c.data(py)))
        });
        if let Some((id, data)) = untracked {
            if let Err(e) = active_requests(py).and_then(|a| a.set_item(id, data)) {
                log_error(
                    py,
                    format!(
                        "{REQUEST_DATA_FAILED} cannot record the request in mod_wsgi.active_requests"
                    ),
                    &e,
                );
            }
        }
    }

    /// Ends the request: out of `active_requests`, `request_data()` fails.
    pub fn end(self, py: Python<'_>) {
        let Some(current) = CURRENT.with(|c| c.borrow_mut().take()) else {
            return;
        };
        // Released through `Bound`, so the references go now, in this
        // interpreter (never through pyo3's deferred pool).
        let data = current.data.map(|d| d.into_bound(py));
        if let Some(id) = current.id.map(|i| i.into_bound(py)) {
            let removed = active_requests(py).and_then(|a| a.del_item(&id));
            if let Err(e) = removed {
                super::discard(py, e);
            }
        }
        drop(data);
    }
}

/// The current request's id and `request_data`, if a request runs here.
pub fn current<'py>(py: Python<'py>) -> Option<(Option<Bound<'py, PyString>>, Bound<'py, PyDict>)> {
    CURRENT.with(|c| {
        c.borrow_mut().as_mut().map(|c| {
            (
                c.id.as_ref().map(|i| i.clone_ref(py).into_bound(py)),
                c.data(py),
            )
        })
    })
}

/// Calls the subscribers of `name` in this interpreter with `event` as
/// keyword arguments: every `event_callbacks` entry, then the
/// `shutdown_callbacks` (for `process_stopping`) or `signal_callbacks`
/// (for `process_signal`). The lists are copied first, so a subscriber
/// that subscribes or unsubscribes does not disturb this event.
pub fn publish(py: Python<'_>, name: &str, event: &Bound<'_, PyDict>) {
    let m = match module(py) {
        Ok(m) => m,
        Err(e) => {
            return log_error(
                py,
                format!("{EVENT_CALLBACK_FAILED} no mod_wsgi module to publish event '{name}'"),
                &e,
            );
        }
    };
    let mut lists = vec!["event_callbacks"];
    match name {
        "process_stopping" => lists.push("shutdown_callbacks"),
        "process_signal" => lists.push("signal_callbacks"),
        _ => {}
    }
    for list in lists {
        let snapshot = m
            .getattr(list)
            .and_then(|l| Ok(l.cast_into::<PyList>()?.to_tuple()));
        match snapshot {
            Ok(callbacks) => call_each(py, name, &callbacks, event),
            Err(e) => log_error(
                py,
                format!("{EVENT_CALLBACK_FAILED} mod_wsgi.{list} is not a list"),
                &e,
            ),
        }
    }
}

fn call_each(
    py: Python<'_>,
    name: &str,
    callbacks: &Bound<'_, PyTuple>,
    event: &Bound<'_, PyDict>,
) {
    for callback in callbacks.iter() {
        let result = callback
            .call((name,), Some(event))
            .and_then(|r| match r.cast::<PyDict>() {
                Ok(d) => event.update(d.as_mapping()),
                Err(_) => Ok(()),
            });
        if let Err(e) = result {
            log_error(
                py,
                format!(
                    "{EVENT_CALLBACK_FAILED} Exception occurred within event callback for event '{name}'."
                ),
                &e,
            );
        }
    }
}

/// `process_stopping` with mod_wsgi's `shutdown_reason`, in every
/// interpreter of this process that has subscribers. Called without the
/// GIL, once, when the process has decided to stop (a daemon before its
/// workers are joined; an Apache child at its exit, with reason "" as
/// mod_wsgi).
pub fn process_stopping(reason: &str) {
    if !any_subscriber() {
        return;
    }
    for interp in super::interp::all() {
        super::interp::run(interp, |py| {
            let event = PyDict::new(py);
            match event.set_item("shutdown_reason", reason) {
                Ok(()) => publish(py, "process_stopping", &event),
                Err(e) => log_error(
                    py,
                    format!("{EVENT_CALLBACK_FAILED} cannot publish 'process_stopping'"),
                    &e,
                ),
            }
        });
    }
}

/// `process_signal` (SIGHUP or SIGUSR2 reached a daemon process) in every
/// interpreter of this process. Called without the GIL, on the daemon's
/// signal dispatcher thread.
pub fn process_signal(signum: i32, signame: &str) {
    if !any_subscriber() {
        return;
    }
    for interp in super::interp::all() {
        super::interp::run(interp, |py| {
            let event = PyDict::new(py);
            let built = event
                .set_item("signame", signame)
                .and_then(|()| event.set_item("signum", signum));
            match built {
                Ok(()) => publish(py, "process_signal", &event),
                Err(e) => log_error(
                    py,
                    format!("{EVENT_CALLBACK_FAILED} cannot publish 'process_signal'"),
                    &e,
                ),
            }
        });
    }
}
