//! How the Apache child relays a daemon's response body, as mod_wsgi 6.0.2+:
//! `response-flush-delay` (when the daemon socket runs dry the child waits
//! this long for more before flushing; default 5 ms) and
//! `response-buffer-size` (the runaway guard: a flush after that many
//! unflushed bytes; default 8 MiB), each against a real Apache, with a
//! client that timestamps what it receives. Bounds are generous: the app's
//! pauses are 0.6 s and 3 s, the delays 0.005 s and 2 s.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

/// Yields `<A>`, pauses 0.6 s, yields `<B>`, pauses 3 s, yields `<C>`.
const PAUSES_APP: &str = r#"
import time

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    def body():
        yield b"<A>"
        time.sleep(0.6)
        yield b"<B>"
        time.sleep(3.0)
        yield b"<C>"
    return body()
"#;

/// 256 KiB of zeros in 4 KiB yields at once, a 3 s pause, then `end`.
const ZEROS_APP: &str = r#"
import time

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    def body():
        for _ in range(64):
            yield b"\0" * 4096
        time.sleep(3.0)
        yield b"end"
    return body()
"#;

/// Sends `GET path` (with `headers`) and reads the response to its end,
/// returning each read's bytes with when it arrived (since the request).
fn timed_reads(client: Client, path: &str, headers: &[(&str, &str)]) -> Vec<(Duration, Vec<u8>)> {
    let mut s = client.connect().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = Request::new("GET", path);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let sent = Instant::now();
    s.write_all(&req.to_bytes(client.port, false)).unwrap();
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reads.push((sent.elapsed(), buf[..n].to_vec())),
            Err(e) => panic!("reading the response: {e} after {reads:?}"),
        }
    }
    reads
}

/// When the read holding `marker` arrived (all reads joined, so a marker
/// split across two reads counts at the second).
fn arrival(reads: &[(Duration, Vec<u8>)], marker: &[u8]) -> Duration {
    let mut seen = Vec::new();
    for (t, bytes) in reads {
        seen.extend_from_slice(bytes);
        if seen.windows(marker.len()).any(|w| w == marker) {
            return *t;
        }
    }
    panic!(
        "{} never arrived in {:?}",
        String::from_utf8_lossy(marker),
        String::from_utf8_lossy(&seen)
    );
}

fn pauses_server(mpm: Mpm) -> Apache {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("pauses/pauses.wsgi", PAUSES_APP);
    b.server("WSGIDaemonProcess quick processes=1 threads=2")
        .server("WSGIDaemonProcess slow processes=1 threads=2 response-flush-delay=2000")
        .server(format!(
            "WSGIScriptAlias /quick \"{}\" process-group=quick",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /slow \"{}\" process-group=slow",
            app.display()
        ))
        .start()
}

/// Default delay (5 ms): each piece reaches a client reading incrementally
/// as it is produced (`<A>` well before `<B>`, which comes 0.6 s later).
/// With `response-flush-delay=2000`, `<A>` is not flushed while `<B>`
/// comes within the delay: the two arrive together, about 2 s after `<B>`
/// was produced, and still well before `<C>` (produced 3 s after `<B>`).
fn flush_delay_check(mpm: Mpm) {
    let apache = pauses_server(mpm);
    let quick = timed_reads(apache.client(), "/quick", &[]);
    let (a, b) = (arrival(&quick, b"<A>"), arrival(&quick, b"<B>"));
    assert!(
        b >= a + Duration::from_millis(300),
        "with the default delay <A> must arrive alone, before <B> is produced: \
         <A> at {a:?}, <B> at {b:?}"
    );
    let slow = timed_reads(apache.client(), "/slow", &[]);
    let (a, b, c) = (
        arrival(&slow, b"<A>"),
        arrival(&slow, b"<B>"),
        arrival(&slow, b"<C>"),
    );
    assert!(
        b < a + Duration::from_millis(300),
        "with response-flush-delay=2000 <A> and <B> must arrive together: \
         <A> at {a:?}, <B> at {b:?}"
    );
    assert!(
        a >= Duration::from_millis(1800),
        "<A> was flushed before the 2 s delay after <B> (at 0.6 s) ran out: {a:?}"
    );
    assert!(
        c >= b + Duration::from_millis(500),
        "the delay ran out before <C> was produced, so <A><B> must come first: \
         <B> at {b:?}, <C> at {c:?}"
    );
}

per_mpm!(
    response_flush_delay_coalesces_within_the_delay_only,
    flush_delay_check
);

/// `response-buffer-size=65536`, the runaway guard: behind mod_deflate (a
/// filter that buffers until it is flushed) and with a flush delay longer
/// than the app's pause, only the guard's flush after 64 KiB lets the
/// client see anything before the pause ends; with the default (8 MiB) the
/// first byte comes after the pause. Control and check on one server.
#[test]
fn response_buffer_size_forces_a_flush() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("zeros/zeros.wsgi", ZEROS_APP);
    let apache = b
        .server(format!(
            "LoadModule deflate_module {APACHE_MODULES}/mod_deflate.so"
        ))
        .server("WSGIDaemonProcess plain threads=2 response-flush-delay=10000")
        .server(
            "WSGIDaemonProcess guard threads=2 response-flush-delay=10000 \
             response-buffer-size=65536",
        )
        .server(format!(
            "WSGIScriptAlias /plain \"{}\" process-group=plain",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /guard \"{}\" process-group=guard",
            app.display()
        ))
        .server("SetOutputFilter DEFLATE")
        .start();
    let gzip = [("Accept-Encoding", "gzip")];
    let plain = timed_reads(apache.client(), "/plain", &gzip);
    let guard = timed_reads(apache.client(), "/guard", &gzip);
    for reads in [&plain, &guard] {
        let head = String::from_utf8_lossy(&reads[0].1).to_string();
        assert!(
            head.starts_with("HTTP/1.1 200") && head.contains("Content-Encoding: gzip"),
            "{head}\n{}",
            apache.error_log()
        );
    }
    assert!(
        plain[0].0 >= Duration::from_millis(2500),
        "control: without the guard nothing may leave mod_deflate before the 3 s pause ends \
         (first bytes at {:?})",
        plain[0].0
    );
    assert!(
        guard[0].0 < Duration::from_millis(1500),
        "response-buffer-size=65536 must flush during the first 256 KiB (first bytes at {:?})",
        guard[0].0
    );
}

/// Both options are checked at configtest as mod_wsgi checks them.
#[test]
fn relay_option_values_are_checked() {
    ours_only!("our message framing");
    for (option, message) in [
        (
            "response-buffer-size=65535",
            "Response buffer size must be >= 65536 bytes, or 0 for default.",
        ),
        (
            "response-flush-delay=-5",
            "Invalid response flush delay for WSGI daemon process.",
        ),
        ("response-flush-delay=soon", "invalid value 'soon'"),
    ] {
        let ct = Apache::builder(Mpm::Event)
            .server(format!("WSGIDaemonProcess g {option}"))
            .config_test();
        assert!(!ct.ok(), "{option} accepted");
        assert!(ct.output.contains(message), "{option}: {}", ct.output);
    }
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess g response-buffer-size=0 response-flush-delay=0")
        .config_test();
    assert!(ct.ok(), "{}", ct.output);
}
