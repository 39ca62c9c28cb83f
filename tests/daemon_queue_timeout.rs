//! `WSGIDaemonProcess queue-timeout=` against a real Apache, as mod_wsgi:
//! with the group's only worker busy, requests that wait longer than the
//! queue timeout get 504 ("Queue timeout expired for WSGI daemon process")
//! without the application running for them, in about the queue timeout
//! (not when the busy worker frees up), and the group serves again after.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::*;

fn queue_timeout_check(mpm: Mpm) {
    ours_only!("WSGIRS0464 log lines");
    let b = Apache::builder(mpm).with_socket_prefix();
    let sleep = b.app("sleep.wsgi");
    let marker_app = b.app("marker.wsgi");
    let marks = b.root().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = marks.join("ran");
    let apache = b
        .server("WSGIDaemonProcess q processes=1 threads=1 queue-timeout=2")
        .server(format!("SetEnv MARKER_FILE {}", marker.display()))
        .server(format!(
            "WSGIScriptAlias /sleep \"{}\" process-group=q",
            sleep.display()
        ))
        .server(format!(
            "WSGIScriptAlias /mark \"{}\" process-group=q",
            marker_app.display()
        ))
        .start();
    assert_eq!(
        apache.get("/sleep?seconds=0").status,
        200,
        "{}",
        apache.error_log()
    );
    let busy = {
        let c = apache.client();
        std::thread::spawn(move || c.get("/sleep?seconds=7"))
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
        // About the queue timeout (2 s), well before the busy worker is free (7 s).
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_millis(5500),
            "504 after {took:?}"
        );
    }
    let r = busy.join().unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    // The daemon takes the two abandoned connections after the busy
    // request and refuses them without running the application.
    let deadline = Instant::now() + Duration::from_secs(10);
    while apache.error_log().matches("[WSGIRS0464]").count() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = apache.error_log();
    assert_eq!(
        log.matches("Queue timeout expired for WSGI daemon process 'q'.")
            .count(),
        4,
        "two from the Apache child, two from the daemon:\n{log}"
    );
    assert!(
        !marker.exists(),
        "the application ran for a timed-out request"
    );
    let r = apache.get("/mark");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}

per_mpm!(
    queue_timeout_gives_504_without_running_the_app,
    queue_timeout_check
);

/// The option is checked like mod_wsgi's other timeouts at configtest.
#[test]
fn queue_timeout_value_is_checked() {
    ours_only!("our messages");
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess q queue-timeout=soon")
        .config_test();
    assert!(!ct.ok());
    assert!(
        ct.output
            .contains("invalid value 'soon' for option 'queue-timeout'"),
        "{}",
        ct.output
    );
}
