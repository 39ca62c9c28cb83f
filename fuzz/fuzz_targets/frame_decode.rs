//! The WSGP frame decoder on arbitrary bytes: `decode_frame` over the whole
//! input, the incremental `FrameBuffer` fed in small chunks (plain and in
//! split mode) and the blocking `FrameReader` must never panic, must agree on
//! the frames they return and on whether the stream is malformed, and every
//! frame they accept must re-encode to exactly its input bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi::proto::{Decoded, FrameBuffer, FrameReader, Limits, Message, decode_frame};

/// What a decoder made of the input: each frame re-encoded, and whether it
/// stopped on an error (as opposed to a clean end or a partial frame).
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    error: bool,
}

fn encode(m: &Message<'_>) -> Vec<u8> {
    m.to_frame().expect("a decoded message re-encodes")
}

fn whole(data: &[u8], limits: &Limits) -> (Outcome, usize) {
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        match decode_frame(&data[at..], limits) {
            Ok(Decoded::Frame(m, n)) => {
                let bytes = encode(&m);
                assert_eq!(bytes, &data[at..at + n], "canonical re-encoding");
                frames.push(bytes);
                at += n;
            }
            Ok(Decoded::Incomplete { needed }) => {
                assert!(needed > data.len() - at, "incomplete but enough bytes");
                return (
                    Outcome {
                        frames,
                        error: false,
                    },
                    at,
                );
            }
            Err(_) => {
                return (
                    Outcome {
                        frames,
                        error: true,
                    },
                    at,
                );
            }
        }
    }
}

fn chunked(data: &[u8], limits: &Limits, chunk: usize) -> Outcome {
    let mut fb = FrameBuffer::new(*limits);
    let mut frames = Vec::new();
    for piece in data.chunks(chunk) {
        fb.feed(piece);
        loop {
            match fb.next_message() {
                Ok(Some(m)) => frames.push(encode(&m)),
                Ok(None) => break,
                Err(_) => {
                    return Outcome {
                        frames,
                        error: true,
                    };
                }
            }
        }
    }
    Outcome {
        frames,
        error: false,
    }
}

/// Split mode: RESPONSE_BODY payloads come back in pieces; their bytes, in
/// order, must be the frames' bytes.
fn split_bodies(data: &[u8], limits: &Limits, piece: usize) -> (Vec<u8>, bool) {
    let mut fb = FrameBuffer::new(*limits);
    fb.split_response_body(piece);
    let mut body = Vec::new();
    for part in data.chunks(5) {
        fb.feed(part);
        loop {
            match fb.next_message() {
                Ok(Some(Message::ResponseBody { data, .. })) => body.extend_from_slice(data),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return (body, true),
            }
        }
    }
    (body, false)
}

fn reader(data: &[u8], limits: &Limits) -> Outcome {
    let mut r = FrameReader::new(data, *limits);
    let mut frames = Vec::new();
    loop {
        match r.read_message() {
            Ok(Some(m)) => frames.push(encode(&m)),
            Ok(None) => {
                return Outcome {
                    frames,
                    error: false,
                };
            }
            Err(_) => {
                return Outcome {
                    frames,
                    error: true,
                };
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let (expected, used) = whole(data, &limits);
    for chunk in [1, 7, 4096] {
        assert_eq!(chunked(data, &limits, chunk), expected, "chunk {chunk}");
    }
    // The blocking reader also fails on EOF inside a frame.
    let mut by_reader = expected.frames.clone();
    let got = reader(data, &limits);
    assert_eq!(got.frames, std::mem::take(&mut by_reader));
    assert_eq!(got.error, expected.error || used < data.len());
    if !expected.error {
        let (body, error) = split_bodies(data, &limits, 3);
        assert!(!error, "split mode failed on a valid stream");
        let mut want = Vec::new();
        for f in &expected.frames {
            if let Ok(Decoded::Frame(Message::ResponseBody { data, .. }, _)) =
                decode_frame(f, &limits)
            {
                want.extend_from_slice(data);
            }
        }
        // A trailing partial RESPONSE_BODY may already have given pieces.
        assert!(body.starts_with(&want), "split pieces differ");
    }
});
