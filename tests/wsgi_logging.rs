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

/// The stream types mod_wsgi 6 hands out (its tests/wsgi/environ and
/// restrict check them): `wsgi.errors`, `sys.stdout` and `sys.stderr` are
/// `io.TextIOWrapper`s (UTF-8, errors `replace`, line buffering) over a
/// binary log buffer, whose text still reaches the error log.
const STREAM_TYPES: &str = r#"
import sys

def application(environ, start_response):
    e = environ['wsgi.errors']
    out = []
    for name, s in (('errors', e), ('stdout', sys.stdout), ('stderr', sys.stderr)):
        out.append('%s=%s.%s/%s/%s/%s' % (name, type(s).__module__, type(s).__name__,
                                          s.encoding, s.errors, s.line_buffering))
    e.write('typed-errors-line\n')
    e.write('typed-partial ')
    e.flush()
    e.buffer.write(b'typed-buffer-line\n')
    print('typed-stderr-line', file=sys.stderr)
    try:
        e.write(b'bytes')
        out.append('bytes=accepted')
    except TypeError as exc:
        out.append('bytes=TypeError:%s' % exc)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return ['\n'.join(out).encode()]
"#;

fn stream_types(mpm: Mpm, daemon: bool) {
    if is_reference()
        && module_under_test()
            .to_string_lossy()
            .contains("/usr/lib/apache2")
    {
        return; // mod_wsgi 4.x hands out mod_wsgi.Log itself.
    }
    let b = Apache::builder(mpm);
    let app = b.write_app("types.wsgi", STREAM_TYPES);
    let b = if daemon {
        b.server("WSGIDaemonProcess types threads=2")
            .server("WSGIProcessGroup types")
    } else {
        b
    };
    let apache = b
        .server(format!("WSGIScriptAlias /types \"{}\"", app.display()))
        .start();
    let r = apache.get("/types");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let text = r.text();
    for name in ["errors", "stdout", "stderr"] {
        let want = format!("{name}=_io.TextIOWrapper/utf-8/replace/True");
        assert!(text.contains(&want), "{want} in:\n{text}");
    }
    assert!(
        text.contains("bytes=TypeError:write() argument must be str, not bytes"),
        "{text}"
    );
    for line in [
        "typed-errors-line",
        "typed-partial",
        "typed-buffer-line",
        "typed-stderr-line",
    ] {
        assert!(apache.wait_for_log(line, Duration::from_secs(10)), "{line}");
    }
    // Embedded, the lines keep the request's context (the client address).
    let log = apache.error_log();
    let l = log_line(&log, "typed-errors-line");
    assert!(daemon || l.contains("[client 127.0.0.1:"), "{l}");
}

fn stream_types_embedded(mpm: Mpm) {
    stream_types(mpm, false);
}
per_mpm!(text_io_wrapper_streams_embedded, stream_types_embedded);

#[test]
fn text_io_wrapper_streams_daemon() {
    stream_types(Mpm::Event, true);
}

/// `sys.stderr` is shared by every thread of the process: threads printing
/// to it at once (the GIL is released while a line is logged) must all get
/// their lines logged, none an exception.
const CONCURRENT_PRINTS: &str = r#"
import sys, threading

def application(environ, start_response):
    errors = []
    def work(n):
        for i in range(200):
            try:
                print('concurrent-print %d %d' % (n, i), file=sys.stderr)
            except Exception as e:
                errors.append('%s: %s' % (type(e).__name__, e))
    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('errors=%d %s' % (len(errors), errors[:3])).encode()]
"#;

#[test]
fn concurrent_prints_to_sys_stderr() {
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("prints.wsgi", CONCURRENT_PRINTS);
    let apache = b
        .server(format!("WSGIScriptAlias /prints \"{}\"", app.display()))
        .start();
    let r = apache.get("/prints");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert!(r.text().starts_with("errors=0 "), "{}", r.text());
    assert!(apache.wait_for_log("concurrent-print 5 199", Duration::from_secs(10)));
    let log = apache.error_log();
    assert_eq!(log.matches("concurrent-print ").count(), 1200, "{log}");
}
