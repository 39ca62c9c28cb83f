//! A daemon process survives a panic in one of its worker threads, and the
//! per-process settings reach daemon processes as they reach Apache
//! children, against a real Apache:
//! - a panic injected into a daemon worker (debug builds,
//!   `SetEnv MOD_WSGI_RS_TEST_PANIC daemon`) gives the client a 500 and the
//!   log line WSGIRS0417 with the panic message; the same daemon process,
//!   whose only worker thread panicked, keeps serving; and the request counts
//!   as finished, so inactivity-timeout still recycles the idle daemon
//!   (every MPM);
//! - `WSGICaseSensitivity Off` lowercases the script path for the module
//!   name in a daemon process exactly as in an Apache child, and On keeps it.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;

fn pid_of(r: &Response) -> i32 {
    parse_kv(&r.text())["pid"].parse().unwrap()
}

fn panic_then_serve(mpm: Mpm) {
    ours_only!("fault injection is a mod_wsgi-rs debug-build feature");
    let b = Apache::builder(mpm).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    // One worker thread: if the panic ended it, nothing would serve the
    // next requests (they would wait for socket-timeout and get 504).
    let apache = b
        .log_level("warn wsgi:info")
        .allow_log(r"\[WSGIRS0417\]")
        .server("WSGIDaemonProcess p processes=1 threads=1 inactivity-timeout=2 socket-timeout=5")
        .server("WSGIProcessGroup p")
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .server(format!("WSGIScriptAlias /panic \"{}\"", info.display()))
        .server("<Location /panic>\n    SetEnv MOD_WSGI_RS_TEST_PANIC daemon\n</Location>")
        .start();
    let r = apache.get("/info");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let pid = pid_of(&r);

    let r = apache.get("/panic");
    assert_eq!(r.status, 500, "a panic must give 500: {r:?}");
    assert!(
        apache.wait_for_log("[WSGIRS0417]", Duration::from_secs(5)),
        "panic not logged:\n{}",
        apache.error_log()
    );
    let log = apache.error_log();
    let line = log
        .lines()
        .find(|l| l.contains("[WSGIRS0417]"))
        .unwrap_or_default();
    assert!(
        line.contains("fault injected by MOD_WSGI_RS_TEST_PANIC")
            && line.contains(&pid.to_string()),
        "the line must name the daemon and carry the panic message: {line}"
    );

    for i in 0..3 {
        let t = Instant::now();
        let r = apache.get("/info");
        assert_eq!(r.status, 200, "request {i} after the panic: {r:?}");
        assert_eq!(pid_of(&r), pid, "the same daemon process must keep serving");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
    }

    // Idle for longer than inactivity-timeout: the panicked request counted
    // as finished, so the daemon is recycled.
    std::thread::sleep(Duration::from_millis(4500));
    let r = apache.get("/info");
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(
        pid_of(&r),
        pid,
        "the idle daemon must have been restarted by inactivity-timeout:\n{}",
        apache.error_log()
    );
    assert!(
        apache
            .error_log()
            .contains("stopping (inactivity-timeout reached)")
    );
}
per_mpm!(daemon_worker_panic, panic_then_serve);

fn md5_module_name(path: &str) -> String {
    use md5::{Digest, Md5};
    let d = Md5::digest(path.as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("_mod_wsgi_{hex}")
}

/// WSGICaseSensitivity in a daemon process: On (default) keeps the script
/// path as it is for the module name; Off lowercases it, as in embedded
/// mode (tests/wsgi_directives.rs `case_sensitivity`).
#[test]
fn case_sensitivity_in_daemon() {
    for on in [true, false] {
        let b = Apache::builder(Mpm::Event).with_socket_prefix();
        let app = b.app("callable.wsgi");
        let group = b.app("app_group.wsgi");
        let mixed = b.root().join("apps/MixedCase.wsgi");
        std::fs::copy(&app, &mixed).unwrap();
        let mut b = b
            .server("WSGIDaemonProcess cs processes=1 threads=2")
            .server("WSGIProcessGroup cs")
            .server(format!("WSGIScriptAlias /Mod \"{}\"", mixed.display()))
            .server(format!("WSGIScriptAlias /Group \"{}\"", group.display()));
        if !on {
            b = b.global("WSGICaseSensitivity Off");
        }
        let apache = b.start();
        let r = apache.get("/Mod");
        assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
        let kv = parse_kv(&r.text());
        let path = mixed.to_str().unwrap();
        let expected = if on {
            md5_module_name(path)
        } else {
            md5_module_name(&path.to_lowercase())
        };
        // mod_wsgi 4.9 had this check inverted (fixed in 6.0, commit 1cf304d).
        if !is_reference() {
            assert_eq!(
                kv["name"], expected,
                "module name in the daemon, case sensitivity {on}"
            );
        }
        let kv = parse_kv(&apache.get("/Group").text());
        let port = apache.port();
        let resource = if on { "/Group" } else { "/group" };
        assert_eq!(
            kv["environ_group"],
            format!("127.0.0.1:{port}|{resource}"),
            "%{{RESOURCE}}, case sensitivity {on}"
        );
        assert_eq!(kv["process_group"], "cs");
    }
}
