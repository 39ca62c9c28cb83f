//! `mod_wsgi.RequestTimeout`, the exception mod_wsgi 6 raises inside a
//! daemon thread whose request ran past `request-timeout` when
//! `interrupt-timeout` is set: a class deriving directly from
//! `BaseException` (so `except Exception:` in the application does not
//! swallow it), one per interpreter, published on its `mod_wsgi` module.
//! The daemon's request timer raises it with `PyThreadState_SetAsyncExc`
//! in the interpreter the thread is running ([`raise_in`]); the WSGI core
//! recognises it ([`is_request_timeout`]) and answers 504; a daemon worker
//! drops a pending one left over from its previous request
//! ([`clear_pending`]) before a new request runs Python code.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyType};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set in a daemon process whose group has `interrupt-timeout`: only then
/// can an exception be pending on a worker's thread state.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Allows [`raise_in`] in this process (and makes [`clear_pending`] work).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Adds `RequestTimeout` to a new interpreter's `mod_wsgi` module.
pub fn add_class(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<pyo3::exceptions::PyBaseException>();
    let class = PyErr::new_type(
        py,
        c"mod_wsgi.RequestTimeout",
        Some(c"Raised in a daemon thread whose request ran past request-timeout."),
        Some(&base),
        None,
    )?;
    m.add("RequestTimeout", class)
}

/// This interpreter's `mod_wsgi.RequestTimeout` (GIL held).
fn class(py: Python<'_>) -> Option<Bound<'_, PyType>> {
    let modules = py.import("sys").ok()?.getattr("modules").ok()?;
    let m = modules.get_item("mod_wsgi").ok()?;
    m.getattr("RequestTimeout").ok()?.cast_into::<PyType>().ok()
}

/// Whether `err` is this interpreter's `mod_wsgi.RequestTimeout`.
pub fn is_request_timeout(py: Python<'_>, err: &PyErr) -> bool {
    class(py).is_some_and(|c| err.is_instance(py, &c))
}

/// Raises `RequestTimeout` asynchronously in the thread `ident`, which runs
/// in the current interpreter (GIL held, in that interpreter); whether a
/// thread state of that thread was found.
pub fn raise_in(py: Python<'_>, ident: u64) -> bool {
    let Some(c) = class(py) else {
        return false;
    };
    // SAFETY: GIL held; the class is a live exception type of this
    // interpreter (the call takes its own reference).
    unsafe { ffi::PyThreadState_SetAsyncExc(ident as _, c.as_ptr()) > 0 }
}

/// Drops a `RequestTimeout` raised too late for the request it was meant
/// for (the thread had finished it), so the next request does not get it.
pub fn clear_pending(py: Python<'_>) {
    if !ENABLED.load(Ordering::SeqCst) {
        return;
    }
    let _ = py;
    // SAFETY: GIL held; a NULL exception clears this thread's pending one
    // in the current interpreter.
    unsafe {
        ffi::PyThreadState_SetAsyncExc(ffi::PyThread_get_thread_ident() as _, std::ptr::null_mut());
    }
}
