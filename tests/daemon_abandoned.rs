//! Overload: a request the Apache child gave up on while it waited in a
//! busy group's listen backlog is not run by the daemon that accepts it
//! later. Here the child gives up through `socket-timeout` (no response
//! head within 2 s: 504) with no `queue-timeout` set, so nothing but the
//! daemon's check that the child still waits (its end of the connection is
//! shut) keeps the application from running for a client already answered.
//! (`queue-timeout`'s own refusal is `daemon_queue_timeout.rs`; an
//! application already running sees a client that went away as an OSError
//! from `write()` or `wsgi.input.read()`: `daemon_faults.rs`.)

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::*;

/// Streams a byte every 0.5 s for ?seconds, so its own relay never waits
/// socket-timeout for a frame while it keeps the group's only thread busy.
const DRIP_APP: &str = r#"
import time
from urllib.parse import parse_qs

def application(environ, start_response):
    seconds = float(parse_qs(environ.get("QUERY_STRING", "")).get("seconds", ["0"])[0])
    start_response("200 OK", [("Content-Type", "text/plain")])
    def body():
        end = time.time() + seconds
        while time.time() < end:
            yield b"."
            time.sleep(0.5)
        yield b"done\n"
    return body()
"#;

fn abandoned_check(mpm: Mpm) {
    let b = Apache::builder(mpm).with_socket_prefix();
    let drip = b.write_app("drip/drip.wsgi", DRIP_APP);
    let marker_app = b.app("marker.wsgi");
    let marks = b.root().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = marks.join("ran");
    let apache = b
        .server("WSGIDaemonProcess a processes=1 threads=1 socket-timeout=2")
        .server(format!("SetEnv MARKER_FILE {}", marker.display()))
        .server(format!(
            "WSGIScriptAlias /drip \"{}\" process-group=a",
            drip.display()
        ))
        .server(format!(
            "WSGIScriptAlias /mark \"{}\" process-group=a",
            marker_app.display()
        ))
        .start();
    let r = apache.get("/drip?seconds=0");
    assert_eq!(r.status, 200, "{}", apache.error_log());
    let busy = {
        let c = apache.client();
        std::thread::spawn(move || c.get("/drip?seconds=6"))
    };
    std::thread::sleep(Duration::from_millis(500));
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let c = apache.client();
            std::thread::spawn(move || {
                let t = Instant::now();
                (c.get("/mark"), t.elapsed())
            })
        })
        .collect();
    for q in queued {
        let (r, took) = q.join().unwrap();
        assert_eq!(r.status, 504, "{r:?}\n{}", apache.error_log());
        assert!(took < Duration::from_millis(5000), "504 after {took:?}");
    }
    let r = busy.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().ends_with("done\n"), "{r:?}");
    // The daemon takes the two abandoned connections after the busy
    // request and runs nothing for them.
    if !is_reference() {
        let deadline = Instant::now() + Duration::from_secs(10);
        while apache.error_log().matches("[WSGIRS0475]").count() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = apache.error_log();
        assert_eq!(
            log.matches("[WSGIRS0475]").count(),
            2,
            "the daemon must log each abandoned request:\n{log}"
        );
        assert!(log.contains("Request '/mark' was abandoned"), "{log}");
    } else {
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(
        !marker.exists(),
        "the application ran for a request the Apache child had answered with 504"
    );
    // Service goes on: the next request runs the application.
    let r = apache.get("/mark");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}

per_mpm!(abandoned_queued_requests_never_run_the_app, abandoned_check);
