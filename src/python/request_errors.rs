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
use pyo3::types::PyString;

/// Key of the cache in the thread state's dict.
const KEY: &str = "mod_wsgi.request_errors";

/// The wrapper's settings that `reconfigure()` can change.
const SETTINGS: [&str; 4] = ["encoding", "errors", "line_buffering", "write_through"];

/// The objects behind one `wsgi.errors`.
struct Parts {
    stream: Py<LogStream>,
    buffer: Py<LogBuffer>,
    wrapper: Py<PyAny>,
    /// The values of [`SETTINGS`] as built: `reconfigure()` replaces them.
    settings: [Py<PyAny>; 4],
}

/// The thread's idle `wsgi.errors`, between two requests, and the attribute
/// names to read its settings with (made once per thread and interpreter).
#[pyclass(module = "mod_wsgi", name = "_RequestErrorsCache")]
pub struct Cache {
    idle: Option<Parts>,
    names: [Py<PyString>; 4],
}

/// `wsgi.errors` of the request in progress; [`RequestErrors::release`] at
/// its end.
pub struct RequestErrors {
    parts: Parts,
    cache: Py<Cache>,
}

impl RequestErrors {
    /// The thread's idle `wsgi.errors` bound to `sink`, or a new one.
    pub fn bind(py: Python<'_>, sink: Sink) -> PyResult<RequestErrors> {
        let cache = cache(py)?;
        let idle = cache.borrow_mut().idle.take();
        let parts = match idle {
            Some(parts) => {
                parts.stream.borrow_mut(py).rebind(sink);
                parts
            }
            None => build(py, sink, &cache.borrow().names)?,
        };
        Ok(RequestErrors {
            parts,
            cache: cache.unbind(),
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
        let RequestErrors { parts, cache } = self;
        let closed = parts.stream.borrow_mut(py).finish_request(py);
        let cache = cache.bind(py);
        if closed || !unshared(&parts) || reconfigured(py, &parts, &cache.borrow().names) {
            return;
        }
        cache.borrow_mut().idle = Some(parts);
    }
}

/// A new `wsgi.errors` over a new stream bound to `sink`.
fn build(py: Python<'_>, sink: Sink, names: &[Py<PyString>; 4]) -> PyResult<Parts> {
    let stream = Bound::new(py, LogStream::new(sink, Level::Err))?;
    let buffer = Bound::new(py, LogBuffer::over(stream.clone().unbind()))?;
    let wrapper = super::logstream::wrap(buffer.clone().into_any())?;
    let setting = |i: usize| wrapper.getattr(names[i].bind(py)).map(Bound::unbind);
    let settings = [setting(0)?, setting(1)?, setting(2)?, setting(3)?];
    Ok(Parts {
        stream: stream.unbind(),
        buffer: buffer.unbind(),
        wrapper: wrapper.unbind(),
        settings,
    })
}

/// Whether only `parts` holds the wrapper, the buffer and the stream: the
/// wrapper once (ours), the buffer twice (ours, the wrapper's), the stream
/// twice (ours, the buffer's).
fn unshared(parts: &Parts) -> bool {
    // SAFETY: the GIL is held (the callers hold `py`) and each pointer is a
    // live object that `parts` owns a reference to.
    let count = |p: *mut ffi::PyObject| unsafe { ffi::Py_REFCNT(p) };
    count(parts.wrapper.as_ptr()) == 1
        && count(parts.buffer.as_ptr()) == 2
        && count(parts.stream.as_ptr()) == 2
}

/// Whether the application changed the wrapper's settings (`reconfigure()`
/// replaces each value it is given, so identity tells).
fn reconfigured(py: Python<'_>, parts: &Parts, names: &[Py<PyString>; 4]) -> bool {
    let w = parts.wrapper.bind(py);
    names.iter().zip(&parts.settings).any(|(name, was)| {
        w.getattr(name.bind(py))
            .map_or(true, |now| now.as_ptr() != was.as_ptr())
    })
}

/// This thread's cache in the current interpreter, made on first use.
fn cache(py: Python<'_>) -> PyResult<Bound<'_, Cache>> {
    let dict = super::dict::thread_dict(py)?;
    let key = PyString::new(py, KEY);
    if let Some(found) = dict.get_item(&key)? {
        if let Ok(c) = found.cast_into::<Cache>() {
            return Ok(c);
        }
    }
    let names = SETTINGS.map(|n| PyString::new(py, n).unbind());
    let c = Bound::new(py, Cache { idle: None, names })?;
    dict.set_item(key, &c)?;
    Ok(c)
}
