//! Graceful stops of a daemon process against a real Apache (event MPM;
//! nothing here depends on the MPM), as mod_wsgi 6 does them: a process
//! that must restart (maximum-requests, SIGUSR1, request-timeout...) while
//! requests run keeps serving, accepting new requests too, until none is
//! running, then stops and is replaced; `graceful-timeout` bounds that
//! drain, `eviction-timeout` replaces it for a SIGUSR1 sent to the daemon
//! ("process eviction"), a request older than `request-timeout` (stale) does
//! not hold it, and an idle process stops at once. Bounds are generous:
//! each test states what it waits for.

#[macro_use]
mod common;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

fn server(options: &str) -> Apache {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("sleep.wsgi");
    b.log_level("warn wsgi:info")
        .allow_log("WSGIRS0407|WSGIRS0434|WSGIRS0471")
        .server(format!("WSGIDaemonProcess g {options}"))
        .server(format!(
            "WSGIScriptAlias /s \"{}\" process-group=g",
            app.display()
        ))
        .start()
}

/// The daemon pid in sleep.wsgi's answer ("slept S in PID:TID").
fn pid_in(r: &Response) -> i32 {
    let text = r.text();
    text.split(" in ")
        .nth(1)
        .and_then(|p| p.split(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {r:?}"))
}

/// A request of `seconds` in a thread of its own; yields the response and
/// when it ended.
fn in_background(apache: &Apache, seconds: f64) -> JoinHandle<(Response, Instant)> {
    let client = apache.client();
    std::thread::spawn(move || {
        let r = client.get(&format!("/s?seconds={seconds}"));
        (r, Instant::now())
    })
}

/// Waits up to `limit` for `pid` to be gone.
fn gone_within(pid: i32, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while pid_alive(pid) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) on the daemon pid this test's Apache reported.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// maximum-requests reached while a request runs, without a standby
/// (`standby=off`, mod_wsgi's way): the process keeps accepting (a request
/// sent during the drain is served by it), the request in flight
/// finishes, then the process stops and is replaced.
#[test]
fn maximum_requests_drains_while_still_accepting() {
    ours_only!("WSGIRS log ids");
    let apache = server("processes=1 threads=4 maximum-requests=2 graceful-timeout=30 standby=off");
    let first = apache.get("/s?seconds=0");
    assert_eq!(first.status, 200, "{first:?}\n{}", apache.error_log());
    let old = pid_in(&first);
    let long = in_background(&apache, 3.0);
    std::thread::sleep(Duration::from_millis(500));
    // The second request reaches maximum-requests with the long one running.
    assert_eq!(pid_in(&apache.get("/s?seconds=0")), old);
    assert!(
        apache.wait_for_log("[WSGIRS0470]", Duration::from_secs(5)),
        "{}",
        apache.error_log()
    );
    // Draining, the process still accepts and serves.
    let during = apache.get("/s?seconds=0.1");
    assert_eq!(during.status, 200, "{during:?}");
    assert_eq!(pid_in(&during), old, "a draining process still serves");
    let (r, _) = long.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(pid_in(&r), old);
    // Idle now: it stopped at once (not after graceful-timeout=30).
    assert!(gone_within(old, Duration::from_secs(5)), "{old} still runs");
    let after = apache.get("/s?seconds=0");
    assert_eq!(after.status, 200, "{after:?}");
    assert_ne!(pid_in(&after), old);
    let log = apache.error_log();
    assert!(
        log.contains("stopping (graceful stop: requests in flight finished)"),
        "{log}"
    );
}

/// Under a bounded loop of ~1 s requests from three clients, recycling at
/// maximum-requests loses nothing: every request succeeds, and more than
/// one process served them.
#[test]
fn maximum_requests_under_load_loses_no_request() {
    ours_only!(
        "recycling under steady load: mod_wsgi restarts graceful-timeout at each request \
         that ends past maximum-requests, so a busy process is not recycled (differences.md)"
    );
    let apache =
        server("processes=1 threads=4 maximum-requests=4 graceful-timeout=2 shutdown-timeout=5");
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let client = apache.client();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300 * i));
                (0..8)
                    .map(|_| client.get("/s?seconds=1"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut pids = std::collections::BTreeSet::new();
    for c in clients {
        for r in c.join().unwrap() {
            assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
            pids.insert(pid_in(&r));
        }
    }
    // 24 requests of 1 s over about 8 s; the first process stops at most
    // 2 s (graceful-timeout) after its 4th request: at least 2 processes.
    assert!(pids.len() >= 2, "{pids:?}\n{}", apache.error_log());
}

/// A request longer than graceful-timeout does not hold the process: it
/// stops when graceful-timeout (2 s) has passed, and the request then gets
/// shutdown-timeout (1 s) before it is cut off (502), far from its 30 s.
#[test]
fn graceful_timeout_bounds_the_drain() {
    ours_only!("WSGIRS log ids");
    let apache =
        server("processes=1 threads=2 maximum-requests=2 graceful-timeout=2 shutdown-timeout=1");
    let long = in_background(&apache, 30.0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(apache.get("/s?seconds=0").status, 200);
    // The second request reaches maximum-requests: the drain begins.
    assert_eq!(apache.get("/s?seconds=0").status, 200);
    let began = Instant::now();
    let (r, ended) = long.join().unwrap();
    assert_eq!(r.status, 502, "{r:?}\n{}", apache.error_log());
    let took = ended - began;
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "the long request must end after about graceful-timeout + shutdown-timeout \
         (3 s), took {took:?}\n{}",
        apache.error_log()
    );
    let log = apache.error_log();
    assert!(log.contains("[WSGIRS0471]"), "{log}");
    assert!(
        log.contains("stopping (graceful stop: graceful-timeout expired)"),
        "{log}"
    );
    assert_eq!(apache.get("/s?seconds=0").status, 200);
}

/// A request that has run longer than request-timeout is stale: it does
/// not hold the drain of graceful-timeout=30, the process stops once the
/// request turns stale (2 s) and the request is cut off after
/// shutdown-timeout (1 s).
#[test]
fn stale_requests_do_not_hold_the_drain() {
    ours_only!("WSGIRS log ids");
    let apache = server(
        "processes=1 threads=3 maximum-requests=2 graceful-timeout=30 \
         request-timeout=2 shutdown-timeout=1",
    );
    let started = Instant::now();
    let long = in_background(&apache, 30.0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(apache.get("/s?seconds=0").status, 200);
    assert_eq!(apache.get("/s?seconds=0").status, 200);
    assert!(
        apache.wait_for_log("[WSGIRS0470]", Duration::from_secs(5)),
        "the drain must begin while the request is not stale yet\n{}",
        apache.error_log()
    );
    let (r, ended) = long.join().unwrap();
    assert_eq!(r.status, 502, "{r:?}");
    let took = ended - started;
    assert!(
        took < Duration::from_secs(10),
        "the stale request held the drain: {took:?}\n{}",
        apache.error_log()
    );
    let log = apache.error_log();
    assert!(!log.contains("[WSGIRS0471]"), "{log}");
    assert!(
        log.contains("stopping (graceful stop: only stale requests left)"),
        "{log}"
    );
    assert_eq!(apache.get("/s?seconds=0").status, 200);
}

/// SIGUSR1 to a busy daemon with eviction-timeout (and graceful-timeout=0,
/// which would otherwise stop it at once): it drains, still serving, then
/// is replaced.
#[test]
fn sigusr1_with_eviction_timeout_drains_then_replaces() {
    ours_only!("WSGIRS log ids");
    let apache = server("processes=1 threads=3 graceful-timeout=0 eviction-timeout=30");
    let old = pid_in(&apache.get("/s?seconds=0"));
    let long = in_background(&apache, 2.5);
    std::thread::sleep(Duration::from_millis(500));
    kill(old, libc::SIGUSR1);
    assert!(
        apache.wait_for_log("[WSGIRS0470]", Duration::from_secs(5)),
        "{}",
        apache.error_log()
    );
    let during = apache.get("/s?seconds=0.1");
    assert_eq!(during.status, 200, "{during:?}");
    assert_eq!(
        pid_in(&during),
        old,
        "an evicted process drains, still serving"
    );
    let (r, _) = long.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert!(gone_within(old, Duration::from_secs(5)), "{old} still runs");
    let after = apache.get("/s?seconds=0");
    assert_eq!(after.status, 200, "{after:?}");
    assert_ne!(pid_in(&after), old);
    let log = apache.error_log();
    assert!(
        log.contains("SIGUSR1 (process eviction); graceful stop")
            && log.contains("eviction-timeout=30.0s"),
        "{log}"
    );
}

/// SIGUSR1 to an idle daemon: it is replaced at once, not after the
/// eviction-timeout (30 s).
#[test]
fn sigusr1_to_an_idle_daemon_replaces_it_at_once() {
    ours_only!("WSGIRS log ids");
    let apache = server("processes=1 threads=2 eviction-timeout=30");
    let old = pid_in(&apache.get("/s?seconds=0"));
    // Idle: the worker has counted its request as finished.
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    kill(old, libc::SIGUSR1);
    assert!(gone_within(old, Duration::from_secs(3)), "{old} still runs");
    let r = apache.get("/s?seconds=0");
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(pid_in(&r), old);
    assert!(sent.elapsed() < Duration::from_secs(10));
    let log = apache.error_log();
    assert!(
        log.contains("stopping (SIGUSR1 (process eviction))"),
        "{log}"
    );
    assert!(!log.contains("[WSGIRS0470]"), "{log}");
}

/// The values are checked as mod_wsgi's other timeouts are.
#[test]
fn graceful_and_eviction_timeout_values_are_checked() {
    ours_only!("our messages");
    for (arg, key) in [
        ("graceful-timeout=-1", "graceful-timeout"),
        ("eviction-timeout=x", "eviction-timeout"),
    ] {
        let ct = Apache::builder(Mpm::Event)
            .server(format!("WSGIDaemonProcess g {arg}"))
            .config_test();
        assert!(!ct.ok(), "{arg}");
        assert!(
            ct.output.contains(&format!("for option '{key}'")),
            "{}",
            ct.output
        );
    }
}
