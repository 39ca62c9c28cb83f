//! The `ExpressServer` guard: runs `mod_wsgi-express` (or `manage.py
//! runmodwsgi`, a container entrypoint, `apache2 -DFOREGROUND`: any command
//! that ends up as the Apache parent, in the foreground) with its output in a
//! file, stops it by PID (SIGINT by default, SIGKILL as a last resort), and
//! after the test runs the same post-mortem checks as the `Apache` guard on
//! its server root: fatal error-log lines (`<root>/error_log` and the
//! output, minus `allow_log` entries), processes of the server left behind,
//! daemon sockets left in the socket directory. Also world-readable scratch
//! directories (Apache's children run as `www-data` when the tests run as
//! root) and `curl` for HTTPS. Part of the test harness in `tests/common/`.

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

use super::postmortem::{
    LEFTOVER_GRACE, allow_regex, fatal_lines, leftover_processes, socket_files, tail, verdict,
};
use super::process::{descendants, pid_alive, processes_mentioning, signal, start_time};
use super::{APACHE_BIN, Client, Request, Response, module_under_test};

/// The `mod_wsgi-express` binary cargo built for these tests.
pub const EXPRESS_EXE: &str = env!("CARGO_BIN_EXE_mod_wsgi-express");

/// How long the server may take to listen, and to stop after a signal.
const EXPRESS_START_TIMEOUT: Duration = Duration::from_secs(30);
const EXPRESS_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test unless Apache and the module under test exist.
pub fn apache_and_module() {
    assert!(
        Path::new(APACHE_BIN).exists(),
        "{APACHE_BIN} is required (apt-get install apache2)"
    );
    let module = module_under_test();
    assert!(
        module.exists(),
        "module under test {} is missing (run cargo build first)",
        module.display()
    );
}

/// `start-server APP --host 127.0.0.1 --port PORT --server-root ROOT`: the
/// arguments every test that starts express begins with.
pub fn start_server_args<'a>(app: &'a str, port: &'a str, root: &'a str) -> Vec<&'a str> {
    vec![
        "start-server",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--server-root",
        root,
    ]
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
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
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

/// A running server started by a command that becomes (or execs) the Apache
/// parent. Dropping it stops the server and runs the post-mortem checks,
/// panicking on problems unless the test is already panicking.
pub struct ExpressServer {
    pub child: Child,
    /// The server root: its `error_log`, the processes naming it.
    pub root: PathBuf,
    /// Where the process's stdout and stderr go.
    pub output: PathBuf,
    allow: Vec<Regex>,
    socket_dirs: Vec<PathBuf>,
    /// The server's processes (PID, start time) seen when it was stopped.
    seen: Vec<(i32, Option<u64>)>,
    exit: Option<ExitStatus>,
    /// Problems found while stopping (a server that ignored its signal).
    stop_problems: Vec<String>,
    result: Option<Result<(), String>>,
}

impl ExpressServer {
    /// Spawns `program args` with `env` (and `MOD_WSGI_MODULE` set to the
    /// module under test), stdout/stderr to `<dir>/express.out`, in its own
    /// process group; `root` is the server root it will use.
    pub fn spawn(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        dir: &Path,
        root: &Path,
    ) -> ExpressServer {
        let output = dir.join("express.out");
        fs::File::create(&output).unwrap();
        let stdout = Stdio::from(fs::OpenOptions::new().append(true).open(&output).unwrap());
        Self::spawn_with_stdio(program, args, env, dir, root, Stdio::null(), stdout)
    }

    /// `spawn` with the given stdin and stdout (a terminal, for `--debug-mode`);
    /// stderr still goes to `<dir>/express.out`.
    pub fn spawn_with_stdio(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        dir: &Path,
        root: &Path,
        stdin: Stdio,
        stdout: Stdio,
    ) -> ExpressServer {
        let output = dir.join("express.out");
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&output)
            .unwrap();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("MOD_WSGI_MODULE", module_under_test())
            .stdin(stdin)
            .stdout(stdout)
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Own process group: Apache signals its whole group on shutdown
        // (prefork's killpg), which must not reach the test runner. If the
        // test process dies without running Drop, take the server with it.
        cmd.process_group(0);
        // SAFETY: the hook only calls prctl(2), which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        ExpressServer {
            child: cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {program}: {e}")),
            root: root.to_path_buf(),
            output,
            allow: Vec::new(),
            socket_dirs: vec![root.to_path_buf()],
            seen: Vec::new(),
            exit: None,
            stop_problems: Vec::new(),
            result: None,
        }
    }

    /// Allow error-log lines matching `regex` even if they look fatal.
    pub fn allow_log(mut self, regex: &str) -> Self {
        self.allow.push(allow_regex(regex));
        self
    }

    /// Also check `dir` for leaked daemon sockets (besides the server root
    /// and the directory of the `WSGISocketPrefix` in `<root>/httpd.conf`).
    pub fn socket_dir(mut self, dir: &Path) -> Self {
        self.socket_dirs.push(dir.to_path_buf());
        self
    }

    /// The PID of the process spawned (the Apache parent once it has exec'd).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until `port` accepts connections; panics with the logs if the process exits.
    pub fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + EXPRESS_START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("server exited with {status}; {}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start listening on port {port}; {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn error_log(&self) -> String {
        fs::read_to_string(self.root.join("error_log")).unwrap_or_default()
    }

    /// The process output and the error log, for assertion messages.
    pub fn logs(&self) -> String {
        let out = fs::read_to_string(&self.output).unwrap_or_default();
        format!("output:\n{out}\nerror_log:\n{}", self.error_log())
    }

    /// SIGINT (what Ctrl-C sends) and wait; panics if it does not stop in time.
    pub fn interrupt_and_wait(&mut self) -> ExitStatus {
        self.stop_with(libc::SIGINT)
    }

    /// Send `sig` and wait for the process to exit; panics (after SIGKILL)
    /// if it does not stop in time. Later calls return the first status.
    pub fn stop_with(&mut self, sig: i32) -> ExitStatus {
        let status = self.stop_by(sig);
        if let Some(problem) = self.stop_problems.first() {
            panic!("{problem}; {}", self.logs());
        }
        status
    }

    fn stop_by(&mut self, sig: i32) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        self.seen = self
            .server_processes()
            .into_iter()
            .map(|p| (p, start_time(p)))
            .collect();
        if let Ok(Some(status)) = self.child.try_wait() {
            self.exit = Some(status);
            return status;
        }
        signal(self.pid(), sig);
        let deadline = Instant::now() + EXPRESS_STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.stop_problems.push(format!(
                    "the server (pid {}) did not stop within {EXPRESS_STOP_TIMEOUT:?} \
                     of signal {sig}; SIGKILLed",
                    self.pid()
                ));
                signal(self.pid(), libc::SIGKILL);
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.exit = Some(status);
        status
    }

    /// The spawned process, its descendants, and processes naming the root.
    fn server_processes(&self) -> Vec<i32> {
        let mut pids = descendants(self.pid());
        for p in processes_mentioning(&path_str(&self.root)) {
            if !pids.contains(&p) {
                pids.push(p);
            }
        }
        pids.retain(|&p| pid_alive(p));
        pids
    }

    /// Stop the server (SIGINT) if the test has not, then run the
    /// post-mortem checks. Idempotent; Drop calls it too.
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(r) = &self.result {
            return r.clone();
        }
        self.stop_by(libc::SIGINT);
        let mut problems = self.stop_problems.clone();
        let seen = self.seen.clone();
        let root = path_str(&self.root);
        problems.extend(leftover_processes(
            || {
                let mut left: Vec<i32> = seen
                    .iter()
                    .filter(|(p, t)| pid_alive(*p) && start_time(*p) == *t)
                    .map(|(p, _)| *p)
                    .collect();
                for p in processes_mentioning(&root) {
                    if !left.contains(&p) {
                        left.push(p);
                    }
                }
                left
            },
            LEFTOVER_GRACE,
        ));
        for dir in self.all_socket_dirs() {
            let socks = socket_files(&dir);
            if !socks.is_empty() {
                problems.push(format!(
                    "daemon sockets left in {}: {socks:?}",
                    dir.display()
                ));
            }
        }
        let output = fs::read_to_string(&self.output).unwrap_or_default();
        for (name, text) in [("error_log", self.error_log()), ("output", output)] {
            let fatal = fatal_lines(&text, &self.allow);
            if !fatal.is_empty() {
                problems.push(format!(
                    "fatal lines in the {name}:\n  {}",
                    fatal.join("\n  ")
                ));
            }
        }
        let r = verdict(problems, &self.root);
        self.result = Some(r.clone());
        r
    }

    /// The socket directories: the root, those added with `socket_dir`, and
    /// the directory of `WSGISocketPrefix` in `<root>/httpd.conf`.
    fn all_socket_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.socket_dirs.clone();
        let conf = fs::read_to_string(self.root.join("httpd.conf")).unwrap_or_default();
        for line in conf.lines() {
            let Some(value) = line.trim().strip_prefix("WSGISocketPrefix ") else {
                continue;
            };
            let prefix = PathBuf::from(value.trim().trim_matches(['"', '\'']));
            if let Some(dir) = prefix.parent()
                && !dirs.iter().any(|d| d == dir)
            {
                dirs.push(dir.to_path_buf());
            }
        }
        dirs
    }
}

impl Drop for ExpressServer {
    fn drop(&mut self) {
        let result = self.finish();
        if std::thread::panicking() {
            eprintln!(
                "--- test failed; server root {} ---\n{}",
                self.root.display(),
                tail(&self.logs(), 80)
            );
            if let Err(e) = result {
                eprintln!("--- also after stop: {e}");
            }
            return;
        }
        if let Err(e) = result {
            panic!(
                "express server post-mortem check failed: {e}\n{}",
                tail(&self.logs(), 80)
            );
        }
    }
}

/// The request the express tests send: `GET path` with `Host: localhost`, the
/// name `mod_wsgi-express` serves by default (`--server-name` virtual hosts and
/// redirects are built from it).
pub fn localhost_get(path: &str) -> Request {
    Request::new("GET", path).header("Host", "localhost")
}

/// `localhost_get(path)` on a fresh connection; panics on I/O errors.
pub fn get_localhost(port: u16, path: &str) -> Response {
    Client::new(port)
        .send(&localhost_get(path))
        .unwrap_or_else(|e| panic!("GET {path} on port {port}: {e}"))
}
