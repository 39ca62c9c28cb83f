//! `wsgi.input` against a real Apache: read(), read(n), readline(),
//! readline(n), readlines(hint), iteration, close() and b'' at the end;
//! chunked request bodies with `WSGIChunkedRequest On` (411 without it, 501
//! for other transfer codings); `Expect: 100-continue` answered only when
//! the application reads; LimitRequestBody (413); a client that goes away
//! mid-upload (OSError in the app, the server keeps serving); and a 100 MiB
//! upload streamed through with bounded memory.

#[macro_use]
mod common;

use std::io::{BufReader, Write};
use std::time::Duration;

use common::*;

fn input_apache(mpm: Mpm, extra: &[&str]) -> Apache {
    let b = Apache::builder(mpm);
    let ops = b.app("input_ops.wsgi");
    let upload = b.app("upload_count.wsgi");
    let echo = b.app("echo.wsgi");
    let mut b = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /in \"{}\"", ops.display()))
        .server(format!("WSGIScriptAlias /upload \"{}\"", upload.display()))
        .server(format!("WSGIScriptAlias /echo \"{}\"", echo.display()));
    for l in extra {
        b = b.server(*l);
    }
    b.start()
}

const BODY: &[u8] = b"line1\nline2\nlast";

fn read_methods(mpm: Mpm) {
    let apache = input_apache(mpm, &[]);
    let cases: &[(&str, &str)] = &[
        ("read", "b'line1\\nline2\\nlast'\nb''\n"),
        ("read-n", "b'line1'\nb'\\nline'\nb'2\\nlas'\nb't'\nb''\n"),
        ("readline", "b'line1\\n'\nb'line2\\n'\nb'last'\nb''\n"),
        (
            "readline-n",
            "b'line'\nb'1\\n'\nb'line'\nb'2\\n'\nb'last'\nb''\n",
        ),
        ("readlines", "[b'line1\\n', b'line2\\n', b'last']\n"),
        ("readlines-hint", "[b'line1\\n']\nb'line2\\nlast'\n"),
        ("iter", "b'line1\\n'\nb'line2\\n'\nb'last'\n"),
        ("close", "b'lin'\n"),
    ];
    for (op, expected) in cases {
        let r = apache.post(&format!("/in?{op}"), BODY);
        assert_eq!(r.status, 200, "{op}: {r:?}");
        assert_eq!(r.text(), *expected, "wsgi.input {op}");
    }
    // No body at all: read() gives b'' twice.
    let r = apache.get("/in?read");
    assert_eq!(r.text(), "b''\nb''\n");
}
per_mpm!(input_read_methods, read_methods);

fn chunked_body(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("{:x}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn chunked_requests() {
    let b = Apache::builder(Mpm::Event);
    let ops = b.app("input_ops.wsgi");
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /on \"{}\"", ops.display()))
        .server("<Location /on>\n    WSGIChunkedRequest On\n</Location>")
        .server(format!("WSGIScriptAlias /off \"{}\"", ops.display()))
        .start();
    let body = chunked_body(&[b"line1\nli", b"ne2\n", b"last"]);
    let send = |path: &str, te: &str| {
        apache
            .client()
            .send(
                &Request::new("POST", path)
                    .header("Transfer-Encoding", te)
                    .body(body.clone()),
            )
            .unwrap()
    };
    let r = send("/on?readline", "chunked");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "b'line1\\n'\nb'line2\\n'\nb'last'\nb''\n");
    let r = send("/off?read", "chunked");
    assert_eq!(r.status, 411, "chunked without WSGIChunkedRequest: {r:?}");
    let r = send("/on?read", "gzip, chunked");
    assert!(
        r.status == 501 || r.status == 400,
        "other transfer codings are refused: {r:?}"
    );
}

/// Expect: 100-continue gets `100 Continue` only when the app reads.
#[test]
fn expect_continue_only_on_first_read() {
    let apache = input_apache(Mpm::Event, &[]);
    let head = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
    };
    // The app never reads: the final response comes without a 100 (the
    // body is sent at once, as clients do after a short wait; a server that
    // read the body before running the app would have sent a 100).
    let mut s = apache.client().connect().unwrap();
    s.write_all(format!("{}hello", head("/in?none")).as_bytes())
        .unwrap();
    let mut reader = BufReader::new(s);
    let r = read_response(&mut reader, "POST").unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.interim.is_empty(),
        "no 100 Continue without a read: {r:?}"
    );

    // The app reads: 100 Continue first, then the body is sent.
    let mut s = apache.client().connect().unwrap();
    s.write_all(head("/in?read").as_bytes()).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let (status, _, _) = read_head(&mut reader).unwrap();
    assert_eq!(status, 100, "interim response expected before the body");
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut reader, "POST").unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "b'hello'\nb''\n");
}

#[test]
fn limit_request_body() {
    let apache = input_apache(
        Mpm::Event,
        &[
            "LimitRequestBody 100",
            "<Location /in>\n    WSGIChunkedRequest On\n</Location>",
        ],
    );
    let r = apache.post("/in?read", &[b'x'; 200]);
    assert_eq!(r.status, 413, "{r:?}");
    let r = apache.post("/in?read", &[b'x'; 100]);
    assert_eq!(r.status, 200, "{r:?}");
    // Chunked: the limit is only found while reading; Apache answers 413
    // itself and the app's read raises OSError (as with mod_wsgi, Apache
    // then appends its 500 page to the same response body).
    let r = apache
        .client()
        .send(
            &Request::new("POST", "/in?read")
                .header("Transfer-Encoding", "chunked")
                .body(chunked_body(&[&[b'x'; 80], &[b'y'; 80]])),
        )
        .unwrap();
    assert_eq!(r.status, 413, "{r:?}");
}

/// The client sends part of a declared body and closes: the app's read
/// raises OSError, and the same child goes on serving.
fn client_gone_mid_upload(mpm: Mpm) {
    let apache = input_apache(mpm, &[]);
    {
        let mut s = apache.client().connect().unwrap();
        s.write_all(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n")
            .unwrap();
        s.write_all(&[b'x'; 5000]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        apache.wait_for_log("upload-aborted-marker", Duration::from_secs(10)),
        "the app must see an OSError when the client goes away:\n{}",
        apache.error_log()
    );
    let r = apache.post("/echo", b"still here");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "still here");
}
per_mpm!(client_disconnect_mid_upload, client_gone_mid_upload);

/// 100 MiB through wsgi.input in 64 KiB reads: the child's peak RSS stays
/// far below the body size (nothing buffers the whole body).
#[test]
fn large_upload_bounded_memory() {
    let apache = input_apache(Mpm::Event, &[]);
    const MIB: usize = 1 << 20;
    const TOTAL: usize = 100 * MIB;
    let mut s = apache.client().connect().unwrap();
    s.write_all(
        format!("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {TOTAL}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let chunk: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let mut hasher = crc32::Hasher::new();
    for _ in 0..100 {
        s.write_all(&chunk).unwrap();
        hasher.update(&chunk);
    }
    let crc = hasher.finalize();
    let r = read_response(&mut BufReader::new(s), "POST").unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let kv = parse_kv(&r.text());
    assert_eq!(kv["bytes"], TOTAL.to_string());
    assert_eq!(kv["crc"], crc.to_string(), "body corrupted in transit");
    let maxrss_kib: u64 = kv["maxrss"].parse().unwrap();
    assert!(
        maxrss_kib < 80 * 1024,
        "peak RSS {maxrss_kib} KiB while streaming a 100 MiB upload: the body is being buffered"
    );
}

/// A tiny CRC-32 (IEEE), the same as Python's zlib.crc32, so the test has
/// no extra dependency.
mod crc32 {
    pub struct Hasher {
        crc: u32,
        table: [u32; 256],
    }
    impl Hasher {
        pub fn new() -> Hasher {
            let mut table = [0u32; 256];
            for (i, t) in table.iter_mut().enumerate() {
                let mut c = i as u32;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xEDB8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
                *t = c;
            }
            Hasher { crc: !0, table }
        }
        pub fn update(&mut self, data: &[u8]) {
            for &b in data {
                self.crc = self.table[((self.crc ^ b as u32) & 0xff) as usize] ^ (self.crc >> 8);
            }
        }
        pub fn finalize(&self) -> u32 {
            !self.crc
        }
    }
}

/// Large reads go straight into the returned bytes object (not zeroed
/// first in embedded mode): a body that ends part-way through a 64 KiB
/// read, and a whole-body `read()`, return exactly the bytes sent, in
/// embedded and daemon mode.
fn large_reads_return_exactly_the_body(daemon: bool) {
    let extra: &[&str] = if daemon {
        &[
            "WSGIDaemonProcess input threads=2",
            "WSGIProcessGroup input",
        ]
    } else {
        &[]
    };
    let apache = input_apache(Mpm::Event, extra);
    let body: Vec<u8> = (0..200_003u32).map(|i| (i % 251) as u8 + 1).collect();
    let mut hasher = crc32::Hasher::new();
    hasher.update(&body);
    let r = apache.post("/upload", &body);
    assert_eq!(r.status, 200, "{r:?}");
    let kv = parse_kv(&r.text());
    assert_eq!(kv["bytes"], body.len().to_string(), "{kv:?}");
    assert_eq!(kv["crc"], hasher.finalize().to_string(), "{kv:?}");
    let r = apache.post("/echo", &body);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body == body,
        "read() returned {} bytes, not the body",
        r.body.len()
    );
}

#[test]
fn large_reads_return_exactly_the_body_embedded() {
    large_reads_return_exactly_the_body(false);
}

#[test]
fn large_reads_return_exactly_the_body_daemon() {
    large_reads_return_exactly_the_body(true);
}
