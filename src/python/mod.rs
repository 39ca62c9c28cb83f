//! The embedded Python: start-up from the directives (`init`), the
//! per-(thread, interpreter) thread states (`tstate`), the interpreter of each
//! application group (`interp`), the `mod_wsgi` and `apache` modules
//! (`modules`) with `server_metrics()` (`server_metrics`), the events API
//! (`events`), `LogHandler` (`log_handler`), log streams for `sys.stdout`/`sys.stderr`/`wsgi.errors`
//! (`logstream`), `WSGIRestrict*` (`restrict`), WSGI script loading
//! (`script`) and the C heap's tuning (`heap`).
//! Never used in the Apache parent: Python is initialised only in children
//! (`child_init`) and, later, in daemon processes after fork.

pub mod class;
pub mod dict;
pub mod enter;
pub mod events;
pub mod heap;
pub mod init;
pub mod interp;
pub mod interrupt;
pub mod keys;
pub mod log_handler;
pub mod logstream;
pub mod modules;
pub mod preload;
pub mod request_errors;
pub mod restrict;
pub mod script;
pub mod server_metrics;
pub mod stacks;
pub mod tstate;

use crate::config::python::PythonSettings;
use pyo3::prelude::*;

// Never format a `PyErr` with `Display`/`ToString`/`Debug` (`{e}`, `{e:?}`,
// `e.to_string()`, `unwrap()`/`expect()` on a `PyResult`): those go through
// `Python::attach`, which falls back to `PyGILState_Ensure` when pyo3 does
// not count the thread as attached, and with a sub-interpreter's thread
// state current that deadlocks on the GIL this thread already holds
// (ARCHITECTURE.md §3). Use `describe` or `format_exception` with the
// `Python` token in hand.

/// `TypeName: message` for `err`, as `PyErr`'s `Display` would write it,
/// but through the `py` token in hand (never attaching).
pub fn describe(py: Python<'_>, err: &PyErr) -> String {
    let value = err.value(py);
    let name = match value.get_type().qualname() {
        Ok(n) => n.to_string_lossy().into_owned(),
        Err(e) => {
            discard(py, e);
            "<unknown exception type>".to_string()
        }
    };
    match value.str() {
        Ok(s) => format!("{name}: {}", s.to_string_lossy()),
        Err(e) => {
            discard(py, e);
            format!("{name}: <exception str() failed>")
        }
    }
}

/// Releases `err`'s references now, in the current interpreter. Dropping a
/// `PyErr` while pyo3 does not count the thread as attached (outside the
/// entry trampoline, with only a `Python::assume_attached` token) would
/// defer the decrefs to pyo3's process-wide pool, applied later in
/// whichever interpreter attaches next.
pub fn discard(py: Python<'_>, err: PyErr) {
    err.restore(py);
    // SAFETY: the GIL is held (the `py` token); clears what `restore` set.
    unsafe { pyo3::ffi::PyErr_Clear() };
}

/// Applies the settings that belong to the process rather than to Python's
/// initialisation (`WSGICaseSensitivity`, `WSGIPythonEggs`, the C heap's
/// mmap threshold, see `heap`), before any
/// request. Called by every process that runs WSGI scripts, whether or not
/// it starts Python: each Apache child (`hooks::child_init`) and each
/// daemon process (`daemon::bootstrap`), so that no setting is applied in
/// one and forgotten in the other. Called before the process starts any
/// thread. No GIL needed.
pub fn configure_process(settings: &PythonSettings) {
    heap::fix_mmap_threshold();
    script::set_case_sensitive(settings.case_sensitivity.unwrap_or(true));
    if let Some(eggs) = &settings.python_eggs {
        // SAFETY: child_init and the daemon's start-up run before this
        // process starts any other thread (set_var is not thread-safe).
        unsafe { std::env::set_var("PYTHON_EGG_CACHE", eggs) };
    }
}

/// Formats the current exception with its traceback, one string per line,
/// as `traceback.format_exception` does (or `describe`'s one line when
/// that fails).
pub fn format_exception(py: Python<'_>, err: &PyErr) -> Vec<String> {
    let formatted = (|| -> PyResult<Vec<String>> {
        let tb = py.import("traceback")?;
        let lines = tb.call_method1(
            "format_exception",
            (err.get_type(py), err.value(py), err.traceback(py)),
        )?;
        let mut out = Vec::new();
        for chunk in lines.try_iter()? {
            let chunk: String = chunk?.extract()?;
            out.extend(chunk.lines().map(str::to_string));
        }
        Ok(out)
    })();
    formatted.unwrap_or_else(|e| {
        discard(py, e);
        vec![describe(py, err)]
    })
}
