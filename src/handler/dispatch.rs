//! `WSGIDispatchScript`, run by the handler in the Apache child before it
//! picks the request's targets, as mod_wsgi's `wsgi_execute_dispatch`: the
//! script is loaded (and, with script reloading on, reloaded when changed)
//! as the module mod_wsgi names it, in the interpreter of its
//! `application-group=` (`%{GLOBAL}` by default), and its optional
//! `process_group(environ)`, `application_group(environ)` and
//! `callable_object(environ)` are called in that order. Each may return
//! None (keep the configured value) or a `bytes`/latin-1 `str` that replaces
//! it, expanded as a configured value is, `%{ENV:VAR}` also finding the
//! request's CGI variables (`handler::group::returned`). The environ is
//! mod_wsgi's dispatch environ: the request's CGI and `mod_wsgi.*`
//! variables with `mod_wsgi.process_group` "", `mod_wsgi.application_group`
//! the dispatch group and no `mod_wsgi.callable_object`, plus `wsgi.errors`
//! (and `apache.request_rec` with `WSGIPassApacheRequest On`). An exception
//! or a value of another type is logged with its traceback and the request
//! gets 500; a script that cannot be loaded is logged and the configured
//! values are kept, as mod_wsgi does. Called without the GIL.

use super::group;
use super::host::ApacheHost;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{DISPATCH_FAILED, DISPATCH_INTERPRETER, DISPATCH_LOAD_FAILED};
use crate::apache::request::Request;
use crate::apache::sys;
use crate::config::DirConfig;
use crate::config::dispatch::DispatchScript;
use crate::python::logstream::{LogStream, Sink, text_wrapper};
use crate::python::{init, interp, script};
use crate::wsgi::environ::{EnvironData, fs_decode, latin1};
use crate::wsgi::host::Exchange;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule, PyString};
use std::ffi::c_int;
use std::sync::Arc;

/// The values the script chose, already expanded (`None`: keep the configured one).
#[derive(Debug, Default)]
pub struct Chosen {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
}

/// The three hooks, in mod_wsgi's order, with the TypeError text for a
/// value that is neither None, bytes nor str.
const HOOKS: [(&str, &str, &str); 3] = [
    (
        "process_group",
        "Process group",
        "Process group must be a byte string",
    ),
    (
        "application_group",
        "Application group",
        "Application group must be a string object",
    ),
    (
        "callable_object",
        "Callable object",
        "Callable object must be a string object",
    ),
];

/// What running the script gave, before expansion.
enum Ran {
    /// The raw values returned (latin-1 bytes), by hook.
    Values([Option<Vec<u8>>; 3]),
    /// The script could not be loaded: logged, nothing changes.
    NotLoaded(Vec<String>),
    /// A hook raised or returned a bad value: logged, 500.
    Failed(Vec<String>),
}

/// Runs the dispatch script for request `r`. `env` is the request's
/// environ data as the handler collected it; Err is the status to answer.
pub fn run(
    r: &Request<'_>,
    ds: &DispatchScript,
    dir: &DirConfig,
    env: EnvironData,
) -> Result<Chosen, c_int> {
    let group = group::server_group(r, ds.application_group.as_deref());
    let interp = if init::is_initialized() {
        interp::for_group(&group).map_err(|e| e.to_string())
    } else {
        Err("Python was not initialised in this process".to_string())
    };
    let interp = match interp {
        Ok(i) => i,
        Err(why) => {
            log::request(
                Level::Err,
                r,
                &format!(
                    "{DISPATCH_INTERPRETER} Unable to acquire interpreter '{group}' for dispatch hook: {why}."
                ),
            );
            return Err(sys::HTTP_INTERNAL_SERVER_ERROR as c_int);
        }
    };
    let env = dispatch_environ(r, dir, env, &group);
    let mtime = dir
        .script_reloading()
        .then(|| super::file_mtime(&ds.script))
        .flatten();
    // SAFETY: the request outlives the exchange, expired below before
    // this function returns.
    let host = ApacheHost::new(unsafe { r.unbounded() });
    let exchange = Arc::new(Exchange::new(Box::new(host)));
    let request_rec = (dir.pass_apache_request == Some(true)).then(|| r.as_ptr() as usize);
    let ran = interp::run(interp, |py| {
        let module = match script::load(py, &ds.script, mtime, None) {
            Ok(m) => m,
            Err(e) => return Ran::NotLoaded(crate::python::format_exception(py, &e)),
        };
        match call_hooks(py, &module, &env, &exchange, request_rec) {
            Ok(values) => Ran::Values(values),
            Err(e) => Ran::Failed(crate::python::format_exception(py, &e)),
        }
    });
    exchange.expire();
    let script = &ds.script;
    match ran {
        Ran::Values(values) => Ok(expand(r, &env, values)),
        Ran::NotLoaded(lines) => {
            log_lines(
                r,
                format!(
                    "{DISPATCH_LOAD_FAILED} Failed to exec WSGI dispatch script '{script}'; \
                     the configured groups and callable are kept."
                ),
                lines,
            );
            Ok(Chosen::default())
        }
        Ran::Failed(lines) => {
            log_lines(
                r,
                format!(
                    "{DISPATCH_FAILED} Exception occurred processing WSGI dispatch script '{script}'."
                ),
                lines,
            );
            Err(sys::HTTP_INTERNAL_SERVER_ERROR as c_int)
        }
    }
}

fn log_lines(r: &Request<'_>, first: String, lines: Vec<String>) {
    log::request(Level::Err, r, &first);
    for l in lines {
        log::request(Level::Err, r, &l);
    }
}

/// mod_wsgi's dispatch environ from the handler's environ data.
fn dispatch_environ(
    r: &Request<'_>,
    dir: &DirConfig,
    mut env: EnvironData,
    group: &str,
) -> EnvironData {
    env.set("mod_wsgi.process_group", "");
    env.set("mod_wsgi.application_group", group);
    env.remove("mod_wsgi.callable_object");
    if env.url_scheme == "https" {
        env.set("HTTPS", "1");
    }
    let flag = |on: bool| if on { "1" } else { "0" };
    env.set("mod_wsgi.x-script_reloading", flag(dir.script_reloading()));
    env.set(
        "mod_wsgi.x-enable_sendfile",
        flag(dir.enable_sendfile == Some(true)),
    );
    env.set(
        "mod_wsgi.x-ignore_activity",
        flag(dir.ignore_activity == Some(true)),
    );
    env.set("mod_wsgi.x-request_start_us", r.request_time().to_string());
    env
}

/// Builds the environ dict and calls the hooks the module defines.
fn call_hooks(
    py: Python<'_>,
    module: &Bound<'_, PyAny>,
    env: &EnvironData,
    exchange: &Arc<Exchange>,
    request_rec: Option<usize>,
) -> PyResult<[Option<Vec<u8>>; 3]> {
    let errors = text_wrapper(
        py,
        LogStream::new(Sink::Request(exchange.clone()), Level::Err),
    )?;
    let environ = PyDict::new(py);
    for (k, v) in env.vars.iter() {
        let value = if k == "DOCUMENT_ROOT" || k == "SCRIPT_FILENAME" {
            fs_decode(py, v)?
        } else {
            latin1(py, v)?
        };
        environ.set_item(PyString::new(py, k), value)?;
    }
    environ.set_item("wsgi.errors", &errors)?;
    if let Some(addr) = request_rec {
        environ.set_item(
            "apache.request_rec",
            crate::wsgi::environ::request_capsule(py, addr)?,
        )?;
    }
    let mut values: [Option<Vec<u8>>; 3] = Default::default();
    let result = (|| -> PyResult<()> {
        let dict = module.cast::<PyModule>()?.dict();
        for (i, (name, what, type_error)) in HOOKS.iter().enumerate() {
            let Some(hook) = dict.get_item(name)? else {
                continue;
            };
            values[i] = value_of(py, &hook.call1((&environ,))?, what, type_error)?;
        }
        Ok(())
    })();
    // As mod_wsgi: the log is closed (flushed) once the hooks have run.
    let closed = errors.call_method0("close");
    result?;
    closed?;
    Ok(values)
}

/// A hook's return value as bytes (`None` keeps the configured value).
fn value_of(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    what: &str,
    type_error: &str,
) -> PyResult<Option<Vec<u8>>> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes().to_vec()));
    }
    let Ok(s) = value.cast::<PyString>() else {
        return Err(PyTypeError::new_err(type_error.to_string()));
    };
    match s.call_method1("encode", ("latin-1",)) {
        Ok(b) => Ok(Some(b.cast::<PyBytes>()?.as_bytes().to_vec())),
        Err(cause) => {
            let e = PyTypeError::new_err(format!(
                "{what} must be a byte string, value containing non 'latin-1' characters found"
            ));
            e.set_cause(py, Some(cause));
            Err(e)
        }
    }
}

/// The returned values, expanded (`handler::group::returned`).
fn expand(r: &Request<'_>, env: &EnvironData, values: [Option<Vec<u8>>; 3]) -> Chosen {
    let values = values.map(|v| v.map(|b| String::from_utf8_lossy(&b).into_owned()));
    let [process_group, application_group, callable_object] = group::returned(r, env, values);
    Chosen {
        process_group,
        application_group,
        callable_object,
    }
}
