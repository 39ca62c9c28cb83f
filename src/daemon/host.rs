//! The daemon side of one request's exchange, as the WSGI core sees it: a
//! [`DaemonHost`] (the [`crate::wsgi::Host`] that speaks WSGP) where
//! `wsgi.input` pulls the body with BODY_CREDIT/BODY and the response goes
//! out as RESPONSE_HEAD, RESPONSE_BODY (FLUSH on every yield), RESPONSE_FILE
//! and an explicit RESPONSE_END, or ERROR; the [`Finisher`] that shares it
//! between the core and `server::serve` (which writes the last frame), and
//! the [`PanicAnswer`] guard that sends ERROR if a request panics. Used by
//! `server` on a daemon worker thread; never used with the GIL held, except
//! `Finisher::try_buffer`, which therefore never waits for its lock.

use crate::apache::log::{self, Level};
use crate::proto::{
    self, BodyStatus, ErrorKind, ErrorReport, FrameReader, FrameType, Message, PairList,
    ResponseEnd, ResponseHead, Session, Timings,
};
use crate::wsgi::{Head, Host, HostError, Outcome, Taken, latin1, request};
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, sendmsg};
use std::io::{BufReader, IoSlice};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Instant;

const CREDIT_WINDOW: u32 = 64 * 1024;
const MAX_DATA: usize = 256 * 1024;

/// Encoded frames wait in `DaemonHost::out` until a flush point (a flushed
/// body chunk, a body-credit request, a passed file, the end) or until they
/// reach this size, so a small response leaves in one write.
const OUT_LIMIT: usize = 64 * 1024;

/// A protocol error (a frame the session does not allow, or one that cannot
/// be encoded) as the core sees it.
fn protocol(e: proto::ProtoError) -> HostError {
    HostError::Io(format!("protocol: {e}"))
}

/// The daemon-side [`Host`] of one request.
pub struct DaemonHost {
    /// The connection, read through a buffer; writes go to the same socket.
    pub(super) reader: FrameReader<BufReader<UnixStream>>,
    pub(super) session: Session,
    /// Body bytes received but not yet handed to the application.
    /// Payload bytes of the current BODY frame not yet read: they are read
    /// straight into the application's buffer.
    pub(super) data_left: u32,
    pub(super) body_end: Option<BodyStatus>,
    pub(super) gone: bool,
    pub(super) failed: bool,
    /// FD_PASSING was granted: `send_file` passes the descriptor (RESPONSE_FILE).
    pub(super) fd_passing: bool,
    /// Apache sends no body (HEAD): a body shorter than `Content-Length` is expected.
    pub(super) head_only: bool,
    pub(super) request_id: String,
    /// Frames encoded but not written yet.
    pub(super) out: Vec<u8>,
    /// The response status sent (0: none yet), for the statistics.
    pub(super) status: u16,
}

impl DaemonHost {
    fn stream(&self) -> &UnixStream {
        self.reader.get_ref().get_ref()
    }

    /// Adds one frame to `out` (the session checks it is allowed now).
    fn queue(&mut self, m: &Message<'_>) -> Result<(), HostError> {
        self.session
            .send(m)
            .and_then(|()| m.encode(&mut self.out))
            .map_err(protocol)
    }

    /// Writes `out`, then `tail` (header and data of a body frame), in one
    /// vectored write.
    fn flush_out(&mut self, tail: &[&[u8]]) -> Result<(), HostError> {
        if self.out.is_empty() && tail.iter().all(|t| t.is_empty()) {
            return Ok(());
        }
        let mut slices: Vec<IoSlice<'_>> = std::iter::once(self.out.as_slice())
            .chain(tail.iter().copied())
            .map(IoSlice::new)
            .collect();
        let mut w = self.reader.get_ref().get_ref();
        let r = proto::write_all_vectored(&mut w, &mut slices);
        self.out.clear();
        r.map_err(|e| {
            self.gone = true;
            HostError::ClientGone(format!("write to the Apache child failed: {e}"))
        })
    }

    /// Sends one frame now, after whatever was queued before it.
    fn send(&mut self, m: &Message<'_>) -> Result<(), HostError> {
        self.queue(m)?;
        self.flush_out(&[])
    }

    /// One RESPONSE_BODY frame: queued when small and unflushed, else written
    /// after the queue in one vectored write (large data is not copied).
    fn send_body(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        let m = Message::ResponseBody { data, flush };
        if !flush && self.out.len() + data.len() < OUT_LIMIT {
            return self.queue(&m);
        }
        self.session.send(&m).map_err(protocol)?;
        let h = proto::data_header(m.frame_type(), data.len(), flush).map_err(protocol)?;
        self.flush_out(&[&h, data])
    }

    fn queue_head(&mut self, head: &Head) -> Result<(), HostError> {
        let mut pairs = proto::PairListBuf::new();
        for (k, v) in &head.headers {
            // Validated latin-1 text: one byte per character, as embedded mode sends it.
            pairs
                .push(&latin1(k), &latin1(v))
                .map_err(|e| HostError::Io(format!("response header: {e}")))?;
        }
        // The status line after its three digits, as the application wrote
        // it: "" (a bare code), " " (an empty reason) or " Reason".
        let reason = head.status_line.get(3..).unwrap_or("");
        let list = pairs.as_list();
        self.status = head.status;
        self.queue(&Message::ResponseHead(ResponseHead {
            status: head.status,
            reason: reason.as_bytes(),
            headers: list,
        }))
    }

    /// Reads the next C→D frame header: a BODY frame's payload is left for
    /// `read` to take into the caller's buffer; BODY_END and CANCEL are read
    /// whole.
    fn pull(&mut self) -> Result<(), HostError> {
        let gone = |e| HostError::ClientGone(format!("reading request body: {e}"));
        let Some(h) = self.reader.read_header().map_err(gone)? else {
            self.gone = true;
            return Err(HostError::ClientGone(
                "Apache child closed the connection".into(),
            ));
        };
        if h.frame_type == FrameType::Body {
            self.session.recv_data_header(&h).map_err(protocol)?;
            self.data_left = h.len;
            return Ok(());
        }
        let msg = self.reader.read_payload(&h).map_err(gone)?;
        self.session.recv(&msg).map_err(protocol)?;
        match msg {
            Message::BodyEnd(e) => {
                self.body_end = Some(e.status);
                Ok(())
            }
            Message::Cancel(_) => {
                self.gone = true;
                Err(HostError::ClientGone(
                    "request cancelled by the client".into(),
                ))
            }
            _ => Err(HostError::Io(
                "unexpected frame while reading the body".into(),
            )),
        }
    }
}

impl Host for DaemonHost {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.data_left > 0 {
                let want = buf.len().min(self.data_left as usize);
                let n = self
                    .reader
                    .read_data(&mut buf[..want])
                    .map_err(|e| HostError::ClientGone(format!("reading request body: {e}")))?;
                self.data_left -= n as u32;
                return Ok(n);
            }
            match self.body_end {
                Some(BodyStatus::Complete) => return Ok(0),
                Some(s) => {
                    return Err(HostError::ClientGone(format!(
                        "request body incomplete ({s:?})"
                    )));
                }
                None => {}
            }
            // This read's window plus one window (64 KiB) of read-ahead: the
            // Apache child reads the client and sends the next window while
            // the application works through this one, instead of one round
            // trip per window. Granted only from inside a read, as before.
            // The read-ahead stays far below a default socket buffer (208
            // KiB), so an application that stops reading and writes its
            // response never leaves the child blocked sending it.
            let want = u64::from((buf.len() as u32).clamp(CREDIT_WINDOW, 4 * CREDIT_WINDOW));
            let outstanding = self.session.credit();
            if outstanding < want {
                let grant = want + u64::from(CREDIT_WINDOW) - outstanding;
                self.send(&Message::BodyCredit(grant as u32))?;
            }
            self.pull()?;
        }
    }

    fn send_head(&mut self, head: &Head) -> Result<(), HostError> {
        self.queue_head(head)?;
        self.flush_out(&[])
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        let mut chunks = data.chunks(MAX_DATA).peekable();
        if chunks.peek().is_none() {
            if flush {
                return self.send_body(b"", flush);
            }
            return Ok(());
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            self.send_body(c, flush && last)?;
        }
        Ok(())
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
        if data.len() > MAX_DATA || (!flush && self.out.len() + data.len() >= OUT_LIMIT) {
            return Ok(Taken::No);
        }
        if let Some(head) = head {
            self.queue_head(head)?;
        }
        if !flush {
            if !data.is_empty() {
                self.queue(&Message::ResponseBody { data, flush: false })?;
            }
            return Ok(Taken::Yes);
        }
        // A flushed chunk: one non-blocking write of the queue and the frame.
        // Whatever the socket has no room for stays queued for `flush`.
        let m = Message::ResponseBody { data, flush: true };
        self.session.send(&m).map_err(protocol)?;
        let h = proto::data_header(m.frame_type(), data.len(), true).map_err(protocol)?;
        let parts = [self.out.as_slice(), &h, data];
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let iov: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        let sent = match sendmsg::<()>(self.stream().as_raw_fd(), &iov, &[], flags, None) {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => 0,
            Err(e) => {
                self.gone = true;
                return Err(HostError::ClientGone(format!(
                    "write to the Apache child failed: {e}"
                )));
            }
        };
        if sent == total {
            self.out.clear();
            return Ok(Taken::Yes);
        }
        let mut rest = Vec::with_capacity(total - sent);
        let mut skip = sent;
        for p in parts {
            let k = skip.min(p.len());
            rest.extend_from_slice(&p[k..]);
            skip -= k;
        }
        self.out = rest;
        Ok(Taken::FlushPending)
    }

    fn flush(&mut self) -> Result<(), HostError> {
        self.flush_out(&[])
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        if !self.fd_passing || len == 0 {
            return Ok(false);
        }
        if self.gone {
            return Err(HostError::ClientGone("client connection closed".into()));
        }
        // The Apache child gets a read-only descriptor of its own, whatever mode the
        // application opened the file in; if that cannot be had, the core streams the file.
        let Ok(file) = std::fs::File::open(format!("/proc/self/fd/{fd}")) else {
            return Ok(false);
        };
        let rf = proto::ResponseFile {
            offset,
            length: len,
            flush: true,
        };
        let m = Message::ResponseFile(rf);
        self.flush_out(&[])?;
        self.session.send(&m).map_err(protocol)?;
        proto::send_response_file(self.stream(), &rf, file.as_fd()).map_err(|e| {
            self.gone = true;
            HostError::ClientGone(format!("write to the Apache child failed: {e}"))
        })?;
        Ok(true)
    }

    fn log(&mut self, level: Level, msg: &str) {
        if self.request_id.is_empty() {
            log::server(level, None, msg);
        } else {
            log::server(level, None, &format!("[request {}] {msg}", self.request_id));
        }
    }

    fn log_at(&mut self, level: Level, at: (&str, u32), msg: &str) {
        if self.request_id.is_empty() {
            log::server_at(level, None, at.0, at.1, msg);
        } else {
            let msg = format!("[request {}] {msg}", self.request_id);
            log::server_at(level, None, at.0, at.1, &msg);
        }
    }

    fn abort(&mut self) {
        self.failed = true;
        let _ = self.send(&Message::Error(ErrorReport {
            kind: ErrorKind::AppException,
            message: b"the application failed after the response head was sent",
        }));
    }

    fn client_gone(&self) -> bool {
        self.gone
    }

    fn head_only(&self) -> bool {
        self.head_only
    }
}

/// Shares the host between the exchange (which drops it when the request
/// ends) and `server::serve`, which writes the final frame afterwards.
#[derive(Clone)]
pub(super) struct Finisher(Arc<std::sync::Mutex<Option<Box<DaemonHost>>>>);

impl Finisher {
    pub(super) fn new(h: Box<DaemonHost>) -> Finisher {
        Finisher(Arc::new(std::sync::Mutex::new(Some(h))))
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut DaemonHost) -> Result<R, HostError>,
    ) -> Result<R, HostError> {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_mut() {
            Some(h) => f(h),
            None => Err(HostError::Expired),
        }
    }

    /// Ends the exchange with ERROR after a panic (unless the Apache child
    /// is gone, has had an ERROR already, or the request has ended).
    pub(super) fn fail_after_panic(&self) {
        let Some(mut h) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        if h.gone || h.failed {
            return;
        }
        let _ = h.send(&Message::Error(ErrorReport {
            kind: ErrorKind::AppException,
            message: b"internal error (panic) in the daemon worker; see the daemon's log",
        }));
        let _ = h.stream().shutdown(std::net::Shutdown::Write);
    }

    /// The status the request counts under in the statistics: the one
    /// sent, else what the Apache child answers (504 after request-timeout,
    /// 500 for a failure before the head).
    pub(super) fn status(&self, ended: &request::Ended) -> u16 {
        let sent = self.with(|h| Ok(h.status)).unwrap_or(0);
        match ended {
            _ if sent != 0 => sent,
            request::Ended::Responded(Outcome::TimedOut) => 504,
            _ => 500,
        }
    }

    pub(super) fn finish(
        &self,
        ended: request::Ended,
        started: Instant,
        queue_start_us: u64,
        accepted_us: u64,
    ) {
        let Some(mut h) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        if h.gone || h.failed {
            return;
        }
        let msg = match ended {
            request::Ended::Responded(Outcome::Completed) => Message::ResponseEnd(ResponseEnd {
                timings: Timings {
                    app_us: started.elapsed().as_micros() as u64,
                    cpu_us: 0,
                    queue_us: accepted_us.saturating_sub(queue_start_us),
                },
                trailers: PairList::EMPTY,
            }),
            request::Ended::Responded(Outcome::TimedOut) => Message::Error(ErrorReport {
                kind: ErrorKind::RequestTimeout,
                message: b"request-timeout: mod_wsgi.RequestTimeout interrupted the application",
            }),
            _ => Message::Error(ErrorReport {
                kind: ErrorKind::AppException,
                message: b"the WSGI application failed; see the daemon's log",
            }),
        };
        let _ = h.send(&msg);
        let _ = h.stream().shutdown(std::net::Shutdown::Write);
    }
}

/// Held while a request runs: if a panic unwinds past it, the Apache child
/// gets an ERROR frame now (500 before the response head, an aborted
/// connection after it), before the worker logs the panic.
pub(super) struct PanicAnswer(pub(super) Finisher);

impl Drop for PanicAnswer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail_after_panic();
        }
    }
}

impl Host for Finisher {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        self.with(|h| h.read(buf))
    }
    fn send_head(&mut self, head: &Head) -> Result<(), HostError> {
        self.with(|h| h.send_head(head))
    }
    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        self.with(|h| h.write(data, flush))
    }
    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        self.with(|h| h.send_file(fd, offset, len))
    }
    fn try_buffer(
        &mut self,
        head: Option<&Head>,
        data: &[u8],
        flush: bool,
    ) -> Result<Taken, HostError> {
        // Called with the GIL held: never wait for the lock.
        match self.0.try_lock() {
            Ok(mut g) => match g.as_mut() {
                Some(h) => h.try_buffer(head, data, flush),
                None => Err(HostError::Expired),
            },
            Err(_) => Ok(Taken::No),
        }
    }
    fn flush(&mut self) -> Result<(), HostError> {
        self.with(|h| h.flush())
    }
    fn log(&mut self, level: Level, msg: &str) {
        let _ = self.with(|h| {
            h.log(level, msg);
            Ok(())
        });
    }
    fn log_at(&mut self, level: Level, at: (&str, u32), msg: &str) {
        let _ = self.with(|h| {
            h.log_at(level, at, msg);
            Ok(())
        });
    }
    fn abort(&mut self) {
        let _ = self.with(|h| {
            h.abort();
            Ok(())
        });
    }
    fn client_gone(&self) -> bool {
        self.0
            .lock()
            .map(|g| g.as_ref().is_some_and(|h| h.gone))
            .unwrap_or(true)
    }
    fn head_only(&self) -> bool {
        self.0
            .lock()
            .map(|g| g.as_ref().is_some_and(|h| h.head_only))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Accept, BodyEnd, Caps, FdFrameReader, Hello, Limits, ResponseFile, Side};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;

    /// A host whose session has had HELLO/ACCEPT (with `caps`), ENVIRON and BODY_END.
    fn host(caps: Caps) -> (DaemonHost, UnixStream) {
        let (d, c) = UnixStream::pair().unwrap();
        let mut session = Session::new(Side::Daemon);
        let token = [1u8; 32];
        session
            .recv(&Message::Hello(Hello {
                version: proto::PROTOCOL_VERSION,
                caps,
                token: &token,
                queue_start_us: 0,
                request_id: b"",
                process_group: b"g",
                application_group: b"",
            }))
            .unwrap();
        session
            .send(&Message::Accept(Accept {
                version: proto::PROTOCOL_VERSION,
                caps,
                daemon_pid: 1,
                worker_id: 0,
            }))
            .unwrap();
        session.recv(&Message::Environ(PairList::EMPTY)).unwrap();
        session
            .recv(&Message::BodyEnd(BodyEnd {
                status: BodyStatus::Complete,
                trailers: PairList::EMPTY,
            }))
            .unwrap();
        let h = DaemonHost {
            reader: FrameReader::new(BufReader::new(d), Limits::default()),
            session,
            data_left: 0,
            body_end: Some(BodyStatus::Complete),
            gone: false,
            failed: false,
            fd_passing: caps.contains(Caps::FD_PASSING),
            head_only: false,
            request_id: String::new(),
            out: Vec::new(),
            status: 0,
        };
        (h, c)
    }

    fn head() -> Head {
        Head {
            status: 200,
            status_line: "200 OK".into(),
            headers: vec![],
        }
    }

    fn data_file() -> std::fs::File {
        let f = tempfile::tempfile().unwrap();
        f.write_all_at(b"0123456789", 0).unwrap();
        f
    }

    #[test]
    fn send_file_passes_a_read_only_descriptor() {
        let (mut h, c) = host(Caps::FD_PASSING);
        let f = data_file(); // opened read-write
        h.send_head(&head()).unwrap();
        assert!(h.send_file(f.as_raw_fd(), 3, 5).unwrap());
        drop(h);
        let mut r = FdFrameReader::new(Limits::default());
        let (m, fd) = r.read_message(&c).unwrap().unwrap();
        assert!(matches!(m, Message::ResponseHead(_)) && fd.is_none());
        let (m, fd) = r.read_message(&c).unwrap().unwrap();
        assert_eq!(
            m,
            Message::ResponseFile(ResponseFile {
                offset: 3,
                length: 5,
                flush: true
            })
        );
        let fd = fd.expect("descriptor");
        // SAFETY: fcntl(F_GETFL) on a descriptor we own.
        let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(fl & libc::O_ACCMODE, libc::O_RDONLY);
        let mut buf = [0u8; 5];
        std::fs::File::from(fd).read_exact_at(&mut buf, 3).unwrap();
        assert_eq!(&buf, b"34567");
    }

    #[test]
    fn without_fd_passing_the_core_streams_the_file() {
        let (mut h, c) = host(Caps::NONE);
        let f = data_file();
        h.send_head(&head()).unwrap();
        assert!(!h.send_file(f.as_raw_fd(), 0, 10).unwrap());
        drop(h);
        let mut r = FdFrameReader::new(Limits::default());
        let (m, _) = r.read_message(&c).unwrap().unwrap();
        assert!(matches!(m, Message::ResponseHead(_)));
        assert!(r.read_message(&c).unwrap().is_none(), "nothing else sent");
    }
}
