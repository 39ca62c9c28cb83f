//! The Apache-child side of daemon mode, run by the `wsgi-script` handler
//! when the request's process group is not empty: find the group in this
//! generation's registry (unknown → 500), connect with mod_wsgi's retry and
//! back-off up to connect-timeout (→ 503), send HELLO + ENVIRON, then relay:
//! body bytes only against BODY_CREDIT (so `100 Continue` goes out only when
//! the application reads), RESPONSE_HEAD/BODY through the embedded
//! [`ApacheHost`], until RESPONSE_END. Statuses as mod_wsgi 6: 503 cannot
//! connect, 502 daemon closed before the head, 504 no head in time, 500
//! malformed/oversized head; after the head a broken stream aborts the
//! client connection. While the response is relayed the client
//! connection's socket timeout is `response-socket-timeout` (as mod_wsgi);
//! a client write that times out cancels the daemon request (WSGIRS0441).
//! A REJECT RESTARTING (a daemon restarting for a changed script, before it
//! read anything) sends the request again, for up to connect-timeout.
//! Runs on the request thread; no Python.

use super::buffers;
use super::host::ApacheHost;
use crate::apache::log::{self, Level};
use crate::apache::request::Request;
use crate::apache::sys;
use crate::config::DirConfig;
use crate::daemon::supervisor::{self, Group};
use crate::proto::{
    self, BodyEnd, BodyStatus, CancelReason, EnvironBuilder, FdFrameReader, Hello, Limits, Message,
    PairList, RejectReason,
};
use crate::wsgi::environ::EnvironData;
use crate::wsgi::{Host, HostError};
use std::ffi::c_int;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const OK: c_int = sys::OK as c_int;

fn fail(r: &Request<'_>, status: u32, msg: &str) -> c_int {
    log::request(Level::Err, r, msg);
    status as c_int
}

/// Connects to the group's socket, retrying while the daemon is not
/// listening yet (mod_wsgi: 0.125 s sleeps, 1 s after the first 2 s). With
/// socket rotation, when a graceful restart has removed this generation's
/// socket, the newest generation's socket of the group is used instead (its
/// daemons accept the previous generation's secret).
fn connect(group: &Group) -> io::Result<UnixStream> {
    let start = Instant::now();
    let mut path = group.socket_path.clone();
    loop {
        match UnixStream::connect(&path) {
            Ok(s) => return Ok(s),
            Err(e)
                if group.rotation
                    && e.raw_os_error() == Some(libc::ENOENT)
                    && let Some(newer) = crate::daemon::socket::newer(
                        &group.socket_prefix,
                        std::os::unix::process::parent_id(),
                        group.generation,
                        group.id,
                    ) =>
            {
                path = newer;
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ECONNREFUSED | libc::EAGAIN | libc::ENOENT)
                ) && start.elapsed() < group.opts.connect_timeout =>
            {
                let pause = if start.elapsed() < Duration::from_secs(2) {
                    Duration::from_millis(125)
                } else {
                    Duration::from_secs(1)
                };
                std::thread::sleep(
                    pause.min(group.opts.connect_timeout.saturating_sub(start.elapsed())),
                );
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the request has a body to relay (Content-Length > 0 or chunked).
fn has_body(r: &Request<'_>) -> bool {
    let h = r.headers_in();
    if h.get("Transfer-Encoding").is_some() {
        return true;
    }
    h.get("Content-Length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// Runs the request in daemon process group `name`.
/// `dir` gives `WSGIEnableSendfile` (a file the daemon passes goes out as an APR file
/// bucket either way; this only lets the core filter use sendfile) and
/// `WSGIErrorOverride`.
pub fn handle(
    r: Request<'_>,
    name: &str,
    application_group: &str,
    env: &EnvironData,
    dir: &DirConfig,
) -> c_int {
    let sendfile = dir.enable_sendfile.unwrap_or(false);
    let Some(reg) = supervisor::registry() else {
        return fail(
            &r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!("[WSGIRS0430] No WSGI daemon process called '{name}' has been configured"),
        );
    };
    let Some(group) = reg.find(name) else {
        return fail(
            &r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!("[WSGIRS0430] No WSGI daemon process called '{name}' has been configured"),
        );
    };
    if let Some(scope) = &group.scope
        && *scope != r.server().hostname()
    {
        return fail(
            &r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!(
                "[WSGIRS0431] WSGI process group '{name}' is defined in virtual host '{scope}' \
                 and not accessible from '{}'",
                r.server().hostname()
            ),
        );
    }
    let queue_start_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let request_id = r.log_id().unwrap_or(b"").to_vec();
    let hello = Message::Hello(Hello {
        version: proto::PROTOCOL_VERSION,
        caps: proto::Caps::FD_PASSING,
        token: group.token.as_bytes(),
        queue_start_us,
        request_id: &request_id,
        process_group: name.as_bytes(),
        application_group: application_group.as_bytes(),
    });
    let mut environ = EnvironBuilder::with_buffer(buffers::ENVIRON.take());
    let mut push_err = None;
    for (k, v) in env.vars.iter() {
        if let Err(e) = environ.push(k.as_bytes(), v) {
            push_err = Some(e);
        }
    }
    let _ = environ.push(b"wsgi.url_scheme", env.url_scheme.as_bytes());
    if r.header_only() {
        let _ = environ.push(proto::HEADER_ONLY_KEY.as_bytes(), b"1");
    }
    for (k, v) in &env.times {
        let _ = environ.push(k.as_bytes(), format!("{v:.6}").as_bytes());
    }
    if let Some(e) = push_err {
        return fail(
            &r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!("[WSGIRS0433] request environment too large for the daemon protocol: {e}"),
        );
    }
    let (hello_frame, body_end_frame) = match (
        hello.to_frame(),
        Message::BodyEnd(BodyEnd {
            status: BodyStatus::Complete,
            trailers: PairList::EMPTY,
        })
        .to_frame(),
    ) {
        (Ok(h), Ok(b)) => (h, b),
        (Err(e), _) | (_, Err(e)) => {
            return fail(
                &r,
                sys::HTTP_INTERNAL_SERVER_ERROR,
                &format!("[WSGIRS0433] cannot encode the request for the daemon: {e}"),
            );
        }
    };
    let environ_frame = buffers::Pooled(environ.finish(), &buffers::ENVIRON);
    let body = has_body(&r);
    // A daemon restarting for a changed script refuses the request before
    // reading any of it (REJECT RESTARTING): send it again, to a new or
    // another daemon process, for up to connect-timeout.
    let retry_until = Instant::now() + group.opts.connect_timeout;
    loop {
        let stream = match connect(group) {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    &r,
                    sys::HTTP_SERVICE_UNAVAILABLE,
                    &format!(
                        "[WSGIRS0432] Unable to connect to WSGI daemon process '{name}' on '{}': {e}",
                        group.socket_path
                    ),
                );
            }
        };
        let _ = stream.set_read_timeout(Some(group.socket_timeout));
        let _ = stream.set_write_timeout(Some(group.socket_timeout));
        let mut slices = [
            IoSlice::new(&hello_frame),
            IoSlice::new(&environ_frame),
            IoSlice::new(if body { &[] } else { &body_end_frame }),
        ];
        if let Err(e) = proto::write_all_vectored(&mut &stream, &mut slices) {
            return fail(
                &r,
                sys::HTTP_SERVICE_UNAVAILABLE,
                &format!(
                    "[WSGIRS0432] Unable to send the request to WSGI daemon process '{name}': {e}"
                ),
            );
        }
        let limits = Limits {
            max_head: group.opts.header_buffer_size.max(8192) * 4,
            ..Limits::default()
        };
        let mut reader = FdFrameReader::with_storage(limits, buffers::RELAY.take());
        // Big RESPONSE_BODY frames reach the client in pieces as they arrive: a
        // relay holds ~2 x 16 KiB of a response, not whole frames.
        reader.split_response_body(PUMP_BUFFER);
        let mut relay = Relay {
            reader,
            stream,
            session: proto::Session::new(proto::Side::Client),
            // SAFETY: the request outlives this call; the host is dropped before return.
            host: unsafe { ApacheHost::new(r.as_ptr()) }.with_sendfile(sendfile),
            body_done: !body,
            head_sent: false,
            error_override: dir.error_override.unwrap_or(false),
            write_timeout: group.opts.client_write_timeout(),
            client_timeout: None,
            scratch: Vec::new(),
            // Only a request with a body needs one.
            pump: if body {
                buffers::RELAY.take()
            } else {
                Vec::new()
            },
            restarting: None,
        };
        // Replay the frames already written through the session so it knows the state.
        let _ = relay.session.send(&hello);
        let _ = relay.session.send(&Message::Environ(PairList::EMPTY));
        if !body {
            let _ = relay.session.send(&Message::BodyEnd(BodyEnd {
                status: BodyStatus::Complete,
                trailers: PairList::EMPTY,
            }));
        }
        let rc = relay.run(&r, name);
        match relay.restarting.take() {
            Some(_) if Instant::now() < retry_until => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(text) => return fail(&r, sys::HTTP_SERVICE_UNAVAILABLE, &text),
            None => return rc,
        }
    }
}

/// The client connection's socket timeout, set to `response-socket-timeout`
/// while a daemon response is relayed and put back when the relay ends (as
/// mod_wsgi), so a kept-alive connection's next request has its old timeout.
struct ClientTimeout {
    sock: *mut sys::apr_socket_t,
    previous: sys::apr_interval_time_t,
}

impl ClientTimeout {
    fn set(r: &Request<'_>, timeout: Duration) -> Option<ClientTimeout> {
        let micros = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX);
        // SAFETY: live request and connection of this handler; the core's
        // socket of the connection (or NULL) lives as long as the connection.
        unsafe {
            let sock = sys::ap_get_conn_socket((*r.as_ptr()).connection);
            if sock.is_null() {
                return None;
            }
            let mut previous: sys::apr_interval_time_t = 0;
            if sys::apr_socket_timeout_get(sock, &mut previous) != 0 {
                return None;
            }
            sys::apr_socket_timeout_set(sock, micros);
            Some(ClientTimeout { sock, previous })
        }
    }
}

impl Drop for ClientTimeout {
    fn drop(&mut self) {
        // SAFETY: dropped with the Relay, inside the handler, while the
        // connection (and so its socket) is still live.
        unsafe { sys::apr_socket_timeout_set(self.sock, self.previous) };
    }
}

/// Request body bytes read from httpd and sent to the daemon per frame.
const PUMP_BUFFER: usize = 16 * 1024;

struct Relay {
    /// Reads with `recvmsg` (FD_PASSING is offered): a plain read would drop descriptors.
    reader: FdFrameReader,
    stream: UnixStream,
    session: proto::Session,
    host: ApacheHost,
    body_done: bool,
    head_sent: bool,
    /// `WSGIErrorOverride`: a 4xx/5xx head makes Apache render its error document.
    error_override: bool,
    /// `response-socket-timeout` (else socket-timeout; None: Apache `Timeout`).
    write_timeout: Option<Duration>,
    /// Set once the response head is relayed; restores the old timeout on drop.
    client_timeout: Option<ClientTimeout>,
    scratch: Vec<u8>,
    /// Request body bytes on their way to the daemon (allocated on first use).
    pump: Vec<u8>,
    /// The daemon refused the request because it is restarting (the log
    /// line if it cannot be sent elsewhere): nothing was read or sent yet.
    restarting: Option<String>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        buffers::RELAY.give(std::mem::take(&mut self.pump));
        buffers::RELAY.give(self.reader.take_storage());
    }
}

impl Relay {
    fn send(&mut self, m: &Message<'_>) -> io::Result<()> {
        self.session.send(m).map_err(io::Error::other)?;
        proto::write_message(&mut &self.stream, m, &mut self.scratch).map_err(io::Error::other)
    }

    fn cancel(&mut self, reason: CancelReason) {
        let _ = self.send(&Message::Cancel(reason));
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// A write to the client failed: cancel the daemon request (the
    /// application's next write raises OSError); logged when it was the
    /// client write timeout (a client that stopped reading), not a disconnect.
    fn client_write_failed(&mut self, r: &Request<'_>, name: &str) -> c_int {
        self.cancel(CancelReason::ClientGone);
        if self.host.write_timed_out() {
            let limit = match self.write_timeout {
                Some(t) => format!("response-socket-timeout of {} s", t.as_secs_f64()),
                None => "Apache's Timeout".to_string(),
            };
            log::request(
                Level::Err,
                r,
                &format!(
                    "[WSGIRS0441] Unable to relay the response of daemon process '{name}' to the \
                     client: the write timed out ({limit}, the client is not reading); the \
                     request was cancelled"
                ),
            );
        }
        OK
    }

    /// Relays up to `credit` body bytes from the client.
    fn pump_body(&mut self, credit: u32) -> io::Result<()> {
        let mut left = credit as usize;
        // httpd's input filters hand over at most one socket read (8000
        // bytes) per call, so a bigger buffer would only cost memory.
        let mut buf = std::mem::take(&mut self.pump);
        buf.resize(PUMP_BUFFER, 0);
        let r = self.pump_with(&mut buf, &mut left);
        self.pump = buf;
        r
    }

    fn pump_with(&mut self, buf: &mut [u8], left: &mut usize) -> io::Result<()> {
        while *left > 0 && !self.body_done {
            let want = (*left).min(buf.len());
            match self.host.read(&mut buf[..want]) {
                Ok(0) => {
                    self.body_done = true;
                    self.send(&Message::BodyEnd(BodyEnd {
                        status: BodyStatus::Complete,
                        trailers: PairList::EMPTY,
                    }))?;
                }
                Ok(n) => {
                    self.send(&Message::Body(&buf[..n]))?;
                    *left -= n;
                }
                Err(e) => {
                    self.body_done = true;
                    let status = match e {
                        HostError::ClientGone(_) => BodyStatus::ClientAborted,
                        HostError::TooLarge => BodyStatus::TooLarge,
                        _ => BodyStatus::ReadError,
                    };
                    self.send(&Message::BodyEnd(BodyEnd {
                        status,
                        trailers: PairList::EMPTY,
                    }))?;
                }
            }
        }
        Ok(())
    }

    /// Sends a file the daemon passed: an APR file bucket (sendfile when enabled); if
    /// that cannot be set up, by reading the file here.
    fn send_file(&mut self, fd: &OwnedFd, offset: u64, len: u64) -> Result<(), HostError> {
        // Only a regular file holding the whole range becomes a file bucket: anything
        // else from the daemon is a protocol error, not something to hand the core filter.
        let meta = std::fs::File::from(fd.try_clone().map_err(|e| HostError::Io(e.to_string()))?)
            .metadata()
            .map_err(|e| HostError::Io(e.to_string()))?;
        if !meta.is_file() || offset.checked_add(len).is_none_or(|end| end > meta.len()) {
            return Err(HostError::Io(format!(
                "RESPONSE_FILE range {offset}+{len} is not within a regular file of {} bytes",
                meta.len()
            )));
        }
        if self.host.send_file(fd.as_raw_fd(), offset, len)? {
            return Ok(());
        }
        let file = std::fs::File::from(fd.try_clone().map_err(|e| HostError::Io(e.to_string()))?);
        let mut buf = vec![0u8; 256 * 1024];
        let (mut pos, end) = (offset, offset.saturating_add(len));
        while pos < end {
            let want = buf.len().min((end - pos) as usize);
            let n = std::os::unix::fs::FileExt::read_at(&file, &mut buf[..want], pos)
                .map_err(|e| HostError::Io(e.to_string()))?;
            if n == 0 {
                return Err(HostError::Io(
                    "file shorter than RESPONSE_FILE length".into(),
                ));
            }
            self.host.write(&buf[..n], false)?;
            pos += n as u64;
        }
        self.host.write(&[], true)
    }

    /// Reads and drops the rest of the daemon's response (after its head), still
    /// feeding the request body on BODY_CREDIT; cancels on anything unexpected.
    fn discard_response(&mut self) {
        loop {
            let credit = match self.reader.read_message(&self.stream) {
                Ok(Some((m, _fd))) => {
                    if self.session.recv(&m).is_err() {
                        break;
                    }
                    match m {
                        Message::ResponseBody { .. } | Message::ResponseFile(_) => continue,
                        Message::ResponseEnd(_) | Message::Error(_) => return,
                        Message::BodyCredit(n) => n,
                        _ => break,
                    }
                }
                _ => return,
            };
            if !self.body_done && self.pump_body(credit).is_err() {
                break;
            }
        }
        self.cancel(CancelReason::ClientGone);
    }

    /// `ap_internal_redirect_handler` to `location` as a GET without a body (mod_cgi's
    /// rules); the unread part of the request body is discarded first.
    fn internal_redirect(&mut self, r: &Request<'_>, location: &[u8], name: &str) -> c_int {
        let Ok(loc) = std::ffi::CString::new(location) else {
            return fail(
                r,
                sys::HTTP_INTERNAL_SERVER_ERROR,
                &format!(
                    "[WSGIRS0440] daemon process '{name}' sent a Location header with a NUL byte"
                ),
            );
        };
        let rp = r.as_ptr();
        // SAFETY: the live request of this handler; strings are static or copied into
        // r->pool, which outlives the redirect.
        unsafe {
            if !self.body_done {
                sys::ap_discard_request_body(rp);
            }
            (*rp).method = c"GET".as_ptr();
            (*rp).method_number = sys::M_GET as c_int;
            sys::apr_table_unset((*rp).headers_in, c"Content-Length".as_ptr());
            sys::apr_table_unset((*rp).headers_in, c"Transfer-Encoding".as_ptr());
            let loc = sys::apr_pstrdup((*rp).pool, loc.as_ptr());
            sys::ap_internal_redirect_handler(loc, rp);
        }
        OK
    }

    fn broken(&mut self, r: &Request<'_>, status: u32, msg: String) -> c_int {
        if self.head_sent {
            log::request(Level::Err, r, &msg);
            self.host.abort();
            OK
        } else {
            fail(r, status, &msg)
        }
    }

    fn run(&mut self, r: &Request<'_>, name: &str) -> c_int {
        loop {
            let (msg, fd) = match self.reader.read_message(&self.stream) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    return self.broken(
                        r,
                        sys::HTTP_BAD_GATEWAY,
                        format!(
                            "[WSGIRS0434] Truncated or oversized response headers received from \
                             daemon process '{name}': the daemon closed the connection{}",
                            if self.head_sent {
                                " before the end of the response"
                            } else {
                                ""
                            }
                        ),
                    );
                }
                Err(proto::ProtoError::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.cancel(CancelReason::ChildTimeout);
                    return self.broken(
                        r,
                        sys::HTTP_GATEWAY_TIME_OUT,
                        format!(
                            "[WSGIRS0435] Timeout when reading response headers from daemon process '{name}'"
                        ),
                    );
                }
                Err(proto::ProtoError::Io(e)) => {
                    return self.broken(
                        r,
                        sys::HTTP_BAD_GATEWAY,
                        format!("[WSGIRS0434] error reading from daemon process '{name}': {e}"),
                    );
                }
                Err(e) => {
                    self.cancel(CancelReason::ChildTimeout);
                    return self.broken(
                        r,
                        sys::HTTP_INTERNAL_SERVER_ERROR,
                        format!(
                            "[WSGIRS0436] Truncated or oversized response headers received from \
                             daemon process '{name}': {e}"
                        ),
                    );
                }
            };
            if let Err(e) = self.session.recv(&msg) {
                let text = format!("[WSGIRS0436] protocol error from daemon process '{name}': {e}");
                return self.broken(r, sys::HTTP_INTERNAL_SERVER_ERROR, text);
            }
            match msg {
                Message::Accept(_) => {}
                Message::Reject(rej) => {
                    let status = match rej.reason {
                        RejectReason::Restarting | RejectReason::Overloaded => {
                            sys::HTTP_SERVICE_UNAVAILABLE
                        }
                        RejectReason::QueueTimeout => sys::HTTP_GATEWAY_TIME_OUT,
                        _ => sys::HTTP_INTERNAL_SERVER_ERROR,
                    };
                    let text = format!(
                        "[WSGIRS0437] daemon process '{name}' refused the request ({:?}): {}",
                        rej.reason,
                        String::from_utf8_lossy(rej.message)
                    );
                    if rej.reason == RejectReason::Restarting {
                        self.restarting = Some(text);
                        return OK;
                    }
                    return fail(r, status, &text);
                }
                Message::BodyCredit(n) => {
                    if !self.body_done
                        && let Err(e) = self.pump_body(n)
                    {
                        let text = format!(
                            "[WSGIRS0434] error sending the request body to daemon process '{name}': {e}"
                        );
                        return self.broken(r, sys::HTTP_BAD_GATEWAY, text);
                    }
                }
                Message::ResponseHead(h) => {
                    let status = h.status;
                    let location = h
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(b"location"))
                        .map(|(_, v)| v.to_vec());
                    // As mod_wsgi: "200 Error" is its old way to ask for Apache's 500 page.
                    if status == 200 && h.reason == b"Error" {
                        self.discard_response();
                        return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
                    }
                    // As mod_wsgi (and CGI): status 200 with a local Location is an internal
                    // redirect, done here with method GET; the daemon's body is discarded.
                    if status == 200
                        && let Some(loc) = location.filter(|l| l.first() == Some(&b'/'))
                    {
                        self.discard_response();
                        return self.internal_redirect(r, &loc, name);
                    }
                    // WSGIErrorOverride: Apache's ErrorDocument replaces the app's error page.
                    if self.error_override && (400..600).contains(&status) {
                        self.discard_response();
                        return c_int::from(status);
                    }
                    if let Err(e) = self
                        .host
                        .send_raw_head(h.status, h.reason, h.headers.iter())
                    {
                        let text = format!(
                            "[WSGIRS0436] bad response head from daemon process '{name}': {e}"
                        );
                        self.cancel(CancelReason::ClientGone);
                        return fail(r, sys::HTTP_INTERNAL_SERVER_ERROR, &text);
                    }
                    self.head_sent = true;
                    if let Some(t) = self.write_timeout {
                        self.client_timeout = ClientTimeout::set(r, t);
                    }
                }
                Message::ResponseBody { data, flush } => {
                    self.head_sent = true;
                    if self.host.write(data, flush).is_err() {
                        return self.client_write_failed(r, name);
                    }
                }
                Message::ResponseFile(f) => {
                    self.head_sent = true;
                    let Some(fd) = fd else {
                        // The reader never yields RESPONSE_FILE without its descriptor.
                        let text = format!(
                            "[WSGIRS0436] RESPONSE_FILE without a descriptor from daemon process '{name}'"
                        );
                        return self.broken(r, sys::HTTP_INTERNAL_SERVER_ERROR, text);
                    };
                    match self.send_file(&fd, f.offset, f.length) {
                        Ok(()) => {}
                        Err(HostError::Io(e)) => {
                            self.cancel(CancelReason::ClientGone);
                            let text = format!(
                                "[WSGIRS0436] bad RESPONSE_FILE from daemon process '{name}': {e}"
                            );
                            return self.broken(r, sys::HTTP_INTERNAL_SERVER_ERROR, text);
                        }
                        Err(_) => return self.client_write_failed(r, name),
                    }
                }
                Message::ResponseEnd(_) => {
                    // Flush now rather than at the end-of-request bucket (see
                    // `ApacheHost::finish`).
                    let _ = self.host.finish();
                    return OK;
                }
                Message::Error(e) => {
                    let status = e.kind.http_status() as u32;
                    let text = format!(
                        "[WSGIRS0438] daemon process '{name}' reported {:?}: {}",
                        e.kind,
                        String::from_utf8_lossy(e.message)
                    );
                    return self.broken(r, status, text);
                }
                _ => {
                    let text =
                        format!("[WSGIRS0436] unexpected frame from daemon process '{name}'");
                    return self.broken(r, sys::HTTP_INTERNAL_SERVER_ERROR, text);
                }
            }
        }
    }
}
