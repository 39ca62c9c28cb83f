//! Daemon mode and large bodies against a real Apache: `wsgi.file_wrapper`
//! in a daemon passes the open file to the Apache child (RESPONSE_FILE with
//! `SCM_RIGHTS`), so a 200 MiB file arrives intact while the daemon neither
//! reads nor writes it (its `/proc/<pid>/io` counters barely move); and a
//! 1 GiB POST to a daemon app that never reads its body costs the daemon no
//! memory (the child relays body bytes only against BODY_CREDIT).

#[macro_use]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use common::*;

const APP: &str = r#"
import os

DATA = os.path.join(os.path.dirname(__file__), "big.bin")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/pid":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    if path == "/file":
        f = open(DATA, "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)
    if path == "/ignore-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"body not read"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b""]
"#;

const FILE_LEN: u64 = 200 << 20;

fn byte_at(i: u64) -> u8 {
    ((i * 7 + i / 4096) % 251) as u8
}

fn write_big(path: &std::path::Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut chunk = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < FILE_LEN {
        for (j, b) in chunk.iter_mut().enumerate() {
            *b = byte_at(pos + j as u64);
        }
        f.write_all(&chunk).unwrap();
        pos += chunk.len() as u64;
    }
    f.flush().unwrap();
}

/// (key, value) of a `/proc/<pid>/<file>` line such as `wchar: 123` or `VmHWM:  123 kB`.
fn proc_field(pid: i32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/{pid}/{file}: {text}"))
}

fn daemon_apache(mpm: Mpm, sendfile: bool, big_file: bool) -> Apache {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("files.wsgi", APP);
    if big_file {
        write_big(&app.with_file_name("big.bin"));
    }
    let mut b = b
        .server("WSGIDaemonProcess files processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=files application-group=%{{GLOBAL}}",
            app.display()
        ));
    if sendfile {
        b = b
            .server("EnableSendfile On")
            .server("WSGIEnableSendfile On");
    }
    b.start()
}

fn daemon_pid(apache: &Apache) -> i32 {
    let r = apache.get("/d/pid");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    r.text().trim().parse().unwrap()
}

fn file_by_descriptor(mpm: Mpm, sendfile: bool) {
    ours_only!("mod_wsgi streams file_wrapper through the daemon socket");
    let apache = daemon_apache(mpm, sendfile, true);
    let pid = daemon_pid(&apache);
    let (rchar0, wchar0) = (
        proc_field(pid, "io", "rchar"),
        proc_field(pid, "io", "wchar"),
    );

    let mut s = apache.client().connect().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /d/file HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut r = BufReader::with_capacity(1 << 20, s);
    let (status, _, headers) = read_head(&mut r).unwrap();
    assert_eq!(status, 200, "{headers:?}\n{}", apache.error_log());
    let cl = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.clone());
    assert_eq!(cl.as_deref(), Some(FILE_LEN.to_string().as_str()));
    let (mut pos, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325u64);
    loop {
        let buf = r.fill_buf().unwrap();
        if buf.is_empty() {
            break;
        }
        for &b in buf {
            assert_eq!(b, byte_at(pos), "byte {pos}");
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            pos += 1;
        }
        let n = buf.len();
        r.consume(n);
    }
    assert_eq!(pos, FILE_LEN, "body length");
    let mut expect = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..FILE_LEN {
        expect = (expect ^ u64::from(byte_at(i))).wrapping_mul(0x100_0000_01b3);
    }
    assert_eq!(hash, expect, "FNV-1a of the body");

    let (rchar, wchar) = (
        proc_field(pid, "io", "rchar"),
        proc_field(pid, "io", "wchar"),
    );
    let limit = 4 << 20;
    assert!(
        wchar - wchar0 < limit && rchar - rchar0 < limit,
        "the body must not pass through the daemon: rchar +{} wchar +{}",
        rchar - rchar0,
        wchar - wchar0
    );
}

fn file_by_descriptor_sendfile(mpm: Mpm) {
    file_by_descriptor(mpm, true)
}
fn file_by_descriptor_plain(mpm: Mpm) {
    file_by_descriptor(mpm, false)
}
per_mpm!(
    daemon_file_wrapper_fd_passing_sendfile,
    file_by_descriptor_sendfile
);
per_mpm!(daemon_file_wrapper_fd_passing, file_by_descriptor_plain);

/// A 1 GiB POST the daemon app never reads: the response arrives and the
/// daemon's peak RSS does not grow by anything like the body.
#[test]
fn daemon_unread_gigabyte_post_costs_no_daemon_memory() {
    let apache = daemon_apache(Mpm::Event, false, false);
    let pid = daemon_pid(&apache);
    let hwm0 = proc_field(pid, "status", "VmHWM");
    const LEN: u64 = 1 << 30;
    let s = apache.client().connect().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || -> u64 {
        let head = format!(
            "POST /d/ignore-body HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: {LEN}\r\n\r\n"
        );
        if w.write_all(head.as_bytes()).is_err() {
            return 0;
        }
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0;
        while sent < LEN {
            match w.write(&chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => sent += n as u64,
            }
        }
        sent
    });
    let mut r = BufReader::new(s.try_clone().unwrap());
    let (status, _, headers) = read_head(&mut r).unwrap();
    assert_eq!(status, 200, "{headers:?}\n{}", apache.error_log());
    // The body as it comes: chunked (mod_wsgi 6.1.1's relay) or not (ours).
    let mut body = Vec::new();
    let mut buf = [0u8; 64];
    while !body.windows(13).any(|w| w == b"body not read") && body.len() < 4096 {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        body.windows(13).any(|w| w == b"body not read"),
        "{:?}",
        String::from_utf8_lossy(&body)
    );
    let _ = s.shutdown(std::net::Shutdown::Both);
    let sent = writer.join().unwrap();
    eprintln!("client sent {sent} body bytes before the cut");
    // Still serving, and the daemon kept its memory.
    assert_eq!(daemon_pid(&apache), pid);
    let hwm = proc_field(pid, "status", "VmHWM");
    assert!(
        hwm.saturating_sub(hwm0) < 16 * 1024,
        "daemon VmHWM grew from {hwm0} kB to {hwm} kB"
    );
}
