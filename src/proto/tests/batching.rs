//! The reads a relay batches on: `FrameBuffer::next_message_more` says whether
//! another frame is buffered behind the one it returns, split mode reads a whole
//! piece whatever the next frame needs, and `FdFrameReader::try_fill` takes in
//! what the socket holds without blocking.

use std::io::Write;
use std::os::unix::net::UnixStream;

use crate::proto::fdpass::FdFrameReader;
use crate::proto::frame::*;
use crate::proto::io::{FrameBuffer, write_message};
use crate::proto::messages::*;
use crate::proto::pairs::PairList;

fn body_frame(data: &[u8]) -> Vec<u8> {
    Message::ResponseBody { data, flush: true }
        .to_frame()
        .unwrap()
}

fn end_frame() -> Vec<u8> {
    Message::ResponseEnd(ResponseEnd {
        timings: Timings::default(),
        trailers: PairList::EMPTY,
    })
    .to_frame()
    .unwrap()
}

/// Three frames fed at once: the first two have a complete frame behind them,
/// the last does not; a partial frame behind does not count.
#[test]
fn more_reports_a_complete_frame_behind() {
    let mut fb = FrameBuffer::new(Limits::default());
    let mut bytes = body_frame(b"one");
    bytes.extend(body_frame(b"two"));
    bytes.extend(end_frame());
    fb.feed(&bytes);
    let mut seen = Vec::new();
    while let Some((m, more)) = fb.next_message_more().unwrap() {
        seen.push((m.frame_type(), more));
    }
    assert_eq!(
        seen,
        vec![
            (FrameType::ResponseBody, true),
            (FrameType::ResponseBody, true),
            (FrameType::ResponseEnd, false),
        ]
    );
    // A frame followed by half of the next: not "more".
    let second = body_frame(b"second");
    let mut bytes = body_frame(b"first");
    bytes.extend_from_slice(&second[..second.len() - 1]);
    fb.feed(&bytes);
    let (_, more) = fb.next_message_more().unwrap().unwrap();
    assert!(!more);
    assert!(fb.next_message_more().unwrap().is_none());
    fb.feed(&second[second.len() - 1..]);
    let (m, more) = fb.next_message_more().unwrap().unwrap();
    assert!(matches!(
        m,
        Message::ResponseBody {
            data: b"second",
            ..
        }
    ));
    assert!(!more);
}

/// Split mode: a piece takes every payload byte buffered (nothing behind it);
/// a small frame followed by at least a piece of a big one has more behind.
#[test]
fn more_in_split_mode() {
    let mut fb = FrameBuffer::new(Limits::default());
    fb.split_response_body(1024);
    let big = vec![7u8; 4096];
    let mut bytes = body_frame(b"small");
    let frame = body_frame(&big);
    bytes.extend_from_slice(&frame[..HEADER_LEN + 2000]);
    fb.feed(&bytes);
    let (m, more) = fb.next_message_more().unwrap().unwrap();
    assert!(matches!(m, Message::ResponseBody { data: b"small", .. }));
    assert!(more, "2000 bytes of a 4096-byte frame are a piece");
    let (m, more) = fb.next_message_more().unwrap().unwrap();
    assert!(matches!(m, Message::ResponseBody { data, flush: false } if data.len() == 2000));
    assert!(!more);
}

/// A header that does not validate counts as "more": the next call reports the
/// error without reading.
#[test]
fn more_with_a_bad_header_behind() {
    let mut fb = FrameBuffer::new(Limits::default());
    let mut bytes = body_frame(b"ok");
    bytes.extend_from_slice(&[0, 0, 0, 0, 0x7f, 0, 0, 0]);
    fb.feed(&bytes);
    let (_, more) = fb.next_message_more().unwrap().unwrap();
    assert!(more);
    assert!(fb.next_message_more().is_err());
}

/// Split mode reads a whole piece even when the next frame needs less, once
/// a read has filled the 16 KiB it starts with, so frames a daemon wrote one
/// after the other come in with one read; a small response never makes the
/// buffer bigger than 16 KiB.
#[test]
fn split_mode_reads_several_small_frames_at_once() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut scratch = Vec::new();
    for _ in 0..8 {
        write_message(
            &mut &a,
            &Message::ResponseBody {
                data: &[1u8; 4096],
                flush: true,
            },
            &mut scratch,
        )
        .unwrap();
    }
    let total = 8 * (HEADER_LEN + 4096);
    let mut fb = FrameBuffer::new(Limits::default());
    fb.split_response_body(32 * 1024);
    assert_eq!(
        fb.read_from(&mut &b).unwrap(),
        16 * 1024,
        "the first read: 16 KiB"
    );
    let mut count = 0;
    while fb.next_message_more().unwrap().is_some() {
        count += 1;
    }
    assert_eq!(
        fb.read_from(&mut &b).unwrap(),
        total - 16 * 1024,
        "then a whole piece"
    );
    while let Some((_, more)) = fb.next_message_more().unwrap() {
        count += 1;
        assert_eq!(more, count < 8);
    }
    assert_eq!(count, 8);

    let (a, b) = UnixStream::pair().unwrap();
    let mut fb = FrameBuffer::new(Limits::default());
    fb.split_response_body(32 * 1024);
    for _ in 0..3 {
        (&a).write_all(&body_frame(&[2u8; 3000])).unwrap();
        fb.read_from(&mut &b).unwrap();
        assert!(fb.next_message().unwrap().is_some());
    }
    assert!(fb.capacity() <= 16 * 1024 + HEADER_LEN, "{}", fb.capacity());
}

/// `try_fill` never blocks: false on a dry socket, true once bytes (or EOF)
/// are there, and what it took in is returned by the next read.
#[test]
fn try_fill_does_not_block() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut r = FdFrameReader::new(Limits::default());
    r.split_response_body(32 * 1024);
    assert!(!r.try_fill(&b));
    (&a).write_all(&body_frame(b"hello")).unwrap();
    assert!(r.try_fill(&b));
    assert!(r.frame_ready().unwrap());
    let (m, fd, more) = r.read_message_more(&b).unwrap().unwrap();
    assert!(matches!(m, Message::ResponseBody { data: b"hello", .. }));
    assert!(fd.is_none() && !more);
    drop(a);
    assert!(r.try_fill(&b), "EOF counts as arrived");
    assert!(r.read_message(&b).unwrap().is_none());
}

/// Pinned, the buffer keeps the bytes of the frames it returned in place (no
/// compaction, even once they are all consumed) and refuses to read; the
/// frames already buffered still decode. Unpinned, it reads again.
#[test]
fn pinned_buffer_keeps_returned_bytes_in_place() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut fb = FrameBuffer::new(Limits::default());
    fb.split_response_body(32 * 1024);
    let mut bytes = Vec::new();
    for i in 0..3u8 {
        bytes.extend(body_frame(&[i; 1000]));
    }
    (&a).write_all(&bytes).unwrap();
    fb.read_from(&mut &b).unwrap();
    let mut seen = Vec::new();
    while let Some((m, _)) = fb.next_message_more().unwrap() {
        let Message::ResponseBody { data, .. } = m else {
            panic!("unexpected frame");
        };
        seen.push((data.as_ptr() as usize, data[0]));
        fb.pin(true);
    }
    // Everything consumed and pinned: the bytes are where they were.
    let base = seen[0].0;
    for (i, (p, first)) in seen.iter().enumerate() {
        assert_eq!(*p, base + i * (HEADER_LEN + 1000));
        // SAFETY: pinned: the buffer neither moved nor overwrote them.
        assert_eq!(unsafe { *(*p as *const u8) }, *first);
    }
    (&a).write_all(&body_frame(b"more")).unwrap();
    assert!(
        fb.read_from(&mut &b).is_err(),
        "a pinned buffer must not read"
    );
    fb.pin(false);
    fb.read_from(&mut &b).unwrap();
    let (m, _) = fb.next_message_more().unwrap().unwrap();
    assert!(matches!(m, Message::ResponseBody { data: b"more", .. }));
}
