//! Integration tests of `--application-type module` and `paste`: `mod_wsgi-express
//! start-server` generates `handler.wsgi` in the server root, which imports a module
//! found through the working directory and `--python-path` (or loads a Paste Deploy
//! `.ini`), and a real Apache with the module under test serves it on a loopback port.
//! Paste needs Paste Deploy for /usr/bin/python3 (Debian: python3-pastedeploy).

mod common;

use common::*;

const PACKAGE_WSGI: &str = r#"
import helper

def app(environ, start_response):
    body = ("module app|" + __name__ + "|" + helper.WORD + "|" + environ["SCRIPT_NAME"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

#[test]
fn module_entry_is_imported_from_the_working_directory() {
    apache_and_module();
    let dir = scratch();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("mysite")).unwrap();
    std::fs::write(site.join("mysite/__init__.py"), "").unwrap();
    std::fs::write(site.join("mysite/wsgi.py"), PACKAGE_WSGI).unwrap();
    std::fs::create_dir(dir.path().join("extra")).unwrap();
    std::fs::write(
        dir.path().join("extra/helper.py"),
        "WORD = 'from python-path'\n",
    )
    .unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
        &[
            "start-server",
            "mysite.wsgi",
            "--application-type",
            "module",
            "--callable-object",
            "app",
            "--working-directory",
            &path_str(&site),
            "--python-path",
            &path_str(&dir.path().join("extra")),
            "--mount-point",
            "/m",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(port);
    let wrapper = std::fs::read_to_string(root.join("handler.wsgi")).unwrap();
    assert!(
        wrapper.contains("importlib.import_module(\"mysite.wsgi\")"),
        "{wrapper}"
    );
    let r = get_localhost(port, "/m/x");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(r.text(), "module app|mysite.wsgi|from python-path|/m");
    server.interrupt_and_wait();
}

#[test]
fn module_that_fails_to_import_gives_500_and_a_logged_traceback() {
    apache_and_module();
    let dir = scratch();
    let root = dir.path().join("root");
    let port = free_port();
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
        &[
            "start-server",
            "no_such_module_here.wsgi",
            "--application-type",
            "module",
            "--working-directory",
            &path_str(dir.path()),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(port);
    let r = get_localhost(port, "/");
    assert!(r.status_line().contains(" 500 "), "{}", r.status_line());
    server.interrupt_and_wait();
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    assert!(log.contains("no_such_module_here"), "{log}");
}

#[test]
fn paste_deploy_ini_is_loaded() {
    apache_and_module();
    let probe = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import paste.deploy"])
        .status()
        .unwrap();
    assert!(
        probe.success(),
        "Paste Deploy is required for /usr/bin/python3 (apt-get install python3-pastedeploy)"
    );
    let dir = scratch();
    std::fs::write(
        dir.path().join("pasteapp.py"),
        r#"
def make_app(global_conf, **local):
    greeting = local["greeting"].encode()
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(greeting)))])
        return [greeting]
    return app
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("site.ini"),
        "[app:main]\npaste.app_factory = pasteapp:make_app\ngreeting = hello from paste\n",
    )
    .unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
        &[
            "start-server",
            "--application-type",
            "paste",
            &path_str(&dir.path().join("site.ini")),
            "--working-directory",
            &path_str(dir.path()),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(port);
    let r = get_localhost(port, "/anything");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(r.text(), "hello from paste");
    server.interrupt_and_wait();
}

#[test]
fn bad_module_name_and_missing_ini_exit_2() {
    let dir = scratch();
    let root = path_str(&dir.path().join("root"));
    for args in [
        &["--application-type", "module", "mysite/wsgi.py"][..],
        &["--application-type", "paste", "/nonexistent/site.ini"],
    ] {
        let out = std::process::Command::new(EXPRESS_EXE)
            .arg("setup-server")
            .args(args)
            .args(["--server-root", &root])
            .env("MOD_WSGI_MODULE", module_under_test())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// Polls `path` until the body is `want` (or panics after 20 s with the last one).
/// A refused connection (Apache between generations) is retried; any other I/O
/// error fails.
fn wait_for_body(server: &ExpressServer, port: u16, path: &str, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let client = Client {
        timeout: std::time::Duration::from_secs(10),
        ..Client::new(port)
    };
    loop {
        match client.send(&localhost_get(path)) {
            Ok(r) => {
                if r.text() == want {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "still {:?} instead of {want:?}; {}",
                    r.text(),
                    server.logs()
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => assert!(
                std::time::Instant::now() < deadline,
                "connection still refused; {}",
                server.logs()
            ),
            Err(e) => panic!("GET {path}: {e}; {}", server.logs()),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Rewrites `path` with `text` and a modification time 5 s later than before.
fn edit(path: &std::path::Path, text: &str) {
    let before = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(before + std::time::Duration::from_secs(5))
        .unwrap();
}

#[test]
fn reload_on_changes_restarts_apache_with_the_new_code() {
    apache_and_module();
    let dir = scratch();
    std::fs::write(
        dir.path().join("app.wsgi"),
        r#"
import os, helper

def application(environ, start_response):
    body = ("%s|%s" % (helper.VALUE, MARK)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

MARK = "a"
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("helper.py"), "VALUE = 'one'\n").unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
        &[
            "start-server",
            &path_str(&dir.path().join("app.wsgi")),
            "--reload-on-changes",
            "--working-directory",
            &path_str(dir.path()),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(port);
    wait_for_body(&server, port, "/", "one|a");
    // Let the monitor thread take its first snapshot.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // An imported module changes: Apache restarts gracefully and imports it anew.
    edit(&dir.path().join("helper.py"), "VALUE = 'two'\n");
    wait_for_body(&server, port, "/", "two|a");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // The script itself changes.
    let script = std::fs::read_to_string(dir.path().join("app.wsgi")).unwrap();
    edit(
        &dir.path().join("app.wsgi"),
        &script.replace("MARK = \"a\"", "MARK = \"b\""),
    );
    wait_for_body(&server, port, "/", "two|b");
    // Same Apache parent throughout (graceful restarts, not a new server).
    assert!(server.child.try_wait().unwrap().is_none());
    server.interrupt_and_wait();
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    assert!(
        log.contains("helper.py changed; restarting Apache"),
        "{log}"
    );
}
