//! One WSGI request from start to end, for any host: pick the application
//! group's interpreter, load (or reload) the script, build the environ with
//! `wsgi.input`/`wsgi.errors` bound to the host, call the application and
//! expire the exchange. Embedded mode and daemon workers both call [`run`];
//! they differ only in the [`Host`] they pass and how they report the result.
//! Called without the GIL.

use super::environ::{self, EnvironData};
use super::host::{Exchange, Host};
use super::input::Input;
use super::metered::Metered;
use super::response::Response;
use super::{Outcome, app, events};
use crate::apache::log::Level;
use crate::apache::log_ids::{
    CLIENT_CLOSED, ENVIRON_FAILED, NOT_ISOLATED_EXTENSION, SCRIPT_LOAD_FAILED,
};
use crate::metrics;
use crate::python::logstream::Sink;
use crate::python::request_errors::RequestErrors;
use crate::python::{interp, script};
use pyo3::prelude::*;
use std::sync::Arc;

/// What to run.
pub struct Target<'a> {
    /// The WSGI script file.
    pub script: &'a str,
    pub callable: &'a str,
    pub application_group: &'a str,
    /// The script's modification time (seconds) when script reloading is on.
    pub reload_mtime: Option<f64>,
    /// With reloading on: the resource requested, passed to the script's
    /// optional `reload_required(resource)` (mod_wsgi's handler-script hook).
    pub resource: Option<&'a str>,
}

/// How the request ended, for the host to turn into a status.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The application produced its response (possibly a truncated one that
    /// the host has already aborted).
    Responded(Outcome),
    /// The application could not be run (interpreter, script load or environ
    /// failure, already logged): answer 500.
    NotRun,
}

/// Runs one request through the WSGI core.
pub fn run(target: &Target<'_>, env: &EnvironData, host: Box<dyn Host>) -> Ended {
    let (mut meter, host) = metered(env, host);
    let exchange = Arc::new(Exchange::new(host));
    let interp = match interp::for_group(target.application_group) {
        Ok(i) => i,
        Err(e) => {
            let line = format!("{} {e}", e.log_id());
            let _ = exchange.with_host(|h| h.log(Level::Err, &line));
            exchange.expire();
            return Ended::NotRun;
        }
    };
    let waiting = std::time::Instant::now();
    let ended = interp::run(interp, |py| {
        if let Some(m) = meter.as_mut() {
            m.gil_waited(waiting.elapsed());
        }
        call(py, target, env, &exchange)
    });
    // Accounted before the last bytes leave, so that a client that has
    // the response sees its request in the process's metrics.
    drop(meter);
    // Out of Python (GIL released): send what the host buffered.
    let _ = exchange.with_host(|h| {
        if let Err(e) = h.finish() {
            h.log(
                Level::Info,
                &format!("{CLIENT_CLOSED} could not complete the response: {e}"),
            );
        }
    });
    exchange.expire();
    ended
}

/// Reports the request to this process's metrics (ended when the meter
/// drops, in [`run`] before the buffered response is sent); while they are recorded, `host` is
/// wrapped to count what the request reads and writes.
fn metered(
    env: &EnvironData,
    host: Box<dyn Host>,
) -> (Option<metrics::RequestMeter>, Box<dyn Host>) {
    let time = |key: &str| {
        env.times
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0.0, |(_, v)| *v)
    };
    let thread_id = env
        .ints
        .iter()
        .find(|(k, _)| *k == "mod_wsgi.thread_id")
        .map_or(0, |(_, v)| *v);
    let meter = metrics::begin(
        thread_id,
        metrics::Times {
            request_start: time("mod_wsgi.request_start"),
            queue_start: time("mod_wsgi.queue_start"),
            daemon_start: time("mod_wsgi.daemon_start"),
            application_start: time("mod_wsgi.application_start"),
        },
        metrics::wants_who().map(|agent| who(env, agent)),
    );
    match meter.as_ref().and_then(|m| m.io()) {
        Some(io) => (meter, Box::new(Metered::new(host, io))),
        None => (meter, host),
    }
}

/// Who made the request, for a slow-request record.
fn who(env: &EnvironData, user_agent: bool) -> metrics::Who {
    let text = |key: &str| {
        env.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let hostname = match text("HTTP_HOST") {
        h if h.is_empty() => text("SERVER_NAME"),
        h => h,
    };
    metrics::Who {
        log_id: text("mod_wsgi.request_id"),
        server_pid: text("mod_wsgi.server_pid").parse().unwrap_or(0),
        method: text("REQUEST_METHOD"),
        scheme: env.url_scheme.clone(),
        hostname,
        script_name: text("SCRIPT_NAME"),
        path_info: text("PATH_INFO"),
        protocol: text("SERVER_PROTOCOL"),
        peer_ip: text("REMOTE_ADDR"),
        user_agent: if user_agent {
            text("HTTP_USER_AGENT")
        } else {
            String::new()
        },
    }
}

fn log_failure(
    py: Python<'_>,
    exchange: &Exchange,
    first: String,
    err: &PyErr,
    last: Option<String>,
) {
    let mut lines = vec![first];
    lines.extend(crate::python::format_exception(py, err));
    lines.extend(last);
    app::log_lines(py, exchange, Level::Err, &lines);
}

/// A line naming the application group when `err` is CPython's refusal to
/// load an extension module without isolated-interpreter support into an
/// interpreter with its own GIL (`WSGIPerInterpreterGIL On`).
fn not_isolated(py: Python<'_>, err: &PyErr, group: &str) -> Option<String> {
    const REFUSAL: &str = "does not support loading in subinterpreters";
    let mut cause = Some(err.value(py).clone().into_any());
    while let Some(e) = cause {
        if e.is_instance_of::<pyo3::exceptions::PyImportError>()
            && e.str().is_ok_and(|s| s.to_string_lossy().contains(REFUSAL))
        {
            return Some(format!(
                "{NOT_ISOLATED_EXTENSION} application group '{group}' in process {} has its own \
                 GIL (WSGIPerInterpreterGIL On) and imported an extension module that does not \
                 support isolated sub-interpreters: run it in a group that shares the main GIL \
                 (WSGIPerInterpreterGIL Off for this group) or in %{{GLOBAL}}",
                std::process::id()
            ));
        }
        cause = e.getattr("__context__").ok().filter(|c| !c.is_none());
    }
    None
}

/// The request, inside its events scope (which starts before the script is
/// loaded, so that a script loaded by this request sees it as mod_wsgi's
/// does: `request_data()` works at import).
fn call(py: Python<'_>, target: &Target<'_>, env: &EnvironData, exchange: &Arc<Exchange>) -> Ended {
    let mut events = events::RequestEvents::enter(py, env, exchange);
    let errors = RequestErrors::bind(py, Sink::Request(exchange.clone()));
    let (ended, done) = call_in_scope(py, target, env, exchange, &mut events, &errors);
    events.finish(py, env, done.as_ref());
    if let Ok(errors) = errors {
        errors.release(py);
    }
    ended
}

fn call_in_scope(
    py: Python<'_>,
    target: &Target<'_>,
    env: &EnvironData,
    exchange: &Arc<Exchange>,
    events: &mut events::RequestEvents,
    errors: &PyResult<RequestErrors>,
) -> (Ended, Option<events::Finished>) {
    let script = target.script;
    crate::python::interrupt::clear_pending(py);
    let loaded = script::load(py, script, target.reload_mtime, target.resource)
        .and_then(|m| script::callable(&m, target.callable, script));
    let application = match loaded {
        Ok(a) => a,
        Err(e) => {
            log_failure(
                py,
                exchange,
                format!("{SCRIPT_LOAD_FAILED} Failed to exec Python script file '{script}'."),
                &e,
                Some(format!(
                    "Exception occurred processing WSGI script '{script}'."
                )),
            );
            if let Some(hint) = not_isolated(py, &e, target.application_group) {
                app::log_lines(py, exchange, Level::Err, &[hint]);
            }
            return (Ended::NotRun, None);
        }
    };
    let built = (|| -> PyResult<_> {
        let length = env
            .get("CONTENT_LENGTH")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let input =
            crate::python::class::new(py, Input::new(exchange.clone()).with_length(length))?;
        let errors = match errors {
            Ok(e) => e.wrapper(py),
            Err(e) => return Err(e.clone_ref(py)),
        };
        let types = crate::python::class::Types::current(py)?;
        let file_wrapper = types
            .class(py, crate::python::class::ClassId::FileWrapper)
            .into_any();
        let environ = environ::build(py, env, input.clone(), errors, Some(file_wrapper))?;
        Ok((environ, input))
    })();
    let (environ, input) = match built {
        Ok(e) => e,
        Err(e) => {
            log_failure(
                py,
                exchange,
                format!("{ENVIRON_FAILED} Failed to build the WSGI environ."),
                &e,
                None,
            );
            return (Ended::NotRun, None);
        }
    };
    let application = events.started(py, env, &environ, application, target.callable);
    let response = Arc::new(Response::new(exchange.clone()));
    let outcome = app::call_application(py, &application, &environ, &response, script);
    let done = events::Finished {
        outcome_status: events::status_of(&outcome, response.status()),
        input: super::input::stats_of(&input),
        output: response.stats(),
    };
    (Ended::Responded(outcome), Some(done))
}
