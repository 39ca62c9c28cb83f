//! wsgi.errors, sys.stdout and sys.stderr into the Apache error log, and
//! WSGIRestrictStdin / WSGIRestrictStdout / WSGIRestrictSignal, against a
//! real Apache with `logging.wsgi`.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;

fn log_line<'a>(log: &'a str, needle: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in error log:\n{log}"))
}

fn streams(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let app = b.app("logging.wsgi");
    let apache = b
        .server(format!("WSGIScriptAlias /log \"{}\"", app.display()))
        .start();
    let r = apache.get("/log");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(apache.wait_for_log("memoryview-line", Duration::from_secs(5)));
    if !is_reference()
        || !module_under_test()
            .to_string_lossy()
            .contains("/usr/lib/apache2")
    {
        // mod_wsgi 6's binary stream has writelines() (any bytes-like items).
        for line in ["wl-bytes", "wl-bytearray", "wl-memoryview"] {
            assert!(apache.wait_for_log(line, Duration::from_secs(5)), "{line}");
        }
    }
    assert!(apache.wait_for_log("stdout-line-not-restricted", Duration::from_secs(5)));
    let log = apache.error_log();
    // wsgi.errors lines carry the request's client context; partial writes
    // are joined into one line.
    let l = log_line(&log, "errors-line one");
    assert!(
        l.contains("[client 127.0.0.1:"),
        "request context missing: {l}"
    );
    let l = log_line(&log, "errors-partial completed");
    assert!(l.contains("[client 127.0.0.1:"), "{l}");
    let l = log_line(&log, "bytes-line");
    // Our "\xff" escape, with the backslash escaped again by Apache's log.
    assert!(
        l.contains(r"bytes-line \\xff end"),
        "undecodable byte escaped: {l}"
    );
    log_line(&log, "stderr-line");
    // Defaults: stdin and stdout usable, signal.signal() ignored with a warning.
    let kv = parse_kv(&r.text());
    assert!(kv["stdin"].starts_with("ok:"), "{kv:?}");
    assert!(kv["stdout"].starts_with("ok:"), "{kv:?}");
    assert!(!kv["signal"].starts_with("ValueError"), "{kv:?}");
    assert!(
        !kv["signal_now"].contains("lambda"),
        "handler must not be installed: {kv:?}"
    );
    if !is_reference() {
        assert!(apache.wait_for_log("[WSGIRS0303]", Duration::from_secs(5)));
        let log = apache.error_log();
        assert!(
            log.contains("logging.wsgi"),
            "caller's stack logged:\n{log}"
        );
    }
}
per_mpm!(error_log_streams, streams);

#[test]
fn restrict_stdin_stdout() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("logging.wsgi");
    let apache = b
        .global("WSGIRestrictStdin On")
        .global("WSGIRestrictStdout On")
        .server(format!("WSGIScriptAlias /log \"{}\"", app.display()))
        .start();
    let r = apache.get("/log?restricted");
    assert_eq!(r.status, 200, "{r:?}");
    let kv = parse_kv(&r.text());
    assert!(
        kv["stdin"].starts_with("OSError:sys.stdin access restricted by mod_wsgi"),
        "{kv:?}"
    );
    assert!(
        kv["stdout"].starts_with("OSError:sys.stdout access restricted by mod_wsgi"),
        "{kv:?}"
    );
    // As mod_wsgi 6 (its tests/wsgi/restrict): the type is mod_wsgi.Restricted.
    if !is_reference()
        || !module_under_test()
            .to_string_lossy()
            .contains("/usr/lib/apache2")
    {
        assert_eq!(kv["stdin_type"], "mod_wsgi.Restricted", "{kv:?}");
    }
}

#[test]
fn restrict_signal_off_lets_the_call_through() {
    ours_only!("WSGIRestrictSignal Off behaves per interpreter thread in 4.9");
    let b = Apache::builder(Mpm::Event);
    let app = b.app("logging.wsgi");
    let apache = b
        .global("WSGIRestrictSignal Off")
        .server(format!("WSGIScriptAlias /log \"{}\"", app.display()))
        .start();
    let r = apache.get("/log");
    let kv = parse_kv(&r.text());
    // A worker thread of a threaded MPM: Python itself refuses.
    assert!(kv["signal"].starts_with("ValueError:"), "{kv:?}");
    assert!(!apache.error_log().contains("[WSGIRS0303]"));
}
