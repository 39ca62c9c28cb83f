//! Who listens on a daemon group's socket, against a real Apache: an Apache
//! child checks the listener's `SO_PEERCRED` uid before it sends anything
//! (the group's secret first of all), so a listener planted at the socket
//! path by someone else (here root, which is never a daemon's uid) gets no
//! byte and the request is a 503 logged as WSGIRS0451; a symlink planted
//! where a socket is to be created is removed (WSGIRS0452), never followed.

#[macro_use]
mod common;

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
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
    assert!(log.contains("WSGIRS0451"), "{log}");
    assert!(log.contains(&sock.display().to_string()), "{log}");
    assert!(
        log.contains(&format!("found pid {}, uid 0", std::process::id())),
        "{log}"
    );
}

#[test]
fn a_symlink_at_the_next_socket_path_is_not_followed() {
    ours_only!("socket creation that never follows a symlink");
    let other = other_uid();
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess trust processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /h \"{}\" process-group=trust",
            app.display()
        ))
        .start();
    // wsgi.<pid>.<generation>.<id>.sock: plant a symlink where the next
    // generation's socket will be created, to a file of another user.
    let sock = socket_of(apache.root());
    let name = sock.file_name().unwrap().to_string_lossy().into_owned();
    let parts: Vec<&str> = name.split('.').collect();
    let next_gen: u32 = parts[2].parse::<u32>().unwrap() + 1;
    let next = sock.with_file_name(format!(
        "{}.{}.{next_gen}.{}.sock",
        parts[0], parts[1], parts[3]
    ));
    let target = apache.root().join("victim");
    std::fs::write(&target, "x").unwrap();
    std::os::unix::fs::chown(&target, Some(other), Some(other)).unwrap();
    std::os::unix::fs::symlink(&target, &next).unwrap();

    apache.graceful();
    assert!(
        apache.wait_for_log("WSGIRS0452", Duration::from_secs(10)),
        "{}",
        apache.error_log()
    );
    let log = apache.error_log();
    assert!(log.contains(&next.display().to_string()), "{log}");
    assert!(log.contains("symlink"), "{log}");
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(meta.uid(), other, "the symlink's target was chowned");
    let created = std::fs::symlink_metadata(&next).unwrap();
    assert!(created.file_type().is_socket(), "{created:?}");
    assert_eq!(apache.get("/h").status, 200);
}
