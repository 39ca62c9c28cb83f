//! Property tests: round trips of arbitrary messages, decoding arbitrary or mutated bytes
//! never panics and never buffers beyond the caps, incremental decoding (byte by byte or
//! in random chunks) equals whole-buffer decoding, and the state machine never panics and
//! accepts every well-formed conversation.

use std::io::{self, Cursor, Read};

use proptest::collection::vec;
use proptest::prelude::*;

use super::strategies::{Owned, encode_all, message};
use crate::proto::decode::{Decoded, decode_frame};
use crate::proto::frame::*;
use crate::proto::io::{FrameBuffer, FrameReader, MAX_READ};
use crate::proto::messages::*;
use crate::proto::pairs::PairList;
use crate::proto::session::{Session, Side};

/// What decoding a byte stream produced: each frame re-encoded, then how it stopped.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    /// `Err(display)` for a decode error, `Ok(leftover)` for bytes of an incomplete frame.
    end: Result<usize, String>,
}

fn decode_whole(bytes: &[u8], limits: &Limits) -> Outcome {
    let mut frames = Vec::new();
    let mut rest = bytes;
    loop {
        match decode_frame(rest, limits) {
            Ok(Decoded::Frame(m, n)) => {
                assert!(n <= rest.len());
                frames.push(m.to_frame().expect("decoded messages re-encode"));
                rest = &rest[n..];
            }
            Ok(Decoded::Incomplete { needed }) => {
                assert!(needed > rest.len());
                return Outcome {
                    frames,
                    end: Ok(rest.len()),
                };
            }
            Err(e) => {
                return Outcome {
                    frames,
                    end: Err(e.to_string()),
                };
            }
        }
    }
}

fn decode_chunked(bytes: &[u8], chunks: &[usize], limits: &Limits) -> Outcome {
    let mut fb = FrameBuffer::new(*limits);
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().cycle();
    loop {
        loop {
            match fb.next_message() {
                Ok(Some(m)) => frames.push(m.to_frame().unwrap()),
                Ok(None) => break,
                Err(e) => {
                    return Outcome {
                        frames,
                        end: Err(e.to_string()),
                    };
                }
            }
        }
        if rest.is_empty() {
            return Outcome {
                frames,
                end: Ok(fb.buffered()),
            };
        }
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        fb.feed(&rest[..n]);
        rest = &rest[n..];
    }
}

fn decode_with_reader(bytes: &[u8], limits: &Limits) -> Outcome {
    struct Trickle<R>(R, usize);
    impl<R: Read> Read for Trickle<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }
    let mut r = FrameReader::new(Trickle(Cursor::new(bytes), 7), *limits);
    let mut frames = Vec::new();
    let end = loop {
        match r.read_message() {
            Ok(Some(m)) => frames.push(m.to_frame().unwrap()),
            Ok(None) => break Ok(0),
            Err(crate::proto::ProtoError::UnexpectedEof { got, .. }) => break Ok(got),
            Err(e) => break Err(e.to_string()),
        }
    };
    Outcome { frames, end }
}

/// A valid frame stream with some bytes overwritten.
fn mutated_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(message(), 1..6),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(msgs, edits)| {
            let mut bytes = encode_all(&msgs);
            for (i, b) in edits {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            bytes
        })
}

/// Arbitrary bytes, a valid stream, or a valid stream with damage.
fn any_stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..512),
        vec(message(), 0..6).prop_map(|m| encode_all(&m)),
        mutated_stream(),
        (vec(message(), 0..4), vec(any::<u8>(), 0..64)).prop_map(|(m, junk)| {
            let mut b = encode_all(&m);
            b.extend_from_slice(&junk);
            b
        }),
    ]
}

fn small_limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (0u32..4096, 0u32..4096, 0u32..64, 0u32..64, 0u32..256).prop_map(|(e, h, p, k, v)| {
            Limits {
                max_environ: e,
                max_head: h,
                max_pairs: p,
                max_key: k,
                max_value: v,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn round_trip(m in message()) {
        let msg = m.msg();
        let frame = msg.to_frame().unwrap();
        let (got, n) = decode_frame(&frame, &Limits::default()).unwrap().frame().unwrap();
        prop_assert_eq!(n, frame.len());
        prop_assert_eq!(got, msg);
        prop_assert_eq!(got.to_frame().unwrap(), frame);
    }

    #[test]
    fn stream_round_trip(msgs in vec(message(), 0..10)) {
        let bytes = encode_all(&msgs);
        let out = decode_whole(&bytes, &Limits::default());
        prop_assert_eq!(out.end, Ok(0));
        let expect: Vec<Vec<u8>> = msgs.iter().map(|m| m.msg().to_frame().unwrap()).collect();
        prop_assert_eq!(out.frames, expect);
    }

    #[test]
    fn decoding_anything_never_panics(bytes in any_stream(), limits in small_limits()) {
        let _ = decode_whole(&bytes, &limits);
    }

    #[test]
    fn byte_by_byte_equals_whole(bytes in any_stream(), limits in small_limits()) {
        let whole = decode_whole(&bytes, &limits);
        prop_assert_eq!(decode_chunked(&bytes, &[1], &limits), whole);
    }

    #[test]
    fn random_chunks_equal_whole(bytes in any_stream(), chunks in vec(1usize..64, 1..8)) {
        let limits = Limits::default();
        prop_assert_eq!(decode_chunked(&bytes, &chunks, &limits), decode_whole(&bytes, &limits));
    }

    #[test]
    fn blocking_reader_equals_whole(bytes in any_stream(), limits in small_limits()) {
        let whole = decode_whole(&bytes, &limits);
        let read = decode_with_reader(&bytes, &limits);
        prop_assert_eq!(read.frames, whole.frames);
        match whole.end {
            Ok(0) => prop_assert_eq!(read.end, Ok(0)),
            Ok(left) => prop_assert!(matches!(read.end, Ok(n) if n <= left)),
            Err(e) => prop_assert_eq!(read.end, Err(e)),
        }
    }

    /// Buffers never grow past what the caps allow, however the header lies: a header
    /// announcing a huge frame costs at most one read chunk until the bytes really arrive.
    #[test]
    fn buffers_stay_within_caps(
        ty in prop::sample::select(FrameType::ALL.to_vec()),
        len in any::<u32>(),
        body in vec(any::<u8>(), 0..2048),
        limits in small_limits(),
    ) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[ty.code(), 0, 0, 0]);
        bytes.extend_from_slice(&body);
        let limit = 2 * (MAX_READ + HEADER_LEN + bytes.len());

        let mut fb = FrameBuffer::new(limits);
        let mut src = Cursor::new(&bytes);
        loop {
            match fb.read_from(&mut src) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
            prop_assert!(fb.capacity() <= limit, "FrameBuffer capacity {}", fb.capacity());
            if fb.next_message().is_err() {
                break;
            }
        }
        let mut r = FrameReader::new(Cursor::new(&bytes), limits);
        let _ = r.read_message();
        prop_assert!(r.buffer_capacity() <= limit, "FrameReader capacity {}", r.buffer_capacity());
    }

    /// Any sequence of messages thrown at either side, in either role, never panics.
    #[test]
    fn session_never_panics(steps in vec((message(), any::<bool>(), any::<bool>()), 0..24)) {
        let mut s = [Session::new(Side::Client), Session::new(Side::Daemon)];
        for (m, daemon, sending) in &steps {
            let sess = &mut s[usize::from(*daemon)];
            let msg = m.msg();
            let _ = if *sending { sess.send(&msg) } else { sess.recv(&msg) };
            let _ = (sess.credit(), sess.finished(), sess.response_started());
        }
    }

    /// Every well-formed conversation passes on both sides.
    #[test]
    fn legal_conversations_pass(
        credits in vec((1u32..5000, vec(1usize..2000, 1..4)), 0..5),
        head_first in any::<bool>(),
        chunks in vec((1usize..3000, any::<bool>()), 0..5),
        status in prop::sample::select(BodyStatus::ALL),
        fail in any::<bool>(),
    ) {
        let token = [0u8; TOKEN_LEN];
        let mut c = Session::new(Side::Client);
        let mut d = Session::new(Side::Daemon);
        let mut deliver = |m: Message<'_>| -> Result<(), TestCaseError> {
            let (tx, rx) = if m.frame_type().direction() == Direction::ToDaemon {
                (&mut c, &mut d)
            } else {
                (&mut d, &mut c)
            };
            let t = m.frame_type();
            tx.send(&m).map_err(|e| TestCaseError::fail(format!("send {t}: {e}")))?;
            rx.recv(&m).map_err(|e| TestCaseError::fail(format!("recv {t}: {e}")))?;
            Ok(())
        };
        deliver(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            caps: Caps::NONE,
            token: &token,
            queue_start_us: 0,
            request_id: b"",
            process_group: b"",
            application_group: b"",
        }))?;
        deliver(Message::Environ(PairList::EMPTY))?;
        deliver(Message::Accept(Accept {
            version: PROTOCOL_VERSION,
            caps: Caps::NONE,
            daemon_pid: 1,
            worker_id: 1,
        }))?;
        let head = Message::ResponseHead(ResponseHead {
            status: 200,
            reason: b"OK",
            headers: PairList::EMPTY,
        });
        if head_first {
            deliver(head)?;
        }
        let data = vec![0u8; 5000];
        for (credit, splits) in &credits {
            deliver(Message::BodyCredit(*credit))?;
            let mut left = *credit as usize;
            for s in splits {
                let n = (*s).min(left);
                if n == 0 { break; }
                deliver(Message::Body(&data[..n]))?;
                left -= n;
            }
        }
        deliver(Message::BodyEnd(BodyEnd { status, trailers: PairList::EMPTY }))?;
        if !head_first {
            deliver(head)?;
        }
        for (n, flush) in &chunks {
            deliver(Message::ResponseBody { data: &data[..*n], flush: *flush })?;
        }
        if fail {
            deliver(Message::Error(ErrorReport {
                kind: ErrorKind::AppException,
                message: b"",
            }))?;
        } else {
            deliver(Message::ResponseEnd(ResponseEnd {
                timings: Timings::default(),
                trailers: PairList::EMPTY,
            }))?;
        }
        prop_assert!(c.finished() && d.finished());
    }
}

#[test]
fn owned_model_covers_every_type() {
    // Guard for the strategies: every frame type can be generated.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        let m: Owned = message().new_tree(&mut runner).unwrap().current();
        seen.insert(m.msg().frame_type());
    }
    assert_eq!(seen.len(), FrameType::ALL.len());
}
