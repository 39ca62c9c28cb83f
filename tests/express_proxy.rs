//! Integration tests of reverse proxying in `mod_wsgi-express start-server`:
//! `--proxy-mount-point` and `--proxy-virtual-host` forward to a small Python HTTP
//! backend (started here on a loopback port) that echoes the path and the forwarding
//! headers it got, while every other URL and host name still reaches the WSGI app,
//! against a real Apache with the module under test.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BACKEND: &str = r#"
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = "backend|%s|%s|%s" % (self.path, self.headers.get("X-Forwarded-Prefix", "-"),
                                     self.headers.get("X-Forwarded-Port", "-"))
        body = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo)
print("ready", flush=True)
server.serve_forever()
"#;

const APP: &str = r#"
def application(environ, start_response):
    body = ("app|" + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

struct Backend(Child);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn backend(dir: &std::path::Path, port: u16) -> Backend {
    std::fs::write(dir.join("backend.py"), BACKEND).unwrap();
    let mut child = Command::new("/usr/bin/python3")
        .arg(dir.join("backend.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    Backend(child)
}

/// GET with a chosen Host header.
fn get_host(port: u16, host: &str, path: &str) -> Response {
    Client::new(port)
        .send(&Request::new("GET", path).header("Host", host))
        .unwrap_or_else(|e| panic!("GET {path} (Host: {host}): {e}"))
}

#[test]
fn proxied_mount_points_and_hosts_reach_the_backend() {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("app.wsgi"), APP).unwrap();
    open_up(dir.path());
    let (port, backend_port) = (free_port(), free_port());
    let _backend = backend(dir.path(), backend_port);
    let target = format!("http://127.0.0.1:{backend_port}");
    let root = dir.path().join("root");
    let mut server = ExpressServer::spawn(
        EXPRESS_EXE,
        &[
            "start-server",
            &path_str(&dir.path().join("app.wsgi")),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--proxy-mount-point",
            "/api",
            &format!("{target}/v1/"),
            "--proxy-virtual-host",
            "backend.test",
            &target,
            "--server-root",
            &path_str(&root),
        ],
        &[],
        dir.path(),
        &root,
    );
    server.wait_listening(port);

    let r = get_localhost(port, "/api/items?x=1");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(r.text(), format!("backend|/v1/items?x=1|/api|{port}"));
    let r = get_localhost(port, "/api");
    assert!(
        r.status_line().starts_with("HTTP/1.1 302 "),
        "{}",
        r.status_line()
    );
    assert_eq!(r.header("location"), Some("http://localhost/api/"));
    // Everything else is the application, for any other host name too.
    assert_eq!(get_localhost(port, "/apix").text(), "app|/apix");
    assert_eq!(get_host(port, "other.test", "/z").text(), "app|/z");
    // The proxied host name goes to the backend as a whole.
    let r = get_host(port, "backend.test", "/y");
    assert_eq!(r.text(), format!("backend|/y|-|{port}"));
    server.interrupt_and_wait();
}
