//! A daemon's request timers against a real Apache, as mod_wsgi 6 runs
//! them: request-timeout judged per thread against `T * (1 + ln(threads))`,
//! the Python stack of every thread logged (the stuck one marked) before
//! anything is interrupted or restarted, interrupt-timeout raising
//! `mod_wsgi.RequestTimeout` in just the stuck thread (504, the process
//! survives) or restarting when the thread does not unwind, and
//! startup-timeout restarting a daemon whose WSGI script does not load.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// An application whose functions have names to find in a stack dump:
/// `/sleep?seconds=N` sleeps in one call; `/slices?seconds=N` in 0.1 s
/// slices, writing to wsgi.errors when `mod_wsgi.RequestTimeout` reaches it
/// (and swallowing it with `&swallow=1`); `/pid` answers the pid;
/// `/class` describes `mod_wsgi.RequestTimeout`.
const APP: &str = r#"
import os, time
from urllib.parse import parse_qs
import mod_wsgi

def stuck_in_one_long_sleep(seconds):
    time.sleep(seconds)

def sleeping_in_slices(environ, seconds, swallow):
    end = time.time() + seconds
    while time.time() < end:
        try:
            time.sleep(0.1)
        except mod_wsgi.RequestTimeout:
            environ["wsgi.errors"].write("app saw mod_wsgi.RequestTimeout\n")
            environ["wsgi.errors"].flush()
            if not swallow:
                raise

def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    seconds = float(qs.get("seconds", ["0"])[0])
    path = environ.get("PATH_INFO", "")
    if path == "/sleep":
        stuck_in_one_long_sleep(seconds)
    elif path == "/slices":
        sleeping_in_slices(environ, seconds, "swallow" in qs)
    elif path == "/class":
        c = mod_wsgi.RequestTimeout
        body = "%s %s %s" % (c.__module__ + "." + c.__name__,
                             c.__bases__ == (BaseException,), issubclass(c, Exception))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"#;

fn server(options: &str) -> Apache {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("timers.wsgi", APP);
    b.log_level("warn wsgi:info")
        .server(format!("WSGIDaemonProcess t processes=1 {options}"))
        .server(format!(
            "WSGIScriptAlias /app \"{}\" process-group=t",
            app.display()
        ))
        .start()
}

fn pid(apache: &Apache) -> String {
    let r = apache.get("/app/pid");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    r.text()
}

/// The issue's case: one thread stuck for 30 s with request-timeout=2. The
/// client gets a 5xx within 10 s, the error log has the stuck thread's
/// Python stack (its function names, marked as the stuck one) before the
/// restart, and the next request is served by a new process.
#[test]
fn request_timeout_logs_the_stuck_threads_stack_then_restarts() {
    ours_only!("WSGIRS log ids");
    let apache = server("threads=1 request-timeout=2 shutdown-timeout=1");
    let first = pid(&apache);
    let t = Instant::now();
    let r = apache.get("/app/sleep?seconds=30");
    assert!(r.status >= 500, "{r:?}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let next = pid(&apache);
    assert_ne!(next, first);
    let log = apache.error_log();
    let dump = log.find("[WSGIRS0466]").expect(&log);
    let restart = log.find("[WSGIRS0414]").expect(&log);
    assert!(dump < restart, "the stacks come before the restart:\n{log}");
    assert!(
        log.contains("(STUCK worker 0, request running for"),
        "{log}"
    );
    assert!(log.contains("in stuck_in_one_long_sleep"), "{log}");
    assert!(log.contains("in application."), "{log}");
}

/// mod_wsgi 6's threshold: request-timeout * (1 + ln(threads)). With
/// threads=4 and request-timeout=2 a request may run 4.77 s: one of 3 s is
/// served by the same process (the old rule restarted it at 2 s), one of
/// 30 s still gets a 5xx, after the threshold.
#[test]
fn request_timeout_threshold_scales_with_the_thread_count() {
    ours_only!("WSGIRS log ids");
    let apache = server("threads=4 request-timeout=2 shutdown-timeout=1");
    let first = pid(&apache);
    let r = apache.get("/app/sleep?seconds=3");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(pid(&apache), first);
    let t = Instant::now();
    let r = apache.get("/app/sleep?seconds=30");
    assert!(r.status >= 500, "{r:?}");
    let took = t.elapsed();
    assert!(took > Duration::from_secs(4), "fired early: {took:?}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_ne!(pid(&apache), first);
}

/// interrupt-timeout: the stuck thread gets `mod_wsgi.RequestTimeout`
/// (a BaseException, not an Exception), in the sub-interpreter it runs in;
/// the application sees it, the client gets 504, the stacks were logged
/// first, the process survives and serves the next request.
#[test]
fn interrupt_timeout_raises_request_timeout_in_the_stuck_thread() {
    ours_only!("WSGIRS log ids");
    let apache = server("threads=2 request-timeout=1 interrupt-timeout=5 shutdown-timeout=1");
    let r = apache.get("/app/class");
    assert_eq!(r.text(), "mod_wsgi.RequestTimeout True False");
    let first = pid(&apache);
    // Load on the other thread meanwhile: a bounded loop of short requests,
    // none of which may be interrupted or see another process.
    let client = apache.client();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let halt = stop.clone();
    let load = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..200 {
            if halt.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let r = client.get("/app/slices?seconds=0.2");
            seen.push(r.status);
        }
        seen
    });
    let t = Instant::now();
    let r = apache.get("/app/slices?seconds=30");
    assert_eq!(r.status, 504, "{r:?}\n{}", apache.error_log());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = load.join().unwrap();
    assert!(
        seen.len() >= 3 && seen.iter().all(|s| *s == 200),
        "{seen:?}"
    );
    assert_eq!(pid(&apache), first, "the process survives");
    let log = apache.error_log();
    assert!(log.contains("app saw mod_wsgi.RequestTimeout"), "{log}");
    let raising = log.find("[WSGIRS0465]").expect(&log);
    let dump = log.find("[WSGIRS0466]").expect(&log);
    let recovered = log.find("[WSGIRS0467]").expect(&log);
    assert!(raising < dump && dump < recovered, "{log}");
    assert!(log.contains("in sleeping_in_slices"), "{log}");
    assert!(
        !log.contains("[WSGIRS0469]") && !log.contains("[WSGIRS0414]"),
        "{log}"
    );
    // The worker is clean for its next request (no stale RequestTimeout).
    for _ in 0..4 {
        assert_eq!(apache.get("/app/slices?seconds=0.3").status, 200);
    }
}

/// A thread that swallows RequestTimeout: after interrupt-timeout the
/// process restarts (WSGIRS0469), the client gets a 5xx.
#[test]
fn interrupt_timeout_restarts_when_the_thread_does_not_unwind() {
    ours_only!("WSGIRS log ids");
    let apache = server("threads=1 request-timeout=1 interrupt-timeout=2 shutdown-timeout=1");
    let first = pid(&apache);
    let t = Instant::now();
    let r = apache.get("/app/slices?seconds=30&swallow=1");
    assert!(r.status >= 500 && r.status != 504, "{r:?}");
    assert!(
        t.elapsed() < Duration::from_secs(12),
        "took {:?}",
        t.elapsed()
    );
    assert_ne!(pid(&apache), first);
    let log = apache.error_log();
    assert!(log.contains("app saw mod_wsgi.RequestTimeout"), "{log}");
    assert!(log.contains("[WSGIRS0469]"), "{log}");
    assert!(
        log.contains("stopping (interrupt-timeout reached)"),
        "{log}"
    );
}

/// startup-timeout: a WSGI script whose import hangs restarts the daemon
/// startup-timeout after the first request began loading it; once a
/// script has loaded, the timer is off for the life of the process.
#[test]
fn startup_timeout_restarts_a_daemon_whose_script_does_not_load() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let hang = b.write_app(
        "hang.wsgi",
        "import time\ntime.sleep(60)\ndef application(e, s):\n    pass\n",
    );
    let broken = b.write_app("broken.wsgi", "raise RuntimeError('does not load')\n");
    let app = b.write_app("timers.wsgi", APP);
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess t processes=1 threads=2 startup-timeout=2 shutdown-timeout=1")
        .server("WSGIProcessGroup t")
        .server(format!("WSGIScriptAlias /hang \"{}\"", hang.display()))
        .server(format!("WSGIScriptAlias /broken \"{}\"", broken.display()))
        .server(format!("WSGIScriptAlias /app \"{}\"", app.display()))
        .start();
    let t = Instant::now();
    let r = apache.get("/hang");
    assert!(r.status >= 500, "{r:?}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let log = apache.error_log();
    assert!(log.contains("[WSGIRS0468]"), "{log}");
    assert!(log.contains("stopping (startup-timeout reached)"), "{log}");
    // Control: a process that has loaded a script is not restarted by the
    // timer, even when a later request's script fails to load.
    let first = pid(&apache);
    assert_eq!(apache.get("/broken").status, 500);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(pid(&apache), first);
    assert_eq!(apache.error_log().matches("[WSGIRS0468]").count(), 1);
}

/// The values are checked as mod_wsgi's other timeouts are.
#[test]
fn interrupt_and_startup_timeout_values_are_checked() {
    ours_only!("our messages");
    for opt in ["interrupt-timeout", "startup-timeout"] {
        let ct = Apache::builder(Mpm::Event)
            .server(format!("WSGIDaemonProcess r {opt}=-1"))
            .config_test();
        assert!(!ct.ok());
        let want = format!("invalid value '-1' for option '{opt}'");
        assert!(ct.output.contains(&want), "{}", ct.output);
        let ct = Apache::builder(Mpm::Event)
            .server(format!("WSGIDaemonProcess r {opt}=15"))
            .config_test();
        assert!(ct.ok(), "{}", ct.output);
    }
}

/// deadlock-timeout: with the GIL held for good by a request, the stacks
/// are still logged (read without the GIL) before the restart, the thread
/// holding it named as a worker with its running request.
#[test]
fn deadlock_timeout_logs_the_stacks_without_the_gil() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let hold = b.write_app(
        "hold.wsgi",
        "def holding_the_gil():\n    return sum(range(10 ** 11))\n\n\
         def application(environ, start_response):\n    holding_the_gil()\n",
    );
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess g processes=1 threads=2 deadlock-timeout=2 shutdown-timeout=1")
        .server(format!(
            "WSGIScriptAlias /hold \"{}\" process-group=g",
            hold.display()
        ))
        .start();
    let r = apache.get("/hold");
    assert!(r.status >= 500, "{r:?}");
    let log = apache.error_log();
    let dump = log.find("[WSGIRS0466]").expect(&log);
    let restart = log.find("[WSGIRS0415]").expect(&log);
    assert!(dump < restart, "{log}");
    assert!(log.contains("in holding_the_gil"), "{log}");
    assert!(log.contains(", request running for"), "{log}");
}

/// startup-timeout also bounds the group's `WSGIImportScript` preload,
/// the first load attempt of a daemon: a preload that hangs ends the
/// process after the stacks and WSGIRS0468 are logged, and it is replaced.
#[test]
fn startup_timeout_bounds_a_hanging_preload() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let hang = b.write_app(
        "hang.py",
        "import time\n\ndef hanging_preload():\n    time.sleep(60)\n\nhanging_preload()\n",
    );
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess t processes=1 threads=1 startup-timeout=2 shutdown-timeout=1")
        .server(format!(
            "WSGIImportScript \"{}\" process-group=t application-group=%{{GLOBAL}}",
            hang.display()
        ))
        .start();
    let t = Instant::now();
    let mut log = apache.error_log();
    while log.matches("[WSGIRS0468]").count() < 2 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
        log = apache.error_log();
    }
    // Two attempts in 20 s: each ended about 2 s after it began.
    assert!(log.matches("[WSGIRS0468]").count() >= 2, "{log}");
    assert!(log.contains("in hanging_preload"), "{log}");
    assert!(!log.contains("[WSGIRS0411]"), "never ready:\n{log}");
}
