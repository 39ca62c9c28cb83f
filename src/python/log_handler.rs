//! `mod_wsgi.LogHandler`, a `logging.Handler` subclass writing records into
//! Apache's error log at the level matching the record's (CRITICAL crit,
//! ERROR error, WARNING warn, INFO info, anything lower debug; levels in
//! between round down, as mod_wsgi), in the request's context when the
//! thread is running one (`python::events` knows), one log line per line
//! of the formatted text, with the record's `pathname` and `lineno` as the
//! source location (Apache's `%F`).
//!
//! The class is made on first use (the module's `__getattr__`,
//! `python::modules`), so an interpreter that never asks for it does not
//! import `logging`.

use crate::apache::log::Level;
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

/// Python's level as Apache's (mod_wsgi's map).
pub fn apache_level(levelno: i64) -> Level {
    match levelno {
        50.. => Level::Crit,
        40..=49 => Level::Err,
        30..=39 => Level::Warning,
        20..=29 => Level::Info,
        _ => Level::Debug,
    }
}

const CLASS: &std::ffi::CStr = c"
import logging

class LogHandler(logging.Handler):
    '''Writes log records into the Apache error log, at the matching level.'''

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        pathname = getattr(record, 'pathname', None)
        lineno = getattr(record, 'lineno', None)
        _emit(record.levelno, text,
              pathname if isinstance(pathname, str) else None,
              lineno if isinstance(lineno, int) else None)

LogHandler.__module__ = 'mod_wsgi'
";

/// Makes `LogHandler` (once per interpreter: it is kept as the module's
/// attribute).
pub fn class(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let globals = PyDict::new(py);
    let m = PyModule::new(py, "_mod_wsgi_log")?;
    globals.set_item("_emit", wrap_pyfunction!(emit, &m)?)?;
    globals.set_item("__name__", "mod_wsgi")?;
    py.run(CLASS, Some(&globals), None)?;
    let class = globals
        .get_item("LogHandler")?
        .ok_or_else(|| PyAttributeError::new_err("LogHandler"))?;
    // SAFETY: the GIL is held; a borrowed reference to sys.modules.
    let modules = unsafe { Bound::from_borrowed_ptr(py, pyo3::ffi::PyImport_GetModuleDict()) };
    if let Some(module) = modules.cast_into::<PyDict>()?.get_item("mod_wsgi")? {
        module.setattr("LogHandler", &class)?;
    }
    Ok(class.unbind())
}

/// Logs one formatted record.
#[pyfunction]
fn emit(py: Python<'_>, levelno: i64, text: &str, pathname: Option<&str>, lineno: Option<i64>) {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let at = pathname.map(|p| (p, lineno.unwrap_or(0).clamp(0, u32::MAX as i64) as u32));
    super::events::log_lines_at(py, apache_level(levelno), at, &lines);
}
