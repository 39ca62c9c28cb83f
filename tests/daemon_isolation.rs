//! Daemon processes against a real Apache, as an attacker or an unlucky
//! operator would find them: after a SIGKILL of the Apache parent every
//! daemon process exits within a few seconds (PR_SET_PDEATHSIG) instead of
//! holding its socket; two daemon groups, each of whose daemons wipes the
//! other's secret after fork, both still serve (the wiping itself is unit
//! tested in `daemon::supervisor`).

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// The pids the parent logged as started daemon processes of `group`.
fn started_daemons(log: &str, group: &str) -> Vec<i32> {
    let tail = format!(" of group '{group}'");
    log.lines()
        .filter_map(|l| {
            let rest = l.split("started daemon process ").nth(1)?;
            let (pid, after) = rest.split_once(' ')?;
            after
                .trim_end()
                .starts_with(tail.trim_start())
                .then(|| pid.parse().ok())?
        })
        .collect()
}

#[test]
fn daemons_exit_when_the_apache_parent_is_killed() {
    ours_only!("finds the daemons through WSGIRS0406 log lines");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let mut apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess orphan processes=2 threads=2")
        .server("WSGIProcessGroup orphan")
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .start();
    let r = apache.get("/info");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let daemons = started_daemons(&apache.error_log(), "orphan");
    assert_eq!(daemons.len(), 2, "{}", apache.error_log());
    assert!(daemons.iter().all(|&p| pid_alive(p)), "{daemons:?}");
    let children: Vec<(i32, Option<u64>)> = apache
        .pids_of_children()
        .into_iter()
        .filter(|p| !daemons.contains(p))
        .map(|p| (p, start_time(p)))
        .collect();

    signal(apache.pid(), libc::SIGKILL);
    let killed = Instant::now();
    let mut left = daemons.clone();
    while !left.is_empty() && killed.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
        left.retain(|&p| pid_alive(p));
    }
    let desc: Vec<String> = left.iter().map(|&p| describe_pid(p)).collect();
    assert!(
        left.is_empty(),
        "daemons still running {:?} after the parent's SIGKILL: {desc:?}",
        killed.elapsed()
    );

    // Apache's own children are Apache's business, and stock httpd's event
    // children keep running without their parent: this test ends them (by
    // PID, the same processes it saw before the kill). The parent never
    // removed the sockets: this test does.
    let deadline = Instant::now() + Duration::from_secs(1);
    while children.iter().any(|&(p, _)| pid_alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &(p, started) in &children {
        if pid_alive(p) && start_time(p) == started {
            eprintln!(
                "ending Apache child left by the parent: {}",
                describe_pid(p)
            );
            signal(p, libc::SIGKILL);
        }
    }
    for e in std::fs::read_dir(apache.root().join("run"))
        .unwrap()
        .flatten()
    {
        if e.file_name().to_string_lossy().ends_with(".sock") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let log = apache.error_log();
    assert!(
        log.contains("stopping (SIGTERM)"),
        "the daemons did not stop as on a normal stop:\n{}",
        tail(&log, 30)
    );
    apache.stop().unwrap();
}

#[test]
fn two_groups_each_keeping_only_its_own_secret_both_serve() {
    ours_only!("WSGIRS daemon internals");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess alpha processes=2 threads=2")
        .server("WSGIDaemonProcess beta processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /a \"{}\" process-group=alpha",
            info.display()
        ))
        .server(format!(
            "WSGIScriptAlias /b \"{}\" process-group=beta",
            info.display()
        ))
        .start();
    for _ in 0..4 {
        for (path, group) in [("/a", "alpha"), ("/b", "beta")] {
            let r = apache.get(path);
            assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
            assert_eq!(parse_kv(&r.text())["env_group"], group);
        }
    }
    // A graceful restart: the new daemons accept the new generation's
    // secret and each still wipes the other group's.
    apache.graceful();
    for (path, group) in [("/a", "alpha"), ("/b", "beta")] {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
        assert_eq!(parse_kv(&r.text())["env_group"], group);
    }
}
