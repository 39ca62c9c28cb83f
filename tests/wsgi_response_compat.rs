//! Response behaviours where mod_wsgi-rs once differed from both mod_wsgi
//! 6.1.1 and 4.9.4 (issue 15's list), each checked on the wire in embedded
//! and daemon mode, with the mod_wsgi behaviour it matches: a failure found
//! after output began sends what the application produced, then aborts the
//! connection (never a clean short response, never nothing at all); a bad
//! `Content-Length` found before output is a complete 500; header values
//! leave as latin-1 bytes and the reason phrase as written, in daemon mode
//! too; `start_response`'s exc_info rules and texts are mod_wsgi 6's; and
//! `wsgi.multiprocess`/`wsgi.multithread` come from the MPM's limits.
//! Passes against pip's mod_wsgi 6.1.1 too (`MOD_WSGI_SO=...`); Debian's
//! 4.9.4 differs in message texts and refuses a bare status code.

#[macro_use]
mod common;

use common::*;
use std::io::{Read, Write};

const APP: &str = r#"
def application(environ, start_response):
    case = environ.get("QUERY_STRING", "")
    text = [("Content-Type", "text/plain")]
    if case == "bytes-then-str":
        start_response("200 OK", text)
        return [b"bytes-first-", "then a str"]
    if case == "short-body":
        start_response("200 OK", text + [("Content-Length", "20")])
        return [b"0123456789"]
    if case == "bad-length":
        start_response("200 OK", text + [("Content-Length", "abc")])
        return [b"0123456789"]
    if case == "latin1":
        start_response("200 OK", text + [("X-Latin", "caf\u00e9 \u00fc\u00ff")])
        return [b"x"]
    if case == "empty-reason":
        start_response("200 ", text)
        return [b"x"]
    if case == "bare-code":
        start_response("200", text)
        return [b"x"]
    if case == "exc-info-not-tuple":
        try:
            start_response("200 OK", text, "not a tuple")
        except RuntimeError as e:
            start_response("200 OK", text)
            return [str(e).encode()]
        return [b"accepted"]
    if case == "replace-before-output":
        start_response("500 First", text)
        start_response("201 Created", text)
        return [b"replaced"]
    if case == "again-after-output":
        write = start_response("200 OK", text)
        write(b"first;")
        try:
            start_response("201 Created", text)
        except RuntimeError as e:
            return [str(e).encode()]
        return [b"accepted"]
    start_response("200 OK", text)
    return [("%s %s" % (environ["wsgi.multiprocess"], environ["wsgi.multithread"])).encode()]
"#;

/// The raw bytes the server sends for `GET /c?{case}`, up to EOF or a
/// reset (an aborted connection may end either way).
fn raw(apache: &Apache, case: &str) -> Vec<u8> {
    let mut s = apache.client().connect().unwrap();
    s.write_all(
        format!("GET /c?{case} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn body(resp: &[u8]) -> &[u8] {
    let at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    &resp[at + 4..]
}

fn start(mpm: Mpm, daemon: bool) -> Apache {
    let b = Apache::builder(mpm);
    let app = b.write_app("compat.wsgi", APP);
    let mut b = b.server(format!("WSGIScriptAlias /c \"{}\"", app.display()));
    if daemon {
        b = b
            .with_socket_prefix()
            .server("WSGIDaemonProcess compat threads=2")
            .server("WSGIProcessGroup compat");
    }
    b.start()
}

fn failures_after_output(mpm: Mpm) {
    for daemon in [false, true] {
        let apache = start(mpm, daemon);
        // mod_wsgi: the head and the bytes go out, then the connection is
        // aborted (no terminating chunk).
        let r = raw(&apache, "bytes-then-str");
        assert!(
            r.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "daemon={daemon}: {r:?}"
        );
        assert!(has(&r, b"bytes-first-"), "daemon={daemon}: {r:?}");
        // mod_wsgi's daemon mode ends this response cleanly, so the client
        // takes it for complete (see docs/differences.md): not checked there.
        if !(daemon && is_reference()) {
            assert!(
                !r.ends_with(b"0\r\n\r\n"),
                "daemon={daemon}: must be truncated: {r:?}"
            );
        }
        // mod_wsgi: Content-Length 20 with 10 bytes: the head and the 10 bytes, then close.
        let r = raw(&apache, "short-body");
        assert!(has(&r, b"Content-Length: 20\r\n"), "daemon={daemon}: {r:?}");
        assert_eq!(body(&r), b"0123456789", "daemon={daemon}");
        // mod_wsgi: a non-numeric Content-Length is a complete 500.
        let r = raw(&apache, "bad-length");
        assert!(r.starts_with(b"HTTP/1.1 500 "), "daemon={daemon}: {r:?}");
        assert!(
            apache.wait_for_log(
                "invalid Content-Length header value: 'abc'",
                std::time::Duration::from_secs(5)
            ),
            "{}",
            apache.error_log()
        );
    }
}
per_mpm!(
    failures_after_output_send_what_was_produced,
    failures_after_output
);

#[test]
fn head_bytes_as_the_application_wrote_them() {
    for daemon in [false, true] {
        let apache = start(Mpm::Event, daemon);
        let r = raw(&apache, "latin1");
        assert!(
            has(&r, b"X-Latin: caf\xe9 \xfc\xff\r\n"),
            "daemon={daemon}: {r:?}"
        );
        let r = raw(&apache, "empty-reason");
        assert!(
            r.starts_with(b"HTTP/1.1 200 \r\n"),
            "daemon={daemon}: {r:?}"
        );
        // A bare code (allowed by mod_wsgi 6): Apache's own reason phrase.
        let r = raw(&apache, "bare-code");
        assert!(
            r.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "daemon={daemon}: {r:?}"
        );
    }
}

#[test]
fn start_response_rules_of_mod_wsgi_6() {
    for daemon in [false, true] {
        let apache = start(Mpm::Event, daemon);
        let r = apache.get("/c?exc-info-not-tuple");
        assert_eq!(
            r.text(),
            "start_response() argument 'exc_info' must be a 3-tuple or None"
        );
        let r = apache.get("/c?replace-before-output");
        assert_eq!(
            (r.status, r.text().as_str()),
            (201, "replaced"),
            "daemon={daemon}"
        );
        let r = raw(&apache, "again-after-output");
        assert!(
            r.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "daemon={daemon}: {r:?}"
        );
        assert!(
            has(
                &r,
                b"start_response() called more than once without exc_info"
            ),
            "daemon={daemon}: {r:?}"
        );
    }
}

/// As mod_wsgi: from `AP_MPMQ_MAX_DAEMONS` and `AP_MPMQ_MAX_THREADS`.
#[test]
fn multiprocess_and_multithread_follow_the_mpm_limits() {
    let cases: [(Mpm, &[&str], &str); 4] = [
        (Mpm::Event, &[], "True True"),
        (
            Mpm::Event,
            &["ServerLimit 1", "ThreadsPerChild 4", "MaxRequestWorkers 4"],
            "False True",
        ),
        (
            Mpm::Worker,
            &["ServerLimit 2", "ThreadsPerChild 1", "MaxRequestWorkers 2"],
            "True False",
        ),
        (
            Mpm::Prefork,
            &["ServerLimit 1", "MaxRequestWorkers 1"],
            "False False",
        ),
    ];
    for (mpm, sizing, want) in cases {
        let b = Apache::builder(mpm).mpm_sizing(sizing.iter().copied());
        let app = b.write_app("compat.wsgi", APP);
        let apache = b
            .server(format!("WSGIScriptAlias /c \"{}\"", app.display()))
            .start();
        assert_eq!(apache.get("/c?mp").text(), want, "{mpm:?} {sizing:?}");
    }
}
