//! `start_response(status, headers, exc_info=None)` and the `write(data)`
//! callable it returns (PEP 3333). Status and headers are validated here,
//! with messages that name the offending value, before anything reaches
//! Apache: CR, LF or NUL in a header could otherwise split the response.

use super::host::Head;
use super::response::Response;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::sync::Arc;

/// PEP 3333 forbids applications to send these (the server owns the
/// connection); wsgiref.validate rejects them too.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// A status or header the application passed to `start_response` that
/// cannot be sent (raised to it as `ValueError` with this message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error(
        "invalid status '{status}': expected three digits, a space and a reason phrase, e.g. '200 OK'"
    )]
    StatusForm { status: String },
    #[error("control character in status reason phrase: {status:?}")]
    StatusControl { status: String },
    #[error("invalid status '{status}'")]
    StatusNotNumber { status: String },
    #[error("invalid status code {code} in '{status}'")]
    StatusCode { code: u16, status: String },
    #[error("response header name is empty")]
    EmptyHeaderName,
    #[error("control, space or ':' character in response header name: {name:?}")]
    HeaderName { name: String },
    #[error("carriage return, line feed or NUL in value of response header {name:?}: {value:?}")]
    HeaderValue { name: String, value: String },
    #[error("response header {name:?} contains {c:?}, which is not latin-1 (ISO-8859-1)")]
    NotLatin1 { name: String, c: char },
    #[error("hop-by-hop header {name:?} not allowed in a WSGI response (PEP 3333)")]
    HopByHop { name: String },
}

/// Parses and validates a WSGI status string ("200 OK").
pub fn parse_status(status: &str) -> Result<u16, ResponseError> {
    let bytes = status.as_bytes();
    if bytes.len() < 3
        || !bytes[..3].iter().all(u8::is_ascii_digit)
        || (bytes.len() > 3 && bytes[3] != b' ')
    {
        return Err(ResponseError::StatusForm {
            status: status.to_string(),
        });
    }
    if bytes.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(ResponseError::StatusControl {
            status: status.to_string(),
        });
    }
    let code: u16 = status[..3]
        .parse()
        .map_err(|_| ResponseError::StatusNotNumber {
            status: status.to_string(),
        })?;
    if !(100..=999).contains(&code) {
        return Err(ResponseError::StatusCode {
            code,
            status: status.to_string(),
        });
    }
    Ok(code)
}

/// Validates one header name and value: mod_wsgi's rules (no empty name,
/// no control or space character in a name, no CR, LF or NUL in a value,
/// latin-1 only) plus PEP 3333's ban on hop-by-hop headers and on ':' in
/// a name.
pub fn check_header(name: &str, value: &str) -> Result<(), ResponseError> {
    if name.is_empty() {
        return Err(ResponseError::EmptyHeaderName);
    }
    if name.chars().any(|c| c.is_control() || c == ' ' || c == ':') {
        return Err(ResponseError::HeaderName {
            name: name.to_string(),
        });
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(ResponseError::HeaderValue {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    if let Some(c) = name.chars().chain(value.chars()).find(|&c| c as u32 > 0xff) {
        return Err(ResponseError::NotLatin1 {
            name: name.to_string(),
            c,
        });
    }
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(ResponseError::HopByHop {
            name: name.to_string(),
        });
    }
    Ok(())
}

fn extract_str(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.to_string());
    }
    Err(PyTypeError::new_err(format!(
        "expected str object for {what}, value of type {} found",
        obj.get_type().name()?
    )))
}

fn build_head(status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<Head> {
    let status_line = extract_str(status, "status")?;
    let code = parse_status(&status_line).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "response headers must be a list, value of type {} found",
            headers
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tuple = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err("list of (name, value) tuples expected for response headers")
        })?;
        if tuple.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "response header tuples must have two items (name, value), got {}",
                tuple.len()
            )));
        }
        let name = extract_str(&tuple.get_item(0)?, "header name")?;
        let value = extract_str(&tuple.get_item(1)?, "header value")?;
        check_header(&name, &value).map_err(|e| PyValueError::new_err(e.to_string()))?;
        out.push((name, value));
    }
    Ok(Head {
        status: code,
        status_line,
        headers: out,
    })
}

#[pyclass(module = "mod_wsgi", name = "StartResponse")]
pub struct StartResponse {
    response: Arc<Response>,
}

impl StartResponse {
    pub fn new(response: Arc<Response>) -> StartResponse {
        StartResponse { response }
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Write>> {
        // As mod_wsgi 6: until the head has gone out, a later call replaces
        // it, with or without exc_info; after that, exc_info is re-raised
        // (PEP 3333) and a call without it is an error.
        match exc_info.filter(|e| !e.is_none()) {
            Some(info) => {
                let Ok(info) = info.cast::<PyTuple>() else {
                    return Err(PyRuntimeError::new_err(
                        "start_response() argument 'exc_info' must be a 3-tuple or None",
                    ));
                };
                if self.response.head_sent() {
                    if info.len() != 3 {
                        return Err(PyTypeError::new_err(format!(
                            "function takes exactly 3 arguments ({} given)",
                            info.len()
                        )));
                    }
                    let value = info.get_item(1)?;
                    let tb = info.get_item(2)?;
                    let err = PyErr::from_value(value.call_method1("with_traceback", (tb,))?);
                    return Err(err);
                }
            }
            None => {
                if self.response.head_sent() {
                    return Err(PyRuntimeError::new_err(
                        "start_response() called more than once without exc_info",
                    ));
                }
            }
        }
        super::events::response_started(py, status, headers, exc_info);
        let head = build_head(status, headers)?;
        self.response.set_head(head);
        Py::new(
            py,
            Write {
                response: self.response.clone(),
            },
        )
    }
}

/// The legacy `write(data)` callable returned by `start_response`.
#[pyclass(module = "mod_wsgi", name = "Write")]
pub struct Write {
    response: Arc<Response>,
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "byte string value expected for write(), value of type {} found",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        self.response.write(py, bytes.as_bytes(), true, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Ok(200));
        assert_eq!(parse_status("404 Not Found"), Ok(404));
        assert!(parse_status("20 OK").is_err());
        assert!(parse_status("200OK").is_err());
        assert!(parse_status("200 OK\r\nX: y").is_err());
        assert!(parse_status("abc OK").is_err());
    }

    #[test]
    fn headers() {
        assert!(check_header("Content-Type", "text/plain").is_ok());
        assert!(check_header("Bad Name", "x").is_err());
        assert!(check_header("X(odd)", "x").is_ok());
        assert!(check_header("Connection", "close").is_err());
        assert!(check_header("X", "\u{263a}").is_err());
        assert!(check_header("X", "caf\u{e9}").is_ok());
        assert!(check_header("X", "a\r\nInjected: 1").is_err());
        assert!(check_header("X", "a\0").is_err());
        assert!(check_header("", "x").is_err());
    }
}
