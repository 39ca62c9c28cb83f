//! Integration tests of the `mod_wsgi-express` binary: help and error exits, a generated
//! server root that `apache2 -t` accepts, and a real start-server run serving a WSGI app
//! (with 64 concurrent keep-alive clients) on a loopback port, stopped with SIGINT with
//! no process left behind. Apache runs the module built beside the binary (or
//! `MOD_WSGI_SO`; the same directives work with Debian's reference mod_wsgi 4.9);
//! a missing Apache or module fails the tests with a message.
//! Apache's children run as `www-data` when the tests run as root, so every file they
//! read lives in a world-readable temporary directory.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const HELLO_APP: &str = r#"
def application(environ, start_response):
    body = b"hello from " + environ["SCRIPT_NAME"].encode() + b"|" + environ.get("GREETING", "-").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

fn express(args: &[&str]) -> Output {
    Command::new(EXPRESS_EXE)
        .args(args)
        .output()
        .expect("run mod_wsgi-express")
}

/// A world-readable scratch directory holding `app.wsgi` and `docs/robots.txt`.
fn scratch_with_app() -> tempfile::TempDir {
    let dir = scratch();
    std::fs::write(dir.path().join("app.wsgi"), HELLO_APP).unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/robots.txt"), "static wins\n").unwrap();
    dir
}

#[test]
fn help_works_for_every_subcommand() {
    let out = express(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "start-server",
        "setup-server",
        "module-config",
        "module-location",
        "install-module",
    ] {
        assert!(text.contains(sub), "{sub} missing from:\n{text}");
    }
    for sub in [
        "start-server",
        "setup-server",
        "module-config",
        "module-location",
        "install-module",
    ] {
        let out = express(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help failed");
    }
    let out = express(&["start-server", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--port",
        "--url-alias",
        "--server-mpm",
        "--request-timeout",
        "--log-to-terminal",
    ] {
        assert!(text.contains(opt), "{opt} missing from start-server --help");
    }
}

#[test]
fn bad_and_unimplemented_options_exit_2_with_one_line() {
    let out = express(&["setup-server", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
    let out = express(&["setup-server", "--port", "eighty"]);
    assert_eq!(out.status.code(), Some(2));
    let out = express(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));

    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = path_str(&dir.path().join("root"));
    // The one option still refused (PHP 5 is not provided), before anything is looked up.
    let opt = "--with-php5";
    let args = ["setup-server", app.as_str(), "--server-root", &root, opt];
    let out = Command::new(EXPRESS_EXE)
        .args(args)
        .env("MOD_WSGI_MODULE", "/nonexistent-but-never-reached.so")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{opt}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.contains(opt) && err.contains("not supported yet"),
        "{err}"
    );
    assert!(!Path::new(&root).exists(), "nothing may be written");
}

#[test]
fn missing_module_is_a_clear_error() {
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = path_str(&dir.path().join("root"));
    let out = Command::new(EXPRESS_EXE)
        .args(["setup-server", &app, "--server-root", &root])
        .env("MOD_WSGI_MODULE", "/nonexistent/mod_wsgi.so")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/mod_wsgi.so"));
}

#[test]
fn setup_server_writes_a_config_apache_accepts() {
    apache_and_module();
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = dir.path().join("root");
    let docs = path_str(&dir.path().join("docs"));
    let out = express(&[
        "setup-server",
        &app,
        "--server-root",
        &path_str(&root),
        "--modules-directory",
        &path_str(&module_under_test()),
        "--port",
        "8765",
        "--url-alias",
        "/docs",
        &docs,
        "--setenv",
        "GREETING",
        "hi",
        "--access-log",
        "--compress-responses",
        "--server-status",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("Server URL         : http://localhost:8765/"),
        "{summary}"
    );
    assert!(summary.contains("Operating Mode     : daemon"), "{summary}");
    for file in [
        "httpd.conf",
        "apachectl",
        "envvars",
        "mod_wsgi.so",
        "htdocs",
        "python-eggs",
    ] {
        assert!(root.join(file).exists(), "{file} not written");
    }
    let mode = std::fs::metadata(root.join("apachectl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(conf.contains(&format!(
        "LoadModule wsgi_module \"{}/mod_wsgi.so\"",
        root.display()
    )));

    let test = Command::new(APACHE_BIN)
        .args(["-t", "-f", &path_str(&root.join("httpd.conf"))])
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "apache2 -t: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let test = Command::new(root.join("apachectl"))
        .arg("configtest")
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "apachectl configtest: {}",
        String::from_utf8_lossy(&test.stderr)
    );
}

#[test]
fn start_server_serves_the_app_and_stops_on_sigint() {
    apache_and_module();
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = dir.path().join("root");
    let docs = path_str(&dir.path().join("docs"));
    let port = free_port();
    let port_s = port.to_string();
    let root_s = path_str(&root);
    let args = [
        "start-server",
        &app,
        "--host",
        "127.0.0.1",
        "--port",
        &port_s,
        "--server-root",
        &root_s,
        "--document-root",
        &docs,
        "--setenv",
        "GREETING",
        "hi",
        "--mount-point",
        "/app",
    ];
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);

    let mut conn = Client::new(port).keep_alive().unwrap();
    let r = conn.send(&localhost_get("/app/x")).unwrap();
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(r.text(), "hello from /app|hi");
    // The same keep-alive connection serves static files from the document root.
    let r = conn
        .send(&localhost_get("/robots.txt").header("Connection", "close"))
        .unwrap();
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(r.text(), "static wins\n");

    // 64 concurrent keep-alive clients, 20 requests each: none may be dropped.
    let clients: Vec<_> = (0..64)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Client::new(port).keep_alive().unwrap();
                for i in 0..20 {
                    let mut req = localhost_get("/app/");
                    if i == 19 {
                        req = req.header("Connection", "close");
                    }
                    let r = conn.send(&req).unwrap();
                    assert_eq!(
                        (r.status_line().as_str(), r.text().as_str()),
                        ("HTTP/1.1 200 OK", "hello from /app|hi")
                    );
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a keep-alive client failed");
    }

    let needle = path_str(&root);
    assert!(
        !processes_mentioning(&needle).is_empty(),
        "Apache should be running"
    );
    let status = server.interrupt_and_wait();
    assert!(status.success() || status.code().is_some(), "{status}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "processes left behind: {:?}",
            processes_mentioning(&needle)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    for bad in ["emerg", "alert", "crit", "Segmentation fault", "AH00484"] {
        assert!(!log.contains(bad), "{bad} in error_log:\n{log}");
    }
}

#[test]
fn directives_the_module_lacks_are_refused_before_writing() {
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = dir.path().join("root");
    // A stand-in module that knows only the directives every configuration uses.
    let fake = dir.path().join("fake_mod_wsgi.so");
    std::fs::write(
        &fake,
        "WSGIScriptAlias WSGIApplicationGroup WSGIPythonHome WSGIPythonPath \
         WSGICallableObject WSGIPassAuthorization WSGIScriptReloading",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        Command::new(EXPRESS_EXE)
            .args(["setup-server", &app, "--server-root", &path_str(&root)])
            .args(extra)
            .env("MOD_WSGI_MODULE", &fake)
            .output()
            .unwrap()
    };
    let out = run(&["--chunked-request", "--embedded-mode"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("--chunked-request is not supported by the mod_wsgi module")
            && err.contains("WSGIChunkedRequest"),
        "{err}"
    );
    assert!(!root.exists(), "nothing may be written");
    // The default, daemon mode, needs the daemon directives.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("daemon mode (the default; --embedded-mode avoids it) is not supported")
            && err.contains("WSGISocketPrefix"),
        "{err}"
    );
    assert!(!root.exists(), "nothing may be written");
    let out = run(&["--embedded-mode"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `setup-server`, then the generated `apachectl start`, `graceful` and
/// `stop` (the container and init-script way of running the server).
#[test]
fn setup_server_then_apachectl_start_graceful_stop() {
    apache_and_module();
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = dir.path().join("root");
    let port = free_port();
    let out = express(&[
        "setup-server",
        &app,
        "--server-root",
        &path_str(&root),
        "--modules-directory",
        &path_str(&module_under_test()),
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let apachectl = |action: &str| {
        let out = Command::new(root.join("apachectl"))
            .arg(action)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "apachectl {action}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let get_ok = || {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            // A refused connection is retried; any other I/O error fails.
            match Client::new(port).send(&localhost_get("/")) {
                Ok(r) if r.status_line() == "HTTP/1.1 200 OK" => return r.text(),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("GET / on port {port}: {e}"),
            }
            assert!(
                Instant::now() < deadline,
                "no 200 from the server on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    apachectl("start");
    assert!(get_ok().starts_with("hello from"));
    apachectl("graceful");
    assert!(get_ok().starts_with("hello from"));
    apachectl("stop");
    let needle = path_str(&root);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !processes_mentioning(&needle).is_empty() || root.join("httpd.pid").exists() {
        assert!(
            Instant::now() < deadline,
            "processes left after apachectl stop: {:?}",
            processes_mentioning(&needle)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sockets: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sock"))
        .collect();
    assert!(sockets.is_empty(), "daemon sockets left: {sockets:?}");
}
