//! `start_response(status, headers, exc_info=None)` and the `write(data)`
//! callable it returns (PEP 3333). Status and headers are validated here,
//! with messages that name the offending value, before anything reaches
//! Apache: CR, LF or NUL in a header could otherwise split the response.

use super::host::Head;
use super::response::Response;
use crate::python::class::{self, Class, ClassId};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::ffi::{CStr, c_void};
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
/// cannot be sent (raised to it as `ValueError` with this message, mod_wsgi
/// 6's words; `repr`: the value as latin-1 bytes, as Python shows them).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("status code must be a 3 digit integer: {repr}")]
    StatusDigits { repr: String },
    #[error("no space following status code: {repr}")]
    StatusSpace { repr: String },
    #[error("control character in status reason phrase: {repr}")]
    StatusControl { repr: String },
    #[error("status code must be from 100 to 999: {repr}")]
    StatusCode { repr: String },
    #[error("header name is empty")]
    EmptyHeaderName,
    #[error("control character in header name: {repr}")]
    HeaderControl { repr: String },
    #[error("space character in header name: {repr}")]
    HeaderSpace { repr: String },
    #[error("colon character in header name: {repr}")]
    HeaderColon { repr: String },
    #[error("carriage return/line feed character in header value: {repr}")]
    HeaderValue { repr: String },
    #[error("null character in header value: {repr}")]
    HeaderNul { repr: String },
    #[error("hop-by-hop header {name:?} not allowed in a WSGI response (PEP 3333)")]
    HopByHop { name: String },
}

/// `repr(bytes)` as Python writes it (`b'X\tFoo'`).
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = format!("b{}", quote as char);
    for &c in b {
        match c {
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote as char);
    out
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// Parses and validates a WSGI status line (latin-1 bytes) as mod_wsgi 6:
/// three digits, then the end (HTTP/2 style) or a space and a reason phrase
/// without control characters.
pub fn parse_status(status: &[u8]) -> Result<u16, ResponseError> {
    let repr = || bytes_repr(status);
    if status.len() < 3
        || !status[..3].iter().all(u8::is_ascii_digit)
        || status.get(3).is_some_and(u8::is_ascii_digit)
    {
        return Err(ResponseError::StatusDigits { repr: repr() });
    }
    if status.len() > 3 && status[3] != b' ' {
        return Err(ResponseError::StatusSpace { repr: repr() });
    }
    if status.iter().skip(4).any(|&c| is_cntrl(c)) {
        return Err(ResponseError::StatusControl { repr: repr() });
    }
    let code = status[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if code < 100 {
        return Err(ResponseError::StatusCode { repr: repr() });
    }
    Ok(code)
}

/// Validates one header name and value (latin-1 bytes): mod_wsgi's rules
/// (no empty name, no control or space character in a name, no CR or LF in
/// a value) plus ours: no ':' in a name, no NUL in a value, no hop-by-hop
/// header (PEP 3333).
pub fn check_header(name: &[u8], value: &[u8]) -> Result<(), ResponseError> {
    if name.is_empty() {
        return Err(ResponseError::EmptyHeaderName);
    }
    // The message's repr only once a byte is refused (this runs for every
    // header of every response).
    for &c in name {
        if is_cntrl(c) {
            return Err(ResponseError::HeaderControl {
                repr: bytes_repr(name),
            });
        }
        if c == b' ' {
            return Err(ResponseError::HeaderSpace {
                repr: bytes_repr(name),
            });
        }
        if c == b':' {
            return Err(ResponseError::HeaderColon {
                repr: bytes_repr(name),
            });
        }
    }
    if value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(ResponseError::HeaderValue {
            repr: bytes_repr(value),
        });
    }
    if value.contains(&0) {
        return Err(ResponseError::HeaderNul {
            repr: bytes_repr(value),
        });
    }
    let name = String::from_utf8_lossy(name);
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(ResponseError::HopByHop {
            name: name.into_owned(),
        });
    }
    Ok(())
}

/// A `str` as latin-1 bytes, as mod_wsgi converts it: `TypeError` "must be
/// str, not int" for another type, Python's own `UnicodeEncodeError` for a
/// character beyond latin-1.
fn latin1(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if !obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "must be str, not {}",
            obj.get_type().name()?
        )));
    }
    // ASCII (nearly every status line and header): its UTF-8 is its latin-1,
    // without a call into Python.
    if let Ok(text) = obj.cast::<PyString>()?.to_str()
        && text.is_ascii()
    {
        return Ok(text.as_bytes().to_vec());
    }
    obj.call_method1("encode", ("latin-1",))?.extract()
}

/// Bytes known to be latin-1 back to the `str` they came from.
fn from_latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

fn build_head(status: &Bound<'_, PyAny>, headers: &Bound<'_, PyAny>) -> PyResult<Head> {
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "start_response() argument 2 must be list, not {}",
            headers
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let status_bytes = latin1(status)?;
    let code = parse_status(&status_bytes).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let status_line = from_latin1(&status_bytes);
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tuple = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "each header must be a 2-tuple, not {}",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        if tuple.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "each header must be a 2-tuple, got length {}",
                tuple.len()
            )));
        }
        let name = latin1(&tuple.get_item(0)?)?;
        let value = latin1(&tuple.get_item(1)?)?;
        check_header(&name, &value).map_err(|e| PyValueError::new_err(e.to_string()))?;
        out.push((from_latin1(&name), from_latin1(&value)));
    }
    Ok(Head {
        status: code,
        status_line,
        headers: out,
    })
}

/// The request's `start_response` (a per-interpreter class).
pub struct StartResponse {
    response: Arc<Response>,
}

impl StartResponse {
    pub fn new(response: Arc<Response>) -> StartResponse {
        StartResponse { response }
    }

    fn call(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<*mut ffi::PyObject> {
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
        let write = Write {
            response: self.response.clone(),
        };
        class::new(py, write).map(Bound::into_ptr)
    }
}

impl Class for StartResponse {
    const NAME: &'static CStr = c"mod_wsgi.StartResponse";
    const ID: ClassId = ClassId::StartResponse;
    fn slots() -> Vec<ffi::PyType_Slot> {
        vec![class::slot(
            ffi::Py_tp_call,
            pyo3::get_trampoline_function!(ternaryfunc, start_response_call) as *mut c_void,
        )]
    }
}

/// `start_response(status, headers, exc_info=None)`.
///
/// # Safety
/// Called by CPython as `tp_call` of a `StartResponse`.
unsafe fn start_response_call(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    let names = ["status", "headers", "exc_info"];
    // SAFETY: the call's own arguments.
    let [status, headers, exc_info] =
        unsafe { class::call_args(py, "start_response", names, 2, args, kwargs) }?;
    // SAFETY: `slf` is a `StartResponse`; the borrow ends before the
    // application's code can run again.
    let response = unsafe { class::borrow::<StartResponse>(slf) }?
        .response
        .clone();
    let this = StartResponse { response };
    let (status, headers) = (status.expect("required"), headers.expect("required"));
    this.call(py, &status, &headers, exc_info.as_ref())
}

/// The legacy `write(data)` callable returned by `start_response` (a
/// per-interpreter class).
pub struct Write {
    response: Arc<Response>,
}

impl Class for Write {
    const NAME: &'static CStr = c"mod_wsgi.Write";
    const ID: ClassId = ClassId::Write;
    fn slots() -> Vec<ffi::PyType_Slot> {
        vec![class::slot(
            ffi::Py_tp_call,
            pyo3::get_trampoline_function!(ternaryfunc, write_call) as *mut c_void,
        )]
    }
}

/// `write(data)`.
///
/// # Safety
/// Called by CPython as `tp_call` of a `Write`.
unsafe fn write_call(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the call's own arguments.
    let [data] = unsafe { class::call_args(py, "write", ["data"], 1, args, kwargs) }?;
    let data = data.expect("required");
    let bytes = data.cast::<PyBytes>().map_err(|_| {
        PyTypeError::new_err(format!(
            "byte string value expected for write(), value of type {} found",
            data.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    // SAFETY: `slf` is a `Write`; the borrow ends before writing (which
    // releases the GIL).
    let response = unsafe { class::borrow::<Write>(slf) }?.response.clone();
    response.write(py, bytes.as_bytes(), true, false)?;
    class::none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status(b"200 OK"), Ok(200));
        assert_eq!(parse_status(b"404 Not Found"), Ok(404));
        assert_eq!(parse_status(b"299"), Ok(299));
        let msg = |s: &[u8]| parse_status(s).unwrap_err().to_string();
        assert_eq!(msg(b"OK"), "status code must be a 3 digit integer: b'OK'");
        assert_eq!(
            msg(b"2000 OK"),
            "status code must be a 3 digit integer: b'2000 OK'"
        );
        assert_eq!(
            msg(b"20X OK"),
            "status code must be a 3 digit integer: b'20X OK'"
        );
        assert_eq!(msg(b"200OK"), "no space following status code: b'200OK'");
        assert_eq!(
            msg(b"200 OK\r\nX: y"),
            "control character in status reason phrase: b'200 OK\\r\\nX: y'"
        );
        assert!(parse_status(b"099 Low").is_err());
    }

    #[test]
    fn headers() {
        let msg = |n: &[u8], v: &[u8]| check_header(n, v).unwrap_err().to_string();
        assert!(check_header(b"Content-Type", b"text/plain").is_ok());
        assert!(check_header(b"X(odd)", b"x").is_ok());
        assert!(check_header(b"X", b"caf\xe9").is_ok());
        assert_eq!(msg(b"", b"x"), "header name is empty");
        assert_eq!(
            msg(b"X Foo", b"x"),
            "space character in header name: b'X Foo'"
        );
        assert_eq!(
            msg(b"X\tFoo", b"x"),
            "control character in header name: b'X\\tFoo'"
        );
        assert_eq!(
            msg(b"X", b"line1\r\nline2"),
            "carriage return/line feed character in header value: b'line1\\r\\nline2'"
        );
        assert!(msg(b"X", b"a\0").starts_with("null character in header value"));
        assert!(msg(b"A:B", b"x").starts_with("colon character"));
        assert!(msg(b"Connection", b"close").starts_with("hop-by-hop"));
    }

    #[test]
    fn python_bytes_repr() {
        assert_eq!(bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(bytes_repr(b"a'\"b"), "b'a\\'\"b'");
        assert_eq!(bytes_repr(b"\xe9\x01\\"), "b'\\xe9\\x01\\\\'");
    }
}
