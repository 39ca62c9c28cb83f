//! The relay proper, after the connection to the daemon exists: send the
//! encoded HELLO + ENVIRON (+ BODY_END when there is no body), then read the
//! daemon's frames and answer them: request body bytes only against
//! BODY_CREDIT, RESPONSE_HEAD/BODY/FILE to the client, RESPONSE_END, ERROR
//! and REJECT mapped to statuses, CANCEL when the client cannot be written
//! to. The RESPONSE_BODY frames one read brought in are held in place (the
//! reader pinned) and go downstream in one pass (docs/daemon-protocol.md
//! §15). Generic over [`RelayHost`] (the request: [`super::super::host::ApacheHost`]
//! in Apache, a fake in the unit tests), so nothing here touches Apache.
//! Called by [`super::handle`] on the request thread; no Python, no GIL.

use super::frames::{Frames, body_complete};
use super::in_flight::InFlight;
use super::pacing::Pacing;
pub use super::relay_host::RelayHost;
use crate::apache::log::Level;
use crate::apache::log_ids::{
    BAD_RESPONSE_FILE, BAD_RESPONSE_HEAD, BAD_STATUS_REASON, BODY_READ_TIMEOUT, BODY_SEND_FAILED,
    CLIENT_WRITE_TIMEOUT, DAEMON_CLOSED, DAEMON_ERROR, DAEMON_READ_ERROR, DAEMON_REJECTED,
    DAEMON_UNREACHABLE, HEAD_OVERSIZED_OR_MALFORMED, HEAD_TIMEOUT, LOCATION_NUL, PROTOCOL_ERROR,
    QUEUE_TIMEOUT_EXPIRED, RESPONSE_FILE_NO_FD, UNEXPECTED_FRAME,
};
use crate::apache::sys;
use crate::config::daemon_relay::ResponseRelay;
use crate::handler::buffers;
use crate::proto::{
    self, BodyEnd, BodyStatus, CancelReason, FdFrameReader, Limits, Message, PairList,
    RejectReason, ResponseHead,
};
use crate::wsgi::{Host, HostError};
use std::ffi::{CString, c_int};
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const OK: c_int = sys::OK as c_int;

/// Request body bytes read from httpd and sent to the daemon per frame.
pub(super) const PUMP_BUFFER: usize = 32 * 1024;

/// Largest read of the daemon's response, and the piece size a longer
/// RESPONSE_BODY is split into. One read picks up several of the frames a
/// daemon sends per yield (16 KiB in the benchmark's stream), which then go
/// downstream in one pass (one `writev` to the client), not one each.
pub(super) const READ_PIECE: usize = 32 * 1024;

/// Most response bytes held (queued, not passed) before a pass.
const HOLD_LIMIT: usize = 64 * 1024;

/// The relay's settings, from the daemon group and the directory.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    /// `WSGIErrorOverride`: a 4xx/5xx head makes Apache render its error document.
    pub error_override: bool,
    /// `response-socket-timeout` (else socket-timeout; None: Apache `Timeout`).
    pub write_timeout: Option<Duration>,
    /// Largest RESPONSE_HEAD accepted (from `header-buffer-size`).
    pub max_head: u32,
    /// With `queue-timeout`: when (µs since the epoch) the request's wait
    /// for a daemon worker ends; the daemon then ACCEPTs as soon as a
    /// worker takes the request, so the first frame must come by then.
    pub queue_deadline_us: Option<u64>,
    /// `response-flush-delay` and `response-buffer-size` (see `pacing`).
    pub relay: ResponseRelay,
}

/// Whether a response header from a daemon can go on the wire as is: a
/// token name (no control character, space, `:` or DEL) and a value
/// without CR, LF or NUL. The daemon's `start_response` refuses anything
/// else, so a header failing this comes from a daemon not playing by the
/// rules and must not split the head Apache writes.
fn header_ok(name: &[u8], value: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| b > 0x20 && b != b':' && b != 0x7f)
        && memchr::memchr3(b'\r', b'\n', 0, value).is_none()
}

/// Microseconds since the epoch.
pub(super) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Logs `msg` in the request's context and returns `status`.
pub(super) fn fail<H: Host>(host: &mut H, status: u32, msg: &str) -> c_int {
    host.log(Level::Err, msg);
    status as c_int
}

/// Sends the request on connections from `connect` and relays the answer
/// to `host`. A daemon restarting for a changed script refuses the request
/// before reading any of it (REJECT RESTARTING): it is sent again, to a new
/// or another daemon process, until `retry_until` (then 503). `connect`
/// returns the status to answer with when it cannot connect (having logged).
pub(super) fn send_with_retry<H: RelayHost>(
    host: &mut H,
    frames: &Frames<'_>,
    settings: Settings,
    name: &str,
    retry_until: Instant,
    mut connect: impl FnMut(&mut H) -> Result<UnixStream, c_int>,
) -> c_int {
    loop {
        let stream = match connect(host) {
            Ok(s) => s,
            Err(status) => return status,
        };
        match attempt(stream, host, frames, settings, name) {
            Attempt::Done(status) => return status,
            Attempt::Restarting(_) if Instant::now() < retry_until => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Attempt::Restarting(text) => {
                return fail(host, sys::HTTP_SERVICE_UNAVAILABLE, &text);
            }
        }
    }
}

/// Whether sending to the daemon failed because it closed its end (it may
/// have answered already), rather than for another reason.
fn daemon_stopped_reading(e: &io::Error) -> bool {
    let io = match e
        .get_ref()
        .and_then(|i| i.downcast_ref::<proto::ProtoError>())
    {
        Some(proto::ProtoError::Io(io)) => io,
        Some(_) => return false,
        None => e,
    };
    matches!(
        io.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

/// How one connection's exchange ended.
enum Attempt {
    Done(c_int),
    /// REJECT RESTARTING: nothing was read or sent; the log line if the
    /// request cannot be sent elsewhere.
    Restarting(String),
}

fn attempt<H: RelayHost>(
    stream: UnixStream,
    host: &mut H,
    frames: &Frames<'_>,
    settings: Settings,
    name: &str,
) -> Attempt {
    let mut slices = [
        IoSlice::new(&frames.hello_frame),
        IoSlice::new(&frames.environ_frame),
        IoSlice::new(if frames.body {
            &[]
        } else {
            &frames.body_end_frame
        }),
    ];
    if let Err(e) = proto::write_all_vectored(&mut &stream, &mut slices) {
        return Attempt::Done(fail(
            host,
            sys::HTTP_SERVICE_UNAVAILABLE,
            &format!(
                "{DAEMON_UNREACHABLE} Unable to send the request to WSGI daemon process '{name}': {e}"
            ),
        ));
    }
    let limits = Limits {
        max_head: settings.max_head,
        ..Limits::default()
    };
    let mut reader = FdFrameReader::with_storage(limits, buffers::RELAY.take());
    // Big RESPONSE_BODY frames reach the client in pieces as they arrive: a
    // relay holds ~2 x 32 KiB of a response, not whole frames.
    reader.split_response_body(READ_PIECE);
    let mut relay = Relay {
        reader,
        link: Link {
            stream,
            session: proto::Session::new(proto::Side::Client),
            host,
            name,
            body_done: !frames.body,
            body_timed_out: false,
            head_sent: false,
            settings,
            scratch: Vec::new(),
            // Only a request with a body needs one.
            pump: if frames.body {
                buffers::PUMP.take()
            } else {
                Vec::new()
            },
            restarting: None,
            held: 0,
            pacing: Pacing::new(settings.relay),
            in_flight: InFlight::new(frames.request.clone()),
        },
    };
    // Replay the frames already written through the session so it knows the state.
    let _ = relay.link.session.send(&Message::Hello(frames.hello));
    let _ = relay.link.session.send(&Message::Environ(PairList::EMPTY));
    if !frames.body {
        let _ = relay.link.session.send(&body_complete());
    }
    let status = relay.run();
    match relay.link.restarting.take() {
        Some(text) => Attempt::Restarting(text),
        None => Attempt::Done(status),
    }
}

struct Relay<'h, H: RelayHost> {
    /// Reads with `recvmsg` (FD_PASSING is offered): a plain read would drop descriptors.
    reader: FdFrameReader,
    /// Everything else, apart so a frame borrowed from `reader` can be handled.
    link: Link<'h, H>,
}

struct Link<'h, H: RelayHost> {
    stream: UnixStream,
    session: proto::Session,
    host: &'h mut H,
    /// The process group, for log lines.
    name: &'h str,
    body_done: bool,
    /// Reading the request body from the client timed out: the answer is
    /// 408, as mod_wsgi, whatever the daemon would say.
    body_timed_out: bool,
    head_sent: bool,
    settings: Settings,
    scratch: Vec<u8>,
    /// Request body bytes on their way to the daemon (allocated on first use).
    pump: Vec<u8>,
    /// The daemon refused the request because it is restarting.
    restarting: Option<String>,
    /// Response bytes the host holds without passing them downstream (more
    /// frames were already read), referring to the reader's buffer, which
    /// stays pinned until they are passed, before the next socket read.
    held: usize,
    /// When response bytes passed downstream get a FLUSH.
    pacing: Pacing,
    /// What the daemon has of the request (for a broken connection's log line).
    in_flight: InFlight,
}

impl<H: RelayHost> Drop for Relay<'_, H> {
    fn drop(&mut self) {
        buffers::PUMP.give(std::mem::take(&mut self.link.pump));
        buffers::RELAY.give(self.reader.take_storage());
    }
}

/// What to do after a frame.
enum Step {
    Next,
    Done(c_int),
    /// Read and drop the rest of the response, then finish as `Then` says.
    Discard(Then),
}

enum Then {
    Status(c_int),
    Redirect(Vec<u8>),
}

impl<H: RelayHost> Relay<'_, H> {
    fn run(&mut self) -> c_int {
        let mut queued = self.link.enter_queue();
        loop {
            let ready = self.reader.frame_ready().unwrap_or(true);
            if !ready {
                let passed = self.link.pass_held();
                self.reader.pin(false);
                if passed.is_err() {
                    return self.link.client_write_failed();
                }
            }
            // With unflushed bytes downstream, one non-blocking recvmsg
            // tells whether the daemon socket is dry (no poll first).
            let arrived =
                ready || (self.link.pacing.pending() && self.reader.try_fill(&self.link.stream));
            if self
                .link
                .pacing
                .flush_before_read(&self.link.stream, arrived)
                && self.link.host.write(&[], true).is_err()
            {
                return self.link.client_write_failed();
            }
            let read = self.reader.read_message_more(&self.link.stream);
            if let Some(restore) = queued.take() {
                let _ = self.link.stream.set_read_timeout(restore);
                if let Err(proto::ProtoError::Io(e)) = &read
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    )
                    && self.link.queue_expired()
                {
                    return self.link.queue_timed_out();
                }
            }
            let (msg, fd, more) = match read {
                Ok(Some(m)) => m,
                Ok(None) => return self.link.daemon_closed(),
                Err(e) => return self.link.read_failed(e),
            };
            if let Err(e) = self.link.session.recv(&msg) {
                let text = format!(
                    "{PROTOCOL_ERROR} protocol error from daemon process '{}': {e}",
                    self.link.name
                );
                return self.link.broken(sys::HTTP_INTERNAL_SERVER_ERROR, text);
            }
            let step = match msg {
                Message::ResponseHead(h) => self.link.on_head(&h),
                Message::ResponseBody { data, .. } => self.link.on_body(data, more),
                m => self.link.on_frame(m, fd),
            };
            // Held bytes are transient buckets over the reader's buffer.
            self.reader.pin(self.link.held > 0);
            match step {
                Step::Next => {}
                Step::Done(status) => return status,
                Step::Discard(then) => {
                    self.discard_response();
                    return match then {
                        Then::Status(status) => status,
                        Then::Redirect(location) => self.link.internal_redirect(&location),
                    };
                }
            }
        }
    }

    /// Reads and drops the rest of the daemon's response (after its head), still
    /// feeding the request body on BODY_CREDIT; cancels on anything unexpected.
    fn discard_response(&mut self) {
        loop {
            let credit = match self.reader.read_message(&self.link.stream) {
                Ok(Some((m, _fd))) => {
                    if self.link.session.recv(&m).is_err() {
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
            if !self.link.body_done && self.link.pump_body(credit).is_err() {
                break;
            }
        }
        self.link.cancel(CancelReason::ClientGone);
    }
}

impl<H: RelayHost> Link<'_, H> {
    fn send(&mut self, m: &Message<'_>) -> io::Result<()> {
        self.session.send(m).map_err(io::Error::other)?;
        proto::write_message(&mut &self.stream, m, &mut self.scratch).map_err(io::Error::other)
    }

    fn cancel(&mut self, reason: CancelReason) {
        let _ = self.send(&Message::Cancel(reason));
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    fn fail(&mut self, status: u32, msg: &str) -> c_int {
        fail(self.host, status, msg)
    }

    /// The response cannot go on: before the head, `status`; after it, the
    /// client connection is aborted (never a clean short response).
    fn broken(&mut self, status: u32, msg: String) -> c_int {
        if self.head_sent {
            self.host.log(Level::Err, &msg);
            self.host.abort();
            OK
        } else {
            self.fail(status, &msg)
        }
    }

    /// With `queue-timeout`, shortens the wait for the first frame to the
    /// queue deadline; returns the read timeout to restore after it.
    fn enter_queue(&mut self) -> Option<Option<Duration>> {
        let deadline = self.settings.queue_deadline_us?;
        let previous = self.stream.read_timeout().ok()?;
        let left = Duration::from_micros(deadline.saturating_sub(now_us()).max(1000));
        let wait = previous.map_or(left, |p| p.min(left));
        self.stream.set_read_timeout(Some(wait)).ok()?;
        Some(previous)
    }

    fn queue_expired(&self) -> bool {
        self.settings
            .queue_deadline_us
            .is_some_and(|d| now_us() >= d)
    }

    /// No daemon worker took the request within `queue-timeout`: 504, as
    /// mod_wsgi; the daemon that accepts it later runs nothing for it.
    fn queue_timed_out(&mut self) -> c_int {
        self.cancel(CancelReason::ChildTimeout);
        let text = format!(
            "{QUEUE_TIMEOUT_EXPIRED} Queue timeout expired for WSGI daemon process '{}'.",
            self.name
        );
        self.broken(sys::HTTP_GATEWAY_TIME_OUT, text)
    }

    fn daemon_closed(&mut self) -> c_int {
        let text = format!(
            "{DAEMON_CLOSED} Truncated or oversized response headers received from daemon process \
             '{}': the daemon closed the connection before the end of the response{}; {}",
            self.name,
            if self.head_sent { "" } else { " head" },
            self.in_flight.describe()
        );
        self.broken(sys::HTTP_BAD_GATEWAY, text)
    }

    fn read_failed(&mut self, e: proto::ProtoError) -> c_int {
        let name = self.name;
        match e {
            proto::ProtoError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.cancel(CancelReason::ChildTimeout);
                let text = format!(
                    "{HEAD_TIMEOUT} Timeout when reading response headers from daemon process '{name}'"
                );
                self.broken(sys::HTTP_GATEWAY_TIME_OUT, text)
            }
            proto::ProtoError::Io(e) => {
                let text = format!(
                    "{DAEMON_READ_ERROR} error reading from daemon process '{name}': {e}; {}",
                    self.in_flight.describe()
                );
                self.broken(sys::HTTP_BAD_GATEWAY, text)
            }
            e => {
                self.cancel(CancelReason::ChildTimeout);
                let text = format!(
                    "{HEAD_OVERSIZED_OR_MALFORMED} Truncated or oversized response headers received from daemon \
                     process '{name}': {e}"
                );
                self.broken(sys::HTTP_INTERNAL_SERVER_ERROR, text)
            }
        }
    }

    /// Every frame but RESPONSE_HEAD.
    fn on_frame(&mut self, msg: Message<'_>, fd: Option<OwnedFd>) -> Step {
        let name = self.name;
        match msg {
            Message::Accept(a) => {
                self.in_flight.accepted(a.daemon_pid, a.worker_id);
                Step::Next
            }
            Message::Reject(rej) => self.on_reject(rej),
            Message::BodyCredit(n) => {
                if !self.body_done
                    && let Err(e) = self.pump_body(n)
                {
                    if daemon_stopped_reading(&e) {
                        // The daemon answered without waiting for the end
                        // of the body (the app read CONTENT_LENGTH bytes)
                        // and closed: its response is still to be read, and
                        // a daemon that died shows as a closed connection.
                        self.body_done = true;
                        return Step::Next;
                    }
                    let text = format!(
                        "{BODY_SEND_FAILED} error sending the request body to daemon process \
                         '{name}': {e}; {}",
                        self.in_flight.describe()
                    );
                    return Step::Done(self.broken(sys::HTTP_BAD_GATEWAY, text));
                }
                if self.body_timed_out {
                    return Step::Done(self.body_read_timed_out());
                }
                Step::Next
            }
            Message::ResponseBody { data, .. } => self.on_body(data, false),
            Message::ResponseFile(f) => {
                // A file goes out with a FLUSH after it.
                self.pacing.flushed();
                self.on_file(fd, f.offset, f.length)
            }
            Message::ResponseEnd(_) => {
                // Flush now rather than at the end-of-request bucket (see
                // `ApacheHost::finish`).
                let _ = self.host.finish();
                Step::Done(OK)
            }
            Message::Error(e) => {
                let status = e.kind.http_status() as u32;
                let text = format!(
                    "{DAEMON_ERROR} daemon process '{name}' reported {:?}: {}",
                    e.kind,
                    String::from_utf8_lossy(e.message)
                );
                Step::Done(self.broken(status, text))
            }
            _ => {
                let text =
                    format!("{UNEXPECTED_FRAME} unexpected frame from daemon process '{name}'");
                Step::Done(self.broken(sys::HTTP_INTERNAL_SERVER_ERROR, text))
            }
        }
    }

    /// Response bytes go downstream; while `more` frames are already read,
    /// the host holds them (in place, up to `HOLD_LIMIT`) and they all go
    /// down in one pass before the relay reads the daemon socket again.
    fn on_body(&mut self, data: &[u8], more: bool) -> Step {
        self.head_sent = true;
        let flush = self.pacing.passing(data.len());
        if more
            && !flush
            && !self.host.client_gone()
            && self.held + data.len() <= HOLD_LIMIT
            && self.host.hold(data)
        {
            self.held += data.len();
            return Step::Next;
        }
        self.held = 0;
        if self.host.write(data, flush).is_err() {
            return Step::Done(self.client_write_failed());
        }
        Step::Next
    }

    /// Passes what `on_body` held downstream (no FLUSH: pacing decides that).
    fn pass_held(&mut self) -> Result<(), HostError> {
        if std::mem::take(&mut self.held) == 0 {
            return Ok(());
        }
        self.host.write(&[], false)
    }

    fn on_reject(&mut self, rej: proto::Reject<'_>) -> Step {
        let status = match rej.reason {
            RejectReason::Restarting | RejectReason::Overloaded => sys::HTTP_SERVICE_UNAVAILABLE,
            RejectReason::QueueTimeout => sys::HTTP_GATEWAY_TIME_OUT,
            _ => sys::HTTP_INTERNAL_SERVER_ERROR,
        };
        let text = format!(
            "{DAEMON_REJECTED} daemon process '{}' refused the request ({:?}): {}",
            self.name,
            rej.reason,
            String::from_utf8_lossy(rej.message)
        );
        if rej.reason == RejectReason::Restarting {
            self.restarting = Some(text);
            return Step::Done(OK);
        }
        Step::Done(self.fail(status, &text))
    }

    fn on_head(&mut self, h: &ResponseHead<'_>) -> Step {
        let status = h.status;
        // The daemon's `start_response` refuses control characters in the
        // status (as mod_wsgi's "control character in status reason
        // phrase"), so one here comes from a daemon that is not playing by
        // the rules: it must not split the head Apache writes.
        if h.reason.iter().any(|&b| b < 0x20 || b == 0x7f) {
            let text = format!(
                "{BAD_STATUS_REASON} bad response head from daemon process '{}': control \
                 character in status reason phrase {:?}",
                self.name,
                String::from_utf8_lossy(h.reason)
            );
            self.cancel(CancelReason::ClientGone);
            return Step::Done(self.fail(sys::HTTP_BAD_GATEWAY, &text));
        }
        // As mod_wsgi: "200 Error" is its old way to ask for Apache's 500 page.
        if status == 200 && h.reason == b" Error" {
            return Step::Discard(Then::Status(sys::HTTP_INTERNAL_SERVER_ERROR as c_int));
        }
        // As mod_wsgi (and CGI): status 200 with a local Location is an internal
        // redirect, done here with method GET; the daemon's body is discarded.
        if status == 200
            && let Some((_, loc)) = h
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"location"))
            && loc.first() == Some(&b'/')
        {
            return Step::Discard(Then::Redirect(loc.to_vec()));
        }
        // WSGIErrorOverride: Apache's ErrorDocument replaces the app's error page.
        if self.settings.error_override && (400..600).contains(&status) {
            return Step::Discard(Then::Status(c_int::from(status)));
        }
        if let Some((name, value)) = h.headers.iter().find(|(k, v)| !header_ok(k, v)) {
            let text = format!(
                "{BAD_RESPONSE_HEAD} bad response head from daemon process '{}': header {:?}: {:?} \
                 has a character a header line cannot hold",
                self.name,
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            );
            self.cancel(CancelReason::ClientGone);
            return Step::Done(self.fail(sys::HTTP_BAD_GATEWAY, &text));
        }
        if let Err(e) = self
            .host
            .send_raw_head(h.status, h.reason, h.headers.iter())
        {
            let text = format!(
                "{BAD_RESPONSE_HEAD} bad response head from daemon process '{}': {e}",
                self.name
            );
            self.cancel(CancelReason::ClientGone);
            return Step::Done(self.fail(sys::HTTP_INTERNAL_SERVER_ERROR, &text));
        }
        self.head_sent = true;
        if let Some(t) = self.settings.write_timeout {
            self.host.set_client_timeout(t);
        }
        Step::Next
    }

    fn on_file(&mut self, fd: Option<OwnedFd>, offset: u64, length: u64) -> Step {
        let name = self.name;
        self.head_sent = true;
        let Some(fd) = fd else {
            // The reader never yields RESPONSE_FILE without its descriptor.
            let text = format!(
                "{RESPONSE_FILE_NO_FD} RESPONSE_FILE without a descriptor from daemon process '{name}'"
            );
            return Step::Done(self.broken(sys::HTTP_INTERNAL_SERVER_ERROR, text));
        };
        match self.send_file(&fd, offset, length) {
            Ok(()) => Step::Next,
            Err(HostError::Io(e)) => {
                self.cancel(CancelReason::ClientGone);
                let text = format!(
                    "{BAD_RESPONSE_FILE} bad RESPONSE_FILE from daemon process '{name}': {e}"
                );
                Step::Done(self.broken(sys::HTTP_INTERNAL_SERVER_ERROR, text))
            }
            Err(_) => Step::Done(self.client_write_failed()),
        }
    }

    /// A write to the client failed: cancel the daemon request (the
    /// application's next write raises OSError); logged when it was the
    /// client write timeout (a client that stopped reading), not a disconnect.
    fn client_write_failed(&mut self) -> c_int {
        self.cancel(CancelReason::ClientGone);
        if self.host.write_timed_out() {
            let limit = match self.settings.write_timeout {
                Some(t) => format!("response-socket-timeout of {} s", t.as_secs_f64()),
                None => "Apache's Timeout".to_string(),
            };
            let text = format!(
                "{CLIENT_WRITE_TIMEOUT} Unable to relay the response of daemon process '{}' to the \
                 client: the write timed out ({limit}, the client is not reading); the \
                 request was cancelled",
                self.name
            );
            self.host.log(Level::Err, &text);
        }
        OK
    }

    /// The client's request body stopped coming in time: as mod_wsgi, the
    /// request ends with 408 (the daemon, told of the read error, is
    /// cancelled and its answer not waited for).
    fn body_read_timed_out(&mut self) -> c_int {
        self.cancel(CancelReason::ClientGone);
        let text = format!(
            "{BODY_READ_TIMEOUT} Request data read error when proxying data to daemon process \
             '{}': the timeout specified has expired (Timeout or RequestReadTimeout)",
            self.name
        );
        self.broken(sys::HTTP_REQUEST_TIME_OUT, text)
    }

    /// Relays up to `credit` body bytes from the client.
    fn pump_body(&mut self, credit: u32) -> io::Result<()> {
        let mut left = credit as usize;
        // httpd fills the buffer from several socket reads (8000 bytes
        // each) when the client has sent them: a BODY frame per 32 KiB.
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
                    self.send(&body_complete())?;
                }
                Ok(n) => {
                    self.send(&Message::Body(&buf[..n]))?;
                    *left -= n;
                }
                Err(e) => {
                    self.body_done = true;
                    self.body_timed_out = self.host.read_timed_out();
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

    /// Sends a file the daemon passed: as a file (an APR file bucket in
    /// Apache, sendfile when enabled); if the host cannot, by reading it here.
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

    /// `internal_redirect` to `location` (mod_cgi's rules).
    fn internal_redirect(&mut self, location: &[u8]) -> c_int {
        let Ok(loc) = CString::new(location) else {
            let text = format!(
                "{LOCATION_NUL} daemon process '{}' sent a Location header with a NUL byte",
                self.name
            );
            return self.fail(sys::HTTP_INTERNAL_SERVER_ERROR, &text);
        };
        self.host.internal_redirect(&loc, !self.body_done);
        OK
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
