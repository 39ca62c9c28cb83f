//! The seed corpora of the `frame_decode` and `fdpass` fuzz targets
//! (`fuzz/corpus/`): a request's and a response's frames, as the codec tests
//! build them, one frame per file and whole streams. The test fails if a
//! committed seed differs from what the codec encodes today (so the seeds
//! follow the protocol); `WRITE_FUZZ_SEEDS=1` rewrites them.

use std::path::{Path, PathBuf};

use crate::proto::frame::*;
use crate::proto::messages::*;
use crate::proto::pairs::PairListBuf;

const TOKEN: [u8; TOKEN_LEN] = [0xab; TOKEN_LEN];

fn environ() -> PairListBuf {
    PairListBuf::from_pairs([
        (&b"REQUEST_METHOD"[..], &b"POST"[..]),
        (b"SCRIPT_NAME", b"/app"),
        (b"PATH_INFO", b"/x"),
        (b"QUERY_STRING", b"a=1&b=2"),
        (b"CONTENT_LENGTH", b"3"),
        (b"HTTP_HOST", b"www.example.com"),
        (b"wsgi.url_scheme", b"http"),
        (crate::proto::HEADER_ONLY_KEY.as_bytes(), b"1"),
    ])
    .unwrap()
}

fn pairs(list: &[(&'static [u8], &'static [u8])]) -> PairListBuf {
    PairListBuf::from_pairs(list.iter().copied()).unwrap()
}

/// (name, frame) for every frame type, in conversation order.
fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let env = environ();
    let headers = pairs(&[
        (b"Content-Type", b"text/plain; charset=utf-8"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]);
    let trailers = pairs(&[(b"X-Checksum", b"abc")]);
    let messages = [
        (
            "hello",
            Message::Hello(Hello {
                version: PROTOCOL_VERSION,
                caps: Caps::KNOWN,
                token: &TOKEN,
                queue_start_us: 1_700_000_000_000_000,
                request_id: b"aGVsbG8",
                process_group: b"example",
                application_group: b"example.com|/app",
            }),
        ),
        (
            "accept",
            Message::Accept(Accept {
                version: PROTOCOL_VERSION,
                caps: Caps::KNOWN,
                daemon_pid: 4242,
                worker_id: 3,
            }),
        ),
        ("environ", Message::Environ(env.as_list())),
        ("body_credit", Message::BodyCredit(65536)),
        ("body", Message::Body(b"a=b")),
        (
            "body_end",
            Message::BodyEnd(BodyEnd {
                status: BodyStatus::Complete,
                trailers: trailers.as_list(),
            }),
        ),
        (
            "response_head",
            Message::ResponseHead(ResponseHead {
                status: 200,
                reason: b"OK",
                headers: headers.as_list(),
            }),
        ),
        (
            "response_body",
            Message::ResponseBody {
                data: b"hello, world\n",
                flush: true,
            },
        ),
        (
            "response_file",
            Message::ResponseFile(ResponseFile {
                offset: 7,
                length: 8,
                flush: false,
            }),
        ),
        (
            "response_end",
            Message::ResponseEnd(ResponseEnd {
                timings: Timings {
                    app_us: 1200,
                    cpu_us: 900,
                    queue_us: 35,
                },
                trailers: trailers.as_list(),
            }),
        ),
        (
            "reject",
            Message::Reject(Reject {
                reason: RejectReason::Overloaded,
                message: b"too busy",
            }),
        ),
        (
            "error",
            Message::Error(ErrorReport {
                kind: ErrorKind::AppException,
                message: b"ZeroDivisionError: division by zero",
            }),
        ),
        ("cancel", Message::Cancel(CancelReason::ClientGone)),
    ];
    messages
        .iter()
        .map(|(name, m)| (*name, m.to_frame().unwrap()))
        .collect()
}

fn frame(all: &[(&str, Vec<u8>)], name: &str) -> Vec<u8> {
    all.iter().find(|(n, _)| *n == name).unwrap().1.clone()
}

fn stream(all: &[(&str, Vec<u8>)], names: &[&str]) -> Vec<u8> {
    names.iter().flat_map(|n| frame(all, n)).collect()
}

/// An fdpass input: a mode byte, then chunks of (length, descriptor count, bytes).
fn fd_chunks(mode: u8, chunks: &[(&[u8], u8)]) -> Vec<u8> {
    let mut out = vec![mode];
    for (bytes, fds) in chunks {
        for piece in bytes.chunks(255) {
            out.push(piece.len() as u8);
            out.push(*fds);
            out.extend_from_slice(piece);
        }
    }
    out
}

/// Every seed: (target, file name, contents).
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let all = frames();
    let mut out: Vec<_> = all
        .iter()
        .map(|(n, f)| ("frame_decode", n.to_string(), f.clone()))
        .collect();
    let request = ["hello", "environ", "body", "body_end", "cancel"];
    let response = [
        "accept",
        "body_credit",
        "response_head",
        "response_body",
        "response_file",
        "response_end",
    ];
    out.push(("frame_decode", "request".into(), stream(&all, &request)));
    out.push(("frame_decode", "response".into(), stream(&all, &response)));
    let (head, file, end) = (
        stream(&all, &["accept", "response_head", "response_body"]),
        frame(&all, "response_file"),
        frame(&all, "response_end"),
    );
    out.push((
        "fdpass",
        "response_file".into(),
        fd_chunks(0, &[(&head, 0), (&file, 1), (&end, 0)]),
    ));
    out.push((
        "fdpass",
        "split".into(),
        fd_chunks(5, &[(&head, 0), (&file, 1), (&end, 0)]),
    ));
    let error = stream(&all, &["accept", "error"]);
    out.push(("fdpass", "error".into(), fd_chunks(0, &[(&error, 0)])));
    out.push((
        "fdpass",
        "stray_fd".into(),
        fd_chunks(0, &[(&head, 2), (&end, 0)]),
    ));
    out
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

#[test]
fn fuzz_seeds_match_the_codec() {
    let write = std::env::var_os("WRITE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in seeds() {
        let path = corpus_dir().join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (WRITE_FUZZ_SEEDS=1 writes it)", path.display()));
        assert_eq!(committed, bytes, "{} is stale", path.display());
    }
}
