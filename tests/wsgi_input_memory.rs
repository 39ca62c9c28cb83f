//! `wsgi.input` memory follows the bytes received, not the declared
//! `Content-Length`: connections that declare 256 MB bodies and send a few
//! KB, to apps calling `read(int(CONTENT_LENGTH))` and `read()`, grow the
//! server's resident memory (Apache children and daemon processes) by far
//! less than the declared size, in embedded and daemon mode. Large bodies
//! that do arrive are read whole, and the server keeps serving once the
//! clients go away.

#[macro_use]
mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;

const MIB: u64 = 1 << 20;
const DECLARED: u64 = 256 * MIB;
const CONNECTIONS: usize = 4;
const SENT: usize = 4096;

const APP: &str = r#"
def application(environ, start_response):
    inp = environ["wsgi.input"]
    q = environ.get("QUERY_STRING", "")
    try:
        if q.startswith("all"):
            data = inp.read()
        else:
            data = inp.read(int(environ.get("CONTENT_LENGTH") or 0))
    except OSError:
        data = b""
    start_response("200 OK", [("Content-Type", "text/plain")])
    if q.endswith("-echo"):
        return [data]
    return [str(len(data)).encode()]
"#;

/// Resident memory (VmRSS) of `pid` in bytes; 0 if it is gone.
fn rss(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Total resident memory of the server's processes below the parent
/// (Apache children and daemon processes).
fn server_rss(apache: &Apache) -> u64 {
    descendants(apache.pid())
        .into_iter()
        .filter(|&p| p != apache.pid())
        .map(rss)
        .sum()
}

fn declared_but_not_sent(daemon: bool) {
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("input_mem.wsgi", APP);
    let mut b = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /mem \"{}\"", app.display()));
    if daemon {
        b = b
            .with_socket_prefix()
            .server("WSGIDaemonProcess mem threads=8")
            .server("WSGIProcessGroup mem");
    }
    let apache = b.start();

    // Warm up: the app is loaded and a full body read works.
    for q in ["n", "all"] {
        let r = apache.post(&format!("/mem?{q}"), b"hello");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.text(), "5");
    }
    // Bodies larger than the first chunk come back whole through the
    // growing buffer.
    let body: Vec<u8> = (0..3 * MIB as usize + 17)
        .map(|i| (i % 251) as u8)
        .collect();
    for q in ["n-echo", "all-echo"] {
        let r = apache.post(&format!("/mem?{q}"), &body);
        assert_eq!(r.status, 200, "{q}");
        assert!(
            r.body == body,
            "{q}: body of {} bytes came back as {} bytes",
            body.len(),
            r.body.len()
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = server_rss(&apache);

    let streams: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|i| {
            let q = if i % 2 == 0 { "n" } else { "all" };
            let mut s = apache.client().connect().unwrap();
            s.write_all(
                format!(
                    "POST /mem?{q} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                     Content-Length: {DECLARED}\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
            s.write_all(&[b'x'; SENT]).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let during = server_rss(&apache);
    drop(streams);

    let growth = during.saturating_sub(before);
    eprintln!(
        "daemon={daemon}: server RSS {} -> {} KiB",
        before / 1024,
        during / 1024
    );
    assert!(
        growth < 64 * MIB,
        "{CONNECTIONS} connections declaring {} MiB and sending {SENT} bytes each grew the \
         server by {} MiB ({} -> {} MiB): wsgi.input allocates the declared body",
        DECLARED / MIB,
        growth / MIB,
        before / MIB,
        during / MIB
    );

    // The server goes on serving once those clients are gone.
    let r = apache.post("/mem?n", b"still here");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "10");
}

#[test]
fn embedded_declared_body_not_allocated() {
    declared_but_not_sent(false);
}

#[test]
fn daemon_declared_body_not_allocated() {
    declared_but_not_sent(true);
}
