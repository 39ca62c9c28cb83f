//! Blocking and incremental frame I/O: vectored writes, `FrameReader` (whole frames and
//! streamed data), `FrameBuffer` (partial input, non-blocking sockets), EOF handling.

use std::io::{self, Cursor, IoSlice, Read, Write};
use std::os::unix::net::UnixStream;

use crate::proto::encode::EnvironBuilder;
use crate::proto::error::ProtoError;
use crate::proto::frame::*;
use crate::proto::io::{FrameBuffer, FrameReader, write_all_vectored, write_message};
use crate::proto::messages::*;
use crate::proto::pairs::PairList;

/// A writer that accepts at most 3 bytes per call and fails every other call with EINTR.
struct Dribble {
    out: Vec<u8>,
    interrupt: bool,
}

impl Write for Dribble {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if !self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(3);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader that returns at most 5 bytes per call.
struct Trickle<R>(R);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(5);
        self.0.read(&mut buf[..n])
    }
}

fn sample_stream() -> Vec<u8> {
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let mut env = EnvironBuilder::with_capacity(128);
    env.push(b"REQUEST_METHOD", b"POST").unwrap();
    env.push(b"CONTENT_LENGTH", b"11").unwrap();
    out.extend_from_slice(&env.finish());
    write_message(&mut out, &Message::Body(b"hello world"), &mut scratch).unwrap();
    write_message(
        &mut out,
        &Message::ResponseBody {
            data: b"",
            flush: true,
        },
        &mut scratch,
    )
    .unwrap();
    write_message(
        &mut out,
        &Message::Cancel(CancelReason::ClientGone),
        &mut scratch,
    )
    .unwrap();
    out
}

#[test]
fn vectored_write_survives_short_writes_and_eintr() {
    let mut w = Dribble {
        out: Vec::new(),
        interrupt: false,
    };
    let data = vec![7u8; 1000];
    write_message(&mut w, &Message::Body(&data), &mut Vec::new()).unwrap();
    assert_eq!(w.out, Message::Body(&data).to_frame().unwrap());
    let mut w = Dribble {
        out: Vec::new(),
        interrupt: false,
    };
    write_all_vectored(
        &mut w,
        &mut [
            IoSlice::new(b""),
            IoSlice::new(b"ab"),
            IoSlice::new(b""),
            IoSlice::new(b"cdef"),
        ],
    )
    .unwrap();
    assert_eq!(w.out, b"abcdef");
}

#[test]
fn write_message_rejects_invalid_data_frames() {
    let mut out = Vec::new();
    assert!(write_message(&mut out, &Message::Body(b""), &mut Vec::new()).is_err());
    assert!(out.is_empty());
}

#[test]
fn frame_reader_reads_whole_messages() {
    let bytes = sample_stream();
    let mut r = FrameReader::new(Trickle(Cursor::new(bytes)), Limits::default());
    match r.read_message().unwrap().unwrap() {
        Message::Environ(p) => assert_eq!(p.get(b"CONTENT_LENGTH"), Some(&b"11"[..])),
        m => panic!("{m:?}"),
    }
    assert_eq!(
        r.read_message().unwrap(),
        Some(Message::Body(b"hello world"))
    );
    assert_eq!(
        r.read_message().unwrap(),
        Some(Message::ResponseBody {
            data: b"",
            flush: true
        })
    );
    assert_eq!(
        r.read_message().unwrap(),
        Some(Message::Cancel(CancelReason::ClientGone))
    );
    assert_eq!(r.read_message().unwrap(), None);
    assert!(r.buffer_capacity() <= 1024);
}

#[test]
fn frame_reader_streams_data_into_caller_buffer() {
    let bytes = sample_stream();
    let mut r = FrameReader::new(Cursor::new(bytes), Limits::default());
    let h = r.read_header().unwrap().unwrap();
    assert_eq!(h.frame_type, FrameType::Environ);
    assert!(matches!(r.read_header(), Err(ProtoError::Misuse(_))));
    // Misuse poisons the reader.
    assert!(matches!(r.read_message(), Err(ProtoError::Poisoned)));

    let bytes = sample_stream();
    let mut r = FrameReader::new(Cursor::new(bytes), Limits::default());
    r.read_header().unwrap();
    r.skip_payload().unwrap();
    let h = r.read_header().unwrap().unwrap();
    assert_eq!((h.frame_type, h.len), (FrameType::Body, 11));
    let mut dst = [0u8; 4];
    let mut got = Vec::new();
    loop {
        let n = r.read_data(&mut dst).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&dst[..n]);
    }
    assert_eq!(got, b"hello world");
    // Zero-length flush frame: nothing to stream.
    let h = r.read_header().unwrap().unwrap();
    assert!(h.flush());
    assert_eq!(r.read_data(&mut dst).unwrap(), 0);
    let h = r.read_header().unwrap().unwrap();
    assert!(matches!(r.read_data(&mut dst), Err(ProtoError::Misuse(_))));
    let _ = h;
}

#[test]
fn frame_reader_payload_after_header() {
    let bytes = sample_stream();
    let mut r = FrameReader::new(Cursor::new(bytes), Limits::default());
    r.read_header().unwrap();
    r.skip_payload().unwrap();
    let h = r.read_header().unwrap().unwrap();
    assert_eq!(r.read_payload(&h).unwrap(), Message::Body(b"hello world"));
    assert!(matches!(r.read_payload(&h), Err(ProtoError::Misuse(_))));
}

#[test]
fn frame_reader_eof_cases() {
    let frame = Message::BodyCredit(5).to_frame().unwrap();
    for cut in 1..frame.len() {
        let mut r = FrameReader::new(Cursor::new(frame[..cut].to_vec()), Limits::default());
        let e = r.read_message().unwrap_err();
        assert!(
            matches!(e, ProtoError::UnexpectedEof { .. }),
            "cut {cut}: {e}"
        );
        assert!(matches!(r.read_message(), Err(ProtoError::Poisoned)));
    }
    let body = Message::Body(b"abcdef").to_frame().unwrap();
    let mut r = FrameReader::new(Cursor::new(body[..10].to_vec()), Limits::default());
    r.read_header().unwrap();
    let mut dst = [0u8; 16];
    assert_eq!(r.read_data(&mut dst).unwrap(), 2);
    assert!(matches!(
        r.read_data(&mut dst),
        Err(ProtoError::UnexpectedEof {
            got: 10,
            needed: 14
        })
    ));
    let mut r = FrameReader::new(Cursor::new(body[..10].to_vec()), Limits::default());
    r.read_header().unwrap();
    assert!(matches!(
        r.skip_payload(),
        Err(ProtoError::UnexpectedEof { .. })
    ));
}

#[test]
fn frame_reader_rejects_oversize_before_reading_payload() {
    // A header announcing a 16 MiB environ, followed by nothing: the reader must not
    // allocate 16 MiB up front.
    let mut h = (MAX_ENVIRON).to_le_bytes().to_vec();
    h.extend_from_slice(&[0x02, 0, 0, 0]);
    let mut r = FrameReader::new(Cursor::new(h.clone()), Limits::default());
    assert!(matches!(
        r.read_message(),
        Err(ProtoError::UnexpectedEof { .. })
    ));
    assert!(r.buffer_capacity() <= crate::proto::io::MAX_READ * 2);
    let small = Limits {
        max_environ: 1024,
        ..Limits::default()
    };
    let mut r = FrameReader::new(Cursor::new(h), small);
    assert!(matches!(
        r.read_message(),
        Err(ProtoError::FrameTooLarge { max: 1024, .. })
    ));
    assert_eq!(r.buffer_capacity(), 0);
    assert!(r.get_ref().position() == 8);
    let _ = r.get_mut();
    let _ = r.into_inner();
}

#[test]
fn frame_buffer_incremental() {
    let bytes = sample_stream();
    let mut fb = FrameBuffer::new(Limits::default());
    assert_eq!(fb.needed().unwrap(), HEADER_LEN);
    let mut seen = Vec::new();
    for b in &bytes {
        fb.feed(std::slice::from_ref(b));
        while let Some(m) = fb.next_message().unwrap() {
            seen.push((m.to_frame().unwrap(), fb.frame_offset()));
        }
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].1, 0);
    assert_eq!(seen[1].1, seen[0].0.len() as u64);
    let whole: Vec<u8> = seen.iter().flat_map(|(f, _)| f.clone()).collect();
    assert_eq!(whole, bytes);
    assert!(fb.at_boundary());
    fb.check_eof().unwrap();
    assert_eq!(fb.stream_end(), bytes.len() as u64);
}

#[test]
fn frame_buffer_eof_inside_frame_and_poison() {
    let frame = Message::Body(b"abc").to_frame().unwrap();
    let mut fb = FrameBuffer::new(Limits::default());
    fb.feed(&frame[..9]);
    assert!(fb.next_message().unwrap().is_none());
    assert_eq!(fb.needed().unwrap(), frame.len());
    assert!(!fb.frame_ready().unwrap());
    assert!(matches!(
        fb.check_eof(),
        Err(ProtoError::UnexpectedEof { needed: 11, got: 9 })
    ));

    let mut fb = FrameBuffer::new(Limits::default());
    fb.feed(&[0, 0, 0, 0, 0x77, 0, 0, 0]);
    assert!(matches!(
        fb.next_message(),
        Err(ProtoError::UnknownFrameType(0x77))
    ));
    assert!(matches!(fb.next_message(), Err(ProtoError::Poisoned)));
    assert!(matches!(fb.needed(), Err(ProtoError::Poisoned)));
}

#[test]
fn frame_buffer_over_nonblocking_socket() {
    let (a, b) = UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let mut fb = FrameBuffer::new(Limits::default());
    let mut rb = &b;
    let e = fb.read_from(&mut rb).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(fb.buffered(), 0, "a failed read leaves nothing behind");
    let big = vec![3u8; MAX_DATA as usize];
    let writer = std::thread::spawn(move || {
        let mut aw = &a;
        let mut scratch = Vec::new();
        write_message(&mut aw, &Message::BodyCredit(1), &mut scratch).unwrap();
        write_flushed_body(&a, &big, &mut scratch);
        let end = Message::ResponseEnd(ResponseEnd {
            timings: Timings::default(),
            trailers: PairList::EMPTY,
        });
        write_message(&mut aw, &end, &mut scratch).unwrap();
    });
    let mut types = Vec::new();
    loop {
        while let Some(m) = fb.next_message().unwrap() {
            if let Message::ResponseBody { data, .. } = m {
                assert!(data.iter().all(|x| *x == 3) && data.len() == MAX_DATA as usize);
            }
            types.push(m.frame_type());
        }
        match fb.read_from(&mut rb) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
        assert!(fb.capacity() <= 2 * (MAX_DATA as usize + 2 * crate::proto::io::MAX_READ));
    }
    writer.join().unwrap();
    fb.check_eof().unwrap();
    assert_eq!(
        types,
        [
            FrameType::BodyCredit,
            FrameType::ResponseBody,
            FrameType::ResponseEnd
        ]
    );
}

/// Split mode: a 40 KiB RESPONSE_BODY comes out in pieces of at least 16 KiB (the
/// flush flag only on the last), whatever the arrival pattern; the frames around it
/// and every stream offset are as without splitting.
#[test]
fn frame_buffer_splits_big_response_bodies() {
    let data: Vec<u8> = (0..40 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut bytes = Message::BodyCredit(5).to_frame().unwrap();
    let body_at = bytes.len() as u64;
    bytes.extend(
        Message::ResponseBody {
            data: &data,
            flush: true,
        }
        .to_frame()
        .unwrap(),
    );
    let end_at = bytes.len() as u64;
    bytes.extend(
        Message::ResponseEnd(ResponseEnd {
            timings: Timings::default(),
            trailers: PairList::EMPTY,
        })
        .to_frame()
        .unwrap(),
    );
    for step in [1usize, 1000, 16 * 1024, 64 * 1024] {
        let mut fb = FrameBuffer::new(Limits::default());
        fb.split_response_body(16 * 1024);
        let (mut got, mut pieces, mut flushes) = (Vec::new(), Vec::new(), Vec::new());
        let mut others = Vec::new();
        for chunk in bytes.chunks(step) {
            fb.feed(chunk);
            loop {
                let at = fb.next_frame_offset();
                let Some(m) = fb.next_message().unwrap() else {
                    break;
                };
                match m {
                    Message::ResponseBody { data, flush } => {
                        got.extend_from_slice(data);
                        pieces.push((at, data.len()));
                        flushes.push(flush);
                    }
                    other => others.push((other.frame_type(), at)),
                }
            }
        }
        assert_eq!(got, data, "step {step}");
        assert_eq!(pieces[0].0, body_at, "step {step}");
        // A frame that is complete when looked at is returned whole.
        assert!(
            pieces.len() >= 2 || step > data.len(),
            "step {step}: {pieces:?}"
        );
        assert!(
            pieces[..pieces.len() - 1].iter().all(|p| p.1 >= 16 * 1024),
            "step {step}: {pieces:?}"
        );
        assert_eq!(flushes.iter().filter(|f| **f).count(), 1, "step {step}");
        assert!(flushes.last().unwrap(), "step {step}");
        assert_eq!(
            others,
            vec![(FrameType::BodyCredit, 0), (FrameType::ResponseEnd, end_at)],
            "step {step}"
        );
        assert!(fb.at_boundary());
        fb.check_eof().unwrap();
    }
}

/// Split mode caps each read at the piece size, so the buffer never holds a whole
/// 256 KiB frame.
#[test]
fn frame_buffer_split_mode_reads_in_pieces() {
    let (a, b) = UnixStream::pair().unwrap();
    let big = vec![9u8; MAX_DATA as usize];
    let writer = std::thread::spawn(move || write_flushed_body(&a, &big, &mut Vec::new()));
    let mut fb = FrameBuffer::new(Limits::default());
    fb.split_response_body(16 * 1024);
    let mut rb = &b;
    let mut total = 0;
    while total < MAX_DATA as usize {
        assert!(fb.read_from(&mut rb).unwrap() <= 16 * 1024);
        while let Some(m) = fb.next_message().unwrap() {
            let Message::ResponseBody { data, .. } = m else {
                panic!("unexpected frame");
            };
            total += data.len();
        }
        assert!(fb.capacity() <= 64 * 1024, "capacity {}", fb.capacity());
    }
    assert_eq!(total, MAX_DATA as usize);
    writer.join().unwrap();
}

/// Writes one RESPONSE_BODY frame with the flush flag.
fn write_flushed_body(sock: &UnixStream, data: &[u8], scratch: &mut Vec<u8>) {
    let body = Message::ResponseBody { data, flush: true };
    write_message(&mut &*sock, &body, scratch).unwrap();
}
