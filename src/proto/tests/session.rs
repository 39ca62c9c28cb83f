//! The state machine: legal conversations pass on both sides; each illegal frame is
//! rejected with the right typed error.

use crate::proto::error::ProtoError;
use crate::proto::frame::*;
use crate::proto::messages::*;
use crate::proto::pairs::{PairList, PairListBuf};
use crate::proto::session::{Downstream, Session, Side, Upstream};

const TOKEN: [u8; TOKEN_LEN] = [1; TOKEN_LEN];

fn hello(caps: Caps) -> Message<'static> {
    Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        caps,
        token: &TOKEN,
        queue_start_us: 0,
        request_id: b"r",
        process_group: b"g",
        application_group: b"",
    })
}

fn accept(caps: Caps) -> Message<'static> {
    Message::Accept(Accept {
        version: PROTOCOL_VERSION,
        caps,
        daemon_pid: 1,
        worker_id: 0,
    })
}

const ENVIRON: Message<'static> = Message::Environ(PairList::EMPTY);
const BODY_END: Message<'static> = Message::BodyEnd(BodyEnd {
    status: BodyStatus::Complete,
    trailers: PairList::EMPTY,
});
const HEAD: Message<'static> = Message::ResponseHead(ResponseHead {
    status: 200,
    reason: b"OK",
    headers: PairList::EMPTY,
});
const END: Message<'static> = Message::ResponseEnd(ResponseEnd {
    timings: Timings {
        app_us: 0,
        cpu_us: 0,
        queue_us: 0,
    },
    trailers: PairList::EMPTY,
});
const FILE: Message<'static> = Message::ResponseFile(ResponseFile {
    offset: 0,
    length: 10,
    flush: false,
});

fn error() -> Message<'static> {
    Message::Error(ErrorReport {
        kind: ErrorKind::AppException,
        message: b"boom",
    })
}

/// Both ends of one connection, seeing frames in the same order.
struct Pair {
    c: Session,
    d: Session,
}

impl Pair {
    fn new() -> Self {
        Pair {
            c: Session::new(Side::Client),
            d: Session::new(Side::Daemon),
        }
    }

    /// Deliver `m` from its sender to its receiver; both must accept it.
    fn ok(&mut self, m: Message<'_>) {
        let (tx, rx) = match m.frame_type().direction() {
            Direction::ToDaemon => (&mut self.c, &mut self.d),
            Direction::ToClient => (&mut self.d, &mut self.c),
        };
        tx.send(&m)
            .unwrap_or_else(|e| panic!("send {}: {e}", m.frame_type()));
        rx.recv(&m)
            .unwrap_or_else(|e| panic!("recv {}: {e}", m.frame_type()));
    }

    /// Both the sender's `send` and the receiver's `recv` must reject `m`.
    fn bad(&mut self, m: Message<'_>) -> (ProtoError, ProtoError) {
        let (tx, rx) = match m.frame_type().direction() {
            Direction::ToDaemon => (&mut self.c, &mut self.d),
            Direction::ToClient => (&mut self.d, &mut self.c),
        };
        let a = tx.send(&m).expect_err("sender accepted");
        let b = rx.recv(&m).expect_err("receiver accepted");
        (a, b)
    }

    fn started(caps: Caps) -> Self {
        let mut p = Pair::new();
        p.ok(hello(caps));
        p.ok(ENVIRON);
        p.ok(accept(caps));
        p
    }
}

#[test]
fn simple_get() {
    let mut p = Pair::new();
    p.ok(hello(Caps::NONE));
    p.ok(ENVIRON);
    p.ok(BODY_END);
    p.ok(accept(Caps::NONE));
    p.ok(HEAD);
    assert!(p.c.response_started() && p.d.response_started());
    p.ok(Message::ResponseBody {
        data: b"hi",
        flush: true,
    });
    p.ok(END);
    assert!(p.c.finished() && p.d.finished());
    assert_eq!(p.c.upstream(), Upstream::BodyDone);
    assert_eq!(p.d.downstream(), Downstream::Finished);
}

#[test]
fn post_with_credit() {
    let mut p = Pair::started(Caps::NONE);
    p.ok(Message::BodyCredit(10));
    assert_eq!(p.c.credit(), 10);
    p.ok(Message::Body(b"12345"));
    p.ok(Message::Body(b"12345"));
    assert_eq!(p.c.credit(), 0);
    assert!(matches!(
        p.bad(Message::Body(b"x")).0,
        ProtoError::CreditExceeded { len: 1, credit: 0 }
    ));
    p.ok(Message::BodyCredit(3));
    assert!(matches!(
        p.bad(Message::Body(b"1234")).1,
        ProtoError::CreditExceeded { len: 4, credit: 3 }
    ));
    p.ok(Message::Body(b"123"));
    assert_eq!(p.d.body_bytes(), 13);
    p.ok(BODY_END);
    p.ok(HEAD);
    p.ok(END);
}

#[test]
fn app_never_reads_body() {
    let mut p = Pair::started(Caps::NONE);
    assert!(matches!(
        p.bad(Message::Body(b"x")).0,
        ProtoError::CreditExceeded { .. }
    ));
    p.ok(HEAD);
    p.ok(END);
    // The child has nothing more to say; it must not send the body now.
    assert!(matches!(
        p.c.send(&BODY_END),
        Err(ProtoError::UnexpectedFrame {
            side: Side::Client,
            ..
        })
    ));
}

#[test]
fn streaming_app_reads_while_responding() {
    let mut p = Pair::started(Caps::NONE);
    p.ok(HEAD);
    p.ok(Message::BodyCredit(4));
    p.ok(Message::ResponseBody {
        data: b"a",
        flush: true,
    });
    p.ok(Message::Body(b"abcd"));
    p.ok(BODY_END);
    p.ok(END);
}

#[test]
fn hello_must_come_first() {
    let mut p = Pair::new();
    let (a, b) = p.bad(ENVIRON);
    assert!(matches!(
        a,
        ProtoError::UnexpectedFrame {
            frame_type: FrameType::Environ,
            state: "before HELLO",
            ..
        }
    ));
    assert!(matches!(b, ProtoError::UnexpectedFrame { .. }));
    p.bad(Message::Cancel(CancelReason::ClientGone));
    p.bad(accept(Caps::NONE));
    p.ok(hello(Caps::NONE));
    p.bad(hello(Caps::NONE));
    p.bad(Message::Body(b"x"));
    p.bad(BODY_END);
}

#[test]
fn wrong_direction() {
    let mut c = Session::new(Side::Client);
    assert!(matches!(
        c.recv(&hello(Caps::NONE)),
        Err(ProtoError::UnexpectedFrame { .. })
    ));
    assert!(matches!(
        c.send(&accept(Caps::NONE)),
        Err(ProtoError::UnexpectedFrame { .. })
    ));
    let mut d = Session::new(Side::Daemon);
    assert!(matches!(
        d.send(&hello(Caps::NONE)),
        Err(ProtoError::UnexpectedFrame { .. })
    ));
    assert!(matches!(
        d.recv(&HEAD),
        Err(ProtoError::UnexpectedFrame { .. })
    ));
}

#[test]
fn nothing_after_response_end() {
    let mut p = Pair::started(Caps::KNOWN);
    p.ok(HEAD);
    p.ok(END);
    p.bad(Message::ResponseBody {
        data: b"x",
        flush: false,
    });
    p.bad(END);
    p.bad(error());
    p.bad(HEAD);
    p.bad(FILE);
    // A late credit is also illegal after the end.
    p.bad(Message::BodyCredit(1));
}

#[test]
fn daemon_tolerates_frames_in_flight_after_its_end() {
    let mut p = Pair::started(Caps::NONE);
    p.ok(Message::BodyCredit(100));
    p.ok(HEAD);
    p.d.send(&END).unwrap();
    // The client sent these before it saw RESPONSE_END.
    p.d.recv(&Message::Body(b"late")).unwrap();
    p.d.recv(&BODY_END).unwrap();
    p.d.recv(&Message::Cancel(CancelReason::ClientGone))
        .unwrap();
}

#[test]
fn credit_crossing_body_end() {
    let mut p = Pair::started(Caps::NONE);
    p.ok(Message::BodyCredit(1));
    p.ok(Message::Body(b"x"));
    // Daemon grants more while the client's BODY_END is in flight.
    p.d.send(&Message::BodyCredit(100)).unwrap();
    p.c.send(&BODY_END).unwrap();
    p.c.recv(&Message::BodyCredit(100)).unwrap(); // ignored by the client
    assert_eq!(p.c.credit(), 0);
    p.d.recv(&BODY_END).unwrap();
    // Now the daemon knows the body is over: granting more is its bug.
    assert!(matches!(
        p.d.send(&Message::BodyCredit(1)),
        Err(ProtoError::UnexpectedFrame {
            side: Side::Daemon,
            ..
        })
    ));
}

#[test]
fn credit_overflow() {
    let mut p = Pair::started(Caps::NONE);
    p.ok(Message::BodyCredit(u32::MAX));
    assert!(matches!(
        p.bad(Message::BodyCredit(1)).1,
        ProtoError::CreditOverflow { .. }
    ));
}

#[test]
fn capabilities() {
    let mut p = Pair::new();
    p.ok(hello(Caps::TRAILERS));
    p.ok(ENVIRON);
    assert!(matches!(
        p.bad(accept(Caps::FD_PASSING)).1,
        ProtoError::AcceptMismatch(_)
    ));
    // Unknown bits offered are never granted.
    let mut p = Pair::new();
    p.ok(hello(Caps(0x8000_0000)));
    assert!(matches!(
        p.bad(accept(Caps(0x8000_0000))).1,
        ProtoError::AcceptMismatch(_)
    ));

    let mut p = Pair::started(Caps::NONE);
    p.ok(HEAD);
    assert!(matches!(
        p.bad(FILE).1,
        ProtoError::CapabilityNotNegotiated {
            cap: "FD_PASSING",
            ..
        }
    ));
    let t = PairListBuf::from_pairs([(&b"k"[..], &b"v"[..])]).unwrap();
    let end_t = Message::ResponseEnd(ResponseEnd {
        timings: Timings::default(),
        trailers: t.as_list(),
    });
    assert!(matches!(
        p.bad(end_t).1,
        ProtoError::CapabilityNotNegotiated {
            cap: "TRAILERS",
            ..
        }
    ));
    let body_end_t = Message::BodyEnd(BodyEnd {
        status: BodyStatus::Complete,
        trailers: t.as_list(),
    });
    assert!(matches!(
        p.bad(body_end_t).0,
        ProtoError::CapabilityNotNegotiated { .. }
    ));

    let mut p = Pair::started(Caps::KNOWN);
    p.ok(body_end_t);
    p.ok(HEAD);
    p.ok(FILE);
    p.ok(end_t);
    assert_eq!(p.c.granted_caps(), Some(Caps::KNOWN));
}

#[test]
fn reject_ends_everything() {
    let mut p = Pair::new();
    p.ok(hello(Caps::NONE));
    p.ok(Message::Reject(Reject {
        reason: RejectReason::Restarting,
        message: b"",
    }));
    assert!(p.c.finished());
    assert!(p.c.send(&ENVIRON).is_err());
    p.bad(accept(Caps::NONE));
    p.bad(HEAD);
    // REJECT may answer a HELLO the daemon could not decode (e.g. another version).
    let mut d = Session::new(Side::Daemon);
    d.send(&Message::Reject(Reject {
        reason: RejectReason::Version,
        message: b"v1 only",
    }))
    .unwrap();
}

#[test]
fn error_before_and_after_head() {
    let mut p = Pair::new();
    p.ok(hello(Caps::NONE));
    p.bad(error()); // before ACCEPT: REJECT is the way to refuse
    p.ok(ENVIRON);
    p.ok(accept(Caps::NONE));
    p.ok(error());
    assert!(!p.c.response_started());
    assert!(p.c.finished());

    let mut p = Pair::started(Caps::NONE);
    p.ok(HEAD);
    p.ok(Message::ResponseBody {
        data: b"partial",
        flush: false,
    });
    p.ok(error());
    assert!(p.c.response_started());
}

#[test]
fn head_rules() {
    let mut p = Pair::new();
    p.ok(hello(Caps::NONE));
    p.ok(accept(Caps::NONE));
    let (a, _) = p.bad(HEAD); // daemon has not seen ENVIRON yet
    assert!(matches!(
        a,
        ProtoError::UnexpectedFrame {
            state: "before ENVIRON",
            ..
        }
    ));
    p.bad(Message::BodyCredit(1));
    p.ok(ENVIRON);
    p.bad(Message::ResponseBody {
        data: b"x",
        flush: false,
    }); // before head
    p.ok(HEAD);
    p.bad(HEAD);
}

#[test]
fn cancel_rules() {
    let mut p = Pair::new();
    p.ok(hello(Caps::NONE));
    p.ok(Message::Cancel(CancelReason::ChildTimeout));
    p.bad(ENVIRON);
    p.bad(Message::Cancel(CancelReason::ClientGone));

    let mut p = Pair::started(Caps::NONE);
    p.ok(BODY_END);
    p.ok(Message::Cancel(CancelReason::ClientGone));
    assert_eq!(p.d.upstream(), Upstream::Cancelled);
    // The daemon may still finish (its frames are discarded by the closed socket).
    p.d.send(&HEAD).unwrap();
}

#[test]
fn data_header_variants() {
    let mut p = Pair::started(Caps::NONE);
    p.d.send(&Message::BodyCredit(8)).unwrap();
    p.c.recv(&Message::BodyCredit(8)).unwrap();
    let h = FrameHeader::new(FrameType::Body, 8, 0).unwrap();
    p.c.send_data_header(&h).unwrap();
    p.d.recv_data_header(&h).unwrap();
    assert!(p.c.send_data_header(&h).is_err());
    let h = FrameHeader::new(FrameType::Cancel, 1, 0).unwrap();
    assert!(matches!(
        p.c.send_data_header(&h),
        Err(ProtoError::Misuse(_))
    ));
    p.ok(HEAD);
    let h = FrameHeader::new(FrameType::ResponseBody, 100, FLAG_FLUSH).unwrap();
    p.d.send_data_header(&h).unwrap();
    p.c.recv_data_header(&h).unwrap();
    assert_eq!(p.c.side(), Side::Client);
}

#[test]
fn accept_version_must_match_hello() {
    let mut d = Session::new(Side::Daemon);
    d.recv(&hello(Caps::NONE)).unwrap();
    let bad = Message::Accept(Accept {
        version: 2,
        caps: Caps::NONE,
        daemon_pid: 0,
        worker_id: 0,
    });
    assert!(matches!(d.send(&bad), Err(ProtoError::AcceptMismatch(_))));
}
