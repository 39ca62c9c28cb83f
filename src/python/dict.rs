//! Dict construction pyo3 does not offer: a dict presized for a known number
//! of items (CPython's own `_PyDict_NewPresized`, which it uses for keyword
//! dicts), so that building a request's environ does not resize it several
//! times; the thread state's dict, where per-thread caches live. Called
//! with the GIL held.

use pyo3::prelude::*;
use pyo3::types::PyDict;

unsafe extern "C" {
    /// CPython's dict constructor with room for `n` items (exported since 3.x,
    /// used by CPython itself to build keyword dicts).
    fn _PyDict_NewPresized(n: pyo3::ffi::Py_ssize_t) -> *mut pyo3::ffi::PyObject;
}

/// An empty dict with room for `n` items, so that filling it does not
/// resize it several times.
pub fn presized(py: Python<'_>, n: usize) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: the GIL is held.
    let raw = unsafe { _PyDict_NewPresized(n as _) };
    // SAFETY: a new reference to a dict, or NULL with an exception set.
    let any = unsafe { Bound::from_owned_ptr_or_err(py, raw) }?;
    Ok(any.cast_into::<PyDict>()?)
}

/// The current thread state's dict (`PyThreadState_GetDict`): one per
/// (thread, interpreter), cleared with the thread state. Where per-thread
/// caches of Python objects live (`request_errors`, `keys`).
pub fn thread_dict(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: the GIL is held (`py`), so there is a current thread state;
    // PyThreadState_GetDict returns a borrowed reference or NULL.
    let dict = unsafe { Bound::from_borrowed_ptr_or_opt(py, pyo3::ffi::PyThreadState_GetDict()) }
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no thread state dict"))?;
    Ok(dict.cast_into::<PyDict>()?)
}
