//! Calling the WSGI application: `app(environ, start_response)`, iterating
//! the result (each yielded chunk flushed, lists written then flushed once),
//! calling `close()` exactly once whatever happens, and turning failures
//! into an [`Outcome`] the host maps to a status: an exception before the
//! head was sent becomes a 500; after it, the connection is aborted so the
//! client never takes a truncated body for a complete one.
//! Runs with the GIL held; I/O goes through `Response`, which releases it.

use super::host::Exchange;
use super::response::Response;
use super::start_response::StartResponse;
use crate::apache::log::Level;
use crate::apache::log_ids::{
    APP_EXCEPTION, CLIENT_CLOSED, CONTENT_LENGTH_SHORT, REQUEST_INTERRUPTED,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use std::sync::Arc;

/// How the application call ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response was produced in full.
    Completed,
    /// It failed before the head was sent: the host answers 500.
    FailedBeforeHead,
    /// It failed after the head was sent: the connection has been aborted.
    FailedAfterHead,
    /// `mod_wsgi.RequestTimeout` (interrupt-timeout) unwound it before the
    /// head was sent: the host answers 504.
    TimedOut,
}

/// Logs lines through the request's host, releasing the GIL.
pub fn log_lines(py: Python<'_>, exchange: &Exchange, level: Level, lines: &[String]) {
    py.detach(|| {
        let _ = exchange.with_host(|h| {
            for line in lines {
                h.log(level, line);
            }
        });
    });
}

/// mod_wsgi 6's first line for an application's exception (its WSGI0174
/// and, for SystemExit, WSGI0175 words), naming the application group
/// and process.
fn exception_header(py: Python<'_>, err: &PyErr, label: &str) -> String {
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let group = py
        .import("mod_wsgi")
        .and_then(|m| m.getattr("application_group"))
        .and_then(|g| g.extract::<String>())
        .unwrap_or_default();
    let context = format!(
        "application group '{group}' of process {}",
        std::process::id()
    );
    if kind == "SystemExit" {
        format!(
            "{APP_EXCEPTION} SystemExit exception raised by WSGI script '{label}' for {context}; \
             ignored."
        )
    } else {
        format!(
            "{APP_EXCEPTION} {kind} exception raised processing WSGI script '{label}' for \
             {context}."
        )
    }
}

fn log_exception(py: Python<'_>, exchange: &Exchange, err: &PyErr, context: &str) {
    let mut lines = vec![context.to_string()];
    lines.extend(crate::python::format_exception(py, err));
    log_lines(py, exchange, Level::Err, &lines);
}

fn write_chunk(
    py: Python<'_>,
    response: &Response,
    item: &Bound<'_, PyAny>,
    flush: bool,
) -> PyResult<()> {
    let bytes = item.cast::<PyBytes>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "sequence of byte string values expected, value of type {} found",
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    response.write(py, bytes.as_bytes(), flush, false)
}

/// Iterates `result`, writing each chunk.
fn consume(py: Python<'_>, response: &Response, result: &Bound<'_, PyAny>) -> PyResult<()> {
    if super::file_wrapper::send(py, response, result)? {
        return Ok(());
    }
    let is_sequence =
        result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
    if is_sequence {
        let items: Vec<Bound<'_, PyAny>> = result.try_iter()?.collect::<PyResult<_>>()?;
        if let [only] = items.as_slice() {
            // A single-chunk body: let the client know its length (keep-alive
            // without chunked encoding), as mod_wsgi does.
            if let Ok(b) = only.cast::<PyBytes>() {
                response.default_content_length(b.as_bytes().len() as u64);
            }
        }
        for item in &items {
            write_chunk(py, response, item, false)?;
        }
    } else {
        for item in result.try_iter()? {
            write_chunk(py, response, &item?, true)?;
        }
    }
    // Empty body (or only empty chunks): the head still has to go out.
    response.write(py, b"", false, true)
}

/// Runs `app` for one request. `label` names the script in log lines.
pub fn call_application(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    response: &Arc<Response>,
    label: &str,
) -> Outcome {
    let exchange = response.exchange();
    let start_response = match crate::python::class::new(py, StartResponse::new(response.clone())) {
        Ok(sr) => sr,
        Err(e) => {
            log_exception(py, exchange, &e, "Failed to create start_response.");
            return Outcome::FailedBeforeHead;
        }
    };
    let failure = call_and_close(py, app, environ, start_response, response, label);
    outcome(py, response, failure, label)
}

/// Calls the application, consumes its iterable and calls its `close()`:
/// the first failure (a later one in `close()` is logged).
fn call_and_close(
    py: Python<'_>,
    app: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyDict>,
    start_response: Bound<'_, PyAny>,
    response: &Arc<Response>,
    label: &str,
) -> Option<PyErr> {
    let exchange = response.exchange();
    let mut failure: Option<PyErr> = None;
    match app.call1((environ, start_response)) {
        Ok(result) => {
            if let Err(e) = consume(py, response, &result) {
                failure = Some(e);
            }
            // Lists and tuples have no close(); look it up on anything else
            // without raising AttributeError.
            let plain =
                result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
            let close = if plain {
                None
            } else {
                result.getattr_opt("close").ok().flatten()
            };
            if let Some(close) = close {
                if let Err(e) = close.call0() {
                    if failure.is_none() {
                        failure = Some(e);
                    } else {
                        log_exception(
                            py,
                            exchange,
                            &e,
                            &format!(
                                "Exception occurred in close() of the response of WSGI script '{label}'."
                            ),
                        );
                    }
                }
            }
        }
        Err(e) => failure = Some(e),
    }
    failure
}

/// The request's outcome once the application is done: a body shorter than
/// its Content-Length (unless HEAD) or a failure after the head aborts the
/// connection; failures are logged.
fn outcome(
    py: Python<'_>,
    response: &Arc<Response>,
    failure: Option<PyErr>,
    label: &str,
) -> Outcome {
    let exchange = response.exchange();
    let sent = response.head_sent();
    match failure {
        None => {
            // Ask the host about HEAD only when the body fell short: it costs
            // a GIL hand-off, which every request would otherwise pay.
            let short = response.shortfall().filter(|_| {
                !py.detach(|| exchange.with_host(|h| h.head_only()))
                    .unwrap_or(false)
            });
            if let Some((declared, written)) = short {
                log_lines(
                    py,
                    exchange,
                    Level::Err,
                    &[format!(
                        "{CONTENT_LENGTH_SHORT} WSGI script '{label}' declared Content-Length {declared} \
                         but returned only {written} bytes; closing the connection"
                    )],
                );
                py.detach(|| exchange.with_host(|h| h.abort())).ok();
                return Outcome::FailedAfterHead;
            }
            Outcome::Completed
        }
        Some(e) if crate::python::interrupt::is_request_timeout(py, &e) => {
            // mod_wsgi's words; the thread is free again.
            let (line, outcome) = if sent {
                py.detach(|| exchange.with_host(|h| h.abort())).ok();
                let line =
                    "Request interrupted by RequestTimeout after headers sent; response truncated.";
                (line, Outcome::FailedAfterHead)
            } else {
                let line = "Request interrupted by RequestTimeout; thread recovered.";
                (line, Outcome::TimedOut)
            };
            let line = format!("{REQUEST_INTERRUPTED} {line} (WSGI script '{label}')");
            log_lines(py, exchange, Level::Info, &[line]);
            outcome
        }
        Some(e) => {
            let client_gone = py
                .detach(|| exchange.with_host(|h| h.client_gone()))
                .unwrap_or(false);
            if client_gone {
                // Described through `py`: a PyErr's Display would attach.
                let what = crate::python::describe(py, &e);
                log_lines(
                    py,
                    exchange,
                    Level::Info,
                    &[format!(
                        "{CLIENT_CLOSED} client closed the connection during WSGI script '{label}': {what}"
                    )],
                );
            } else {
                log_exception(py, exchange, &e, &exception_header(py, &e, label));
                super::events::request_exception(py, &e);
            }
            if sent {
                py.detach(|| exchange.with_host(|h| h.abort())).ok();
                Outcome::FailedAfterHead
            } else {
                Outcome::FailedBeforeHead
            }
        }
    }
}
