//! The embedded-mode [`Host`]: the request body comes from Apache's input
//! filters (`ap_get_client_block`, so `LimitRequestBody`, chunked decoding
//! and `100 Continue` on the first read are Apache's) and the response goes
//! down the request's output filter chain as brigades, with a FLUSH bucket
//! when the application yielded. Called with the GIL released.

use crate::apache::log::{self, Level};
use crate::apache::request::Request;
use crate::apache::{shim, sys};
use crate::wsgi::{Head, Host, HostError, Taken};
use std::os::fd::RawFd;

/// Pool cleanup closing a descriptor duplicated by `send_file`.
unsafe extern "C" fn close_fd(data: *mut std::ffi::c_void) -> sys::apr_status_t {
    // SAFETY: `data` carries the descriptor registered with this cleanup.
    unsafe { libc::close(data as usize as i32) };
    0
}

pub struct ApacheHost {
    r: *mut sys::request_rec,
    bb: *mut sys::apr_bucket_brigade,
    gone: bool,
    /// `WSGIEnableSendfile`: let the core filter use sendfile for files.
    sendfile: bool,
    /// Bytes copied into the brigade by `try_buffer` and not yet passed.
    buffered: usize,
    /// Status of the last output-filter pass that failed (0: none failed).
    failed_status: sys::apr_status_t,
}

/// How much response body `try_buffer` keeps before the core must write
/// (with the GIL released).
const BUFFER_LIMIT: usize = 64 * 1024;

// SAFETY: the request_rec is only touched while the request is live (the
// Exchange is expired before the handler returns) and every access goes
// through the Exchange's mutex, so there is never concurrent use.
unsafe impl Send for ApacheHost {}

impl ApacheHost {
    /// `Host::send_head` for a head that arrives as bytes (a daemon's
    /// RESPONSE_HEAD, validated by the daemon's `start_response`): nothing is
    /// converted to `String` or copied to the heap on the way.
    pub fn send_raw_head<'h>(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<(), HostError> {
        // SAFETY: live request, used only on this thread (as in send_head).
        unsafe { (*self.r).expecting_100 = 0 };
        let mut r = self.req();
        r.set_status_reason(status, reason);
        for (k, v) in headers {
            set_header(&mut r, k, v)?;
        }
        Ok(())
    }

    /// # Safety
    /// `r` must stay live until the Exchange holding this host is expired.
    pub unsafe fn new(r: *mut sys::request_rec) -> ApacheHost {
        ApacheHost {
            r,
            bb: std::ptr::null_mut(),
            gone: false,
            sendfile: false,
            buffered: 0,
            failed_status: 0,
        }
    }

    pub fn with_sendfile(mut self, on: bool) -> ApacheHost {
        self.sendfile = on;
        self
    }

    /// Passes the brigade down the output filters and empties it.
    fn pass(&mut self) -> Result<(), HostError> {
        let bb = self.brigade();
        // SAFETY: live request; the brigade belongs to it.
        let rv = unsafe {
            let rv = sys::ap_pass_brigade((*self.r).output_filters, bb);
            sys::apr_brigade_cleanup(bb as *mut _);
            rv
        };
        self.buffered = 0;
        if rv != 0 || self.req().is_aborted() {
            self.gone = true;
            self.failed_status = rv;
            return Err(HostError::ClientGone(
                "failed to write response data".into(),
            ));
        }
        Ok(())
    }

    /// Whether the last failed write to the client timed out (the
    /// connection's socket timeout ran out while the client was not reading).
    pub fn write_timed_out(&self) -> bool {
        self.failed_status == sys::APR_TIMEUP as sys::apr_status_t
            || self.failed_status == libc::ETIMEDOUT
    }

    fn req(&self) -> Request<'_> {
        // SAFETY: `new`'s contract.
        unsafe { Request::from_ptr(self.r) }
    }

    fn brigade(&mut self) -> *mut sys::apr_bucket_brigade {
        if self.bb.is_null() {
            // SAFETY: live request and connection; the brigade lives in r->pool.
            self.bb = unsafe {
                sys::apr_brigade_create((*self.r).pool, (*(*self.r).connection).bucket_alloc)
            };
        }
        self.bb
    }
}

impl Host for ApacheHost {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SAFETY: live request; Apache writes at most buf.len() bytes.
        let n =
            unsafe { sys::ap_get_client_block(self.r, buf.as_mut_ptr() as *mut _, buf.len() as _) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if self.req().is_aborted() {
            self.gone = true;
            return Err(HostError::ClientGone("request data read error".into()));
        }
        Err(HostError::Io("request data read error".into()))
    }

    fn send_head(&mut self, head: &Head) -> Result<(), HostError> {
        // As mod_wsgi: once the response has started, a late first read of
        // the body must not inject "100 Continue" into it.
        // SAFETY: live request, used only on this thread.
        unsafe { (*self.r).expecting_100 = 0 };
        let mut r = self.req();
        r.set_status(head.status, &head.status_line);
        for (k, v) in &head.headers {
            // Validated latin-1 text: one byte per character on the wire.
            let bytes: Vec<u8> = v.chars().map(|c| c as u32 as u8).collect();
            set_header(&mut r, k.as_bytes(), &bytes)?;
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        let bb = self.brigade();
        // SAFETY: live connection; the brigade, buckets and filters belong to
        // this request; transient buckets are copied if a filter sets them aside
        // before ap_pass_brigade returns.
        let rv = unsafe {
            let alloc = (*(*self.r).connection).bucket_alloc;
            if !data.is_empty() {
                let b =
                    sys::apr_bucket_transient_create(data.as_ptr() as *const _, data.len(), alloc);
                shim::wsgi_shim_brigade_insert_tail(bb, b);
            }
            if flush {
                shim::wsgi_shim_brigade_insert_tail(bb, sys::apr_bucket_flush_create(alloc));
            }
            let rv = sys::ap_pass_brigade((*self.r).output_filters, bb);
            sys::apr_brigade_cleanup(bb as *mut _);
            rv
        };
        self.buffered = 0;
        if rv != 0 || self.req().is_aborted() {
            self.gone = true;
            self.failed_status = rv;
            return Err(HostError::ClientGone(
                "failed to write response data".into(),
            ));
        }
        Ok(())
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        // Our own descriptor, closed with the request pool: a filter may set
        // the file bucket aside after the application closed its file.
        // SAFETY: dup of a descriptor the application holds open.
        let mut dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return Ok(false);
        }
        let bb = self.brigade();
        let mut flags = sys::APR_FOPEN_READ as i32;
        if self.sendfile {
            flags |= sys::APR_FOPEN_SENDFILE_ENABLED as i32;
        }
        // SAFETY: live request; the apr_file_t and the cleanup live in
        // r->pool, which outlives every bucket of this request.
        unsafe {
            let pool = (*self.r).pool;
            let mut file: *mut sys::apr_file_t = std::ptr::null_mut();
            if sys::apr_os_file_put(&mut file, &mut dup, flags, pool) != 0 {
                libc::close(dup);
                return Ok(false);
            }
            sys::apr_pool_cleanup_register(
                pool,
                dup as usize as *const std::ffi::c_void,
                Some(close_fd),
                Some(sys::apr_pool_cleanup_null),
            );
            sys::apr_brigade_insert_file(bb, file, offset as _, len as _, pool);
            let alloc = (*(*self.r).connection).bucket_alloc;
            shim::wsgi_shim_brigade_insert_tail(bb, sys::apr_bucket_flush_create(alloc));
        }
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
            let bb = self.brigade();
            // SAFETY: live request; apr_brigade_write copies `data` into heap
            // buckets of this request's brigade (no flush callback: no I/O).
            let rv = unsafe {
                sys::apr_brigade_write(
                    bb,
                    None,
                    std::ptr::null_mut(),
                    data.as_ptr() as *const _,
                    data.len(),
                )
            };
            if rv != 0 {
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
        if self.bb.is_null() || self.gone {
            return Ok(());
        }
        let bb = self.brigade();
        // SAFETY: live request and connection; the flush bucket joins this
        // request's brigade.
        unsafe {
            let alloc = (*(*self.r).connection).bucket_alloc;
            shim::wsgi_shim_brigade_insert_tail(bb, sys::apr_bucket_flush_create(alloc));
        }
        self.pass()
    }

    fn log(&mut self, level: Level, msg: &str) {
        log::request(level, &self.req(), msg);
    }

    fn abort(&mut self) {
        self.req().abort_connection();
    }

    fn client_gone(&self) -> bool {
        self.gone
    }

    fn head_only(&self) -> bool {
        self.req().header_only()
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
