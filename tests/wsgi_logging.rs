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

/// `wsgi.errors` from one request to the next on the same thread (ours
/// keeps the wrapper and rebinds it; mod_wsgi 6 builds a new one): nothing
/// a request did to it shows in the next one. A closed, reconfigured or kept
/// wrapper is not handed out again; a kept one written to after its request
/// does not log in the next request's context; a partial line is logged at
/// the end of its own request.
const ERRORS_REUSE: &str = r#"
import weakref

state = {'ref': None, 'kept': None}

def application(environ, start_response):
    e = environ['wsgi.errors']
    q = environ.get('QUERY_STRING', '')
    ref = state['ref']
    out = ['reused=%s' % (ref is not None and ref() is e),
           'closed=%s' % e.closed,
           'settings=%s/%s/%s/%s' % (e.encoding, e.errors, e.line_buffering,
                                     e.write_through),
           'kept=%s' % (e is state['kept'])]
    state['ref'] = weakref.ref(e)
    e.write('reuse-%s-line\n' % q)
    if q == 'close':
        e.close()
    elif q == 'reconfigure':
        e.reconfigure(errors='strict', line_buffering=False)
    elif q == 'keep':
        state['kept'] = e
    elif q == 'late':
        state['kept'].write('late-write-line\n')
        state['kept'] = None
    elif q == 'partial':
        e.write('partial-at-end')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return ['\n'.join(out).encode()]
"#;

fn errors_reuse(daemon: bool) {
    // One worker thread serves every request.
    let b = Apache::builder(Mpm::Prefork).mpm_sizing([
        "StartServers 1",
        "MinSpareServers 1",
        "MaxSpareServers 1",
        "ServerLimit 1",
        "MaxRequestWorkers 1",
    ]);
    let app = b.write_app("reuse.wsgi", ERRORS_REUSE);
    let b = if daemon {
        b.server("WSGIDaemonProcess reuse processes=1 threads=1")
            .server("WSGIProcessGroup reuse")
    } else {
        b
    };
    let apache = b
        .server(format!("WSGIScriptAlias /reuse \"{}\"", app.display()))
        .start();
    let ours = !is_reference();
    let step = |q: &str| {
        let r = apache.get(&format!("/reuse?{q}"));
        assert_eq!(r.status, 200, "{q}: {r:?}\n{}", apache.error_log());
        parse_kv(&r.text())
    };
    let fresh = "utf-8/replace/True/True";
    let kv = step("first");
    assert_eq!(kv["settings"], fresh, "{kv:?}");
    // Ours hands the same (idle) wrapper to the thread's next request.
    assert_eq!(step("plain")["reused"], if ours { "True" } else { "False" });
    step("close");
    let kv = step("afterclose");
    assert_eq!(
        (&*kv["reused"], &*kv["closed"]),
        ("False", "False"),
        "{kv:?}"
    );
    step("reconfigure");
    let kv = step("afterreconf");
    assert_eq!(
        (&*kv["reused"], &*kv["settings"]),
        ("False", fresh),
        "{kv:?}"
    );
    step("keep");
    let kv = step("afterkeep");
    assert_eq!((&*kv["reused"], &*kv["kept"]), ("False", "False"), "{kv:?}");
    step("partial");
    step("afterpartial");
    for line in [
        "reuse-afterclose-line",
        "partial-at-end",
        "reuse-afterpartial-line",
    ] {
        assert!(apache.wait_for_log(line, Duration::from_secs(10)), "{line}");
    }
    let log = apache.error_log();
    // The partial line was logged at the end of its request, in its context,
    // not carried into the next request's first line.
    let l = log_line(&log, "partial-at-end");
    assert!(daemon || l.contains("[client 127.0.0.1:"), "{l}");
    assert!(!log_line(&log, "reuse-afterpartial-line").contains("partial-at-end"));
    if ours {
        // mod_wsgi 6 raises RuntimeError for a write after the request.
        step("late");
        assert!(apache.wait_for_log("late-write-line", Duration::from_secs(10)));
        let log = apache.error_log();
        let l = log_line(&log, "late-write-line");
        assert!(
            !l.contains("[client"),
            "logged in a later request's context: {l}"
        );
    }
}

#[test]
fn errors_reuse_embedded() {
    errors_reuse(false);
}

#[test]
fn errors_reuse_daemon() {
    errors_reuse(true);
}
