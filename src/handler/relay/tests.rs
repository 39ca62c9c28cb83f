//! Unit tests of the relay over a `UnixStream::pair()`: a fake daemon on a
//! thread speaks WSGP on one end, the relay drives a fake [`RelayHost`] on
//! the other. No Apache, no Python.

use super::*;
use crate::apache::log::Level;
use crate::apache::log_ids::{
    BAD_RESPONSE_HEAD, BAD_STATUS_REASON, BODY_READ_TIMEOUT, CLIENT_WRITE_TIMEOUT, DAEMON_CLOSED,
    DAEMON_ERROR, DAEMON_REJECTED,
};
use crate::handler::relay::frames::encode;
use crate::proto::Hello;
use crate::proto::{
    Accept, Caps, ErrorKind, ErrorReport, PairListBuf, Reject, ResponseEnd, Timings,
};
use crate::wsgi::Head;
use crate::wsgi::environ::EnvironData;
use std::ffi::CStr;
use std::io::Write;

/// Header pairs as bytes.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A request: its body, what the relay did to it.
#[derive(Default)]
struct Fake {
    body: Vec<u8>,
    read_pos: usize,
    head: Option<(u16, Vec<u8>, Pairs)>,
    out: Vec<u8>,
    fail_writes: bool,
    timed_out: bool,
    aborted: bool,
    finished: bool,
    logs: Vec<String>,
    timeout: Option<Duration>,
    redirect: Option<(Vec<u8>, bool)>,
    /// Each body read waits this long first (a slow client).
    read_delay: Option<Duration>,
    /// Body reads fail as timed out (Apache's `Timeout`, `RequestReadTimeout`).
    read_times_out: bool,
    /// `hold` queues data (as `ApacheHost` does).
    buffering: bool,
    /// What `hold` was given, not yet passed: pointers into the relay's
    /// buffer, read only at the pass (as httpd reads a transient bucket).
    held: Vec<(usize, usize)>,
    /// Bytes that went downstream per pass (a `write`).
    passes: Vec<usize>,
}

impl Host for Fake {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        if let Some(d) = self.read_delay {
            std::thread::sleep(d);
        }
        if self.read_times_out {
            return Err(HostError::Io("request data read error".into()));
        }
        let n = buf.len().min(self.body.len() - self.read_pos);
        buf[..n].copy_from_slice(&self.body[self.read_pos..self.read_pos + n]);
        self.read_pos += n;
        Ok(n)
    }
    fn send_head(&mut self, _head: &Head) -> Result<(), HostError> {
        unreachable!("the relay sends raw heads")
    }
    fn write(&mut self, data: &[u8], _flush: bool) -> Result<(), HostError> {
        if self.fail_writes {
            return Err(HostError::ClientGone("test".into()));
        }
        let n = self.pass_held() + data.len();
        self.passes.push(n);
        self.out.extend_from_slice(data);
        Ok(())
    }
    fn log(&mut self, _level: Level, msg: &str) {
        self.logs.push(msg.to_string());
    }
    fn abort(&mut self) {
        self.pass_held();
        self.aborted = true;
    }
    fn client_gone(&self) -> bool {
        self.fail_writes
    }
    fn finish(&mut self) -> Result<(), HostError> {
        self.pass_held();
        self.finished = true;
        Ok(())
    }
}

impl RelayHost for Fake {
    fn send_raw_head<'h>(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<(), HostError> {
        let headers = headers.map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        self.head = Some((status, reason.to_vec(), headers));
        Ok(())
    }
    fn write_timed_out(&self) -> bool {
        self.timed_out
    }
    fn read_timed_out(&self) -> bool {
        self.read_times_out
    }
    fn set_client_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }
    fn internal_redirect(&mut self, location: &CStr, discard_body: bool) {
        self.redirect = Some((location.to_bytes().to_vec(), discard_body));
    }
    fn hold(&mut self, data: &[u8]) -> bool {
        if self.buffering {
            self.held.push((data.as_ptr() as usize, data.len()));
        }
        self.buffering
    }
}

impl Fake {
    /// What a pass does with held data (as httpd with transient buckets):
    /// reads it now. Returns the bytes passed.
    fn pass_held(&mut self) -> usize {
        let mut n = 0;
        for (p, len) in std::mem::take(&mut self.held) {
            // SAFETY: the relay keeps held bytes in place until the next
            // write, finish or abort (its contract with `hold`); the tests
            // compare what arrives with what was sent.
            self.out
                .extend_from_slice(unsafe { std::slice::from_raw_parts(p as *const u8, len) });
            n += len;
        }
        n
    }
    fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }
}

/// The daemon end of the socketpair.
struct Daemon {
    s: UnixStream,
    reader: FdFrameReader,
    scratch: Vec<u8>,
}

impl Daemon {
    fn new(s: UnixStream) -> Daemon {
        Daemon {
            s,
            reader: FdFrameReader::new(Limits::default()),
            scratch: Vec::new(),
        }
    }
    fn send(&mut self, m: &Message<'_>) {
        proto::write_message(&mut &self.s, m, &mut self.scratch).unwrap();
    }
    /// The next frame from the relay, through `f` (None: end of stream).
    fn recv<R>(&mut self, f: impl FnOnce(Option<&Message<'_>>) -> R) -> R {
        let m = self.reader.read_message(&self.s).unwrap();
        f(m.as_ref().map(|(m, _)| m))
    }
    /// Reads HELLO and ENVIRON (and BODY_END unless `body`); the environ
    /// pairs are returned; answers ACCEPT.
    fn accept(&mut self, body: bool) -> Pairs {
        self.recv(|m| assert!(matches!(m, Some(Message::Hello(_))), "{m:?}"));
        let env = self.recv(|m| match m {
            Some(Message::Environ(p)) => p.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
            m => panic!("expected ENVIRON, got {m:?}"),
        });
        if !body {
            self.recv(|m| assert!(matches!(m, Some(Message::BodyEnd(_))), "{m:?}"));
        }
        self.send(&Message::Accept(Accept {
            version: proto::PROTOCOL_VERSION,
            caps: Caps::NONE,
            daemon_pid: 1,
            worker_id: 0,
        }));
        env
    }
    fn head(&mut self, status: u16, reason: &[u8], headers: &[(&[u8], &[u8])]) {
        let h = PairListBuf::from_pairs(headers.iter().copied()).unwrap();
        self.send(&Message::ResponseHead(ResponseHead {
            status,
            reason,
            headers: h.as_list(),
        }));
    }
    fn body(&mut self, data: &[u8]) {
        self.send(&Message::ResponseBody { data, flush: false });
    }
    fn end(&mut self) {
        self.send(&Message::ResponseEnd(ResponseEnd {
            timings: Timings::default(),
            trailers: PairList::EMPTY,
        }));
    }
}

static TOKEN: [u8; proto::TOKEN_LEN] = [7; proto::TOKEN_LEN];

fn frames(body: bool, header_only: bool) -> Frames<'static> {
    let hello = Hello {
        version: proto::PROTOCOL_VERSION,
        caps: Caps::FD_PASSING,
        token: &TOKEN,
        queue_start_us: 0,
        request_id: b"",
        process_group: b"g",
        application_group: b"",
    };
    let mut env = EnvironData::new();
    env.vars.set("REQUEST_METHOD", b"GET");
    encode(hello, &env, header_only, body).unwrap()
}

fn settings() -> Settings {
    Settings {
        error_override: false,
        write_timeout: Some(Duration::from_secs(7)),
        max_head: 32 * 1024,
        queue_deadline_us: None,
        relay: Default::default(),
    }
}

/// Runs the relay for `frames` against fake daemons, one per connection,
/// each on its own thread; REJECT RESTARTING is retried for `retry`.
fn relay_many(
    host: &mut Fake,
    frames: &Frames<'_>,
    retry: Duration,
    daemons: Vec<Box<dyn FnOnce(Daemon) + Send>>,
) -> c_int {
    let mut ends = Vec::new();
    let mut threads = Vec::new();
    for d in daemons {
        let (c, s) = UnixStream::pair().unwrap();
        ends.push(c);
        threads.push(std::thread::spawn(move || d(Daemon::new(s))));
    }
    ends.reverse();
    let deadline = Instant::now() + retry;
    let rc = send_with_retry(host, frames, settings(), "g", deadline, |_| {
        ends.pop().ok_or(sys::HTTP_SERVICE_UNAVAILABLE as c_int)
    });
    drop(ends);
    for t in threads {
        t.join().expect("fake daemon");
    }
    rc
}

fn relay(
    host: &mut Fake,
    frames: &Frames<'_>,
    daemon: impl FnOnce(Daemon) + Send + 'static,
) -> c_int {
    relay_many(host, frames, Duration::ZERO, vec![Box::new(daemon)])
}

#[test]
fn plain_response() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[(b"Content-Type", b"text/plain")]);
        d.body(b"hello ");
        d.body(b"world");
        d.end();
    });
    assert_eq!(rc, OK);
    let (status, reason, headers) = host.head.clone().unwrap();
    assert_eq!((status, reason.as_slice()), (200, b"OK".as_slice()));
    assert_eq!(
        headers,
        vec![(b"Content-Type".to_vec(), b"text/plain".to_vec())]
    );
    assert_eq!(host.out, b"hello world");
    assert!(host.finished && !host.aborted, "{:?}", host.logs);
    assert_eq!(
        host.timeout,
        Some(Duration::from_secs(7)),
        "response-socket-timeout"
    );
    assert!(host.logs.is_empty(), "{:?}", host.logs);
}

#[test]
fn body_is_relayed_only_against_credit() {
    let body: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let mut host = Fake {
        body: body.clone(),
        ..Fake::default()
    };
    let rc = relay(&mut host, &frames(true, false), move |mut d| {
        d.accept(true);
        // Nothing of the body comes before BODY_CREDIT.
        d.s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(
            d.reader.read_message(&d.s).is_err(),
            "body sent before any credit"
        );
        d.s.set_read_timeout(None).unwrap();
        let mut got = Vec::new();
        d.send(&Message::BodyCredit(10_000));
        while got.len() < 10_000 {
            d.recv(|m| match m {
                Some(Message::Body(b)) => got.extend_from_slice(b),
                m => panic!("expected BODY, got {m:?}"),
            });
        }
        assert_eq!(got.len(), 10_000, "exactly the credit");
        d.s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(
            d.reader.read_message(&d.s).is_err(),
            "more than the credit sent"
        );
        d.s.set_read_timeout(None).unwrap();
        d.send(&Message::BodyCredit(1_000_000));
        loop {
            let done = d.recv(|m| match m {
                Some(Message::Body(b)) => {
                    got.extend_from_slice(b);
                    false
                }
                Some(Message::BodyEnd(e)) => {
                    assert_eq!(e.status, BodyStatus::Complete);
                    true
                }
                m => panic!("expected BODY or BODY_END, got {m:?}"),
            });
            if done {
                break;
            }
        }
        assert_eq!(got, body);
        d.head(200, b"OK", &[]);
        d.end();
    });
    assert_eq!(rc, OK);
    assert_eq!(host.read_pos, 40_000);
}

#[test]
fn error_before_the_head_maps_to_its_status() {
    for (kind, status) in [
        (ErrorKind::RequestTimeout, sys::HTTP_GATEWAY_TIME_OUT),
        (ErrorKind::ShuttingDown, sys::HTTP_SERVICE_UNAVAILABLE),
        (ErrorKind::AppException, sys::HTTP_INTERNAL_SERVER_ERROR),
    ] {
        let mut host = Fake::default();
        let rc = relay(&mut host, &frames(false, false), move |mut d| {
            d.accept(false);
            d.send(&Message::Error(ErrorReport {
                kind,
                message: b"detail",
            }));
        });
        assert_eq!(rc, status as c_int, "{kind:?}");
        assert!(host.head.is_none() && !host.aborted);
        assert!(
            host.logged(&DAEMON_ERROR.to_string()) && host.logged("detail"),
            "{:?}",
            host.logs
        );
    }
}

#[test]
fn control_character_in_the_reason_is_502() {
    for reason in [
        &b"OK\r\nX-Evil: 1"[..],
        b"OK\nX-Evil: 1",
        b"OK\r",
        b"O\0K",
        b"OK\x7f",
    ] {
        let mut host = Fake::default();
        let rc = relay(&mut host, &frames(false, false), move |mut d| {
            d.accept(false);
            d.head(200, reason, &[(b"Content-Type", b"text/plain")]);
            // The relay may already have shut the connection down.
            let body = Message::ResponseBody {
                data: b"secret",
                flush: false,
            };
            let _ = proto::write_message(&mut &d.s, &body, &mut d.scratch);
        });
        assert_eq!(rc, sys::HTTP_BAD_GATEWAY as c_int, "{reason:?}");
        assert!(host.head.is_none(), "head sent for {reason:?}");
        assert!(host.out.is_empty() && !host.aborted, "{reason:?}");
        assert!(
            host.logged(&BAD_STATUS_REASON.to_string()),
            "{:?}",
            host.logs
        );
    }
}

#[test]
fn a_header_that_would_split_the_head_is_502() {
    let bad: [(&[u8], &[u8]); 6] = [
        (b"X-A", b"1\r\nSet-Cookie: evil=1"),
        (b"X-A", b"1\nX-B: 2"),
        (b"X-A", b"1\0"),
        (b"X-A: 1\r\nX-B", b"2"),
        (b"X A", b"1"),
        (b"", b"1"),
    ];
    for (name, value) in bad {
        let mut host = Fake::default();
        let rc = relay(&mut host, &frames(false, false), move |mut d| {
            d.accept(false);
            d.head(
                200,
                b"OK",
                &[(b"Content-Type", b"text/plain"), (name, value)],
            );
        });
        assert_eq!(rc, sys::HTTP_BAD_GATEWAY as c_int, "{name:?}: {value:?}");
        assert!(host.head.is_none(), "head sent for {name:?}: {value:?}");
        assert!(
            host.logged(&BAD_RESPONSE_HEAD.to_string()),
            "{:?}",
            host.logs
        );
    }
    // A tab inside a value is legal (obs-text and HTAB are allowed).
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[(b"X-A", b"a\tb")]);
        d.end();
    });
    assert_eq!(rc, OK as c_int, "{:?}", host.logs);
}

#[test]
fn daemon_closing_before_the_head_is_502() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
    });
    assert_eq!(rc, sys::HTTP_BAD_GATEWAY as c_int);
    assert!(!host.aborted);
    assert!(host.logged(&DAEMON_CLOSED.to_string()), "{:?}", host.logs);
}

/// The daemon answers and closes before the rest of the body is sent (the
/// app read what it wanted): the relay's write fails, and the response the
/// daemon already sent is still relayed. A daemon that closes without
/// answering still gives 502.
#[test]
fn daemon_answering_before_the_end_of_the_body() {
    let slow = || Fake {
        body: b"hello".to_vec(),
        read_delay: Some(Duration::from_millis(100)),
        ..Fake::default()
    };
    let mut host = slow();
    let rc = relay(&mut host, &frames(true, false), |mut d| {
        d.accept(true);
        d.send(&Message::BodyCredit(65536));
        d.head(200, b"OK", &[]);
        d.body(b"early");
        d.end();
    });
    assert_eq!(rc, OK, "{:?}", host.logs);
    assert_eq!(host.head.as_ref().map(|h| h.0), Some(200));
    assert_eq!(host.out, b"early");
    assert!(host.logs.is_empty(), "{:?}", host.logs);

    let mut host = slow();
    let rc = relay(&mut host, &frames(true, false), |mut d| {
        d.accept(true);
        d.send(&Message::BodyCredit(65536));
    });
    assert_eq!(rc, sys::HTTP_BAD_GATEWAY as c_int);
    assert!(host.logged(&DAEMON_CLOSED.to_string()), "{:?}", host.logs);
}

/// A request body whose read from the client times out: 408 at once, as
/// mod_wsgi, after telling the daemon of the read error and cancelling it.
#[test]
fn body_read_timeout_is_408() {
    let mut host = Fake {
        read_times_out: true,
        ..Fake::default()
    };
    let rc = relay(&mut host, &frames(true, false), |mut d| {
        d.accept(true);
        d.send(&Message::BodyCredit(65536));
        d.recv(|m| {
            assert!(
                matches!(m, Some(Message::BodyEnd(e)) if e.status == BodyStatus::ReadError),
                "{m:?}"
            )
        });
        d.recv(|m| assert!(matches!(m, Some(Message::Cancel(_))), "{m:?}"));
    });
    assert_eq!(rc, sys::HTTP_REQUEST_TIME_OUT as c_int, "{:?}", host.logs);
    assert!(host.head.is_none());
    assert!(
        host.logged(&BODY_READ_TIMEOUT.to_string()),
        "{:?}",
        host.logs
    );
}

#[test]
fn truncated_stream_after_the_head_aborts_the_client() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[(b"Content-Length", b"100")]);
        d.body(b"partial");
    });
    assert_eq!(rc, OK, "the head is out: no status to give");
    assert_eq!(host.out, b"partial");
    assert!(
        host.aborted,
        "a truncated response must abort the connection"
    );
    assert!(!host.finished);
    assert!(
        host.logged("before the end of the response"),
        "{:?}",
        host.logs
    );
}

#[test]
fn client_write_failure_cancels_the_daemon_request() {
    let mut host = Fake {
        fail_writes: true,
        timed_out: true,
        ..Fake::default()
    };
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[]);
        d.body(b"data");
        d.recv(|m| assert_eq!(m, Some(&Message::Cancel(CancelReason::ClientGone)), "{m:?}"));
        d.recv(|m| assert!(m.is_none(), "stream shut down after CANCEL: {m:?}"));
    });
    assert_eq!(rc, OK);
    assert!(
        host.logged(&CLIENT_WRITE_TIMEOUT.to_string()),
        "a write timeout is logged: {:?}",
        host.logs
    );
}

#[test]
fn reject_restarting_sends_the_request_again() {
    let mut host = Fake::default();
    let rc = relay_many(
        &mut host,
        &frames(false, false),
        Duration::from_secs(10),
        vec![
            Box::new(|mut d: Daemon| {
                d.recv(|m| assert!(matches!(m, Some(Message::Hello(_)))));
                d.send(&Message::Reject(Reject {
                    reason: RejectReason::Restarting,
                    message: b"script changed",
                }));
            }),
            Box::new(|mut d: Daemon| {
                d.accept(false);
                d.head(200, b"OK", &[]);
                d.body(b"second");
                d.end();
            }),
        ],
    );
    assert_eq!(rc, OK);
    assert_eq!(host.out, b"second");
    assert!(host.logs.is_empty(), "{:?}", host.logs);
}

#[test]
fn reject_restarting_past_connect_timeout_is_503() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.recv(|m| assert!(matches!(m, Some(Message::Hello(_)))));
        d.send(&Message::Reject(Reject {
            reason: RejectReason::Restarting,
            message: b"script changed",
        }));
    });
    assert_eq!(rc, sys::HTTP_SERVICE_UNAVAILABLE as c_int);
    assert!(
        host.logged(&DAEMON_REJECTED.to_string()) && host.logged("Restarting"),
        "{:?}",
        host.logs
    );
}

#[test]
fn head_request_carries_the_header_only_pair() {
    for header_only in [true, false] {
        let mut host = Fake::default();
        let rc = relay(&mut host, &frames(false, header_only), move |mut d| {
            let env = d.accept(false);
            let pair = env
                .iter()
                .find(|(k, _)| k == proto::HEADER_ONLY_KEY.as_bytes())
                .map(|(_, v)| v.clone());
            if header_only {
                assert_eq!(pair.as_deref(), Some(b"1".as_slice()));
            } else {
                assert_eq!(pair, None);
            }
            assert!(
                env.iter()
                    .any(|(k, v)| k == b"REQUEST_METHOD" && v == b"GET")
            );
            d.head(200, b"OK", &[(b"Content-Length", b"5")]);
            d.end();
        });
        assert_eq!(rc, OK);
    }
}

#[test]
fn local_location_with_200_is_an_internal_redirect() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[(b"Location", b"/elsewhere")]);
        d.body(b"ignored");
        d.end();
    });
    assert_eq!(rc, OK);
    assert_eq!(host.redirect, Some((b"/elsewhere".to_vec(), false)));
    assert!(host.head.is_none() && host.out.is_empty());
}

/// Frames that arrive together go downstream together: the relay has the
/// host hold the ones with more already read behind them (in place, in the
/// relay's buffer) and passes them all before it reads the daemon socket
/// again; bytes and order are unchanged, so the buffer was not moved.
#[test]
fn frames_read_together_are_passed_together() {
    let mut host = Fake {
        buffering: true,
        ..Fake::default()
    };
    let chunks: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 1000]).collect();
    let sent = chunks.concat();
    let rc = relay(&mut host, &frames(false, false), move |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[]);
        // One write: the relay's first read takes all of them in.
        let mut bytes = Vec::new();
        for c in &chunks {
            bytes.extend(
                Message::ResponseBody {
                    data: c,
                    flush: true,
                }
                .to_frame()
                .unwrap(),
            );
        }
        (&d.s).write_all(&bytes).unwrap();
        // The end comes later, after the relay has passed what it had.
        std::thread::sleep(Duration::from_millis(50));
        d.body(b"tail");
        d.end();
    });
    assert_eq!(rc, OK);
    let mut want = sent;
    want.extend_from_slice(b"tail");
    assert_eq!(host.out, want);
    assert!(host.held.is_empty() && host.finished, "{:?}", host.logs);
    assert_eq!(
        host.passes[0], 8000,
        "one pass for the 8 frames read together: {:?}",
        host.passes
    );
}

/// Without a host that buffers, every frame is its own write, as before.
#[test]
fn without_buffering_each_frame_is_written() {
    let mut host = Fake::default();
    let rc = relay(&mut host, &frames(false, false), |mut d| {
        d.accept(false);
        d.head(200, b"OK", &[]);
        let mut bytes = Vec::new();
        for _ in 0..3 {
            bytes.extend(
                Message::ResponseBody {
                    data: b"xyz",
                    flush: true,
                }
                .to_frame()
                .unwrap(),
            );
        }
        (&d.s).write_all(&bytes).unwrap();
        d.end();
    });
    assert_eq!(rc, OK);
    assert_eq!(host.out, b"xyzxyzxyz");
    assert_eq!(host.passes, vec![3, 3, 3]);
}
