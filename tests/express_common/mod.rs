//! Helpers shared by the `tests/express_*.rs` integration tests that run the real
//! `mod_wsgi-express` binary and a real Apache: world-readable scratch directories (the
//! Apache children run as `www-data` when the tests run as root), a started server
//! stopped by PID (SIGINT, then SIGKILL), free loopback ports, and plain HTTP/1.1
//! requests (curl for HTTPS). The module under test is `MOD_WSGI_SO` or the
//! `libmod_wsgi.so` cargo built beside the binary; a missing Apache or module fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/port.rs"]
mod port;
pub use port::free_port;

pub const EXE: &str = env!("CARGO_BIN_EXE_mod_wsgi-express");
pub const APACHE: &str = "/usr/sbin/apache2";

/// The module under test: `MOD_WSGI_SO`, else the one cargo built beside the binary.
pub fn module_under_test() -> String {
    if let Ok(p) = std::env::var("MOD_WSGI_SO") {
        return p;
    }
    path_str(&Path::new(EXE).with_file_name("libmod_wsgi.so"))
}

pub fn apache_and_module() {
    assert!(
        Path::new(APACHE).exists(),
        "{APACHE} is required (apt-get install apache2)"
    );
    let module = module_under_test();
    assert!(
        Path::new(&module).exists(),
        "module under test {module} is missing (run cargo build first)"
    );
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A world-readable scratch directory.
pub fn scratch() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("mwe-test")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Makes everything under `dir` readable (and directories searchable) by everyone.
pub fn open_up(dir: &Path) {
    let status = Command::new("chmod")
        .args(["-R", "a+rX", &path_str(dir)])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A running server process, stopped by PID (SIGINT, then SIGKILL as a last resort).
pub struct Server {
    pub child: Child,
    pub root: PathBuf,
    /// Where the process's stdout and stderr go.
    pub output: PathBuf,
}

impl Server {
    /// Spawns `program args` with `env`, stdout/stderr to `<dir>/express.out`.
    pub fn spawn(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        dir: &Path,
        root: &Path,
    ) -> Server {
        let output = dir.join("express.out");
        let out = std::fs::File::create(&output).unwrap();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("MOD_WSGI_MODULE", module_under_test())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Server {
            child: cmd.spawn().unwrap(),
            root: root.to_path_buf(),
            output,
        }
    }

    /// Waits until `port` accepts connections; panics with the logs if the process exits.
    pub fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("server exited with {status}; {}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start listening; {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.output).unwrap_or_default();
        let log = std::fs::read_to_string(self.root.join("error_log")).unwrap_or_default();
        format!("output:\n{out}\nerror_log:\n{log}")
    }

    pub fn interrupt_and_wait(&mut self) -> std::process::ExitStatus {
        signal(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(self.child.id(), "INT");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if self.child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends a signal by PID through kill(1).
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub fn connect(port: u16) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(stream)
}

/// A parsed response: status line, headers (lower-case names), body.
pub struct Response {
    pub status: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 GET on `reader`'s connection and reads one Content-Length response.
pub fn request(reader: &mut BufReader<TcpStream>, path: &str, close: bool) -> Response {
    let conn = if close { "close" } else { "keep-alive" };
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: {conn}\r\n\r\n");
    reader.get_mut().write_all(req.as_bytes()).unwrap();
    read_response(reader)
}

/// Reads one response (status line, headers, a Content-Length body).
pub fn read_response(reader: &mut BufReader<TcpStream>) -> Response {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap();
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Response {
        status: status.trim_end().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// One GET on a fresh connection.
pub fn get(port: u16, path: &str) -> Response {
    request(&mut connect(port), path, true)
}

/// `curl` output (`-sS`, `-k` for self-signed certificates, headers included with `-i`).
pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl is required (apt-get install curl)");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
