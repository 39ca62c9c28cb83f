//! The embedded-mode [`Host`]: the request body comes from Apache's input
//! filters (`ap_get_client_block`, so `LimitRequestBody`, chunked decoding
//! and `100 Continue` on the first read are Apache's) and the response goes
//! down the request's output filter chain as brigades, with a FLUSH bucket
//! when the application yielded. Called with the GIL released. Also the
//! daemon relay's host ([`RelayHost`]: raw response heads, the client
//! socket timeout, internal redirects). Every Apache call goes through the
//! safe wrappers of `crate::apache` (`Request`, `brigade::Output`,
//! `conn::ClientSocketTimeout`).

use super::relay::RelayHost;
use crate::apache::brigade::Output;
use crate::apache::conn::ClientSocketTimeout;
use crate::apache::log::{self, Level};
use crate::apache::request::Request;
use crate::apache::sys;
use crate::wsgi::{Head, Host, HostError, Taken, latin1};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::time::Duration;

pub struct ApacheHost {
    /// `'static` stands for "until the Exchange holding this host is
    /// expired" (the contract of [`ApacheHost::new`]).
    r: Request<'static>,
    out: Output<'static>,
    gone: bool,
    /// `WSGIEnableSendfile`: let the core filter use sendfile for files.
    sendfile: bool,
    /// Bytes copied into the brigade by `try_buffer` and not yet passed.
    buffered: usize,
    /// Status of the last output-filter pass that failed (0: none failed).
    failed_status: sys::apr_status_t,
    /// Status of the last request body read that failed (0: none failed).
    read_status: sys::apr_status_t,
    /// Daemon mode: the connection's timeout while the response is relayed
    /// (the old one is restored when the host is dropped).
    client_timeout: Option<ClientSocketTimeout<'static>>,
}

/// How much response body `try_buffer` keeps before the core must write
/// (with the GIL released).
const BUFFER_LIMIT: usize = 64 * 1024;

// SAFETY: the request_rec is only touched while the request is live (the
// Exchange is expired before the handler returns) and every access goes
// through the Exchange's mutex, so there is never concurrent use.
unsafe impl Send for ApacheHost {}

impl ApacheHost {
    /// `r` must stay live until the Exchange holding this host is expired
    /// (or, in daemon mode, until the host is dropped): the contract of
    /// [`Request::unbounded`].
    pub fn new(r: Request<'static>) -> ApacheHost {
        ApacheHost {
            out: Output::new(&r),
            r,
            gone: false,
            sendfile: false,
            buffered: 0,
            failed_status: 0,
            read_status: 0,
            client_timeout: None,
        }
    }

    pub fn with_sendfile(mut self, on: bool) -> ApacheHost {
        self.sendfile = on;
        self
    }

    /// The result of a body read: the count, or the failure (its status
    /// kept for `body_read_timed_out`).
    fn body_read(&mut self, read: Result<usize, sys::apr_status_t>) -> Result<usize, HostError> {
        match read {
            Ok(n) => return Ok(n),
            Err(status) => self.read_status = status,
        }
        if self.r.is_aborted() {
            self.gone = true;
            return Err(HostError::ClientGone("request data read error".into()));
        }
        Err(HostError::Io("request data read error".into()))
    }

    /// Passes the brigade down the output filters and empties it.
    fn pass(&mut self) -> Result<(), HostError> {
        let rv = self.out.pass();
        self.buffered = 0;
        if rv != 0 || self.r.is_aborted() {
            self.gone = true;
            self.failed_status = rv;
            return Err(HostError::ClientGone(
                "failed to write response data".into(),
            ));
        }
        Ok(())
    }
}

impl RelayHost for ApacheHost {
    /// Nothing is converted to `String` or copied to the heap on the way.
    fn send_raw_head<'h>(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<(), HostError> {
        self.r.clear_expecting_100();
        self.r.set_status_reason(status, reason);
        for (k, v) in headers {
            set_header(&mut self.r, k, v)?;
        }
        Ok(())
    }

    /// Whether the last failed write to the client timed out (the
    /// connection's socket timeout ran out while the client was not reading).
    fn write_timed_out(&self) -> bool {
        self.failed_status == sys::APR_TIMEUP as sys::apr_status_t
            || self.failed_status == libc::ETIMEDOUT
    }

    fn read_timed_out(&self) -> bool {
        self.read_status == sys::APR_TIMEUP as sys::apr_status_t
            || self.read_status == libc::ETIMEDOUT
    }

    fn set_client_timeout(&mut self, timeout: Duration) {
        self.client_timeout = ClientSocketTimeout::set(&self.r, timeout);
    }

    fn internal_redirect(&mut self, location: &CStr, discard_body: bool) {
        self.r.redirect_as_get(location, discard_body);
    }

    /// A transient bucket over `data`: the relay keeps `data` in place
    /// (its frame buffer pinned) until the next pass, which writes it or
    /// sets it aside (a copy).
    fn hold(&mut self, data: &[u8]) -> bool {
        if self.gone {
            return false;
        }
        self.out.push_transient(data);
        true
    }
}

impl Host for ApacheHost {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.r.read_client_block(buf);
        self.body_read(n)
    }

    /// As `read`, without zeroing the buffer first (Apache copies the body
    /// into it): 1 MiB of `memset` fewer per MiB read, with the GIL held.
    fn read_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        _zeroed: &mut usize,
    ) -> Result<usize, HostError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.r.read_client_block_uninit(buf);
        self.body_read(n)
    }

    fn send_head(&mut self, head: &Head) -> Result<(), HostError> {
        // As mod_wsgi: once the response has started, a late first read of
        // the body must not inject "100 Continue" into it.
        self.r.clear_expecting_100();
        self.r.set_status(head.status, &head.status_line);
        for (k, v) in &head.headers {
            // Validated latin-1 text: one byte per character on the wire.
            set_header(&mut self.r, &latin1(k), &latin1(v))?;
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        // Transient buckets: `pass` runs before `data` goes away.
        self.out.push_transient(data);
        if flush {
            self.out.push_flush();
        }
        self.pass()
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        if !self.out.push_file(fd, offset, len, self.sendfile) {
            return Ok(false);
        }
        self.out.push_flush();
        self.pass()?;
        Ok(true)
    }

    fn try_buffer(
        &mut self,
        head: Option<&Head>,
        data: &[u8],
        flush: bool,
    ) -> Result<Taken, HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        // A flush goes down the output filters to the client socket: it may block.
        if flush || self.buffered + data.len() > BUFFER_LIMIT {
            return Ok(Taken::No);
        }
        // Setting the head only fills request_rec fields: it cannot block.
        if let Some(head) = head {
            self.send_head(head)?;
        }
        if !data.is_empty() {
            if !self.out.push_copy(data) {
                return Err(HostError::Io("could not buffer response data".into()));
            }
            self.buffered += data.len();
        }
        Ok(Taken::Yes)
    }

    /// Sends what is buffered and flushes the connection, so the response
    /// is on the wire before the handler returns (as mod_wsgi, which
    /// flushes every write). Left to the end-of-request processing, a small
    /// response is written only after httpd has checked for a pipelined
    /// next request, which then cannot have arrived, and the keep-alive
    /// connection goes back to the event MPM's listener instead of being
    /// read on by this thread.
    fn finish(&mut self) -> Result<(), HostError> {
        // No brigade: nothing was written (an empty body, or a failure before
        // the head, which httpd answers itself); a flush would send a head.
        if !self.out.is_used() || self.gone {
            return Ok(());
        }
        self.out.push_flush();
        self.pass()
    }

    fn log(&mut self, level: Level, msg: &str) {
        log::request(level, &self.r, msg);
    }

    fn log_at(&mut self, level: Level, at: (&str, u32), msg: &str) {
        log::request_at(level, &self.r, at.0, at.1, msg);
    }

    fn abort(&mut self) {
        // What the application produced before failing goes out first, as
        // mod_wsgi (which writes every chunk at once): the client sees the
        // head and those bytes, then the connection closes without the
        // response's end.
        if self.out.is_used() && !self.gone {
            self.out.push_flush();
            let _ = self.pass();
        }
        self.r.abort_connection();
    }

    fn client_gone(&self) -> bool {
        self.gone
    }

    fn head_only(&self) -> bool {
        self.r.header_only()
    }
}

/// One response header onto the request: Content-Type and Content-Length
/// through Apache's setters, the rest into `headers_out` (copied to the pool).
fn set_header(r: &mut Request<'_>, k: &[u8], v: &[u8]) -> Result<(), HostError> {
    if k.eq_ignore_ascii_case(b"content-type") {
        r.set_content_type(v);
    } else if k.eq_ignore_ascii_case(b"content-length") {
        let n = std::str::from_utf8(v)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0);
        match n {
            Some(n) => r.set_content_length(n),
            None => {
                return Err(HostError::Io(format!(
                    "invalid Content-Length header value {:?}",
                    String::from_utf8_lossy(v)
                )));
            }
        }
    } else {
        let pool = r.pool();
        // Header names are validated tokens (ASCII): a lossy view changes nothing.
        r.headers_out()
            .add_bytes(pool, &String::from_utf8_lossy(k), v);
    }
    Ok(())
}
