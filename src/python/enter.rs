//! Running Rust code "inside" an interpreter through a Python function call.
//!
//! pyo3's `Python::attach` falls back to `PyGILState_Ensure`, which only
//! knows the main interpreter, whenever pyo3's per-thread attach count is 0:
//! with a sub-interpreter's thread state current that would switch
//! interpreter or deadlock. So, after restoring the right thread state, we
//! call a pyo3-made function object (one per interpreter) with
//! `PyObject_CallNoArgs`: its trampoline marks the thread attached, and every
//! nested pyo3 call then stays in the current interpreter (ARCHITECTURE.md §3).
//! A panic inside comes back out as a panic (pyo3 turns it into
//! `PanicException` on the way through Python and resumes it here).

use pyo3::ffi;
use pyo3::prelude::*;
use std::cell::Cell;

type Thunk = dyn FnMut(Python<'_>) + 'static;

thread_local! {
    static PENDING: Cell<Option<*mut Thunk>> = const { Cell::new(None) };
}

#[pyfunction]
#[pyo3(name = "_mod_wsgi_rs_enter")]
fn enter_trampoline(py: Python<'_>) {
    if let Some(thunk) = PENDING.with(|p| p.take()) {
        // SAFETY: `call` stored a pointer to a closure that outlives this
        // synchronous call and cleared nothing else in between.
        unsafe { (*thunk)(py) }
    }
}

/// Creates the entry function in the current interpreter (GIL held, the
/// interpreter's thread state current). Returns a new reference.
pub(crate) fn make_entry(py: Python<'_>) -> PyResult<*mut ffi::PyObject> {
    let f = wrap_pyfunction!(enter_trampoline, py)?;
    Ok(f.into_any().into_ptr())
}

/// Calls `f` through `entry`. The caller holds the GIL with the entry's
/// interpreter current (see `tstate::enter`).
pub(crate) fn call<R>(entry: *mut ffi::PyObject, f: impl FnOnce(Python<'_>) -> R) -> R {
    let mut f = Some(f);
    let mut out: Option<R> = None;
    let mut thunk = |py: Python<'_>| {
        if let Some(f) = f.take() {
            out = Some(f(py));
        }
    };
    let short: *mut (dyn FnMut(Python<'_>) + '_) = &mut thunk;
    // SAFETY: only the lifetime is erased; the pointer is used solely during
    // the PyObject_CallNoArgs below, while `thunk` is alive.
    let long: *mut Thunk = unsafe { std::mem::transmute(short) };
    let previous = PENDING.with(|p| p.replace(Some(long)));
    // SAFETY: GIL held, `entry` is a live function object of this interpreter.
    let rv = unsafe { ffi::PyObject_CallNoArgs(entry) };
    PENDING.with(|p| p.set(previous));
    if rv.is_null() {
        // SAFETY: GIL held (caller's contract). pyo3 does not count this
        // thread as attached any more (the trampoline has returned), so
        // nothing below may attach: the error is described through this
        // token and its references released here (`super::describe`,
        // `super::discard`), never formatted with `Display`.
        let py = unsafe { Python::assume_attached() };
        // A PanicException is resumed as a panic by PyErr::take.
        let err = PyErr::take(py);
        let msg = err.map(|e| {
            let msg = super::describe(py, &e);
            super::discard(py, e);
            msg
        });
        if let Some(out) = out {
            return out;
        }
        panic!(
            "the interpreter entry function failed: {}",
            msg.unwrap_or_default()
        );
    }
    // SAFETY: a new reference returned by the call.
    unsafe { ffi::Py_DECREF(rv) };
    out.expect("the interpreter entry function did not run")
}
