//! The seam between the WSGI core and the server it runs in. A [`Host`]
//! reads the request body and sends the response for one request; it is
//! always called with the GIL released. The [`Exchange`] hands the host to
//! the Python objects of one request (`wsgi.input`, `wsgi.errors`,
//! `start_response`, `write`) and expires it when the request ends, so an
//! object an application keeps after that fails cleanly instead of touching
//! a finished request.

use crate::apache::log::Level;
use std::mem::MaybeUninit;
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

/// A validated latin-1 header name or value as the bytes on the wire: one
/// byte per character (`start_response` refuses characters above U+00FF).
pub fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| c as u32 as u8).collect()
}

/// Where one request's body comes from and its response goes.
pub trait Host: Send {
    /// Reads up to `buf.len()` bytes of the request body; `Ok(0)` at the end.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError>;
    /// Like `read`, into memory that need not be initialised (a new bytes
    /// object, a `Vec`'s spare capacity): the bytes counted are initialised
    /// on return. `zeroed` is how much of `buf`, from its start, the caller
    /// knows to be initialised (the default zeroes the rest once and says so
    /// there, so a caller reading on into the same buffer zeroes it only
    /// once). Hosts that can read straight into raw memory (Apache's
    /// `ap_get_client_block`) override it and zero nothing.
    fn read_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        zeroed: &mut usize,
    ) -> Result<usize, HostError> {
        if *zeroed < buf.len() {
            buf[*zeroed..].fill(MaybeUninit::new(0));
            *zeroed = buf.len();
        }
        // SAFETY: every element is initialised (above, or by the caller's
        // word in `zeroed`), and `MaybeUninit<u8>` has the layout of `u8`.
        let buf = unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) };
        self.read(buf)
    }
    /// Sends the status line and headers (before any body byte).
    fn send_head(&mut self, head: &Head) -> Result<(), HostError>;
    /// Sends body bytes; `flush` pushes everything so far to the client now.
    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError>;
    /// Writes a line to the error log in this request's context.
    fn log(&mut self, level: Level, msg: &str);
    /// Like `log`, with the source location given (`mod_wsgi.LogHandler`
    /// passes the Python caller's file and line, for `%F`).
    fn log_at(&mut self, level: Level, at: (&str, u32), msg: &str) {
        let _ = at;
        self.log(level, msg)
    }
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
    /// Called with the GIL held: takes `data` (after `head`, when given) if
    /// that cannot block. [`Taken::No`] means nothing was done and the core
    /// calls `send_head` and `write` with the GIL released;
    /// [`Taken::Yes`] that the data is buffered or, with `flush`, sent;
    /// [`Taken::FlushPending`] that it is buffered but a flush is still owed
    /// (the core calls [`Host::flush`] with the GIL released). Saves a GIL
    /// hand-off per write, which under contention costs far more than the
    /// write.
    fn try_buffer(
        &mut self,
        head: Option<&Head>,
        data: &[u8],
        flush: bool,
    ) -> Result<Taken, HostError> {
        let _ = (head, data, flush);
        Ok(Taken::No)
    }
    /// Sends everything buffered now (after [`Taken::FlushPending`]).
    fn flush(&mut self) -> Result<(), HostError> {
        self.write(&[], true)
    }
    /// The application has finished and the GIL is released: send whatever
    /// `try_buffer` kept.
    fn finish(&mut self) -> Result<(), HostError> {
        Ok(())
    }
}

/// What [`Host::try_buffer`] did with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    No,
    Yes,
    FlushPending,
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

    /// Like `with_host`, but gives up (`None`) instead of waiting when another
    /// thread is using the host, so it may be called with the GIL held.
    pub fn try_with_host<R>(
        &self,
        f: impl FnOnce(&mut dyn Host) -> R,
    ) -> Option<Result<R, HostError>> {
        let mut guard = match self.host.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(match guard.as_mut() {
            Some(h) => Ok(f(h.as_mut())),
            None => Err(HostError::Expired),
        })
    }

    /// Ends the exchange: later use from Python fails with "request has
    /// already completed".
    pub fn expire(&self) {
        let mut guard = self.host.lock().unwrap_or_else(|e| e.into_inner());
        guard.take();
    }
}

impl crate::python::logstream::RequestLog for Exchange {
    fn log_lines(&self, level: Level, lines: &[String]) -> bool {
        self.with_host(|h| {
            for l in lines {
                h.log(level, l);
            }
        })
        .is_ok()
    }

    fn log_lines_at(&self, level: Level, at: (&str, u32), lines: &[String]) -> bool {
        self.with_host(|h| {
            for l in lines {
                h.log_at(level, at, l);
            }
        })
        .is_ok()
    }
}

impl From<HostError> for pyo3::PyErr {
    fn from(e: HostError) -> pyo3::PyErr {
        pyo3::exceptions::PyOSError::new_err(e.to_string())
    }
}
