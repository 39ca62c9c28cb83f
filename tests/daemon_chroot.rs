//! `WSGIDaemonProcess chroot=DIR` (Apache started as root, as the tests
//! run): the daemon process's root directory is DIR (`/proc/PID/root`),
//! the application runs inside it with `SCRIPT_FILENAME` rewritten relative
//! to DIR and `DOCUMENT_ROOT` (outside DIR here) removed, as mod_wsgi; a
//! script outside DIR is refused with a 500 and mod_wsgi's message. The
//! chroot tree is the minimum the daemon needs: Python's standard library
//! (hard-linked from the system's when on one filesystem, else copied) and
//! the script.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

/// Reports what the application sees, one `key=value` a line.
const JAILED_APP: &str = r#"
import os, sys

def application(environ, start_response):
    lines = [
        "pid=%d" % os.getpid(),
        "script=%s" % environ["SCRIPT_FILENAME"],
        "document_root=%s" % environ.get("DOCUMENT_ROOT", "-"),
        "cwd=%s" % os.getcwd(),
        "listing=%s" % ",".join(sorted(os.listdir("/"))),
        "file=%s" % __file__,
        "prefix=%s" % sys.prefix,
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]
"#;

/// The system Python's standard library directory (`/usr/lib/python3.N`).
fn stdlib() -> String {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('stdlib'))",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A chroot tree at `jail` with Python's standard library at its usual path.
fn build_jail(jail: &Path) {
    let lib = stdlib();
    let dest = jail.join(lib.trim_start_matches('/'));
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let linked = Command::new("cp")
        .arg("-al")
        .arg(&lib)
        .arg(dest.parent().unwrap())
        .status()
        .unwrap();
    if !linked.success() {
        let _ = std::fs::remove_dir_all(&dest);
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&lib)
            .arg(dest.parent().unwrap())
            .status()
            .unwrap();
        assert!(copied.success(), "copying {lib} into {}", jail.display());
    }
    for dir in [jail.to_path_buf(), jail.join("usr"), jail.join("usr/lib")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn daemon_runs_inside_its_chroot() {
    if !nix::unistd::Uid::current().is_root() {
        eprintln!("skipped: chroot= needs Apache started as root");
        return;
    }
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let jail = b.root().join("jail");
    build_jail(&jail);
    let app = jail.join("app/jailed.wsgi");
    std::fs::create_dir_all(app.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        app.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(&app, JAILED_APP).unwrap();
    let outside = b.app("hello.wsgi");
    // mod_wsgi leaves the working directory outside the new root unless
    // `home=` names one inside it, and Python then fails to start ("failed
    // to make path absolute"); ours changes it to the new `/`
    // (differences.md). Against a reference, `home=/` gives it one.
    let home = if is_reference() { " home=/" } else { "" };
    let apache = b
        .server(format!(
            "WSGIDaemonProcess jailed threads=2 chroot={}{home}",
            jail.display()
        ))
        .server(format!(
            "WSGIScriptAlias /in \"{}\" process-group=jailed",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /out \"{}\" process-group=jailed",
            outside.display()
        ))
        // 4.9.4 logs the refusal at crit.
        .allow_log("WSGIRS0476|not located within chroot directory")
        .start();
    let r = apache.get("/in");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let kv = parse_kv(&r.text());
    assert_eq!(kv["script"], "/app/jailed.wsgi", "{kv:?}");
    assert_eq!(kv["file"], "/app/jailed.wsgi", "{kv:?}");
    assert_eq!(
        kv["document_root"], "-",
        "DOCUMENT_ROOT outside DIR is removed"
    );
    assert_eq!(kv["cwd"], "/", "{kv:?}");
    assert_eq!(kv["listing"], "app,usr", "{kv:?}");
    let root = std::fs::read_link(format!("/proc/{}/root", kv["pid"])).unwrap();
    assert_eq!(root, jail, "the daemon's root directory");
    // A script outside the chroot directory: 500, mod_wsgi's message.
    // mod_wsgi's daemon returns 500 too, but 6.x's Apache child sees only a
    // connection closed before the headers and answers 502 (differences.md).
    let r = apache.get("/out");
    if is_reference() {
        assert!(matches!(r.status, 500 | 502), "{r:?}");
    } else {
        assert_eq!(r.status, 500, "{r:?}");
    }
    if !is_reference() {
        let log = apache.error_log();
        assert!(
            log.contains("[WSGIRS0476]") && log.contains("is not located within chroot directory"),
            "{log}"
        );
    }
}

/// mod_wsgi's checks at configtest.
#[test]
fn chroot_value_is_checked() {
    ours_only!("our message framing");
    let ct = Apache::builder(Mpm::Event)
        .server("WSGIDaemonProcess g chroot=jail")
        .config_test();
    assert!(!ct.ok());
    assert!(
        ct.output
            .contains("Invalid chroot directory for WSGI daemon process."),
        "{}",
        ct.output
    );
}

/// As mod_wsgi, `chroot=` is refused when the configuration is not read as
/// root: `apache2 -t` run as the Apache user (www-data) fails with its
/// message, while the same configuration passes as root.
#[test]
fn chroot_is_refused_when_apache_is_not_root() {
    ours_only!("our message framing");
    if !nix::unistd::Uid::current().is_root() {
        eprintln!("skipped: needs root to run configtest as another user");
        return;
    }
    use std::os::unix::process::CommandExt;
    let b = Apache::builder(Mpm::Event).server("WSGIDaemonProcess g chroot=/srv/jail");
    assert!(b.config_test().ok(), "{}", b.config_test().output);
    let conf = b.root().join("as-user.conf");
    std::fs::write(&conf, b.render(free_port())).unwrap();
    let www = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    let out = Command::new(APACHE_BIN)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C")
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .uid(www.uid.as_raw())
        .gid(www.gid.as_raw())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("Cannot chroot WSGI daemon process when not root."),
        "{text}"
    );
}
