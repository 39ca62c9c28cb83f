//! Daemon-mode access control and configuration errors against a real
//! Apache: the daemon socket belongs to the Apache user with no group or
//! other access, another local user cannot connect, a forged connection
//! (wrong secret, or a peer that is not the Apache user) is refused before
//! any Python runs; bad WSGIDaemonProcess options fail `apache2 -t` naming
//! key and value; an unknown process group is a 500 with a clear log line;
//! `Expect: 100-continue` is answered only when the application reads.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::*;

fn www_data() -> (u32, u32) {
    let u = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

#[test]
fn socket_is_private_and_forged_connections_run_nothing() {
    ours_only!("WSGP authentication");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("marker.wsgi");
    let marks = b.root().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = marks.join("ran");
    let apache = b
        .server("WSGIDaemonProcess sec processes=1 threads=2")
        .server(format!("SetEnv MARKER_FILE {}", marker.display()))
        .server(format!(
            "WSGIScriptAlias /m \"{}\" process-group=sec",
            app.display()
        ))
        .start();
    let sock = socket_of(apache.root());
    let meta = std::fs::metadata(&sock).unwrap();
    let (www_uid, www_gid) = www_data();
    assert_eq!(meta.uid(), www_uid, "socket owned by the Apache user");
    assert_eq!(
        meta.mode() & 0o077,
        0,
        "no group/other access: {:o}",
        meta.mode()
    );

    // Another local user cannot even connect.
    let other = other_uid();
    let got = forge(&sock, "sec", None, Some(&app), (other, other));
    assert!(got.starts_with("connect-error 13"), "{got}");
    // The Apache user with a wrong secret is refused (REJECT = 0x82 = 130).
    let got = forge(&sock, "sec", None, Some(&app), (www_uid, www_gid));
    assert_eq!(got, "frame 130", "wrong secret must be rejected");
    // Root may connect, but is not the Apache user: refused too.
    let got = forge(&sock, "sec", None, Some(&app), (0, 0));
    assert_eq!(got, "frame 130", "peer uid must be checked");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !marker.exists(),
        "no Python may run for a forged connection"
    );
    assert!(apache.error_log().contains("[WSGIRS0420]"));

    // Control: a real request through Apache runs the app.
    let r = apache.get("/m");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");
}

#[test]
fn bad_daemon_options_fail_config_test() {
    ours_only!("our messages");
    let cases: &[(&str, &[&str])] = &[
        ("WSGIDaemonProcess g bogus=1", &["unknown option 'bogus'"]),
        (
            "WSGIDaemonProcess g threads=many",
            &["invalid value 'many' for option 'threads'", "expected"],
        ),
        ("WSGIDaemonProcess g user=root", &["must not run as root"]),
        (
            "WSGIDaemonProcess g chroot=jail",
            &["Invalid chroot directory for WSGI daemon process."],
        ),
        (
            "WSGIDaemonProcess g user=no-such-user-xyz",
            &[
                "invalid value 'no-such-user-xyz' for option 'user'",
                "no such user",
            ],
        ),
        (
            "WSGIDaemonProcess g socket-user=no-such-user-xyz",
            &[
                "invalid value 'no-such-user-xyz' for option 'socket-user'",
                "no such user",
            ],
        ),
        (
            "WSGIDaemonProcess g newrelic-config-file=/etc/nr.ini",
            &[
                "Invalid option to WSGI daemon process definition",
                "'newrelic-config-file' was removed in mod_wsgi 6.0",
            ],
        ),
        (
            "WSGIDaemonProcess g newrelic-environment=prod",
            &["'newrelic-environment' was removed in mod_wsgi 6.0"],
        ),
        (
            "WSGIDaemonProcess g\nWSGIDaemonProcess g",
            &["duplicates a previous WSGIDaemonProcess"],
        ),
        (
            "WSGISocketRotation maybe",
            &["WSGISocketRotation must be one of"],
        ),
    ];
    for (snippet, needles) in cases {
        let b = Apache::builder(Mpm::Event);
        let mut b2 = b;
        for line in snippet.lines() {
            b2 = b2.server(line);
        }
        let ct = b2.config_test();
        assert!(!ct.ok(), "{snippet:?} must fail apache2 -t:\n{}", ct.output);
        for n in *needles {
            assert!(
                ct.output.contains(n),
                "{snippet:?}: missing {n:?} in:\n{}",
                ct.output
            );
        }
    }
    // Control: a valid definition passes.
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess g processes=2 threads=4 display-name=%{GROUP}")
        .config_test();
    assert!(ct.ok(), "{}", ct.output);
}

#[test]
fn same_name_in_two_virtual_hosts_fails_start() {
    ours_only!("our messages");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let err = match b
        .server("WSGIDaemonProcess dup")
        .server(
            "<VirtualHost *:*>\nServerName other.invalid\nWSGIDaemonProcess dup\n</VirtualHost>",
        )
        .allow_log(r"WSGIRS0401")
        .try_start()
    {
        Ok(_) => panic!("a duplicate group name must stop the start"),
        Err(e) => e,
    };
    assert!(err.error_log.contains("[WSGIRS0401]"), "{}", err.error_log);
}

#[test]
fn unknown_group_is_500() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess known")
        .server(format!(
            "WSGIScriptAlias /x \"{}\" process-group=unknown",
            app.display()
        ))
        .start();
    let r = apache.get("/x");
    assert_eq!(r.status, 500);
    assert!(
        apache
            .error_log()
            .contains("[WSGIRS0430] No WSGI daemon process called 'unknown' has been configured"),
        "{}",
        apache.error_log()
    );
}

/// Sends a POST with `Expect: 100-continue` and no body yet; returns what
/// arrives within `wait`.
fn expect_exchange(port: u16, path: &str, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).unwrap();
    let mut first = String::from_utf8_lossy(&first[..n]).into_owned();
    let mut rest = Vec::new();
    if first.starts_with("HTTP/1.1 100") {
        s.write_all(body).unwrap();
        s.read_to_end(&mut rest).unwrap();
    } else {
        s.read_to_end(&mut rest).unwrap();
        first.push_str(&String::from_utf8_lossy(&rest));
        rest.clear();
    }
    (first, String::from_utf8_lossy(&rest).into_owned())
}

fn expect_continue(mpm: Mpm) {
    ours_only!("mod_wsgi forwards the body eagerly, so it always sends 100 Continue");
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.app("expect.wsgi");
    let apache = b
        .server("WSGIDaemonProcess ex threads=2")
        .server(format!(
            "WSGIScriptAlias /e \"{}\" process-group=ex",
            app.display()
        ))
        .start();
    let (first, rest) = expect_exchange(apache.port(), "/e/read", &[b'x'; 3000]);
    assert!(first.starts_with("HTTP/1.1 100 Continue"), "{first:?}");
    assert!(rest.contains("read 3000"), "{rest:?}");
    let (first, _) = expect_exchange(apache.port(), "/e/ignore", &[b'x'; 3000]);
    assert!(
        first.starts_with("HTTP/1.1 200"),
        "no 100 Continue when the app does not read: {first:?}"
    );
    assert!(first.contains("not read"), "{first:?}");
}
per_mpm!(expect_100_only_when_app_reads, expect_continue);

#[test]
fn restrict_process_limits_selectable_groups() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess allowed threads=1")
        .server("WSGIDaemonProcess other threads=1")
        .server(format!(
            "WSGIScriptAlias /ok \"{}\" process-group=allowed",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /no \"{}\" process-group=other",
            app.display()
        ))
        .server(format!("WSGIScriptAlias /emb \"{}\"", app.display()))
        .server("<Location />\nWSGIRestrictProcess allowed\n</Location>")
        .start();
    assert_eq!(apache.get("/ok").status, 200, "{}", apache.error_log());
    assert_eq!(apache.get("/no").status, 500);
    assert_eq!(apache.get("/emb").status, 500, "%{{GLOBAL}} not listed");
    assert!(
        apache
            .error_log()
            .contains("[WSGIRS0439] Daemon process called 'other'")
    );
}

#[test]
fn group_in_virtual_host_is_scoped_to_its_server_name() {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("daemon_info.wsgi");
    let a = app.display().to_string();
    let apache = b
        .server(format!(
            "<VirtualHost *:*>\nServerName first.invalid\nWSGIScriptAlias /x \"{a}\" process-group=scoped\n</VirtualHost>"
        ))
        .server(format!(
            "<VirtualHost *:*>\nServerName other.invalid\nWSGIDaemonProcess scoped threads=1\nWSGIScriptAlias /x \"{a}\" process-group=scoped\n</VirtualHost>"
        ))
        .start();
    let get = |host: &str| {
        apache
            .client()
            .send(&Request::new("GET", "/x").header("Host", host))
            .unwrap()
    };
    let r = get("other.invalid");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(parse_kv(&r.text())["env_group"], "scoped");
    let r = get("first.invalid");
    assert_eq!(r.status, 500, "{r:?}");
    assert!(
        apache.error_log().contains("[WSGIRS0431]"),
        "{}",
        apache.error_log()
    );
}

/// A `WSGISocketPrefix` directory other users can write (sticky bit or not)
/// fails `apache2 -t` naming the directive, the directory and its mode; a
/// relative prefix is taken under ServerRoot; a private directory passes.
#[test]
fn socket_directory_others_can_write_fails_config_test() {
    ours_only!("our check");
    for (mode, ok) in [(0o777, false), (0o1777, false), (0o755, true)] {
        let b = Apache::builder(Mpm::Event);
        let dir = b.root().join("socks");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let ct = b
            .server("WSGISocketPrefix socks/wsgi")
            .server("WSGIDaemonProcess g processes=1 threads=1")
            .config_test();
        assert_eq!(ct.ok(), ok, "mode {mode:o}:\n{}", ct.output);
        if !ok {
            let expected = format!(
                "'{}', can be written by other users (mode {mode:04o})",
                dir.display()
            );
            assert!(
                ct.output.contains("WSGISocketPrefix") && ct.output.contains(&expected),
                "{}",
                ct.output
            );
        }
    }
}
