//! The embedded Python: start-up from the directives (`init`), the
//! per-(thread, interpreter) thread states (`tstate`), the interpreter of each
//! application group (`interp`), the `mod_wsgi` and `apache` modules
//! (`modules`), log streams for `sys.stdout`/`sys.stderr`/`wsgi.errors`
//! (`logstream`), `WSGIRestrict*` (`restrict`) and WSGI script loading
//! (`script`).
//! Never used in the Apache parent: Python is initialised only in children
//! (`child_init`) and, later, in daemon processes after fork.

pub mod enter;
pub mod init;
pub mod interp;
pub mod logstream;
pub mod modules;
pub mod preload;
pub mod restrict;
pub mod script;
pub mod tstate;

use crate::config::python::PythonSettings;
use pyo3::prelude::*;

/// Applies the settings that belong to the process rather than to Python's
/// initialisation (`WSGICaseSensitivity`), before any request. Called by
/// every process that runs WSGI scripts, whether or not it starts Python:
/// each Apache child (`hooks::child_init`) and each daemon process
/// (`daemon::bootstrap`), so that no setting is applied in one and
/// forgotten in the other. No GIL needed.
pub fn configure_process(settings: &PythonSettings) {
    script::set_case_sensitive(settings.case_sensitivity.unwrap_or(true));
}

/// Formats the current exception with its traceback, one string per line,
/// as `traceback.format_exception` does.
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
    formatted.unwrap_or_else(|_| vec![err.to_string()])
}
