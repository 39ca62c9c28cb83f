//! `SetHandler wsgi-health` against a real Apache: 200 and `"ok"` when
//! every daemon group has a process ready to accept; 503 and
//! `"unavailable"` while a group's only daemon is stopped (SIGSTOP) and 200
//! again once it runs (SIGCONT), under every MPM; 503 during start-up while
//! the group imports its scripts, and while a group crash-loops (its import
//! script exits), with the restarts counted as crashes by `wsgi-metrics`.

#[macro_use]
mod common;
mod monitoring_util;

use common::*;
use monitoring_util::{group_counts, parse, value, wait_for, with_prefix};
use std::process::Command;
use std::time::Duration;

const ENDPOINTS: &str = "<Location /health>\n    SetHandler wsgi-health\n</Location>\n\
                         <Location /metrics>\n    SetHandler wsgi-metrics\n</Location>";

/// The health document, checked to be JSON (Python's json module).
fn health(apache: &Apache) -> (u16, String) {
    let r = apache.get("/health");
    let text = r.text();
    assert_eq!(r.header("Content-Type"), Some("application/json"), "{r:?}");
    let check = Command::new("/usr/bin/python3")
        .args(["-c", "import json,sys; d=json.loads(sys.argv[1]); assert d['status'] in ('ok','unavailable')", &text])
        .status()
        .unwrap();
    assert!(check.success(), "not JSON: {text}");
    (r.status, text)
}

fn wait_status(apache: &Apache, status: u16, what: &str) -> String {
    wait_for(Duration::from_secs(60), what, || {
        let (s, doc) = health(apache);
        (s == status).then_some(doc)
    })
}

/// Sends SIGCONT to a stopped daemon when the test ends, however it ends.
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

fn stopped(mpm: Mpm) {
    ours_only!("wsgi-health is ours");
    let b = Apache::builder(mpm).with_socket_prefix();
    let hello = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess web threads=2")
        .server("WSGIDaemonProcess other threads=1")
        .server(format!(
            "WSGIScriptAlias /hello \"{}\" process-group=web",
            hello.display()
        ))
        .server(ENDPOINTS)
        .start();
    let doc = wait_status(&apache, 200, "both groups ready");
    assert!(doc.starts_with("{\"status\": \"ok\""), "{doc}");
    assert_eq!(group_counts(&doc, "web"), Some((1, 1, 2, 0)), "{doc}");
    assert_eq!(group_counts(&doc, "other"), Some((1, 1, 1, 0)), "{doc}");
    assert_eq!(apache.get("/hello").status, 200);
    let m = parse(&apache.get("/metrics").text());
    let pid: i32 = with_prefix(&m, "mod_wsgi_process_resident_memory_bytes{pid=")
        .find(|(k, _)| k.contains("process_group=\"web\""))
        .and_then(|(k, _)| k.split('"').nth(1)?.parse().ok())
        .expect("the web daemon's pid");
    signal(pid, libc::SIGSTOP);
    let _resume = Resume(pid);
    let doc = wait_status(&apache, 503, "unavailable while stopped");
    assert!(doc.starts_with("{\"status\": \"unavailable\""), "{doc}");
    assert_eq!(group_counts(&doc, "web"), Some((1, 0, 2, 0)), "{doc}");
    assert_eq!(group_counts(&doc, "other").map(|c| c.1), Some(1), "{doc}");
    // The metrics page does not wait for the stopped daemon either.
    let m = parse(&apache.get("/metrics").text());
    assert_eq!(
        value(&m, "mod_wsgi_daemon_processes{process_group=\"web\"}"),
        1.0
    );
    signal(pid, libc::SIGCONT);
    let doc = wait_status(&apache, 200, "ok once running again");
    assert_eq!(group_counts(&doc, "web"), Some((1, 1, 2, 0)), "{doc}");
    assert_eq!(apache.get("/hello").status, 200);
}
per_mpm!(stopped_daemon_is_unavailable, stopped);

#[test]
fn unavailable_during_start_up() {
    ours_only!("wsgi-health is ours");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let preload = b.app("slow_preload.py");
    let apache = b
        .server("WSGIDaemonProcess slow threads=1")
        .server(format!(
            "WSGIImportScript \"{}\" process-group=slow application-group=%{{GLOBAL}}",
            preload.display()
        ))
        .server(ENDPOINTS)
        .start();
    let (status, doc) = health(&apache);
    assert_eq!(status, 503, "{doc}");
    assert_eq!(
        group_counts(&doc, "slow").map(|c| (c.0, c.1)),
        Some((1, 0)),
        "{doc}"
    );
    let doc = wait_status(&apache, 200, "ready after the import script");
    assert_eq!(group_counts(&doc, "slow"), Some((1, 1, 1, 0)), "{doc}");
}

#[test]
fn unavailable_while_crash_looping() {
    ours_only!("wsgi-health is ours");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let exit = b.app("exit_at_import.py");
    let apache = b
        .server("WSGIDaemonProcess good threads=1")
        .server("WSGIDaemonProcess looping threads=1")
        .server(format!(
            "WSGIImportScript \"{}\" process-group=looping application-group=%{{GLOBAL}}",
            exit.display()
        ))
        .server(ENDPOINTS)
        .start();
    let crashes = "mod_wsgi_daemon_restarts_total{process_group=\"looping\",reason=\"crash\"}";
    wait_for(Duration::from_secs(60), "two crashes counted", || {
        let m = parse(&apache.get("/metrics").text());
        (value(&m, crashes) >= 2.0).then_some(())
    });
    for _ in 0..3 {
        let (status, doc) = health(&apache);
        assert_eq!(status, 503, "{doc}");
        assert_eq!(group_counts(&doc, "looping").map(|c| c.1), Some(0), "{doc}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (_, doc) = health(&apache);
    assert_eq!(group_counts(&doc, "good").map(|c| c.1), Some(1), "{doc}");
}

#[test]
fn embedded_only_is_ok_and_other_methods_are_refused() {
    ours_only!("wsgi-health is ours");
    let apache = Apache::builder(Mpm::Prefork)
        .server(ENDPOINTS)
        .allow_log("WSGIRS0564")
        .start();
    let (status, doc) = health(&apache);
    assert_eq!(
        (status, doc.as_str()),
        (200, "{\"status\": \"ok\", \"groups\": {}}\n")
    );
    let r = apache.post("/health", b"x");
    assert_eq!(r.status, 405, "{r:?}");
    let allow = r.header("Allow").unwrap_or("");
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{r:?}");
    assert!(!allow.contains("POST"), "{r:?}");
    assert_eq!(apache.post("/metrics", b"x").status, 405);
}

/// Every worker of a group busy for longer than its request-timeout: 503
/// while the process is still marked ready (the RequestTimeout raised in
/// the worker cannot land while it sleeps in C), 200 once it is free.
#[test]
fn unavailable_while_every_worker_is_stuck() {
    ours_only!("wsgi-health is ours");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let sleep = b.app("sleep.wsgi");
    let apache = b
        .server("WSGIDaemonProcess stuck threads=1 request-timeout=2 interrupt-timeout=60")
        .server(format!(
            "WSGIScriptAlias /sleep \"{}\" process-group=stuck",
            sleep.display()
        ))
        .server(ENDPOINTS)
        .start();
    wait_status(&apache, 200, "ready");
    let client = apache.client();
    let slow = std::thread::spawn(move || client.get("/sleep?seconds=12").status);
    let doc = wait_status(&apache, 503, "unavailable once stuck past request-timeout");
    assert_eq!(group_counts(&doc, "stuck"), Some((1, 0, 1, 1)), "{doc}");
    let status = slow.join().unwrap();
    assert!(status >= 500, "the request-timeout answer: {status}");
    let doc = wait_status(&apache, 200, "ok once the worker is free");
    assert_eq!(group_counts(&doc, "stuck").map(|c| c.1), Some(1), "{doc}");
}
