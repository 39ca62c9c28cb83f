//! Starting and stopping Python in an Apache child (and, later, a daemon).
//! Python is configured with the PyConfig API from the `WSGIPython*`
//! directives: a virtual environment as home means `program_name =
//! <home>/bin/python` (as mod_wsgi does), signal handlers stay Apache's, and
//! `sys.argv` is `['mod_wsgi']`. After start-up the GIL is released; the
//! main thread state is kept for finalisation at child exit.

use super::{class, interp, logstream, modules};
use crate::apache::log::Level;
use crate::apache::log_ids::{FINALISATION_SKIPPED, SWITCH_INTERVAL_SET, SWITCH_INTERVAL_SKIPPED};
use crate::config::interpreter_options::resolve;
use crate::config::python::{
    BUILD_PYTHON_PREFIX, BUILD_PYTHON_VERSION, HashSeed, Home, PythonSettings,
};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{CString, c_char};
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

static MAIN_TSTATE: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(std::ptr::null_mut());
/// What every interpreter of this process is set up with.
static SETUP: OnceLock<(PythonSettings, modules::ProcessInfo, Extension)> = OnceLock::new();

/// What the layer above (the WSGI core) adds to Python, handed in so that
/// this folder does not depend on it: its types, created in the main
/// interpreter before any sub-interpreter exists so that every interpreter
/// shares them, and its attributes of the `mod_wsgi` module, added in every
/// interpreter.
#[derive(Clone, Copy)]
pub struct Extension {
    /// The core's classes, made in every interpreter (`class`).
    pub classes: &'static [(class::ClassId, class::Maker)],
    pub module_attrs: fn(&Bound<'_, pyo3::types::PyModule>) -> PyResult<()>,
}

/// Why Python could not be started.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("invalid setting: {0}")]
    Setting(String),
    #[error("Python {version} failed to initialise: {msg}{hint}")]
    Python {
        version: &'static str,
        msg: String,
        hint: String,
    },
    #[error("Python started but setting it up failed: {0}")]
    Setup(String),
}

fn cstring(s: &str) -> Result<CString, InitError> {
    CString::new(s).map_err(|_| InitError::Setting(format!("value contains a NUL byte: {s:?}")))
}

fn status_message(status: &ffi::PyStatus) -> String {
    // SAFETY: err_msg and func are NULL or static C strings set by CPython.
    let msg = unsafe { crate::apache::cstr(status.err_msg) }.into_owned();
    // SAFETY: as above.
    let func = unsafe { crate::apache::cstr(status.func) }.into_owned();
    if func.is_empty() {
        msg
    } else {
        format!("{func}: {msg}")
    }
}

/// Checks a PyStatus; on error returns its message.
fn check(status: ffi::PyStatus) -> Result<(), String> {
    // SAFETY: PyStatus is a plain value struct.
    if unsafe { ffi::PyStatus_Exception(status) } != 0 {
        Err(status_message(&status))
    } else {
        Ok(())
    }
}

/// Sets a PyConfig wide-string field from UTF-8.
///
/// # Safety
/// `config` must be initialised and `field` must point into it.
unsafe fn set_string(
    config: *mut ffi::PyConfig,
    field: *mut *mut libc::wchar_t,
    value: &str,
) -> Result<(), InitError> {
    let c = cstring(value)?;
    // SAFETY: the caller's contract; CPython copies the decoded string.
    check(unsafe { ffi::PyConfig_SetBytesString(config, field, c.as_ptr()) })
        .map_err(|e| InitError::Setting(format!("{value}: {e}")))
}

fn python_error(msg: String, settings: &PythonSettings) -> InitError {
    let hint = match &settings.home {
        Some(Home::Venv(h)) | Some(Home::Prefix(h)) => format!(
            " (WSGIPythonHome is '{h}'; it must be a Python {BUILD_PYTHON_VERSION} installation \
             or virtual environment readable by the Apache user)"
        ),
        None => format!(
            " (no WSGIPythonHome: using the Python {BUILD_PYTHON_VERSION} at {BUILD_PYTHON_PREFIX}, \
             which must be readable by the Apache user)"
        ),
    };
    InitError::Python {
        version: BUILD_PYTHON_VERSION,
        msg,
        hint,
    }
}

/// Initialises Python in this process and releases the GIL.
pub fn initialize(
    settings: &PythonSettings,
    info: &modules::ProcessInfo,
    extension: Extension,
) -> Result<(), InitError> {
    let mut raw = MaybeUninit::<ffi::PyConfig>::uninit();
    let config = raw.as_mut_ptr();
    // SAFETY: PyConfig_InitPythonConfig fully initialises the struct.
    unsafe { ffi::PyConfig_InitPythonConfig(config) };
    let result = (|| {
        // SAFETY: `config` is initialised; every field pointer points into it.
        unsafe {
            (*config).install_signal_handlers = 0;
            (*config).parse_argv = 0;
            (*config).configure_c_stdio = 0;
            let program = match &settings.home {
                Some(Home::Venv(home)) => format!("{home}/bin/python"),
                Some(Home::Prefix(home)) => {
                    set_string(config, &raw mut (*config).home, home)?;
                    format!(
                        "{}/bin/python{BUILD_PYTHON_VERSION}",
                        home.split(':').next().unwrap_or(home)
                    )
                }
                None => format!("{BUILD_PYTHON_PREFIX}/bin/python{BUILD_PYTHON_VERSION}"),
            };
            set_string(config, &raw mut (*config).program_name, &program)?;
            if let Some(level) = settings.optimize {
                (*config).optimization_level = level as i32;
            }
            if settings.dont_write_bytecode == Some(true) {
                (*config).write_bytecode = 0;
            }
            match settings.hash_seed {
                Some(HashSeed::Fixed(seed)) => {
                    (*config).use_hash_seed = 1;
                    (*config).hash_seed = seed as _;
                }
                Some(HashSeed::Random) => (*config).use_hash_seed = 0,
                None => {}
            }
            let argv0 = cstring("mod_wsgi")?;
            let mut argv: [*const c_char; 1] = [argv0.as_ptr()];
            check(ffi::PyConfig_SetBytesArgv(config, 1, argv.as_mut_ptr()))
                .map_err(InitError::Setting)?;
            for w in &settings.warnings {
                let c = cstring(w)?;
                let wide = ffi::Py_DecodeLocale(c.as_ptr(), std::ptr::null_mut());
                if wide.is_null() {
                    return Err(InitError::Setting(format!(
                        "cannot decode WSGIPythonWarnings {w:?}"
                    )));
                }
                let st = ffi::PyWideStringList_Append(&raw mut (*config).warnoptions, wide);
                ffi::PyMem_RawFree(wide as *mut _);
                check(st).map_err(InitError::Setting)?;
            }
            let status = ffi::Py_InitializeFromConfig(config);
            check(status).map_err(|m| python_error(m, settings))
        }
    })();
    // SAFETY: the config was initialised above and is no longer used.
    unsafe { ffi::PyConfig_Clear(config) };
    result?;

    let _ = SETUP.set((settings.clone(), info.clone(), extension));
    // This thread holds the GIL with the main thread state current, which the
    // GILState API knows, so pyo3's attach nests without switching.
    let setup = Python::attach(|py| {
        prepare_main(py)
            .and_then(|()| set_switch_interval(py, settings.switch_interval))
            .map_err(|e| InitError::Setup(super::format_exception(py, &e).join("\n")))
    });
    // SAFETY: this thread holds the GIL; release it and keep the main state.
    let ts = unsafe { ffi::PyEval_SaveThread() };
    MAIN_TSTATE.store(ts, Ordering::Release);
    setup
}

/// `WSGISwitchInterval` / `switch-interval=`: the GIL switch interval is
/// process-wide, so once, in the main interpreter.
fn set_switch_interval(py: Python<'_>, seconds: Option<f64>) -> PyResult<()> {
    if let Some(s) = seconds {
        py.import("sys")?.call_method1("setswitchinterval", (s,))?;
    }
    Ok(())
}

/// Every class made in each interpreter: the log streams' and the core's.
pub fn classes() -> Vec<(class::ClassId, class::Maker)> {
    let mut all = vec![
        class::maker::<logstream::LogBuffer>(),
        class::maker::<super::request_errors::Cache>(),
        class::maker::<super::keys::Keys>(),
    ];
    if let Some((_, _, extension)) = SETUP.get() {
        all.extend_from_slice(extension.classes);
    }
    all
}

/// Main-interpreter start-up: record the main interpreter (with its own
/// types, as every interpreter: `class`); set it up like any other.
fn prepare_main(py: Python<'_>) -> PyResult<()> {
    interp::set_main(py)?;
    // Import threading on this (the process's main) thread so that
    // threading's idea of the main thread is the one that will finalise
    // Python; otherwise threading._shutdown() at exit waits forever for a
    // worker thread's state (mod_wsgi does the same).
    py.import("threading")?;
    setup_interpreter(py, "")
}

/// Sets up the current interpreter for application group `group`: log
/// streams as `sys.stdout`/`sys.stderr`, the restrictions, the switch
/// interval and the `sys.path` entries (each as the `<WSGIInterpreterOptions>`
/// sections matching this process and group resolve them, over the
/// top-level directives), then the `mod_wsgi` and `apache` modules.
pub fn setup_interpreter(py: Python<'_>, group: &str) -> PyResult<()> {
    let Some((settings, info, extension)) = SETUP.get() else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Python settings missing",
        ));
    };
    let scoped = resolve(&settings.interpreter_options, &info.process_group, group);
    let sys = py.import("sys")?;
    let server_log = || {
        let stream = logstream::LogStream::new(logstream::Sink::Server, Level::Err);
        logstream::text_wrapper(py, stream)
    };
    let stdout = server_log()?;
    let stderr = server_log()?;
    sys.setattr("stdout", stdout)?;
    sys.setattr("stderr", stderr)?;
    // A daemon without worker threads runs a service script, which may
    // install signal handlers (as mod_wsgi, whatever the sections say).
    let service = !info.process_group.is_empty() && info.threads_per_process == 0;
    super::restrict::install(
        py,
        scoped
            .restrict_stdin
            .or(settings.restrict_stdin)
            .unwrap_or(false),
        scoped
            .restrict_stdout
            .or(settings.restrict_stdout)
            .unwrap_or(false),
        !service
            && scoped
                .restrict_signal
                .or(settings.restrict_signal)
                .unwrap_or(true),
    )?;
    if let Some((seconds, app_scoped)) = scoped.switch_interval {
        scoped_switch_interval(py, group, seconds, app_scoped && !own_gil(group))?;
    }
    // site.addsitedir() so .pth files are honoured, then the new entries
    // moved to the front of sys.path, as mod_wsgi does: the base path first,
    // then each section's layer (the most specific ends up first).
    add_site_dirs(py, &settings.path)?;
    for layer in &scoped.python_path_layers {
        add_site_dirs(py, layer)?;
    }
    if let Some(dir) = &settings.front_dir {
        sys.getattr("path")?.call_method1("insert", (0, dir))?;
    }
    // After the python-path: a `mod_wsgi` package installed there (a venv's
    // site-packages given as python-path) is found too.
    modules::install(py, info, group, extension.module_attrs)
}

/// `site.addsitedir()` for each of `dirs`, then the entries that added put
/// at the front of `sys.path`, in order.
fn add_site_dirs(py: Python<'_>, dirs: &[String]) -> PyResult<()> {
    if dirs.is_empty() {
        return Ok(());
    }
    let sys = py.import("sys")?;
    let site = py.import("site")?;
    let path = sys.getattr("path")?;
    let before: Vec<String> = path.extract()?;
    for dir in dirs {
        site.call_method1("addsitedir", (dir,))?;
    }
    let after: Vec<String> = path.extract()?;
    let (added, rest): (Vec<String>, Vec<String>) =
        after.into_iter().partition(|p| !before.contains(p));
    let new_path: Vec<String> = added.into_iter().chain(rest).collect();
    sys.setattr("path", new_path)
}

/// Whether the interpreter of `group` gets its own GIL: `WSGIPerInterpreterGIL`
/// as the `<WSGIInterpreterOptions>` sections matching this process and
/// group resolve it, over the top-level directive; never the main
/// interpreter, and only on a build for Python 3.12 or later.
pub fn own_gil(group: &str) -> bool {
    let Some((settings, info, _)) = SETUP.get() else {
        return false;
    };
    let scoped = resolve(&settings.interpreter_options, &info.process_group, group);
    cfg!(mod_wsgi_own_gil)
        && !group.is_empty()
        && scoped
            .per_interpreter_gil
            .or(settings.per_interpreter_gil)
            .unwrap_or(false)
}

/// A section's `WSGISwitchInterval` for the interpreter of `group`. The
/// switch interval is process-wide under a shared GIL, so a section
/// selected by `application-group=` (`app_scoped`, false for an
/// interpreter with its own GIL, whose switch interval is its own) only
/// sets it from the main interpreter; for a sub-interpreter sharing the
/// main GIL it is skipped with mod_wsgi's warning.
fn scoped_switch_interval(
    py: Python<'_>,
    group: &str,
    seconds: f64,
    app_scoped: bool,
) -> PyResult<()> {
    let pid = std::process::id();
    if app_scoped && !group.is_empty() {
        crate::apache::log::server(
            Level::Warning,
            None,
            &format!(
                "{SWITCH_INTERVAL_SKIPPED} Skipping per-interpreter switch interval {seconds:.6}s \
                 for application group '{group}' in process {pid}: setting it would mutate the \
                 process-global value because this interpreter does not have its own GIL."
            ),
        );
        return Ok(());
    }
    set_switch_interval(py, Some(seconds))?;
    crate::apache::log::server(
        Level::Info,
        None,
        &format!(
            "{SWITCH_INTERVAL_SET} Set switch interval {seconds:.6}s for application group \
             '{group}' in process {pid}."
        ),
    );
    Ok(())
}

/// Whether Python was initialised in this process.
pub fn is_initialized() -> bool {
    !MAIN_TSTATE.load(Ordering::Acquire).is_null()
}

/// Finalises Python at process exit (when `WSGIDestroyInterpreter On`):
/// runs `atexit` handlers and waits for non-daemon threads.
///
/// Skipped when a thread is still inside Python, or waiting for the GIL to
/// enter it (`tstate::active`, whose comment says what exactly is counted):
/// under prefork, SIGTERM runs Apache's child exit (and so this cleanup)
/// from the signal handler, possibly while this very thread is in the
/// middle of a request holding, or waiting for, the GIL; finalising then
/// would deadlock the child.
pub fn finalize() {
    if super::tstate::active() > 0 {
        crate::apache::log::server(
            Level::Info,
            None,
            &format!(
                "{FINALISATION_SKIPPED} process {} exiting while Python code is running; skipping interpreter finalisation",
                std::process::id()
            ),
        );
        return;
    }
    let ts = MAIN_TSTATE.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !ts.is_null() {
        interp::finalize_all(ts);
    }
}
