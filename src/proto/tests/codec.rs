//! Per-message round trips with fixed values, and every decode error the codec reports.

use crate::proto::decode::{Decoded, decode_frame, decode_payload};
use crate::proto::error::ProtoError;
use crate::proto::frame::*;
use crate::proto::messages::*;
use crate::proto::pairs::{PairList, PairListBuf};

const TOKEN: [u8; TOKEN_LEN] = [0xab; TOKEN_LEN];

fn round_trip(m: Message<'_>) {
    let frame = m.to_frame().unwrap();
    let (got, used) = decode_frame(&frame, &Limits::default())
        .unwrap()
        .frame()
        .unwrap();
    assert_eq!(used, frame.len());
    assert_eq!(got, m);
    assert_eq!(got.to_frame().unwrap(), frame, "canonical re-encoding");
    // Every strict prefix is incomplete, never an error.
    for cut in 0..frame.len() {
        match decode_frame(&frame[..cut], &Limits::default()).unwrap() {
            Decoded::Incomplete { needed } => {
                assert!(needed > cut);
                assert!(needed <= frame.len());
            }
            Decoded::Frame(..) => panic!("prefix {cut} decoded"),
        }
    }
}

fn hello() -> Hello<'static> {
    Hello {
        version: PROTOCOL_VERSION,
        caps: Caps::KNOWN,
        token: &TOKEN,
        queue_start_us: 1_700_000_000_000_000,
        request_id: b"aGVsbG8",
        process_group: b"example",
        application_group: b"example.com|/app",
    }
}

fn headers() -> PairListBuf {
    PairListBuf::from_pairs([
        (&b"Content-Type"[..], &b"text/plain; charset=utf-8"[..]),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ])
    .unwrap()
}

#[test]
fn hello_round_trip() {
    round_trip(Message::Hello(hello()));
    round_trip(Message::Hello(Hello {
        caps: Caps(0xffff_ffff),
        request_id: b"",
        process_group: b"",
        application_group: b"",
        ..hello()
    }));
}

#[test]
fn accept_round_trip() {
    round_trip(Message::Accept(Accept {
        version: PROTOCOL_VERSION,
        caps: Caps::FD_PASSING,
        daemon_pid: 4242,
        worker_id: 7,
    }));
}

#[test]
fn reject_round_trip() {
    for r in RejectReason::ALL {
        round_trip(Message::Reject(Reject {
            reason: *r,
            message: b"daemon restarting",
        }));
    }
}

#[test]
fn environ_round_trip() {
    round_trip(Message::Environ(PairList::EMPTY));
    let mut b = PairListBuf::new();
    for i in 0..30 {
        b.push(format!("HTTP_X_{i}").as_bytes(), &[b'v'; 40])
            .unwrap();
    }
    round_trip(Message::Environ(b.as_list()));
}

#[test]
fn body_credit_round_trip() {
    round_trip(Message::BodyCredit(1));
    round_trip(Message::BodyCredit(65536));
    round_trip(Message::BodyCredit(u32::MAX));
}

#[test]
fn body_round_trip() {
    round_trip(Message::Body(b"x"));
    round_trip(Message::Body(&vec![0x5a; MAX_DATA as usize]));
}

#[test]
fn body_end_round_trip() {
    for s in BodyStatus::ALL {
        round_trip(Message::BodyEnd(BodyEnd {
            status: *s,
            trailers: PairList::EMPTY,
        }));
    }
    let t = PairListBuf::from_pairs([(&b"Digest"[..], &b"sha-256=abc"[..])]).unwrap();
    round_trip(Message::BodyEnd(BodyEnd {
        status: BodyStatus::Complete,
        trailers: t.as_list(),
    }));
}

#[test]
fn response_head_round_trip() {
    let h = headers();
    for status in [100, 200, 404, 999] {
        round_trip(Message::ResponseHead(ResponseHead {
            status,
            reason: b"OK",
            headers: h.as_list(),
        }));
    }
    round_trip(Message::ResponseHead(ResponseHead {
        status: 204,
        reason: b"",
        headers: PairList::EMPTY,
    }));
}

#[test]
fn response_body_round_trip() {
    round_trip(Message::ResponseBody {
        data: b"hello",
        flush: false,
    });
    round_trip(Message::ResponseBody {
        data: b"hello",
        flush: true,
    });
    round_trip(Message::ResponseBody {
        data: b"",
        flush: true,
    });
}

#[test]
fn response_file_round_trip() {
    round_trip(Message::ResponseFile(ResponseFile {
        offset: 0,
        length: 1,
        flush: false,
    }));
    round_trip(Message::ResponseFile(ResponseFile {
        offset: u64::MAX - 1,
        length: 1,
        flush: true,
    }));
}

#[test]
fn response_end_round_trip() {
    round_trip(Message::ResponseEnd(ResponseEnd {
        timings: Timings {
            app_us: 1,
            cpu_us: 2,
            queue_us: 3,
        },
        trailers: PairList::EMPTY,
    }));
    let t = headers();
    round_trip(Message::ResponseEnd(ResponseEnd {
        timings: Timings::default(),
        trailers: t.as_list(),
    }));
}

#[test]
fn error_round_trip() {
    for k in ErrorKind::ALL {
        round_trip(Message::Error(ErrorReport {
            kind: *k,
            message: b"Traceback: see daemon log",
        }));
    }
}

#[test]
fn cancel_round_trip() {
    for c in CancelReason::ALL {
        round_trip(Message::Cancel(*c));
    }
}

#[test]
fn several_frames_back_to_back() {
    let mut buf = Vec::new();
    Message::Hello(hello()).encode(&mut buf).unwrap();
    Message::Environ(headers().as_list())
        .encode(&mut buf)
        .unwrap();
    Message::BodyEnd(BodyEnd {
        status: BodyStatus::Complete,
        trailers: PairList::EMPTY,
    })
    .encode(&mut buf)
    .unwrap();
    let mut rest = &buf[..];
    let mut types = Vec::new();
    while !rest.is_empty() {
        let (m, n) = decode_frame(rest, &Limits::default())
            .unwrap()
            .frame()
            .unwrap();
        types.push(m.frame_type());
        rest = &rest[n..];
    }
    assert_eq!(
        types,
        [FrameType::Hello, FrameType::Environ, FrameType::BodyEnd]
    );
}

// ---- errors -------------------------------------------------------------------------

fn raw(ty: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&[ty, flags, 0, 0]);
    v.extend_from_slice(payload);
    v
}

fn decode_err(bytes: &[u8]) -> ProtoError {
    decode_frame(bytes, &Limits::default()).unwrap_err()
}

/// Re-frame `frame`'s payload with `f` applied (header length fixed up).
fn mutate(frame: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut p = frame[HEADER_LEN..].to_vec();
    f(&mut p);
    raw(frame[4], frame[5], &p)
}

#[test]
fn unknown_type_reserved_bits_and_oversize_are_header_errors() {
    assert!(matches!(
        decode_err(&raw(0x06, 0, &[0])),
        ProtoError::UnknownFrameType(0x06)
    ));
    assert!(matches!(
        decode_err(&raw(0x87, 0, &[0])),
        ProtoError::UnknownFrameType(0x87)
    ));
    let mut f = raw(0x05, 0, &[1]);
    f[7] = 0x80;
    assert!(matches!(
        decode_err(&f),
        ProtoError::ReservedField { value: 0x8000, .. }
    ));
    assert!(matches!(
        decode_err(&raw(0x05, 0x01, &[1])),
        ProtoError::ReservedFlags { .. }
    ));
    assert!(matches!(
        decode_err(&raw(0x85, 0x80, b"x")),
        ProtoError::ReservedFlags { .. }
    ));
    // Oversize is caught from the header alone, before the payload arrives.
    let mut h = (MAX_DATA + 1).to_le_bytes().to_vec();
    h.extend_from_slice(&[0x03, 0, 0, 0]);
    assert!(matches!(decode_err(&h), ProtoError::FrameTooLarge { .. }));
    let mut h = u32::MAX.to_le_bytes().to_vec();
    h.extend_from_slice(&[0x84, 0, 0, 0]);
    assert!(matches!(decode_err(&h), ProtoError::FrameTooLarge { .. }));
}

#[test]
fn truncated_payloads() {
    let frame = Message::Hello(hello()).to_frame().unwrap();
    for cut in 8..frame.len() - HEADER_LEN {
        let f = mutate(&frame, |p| p.truncate(cut));
        assert!(
            matches!(
                decode_err(&f),
                ProtoError::Truncated {
                    frame_type: FrameType::Hello,
                    ..
                }
            ),
            "cut {cut}"
        );
    }
    let frame = Message::ResponseHead(ResponseHead {
        status: 200,
        reason: b"OK",
        headers: headers().as_list(),
    })
    .to_frame()
    .unwrap();
    for cut in 10..frame.len() - HEADER_LEN {
        let f = mutate(&frame, |p| p.truncate(cut));
        let e = decode_err(&f);
        assert!(
            matches!(
                e,
                ProtoError::Truncated { .. } | ProtoError::TooManyPairs { .. }
            ),
            "cut {cut}: {e}"
        );
    }
    assert!(matches!(
        decode_err(&raw(0x83, 0, &[1, 0, 0])),
        ProtoError::Truncated { .. }
    ));
    assert!(matches!(
        decode_err(&raw(0x81, 0, &[1, 0])),
        ProtoError::Truncated { .. }
    ));
}

#[test]
fn trailing_bytes_inside_a_frame() {
    let cases: Vec<Vec<u8>> = vec![
        Message::Hello(hello()).to_frame().unwrap(),
        Message::Reject(Reject {
            reason: RejectReason::Auth,
            message: b"no",
        })
        .to_frame()
        .unwrap(),
        Message::Environ(headers().as_list()).to_frame().unwrap(),
        Message::BodyEnd(BodyEnd {
            status: BodyStatus::Complete,
            trailers: PairList::EMPTY,
        })
        .to_frame()
        .unwrap(),
        Message::ResponseHead(ResponseHead {
            status: 200,
            reason: b"",
            headers: PairList::EMPTY,
        })
        .to_frame()
        .unwrap(),
        Message::ResponseEnd(ResponseEnd {
            timings: Timings::default(),
            trailers: PairList::EMPTY,
        })
        .to_frame()
        .unwrap(),
        Message::Error(ErrorReport {
            kind: ErrorKind::Internal,
            message: b"",
        })
        .to_frame()
        .unwrap(),
    ];
    for frame in cases {
        let f = mutate(&frame, |p| p.push(0));
        assert!(
            matches!(decode_err(&f), ProtoError::TrailingBytes { extra: 1, .. }),
            "{:?}",
            FrameType::from_code(frame[4])
        );
    }
    // Fixed-size frames: one extra byte exceeds the type's exact size.
    for (ty, len) in [(0x81, 16), (0x83, 4), (0x86, 16), (0x05, 1)] {
        assert!(matches!(
            decode_err(&raw(ty, 0, &vec![1; len + 1])),
            ProtoError::FrameTooLarge { .. }
        ));
    }
}

#[test]
fn hello_magic_and_version() {
    let frame = Message::Hello(hello()).to_frame().unwrap();
    let f = mutate(&frame, |p| p[0] = b'X');
    assert!(matches!(decode_err(&f), ProtoError::BadMagic));
    let f = mutate(&frame, |p| p[4] = 2);
    assert!(matches!(decode_err(&f), ProtoError::UnsupportedVersion(2)));
    // A future, shorter HELLO still reaches the version check.
    let f = raw(0x01, 0, b"WSGP\x02\x00\x00\x00");
    assert!(matches!(decode_err(&f), ProtoError::UnsupportedVersion(2)));
    let f = mutate(&frame, |p| p[6] = 1);
    assert!(matches!(
        decode_err(&f),
        ProtoError::InvalidValue {
            field: "HELLO reserved",
            ..
        }
    ));
    // Oversized HELLO strings.
    let long = vec![b'g'; MAX_SHORT_STR as usize + 1];
    let err = Message::Hello(Hello {
        process_group: &long,
        ..hello()
    })
    .to_frame()
    .unwrap_err();
    assert!(matches!(err, ProtoError::StringTooLong { .. }));
    let f = mutate(&frame, |p| {
        // request_id length field sits right after the 52-byte fixed part
        p[52..56].copy_from_slice(&(MAX_SHORT_STR + 1).to_le_bytes());
    });
    assert!(matches!(decode_err(&f), ProtoError::StringTooLong { .. }));
}

#[test]
fn accept_version_and_reserved() {
    let a = Message::Accept(Accept {
        version: PROTOCOL_VERSION,
        caps: Caps::NONE,
        daemon_pid: 1,
        worker_id: 2,
    })
    .to_frame()
    .unwrap();
    assert!(matches!(
        decode_err(&mutate(&a, |p| p[0] = 9)),
        ProtoError::UnsupportedVersion(9)
    ));
    assert!(matches!(
        decode_err(&mutate(&a, |p| p[2] = 1)),
        ProtoError::InvalidValue { .. }
    ));
}

#[test]
fn invalid_codes() {
    let bad = |ty: u8, payload: &[u8], field: &str| {
        let e = decode_err(&raw(ty, 0, payload));
        assert!(
            matches!(e, ProtoError::InvalidValue { field: f, .. } if f == field),
            "{e}"
        );
    };
    bad(0x82, &[9, 0, 0, 0, 0, 0], "REJECT reason");
    bad(0x83, &[0, 0, 0, 0], "BODY_CREDIT bytes");
    bad(0x04, &[7, 0, 0, 0, 0], "BODY_END status");
    bad(
        0x84,
        &[99, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "RESPONSE_HEAD status",
    );
    bad(
        0x84,
        &[0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0, 0],
        "RESPONSE_HEAD status",
    );
    bad(0x86, &[0; 16], "RESPONSE_FILE length");
    let mut p = u64::MAX.to_le_bytes().to_vec();
    p.extend_from_slice(&2u64.to_le_bytes());
    bad(0x86, &p, "RESPONSE_FILE offset+length");
    bad(0x89, &[0, 0, 0, 0, 0, 0], "ERROR kind");
    bad(0x05, &[0], "CANCEL reason");
    bad(0x05, &[3], "CANCEL reason");
}

#[test]
fn empty_data_frames() {
    assert!(matches!(
        decode_err(&raw(0x03, 0, b"")),
        ProtoError::EmptyData(FrameType::Body)
    ));
    assert!(matches!(
        decode_err(&raw(0x85, 0, b"")),
        ProtoError::EmptyData(FrameType::ResponseBody)
    ));
}

#[test]
fn pair_caps_in_frames() {
    // Count larger than the payload could hold: rejected before any iteration.
    let mut p = 1_000_000u32.to_le_bytes().to_vec();
    p.extend_from_slice(&[0; 8]);
    assert!(matches!(
        decode_err(&raw(0x02, 0, &p)),
        ProtoError::TooManyPairs { .. }
    ));
    // A lowered limit is honoured.
    let env = Message::Environ(headers().as_list()).to_frame().unwrap();
    let tight = Limits {
        max_pairs: 2,
        ..Limits::default()
    };
    assert!(matches!(
        decode_frame(&env, &tight),
        Err(ProtoError::TooManyPairs { count: 3, max: 2 })
    ));
    let small = Limits {
        max_environ: 16,
        ..Limits::default()
    };
    assert!(matches!(
        decode_frame(&env, &small),
        Err(ProtoError::FrameTooLarge { .. })
    ));
    // Trailer list in BODY_END larger than MAX_TRAILERS is caught by the frame cap.
    let mut p = vec![0u8];
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    p.push(b'k');
    p.extend_from_slice(&(MAX_TRAILERS).to_le_bytes());
    p.resize(p.len() + MAX_TRAILERS as usize, 0);
    assert!(matches!(
        decode_err(&raw(0x04, 0, &p)),
        ProtoError::FrameTooLarge { .. }
    ));
}

#[test]
fn decode_payload_length_mismatch() {
    let h = FrameHeader::new(FrameType::Cancel, 1, 0).unwrap();
    assert!(matches!(
        decode_payload(&h, &[], &Limits::default()),
        Err(ProtoError::Truncated { .. })
    ));
}

#[test]
fn errors_display() {
    let e = decode_err(&raw(0x03, 0, b""));
    assert_eq!(e.to_string(), "empty BODY frame");
    assert!(!e.is_io());
    let e = ProtoError::from(std::io::Error::other("boom"));
    assert!(e.is_io());
    assert_eq!(e.to_string(), "I/O error: boom");
}
