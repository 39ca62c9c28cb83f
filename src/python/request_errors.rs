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
//! it is per (thread, interpreter) and goes with the thread state; it is an
//! instance of a per-interpreter class (`class`). GIL held.

use super::class::{self, Class, ClassId};
use super::logstream::{self, LogStream, Sink};
use crate::apache::log::Level;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::cell::RefMut;
use std::ffi::CStr;

/// Key of the cache in the thread state's dict.
const KEY: &str = "mod_wsgi.request_errors";

/// The wrapper's settings that `reconfigure()` can change.
const SETTINGS: [&str; 4] = ["encoding", "errors", "line_buffering", "write_through"];

/// The objects behind one `wsgi.errors`.
struct Parts {
    /// The `LogBuffer` (it owns the stream).
    buffer: Py<PyAny>,
    wrapper: Py<PyAny>,
    /// The values of [`SETTINGS`] as built: `reconfigure()` replaces them.
    settings: [Py<PyAny>; 4],
}

/// The thread's idle `wsgi.errors`, between two requests, and the attribute
/// names to read its settings with (made once per thread and interpreter).
pub struct Cache {
    idle: Option<Parts>,
    names: [Py<PyString>; 4],
}

impl Class for Cache {
    const NAME: &'static CStr = c"mod_wsgi._RequestErrorsCache";
    const ID: ClassId = ClassId::ErrorsCache;
    fn slots() -> Vec<ffi::PyType_Slot> {
        Vec::new()
    }
}

/// `wsgi.errors` of the request in progress; [`RequestErrors::release`] at
/// its end.
pub struct RequestErrors {
    parts: Parts,
    /// The thread's `Cache`.
    cache: Py<PyAny>,
}

impl RequestErrors {
    /// The thread's idle `wsgi.errors` bound to `sink`, or a new one.
    pub fn bind(py: Python<'_>, sink: Sink) -> PyResult<RequestErrors> {
        let cache = cache(py)?;
        let idle = borrow(&cache)?.idle.take();
        let parts = match idle {
            Some(parts) => {
                logstream::rebind(parts.buffer.bind(py), sink)?;
                parts
            }
            None => {
                let names = borrow(&cache)?.names.each_ref().map(|n| n.clone_ref(py));
                build(py, sink, &names)?
            }
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
        let closed = logstream::finish_request(parts.buffer.bind(py)).unwrap_or(true);
        let cache = cache.bind(py);
        let Ok(mut c) = borrow(cache) else { return };
        if closed || !unshared(&parts) || reconfigured(py, &parts, &c.names) {
            return;
        }
        c.idle = Some(parts);
    }
}

/// A new `wsgi.errors` over a new stream bound to `sink`.
fn build(py: Python<'_>, sink: Sink, names: &[Py<PyString>; 4]) -> PyResult<Parts> {
    let buffer = logstream::buffer(py, LogStream::new(sink, Level::Err))?;
    let wrapper = logstream::wrap(buffer.clone())?;
    let setting = |i: usize| wrapper.getattr(names[i].bind(py)).map(Bound::unbind);
    let settings = [setting(0)?, setting(1)?, setting(2)?, setting(3)?];
    Ok(Parts {
        buffer: buffer.unbind(),
        wrapper: wrapper.unbind(),
        settings,
    })
}

/// Whether only `parts` holds the wrapper and the buffer: the wrapper once
/// (ours), the buffer twice (ours, the wrapper's).
fn unshared(parts: &Parts) -> bool {
    // SAFETY: the GIL is held (the callers hold `py`) and each pointer is a
    // live object that `parts` owns a reference to.
    let count = |p: *mut ffi::PyObject| unsafe { ffi::Py_REFCNT(p) };
    count(parts.wrapper.as_ptr()) == 1 && count(parts.buffer.as_ptr()) == 2
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

/// The cache's value, mutably borrowed (`cache` is a `Cache`).
fn borrow<'a>(cache: &'a Bound<'_, PyAny>) -> PyResult<RefMut<'a, Cache>> {
    class::downcast::<Cache>(cache)?
        .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("not a mod_wsgi._RequestErrorsCache"))
}

/// This thread's cache in the current interpreter, made on first use.
fn cache(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let dict = super::dict::thread_dict(py)?;
    let key = PyString::new(py, KEY);
    if let Some(found) = dict.get_item(&key)? {
        if class::downcast::<Cache>(&found)?.is_some() {
            return Ok(found);
        }
    }
    let names = SETTINGS.map(|n| PyString::new(py, n).unbind());
    let c = class::new(py, Cache { idle: None, names })?;
    dict.set_item(key, &c)?;
    Ok(c)
}
