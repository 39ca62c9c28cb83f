//! Integration tests of HTTPS in `mod_wsgi-express start-server`: a self-signed certificate
//! made with openssl, `--https-port` with `--ssl-certificate`/`--ssl-certificate-file`,
//! `--https-only` (plain HTTP redirects), `--hsts-policy`, `--ssl-environment` and
//! `--server-name` TLS virtual hosts, against a real Apache with the module under test on
//! loopback ports (curl is the TLS client). The app reports `wsgi.url_scheme`.

mod express_common;

use express_common::*;
use std::path::Path;
use std::process::Command;

const SCHEME_APP: &str = r#"
def application(environ, start_response):
    body = "|".join([environ["wsgi.url_scheme"], environ.get("SSL_PROTOCOL", "-"),
                     "HTTPS" if "HTTPS" in environ else "no-HTTPS-key",
                     environ["PATH_INFO"]]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

/// Writes `<dir>/site.crt` and `<dir>/site.key` (self-signed, CN localhost).
fn self_signed(dir: &Path) {
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("site.key"))
        .arg("-out")
        .arg(dir.join("site.crt"))
        .output()
        .expect("openssl is required");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn setup() -> (tempfile::TempDir, String) {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("app.wsgi"), SCHEME_APP).unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/robots.txt"), "static over tls\n").unwrap();
    self_signed(dir.path());
    open_up(dir.path());
    let app = path_str(&dir.path().join("app.wsgi"));
    (dir, app)
}

#[test]
fn https_port_serves_the_app_as_https_and_https_only_redirects() {
    let (dir, app) = setup();
    let root = dir.path().join("root");
    let (port, tls) = (free_port(), free_port());
    let mut server = Server::spawn(
        EXE,
        &[
            "start-server",
            &app,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--https-port",
            &tls.to_string(),
            "--ssl-certificate",
            &path_str(&dir.path().join("site")),
            "--https-only",
            "--hsts-policy",
            "max-age=60",
            "--ssl-environment",
            "--document-root",
            &path_str(&dir.path().join("docs")),
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(tls);
    let summary = std::fs::read_to_string(&server.output).unwrap();
    assert!(
        summary.contains(&format!("Server URL (HTTPS) : https://127.0.0.1:{tls}/")),
        "{summary}"
    );

    let url = format!("https://127.0.0.1:{tls}");
    let body = curl(&[&format!("{url}/x/y")]);
    assert!(body.starts_with("https|TLSv1."), "{body}");
    assert!(body.ends_with("|no-HTTPS-key|/x/y"), "{body}");
    let head = curl(&["-i", &format!("{url}/x")]);
    assert!(
        head.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=60"),
        "{head}"
    );
    assert_eq!(curl(&[&format!("{url}/robots.txt")]), "static over tls\n");

    // Plain HTTP is redirected to the same URL on the HTTPS port, query string kept.
    let r = get(port, "/a/b?q=1");
    assert!(r.status.starts_with("HTTP/1.1 302"), "{}", r.status);
    assert_eq!(
        r.header("location"),
        Some(format!("https://localhost:{tls}/a/b?q=1").as_str())
    );
    server.interrupt_and_wait();
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    for bad in ["emerg", "alert", "crit", "AH01873"] {
        assert!(!log.contains(bad), "{bad} in error_log:\n{log}");
    }
}

#[test]
fn https_virtual_hosts_follow_server_name() {
    let (dir, app) = setup();
    let root = dir.path().join("root");
    let (port, tls) = (free_port(), free_port());
    let mut server = Server::spawn(
        EXE,
        &[
            "start-server",
            &app,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--https-port",
            &tls.to_string(),
            "--ssl-certificate-file",
            &path_str(&dir.path().join("site.crt")),
            "--ssl-certificate-key-file",
            &path_str(&dir.path().join("site.key")),
            "--server-name",
            "www.example.test",
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(tls);
    let resolve = |name: &str, p: u16| format!("{name}:{p}:127.0.0.1");
    let www = resolve("www.example.test", tls);
    let body = curl(&[
        "--resolve",
        &www,
        &format!("https://www.example.test:{tls}/p"),
    ]);
    assert_eq!(body, "https|-|no-HTTPS-key|/p");
    // Plain HTTP keeps working without --https-only.
    let plain = resolve("www.example.test", port);
    let body = curl(&[
        "--resolve",
        &plain,
        &format!("http://www.example.test:{port}/p"),
    ]);
    assert_eq!(body, "http|-|no-HTTPS-key|/p");
    // Other names are refused; the parent domain redirects to the www name.
    let other = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("https://127.0.0.1:{tls}/"),
    ]);
    assert_eq!(other, "403");
    let parent = resolve("example.test", tls);
    let head = curl(&[
        "-i",
        "--resolve",
        &parent,
        &format!("https://example.test:{tls}/"),
    ]);
    assert!(
        head.contains(&format!("https://www.example.test:{tls}/")),
        "{head}"
    );
    server.interrupt_and_wait();
}

#[test]
fn certificate_options_without_https_port_exit_2() {
    let (dir, app) = setup();
    let root = path_str(&dir.path().join("root"));
    let crt = path_str(&dir.path().join("site.crt"));
    for args in [
        &["--ssl-certificate-file", crt.as_str()][..],
        &["--https-port", "8443"],
        &["--https-only"],
    ] {
        let out = Command::new(EXE)
            .args(["setup-server", &app, "--server-root", &root])
            .args(args)
            .env("MOD_WSGI_MODULE", module_under_test())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!Path::new(&root).exists(), "nothing may be written");
    }
}
