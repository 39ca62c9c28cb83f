//! A failed `fork()` of a daemon is retried with back-off, against a real
//! Apache: the Apache parent is moved into a pids cgroup whose `pids.max`
//! lets it fork nothing, its daemon is killed, and the supervisor's fork
//! fails (WSGIRS0405) and is queued (WSGIRS0482, 1 s then 2 s, ...); once
//! the limit is lifted, Apache's monitor hook (about every 10 s) forks the
//! slot again and the group serves. Needs root and a writable pids cgroup
//! (v1 `/sys/fs/cgroup/pids`, or v2 with the pids controller); skipped,
//! saying so, otherwise.

#[macro_use]
mod common;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

/// A pids cgroup of our own, and the cgroup its processes go back to.
struct Cgroup {
    dir: PathBuf,
    home: PathBuf,
}

impl Cgroup {
    /// Creates one beside this process's pids cgroup, or None (why printed).
    fn create() -> Option<Cgroup> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to create a cgroup");
            return None;
        }
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let v1 = PathBuf::from("/sys/fs/cgroup/pids");
        let (base, path) = if v1.join("cgroup.procs").exists() {
            let line = own.lines().find(|l| l.split(':').nth(1) == Some("pids"))?;
            (v1, line.splitn(3, ':').nth(2)?.to_string())
        } else {
            let base = PathBuf::from("/sys/fs/cgroup");
            let controllers = fs::read_to_string(base.join("cgroup.controllers")).ok()?;
            if !controllers.split_whitespace().any(|c| c == "pids") {
                eprintln!("skipped: no pids cgroup controller");
                return None;
            }
            let line = own.lines().find(|l| l.starts_with("0::"))?;
            (base, line[3..].to_string())
        };
        let dir = base.join(format!("mwrs-fork-retry-{}", std::process::id()));
        if let Err(e) = fs::create_dir(&dir) {
            eprintln!("skipped: cannot create {}: {e}", dir.display());
            return None;
        }
        if !dir.join("pids.max").exists() {
            let _ = fs::remove_dir(&dir);
            eprintln!("skipped: {} has no pids.max", dir.display());
            return None;
        }
        let home = base.join(path.trim_start_matches('/'));
        Some(Cgroup { dir, home })
    }

    fn set_max(&self, max: &str) {
        fs::write(self.dir.join("pids.max"), max).unwrap();
    }

    fn enter(&self, pid: i32) {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for Cgroup {
    /// Sends any process still there back home and removes the cgroup.
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("pids.max"), "max");
        let procs = fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines() {
            let _ = fs::write(self.home.join("cgroup.procs"), pid);
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The pid in crash.wsgi's "alive in PID", once a request succeeds
/// (retrying for up to `wait`).
fn serving_pid(apache: &Apache, wait: Duration) -> i32 {
    let deadline = Instant::now() + wait;
    loop {
        let r = apache.get("/crash");
        if r.status == 200 {
            return r.text().trim_start_matches("alive in ").parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the group does not serve: {r:?}\n{}",
            apache.error_log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_failed_fork_is_retried_until_it_succeeds() {
    ours_only!("WSGIRS log lines");
    // Made before Apache, so dropped after it: empty by then, removable.
    let Some(cgroup) = Cgroup::create() else {
        return;
    };
    let b = Apache::builder(Mpm::Event)
        .with_socket_prefix()
        .allow_log(r"\[WSGIRS0405\] cannot fork daemon process");
    let app = b.app("crash.wsgi");
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess forks processes=1 threads=1")
        .server(format!(
            "WSGIScriptAlias /crash \"{}\" process-group=forks",
            app.display()
        ))
        .start();
    let old = serving_pid(&apache, Duration::from_secs(10));
    cgroup.enter(apache.pid());
    // The parent (one task) may fork nothing more.
    cgroup.set_max("1");
    signal(old, libc::SIGKILL);
    assert!(
        apache.wait_for_log("[WSGIRS0482]", Duration::from_secs(10)),
        "no retry queued:\n{}",
        apache.error_log()
    );
    assert!(
        apache.wait_for_log(
            "could not be forked (2 time(s) in a row)",
            Duration::from_secs(30)
        ),
        "no second attempt:\n{}",
        apache.error_log()
    );
    let log = apache.error_log();
    assert!(
        log.contains("[WSGIRS0405] cannot fork daemon process of group 'forks'"),
        "{log}"
    );
    cgroup.set_max("max");
    // The monitor hook runs about every 10 s; the delay is at most 4 s by now.
    let new = serving_pid(&apache, Duration::from_secs(40));
    assert_ne!(new, old);
}
