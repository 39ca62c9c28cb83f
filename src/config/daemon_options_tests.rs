//! Unit tests of the `WSGIDaemonProcess` option parser (`daemon_options.rs`).

use super::*;

fn p(args: &[&str]) -> Result<DaemonOptions, String> {
    parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map_err(|e| e.to_string())
}

#[test]
fn script_user_and_group() {
    let o = p(&["g", "script-user=#0"]).unwrap();
    assert_eq!(o.script_user.as_deref(), Some("root"));
    let o = p(&["g", "script-group=root"]).unwrap();
    assert_eq!(o.script_group.as_deref(), Some("root"));
    let e = p(&["g", "script-user=root", "script-group=root"]).unwrap_err();
    assert_eq!(
        e,
        "WSGIDaemonProcess g: Only one of script-user and script-group allowed."
    );
    assert!(p(&["g", "script-user=no-such-user-x"]).is_err());
}

#[test]
fn defaults_and_values() {
    let o = p(&["g"]).unwrap();
    assert_eq!((o.processes, o.threads, o.multiprocess()), (1, 15, false));
    let o = p(&[
        "g",
        "processes=1",
        "threads=3",
        "display-name=%{GROUP}",
        "umask=0027",
        "python-path=/a:/b",
        "connect-timeout=2.5",
        "user=#33",
    ])
    .unwrap();
    assert!(o.multiprocess());
    assert_eq!(o.threads, 3);
    assert_eq!(o.display_name().as_deref(), Some("(wsgi:g)"));
    assert_eq!(o.umask, Some(0o027));
    assert_eq!(o.python_path, vec!["/a", "/b"]);
    assert_eq!(o.connect_timeout, Duration::from_millis(2500));
    assert_eq!(o.user, Some(("#33".into(), 33)));
}

#[test]
fn errors_name_key_value_and_expectation() {
    let e = p(&["g", "bogus=1"]).unwrap_err();
    assert!(e.contains("unknown option 'bogus'"), "{e}");
    let e = p(&["g", "threads=x"]).unwrap_err();
    assert!(
        e.contains("WSGIDaemonProcess g: invalid value 'x' for option 'threads'"),
        "{e}"
    );
    assert!(e.contains("expected a number of threads"), "{e}");
    let e = p(&["g", "user=root"]).unwrap_err();
    assert!(e.contains("must not run as root"), "{e}");
    let e = p(&["g", "user=#0"]).unwrap_err();
    assert!(e.contains("must not run as root"), "{e}");
    let e = p(&["g", "chroot=x"]).unwrap_err();
    assert!(e.contains("Invalid chroot directory"), "{e}");
    let e = p(&["g", "newrelic-environment=x"]).unwrap_err();
    assert!(e.contains("removed in mod_wsgi 6.0"), "{e}");
    let e = p(&["g", "socket-user=no-such-user-xyz"]).unwrap_err();
    assert!(e.contains("'socket-user'"), "{e}");
    // socket-user may be root (as mod_wsgi); it defaults to the Apache user.
    let o = p(&["g", "socket-user=#0"]).unwrap();
    assert_eq!(o.socket_uid(33), 0);
    assert_eq!(p(&["g"]).unwrap().socket_uid(33), 33);
    let e = p(&["g", "processes=0"]).unwrap_err();
    assert!(e.contains("from 1 to 1000"), "{e}");
    let e = p(&["g", "threads=2", "threads=3"]).unwrap_err();
    assert!(e.contains("given twice"), "{e}");
    let e = p(&["g", "header-buffer-size=100"]).unwrap_err();
    assert!(e.contains("at least 8192"), "{e}");
    let e = p(&["g", "umask=999"]).unwrap_err();
    assert!(e.contains("octal"), "{e}");
    let e = p(&["g", "noequals"]).unwrap_err();
    assert!(e.contains("form key=value"), "{e}");
    assert!(p(&[]).is_err());
    assert!(p(&["%{GLOBAL}"]).is_err());
}

#[test]
fn timeouts_off_and_defaults() {
    assert_eq!(
        p(&["g"]).unwrap().deadlock_timeout,
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        p(&["g", "deadlock-timeout=0"]).unwrap().deadlock_timeout,
        None
    );
    let o = p(&["g", "inactivity-timeout=2.5"]).unwrap();
    assert_eq!(o.inactivity_timeout, Some(Duration::from_millis(2500)));
}

#[test]
fn response_socket_timeout_defaults_to_socket_timeout() {
    let o = p(&["g"]).unwrap();
    assert_eq!(o.client_write_timeout(), None);
    let o = p(&["g", "socket-timeout=7"]).unwrap();
    assert_eq!(o.client_write_timeout(), Some(Duration::from_secs(7)));
    let o = p(&["g", "socket-timeout=7", "response-socket-timeout=2.5"]).unwrap();
    assert_eq!(o.client_write_timeout(), Some(Duration::from_millis(2500)));
    // 0: the same as socket-timeout, as mod_wsgi.
    let o = p(&["g", "socket-timeout=7", "response-socket-timeout=0"]).unwrap();
    assert_eq!(o.response_socket_timeout, None);
    assert_eq!(o.client_write_timeout(), Some(Duration::from_secs(7)));
    let e = p(&["g", "response-socket-timeout=-1"]).unwrap_err();
    assert!(
        e.contains("invalid value '-1' for option 'response-socket-timeout'"),
        "{e}"
    );
    assert!(p(&["g", "response-socket-timeout=soon"]).is_err());
}
