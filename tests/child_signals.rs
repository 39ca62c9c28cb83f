//! What the processes an application starts inherit (issue 16 item 3): a
//! `sleep` started with `subprocess.Popen` must die on `terminate()`, with
//! an empty signal mask in its `/proc/<pid>/status`. In daemon mode that
//! holds under every MPM (the daemon handles its stop signals instead of
//! blocking them). In embedded mode the threaded MPMs (event, worker) block
//! signals in the threads that run Python and the child inherits that mask:
//! the test asserts that documented limitation and the workaround from
//! docs/differences.md (`os.posix_spawn(..., setsigmask=())`); prefork
//! blocks nothing but its children ignore SIGINT, which survives exec.
//! A process the application forks in a daemon dies by SIGTERM without
//! stopping the daemon. Ignored signals are checked for the stop signals
//! and SIGPIPE only: a daemon's children also show signal 32 (glibc's
//! internal SIGCANCEL) as ignored, before the fix as after. A `sleep` left
//! behind by a failing test is killed by the PID the app wrote down.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use common::*;

/// The pid file the app writes and the test's server root; on drop, kills
/// the process it names if it is still running (a failed request or
/// assertion) and is a `sleep` or a fork of this test's Apache.
struct Spawned(PathBuf, PathBuf);

impl Drop for Spawned {
    fn drop(&mut self) {
        let Some(pid) = fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        else {
            return;
        };
        let cmd = cmdline(pid);
        let root = self.1.to_string_lossy();
        if pid_alive(pid) && (cmd.contains("sleep") || cmd.contains(root.as_ref())) {
            signal(pid, libc::SIGKILL);
        }
    }
}

/// `/spawn` served by the app, plus a world-writable directory for its pid
/// file (Apache's children and daemons run as www-data).
fn builder(mpm: Mpm) -> (ApacheBuilder, PathBuf) {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.app("spawn_terminate.wsgi");
    let dir = b.root().join("spawned");
    fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o777);
    let b = b.server(format!("WSGIScriptAlias /spawn \"{}\"", app.display()));
    (b, dir)
}

/// Starts a `sleep` the way `how` says, terminates it; the app's answer.
fn spawn(apache: &Apache, dir: &std::path::Path, how: &str) -> BTreeMap<String, String> {
    let pidfile = dir.join(format!("{how}.pid"));
    let _guard = Spawned(pidfile.clone(), apache.root().to_path_buf());
    let r = apache.get(&format!("/spawn?how={how}&pidfile={}", pidfile.display()));
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    parse_kv(&r.text())
}

const EMPTY_SET: &str = "0000000000000000";

/// Whether `sig` is in a `/proc/<pid>/status` signal set (hex, bit sig-1).
fn has(set: &str, sig: i32) -> bool {
    let bits = u64::from_str_radix(set, 16).unwrap_or_else(|e| panic!("{set:?}: {e}"));
    bits & (1u64 << (sig - 1)) != 0
}

/// The stop signals of a daemon and Apache's, and SIGPIPE: none may be
/// ignored in what the application starts.
const SIGNALS: [i32; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
];

fn assert_default_dispositions(kv: &BTreeMap<String, String>) {
    assert_default_dispositions_but(kv, 0);
}

fn assert_default_dispositions_but(kv: &BTreeMap<String, String>, except: i32) {
    for s in SIGNALS.into_iter().filter(|&s| s != except) {
        assert!(
            !has(&kv["sigign"], s),
            "signal {s} ignored in the child: {kv:?}"
        );
    }
}

fn daemon_child_gets_default_mask(mpm: Mpm) {
    let (b, dir) = builder(mpm);
    let apache = b
        .server("WSGIDaemonProcess spawner processes=1 threads=2")
        .server("WSGIProcessGroup spawner")
        .start();
    let kv = spawn(&apache, &dir, "popen");
    assert_eq!(
        kv["sigblk"], EMPTY_SET,
        "blocked signals in the child: {kv:?}"
    );
    assert_default_dispositions(&kv);
    assert_eq!(kv["returncode"], "-15", "terminate() must kill it: {kv:?}");
    // The daemon still stops on SIGTERM (the guard's stop checks that no
    // process is left behind).
}
per_mpm!(
    daemon_popen_child_dies_on_terminate,
    daemon_child_gets_default_mask
);

/// A process the application forks (no exec) keeps the daemon's handlers:
/// there SIGTERM takes its default action (the child dies by it) instead of
/// waking the daemon, which keeps serving. Main interpreter: Python 3.11
/// does not support `os.fork` from a sub-interpreter (its child may exit
/// on its own).
#[test]
fn daemon_forked_child_dies_on_sigterm_and_the_daemon_keeps_serving() {
    ours_only!("mod_wsgi's handler exits with status 255 in a forked child");
    let (b, dir) = builder(Mpm::Event);
    let apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess spawner processes=1 threads=2")
        .server("WSGIProcessGroup spawner")
        .server("WSGIApplicationGroup %{GLOBAL}")
        .start();
    let kv = spawn(&apache, &dir, "fork");
    assert_eq!(
        kv["returncode"], "-15",
        "SIGTERM must kill the fork: {kv:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let again = spawn(&apache, &dir, "popen");
    assert_eq!(again["server"], kv["server"], "the daemon must not stop");
    let log = apache.error_log();
    assert!(log.contains("[WSGIRS0411]"), "{log}");
    assert!(
        !log.contains("[WSGIRS0412]"),
        "the daemon must not stop: {log}"
    );
}

/// Embedded mode: under event and worker, Apache's child blocks every
/// asynchronous signal in its threads (`apr_setup_signal_thread`) and the
/// child inherits that mask: `terminate()` does nothing (documented in
/// docs/differences.md, not changed: unblocking them in a worker thread
/// would let Apache's SIGTERM land there instead of in the child's
/// `sigwait` thread). Prefork blocks nothing but ignores SIGINT in its children
/// (kept through exec). Under every MPM the documented workaround,
/// `os.posix_spawn(..., setsigmask=(), setsigdef=(SIGINT, SIGPIPE,
/// SIGXFSZ))`, gives an empty mask and default dispositions.
fn embedded_child_mask(mpm: Mpm) {
    let (b, dir) = builder(mpm);
    let apache = b.start();
    let kv = spawn(&apache, &dir, "popen");
    if mpm == Mpm::Prefork {
        assert!(has(&kv["sigign"], libc::SIGINT), "{kv:?}");
        assert_default_dispositions_but(&kv, libc::SIGINT);
        assert_eq!(
            kv["sigblk"], EMPTY_SET,
            "blocked signals in the child: {kv:?}"
        );
        assert_eq!(kv["returncode"], "-15", "terminate() must kill it: {kv:?}");
    } else {
        assert_default_dispositions(&kv);
        assert!(has(&kv["sigblk"], libc::SIGTERM), "{kv:?}");
        assert_eq!(kv["returncode"], "timeout", "{kv:?}");
    }
    let kv = spawn(&apache, &dir, "posix_spawn");
    assert_eq!(
        kv["sigblk"], EMPTY_SET,
        "blocked signals in the child: {kv:?}"
    );
    assert_default_dispositions(&kv);
    assert_eq!(kv["returncode"], "-15", "SIGTERM must kill it: {kv:?}");
}
per_mpm!(embedded_child_mask_and_workaround, embedded_child_mask);
