//! `WSGIDaemonProcess socket-user=` against a real Apache: the group's
//! listening socket is owned by that user (still 0600) instead of the Apache
//! user, and the daemon's peer-uid check follows it. As in mod_wsgi, Apache
//! children running as the Apache user then cannot connect (the option is
//! for MPMs such as ITK whose children run as another user), so a request
//! through this Apache fails rather than reaching the daemon.

#[macro_use]
mod common;

use std::os::unix::fs::MetadataExt;

use common::*;

#[test]
fn socket_user_owns_the_socket_and_is_the_accepted_peer() {
    ours_only!("socket ownership and WSGP peer check");
    let other = other_uid();
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("hello.wsgi");
    let apache = b
        .server(format!(
            "WSGIDaemonProcess su processes=1 threads=2 socket-user={OTHER_USER}"
        ))
        .server(format!(
            "WSGIScriptAlias /h \"{}\" process-group=su",
            app.display()
        ))
        .start();
    let sock = socket_of(apache.root());
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(meta.uid(), other, "socket owned by socket-user");
    assert_eq!(meta.mode() & 0o077, 0, "still private: {:o}", meta.mode());

    // The socket user gets through the peer check (only its token is wrong:
    // REJECT = 0x82 = 130, logged as a token failure, not a uid one).
    assert_eq!(forge(&sock, "su", None, None, (other, other)), "frame 130");
    let www = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    let www_uid = www.uid.as_raw();
    // The Apache user can no longer connect at all.
    let got = forge(&sock, "su", None, None, (www_uid, www_uid));
    assert!(got.starts_with("connect-error 13"), "{got}");
    let log = apache.error_log();
    assert!(log.contains("wrong authentication token"), "{log}");
    assert!(!log.contains(&format!("peer uid {other} ")), "{log}");

    // So a request from an Apache child (the Apache user) fails, as mod_wsgi.
    let r = apache.get("/h");
    assert!(r.status >= 500, "{r:?}");
}

#[test]
fn socket_user_by_uid_is_accepted() {
    ours_only!("our configtest");
    let other = other_uid();
    let ct = Apache::builder(Mpm::Event)
        .server(format!("WSGIDaemonProcess g socket-user=#{other}"))
        .config_test();
    assert!(ct.ok(), "{}", ct.output);
}
