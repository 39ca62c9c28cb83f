//! One call of an auth script's function, as mod_wsgi makes it: in the
//! Apache child, in the interpreter of the script's application group (the
//! main one by default), the script loaded as a module like a WSGI script
//! (`python::script`, reloaded when its file changed and
//! `WSGIScriptReloading` is on), the function called with the auth environ
//! and its arguments. An exception is logged with its traceback; a missing
//! function or a result of the wrong kind is logged with mod_wsgi's words.
//! The log lines are written after the interpreter is left (the GIL is not
//! held while Apache writes them).

use super::environ::{self, HookLog};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{AUTH_NO_FUNCTION, AUTH_NO_INTERPRETER, AUTH_SCRIPT_FAILED};
use crate::apache::request::Request;
use crate::config::auth::AuthScript;
use crate::handler::{cgi, group};
use crate::python::{interp, script};
use crate::wsgi::environ::latin1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// What a script's function is asked, and how its answer is read.
pub struct Call<'a> {
    pub script: &'a AuthScript,
    /// The function's name (`check_password`, ...).
    pub function: &'static str,
    /// mod_wsgi's message when the script lacks it (`{script}` is replaced).
    pub missing: &'static str,
    /// `WSGIScriptReloading` where the request is.
    pub reloading: bool,
}

/// How a result was read: `Ok(Some(v))` a decision, `Ok(None)` a value of
/// the wrong kind (the reader returns the line to log), `Err` an exception.
pub type Reading<T> = PyResult<Result<T, String>>;

fn mtime(path: &str) -> Option<f64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
}

/// Runs the call; `None` when it failed (already logged). `args` are the
/// arguments after the environ, passed as latin-1 `str` (`None` for None);
/// `read` interprets the result.
pub fn run<T>(
    r: &Request<'_>,
    call: &Call<'_>,
    args: &[Option<&[u8]>],
    read: impl FnOnce(&Bound<'_, PyAny>) -> Reading<T>,
) -> Option<T> {
    let path = call.script.script.as_str();
    let app_group = group::server_group(r, call.script.application_group.as_deref());
    let it = match interp::for_group(&app_group) {
        Ok(it) => it,
        Err(e) => {
            let name = if app_group.is_empty() {
                "interpreter of %{GLOBAL}".to_string()
            } else {
                format!("interpreter '{app_group}'")
            };
            log::request(
                Level::Err,
                r,
                &format!("{AUTH_NO_INTERPRETER} Unable to acquire {name} for the auth hook: {e}"),
            );
            return None;
        }
    };
    let data = cgi::collect_auth(r, &app_group);
    let hook_log = HookLog::new(r);
    let reload = call.reloading.then(|| mtime(path)).flatten();
    let (value, lines) = interp::run(it, |py| {
        let mut lines = Vec::new();
        let outcome = (|| -> PyResult<Option<T>> {
            let module = script::load(py, path, reload, None)?;
            let Ok(Some(function)) = module.getattr_opt(call.function) else {
                lines.push(format!(
                    "{AUTH_NO_FUNCTION} {}",
                    call.missing.replace("{script}", path)
                ));
                return Ok(None);
            };
            let env: Bound<'_, PyDict> = environ::build(py, &data, &hook_log)?;
            let mut all = vec![env.into_any()];
            for a in args {
                all.push(match a {
                    Some(b) => latin1(py, b)?,
                    None => py.None().into_bound(py),
                });
            }
            let result = function.call1(PyTuple::new(py, all)?)?;
            match read(&result)? {
                Ok(v) => Ok(Some(v)),
                Err(line) => {
                    lines.push(line);
                    Ok(None)
                }
            }
        })();
        let value = outcome.unwrap_or_else(|e| {
            lines.push(format!(
                "{AUTH_SCRIPT_FAILED} Exception occurred processing WSGI script '{path}'."
            ));
            lines.extend(crate::python::format_exception(py, &e));
            crate::python::discard(py, e);
            None
        });
        (value, lines)
    });
    hook_log.expire();
    for l in &lines {
        log::request(Level::Err, r, l);
    }
    value
}
