//! A request's `wsgi.errors`: the `io.TextIOWrapper` over a `LogStream`
//! that mod_wsgi 6 builds for every request (`text_wrapper`), built once per
//! (thread, interpreter) and rebound to each request the thread serves.
//! Building the wrapper costs about 26,000 instructions (the codec lookup,
//! the Python-level `IncrementalEncoder.__init__`, the `readable`/
//! `writable`/`seekable` calls, and `close()` from its finaliser), a sixth
//! of a hello request.
//!
//! Reuse is invisible to the application: at the end of a request the
//! pending partial line is logged and the stream unbound from the request;
//! the wrapper is kept for the thread's next request only if nothing but this
//! cache holds it or its buffer (an application that kept `wsgi.errors`, or
//! its `buffer`, past the request keeps its own object, and the next request
//! gets a new one), it is not closed, and it was not `reconfigure()`d.
//! The cache lives in the thread state's dict (`PyThreadState_GetDict`), so
//! it is per (thread, interpreter) and goes with the thread state. GIL held.

use super::logstream::{LogBuffer, LogStream, Sink};
use crate::apache::log::Level;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// Key of the cache in the thread state's dict.
const KEY: &str = "mod_wsgi.request_errors";

/// The objects behind one `wsgi.errors`.
struct Parts {
    stream: Py<LogStream>,
    buffer: Py<LogBuffer>,
    wrapper: Py<PyAny>,
}

/// The thread's idle `wsgi.errors`, between two requests.
#[pyclass(module = "mod_wsgi", name = "_RequestErrorsCache")]
pub struct Cache {
    idle: Option<Parts>,
}

/// `wsgi.errors` of the request in progress; [`RequestErrors::release`] at
/// its end.
pub struct RequestErrors {
    parts: Parts,
}

impl RequestErrors {
    /// The thread's idle `wsgi.errors` bound to `sink`, or a new one.
    pub fn bind(py: Python<'_>, sink: Sink) -> PyResult<RequestErrors> {
        if let Some(parts) = cache(py)?.and_then(|c| c.borrow_mut().idle.take()) {
            parts.stream.borrow_mut(py).rebind(sink);
            return Ok(RequestErrors { parts });
        }
        let stream = Bound::new(py, LogStream::new(sink, Level::Err))?;
        let buffer = Bound::new(
            py,
            LogBuffer::over(stream.clone().unbind()),
        )?;
        let wrapper = super::logstream::wrap(buffer.clone().into_any())?;
        Ok(RequestErrors {
            parts: Parts {
                stream: stream.unbind(),
                buffer: buffer.unbind(),
                wrapper: wrapper.unbind(),
            },
        })
    }

    /// The `io.TextIOWrapper` for the environ.
    pub fn wrapper<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.parts.wrapper.bind(py).clone()
    }

    /// End of the request: logs the pending partial line (in the request's
    /// context), unbinds the stream from the request and keeps the objects
    /// for the thread's next request if nobody else can reach them.
    pub fn release(self, py: Python<'_>) {
        let parts = self.parts;
        let closed = parts.stream.borrow_mut(py).finish_request(py);
        if closed || !unshared(py, &parts) || reconfigured(py, &parts) {
            return;
        }
        if let Ok(Some(c)) = cache(py) {
            c.borrow_mut().idle = Some(parts);
        } else if let Ok(dict) = thread_dict(py) {
            let c = Cache { idle: Some(parts) };
            if let Ok(c) = Bound::new(py, c) {
                let _ = dict.set_item(PyString::new(py, KEY), c);
            }
        }
    }
}

/// Whether only `parts` holds the wrapper, the buffer and the stream: the
/// wrapper once (ours), the buffer twice (ours, the wrapper's), the stream
/// twice (ours, the buffer's).
fn unshared(py: Python<'_>, parts: &Parts) -> bool {
    parts.wrapper.get_refcnt(py) == 1
        && parts.buffer.get_refcnt(py) == 2
        && parts.stream.get_refcnt(py) == 2
}

/// Whether the application changed the wrapper's settings (`reconfigure()`)
/// from those `logstream::wrap` gives it.
fn reconfigured(py: Python<'_>, parts: &Parts) -> bool {
    let w = parts.wrapper.bind(py);
    let is = |name: &str, want: &str| {
        w.getattr(name)
            .ok()
            .and_then(|v| v.cast::<PyString>().ok().map(|s| s == want))
            .unwrap_or(false)
    };
    let on = |name: &str| w.getattr(name).and_then(|v| v.is_truthy()).unwrap_or(false);
    !(is("errors", "replace")
        && is("encoding", "utf-8")
        && on("line_buffering")
        && on("write_through"))
}

/// The current thread state's dict.
fn thread_dict(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: the GIL is held (`py`), so there is a current thread state;
    // PyThreadState_GetDict returns a borrowed reference or NULL.
    let dict = unsafe { Bound::from_borrowed_ptr_or_opt(py, ffi::PyThreadState_GetDict()) };
    dict.ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no thread state dict"))?
        .cast_into::<PyDict>()
        .map_err(Into::into)
}

/// This thread's cache in the current interpreter, if it has one.
fn cache(py: Python<'_>) -> PyResult<Option<Bound<'_, Cache>>> {
    let Some(item) = thread_dict(py)?.get_item(PyString::new(py, KEY))? else {
        return Ok(None);
    };
    Ok(item.cast_into::<Cache>().ok())
}
