//! `WSGIDaemonProcess restart-interval=` against a real Apache: a daemon
//! process restarts once it has run that long (gracefully: a request in
//! flight is waited for, see tests/daemon_graceful.rs), and requests sent
//! in a loop across the restarts all succeed: the connections that wait on
//! the socket meanwhile are served by the replacement.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn restart_interval_recycles_the_process_without_failing_requests() {
    ours_only!("WSGIRS log lines");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("sleep.wsgi");
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess r processes=1 threads=2 restart-interval=1.5")
        .server(format!(
            "WSGIScriptAlias /s \"{}\" process-group=r",
            app.display()
        ))
        .start();
    let mut pids = BTreeSet::new();
    let start = Instant::now();
    let mut served = 0;
    while start.elapsed() < Duration::from_secs(5) {
        let r = apache.get("/s?seconds=0.05");
        assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
        let text = r.text();
        let pid = text
            .split(" in ")
            .nth(1)
            .and_then(|p| p.split(':').next())
            .unwrap()
            .to_string();
        pids.insert(pid);
        served += 1;
    }
    // 5 s of requests with a 1.5 s interval: at least two restarts.
    assert!(pids.len() >= 3, "{served} requests served by {pids:?}");
    let log = apache.error_log();
    // Logged as `stopping (restart-interval reached)` when idle, else as the
    // beginning of a graceful stop (WSGIRS0470) with the request in flight.
    assert!(
        log.matches("restart-interval reached").count() >= 2,
        "{log}"
    );
}

/// The value is checked as mod_wsgi's other timeouts are.
#[test]
fn restart_interval_value_is_checked() {
    ours_only!("our messages");
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess r restart-interval=-1")
        .config_test();
    assert!(!ct.ok());
    assert!(
        ct.output
            .contains("invalid value '-1' for option 'restart-interval'"),
        "{}",
        ct.output
    );
}
