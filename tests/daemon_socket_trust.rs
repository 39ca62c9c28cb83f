//! Who listens on a daemon group's socket, against a real Apache: an Apache
//! child checks the listener's `SO_PEERCRED` uid before it sends anything
//! (the group's secret first of all), so a listener planted at the socket
//! path by someone else (here root, which is never a daemon's uid) gets no
//! byte and the request is a 503 logged as WSGIRS0450.

#[macro_use]
mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::time::Duration;

use common::*;

#[test]
fn a_planted_listener_gets_nothing() {
    ours_only!("the Apache child's listener check");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess trust processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /h \"{}\" process-group=trust",
            app.display()
        ))
        .start();
    assert_eq!(apache.get("/h").status, 200, "the real daemon answers");

    // Replace the daemon's socket with one of our own (root), open to all
    // so that the Apache child (www-data) can connect.
    let sock = socket_of(apache.root());
    std::fs::remove_file(&sock).unwrap();
    let planted = UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
    let received = std::thread::spawn(move || {
        let (mut c, _) = planted.accept().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        got.len()
    });

    let r = apache.get("/h");
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(
        received.join().unwrap(),
        0,
        "the planted listener got bytes"
    );
    let log = apache.error_log();
    assert!(log.contains("WSGIRS0450"), "{log}");
    assert!(log.contains(&sock.display().to_string()), "{log}");
    assert!(
        log.contains(&format!("found pid {}, uid 0", std::process::id())),
        "{log}"
    );
}
