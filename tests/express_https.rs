//! Integration tests of HTTPS in `mod_wsgi-express start-server`: a self-signed certificate
//! made with openssl, `--https-port` with `--ssl-certificate`/`--ssl-certificate-file`,
//! `--https-only` (plain HTTP redirects), `--hsts-policy`, `--ssl-environment`,
//! client certificates (`--ssl-ca-certificate-file`, `--ssl-verify-client`) and
//! `--server-name` TLS virtual hosts, against a real Apache with the module under test on
//! loopback ports (curl is the TLS client). The app reports `wsgi.url_scheme`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const SCHEME_APP: &str = r#"
def application(environ, start_response):
    if environ["PATH_INFO"].startswith("/who"):
        body = environ.get("SSL_CLIENT_S_DN_CN", "anonymous").encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    body = "|".join([environ["wsgi.url_scheme"], environ.get("SSL_PROTOCOL", "-"),
                     "HTTPS" if "HTTPS" in environ else "no-HTTPS-key",
                     environ["PATH_INFO"]]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is required");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const NEW_KEY: [&str; 5] = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];

/// Writes `<dir>/site.crt` and `<dir>/site.key` (self-signed, CN localhost).
fn self_signed(dir: &Path) {
    let subject = [
        "-subj",
        "/CN=localhost",
        "-keyout",
        "site.key",
        "-out",
        "site.crt",
    ];
    openssl(dir, &[&["req", "-x509"][..], &NEW_KEY, &subject].concat());
}

/// Writes a CA (`ca.crt`) and a client certificate it signed (`client.crt`/`.key`, CN
/// Test Client).
fn client_ca(dir: &Path) {
    let subject = [
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ];
    openssl(dir, &[&["req", "-x509"][..], &NEW_KEY, &subject].concat());
    let subject = ["-subj", "/CN=Test Client", "-keyout", "client.key"];
    let csr = ["-out", "client.csr"];
    openssl(dir, &[&["req"][..], &NEW_KEY, &subject, &csr].concat());
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "client.crt",
        ],
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
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
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
    let r = get_localhost(port, "/a/b?q=1");
    assert!(
        r.status_line().starts_with("HTTP/1.1 302 "),
        "{}",
        r.status_line()
    );
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
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
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
fn client_certificates_are_required_where_asked() {
    let (dir, app) = setup();
    client_ca(dir.path());
    open_up(dir.path());
    let root = dir.path().join("root");
    let (port, tls) = (free_port(), free_port());
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
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
            "--ssl-ca-certificate-file",
            &path_str(&dir.path().join("ca.crt")),
            "--ssl-verify-client",
            "/who/private",
            "--ssl-environment",
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(tls);
    let url = format!("https://127.0.0.1:{tls}");
    // Outside the verified URL no certificate is needed.
    assert_eq!(curl(&[&format!("{url}/who/public")]), "anonymous");
    // Inside it, a request without one is refused, one with a CA-signed one passes.
    let refused = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "30",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("{url}/who/private"))
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&refused.stdout);
    assert!(
        !refused.status.success() || code != "200",
        "no client certificate, yet {code}"
    );
    let (crt, key) = (dir.path().join("client.crt"), dir.path().join("client.key"));
    let body = curl(&[
        "--cert",
        &path_str(&crt),
        "--key",
        &path_str(&key),
        &format!("{url}/who/private"),
    ]);
    assert_eq!(body, "Test Client", "{}", server.logs());
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
        &["--ssl-verify-client", "/private"],
    ] {
        let out = Command::new(EXPRESS_EXE)
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
