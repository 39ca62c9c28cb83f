//! Line-buffered text streams that write into Apache's error log: used for
//! `sys.stdout`, `sys.stderr` (server context) and `wsgi.errors` (request
//! context, so lines carry the client address). Complete lines are logged as
//! they are written; `flush()` logs a pending partial line. The GIL is
//! released while a line is written to the log, with no borrow of the stream
//! held, so threads sharing `sys.stderr` write at once. As in mod_wsgi 6,
//! Python gets each stream as an `io.TextIOWrapper` over its binary
//! `LogBuffer` (`text_wrapper`); `request_errors` keeps a thread's
//! `wsgi.errors` from one request to the next.

use super::class::{self, Class, ClassId, Fast};
use crate::apache::log::{self, Level};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use std::ffi::CStr;
use std::sync::Arc;

/// A request's error log as `wsgi.errors` writes to it (the WSGI core's
/// exchange implements it). Called with the GIL released.
pub trait RequestLog: Send + Sync {
    /// Logs `lines` in the request's context; `false` once the request has
    /// completed (the lines then go to the server's log).
    fn log_lines(&self, level: Level, lines: &[String]) -> bool;
    /// Like `log_lines`, with the source location given (`LogHandler`).
    fn log_lines_at(&self, level: Level, at: (&str, u32), lines: &[String]) -> bool {
        let _ = at;
        self.log_lines(level, lines)
    }
}

/// Where a stream's lines go.
#[derive(Clone)]
pub enum Sink {
    Server,
    Request(Arc<dyn RequestLog>),
}

/// A line-buffered log stream (the state behind a `LogBuffer`).
pub struct LogStream {
    sink: Sink,
    level: Level,
    pending: String,
    closed: bool,
}

impl LogStream {
    pub fn new(sink: Sink, level: Level) -> LogStream {
        LogStream {
            sink,
            level,
            pending: String::new(),
            closed: false,
        }
    }

    /// Adds `text` to the pending partial line and takes out the complete
    /// lines, with where they go: the caller logs them after releasing its
    /// borrow of the stream, so that other threads can write meanwhile.
    fn take_lines(&mut self, text: &str) -> PyResult<(Vec<String>, Sink, Level)> {
        self.check_open()?;
        self.pending.push_str(text);
        let mut lines: Vec<String> = Vec::new();
        while let Some(i) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=i).collect();
            lines.push(line.trim_end_matches('\n').to_string());
        }
        Ok((lines, self.sink.clone(), self.level))
    }

    /// The pending partial line, taken out, with where it goes.
    fn take_pending(&mut self) -> (Vec<String>, Sink, Level) {
        let lines = if self.pending.is_empty() {
            Vec::new()
        } else {
            vec![std::mem::take(&mut self.pending)]
        };
        (lines, self.sink.clone(), self.level)
    }

    fn check_open(&self) -> PyResult<()> {
        if self.closed {
            return Err(PyValueError::new_err("I/O operation on closed log stream"));
        }
        Ok(())
    }
}

/// Logs `lines` to `sink` at `level` with the GIL released.
fn emit(py: Python<'_>, sink: &Sink, level: Level, lines: Vec<String>) {
    if lines.is_empty() {
        return;
    }
    py.detach(|| match sink {
        Sink::Request(ex) => {
            if !ex.log_lines(level, &lines) {
                for l in &lines {
                    log::server(level, None, l);
                }
            }
        }
        Sink::Server => {
            for l in &lines {
                log::server(level, None, l);
            }
        }
    });
}

/// `LogStream.buffer`: the binary stream Python writes to (through the
/// `io.TextIOWrapper` of [`text_wrapper`]), a per-interpreter class.
pub struct LogBuffer {
    stream: LogStream,
}

/// `buffer`'s stream (`buffer` is a `LogBuffer`), mutably borrowed.
fn stream_of<'a>(buffer: &'a Bound<'_, PyAny>) -> PyResult<std::cell::RefMut<'a, LogStream>> {
    class::downcast::<LogBuffer>(buffer)?
        .map(|b| std::cell::RefMut::map(b, |b| &mut b.stream))
        .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("not a mod_wsgi.LogBuffer"))
}

/// Points the stream of `buffer` (a `LogBuffer`) at another request
/// (`request_errors`).
pub fn rebind(buffer: &Bound<'_, PyAny>, sink: Sink) -> PyResult<()> {
    stream_of(buffer)?.sink = sink;
    Ok(())
}

/// End of the request the stream of `buffer` (a `LogBuffer`) is bound to:
/// logs the pending partial line there (the borrow ended first) and points
/// the stream at the server's log. Whether the stream is closed.
pub fn finish_request(buffer: &Bound<'_, PyAny>) -> PyResult<bool> {
    let (lines, sink, level, closed) = {
        let mut stream = stream_of(buffer)?;
        let (lines, sink, level) = stream.take_pending();
        stream.sink = Sink::Server;
        (lines, sink, level, stream.closed)
    };
    emit(buffer.py(), &sink, level, lines);
    Ok(closed)
}

impl Class for LogBuffer {
    const NAME: &'static CStr = c"mod_wsgi.LogBuffer";
    const ID: ClassId = ClassId::LogBuffer;
    fn slots() -> Vec<ffi::PyType_Slot> {
        vec![BUFFER_METHODS.slot(), BUFFER_GETSET.slot()]
    }
}

/// A fastcall method of `LogBuffer` from a function of the buffer's call.
macro_rules! buffer_method {
    ($name:literal, $f:ident) => {{
        /// # Safety
        /// Called by CPython with `slf` a `LogBuffer` and the call's arguments.
        unsafe fn shim(
            py: Python<'_>,
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> PyResult<*mut ffi::PyObject> {
            $f(py, slf, (args, nargs, kwnames))
        }
        class::method(
            $name,
            pyo3::get_trampoline_function!(fastcall_cfunction_with_keywords, shim),
        )
    }};
}

static BUFFER_METHODS: class::Methods<9> = class::Methods([
    buffer_method!(c"write", buffer_write),
    buffer_method!(c"writelines", buffer_writelines),
    buffer_method!(c"flush", buffer_flush),
    buffer_method!(c"close", buffer_close),
    buffer_method!(c"writable", buffer_true),
    buffer_method!(c"readable", buffer_false),
    buffer_method!(c"seekable", buffer_false),
    buffer_method!(c"isatty", buffer_false),
    ffi::PyMethodDef::zeroed(),
]);

/// The stream of `slf`, a `LogBuffer`.
///
/// # Safety
/// `slf` is a live `LogBuffer` (a method's `self`).
unsafe fn stream<'a>(slf: *mut ffi::PyObject) -> PyResult<std::cell::RefMut<'a, LogStream>> {
    // SAFETY: the caller's contract.
    unsafe { class::borrow::<LogBuffer>(slf) }.map(|b| std::cell::RefMut::map(b, |b| &mut b.stream))
}

fn no_args(py: Python<'_>, name: &str, call: Fast) -> PyResult<()> {
    // SAFETY: `call` is the arguments of the running call.
    unsafe { class::fastcall_args::<0>(py, name, [], 0, call) }.map(|_| ())
}

fn buffer_write(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: as in `no_args`.
    let [data] = unsafe { class::fastcall_args(py, "write", ["data"], 1, call) }?;
    let n = write_bytes(py, slf, &data.expect("required"))?;
    Ok(n.into_pyobject(py)?.into_ptr())
}

/// Writes any bytes-like object (UTF-8, undecodable bytes backslash-escaped),
/// as mod_wsgi 6.0.1 does; the number of bytes taken.
fn write_bytes(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    data: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let view = py.get_type::<PyBytes>().call1((data,))?;
    let bytes = view.cast::<PyBytes>()?.as_bytes();
    let text = bytes
        .utf8_chunks()
        .map(|c| {
            let mut s = c.valid().to_string();
            for b in c.invalid() {
                s.push_str(&format!("\\x{b:02x}"));
            }
            s
        })
        .collect::<String>();
    // SAFETY: `slf` is the method's `self`.
    let (lines, sink, level) = unsafe { stream(slf) }?.take_lines(&text)?;
    emit(py, &sink, level, lines);
    Ok(bytes.len())
}

/// Each item written as by `write` (any bytes-like object), as mod_wsgi 6's
/// `Log.writelines` on the binary stream.
fn buffer_writelines(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: as in `no_args`.
    let [lines] = unsafe { class::fastcall_args(py, "writelines", ["lines"], 1, call) }?;
    for line in lines.expect("required").try_iter()? {
        write_bytes(py, slf, &line?)?;
    }
    class::none()
}

fn flush(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<()> {
    // SAFETY: `slf` is the method's `self`.
    let (lines, sink, level) = unsafe { stream(slf) }?.take_pending();
    emit(py, &sink, level, lines);
    Ok(())
}

fn buffer_flush(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    no_args(py, "flush", call)?;
    flush(py, slf)?;
    class::none()
}

fn buffer_close(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    no_args(py, "close", call)?;
    flush(py, slf)?;
    // SAFETY: `slf` is the method's `self`.
    unsafe { stream(slf) }?.closed = true;
    class::none()
}

fn boolean(v: bool) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the bools are immortal/static; a new reference.
    unsafe {
        let b = if v { ffi::Py_True() } else { ffi::Py_False() };
        ffi::Py_INCREF(b);
        Ok(b)
    }
}

fn buffer_true(
    py: Python<'_>,
    _slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    no_args(py, "writable", call)?;
    boolean(true)
}

fn buffer_false(
    py: Python<'_>,
    _slf: *mut ffi::PyObject,
    call: Fast,
) -> PyResult<*mut ffi::PyObject> {
    no_args(py, "readable", call)?;
    boolean(false)
}

/// # Safety
/// Called by CPython with `slf` a `LogBuffer`.
unsafe fn closed(_py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract.
    let closed = unsafe { stream(slf) }?.closed;
    boolean(closed)
}

/// # Safety
/// Called by CPython (no state read).
unsafe fn name(py: Python<'_>, _slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    Ok(PyString::new(py, "<wsgi.errors>").into_ptr())
}

unsafe extern "C" fn get_closed(
    slf: *mut ffi::PyObject,
    _: *mut std::ffi::c_void,
) -> *mut ffi::PyObject {
    // SAFETY: CPython's getter call, passed on to pyo3's trampoline.
    unsafe { pyo3::get_trampoline_function!(unaryfunc, closed)(slf) }
}

unsafe extern "C" fn get_name(
    slf: *mut ffi::PyObject,
    _: *mut std::ffi::c_void,
) -> *mut ffi::PyObject {
    // SAFETY: as above.
    unsafe { pyo3::get_trampoline_function!(unaryfunc, name)(slf) }
}

static BUFFER_GETSET: class::GetSet<3> = class::GetSet([
    class::getter(c"closed", get_closed),
    class::getter(c"name", get_name),
    class::GetSet::<3>::END,
]);

/// `stream` as mod_wsgi 6 hands out `sys.stdout`, `sys.stderr` and
/// `wsgi.errors`: an `io.TextIOWrapper` (UTF-8, errors `replace`, line
/// buffering, write-through) over the stream's binary `LogBuffer`.
pub fn text_wrapper(py: Python<'_>, stream: LogStream) -> PyResult<Bound<'_, PyAny>> {
    wrap(class::new(py, LogBuffer { stream })?)
}

/// A new `LogBuffer` over `stream` (`request_errors` keeps it).
pub fn buffer(py: Python<'_>, stream: LogStream) -> PyResult<Bound<'_, PyAny>> {
    class::new(py, LogBuffer { stream })
}

/// The `io.TextIOWrapper` of [`text_wrapper`] over `buffer`, a `LogBuffer`.
pub fn wrap(buffer: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyAny>> {
    let py = buffer.py();
    py.import("io")?.getattr("TextIOWrapper")?.call1((
        buffer,
        "utf-8",
        "replace",
        py.None(),
        true,
        true,
    ))
}
