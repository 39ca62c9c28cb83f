//! Preloading in daemon mode against a real Apache: `WSGIImportScript` with
//! `process-group=<daemon group>` runs in that group's daemons at start, and a
//! `WSGIScriptAlias` with static `process-group` and `application-group` has
//! its script loaded there before any request (as mod_wsgi), so the first
//! request finds the module already loaded.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;

const APP: &str = r#"
import os, sys, time
LOADED = (os.getpid(), time.time())
print("alias-preloaded pid=%d" % os.getpid(), file=sys.stderr)


def application(environ, start_response):
    body = "loaded_pid=%d\nloaded_at=%f\nnow=%f\npid=%d\n" % (
        LOADED[0], LOADED[1], time.time(), os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

const IMPORT: &str = r#"
import os, sys
import mod_wsgi
print("import-preloaded pid=%d group=%s pg=%s" % (
    os.getpid(), mod_wsgi.application_group or "GLOBAL", mod_wsgi.process_group),
    file=sys.stderr)
"#;

fn pid_after(log: &str, needle: &str) -> Vec<i32> {
    log.lines()
        .filter_map(|l| l.split(needle).nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

fn preload(mpm: Mpm) {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("preload_app.wsgi", APP);
    let imp = b.write_app("preload_import.py", IMPORT);
    let apache = b
        .server("WSGIDaemonProcess pre processes=1 threads=2")
        .server(format!(
            "WSGIImportScript \"{}\" process-group=pre application-group=side",
            imp.display()
        ))
        .server(format!(
            "WSGIScriptAlias /a \"{}\" process-group=pre application-group=%{{GLOBAL}}",
            app.display()
        ))
        .start();
    // Before any request: both scripts ran in the daemon.
    assert!(
        apache.wait_for_log("alias-preloaded", Duration::from_secs(10)),
        "{}",
        apache.error_log()
    );
    assert!(
        apache.wait_for_log("import-preloaded", Duration::from_secs(10)),
        "{}",
        apache.error_log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let r = apache.get("/a");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let kv = parse_kv(&r.text());
    let pid: i32 = kv["pid"].parse().unwrap();
    assert_eq!(
        kv["loaded_pid"], kv["pid"],
        "loaded in the daemon that serves"
    );
    let (at, now): (f64, f64) = (kv["loaded_at"].parse().unwrap(), kv["now"].parse().unwrap());
    assert!(
        now - at > 0.25,
        "loaded at start, not on the request: {kv:?}"
    );
    let log = apache.error_log();
    assert_eq!(
        pid_after(&log, "alias-preloaded pid="),
        vec![pid],
        "loaded once: {log}"
    );
    assert_eq!(pid_after(&log, "import-preloaded pid="), vec![pid], "{log}");
    assert!(log.contains("group=side pg=pre"), "{log}");
    assert!(
        apache.pids_of_children().contains(&pid),
        "the daemon is a child of the Apache parent"
    );
}
per_mpm!(daemon_preload_import_script_and_alias, preload);
