//! mod_wsgi-express's telemetry options, as pip's 6.1.1: `--telemetry-service
//! unix:PATH` (with `--telemetry-interval`, `--slow-requests`,
//! `--telemetry-options`) makes every WSGI process report to that socket, which
//! pip's `mod_wsgi-telemetry dump` decodes (both modes); `--enable-telemetry`
//! runs the package's ingester and web UI in a service daemon on
//! `--telemetry-ui-port`, whose `/api/state` then lists the daemon process that
//! served the requests; the options that would do nothing without a service,
//! a target that is not `unix:/path`, and `--enable-telemetry` without the
//! package are refused with a message naming the problem. The package comes
//! from the venv scripts/setup.sh makes (scripts/pip-mod_wsgi-venv.sh).

#[macro_use]
mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VENV: &str = "/var/tmp/mod_wsgi-rs/pip-venv";

const PROBE: &str = "import os, time\n\
def application(environ, start_response):\n    \
    time.sleep(int(environ.get('QUERY_STRING') or 0) / 1000.0)\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'%d' % os.getpid()]\n";

fn venv_bin(name: &str) -> PathBuf {
    let bin = Path::new(VENV).join("bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing: scripts/setup.sh installs mod-wsgi-telemetry 1.1 there \
         (through scripts/pip-mod_wsgi-venv.sh)",
        bin.display()
    );
    bin
}

/// `mod_wsgi-telemetry dump` on `sock`, killed by PID on drop.
struct Dump(Child, PathBuf);

impl Dump {
    fn start(dir: &Path, sock: &Path) -> Dump {
        let out = dir.join("dump.json");
        let child = Command::new(venv_bin("mod_wsgi-telemetry"))
            .args(["dump", "--listen"])
            .arg(format!("unix:{}", sock.display()))
            .args(["--socket-mode", "0666", "--format", "json"])
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .spawn()
            .expect("start mod_wsgi-telemetry dump");
        wait_until(|| sock.exists(), "the dump's socket");
        Dump(child, out)
    }

    /// Decoded records of `kind` from `pid`: the sum of `field` over them.
    fn sum(&self, pid: &str, kind: &str, field: &str) -> f64 {
        let script = "import json, sys\n\
            t = 0\n\
            for line in open(sys.argv[1]):\n    \
                d = json.loads(line)\n    \
                if str(d['pid']) == sys.argv[2] and d['kind'] == sys.argv[3]:\n        \
                    v = d['fields'].get(sys.argv[4], 0)\n        \
                    t += v if isinstance(v, (int, float)) else 1\n\
            print(t)\n";
        let out = Command::new("/usr/bin/python3")
            .args(["-c", script])
            .arg(&self.1)
            .args([pid, kind, field])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0.0)
    }
}

impl Dump {
    /// Waits until the sum of `field` over `kind` records from `pid` is at
    /// least `min`; fails showing everything decoded.
    fn wait(&self, pid: &str, kind: &str, field: &str, min: f64) {
        let until = Instant::now() + Duration::from_secs(30);
        while self.sum(pid, kind, field) < min {
            if Instant::now() > until {
                let all = std::fs::read_to_string(&self.1).unwrap_or_default();
                panic!("no {kind} with {field} >= {min} from {pid}; decoded:\n{all}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(mut ok: impl FnMut() -> bool, what: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start(dir: &Path, extra: &[&str]) -> (ExpressServer, u16) {
    let root = dir.join("root");
    let app = path_str(&dir.join("probe.wsgi"));
    let port = free_port();
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    (server, port)
}

fn prepared() -> tempfile::TempDir {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("probe.wsgi"), PROBE).unwrap();
    open_up(dir.path());
    dir
}

#[test]
fn telemetry_service_in_both_modes() {
    let dir = prepared();
    let sock = dir.path().join("telemetry.sock");
    let dump = Dump::start(dir.path(), &sock);
    let target = format!("unix:{}", sock.display());
    for mode in [&[][..], &["--embedded-mode", "--processes", "1"][..]] {
        let mut args = vec![
            "--telemetry-service",
            &target,
            "--telemetry-interval",
            "0.5",
            "--slow-requests",
            "0.2",
            "--telemetry-options",
            "+CaptureUserAgent",
        ];
        args.extend_from_slice(mode);
        let (mut server, port) = start(dir.path(), &args);
        let slow = Request::new("GET", "/?300").header("User-Agent", "telemetry-test");
        let pid = Client::new(port).send(&slow).expect("request").text();
        for _ in 0..2 {
            assert_eq!(
                get_localhost(port, "/").text(),
                pid,
                "{mode:?}: one process"
            );
        }
        dump.wait(&pid, "request_metrics", "request_count", 3.0);
        assert_eq!(
            dump.sum(&pid, "request_metrics", "request_count"),
            3.0,
            "{mode:?}"
        );
        assert_eq!(
            dump.sum(&pid, "request_metrics", "status_2xx_total"),
            3.0,
            "{mode:?}"
        );
        assert_eq!(
            dump.sum(&pid, "process_started", "hostname"),
            1.0,
            "{mode:?}"
        );
        dump.wait(&pid, "slow_request", "slow_duration", 0.29);
        // The client's User-Agent is captured (+CaptureUserAgent).
        assert_eq!(
            dump.sum(&pid, "slow_request", "slow_user_agent"),
            1.0,
            "{mode:?}"
        );
        server.interrupt_and_wait();
    }
}

#[test]
fn enable_telemetry_runs_the_ingester_and_its_ui() {
    let dir = prepared();
    let ui = free_port().to_string();
    let (mut server, port) = start(
        dir.path(),
        &[
            "--enable-telemetry",
            "--telemetry-ui-port",
            &ui,
            "--telemetry-interval",
            "0.5",
            "--python-home",
            VENV,
        ],
    );
    let pid = get_localhost(port, "/").text();
    let state = format!("http://127.0.0.1:{ui}/api/state");
    // Records sent before the ingester (a Python process importing its web
    // stack) binds its socket are lost, as with mod_wsgi: requests go on
    // until one of the daemon's samples with requests has reached the UI.
    let served = regex::Regex::new(r#""request_count": [1-9]"#).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(get_localhost(port, "/").text(), pid, "one daemon process");
        let last = Command::new("curl")
            .args(["-s", "--max-time", "5", &state])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if last.contains(&format!("\"pid\": {pid},")) && served.is_match(&last) {
            break;
        }
        assert!(
            Instant::now() < until,
            "the UI does not list daemon {pid} with its request:\n{}\n{}",
            &last[..last.len().min(3000)],
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    server.interrupt_and_wait();
}

#[test]
fn refusals_name_the_problem() {
    let dir = prepared();
    let app = path_str(&dir.path().join("probe.wsgi"));
    let root = path_str(&dir.path().join("root"));
    let setup = |extra: &[&str]| {
        let out = Command::new(EXPRESS_EXE)
            .args(["setup-server", &app, "--server-root", &root])
            .args(extra)
            .env_remove("VIRTUAL_ENV")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?} accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for (args, needle) in [
        (
            &["--slow-requests", "1"][..],
            "--slow-requests needs --telemetry-service",
        ),
        (&["--telemetry-interval", "2"], "--telemetry-interval needs"),
        (
            &["--telemetry-options", "+CaptureUserAgent"],
            "--telemetry-options needs",
        ),
        (
            &["--telemetry-service", "udp:127.0.0.1:9"],
            "unix:/absolute/path",
        ),
        (
            &[
                "--telemetry-service",
                "unix:/t.sock",
                "--telemetry-interval",
                "0.1",
            ],
            "at least 0.5",
        ),
        (
            &["--telemetry-service", "unix:/t.sock", "--enable-telemetry"],
            "cannot be used together",
        ),
        (
            &["--enable-telemetry", "--embedded-mode"],
            "cannot be used with --embedded-mode",
        ),
        // The system Python (this build's) has no mod-wsgi-telemetry.
        (&["--enable-telemetry"], "'mod-wsgi-telemetry' package"),
    ] {
        let err = setup(args);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
