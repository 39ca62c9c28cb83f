//! A daemon's shutdown always ends, against a real Apache: an application
//! whose first request starts a thread that never ends, in a group with
//! `maximum-requests=5` and `processes=1`, keeps being served across the
//! restarts (requests in a row all succeed, from at least 5 processes, in
//! a bounded time): a non-daemon thread makes finalisation wait, which the
//! shutdown reaper cuts at `shutdown-timeout` (WSGIRS0480); a daemon thread
//! in a sub-interpreter leaves that interpreter running rather than have
//! its thread state freed under it (WSGIRS0481). The server guard checks
//! that no process is left once Apache stops, and that none crashed.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;

/// Serves busy_thread.wsgi at /busy from one process recycled every 5
/// requests; `alias` is added to its WSGIScriptAlias (an application group).
fn recycled(alias: &str) -> Apache {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("busy_thread.wsgi");
    b.log_level("warn wsgi:info")
        .server(
            "WSGIDaemonProcess busy processes=1 threads=2 maximum-requests=5 shutdown-timeout=1",
        )
        .server(format!(
            "WSGIScriptAlias /busy \"{}\" process-group=busy {alias}",
            app.display()
        ))
        .start()
}

/// Sends requests one after the other, 100 ms apart, until 5 processes
/// have served (at most 600 requests, 60 s: each restart is bounded by
/// shutdown-timeout=1 plus the parent noticing the exit, about 1 s; with
/// the group's standby a process that reached maximum-requests serves on
/// until the next standby has started, so requests are paced rather than
/// counted); every one must succeed.
fn serves_across_restarts(apache: &Apache, query: &str) {
    let start = Instant::now();
    let mut pids = BTreeSet::new();
    for i in 0..600 {
        let r = apache.get(&format!("/busy?{query}"));
        assert_eq!(r.status, 200, "request {i}: {r:?}\n{}", apache.error_log());
        pids.insert(r.text());
        if pids.len() >= 5 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = start.elapsed();
    assert!(pids.len() >= 5, "served by {pids:?} in {took:?}");
    eprintln!("served by {} processes in {took:?}", pids.len());
}

#[test]
fn a_non_daemon_thread_does_not_hang_a_recycled_daemon() {
    ours_only!("WSGIRS log lines");
    let apache = recycled("");
    serves_across_restarts(&apache, "");
    let log = apache.error_log();
    assert!(
        log.contains("[WSGIRS0480]") && log.contains("did not finish finalising Python"),
        "{log}"
    );
}

#[test]
fn a_non_daemon_thread_in_the_main_interpreter_does_not_hang_it() {
    ours_only!("WSGIRS log lines");
    let apache = recycled("application-group=%{GLOBAL}");
    serves_across_restarts(&apache, "");
    assert!(apache.error_log().contains("[WSGIRS0480]"));
}

#[test]
fn a_daemon_thread_keeps_its_sub_interpreter_at_exit() {
    ours_only!("WSGIRS log lines");
    let apache = recycled("");
    serves_across_restarts(&apache, "daemon=1");
    let log = apache.error_log();
    assert!(
        log.contains("[WSGIRS0481]") && log.contains("still runs 1 thread(s)"),
        "{log}"
    );
}
