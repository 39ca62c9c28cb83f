//! Line-buffered text streams that write into Apache's error log: used for
//! `sys.stdout`, `sys.stderr` (server context) and `wsgi.errors` (request
//! context, so lines carry the client address). Complete lines are logged as
//! they are written; `flush()` logs a pending partial line. The GIL is
//! released while a line is written to the log, with no borrow of the stream
//! held, so threads sharing `sys.stderr` write at once. As in mod_wsgi 6,
//! Python gets each stream as an `io.TextIOWrapper` over its binary
//! `LogBuffer` (`text_wrapper`); `request_errors` keeps a thread's
//! `wsgi.errors` from one request to the next.

use crate::apache::log::{self, Level};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
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

#[pyclass(module = "mod_wsgi", name = "Log")]
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

    fn emit(&self, py: Python<'_>, lines: Vec<String>) {
        emit(py, &self.sink, self.level, lines);
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

    /// Points the stream at another request (`request_errors`).
    pub fn rebind(&mut self, sink: Sink) {
        self.sink = sink;
    }

    /// End of the request the stream is bound to: logs the pending partial
    /// line there and points the stream at the server's log. Whether the
    /// stream is closed.
    pub fn finish_request(&mut self, py: Python<'_>) -> bool {
        let (lines, sink, level) = self.take_pending();
        emit(py, &sink, level, lines);
        self.sink = Sink::Server;
        self.closed
    }

    fn push(&mut self, py: Python<'_>, text: &str) -> PyResult<()> {
        let (lines, _, _) = self.take_lines(text)?;
        self.emit(py, lines);
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

#[pymethods]
impl LogStream {
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let s = data.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "log stream write() expects a str, value of type {} found",
                data.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        self.push(py, &s.to_string_lossy())?;
        Ok(())
    }

    fn writelines(&mut self, py: Python<'_>, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(py, &line?)?;
        }
        Ok(())
    }

    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(py, vec![line]);
        }
        Ok(())
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.flush(py)?;
        self.closed = true;
        Ok(())
    }

    fn isatty(&self) -> bool {
        false
    }

    fn writable(&self) -> bool {
        true
    }

    fn readable(&self) -> bool {
        false
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed
    }

    #[getter]
    fn encoding(&self) -> &'static str {
        "utf-8"
    }

    #[getter]
    fn errors(&self) -> &'static str {
        "backslashreplace"
    }

    #[getter]
    fn name(&self) -> &'static str {
        "<wsgi.errors>"
    }

    /// A binary view: `buffer.write()` takes any bytes-like object (UTF-8,
    /// undecodable bytes backslash-escaped), as mod_wsgi 6.0.1 does.
    #[getter]
    fn buffer(slf: Bound<'_, Self>) -> PyResult<Py<LogBuffer>> {
        Py::new(
            slf.py(),
            LogBuffer {
                stream: slf.unbind(),
            },
        )
    }
}

/// `LogStream.buffer`.
#[pyclass(module = "mod_wsgi", name = "LogBuffer")]
pub struct LogBuffer {
    stream: Py<LogStream>,
}

impl LogBuffer {
    /// The binary view of `stream`.
    pub fn over(stream: Py<LogStream>) -> LogBuffer {
        LogBuffer { stream }
    }
}

#[pymethods]
impl LogBuffer {
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let view = pyo3::types::PyBytes::new(py, &[])
            .get_type()
            .call1((data,))?;
        let bytes = view.cast::<pyo3::types::PyBytes>()?.as_bytes();
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
        let (lines, sink, level) = self.stream.borrow_mut(py).take_lines(&text)?;
        emit(py, &sink, level, lines);
        Ok(bytes.len())
    }

    /// Each item written as by `write` (any bytes-like object), as
    /// mod_wsgi 6's `Log.writelines` on the binary stream.
    fn writelines(&self, py: Python<'_>, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(py, &line?)?;
        }
        Ok(())
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let (lines, sink, level) = self.stream.borrow_mut(py).take_pending();
        emit(py, &sink, level, lines);
        Ok(())
    }

    fn writable(&self) -> bool {
        true
    }

    fn readable(&self) -> bool {
        false
    }

    fn seekable(&self) -> bool {
        false
    }

    fn isatty(&self) -> bool {
        false
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.flush(py)?;
        self.stream.borrow_mut(py).closed = true;
        Ok(())
    }

    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        self.stream.borrow(py).closed
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> &'static str {
        self.stream.borrow(py).name()
    }
}

/// `stream` as mod_wsgi 6 hands out `sys.stdout`, `sys.stderr` and
/// `wsgi.errors`: an `io.TextIOWrapper` (UTF-8, errors `replace`, line
/// buffering, write-through) over the stream's binary `buffer`.
pub fn text_wrapper(stream: Bound<'_, LogStream>) -> PyResult<Bound<'_, PyAny>> {
    let py = stream.py();
    wrap(LogStream::buffer(stream)?.into_bound(py).into_any())
}

/// The `io.TextIOWrapper` of [`text_wrapper`] over `buffer` (a `LogBuffer`).
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
