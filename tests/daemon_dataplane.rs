//! The daemon data plane against a real Apache: the Apache child reads the
//! daemon's RESPONSE_BODY frames in 32 KiB pieces and passes every frame one
//! read brought in downstream in one pass, and the daemon grants body credit
//! one window ahead. What must hold whatever the batching: every byte of a
//! streamed response arrives once and in order (small, piece-sized and
//! larger-than-a-piece chunks, several clients at once); a daemon that dies
//! mid-body with frames read and not yet passed still gets those frames to
//! the client before the connection is cut; a client that goes away mid-body
//! frees the daemon thread; a recycle (maximum-requests) while a stream is
//! in flight lets the stream finish whole; an upload through the read-ahead
//! credit arrives whole, and an application that stops reading its body
//! and streams a big response is not left waiting on the credit it granted
//! ahead.

#[macro_use]
mod common;

use std::io::{BufReader, Read, Write};
use std::time::{Duration, Instant};

use common::*;

/// A daemon group `g` serving yield_stream.wsgi at /y and echo.wsgi at /echo.
fn server(mpm: Mpm, options: &str) -> Apache {
    let b = Apache::builder(mpm)
        .with_socket_prefix()
        .allow_log(r"AH00052: child pid \d+ exit signal");
    let y = b.app("yield_stream.wsgi");
    let echo = b.app("echo.wsgi");
    let rts = b.app("read_then_stream.wsgi");
    b.log_level("warn wsgi:info")
        .server(format!("WSGIDaemonProcess g {options}"))
        .server("WSGIProcessGroup g")
        .server(format!("WSGIScriptAlias /y \"{}\"", y.display()))
        .server(format!("WSGIScriptAlias /echo \"{}\"", echo.display()))
        .server(format!("WSGIScriptAlias /rts \"{}\"", rts.display()))
        .start()
}

/// What /y?n=`n`&kib=`kib` sends: chunk i is `kib` KiB of the byte i % 251.
fn expected(n: usize, kib: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| std::iter::repeat_n((i % 251) as u8, kib * 1024))
        .collect()
}

/// GET `path` on a fresh connection; the head and every body byte until the
/// server closes (or the client timeout of 60 s).
fn get_until_close(apache: &Apache, path: &str) -> (Head, Vec<u8>) {
    let client = apache.client();
    let s = client.connect().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    (&s).write_all(&Request::new("GET", path).to_bytes(client.port, false))
        .unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r).unwrap();
    let mut body = Vec::new();
    let _ = r.read_to_end(&mut body);
    (head, body)
}

fn header<'a>(head: &'a Head, name: &str) -> Option<&'a str> {
    head.2
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Chunks of 1 KiB (many frames per read), 16 KiB (the benchmark's), 32 KiB
/// (one piece) and 100 KiB (split into pieces), four clients at once each:
/// every body is exactly what the application yielded.
fn streams_arrive_whole_and_in_order(mpm: Mpm) {
    let apache = server(mpm, "processes=2 threads=4");
    let cases = [(2048, 1), (256, 16), (64, 32), (40, 100)];
    let client = apache.client();
    let results = concurrently(cases.len() * 4, move |i| {
        let (n, kib) = cases[i % cases.len()];
        let r = client.get(&format!("/y?n={n}&kib={kib}"));
        (n, kib, r)
    });
    for (n, kib, r) in results {
        assert_eq!(r.status, 200, "{r:?}\n{}", tail(&apache.error_log(), 20));
        let want = expected(n, kib);
        assert_eq!(r.body.len(), want.len(), "n={n} kib={kib}");
        assert!(r.body == want, "n={n} kib={kib}: bytes lost or reordered");
    }
}
per_mpm!(
    streams_arrive_whole_and_in_order,
    streams_arrive_whole_and_in_order
);

/// The daemon SIGKILLs itself after yielding 20 chunks of 4 KiB: those
/// chunks were written to the socket (several frames per relay read), and
/// the client gets exactly them, then the connection closes short of the
/// Content-Length; the Apache child lives on and the group serves again.
fn daemon_killed_mid_body(mpm: Mpm) {
    let apache = server(mpm, "processes=1 threads=2");
    for _ in 0..3 {
        let (head, body) = get_until_close(&apache, "/y?n=64&kib=4&die_after=20");
        assert_eq!(head.0, 200);
        assert_eq!(header(&head, "Content-Length"), Some("262144"));
        assert_eq!(
            body.len(),
            20 * 4096,
            "the frames sent before the daemon died must reach the client\n{}",
            tail(&apache.error_log(), 20)
        );
        assert!(body == expected(20, 4), "bytes lost or reordered");
        let start = Instant::now();
        loop {
            let r = apache.get("/y?n=2&kib=1");
            if r.status == 200 {
                assert_eq!(r.body, expected(2, 1));
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the group did not serve again: {r:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
per_mpm!(daemon_killed_mid_body, daemon_killed_mid_body);

/// A client reads 1 MiB of a 16 GiB stream of 16 KiB yields and closes: the
/// daemon's only thread is free again within seconds (the relay's client
/// write fails, the daemon request is cancelled, the generator closed), in
/// the same process.
fn client_gone_mid_body(mpm: Mpm) {
    let apache = server(mpm, "processes=1 threads=1");
    let pid_of = |r: &Response| r.header("X-Pid").map(str::to_string);
    let first = apache.get("/y?n=1&kib=1");
    assert_eq!(first.status, 200, "{first:?}");
    let pid = pid_of(&first);
    let client = apache.client();
    for _ in 0..3 {
        let mut s = client.connect().unwrap();
        s.write_all(&Request::new("GET", "/y?n=1048576&kib=16").to_bytes(client.port, false))
            .unwrap();
        let mut got = vec![0; 1 << 20];
        s.read_exact(&mut got).unwrap();
        assert!(got.starts_with(b"HTTP/1.1 200 "));
        drop(s);
        let closed = Instant::now();
        let r = apache.get("/y?n=1&kib=1");
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            closed.elapsed() < Duration::from_secs(10),
            "the daemon thread stayed busy for {:?} after the client left",
            closed.elapsed()
        );
        assert_eq!(pid_of(&r), pid, "the daemon process was replaced");
    }
}
per_mpm!(client_gone_mid_body, client_gone_mid_body);

/// maximum-requests=2: a 2 s stream (40 chunks, 50 ms apart) is in flight
/// when a second request reaches the limit and the process recycles; the
/// stream still arrives whole, from the old process.
#[test]
fn recycle_while_a_stream_is_in_flight() {
    let apache = server(
        Mpm::Event,
        "processes=1 threads=4 maximum-requests=2 graceful-timeout=30",
    );
    let client = apache.client();
    let long = std::thread::spawn(move || client.get("/y?n=40&kib=16&delay=0.05"));
    std::thread::sleep(Duration::from_millis(400));
    let second = apache.get("/y?n=1&kib=1");
    assert_eq!(second.status, 200, "{second:?}");
    let r = long.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", tail(&apache.error_log(), 20));
    assert!(
        r.body == expected(40, 16),
        "the in-flight stream was cut or mangled"
    );
    assert_eq!(r.header("X-Pid"), second.header("X-Pid"));
    // The group serves after the recycle.
    let start = Instant::now();
    loop {
        let after = apache.get("/y?n=1&kib=1");
        if after.status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{after:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A 3 MiB upload read in 64 KiB reads, with the daemon granting a window
/// of credit ahead: the application gets every byte, in order.
fn upload_arrives_whole(mpm: Mpm) {
    let apache = server(mpm, "processes=1 threads=4");
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let r = apache.post("/echo", &body);
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body == body,
        "upload mangled ({} bytes back)",
        r.body.len()
    );
}
per_mpm!(upload_arrives_whole, upload_arrives_whole);

/// The application reads 64 KiB (or 256 KiB) of an 8 MiB upload and then
/// streams 4 MiB without reading more: the read-ahead credit's bytes sit in
/// the socket buffer, the Apache child relays the whole response at once
/// (no wait for socket-timeout=5), and discards the unread body after it.
/// mod_wsgi 6.1.1 forwards the whole body eagerly: there the response comes
/// back cut short (docs/daemon-protocol.md §7 and §11), so this is ours only.
fn stops_reading_and_streams(mpm: Mpm) {
    ours_only!("mod_wsgi forwards the body eagerly and truncates this response");
    let apache = server(mpm, "processes=1 threads=2 socket-timeout=5");
    for read in [65536, 262144] {
        let client = apache.client();
        let s = client.connect().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "POST /rts?read={read} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\
             Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            client.port,
            8 << 20
        );
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            w.write_all(head.as_bytes())?;
            w.write_all(&vec![b'u'; 8 << 20])
        });
        let start = Instant::now();
        let mut r = BufReader::new(s);
        let head = read_head(&mut r).unwrap();
        assert_eq!(head.0, 200, "{head:?}");
        assert_eq!(header(&head, "X-Read"), Some(read.to_string().as_str()));
        let mut body = vec![0; 4 << 20];
        r.read_exact(&mut body).unwrap();
        assert!(body.iter().all(|b| *b == b'r'));
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "the response waited {:?} (socket-timeout=5)",
            start.elapsed()
        );
        drop(r);
        let _ = writer.join().unwrap();
    }
}
per_mpm!(stops_reading_and_streams, stops_reading_and_streams);
