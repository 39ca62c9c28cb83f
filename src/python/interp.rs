//! The interpreter that runs each application group in this process.
//!
//! `%{GLOBAL}` ("") is the main interpreter. Until sub-interpreters land (the
//! WSGI-contract issue), a process binds the first application group it
//! serves to the main interpreter and refuses a second, different group with
//! a clear error, rather than silently mixing two applications' modules in
//! one interpreter. The `Interp` handle already carries an id so that
//! per-group sub-interpreters slot in without changing callers.

use pyo3::ffi;
use std::sync::{Mutex, OnceLock};

/// A live interpreter of this process.
pub struct Interp {
    id: u64,
    ptr: *mut ffi::PyInterpreterState,
}

// SAFETY: an interpreter state pointer is only dereferenced by CPython, which
// allows thread states of any thread to be created for it.
unsafe impl Send for Interp {}
// SAFETY: as above.
unsafe impl Sync for Interp {}

impl Interp {
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn is_main(&self) -> bool {
        self.id == 0
    }
    pub fn as_ptr(&self) -> *mut ffi::PyInterpreterState {
        self.ptr
    }
}

static MAIN: OnceLock<Interp> = OnceLock::new();
static BOUND_GROUP: Mutex<Option<String>> = Mutex::new(None);

/// Records the main interpreter once Python is initialised in this process.
pub fn set_main() {
    // SAFETY: called right after Py_InitializeFromConfig succeeded.
    let ptr = unsafe { ffi::PyInterpreterState_Main() };
    let _ = MAIN.set(Interp { id: 0, ptr });
}

/// The main interpreter, if Python is initialised in this process.
pub fn main() -> Option<&'static Interp> {
    MAIN.get()
}

/// The interpreter for `group`, and whether this call bound the group to it
/// (so the caller can publish the group name in `mod_wsgi.application_group`).
pub fn for_group(group: &str) -> Result<(&'static Interp, bool), String> {
    let main = main().ok_or("Python is not initialised in this process")?;
    let mut bound = BOUND_GROUP.lock().unwrap_or_else(|e| e.into_inner());
    match bound.as_deref() {
        None => {
            *bound = Some(group.to_string());
            Ok((main, true))
        }
        Some(g) if g == group => Ok((main, false)),
        Some(g) => Err(format!(
            "application group '{group}' requested, but this process already runs application \
             group '{g}' and sub-interpreters are not available yet: give the mounts one \
             WSGIApplicationGroup (e.g. WSGIApplicationGroup %{{GLOBAL}})"
        )),
    }
}
