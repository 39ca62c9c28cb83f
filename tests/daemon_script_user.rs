//! `WSGIDaemonProcess script-user=` / `script-group=` against a real Apache
//! (event MPM): as mod_wsgi, the Apache child sends a request to the group
//! only when the WSGI script file and its directory are owned by that user
//! (have that group) and are not writable by others; otherwise 403 with
//! mod_wsgi's log message. Both options together fail configtest.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

/// `<dir>/app.wsgi` (hello.wsgi's source), file and directory chowned to
/// `uid:gid`, the file with `mode`.
fn script_in(dir: &Path, uid: u32, gid: u32, mode: u32) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("app.wsgi");
    std::fs::copy(apps_dir().join("hello.wsgi"), &file).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for p in [dir, file.as_path()] {
        std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    }
    file
}

#[test]
fn script_owner_and_group_are_checked_before_the_daemon() {
    let other = other_uid();
    let other_gid = nix::unistd::Group::from_name(OTHER_USER)
        .unwrap()
        .expect("the user's own group")
        .gid
        .as_raw();
    let b = Apache::builder(Mpm::Event)
        .allow_log("does not match (user|group) required for daemon process")
        .allow_log("WSGI script file is writable to world");
    let apps = b.root().join("apps");
    let mine = script_in(&apps.join("other"), other, other_gid, 0o644);
    let roots = script_in(&apps.join("root"), 0, 0, 0o644);
    let loose = script_in(&apps.join("loose"), other, other_gid, 0o646);
    // mod_wsgi keeps `script-group=#GID` as a pointer into getgrgid()'s
    // static buffer, which the request's own getgrgid() of the file's group
    // overwrites, so its check always passes (differences.md): against a
    // reference, the group is named.
    let script_group = if is_reference() {
        OTHER_USER.to_string()
    } else {
        format!("#{other_gid}")
    };
    let mut b = b
        .server(format!(
            "WSGIDaemonProcess su processes=1 threads=2 script-user={OTHER_USER}"
        ))
        .server(format!(
            "WSGIDaemonProcess sg processes=1 threads=2 script-group={script_group}"
        ));
    for (url, file, group) in [
        ("/u-ok", &mine, "su"),
        ("/u-root", &roots, "su"),
        ("/u-loose", &loose, "su"),
        ("/g-ok", &mine, "sg"),
        ("/g-root", &roots, "sg"),
        ("/g-loose", &loose, "sg"),
    ] {
        b = b.server(format!(
            "WSGIScriptAlias {url} \"{}\" process-group={group}",
            file.display()
        ));
    }
    let apache = b.start();

    for ok in ["/u-ok", "/g-ok"] {
        let r = apache.get(ok);
        assert_eq!(r.status, 200, "{ok}: {r:?}");
        assert!(r.text().contains("Hello from a WSGI test app"), "{r:?}");
    }
    for refused in ["/u-root", "/u-loose", "/g-root", "/g-loose"] {
        let r = apache.get(refused);
        assert_eq!(r.status, 403, "{refused}: {r:?}");
    }
    let log = apache.error_log();
    for line in [
        "WSGI script file owner 'root' does not match user required for daemon process.",
        "WSGI script file is writable to world.",
        "WSGI script file group 'root' does not match group required for daemon process.",
    ] {
        assert!(log.contains(line), "{line}\n{log}");
    }
    assert_eq!(
        log.matches("WSGI script file is writable to world.")
            .count(),
        2,
        "{log}"
    );
}

#[test]
fn script_user_and_script_group_together_fail_configtest() {
    let ct = Apache::builder(Mpm::Event)
        .server(format!(
            "WSGIDaemonProcess g script-user={OTHER_USER} script-group=root"
        ))
        .config_test();
    let _ = other_uid();
    assert!(!ct.ok(), "{}", ct.output);
    assert!(
        ct.output
            .contains("Only one of script-user and script-group allowed."),
        "{}",
        ct.output
    );
}

#[test]
fn unknown_script_user_fails_configtest() {
    ours_only!("our configtest message");
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess g script-user=#4000000")
        .config_test();
    assert!(!ct.ok(), "{}", ct.output);
    assert!(ct.output.contains("script-user"), "{}", ct.output);
}
