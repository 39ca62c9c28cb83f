//! Loading WSGI script files as mod_wsgi does: each script becomes a module
//! named `_mod_wsgi_<md5 of the path>` in `sys.modules`, with `__file__` and
//! `__mtime__` set. A failed load leaves nothing behind, so the next request
//! retries it; with script reloading on, a changed modification time reloads
//! the module before the request. Loads are serialised per process (the
//! lock is taken with the GIL released, so it cannot deadlock with it), and
//! a module whose code is still running in another thread is not used.

use crate::apache::log_ids::SCRIPT_LOADING;
use md5::{Digest, Md5};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyDict, PyModule};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static LOAD_LOCK: Mutex<()> = Mutex::new(());
/// Set once any WSGI script has loaded in this process (startup-timeout).
static ANY_LOADED: AtomicBool = AtomicBool::new(false);

/// Whether a WSGI script has loaded in this process: a daemon's
/// startup-timeout is cancelled by it, as mod_wsgi's.
pub fn any_loaded() -> bool {
    ANY_LOADED.load(Ordering::SeqCst)
}
/// `WSGICaseSensitivity`; set once per process before any request.
static CASE_SENSITIVE: AtomicBool = AtomicBool::new(true);

/// Records `WSGICaseSensitivity` for this process.
pub fn set_case_sensitive(on: bool) {
    CASE_SENSITIVE.store(on, Ordering::Relaxed);
}

pub fn case_sensitive() -> bool {
    CASE_SENSITIVE.load(Ordering::Relaxed)
}

/// The module name mod_wsgi gives a script file (the path lowercased first
/// when `WSGICaseSensitivity Off`).
pub fn module_name(path: &str) -> String {
    let lowered;
    let path = if case_sensitive() {
        path
    } else {
        lowered = path.to_lowercase();
        &lowered
    };
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names.get(path) {
        return name.clone();
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(path.as_bytes());
    let mut name = String::with_capacity(10 + 32);
    name.push_str("_mod_wsgi_");
    for b in digest {
        name.push(HEX[(b >> 4) as usize] as char);
        name.push(HEX[(b & 15) as usize] as char);
    }
    names.insert(path.to_string(), name.clone());
    name
}

/// Module names by script path (computed once per path and process).
static NAMES: Mutex<std::collections::BTreeMap<String, String>> =
    Mutex::new(std::collections::BTreeMap::new());

/// `sys.modules` of the current interpreter, without an import.
fn sys_modules(py: Python<'_>) -> Bound<'_, PyAny> {
    // SAFETY: the GIL is held; PyImport_GetModuleDict returns a borrowed
    // reference to the current interpreter's sys.modules.
    unsafe { Bound::from_borrowed_ptr(py, pyo3::ffi::PyImport_GetModuleDict()) }
}

/// The loaded module, if one is complete and (when `mtime` is given) current.
/// `__mtime__` is set only once the module's code has run, so a module that
/// another thread is still executing is never returned.
fn cached<'py>(
    py: Python<'py>,
    name: &str,
    mtime: Option<f64>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let modules = sys_modules(py);
    let Ok(module) = modules.get_item(name) else {
        return Ok(None);
    };
    let Some(loaded) = module
        .getattr("__mtime__")
        .ok()
        .and_then(|m| m.extract::<f64>().ok())
    else {
        return Ok(None);
    };
    if mtime.is_some_and(|m| m != loaded) {
        return Ok(None);
    }
    Ok(Some(module))
}

/// Returns the module for the script at `path`, loading (or, when
/// `mtime` is given and differs from the loaded one, reloading) it.
///
/// `resource`, when given, is passed to the module's optional
/// `reload_required(resource)`; a true result reloads the module too. An
/// exception there goes to `sys.stderr` (the error log) and the cached
/// module is kept, as mod_wsgi does.
pub fn load<'py>(
    py: Python<'py>,
    path: &str,
    mtime: Option<f64>,
    resource: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let name = module_name(path);
    let mut forced = false;
    if let Some(m) = cached(py, &name, mtime)? {
        if !reload_requested(py, &m, resource) {
            ANY_LOADED.store(true, Ordering::SeqCst);
            return Ok(m);
        }
        forced = true;
    }
    let _guard = LOAD_LOCK
        .lock_py_attached(py)
        .unwrap_or_else(|e| e.into_inner());
    if !forced && let Some(m) = cached(py, &name, mtime)? {
        ANY_LOADED.store(true, Ordering::SeqCst);
        return Ok(m);
    }
    log_loading(py, path, forced || sys_modules(py).contains(&name)?);
    let source = std::fs::read(path).map_err(|e| {
        pyo3::exceptions::PyOSError::new_err(format!("cannot read WSGI script '{path}': {e}"))
    })?;
    let file_mtime = match mtime {
        Some(m) => m,
        None => std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    let builtins = py.import("builtins")?;
    // Py_CompileString, not builtins.compile: the builtin first checks for an AST
    // object, which creates the ~120 `ast` node types in every interpreter.
    let source = std::ffi::CString::new(source).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err("source code string cannot contain null bytes")
    })?;
    let filename = std::ffi::CString::new(path).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err("WSGI script path contains a NUL byte")
    })?;
    let code =
        pyo3::types::PyCode::compile(py, &source, &filename, pyo3::types::code::PyCodeInput::File)?;
    let module = PyModule::new(py, &name)?;
    module.setattr("__file__", path)?;
    let dict: Bound<'_, PyDict> = module.dict();
    dict.set_item("__builtins__", &builtins)?;
    let modules = sys_modules(py);
    modules.set_item(&name, &module)?;
    let exec = builtins.getattr("exec")?;
    if let Err(e) = exec.call1((code, &dict)) {
        let _ = modules.del_item(&name);
        return Err(e);
    }
    // Marks the module complete (see `cached`).
    module.setattr("__mtime__", file_mtime)?;
    ANY_LOADED.store(true, Ordering::SeqCst);
    Ok(module.into_any())
}

/// mod_wsgi's info line before a script is (re)loaded, in its words (tools
/// and tests look for them), naming the application group and process.
fn log_loading(py: Python<'_>, path: &str, reloading: bool) {
    let group = py
        .import("mod_wsgi")
        .and_then(|m| m.getattr("application_group"))
        .and_then(|g| g.extract::<String>())
        .unwrap_or_default();
    let verb = if reloading { "Reloading" } else { "Loading" };
    let line = format!(
        "{SCRIPT_LOADING} {verb} WSGI script '{path}' into application group '{group}' of \
         process {}.",
        std::process::id()
    );
    py.detach(|| crate::apache::log::server(crate::apache::log::Level::Info, None, &line));
}

/// Calls the module's `reload_required(resource)`, if it has one.
fn reload_requested(py: Python<'_>, module: &Bound<'_, PyAny>, resource: Option<&str>) -> bool {
    let Some(resource) = resource else {
        return false;
    };
    // Looked up without raising AttributeError: most scripts have no hook.
    let Ok(Some(hook)) = module.getattr_opt("reload_required") else {
        return false;
    };
    match hook.call1((resource,)).and_then(|r| r.is_truthy()) {
        Ok(b) => b,
        Err(e) => {
            // Logged, but the cached module is kept (no reload loop).
            e.print(py);
            false
        }
    }
}

/// Looks up the WSGI callable in a loaded script module.
pub fn callable<'py>(
    module: &Bound<'py, PyAny>,
    name: &str,
    path: &str,
) -> PyResult<Bound<'py, PyAny>> {
    module.getattr(name).map_err(|_| {
        pyo3::exceptions::PyAttributeError::new_err(format!(
            "Target WSGI script '{path}' does not contain WSGI application '{name}'."
        ))
    })
}
