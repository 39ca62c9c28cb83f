//! Process lifecycle: graceful restarts (SIGUSR1) under a steady stream of
//! requests lose nothing under every MPM, a full stop leaves no process
//! behind, the built module exports nothing but `wsgi_module`, and the
//! harness's own post-mortem checks (fatal log lines, leftover processes)
//! really fail when they should.

#[macro_use]
mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;

fn hello_server(mpm: Mpm) -> Apache {
    let b = Apache::builder(mpm);
    let app = b.app("hello.wsgi");
    b.server(format!("WSGIScriptAlias / \"{}\"", app.display()))
        .start()
}

// ---------------------------------------------------------------------------
// graceful restarts under load
// ---------------------------------------------------------------------------

fn graceful_restarts_lose_nothing(mpm: Mpm) {
    let mut apache = hello_server(mpm);
    assert_eq!(apache.get("/").status, 200);
    let client = apache.client();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let load = std::thread::spawn(move || {
        let mut ok = 0usize;
        let mut bad = Vec::new();
        while !stop2.load(Ordering::SeqCst) {
            match client.send(&Request::new("GET", "/")) {
                Ok(r) if r.status == 200 && r.text() == "Hello from a WSGI test app\n" => ok += 1,
                Ok(r) => bad.push(format!("status {} body {:?}", r.status, r.text())),
                Err(e) => bad.push(format!("I/O error: {e}")),
            }
        }
        (ok, bad)
    });
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(150));
        // Returns once the new generation has logged and has new children.
        apache.graceful();
    }
    std::thread::sleep(Duration::from_millis(150));
    stop.store(true, Ordering::SeqCst);
    let (ok, bad) = load.join().unwrap();
    assert!(
        bad.is_empty(),
        "{} failed requests across graceful restarts: {bad:?}",
        bad.len()
    );
    assert!(ok >= 20, "the load thread made only {ok} requests");
    let conf = apache.conf().to_string_lossy().into_owned();
    apache
        .stop()
        .expect("post-mortem check after graceful restarts");
    assert!(processes_mentioning(&conf).is_empty());
}
per_mpm!(graceful_restarts, graceful_restarts_lose_nothing);

// ---------------------------------------------------------------------------
// full stop
// ---------------------------------------------------------------------------

fn stop_leaves_no_processes(mpm: Mpm) {
    let mut apache = hello_server(mpm);
    let client = apache.client();
    for r in concurrently(6, move |_| client.get("/")) {
        assert_eq!(r.status, 200, "{r:?}");
    }
    let children = apache.pids_of_children();
    assert!(!children.is_empty(), "Apache has no children?");
    let all = apache.pids_of_server();
    assert!(
        all.contains(&apache.pid()),
        "parent {} not among {all:?}",
        apache.pid()
    );
    let conf = apache.conf().to_string_lossy().into_owned();
    apache.stop().expect("clean stop");
    let left = processes_mentioning(&conf);
    assert!(left.is_empty(), "processes left after stop: {left:?}");
    for pid in all {
        assert!(
            !pid_alive(pid) || !processes_mentioning(&conf).contains(&pid),
            "pid {pid} survived the stop"
        );
    }
}
per_mpm!(full_stop, stop_leaves_no_processes);

// ---------------------------------------------------------------------------
// WSGIDestroyInterpreter: atexit handlers run at child exit only when On
// ---------------------------------------------------------------------------

const ATEXIT_APP: &str = r#"
import atexit, os, mod_wsgi

MARK_DIR = os.path.join(os.path.dirname(__file__), "marks")

def _mark():
    name = "%s-%d" % (mod_wsgi.application_group.replace("/", "_").replace("|", "_") or "GLOBAL", os.getpid())
    with open(os.path.join(MARK_DIR, name), "w") as f:
        f.write("atexit ran\n")

atexit.register(_mark)

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
"#;

fn atexit_marks(destroy: &str) -> Vec<String> {
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("atexit.wsgi", ATEXIT_APP);
    let marks = app.parent().unwrap().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    // Apache's children (www-data) write the marks.
    std::fs::set_permissions(&marks, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut apache = b
        .global(format!("WSGIDestroyInterpreter {destroy}"))
        .server(format!(
            "WSGIScriptAlias /main \"{}\" application-group=%{{GLOBAL}}",
            app.display()
        ))
        .server(format!("WSGIScriptAlias /sub \"{}\"", app.display()))
        .start();
    for path in ["/main", "/sub"] {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    apache.stop().expect("clean stop");
    let mut names: Vec<String> = std::fs::read_dir(&marks)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn destroy_interpreter_on_runs_atexit_in_every_interpreter() {
    ours_only!("mod_wsgi 4.9.4 hangs at exit under threaded MPMs with destruction on");
    let marks = atexit_marks("On");
    assert!(
        marks.iter().any(|m| m.starts_with("GLOBAL-")),
        "main interpreter atexit did not run: {marks:?}"
    );
    assert!(
        marks.iter().any(|m| m.contains("_sub")),
        "sub-interpreter atexit did not run: {marks:?}"
    );
}

#[test]
fn destroy_interpreter_off_skips_finalisation() {
    let marks = atexit_marks("Off");
    assert!(
        marks.is_empty(),
        "atexit must not run with WSGIDestroyInterpreter Off: {marks:?}"
    );
}

// ---------------------------------------------------------------------------
// exported symbols
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// the harness's own checks can fail
// ---------------------------------------------------------------------------

const LOGS_FATAL: &str = "import sys\n\
def application(environ, start_response):\n    \
    sys.stderr.write('harness self-test: thread panicked at nothing\\n')\n    \
    sys.stderr.flush()\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'logged']\n";

#[test]
fn harness_detects_fatal_log_lines() {
    let b = Apache::builder(Mpm::Prefork);
    let app = b.write_app("logs_fatal.wsgi", LOGS_FATAL);
    let mut apache = b
        .server(format!("WSGIScriptAlias / \"{}\"", app.display()))
        .start();
    assert_eq!(apache.get("/").status, 200);
    assert!(apache.wait_for_log("harness self-test", Duration::from_secs(5)));
    let err = apache
        .stop()
        .expect_err("a 'panicked' line must fail the post-mortem");
    assert!(err.contains("harness self-test: thread panicked"), "{err}");
    // This failure was the point: let Drop clean up quietly.
    apache.disarm();
}

#[test]
fn harness_allow_list_accepts_expected_lines() {
    let b = Apache::builder(Mpm::Prefork);
    let app = b.write_app("logs_fatal.wsgi", LOGS_FATAL);
    let mut apache = b
        .server(format!("WSGIScriptAlias / \"{}\"", app.display()))
        .allow_log(r"harness self-test: thread panicked")
        .start();
    assert_eq!(apache.get("/").status, 200);
    assert!(apache.wait_for_log("harness self-test", Duration::from_secs(5)));
    apache.stop().expect("allowed line must not fail the check");
}

#[test]
fn harness_detects_leftover_processes() {
    let mut apache = hello_server(Mpm::Event);
    let conf = apache.conf().to_string_lossy().into_owned();
    // A process that names this server's config and outlives Apache.
    let mut straggler = Command::new("/bin/sh")
        .args(["-c", "sleep 60", &conf])
        .spawn()
        .expect("spawn sh");
    let err = apache
        .stop()
        .expect_err("a leftover process must fail the check");
    assert!(err.contains("processes left after stop"), "{err}");
    // The harness SIGKILLed it by PID.
    let status = straggler.wait().unwrap();
    assert!(
        !status.success(),
        "straggler should have been killed: {status:?}"
    );
    apache.disarm();
}
