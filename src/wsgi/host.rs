//! The seam between the WSGI core and the server it runs in. A [`Host`]
//! reads the request body and sends the response for one request; it is
//! always called with the GIL released. The [`Exchange`] hands the host to
//! the Python objects of one request (`wsgi.input`, `wsgi.errors`,
//! `start_response`, `write`) and expires it when the request ends, so an
//! object an application keeps after that fails cleanly instead of touching
//! a finished request.

use crate::apache::log::Level;
use std::os::fd::RawFd;
use std::sync::Mutex;

/// Why a host operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("client connection closed: {0}")]
    ClientGone(String),
    #[error("request body larger than the configured limit (LimitRequestBody)")]
    TooLarge,
    #[error("{0}")]
    Io(String),
    #[error("request has already completed")]
    Expired,
}

/// The response status and headers, as the application gave them.
#[derive(Clone, Debug, Default)]
pub struct Head {
    pub status: u16,
    /// The whole status string, e.g. "200 OK".
    pub status_line: String,
    /// Validated by `start_response`: names and values are latin-1 text
    /// (no character above U+00FF); hosts send each character as one byte.
    pub headers: Vec<(String, String)>,
}

/// Where one request's body comes from and its response goes.
pub trait Host: Send {
    /// Reads up to `buf.len()` bytes of the request body; `Ok(0)` at the end.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError>;
    /// Sends the status line and headers (before any body byte).
    fn send_head(&mut self, head: &Head) -> Result<(), HostError>;
    /// Sends body bytes; `flush` pushes everything so far to the client now.
    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError>;
    /// Writes a line to the error log in this request's context.
    fn log(&mut self, level: Level, msg: &str);
    /// The response cannot be completed (error after the head was sent): the
    /// client must see a truncated response, never a clean short one.
    fn abort(&mut self);
    /// Whether a write has already found the client gone.
    fn client_gone(&self) -> bool;
    /// Whether the client asked for the head only (HEAD): the server sends
    /// no body, so a body shorter than the declared `Content-Length` is
    /// expected (applications commonly send none) and not an error.
    fn head_only(&self) -> bool {
        false
    }
    /// Sends `len` bytes of the open regular file `fd` from `offset` as
    /// body (after the head). Returns `Ok(false)` when this host cannot send
    /// files, and the core then reads the file itself. The host must not
    /// keep `fd` beyond the request: duplicate it if it needs to.
    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        let _ = (fd, offset, len);
        Ok(false)
    }
}

/// One request's host, shared with its Python objects until it expires.
pub struct Exchange {
    host: Mutex<Option<Box<dyn Host>>>,
}

impl Exchange {
    pub fn new(host: Box<dyn Host>) -> Exchange {
        Exchange {
            host: Mutex::new(Some(host)),
        }
    }

    /// Runs `f` with the host. Call only with the GIL released: the lock may
    /// be held by a thread blocked in I/O.
    pub fn with_host<R>(&self, f: impl FnOnce(&mut dyn Host) -> R) -> Result<R, HostError> {
        let mut guard = self.host.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(h) => Ok(f(h.as_mut())),
            None => Err(HostError::Expired),
        }
    }

    /// Ends the exchange: later use from Python fails with "request has
    /// already completed".
    pub fn expire(&self) {
        let mut guard = self.host.lock().unwrap_or_else(|e| e.into_inner());
        guard.take();
    }
}

impl From<HostError> for pyo3::PyErr {
    fn from(e: HostError) -> pyo3::PyErr {
        pyo3::exceptions::PyOSError::new_err(e.to_string())
    }
}
