//! The `mod_wsgi` and `apache` Python modules, created directly in each
//! interpreter's `sys.modules` (not through an import hook, so they exist in
//! every interpreter the same way). Static attributes and
//! `server_metrics()` (`python::server_metrics`), the events API
//! (`python::events`) and `LogHandler` (`python::log_handler`); the WSGI
//! core's attributes (`FileWrapper`, the request and process metrics
//! functions) come through `init::Extension`.
//!
//! pip's `mod_wsgi` distribution (`mod_wsgi.express`, ...) and packages such
//! as `mod-wsgi-telemetry` install a Python package named `mod_wsgi`. As
//! mod_wsgi does, that package is imported before ours takes its place in
//! `sys.modules`, and ours takes over its `__path__`, so `import mod_wsgi`
//! gives this module and `import mod_wsgi.express` still finds the package's
//! subpackages.

use crate::apache::log::{self, Level};
use crate::apache::log_ids::{MOD_WSGI_PACKAGE_FAILED, MOD_WSGI_PACKAGE_FOUND};
use crate::apache::{mpm, sys};
use pyo3::exceptions::PyModuleNotFoundError;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyTuple};

/// The mod_wsgi release whose behaviour this module reproduces; reported as
/// `mod_wsgi.version` so applications checking it keep working.
pub const COMPAT_VERSION: (u32, u32, u32) = (6, 0, 5);

/// Facts about this process published in both modules.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub process_group: String,
    pub maximum_processes: i32,
    pub threads_per_process: i32,
    /// `mod_wsgi.server_metrics()` may read the scoreboard here
    /// (`WSGIServerMetrics` in a child, `server-metrics=` in a daemon).
    pub server_metrics: bool,
}

impl ProcessInfo {
    /// Embedded mode: sizes come from the MPM; `server_metrics` is
    /// `WSGIServerMetrics`.
    pub fn embedded(server_metrics: bool) -> ProcessInfo {
        ProcessInfo {
            process_group: String::new(),
            maximum_processes: mpm::max_processes(),
            threads_per_process: mpm::max_threads(),
            server_metrics,
        }
    }
}

fn server_string(p: *const std::ffi::c_char) -> String {
    // SAFETY: Apache returns static or config-pool strings.
    unsafe { crate::apache::cstr(p) }.into_owned()
}

/// Creates both modules in the current interpreter's `sys.modules`.
/// `module_attrs` adds the WSGI core's attributes (`FileWrapper`).
pub fn install(
    py: Python<'_>,
    info: &ProcessInfo,
    application_group: &str,
    module_attrs: fn(&Bound<'_, PyModule>) -> PyResult<()>,
) -> PyResult<()> {
    let sys_modules = py.import("sys")?.getattr("modules")?;

    let m = PyModule::new(py, "mod_wsgi")?;
    m.add(
        "version",
        PyTuple::new(py, [COMPAT_VERSION.0, COMPAT_VERSION.1, COMPAT_VERSION.2])?,
    )?;
    m.add(
        "implementation",
        format!("mod_wsgi-rs {}", env!("CARGO_PKG_VERSION")),
    )?;
    m.add("process_group", &info.process_group)?;
    m.add("application_group", application_group)?;
    m.add("maximum_processes", info.maximum_processes)?;
    m.add("threads_per_process", info.threads_per_process)?;
    super::server_metrics::allow(info.server_metrics);
    m.add_function(wrap_pyfunction!(super::server_metrics::server_metrics, &m)?)?;
    super::events::install(&m)?;
    m.add_function(wrap_pyfunction!(__getattr__, &m)?)?;
    module_attrs(&m)?;
    super::interrupt::add_class(&m)?;
    adopt_package_path(py, &m, application_group);
    sys_modules.set_item("mod_wsgi", &m)?;

    let a = PyModule::new(py, "apache")?;
    a.add(
        "version",
        PyTuple::new(
            py,
            [
                sys::AP_SERVER_MAJORVERSION_NUMBER,
                sys::AP_SERVER_MINORVERSION_NUMBER,
                sys::AP_SERVER_PATCHLEVEL_NUMBER,
            ],
        )?,
    )?;
    a.add("mpm_name", mpm::name())?;
    // SAFETY: plain getters of static server strings.
    let description = server_string(unsafe { sys::ap_get_server_description() });
    // SAFETY: as above.
    let built = server_string(unsafe { sys::ap_get_server_built() });
    a.add("description", description)?;
    a.add("build_date", built)?;
    a.add("maximum_processes", info.maximum_processes)?;
    a.add("threads_per_process", info.threads_per_process)?;
    sys_modules.set_item("apache", &a)?;
    Ok(())
}

/// The module's `__getattr__` (PEP 562): the attributes made on first use,
/// `LogHandler` (`python::log_handler`) and `active_requests`
/// (`python::events`, whose per-request bookkeeping starts then).
#[pyfunction]
fn __getattr__(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    match name {
        "LogHandler" => super::log_handler::class(py),
        "active_requests" => super::events::active_requests_attr(py),
        _ => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
            "module 'mod_wsgi' has no attribute '{name}'"
        ))),
    }
}

/// Imports a `mod_wsgi` package installed on `sys.path` (pip's mod_wsgi,
/// `mod-wsgi-telemetry`), if there is one, and gives `m` its `__path__`.
/// A package that fails to import for another reason than not being there
/// is logged with its traceback; the interpreter is set up all the same.
fn adopt_package_path(py: Python<'_>, m: &Bound<'_, PyModule>, group: &str) {
    let existing = match py.import("mod_wsgi") {
        Ok(existing) => existing,
        Err(e) if e.is_instance_of::<PyModuleNotFoundError>(py) => return,
        Err(e) => {
            let mut lines = vec![format!(
                "{MOD_WSGI_PACKAGE_FAILED} the 'mod_wsgi' Python package on sys.path of application group \
                 '{group}' failed to import; its subpackages will not be importable"
            )];
            lines.extend(super::format_exception(py, &e));
            py.detach(|| {
                for line in &lines {
                    log::server(Level::Err, None, line);
                }
            });
            return;
        }
    };
    let Ok(path) = existing.getattr("__path__") else {
        return;
    };
    let shown = path.str().map(|s| s.to_string()).unwrap_or_default();
    if m.setattr("__path__", path).is_ok() {
        py.detach(|| {
            log::server(
                Level::Info,
                None,
                &format!(
                    "{MOD_WSGI_PACKAGE_FOUND} imported the existing 'mod_wsgi' Python package in application \
                     group '{group}'; its subpackages import from {shown}"
                ),
            )
        });
    }
}

/// Updates `mod_wsgi.application_group` in the current interpreter.
pub fn set_application_group(py: Python<'_>, group: &str) -> PyResult<()> {
    py.import("mod_wsgi")?.setattr("application_group", group)
}
