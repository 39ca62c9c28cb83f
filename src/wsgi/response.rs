//! The response of one request as the application builds it: the head from
//! `start_response`, whether it has been sent, the `Content-Length` the app
//! declared and how much body went out. Headers go out with the first
//! non-empty body chunk (or at the end for an empty body); output beyond a
//! declared `Content-Length` is dropped, as mod_wsgi does.
//! All methods are called with the GIL held; host I/O releases it.

use super::host::{Exchange, Head, Taken};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    head: Option<Head>,
    sent: bool,
    content_length: Option<u64>,
    /// A `Content-Length` value that is not a number: refused when the head
    /// would go out, as mod_wsgi.
    bad_length: Option<String>,
    written: u64,
    /// Writes to the host and the time they took (`request_finished`).
    writes: u64,
    output_seconds: f64,
}

/// Shared by `start_response`, `write()` and the application runner.
pub struct Response {
    exchange: Arc<Exchange>,
    state: Mutex<State>,
}

impl Response {
    pub fn new(exchange: Arc<Exchange>) -> Response {
        Response {
            exchange,
            state: Mutex::new(State::default()),
        }
    }

    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn head_set(&self) -> bool {
        self.state().head.is_some()
    }

    pub fn head_sent(&self) -> bool {
        self.state().sent
    }

    /// The status the application gave, if it called `start_response`.
    pub fn status(&self) -> Option<u16> {
        self.state().head.as_ref().map(|h| h.status)
    }

    /// Writes, bytes and seconds of output so far (`request_finished`).
    pub fn stats(&self) -> super::events::Io {
        let st = self.state();
        super::events::Io {
            reads: st.writes,
            bytes: st.written,
            seconds: st.output_seconds,
        }
    }

    fn add_output_time(&self, t: Option<std::time::Instant>) {
        if let Some(t) = t {
            self.state().output_seconds += t.elapsed().as_secs_f64();
        }
    }

    /// Records (or, before anything was sent, replaces) the head.
    pub fn set_head(&self, head: Head) {
        let declared = head
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.clone());
        // As mod_wsgi's strtoff check: leading blanks and a sign allowed,
        // nothing after the digits, not negative.
        let parsed = declared
            .as_deref()
            .map(|v| v.trim_start().parse::<u64>().ok());
        let mut st = self.state();
        st.content_length = parsed.flatten();
        st.bad_length = declared.filter(|_| parsed == Some(None));
        st.head = Some(head);
    }

    /// The error mod_wsgi raises at the first output when the head's
    /// `Content-Length` is not a number.
    fn check_length(st: &State) -> PyResult<()> {
        match &st.bad_length {
            Some(v) if !st.sent => Err(PyValueError::new_err(format!(
                "invalid Content-Length header value: '{v}'"
            ))),
            _ => Ok(()),
        }
    }

    /// Sends `data` (and the head first, if not yet sent). Empty data before
    /// the head is sent is a no-op unless `force_head`.
    pub fn write(
        &self,
        py: Python<'_>,
        data: &[u8],
        flush: bool,
        force_head: bool,
    ) -> PyResult<()> {
        let (head, data) = {
            let mut st = self.state();
            let Some(head) = st.head.as_ref() else {
                return Err(PyRuntimeError::new_err(
                    "response has not been started: start_response() must be called before \
                     returning or writing body data",
                ));
            };
            if !st.sent && data.is_empty() && !force_head {
                return Ok(());
            }
            Self::check_length(&st)?;
            let head = (!st.sent).then(|| head.clone());
            st.sent = true;
            let allowed = match st.content_length {
                Some(cl) => (cl.saturating_sub(st.written) as usize).min(data.len()),
                None => data.len(),
            };
            st.written += allowed as u64;
            if allowed > 0 {
                st.writes += 1;
            }
            (head, &data[..allowed])
        };
        if head.is_none() && data.is_empty() && !flush {
            return Ok(());
        }
        let t = crate::python::events::any_subscriber().then(std::time::Instant::now);
        let r = self.send(py, head, data, flush);
        self.add_output_time(t);
        r
    }

    fn send(&self, py: Python<'_>, head: Option<Head>, data: &[u8], flush: bool) -> PyResult<()> {
        let exchange = &self.exchange;
        // Writes the host can take without blocking (small unflushed data
        // into its buffer; in a daemon, a flushed chunk the socket has room
        // for) are done without releasing the GIL.
        match exchange.try_with_host(|h| h.try_buffer(head.as_ref(), data, flush)) {
            Some(Ok(Ok(Taken::Yes))) => return Ok(()),
            Some(Ok(Ok(Taken::FlushPending))) => {
                py.detach(|| exchange.with_host(|h| h.flush()))??;
                return Ok(());
            }
            Some(Ok(Err(e))) | Some(Err(e)) => return Err(e.into()),
            Some(Ok(Ok(Taken::No))) | None => {}
        }
        py.detach(|| {
            exchange.with_host(|h| {
                if let Some(head) = &head {
                    h.send_head(head)?;
                }
                if !data.is_empty() || flush {
                    h.write(data, flush)?;
                }
                Ok::<(), super::host::HostError>(())
            })
        })??;
        Ok(())
    }

    /// The number of bytes of a `len`-byte file to send: `len`, or the
    /// application's smaller `Content-Length`. Sets `Content-Length` when
    /// the application gave none.
    pub fn cap_length(&self, len: u64) -> u64 {
        let mut st = self.state();
        match st.content_length {
            Some(cl) => cl.min(len),
            None => {
                if let Some(head) = st.head.as_mut() {
                    head.headers
                        .push(("Content-Length".to_string(), len.to_string()));
                }
                st.content_length = Some(len);
                len
            }
        }
    }

    /// Sends the head, then `len` bytes of file `fd` from `offset` through
    /// the host. `Ok(false)` when the host cannot send files: the head has
    /// gone out then, and the caller sends the body by reading the file.
    pub fn send_file(&self, py: Python<'_>, fd: RawFd, offset: u64, len: u64) -> PyResult<bool> {
        let head = {
            let st = self.state();
            match (&st.head, st.sent) {
                (Some(h), false) => {
                    Self::check_length(&st)?;
                    h.clone()
                }
                _ => return Ok(false),
            }
        };
        let exchange = &self.exchange;
        let sent = py.detach(|| {
            exchange.with_host(|h| {
                h.send_head(&head)?;
                if len == 0 {
                    return Ok(true);
                }
                h.send_file(fd, offset, len)
            })
        })??;
        let mut st = self.state();
        st.sent = true;
        if sent {
            st.written += len;
            st.writes += 1;
        }
        Ok(sent)
    }

    /// Adds `Content-Length: len` to a head that has none and is not sent yet.
    pub fn default_content_length(&self, len: u64) {
        let mut st = self.state();
        if st.sent || st.content_length.is_some() {
            return;
        }
        if let Some(head) = st.head.as_mut() {
            head.headers
                .push(("Content-Length".to_string(), len.to_string()));
            st.content_length = Some(len);
        }
    }

    /// Bytes still owed under the app's `Content-Length`, if it set one and
    /// its status carries a body: Apache sends none for 204 and 304
    /// (`AP_STATUS_IS_HEADER_ONLY`), so a short body there is expected.
    pub fn shortfall(&self) -> Option<(u64, u64)> {
        let st = self.state();
        if st
            .head
            .as_ref()
            .is_some_and(|h| matches!(h.status, 204 | 304))
        {
            return None;
        }
        st.content_length
            .filter(|&cl| st.written < cl)
            .map(|cl| (cl, st.written))
    }
}
