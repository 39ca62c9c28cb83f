//! Server roots written by pip's `mod_wsgi-express setup-server` 6.1.1 (the
//! Python package, in the venv `scripts/pip-mod_wsgi-venv.sh` makes) run on
//! our module: only the generated `LoadModule wsgi_module` line is pointed at
//! the module under test, as an operator swapping the module under such a
//! setup would. Each root passes its own `apachectl configtest`, starts with
//! `apachectl start`, serves the app (its `handler.wsgi` imports
//! `mod_wsgi.express.runtime` from the pip package), survives `apachectl
//! graceful` and stops with `apachectl stop`, leaving no process behind:
//! the defaults, `--embedded-mode`, the auth/access scripts with
//! `--server-metrics` and `--server-status`, and a handful of common options
//! (processes/threads, `--url-alias`, `--queue-timeout`, other MPMs).
//! `--reload-on-changes` restarts the daemon on a change of the script.
//! `--free-threading` is refused by both expresses in the same words.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const APP: &str = r#"
import mod_wsgi
def application(environ, start_response):
    body = ("hello %s|%s" % (mod_wsgi.process_group, environ.get("REMOTE_USER", "-"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

const AUTH: &str =
    "def check_password(environ, user, password):\n    return user == 'u' and password == 'p'\n";
const GROUPS: &str =
    "def groups_for_user(environ, user):\n    return [b'staff'] if user == 'u' else []\n";
const ACCESS: &str =
    "def allow_access(environ, host):\n    return environ['REMOTE_ADDR'] == '127.0.0.1'\n";

/// The venv with pip's mod_wsgi 6.1.1 (made on first use).
fn pip_venv() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pip-mod_wsgi-venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run scripts/pip-mod_wsgi-venv.sh");
    assert!(
        out.status.success(),
        "scripts/pip-mod_wsgi-venv.sh failed (it needs PyPI and apache2-dev):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A server root of pip's express, with its Apache stopped when dropped.
struct PipRoot {
    _dir: tempfile::TempDir,
    root: PathBuf,
    port: u16,
}

impl PipRoot {
    /// `setup-server` with `options` (scripts named `@NAME` are written to
    /// the scratch directory first), then the `LoadModule` line rewritten.
    fn setup(options: &[&str]) -> PipRoot {
        apache_and_module();
        let venv = pip_venv();
        let dir = scratch();
        let file = |name: &str, body: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            path_str(&p)
        };
        let app = file("app.wsgi", APP);
        let scripts = [("@auth", AUTH), ("@groups", GROUPS), ("@access", ACCESS)];
        let root = dir.path().join("root");
        let port = free_port();
        let mut args: Vec<String> = vec![
            "setup-server".into(),
            app,
            "--server-root".into(),
            path_str(&root),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
        ];
        if nix::unistd::geteuid().is_root() {
            args.extend(["--user", "www-data", "--group", "www-data"].map(String::from));
        }
        for o in options {
            match scripts.iter().find(|(n, _)| n == o) {
                Some((n, body)) => args.push(file(&format!("{}.wsgi", &n[1..]), body)),
                None => args.push(o.to_string()),
            }
        }
        let out = Command::new(venv.join("bin/mod_wsgi-express"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "setup-server: {}", text(&out));
        let conf = root.join("httpd.conf");
        let original = std::fs::read_to_string(&conf).unwrap();
        let ours = format!("LoadModule wsgi_module '{}'", module_under_test().display());
        let lines: Vec<String> = original
            .lines()
            .map(|l| {
                if l.starts_with("LoadModule wsgi_module ") {
                    ours.clone()
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert_eq!(
            lines.iter().filter(|l| **l == ours).count(),
            1,
            "one LoadModule wsgi_module line expected:\n{original}"
        );
        std::fs::write(&conf, lines.join("\n") + "\n").unwrap();
        PipRoot {
            _dir: dir,
            root,
            port,
        }
    }

    fn apachectl(&self, action: &str) -> Output {
        Command::new(self.root.join("apachectl"))
            .arg(action)
            .output()
            .unwrap()
    }

    fn ctl_ok(&self, action: &str) {
        let out = self.apachectl(action);
        assert!(out.status.success(), "apachectl {action}: {}", text(&out));
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.root.join("error_log")).unwrap_or_default()
    }

    /// GET `path` with `auth` (a Basic credential), waiting while the
    /// server is not accepting yet; the status and body.
    fn get(&self, path: &str, auth: Option<&str>) -> (u16, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut req = localhost_get(path);
            if let Some(a) = auth {
                req = req.header("Authorization", &format!("Basic {a}"));
            }
            match Client::new(self.port).send(&req) {
                Ok(r) => return (r.status, r.text()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("GET {path} on port {}: {e}", self.port),
            }
            assert!(
                Instant::now() < deadline,
                "nothing listens on port {}\n{}",
                self.port,
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// configtest, start, `check`, graceful, `check`, stop, nothing left.
    fn run(&self, check: impl Fn(&PipRoot)) {
        let t = self.apachectl("configtest");
        assert!(
            t.status.success() && text(&t).contains("Syntax OK"),
            "{}",
            text(&t)
        );
        self.ctl_ok("start");
        check(self);
        let pid = std::fs::read_to_string(self.root.join("httpd.pid")).unwrap();
        self.ctl_ok("graceful");
        check(self);
        let again = std::fs::read_to_string(self.root.join("httpd.pid")).unwrap();
        assert_eq!(pid, again, "graceful must keep the parent");
        self.ctl_ok("stop");
        self.wait_gone();
        let log = self.error_log();
        for bad in ["emerg", "alert", "crit]", "Segmentation fault", "panicked"] {
            assert!(!log.contains(bad), "{bad} in the error log:\n{log}");
        }
    }

    fn wait_gone(&self) {
        let needle = path_str(&self.root);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !processes_mentioning(&needle).is_empty() || self.root.join("httpd.pid").exists() {
            assert!(
                Instant::now() < deadline,
                "processes left after apachectl stop: {:?}",
                processes_mentioning(&needle)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PipRoot {
    fn drop(&mut self) {
        if self.root.join("httpd.pid").exists() {
            let _ = self.apachectl("stop");
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.root.join("httpd.pid").exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// The daemon group pip's express names after the listener.
fn group(r: &PipRoot) -> String {
    format!("127.0.0.1:{}", r.port)
}

#[test]
fn defaults() {
    let r = PipRoot::setup(&[]);
    r.run(|r| assert_eq!(r.get("/", None), (200, format!("hello {}|-", group(r)))));
}

#[test]
fn embedded_mode() {
    let r = PipRoot::setup(&["--embedded-mode"]);
    r.run(|r| assert_eq!(r.get("/", None), (200, "hello |-".to_string())));
}

/// Basic auth against the user script, the group script with
/// `--auth-group`, the host access script, the server metrics and status.
#[test]
fn auth_access_metrics_and_status() {
    let r = PipRoot::setup(&[
        "--auth-user-script",
        "@auth",
        "--auth-group-script",
        "@groups",
        "--auth-group",
        "staff",
        "--host-access-script",
        "@access",
        "--server-metrics",
        "--server-status",
    ]);
    r.run(|r| {
        // "u:p" and "u:x" in base64.
        assert_eq!(
            r.get("/", Some("dTpw")),
            (200, format!("hello {}|u", group(r)))
        );
        assert_eq!(r.get("/", Some("dTp4")).0, 401);
        assert_eq!(r.get("/", None).0, 401);
        let (status, body) = r.get("/server-status?auto", Some("dTpw"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("BusyWorkers"), "{body}");
    });
}

/// Common options together: daemon sizing, a URL alias for static files,
/// queue and request timeouts, recycling, the access log, proxy headers,
/// an environment variable, compression and keep-alive.
#[test]
fn common_options() {
    let r = PipRoot::setup(&[
        "--processes",
        "2",
        "--threads",
        "4",
        "--url-alias",
        "/static",
        "/usr/share/doc/apache2",
        "--queue-timeout",
        "30",
        "--request-timeout",
        "60",
        "--maximum-requests",
        "100",
        "--graceful-timeout",
        "5",
        "--access-log",
        "--trust-proxy-header",
        "X-Forwarded-For",
        "--setenv",
        "GREETING",
        "hi",
        "--compress-responses",
        "--keep-alive-timeout",
        "5",
    ]);
    r.run(|r| {
        assert_eq!(r.get("/", None), (200, format!("hello {}|-", group(r))));
        assert_eq!(r.get("/static/copyright", None).0, 200);
    });
}

#[test]
fn prefork_and_worker() {
    for mpm in ["prefork", "worker"] {
        let r = PipRoot::setup(&["--server-mpm", mpm, "--processes", "2", "--threads", "1"]);
        r.run(|r| assert_eq!(r.get("/", None), (200, format!("hello {}|-", group(r)))));
    }
}

/// Both expresses refuse `--free-threading` on this Python with the GIL,
/// in the same words and with the same exit status.
#[test]
fn free_threading_refused_alike() {
    let venv = pip_venv();
    let dir = scratch();
    let app = dir.path().join("app.wsgi");
    std::fs::write(&app, APP).unwrap();
    let run = |exe: &Path, root: &str| {
        Command::new(exe)
            .args(["setup-server", &path_str(&app), "--server-root"])
            .arg(dir.path().join(root))
            .arg("--free-threading")
            .output()
            .unwrap()
    };
    let pip = run(&venv.join("bin/mod_wsgi-express"), "pip");
    let ours = run(Path::new(EXPRESS_EXE), "ours");
    assert_eq!(pip.status.code(), Some(2), "{}", text(&pip));
    assert_eq!(ours.status.code(), Some(2), "{}", text(&ours));
    let last = |o: &Output| text(o).trim_end().lines().last().unwrap_or("").to_string();
    assert_eq!(last(&pip), last(&ours));
    assert!(!dir.path().join("ours").exists());
}

/// `--reload-on-changes`: the pip runtime's monitor thread (in the daemon,
/// started by `handler.wsgi`, which subscribes to `process_stopping` with
/// `mod_wsgi.subscribe_shutdown`) sees the script change and restarts the
/// daemon process, which then serves the new code. Needs the events API
/// (`subscribe_shutdown`, the `events` branch of issue 14): without it the
/// import of `handler.wsgi` fails and the daemon never gets ready.
#[test]
fn reload_on_changes() {
    let r = PipRoot::setup(&["--reload-on-changes"]);
    let t = r.apachectl("configtest");
    assert!(t.status.success(), "{}", text(&t));
    r.ctl_ok("start");
    assert_eq!(r.get("/", None), (200, format!("hello {}|-", group(&r))));
    let app = r.root.parent().unwrap().join("app.wsgi");
    let changed = APP.replace("hello %s", "changed %s");
    std::fs::write(&app, changed).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = r.get("/", None);
        if status == 200 && body.starts_with("changed ") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change was not picked up: {status} {body}\n{}",
            r.error_log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = r.error_log();
    assert!(!log.contains("ImportError"), "{log}");
    r.ctl_ok("stop");
    r.wait_gone();
}
