//! Forensics of a dead daemon, against a real Apache: an application that
//! dies mid-request (SIGSEGV from `ctypes.string_at(0)`, or `os._exit(1)`)
//! costs its client a 502; the Apache child logs the request it had in
//! flight (method, path, how long it had run, the daemon pid and worker
//! thread from the daemon's ACCEPT) and the Apache parent logs how that
//! same pid ended (the signal by name, or the exit status); a request sent
//! right after the 502 is served by the replacement within 2 s.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// One daemon process of two threads serving crash.wsgi at /crash.
fn crashing_daemon() -> Apache {
    let b = Apache::builder(Mpm::Event)
        .with_socket_prefix()
        .allow_log(r"AH00052: child pid \d+ exit signal Segmentation fault \(11\)");
    let app = b.app("crash.wsgi");
    b.log_level("warn wsgi:info")
        .server("WSGIDaemonProcess crash processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /crash \"{}\" process-group=crash",
            app.display()
        ))
        .start()
}

/// The pid in crash.wsgi's "alive in PID".
fn alive_pid(apache: &Apache) -> i32 {
    let r = apache.get("/crash");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    r.text().trim_start_matches("alive in ").parse().unwrap()
}

/// Asks the daemon to die `how`; checks the 502, the two log lines (the
/// parent's naming `ended`, the child's naming the request and the same
/// pid) and that a request sent right after is served within 2 s.
fn dies_mid_request(how: &str, ended: &str) {
    ours_only!("WSGIRS log lines");
    let apache = crashing_daemon();
    let victim = alive_pid(&apache);
    let r = apache.get(&format!("/crash?how={how}&after=0.3"));
    assert_eq!(r.status, 502, "{r:?}\n{}", apache.error_log());
    let answered = Instant::now();
    let next = apache.get("/crash");
    let resumed = answered.elapsed();
    assert_eq!(next.status, 200, "{next:?}\n{}", apache.error_log());
    assert!(
        resumed < Duration::from_secs(2),
        "service resumed after {resumed:?}"
    );
    let replacement: i32 = next.text().trim_start_matches("alive in ").parse().unwrap();
    assert_ne!(replacement, victim);
    let parent_line = format!("[WSGIRS0407] daemon process {victim} of group 'crash' {ended}");
    assert!(
        apache.wait_for_log(&parent_line, Duration::from_secs(5)),
        "no '{parent_line}' in\n{}",
        apache.error_log()
    );
    let log = apache.error_log();
    let child_line = log
        .lines()
        .find(|l| l.contains("[WSGIRS0434]") || l.contains("[WSGIRS0447]"))
        .unwrap_or_else(|| panic!("no relay line in\n{log}"));
    for needle in [
        "request 'GET /crash' had run 0.",
        &format!("in daemon process {victim} (worker thread "),
        &format!("WSGIRS0407 for pid {victim}"),
    ] {
        assert!(child_line.contains(needle), "no '{needle}' in {child_line}");
    }
    assert!(
        !child_line.contains("how="),
        "query string logged: {child_line}"
    );
}

#[test]
fn a_daemon_killed_by_sigsegv_is_named_with_its_request() {
    dies_mid_request("segv", "killed by signal 11 (SIGSEGV");
}

#[test]
fn a_daemon_that_exits_mid_request_is_named_with_its_request() {
    dies_mid_request("exit", "exited with status 1; restarting it");
}
