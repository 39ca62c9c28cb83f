//! start_response and the response against a real Apache, one case of
//! `responses.wsgi` per behaviour: status and header validation (500 and a
//! precise log line), exc_info rules, write(), headers sent only with the
//! first non-empty chunk, any iterable, close() exactly once (also when
//! iteration raises or the client goes away), an exception after the head
//! aborts the connection, Content-Length honoured both ways, str bodies
//! refused, 204/304 without a body, and a streamed response flushed chunk by
//! chunk.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use common::*;

fn responses(mpm: Mpm) -> Apache {
    let b = Apache::builder(mpm).log_level("warn wsgi:info");
    let app = b.app("responses.wsgi");
    b.server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /r \"{}\"", app.display()))
        .start()
}

/// Each case gives 500 and its log line names the problem.
fn invalid_start_response(mpm: Mpm) {
    let apache = responses(mpm);
    let cases: &[(&str, &str)] = &[
        ("/bad-status-type", "must be str, not int"),
        (
            "/bad-status-format",
            "no space following status code: b'200OK'",
        ),
        (
            "/bad-status-crlf",
            "control character in status reason phrase",
        ),
        ("/bad-header-type", "must be str, not int"),
        (
            "/bad-header-crlf",
            "carriage return/line feed character in header value",
        ),
        ("/bad-header-nul", "null character in header value"),
        (
            "/bad-header-name",
            "space character in header name: b'Bad Name'",
        ),
        (
            "/bad-header-tuple",
            "each header must be a 2-tuple, got length",
        ),
        (
            "/headers-not-list",
            "start_response() argument 2 must be list, not tuple",
        ),
        (
            "/hop-by-hop",
            "hop-by-hop header \"Connection\" not allowed",
        ),
        (
            "/write-str",
            "byte string value expected for write(), value of type str found",
        ),
        (
            "/str-body",
            "sequence of byte string values expected, value of type str found",
        ),
        (
            "/no-start-response",
            "start_response() must be called before",
        ),
    ];
    for (case, message) in cases {
        let r = apache.get(&format!("/r{case}"));
        assert_eq!(r.status, 500, "{case}: {r:?}");
        assert!(
            apache.wait_for_log(message, Duration::from_secs(5)),
            "{case}: log must say {message:?}:\n{}",
            apache.error_log()
        );
        assert!(r.header("X-Injected").is_none(), "{case}: header injection");
    }
    assert!(apache.error_log().contains("[WSGIRS0103]"));
    // mod_wsgi 6's words for the exception (its WSGI0174).
    assert!(
        apache
            .error_log()
            .contains("ValueError exception raised processing WSGI script"),
        "{}",
        apache.error_log()
    );
    // Status without a reason phrase is allowed (HTTP/2 style), as mod_wsgi 6.
    let r = apache.get("/r/status-only-code");
    assert_eq!(r.status, 299, "{r:?}");
    assert_eq!(r.text(), "code only");
}
per_mpm!(start_response_validation, invalid_start_response);

/// `start_response('200 OK\r\nX-Injected: 1', ...)` in embedded and daemon
/// mode: 500 (the app's `start_response` raises ValueError, as mod_wsgi's
/// "control character in status reason phrase"), and nothing of the
/// injected line on the wire.
#[test]
fn status_crlf_never_reaches_the_wire() {
    for daemon in [false, true] {
        let b = Apache::builder(Mpm::Event).log_level("warn wsgi:info");
        let app = b.app("responses.wsgi");
        let b = b.server("WSGIApplicationGroup %{GLOBAL}");
        let b = if daemon {
            b.server("WSGIDaemonProcess crlf threads=2")
                .server("WSGIProcessGroup crlf")
        } else {
            b
        };
        let apache = b
            .server(format!("WSGIScriptAlias /r \"{}\"", app.display()))
            .start();
        let wire = apache
            .client()
            .raw(b"GET /r/bad-status-crlf HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let wire = String::from_utf8_lossy(&wire);
        assert!(wire.starts_with("HTTP/1.1 500 "), "daemon={daemon}: {wire}");
        assert!(!wire.contains("X-Injected"), "daemon={daemon}: {wire}");
        assert!(
            apache.wait_for_log(
                "ValueError: control character in status reason phrase",
                Duration::from_secs(5)
            ),
            "daemon={daemon}:\n{}",
            apache.error_log()
        );
    }
}

#[test]
fn exc_info_rules_and_write() {
    let apache = responses(Mpm::Event);
    // Before anything was sent, exc_info replaces status and headers.
    let r = apache.get("/r/exc-info-replace");
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("X-Second"), Some("1"));
    assert_eq!(r.header("X-First"), None);
    assert_eq!(r.text(), "replacement body");
    // After the head went out, exc_info re-raises: the response is cut off.
    let mut conn = apache.client().keep_alive().unwrap();
    let res = conn.send(&Request::new("GET", "/r/exc-info-after-sent?tok1"));
    assert!(
        res.is_err(),
        "a truncated response must not look complete: {res:?}"
    );
    assert!(apache.wait_for_log("too-late-tok1", Duration::from_secs(5)));
    // write() then an iterable.
    let r = apache.get("/r/write");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "abc");
}

/// Headers go out only with the first non-empty chunk: an error after an
/// empty yield is still a clean 500.
#[test]
fn headers_wait_for_first_non_empty_chunk() {
    let apache = responses(Mpm::Event);
    let r = apache.get("/r/empty-then-raise?tok2");
    assert_eq!(r.status, 500, "{r:?}");
    assert!(apache.wait_for_log("after-empty-tok2", Duration::from_secs(5)));
}

fn raise_after_head(mpm: Mpm) {
    let apache = responses(mpm);
    // HTTP/1.1 keep-alive: chunked, so a cut-off body is detectable.
    let mut conn = apache.client().keep_alive().unwrap();
    let res = conn.send(&Request::new("GET", "/r/raise-after-head?tok3"));
    assert!(
        res.is_err(),
        "an exception after the head must abort the connection, not end the body cleanly: {res:?}"
    );
    assert!(apache.wait_for_log("after-head-tok3", Duration::from_secs(5)));
    // The child keeps serving.
    assert_eq!(apache.get("/r/write").text(), "abc");
}
per_mpm!(exception_after_head_aborts, raise_after_head);

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

fn close_once(mpm: Mpm) {
    let apache = responses(mpm);
    let r = apache.get("/r/close-normal?c1");
    assert_eq!(r.text(), "ab");
    let r = apache.get("/r/close-raise-before-head?c2");
    assert_eq!(r.status, 500);
    let mut conn = apache.client().keep_alive().unwrap();
    assert!(
        conn.send(&Request::new("GET", "/r/close-raise?c3"))
            .is_err()
    );
    // Client goes away after the head: the write fails, close() still runs.
    {
        let mut s = apache.client().connect().unwrap();
        s.write_all(b"GET /r/close-client-gone?c4 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
    }
    for tok in ["c1", "c2", "c3", "c4"] {
        let needle = format!("close-called token={tok}");
        assert!(
            apache.wait_for_log(&needle, Duration::from_secs(10)),
            "close() not called for {tok}:\n{}",
            apache.error_log()
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let log = apache.error_log();
    for tok in ["c1", "c2", "c3", "c4"] {
        assert_eq!(
            count(&log, &format!("close-called token={tok}\n")),
            1,
            "close() must run exactly once ({tok}):\n{log}"
        );
    }
    assert!(
        log.contains("[WSGIRS0105]"),
        "client gone logged at info:\n{log}"
    );
}
per_mpm!(close_called_exactly_once, close_once);

#[test]
fn iterables_and_content_length() {
    let apache = responses(Mpm::Event);
    for (case, body) in [
        ("/tuple", "tuple"),
        ("/generator", "gen"),
        ("/custom-iterable", "custom"),
    ] {
        let r = apache.get(&format!("/r{case}"));
        assert_eq!(r.status, 200, "{case}");
        assert_eq!(r.text(), body, "{case}");
    }
    // Output beyond the app's Content-Length is dropped; the connection
    // stays usable (keep-alive).
    let mut conn = apache.client().keep_alive().unwrap();
    let r = conn
        .send(&Request::new("GET", "/r/content-length-over"))
        .unwrap();
    assert_eq!(r.text(), "01234");
    let r = conn.send(&Request::new("GET", "/r/write")).unwrap();
    assert_eq!(
        r.text(),
        "abc",
        "connection still in sync after a capped body"
    );
    // A short body is logged and the connection closed before the client
    // could take the response as complete.
    let res = apache
        .client()
        .keep_alive()
        .unwrap()
        .send(&Request::new("GET", "/r/content-length-short"));
    assert!(res.is_err(), "short body must not look complete: {res:?}");
    assert!(apache.wait_for_log("[WSGIRS0104]", Duration::from_secs(5)));
}

/// HEAD with the GET's Content-Length and no body (as Django answers HEAD)
/// is a complete response, not a short one; the connection stays usable.
fn head_without_body(mpm: Mpm) {
    let apache = responses(mpm);
    let mut conn = apache.client().keep_alive().unwrap();
    for _ in 0..2 {
        let r = conn.send(&Request::new("HEAD", "/r/head-empty")).unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.header("Content-Length"), Some("10"));
        let r = conn.send(&Request::new("GET", "/r/head-empty")).unwrap();
        assert_eq!(r.text(), "0123456789");
    }
    assert!(!apache.error_log().contains("[WSGIRS0104]"));
}
per_mpm!(head_with_content_length_and_no_body, head_without_body);

#[test]
fn no_body_for_204_and_304() {
    let apache = responses(Mpm::Event);
    let mut conn = apache.client().keep_alive().unwrap();
    for (case, status) in [("/no-content", 204), ("/not-modified", 304)] {
        let r = conn
            .send(&Request::new("GET", &format!("/r{case}")))
            .unwrap();
        assert_eq!(r.status, status);
        // If a body had leaked, the next response on this connection would
        // start with it.
        let r = conn.send(&Request::new("GET", "/r/write")).unwrap();
        assert_eq!(r.status, 200, "after {case}: {r:?}");
        assert_eq!(r.text(), "abc", "after {case}");
    }
}

/// Each yield reaches the client before the app goes on: the app waits for
/// a file the test creates only after reading the first chunk.
fn streamed(mpm: Mpm) {
    let apache = responses(mpm);
    let flag = apache.root().join("stream-flag");
    let _ = std::fs::remove_file(&flag);
    let mut s = apache.client().connect().unwrap();
    s.write_all(
        format!(
            "GET /r/stream?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            flag.display()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut reader = BufReader::new(s);
    let (status, _, headers) = read_head(&mut reader).unwrap();
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked"),
        "{headers:?}"
    );
    let mut size = String::new();
    reader.read_line(&mut size).unwrap();
    assert_eq!(size.trim(), "5", "first chunk size");
    let mut first = [0u8; 5];
    reader.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first");
    write_file(&flag, "go");
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.contains("-second"), "{rest:?}");
    assert!(
        !rest.contains("-timeout"),
        "first chunk was not flushed: {rest:?}"
    );
}
per_mpm!(streamed_response_flushed_per_yield, streamed);
