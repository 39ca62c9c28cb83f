//! `WSGITelemetryService` against the real ingester: pip's
//! `mod-wsgi-telemetry` 1.1 (`mod_wsgi-telemetry dump --format json`,
//! installed by scripts/setup.sh in the venv of
//! scripts/pip-mod_wsgi-venv.sh) listens on the socket, Apache serves
//! requests in embedded mode (one child) and in a daemon process, and the
//! records it decoded are checked: `process_started` from each process
//! with its identity, `request_metrics` records whose request counts add
//! up to the requests each process served (by pid, with the status class
//! and a plausible application time), a `slow_request` record for the
//! request over `WSGISlowRequests`, the interpreter's `gc_snapshot` and a
//! `gc_event` for a collection the application ran, and `process_stopping` /
//! `process_stopped` from the daemon when Apache stops. Under every MPM.

#[macro_use]
mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VENV: &str = "/var/tmp/mod_wsgi-rs/pip-venv";

/// Sleeps `?ms` milliseconds (`?gc`: runs a full collection); answers its pid.
const APP: &str = r#"import gc, os, time
def application(environ, start_response):
    q = environ.get('QUERY_STRING')
    if q == 'gc':
        gc.collect()
    time.sleep((int(q) if q.isdigit() else 0) / 1000.0)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'pid=%d' % os.getpid()]
"#;

/// Prints one line per (pid, kind) summing what the records say.
const SUMMARY: &str = r#"import json, sys, collections
acc = collections.OrderedDict()
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    d = json.loads(line)
    f = d['fields']
    a = acc.setdefault((d['pid'], d['kind']), {'n': 0})
    a['n'] += 1
    for k, v in f.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if k.endswith('_max') or k in ('lifetime_request_count', 'process_parent_pid'):
                a[k] = max(a.get(k, 0), v)
            else:
                a[k] = a.get(k, 0) + v
        elif isinstance(v, str):
            a[k] = v.replace(' ', '_') or '-'
for (pid, kind), a in acc.items():
    print('pid=%d kind=%s %s' % (pid, kind, ' '.join('%s=%s' % kv for kv in a.items())))
"#;

/// The ingester's `dump`, started before Apache and stopped by PID.
struct Dump {
    child: Child,
    out: PathBuf,
}

impl Dump {
    fn start(root: &Path) -> (Dump, PathBuf) {
        let bin = Path::new(VENV).join("bin/mod_wsgi-telemetry");
        assert!(
            bin.exists(),
            "{} is missing: scripts/setup.sh installs mod-wsgi-telemetry 1.1 there \
             (through scripts/pip-mod_wsgi-venv.sh)",
            bin.display()
        );
        let sock = root.join("telemetry.sock");
        let out = root.join("dump.json");
        let child = Command::new(&bin)
            .args(["dump", "--listen"])
            .arg(format!("unix:{}", sock.display()))
            .args(["--socket-mode", "0666", "--format", "json"])
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mod_wsgi-telemetry dump");
        let until = Instant::now() + Duration::from_secs(20);
        while !sock.exists() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            sock.exists(),
            "mod_wsgi-telemetry dump did not bind {}",
            sock.display()
        );
        (Dump { child, out }, sock)
    }

    /// Lines of the summary of everything decoded so far.
    fn summary(&self) -> Vec<String> {
        let out = Command::new("/usr/bin/python3")
            .args(["-c", SUMMARY])
            .arg(&self.out)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    /// The summary line of `kind` from `pid`, waiting up to 20 s for
    /// `ready` to hold on it.
    fn wait_for(&self, pid: &str, kind: &str, ready: impl Fn(&str) -> bool) -> String {
        let prefix = format!("pid={pid} kind={kind} ");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = self.summary();
            if let Some(l) = lines.iter().find(|l| l.starts_with(&prefix) && ready(l)) {
                return l.clone();
            }
            if Instant::now() > until {
                panic!(
                    "no {kind} record from {pid} as expected; decoded:\n{}",
                    lines.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn word(line: &str, key: &str) -> String {
    line.split(' ')
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
        .to_string()
}

fn num(line: &str, key: &str) -> f64 {
    word(line, key).parse().unwrap()
}

fn one_child(mpm: Mpm) -> Vec<&'static str> {
    match mpm {
        Mpm::Prefork => vec![
            "StartServers 1",
            "MinSpareServers 1",
            "MaxSpareServers 1",
            "ServerLimit 1",
            "MaxRequestWorkers 1",
        ],
        _ => vec![
            "StartServers 1",
            "ServerLimit 1",
            "ThreadLimit 4",
            "ThreadsPerChild 4",
            "MinSpareThreads 1",
            "MaxSpareThreads 4",
            "MaxRequestWorkers 4",
        ],
    }
}

/// Sends `n` requests to `path`, two of them sleeping 300 and 2000 ms,
/// one running a garbage collection; returns the
/// pid that served them (one process).
fn serve(apache: &Apache, path: &str, n: usize) -> String {
    let mut pids = Vec::new();
    for i in 0..n {
        let q = match i {
            0 => "?300",
            1 => "?gc",
            2 => "?2000",
            _ => "",
        };
        let r = apache.get(&format!("{path}{q}"));
        assert_eq!(r.status, 200, "{path}: {r:?}");
        pids.push(word(&r.text(), "pid"));
    }
    pids.dedup();
    assert_eq!(pids.len(), 1, "{path} served by one process: {pids:?}");
    pids.remove(0)
}

fn decoded(mpm: Mpm) {
    ours_only!("checks our records; run pip's mod_wsgi against the dump by hand");
    let b = Apache::builder(mpm)
        .with_socket_prefix()
        .mpm_sizing(one_child(mpm));
    let (dump, sock) = Dump::start(b.root());
    let app = b.write_app("tele.wsgi", APP);
    let mut apache = b
        .global(format!(
            "WSGITelemetryService unix:{} interval=0.5",
            sock.display()
        ))
        .global("WSGISlowRequests 0.2")
        .server("WSGIDaemonProcess tele processes=1 threads=2")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=tele",
            app.display()
        ))
        .start();
    let embedded = serve(&apache, "/e", 5);
    let daemon = serve(&apache, "/d", 4);
    for (pid, group, n) in [(&embedded, "-", 5.0), (&daemon, "tele", 4.0)] {
        let started = dump.wait_for(pid, "process_started", |_| true);
        assert_eq!(word(&started, "mod_wsgi_version"), "6.0.5", "{started}");
        assert_eq!(word(&started, "mpm_name"), mpm.name(), "{started}");
        if group != "-" {
            assert_eq!(word(&started, "process_group"), group, "{started}");
        }
        let req = dump.wait_for(pid, "request_metrics", |l| num(l, "request_count") >= n);
        assert_eq!(num(&req, "request_count"), n, "{req}");
        assert_eq!(num(&req, "status_2xx_total"), n, "{req}");
        // The 2000 ms request: its application time, well under a minute.
        let app_max = num(&req, "application_time_max");
        assert!((1.99..60.0).contains(&app_max), "{req}");
        assert!(num(&req, "output_bytes_total") >= n * 8.0, "{req}");
        // The 300 ms and 2000 ms requests, completed (state 1), the latter
        // also reported while running (state 0) at an interval on the way.
        let slow = dump.wait_for(pid, "slow_request", |l| num(l, "slow_record_state") >= 2.0);
        assert_eq!(num(&slow, "slow_record_state"), 2.0, "{slow}");
        assert!(num(&slow, "n") >= 3.0, "a running record too: {slow}");
        assert_eq!(word(&slow, "slow_method"), "GET", "{slow}");
        assert!(num(&slow, "slow_duration") >= 2.29, "{slow}");
        assert_eq!(
            num(&slow, "slow_status"),
            400.0,
            "two 200s, running ones 0: {slow}"
        );
        // The interpreter's collector: its counters each interval, and the
        // full collection the ?gc request ran.
        let gc = dump.wait_for(pid, "gc_snapshot", |_| true);
        assert!(num(&gc, "gc_threshold0") > 0.0, "{gc}");
        let event = dump.wait_for(pid, "gc_event", |l| num(l, "gc_event_generation") >= 2.0);
        assert!(num(&event, "gc_event_duration") >= 0.0, "{event}");
    }
    apache.stop().expect("clean stop");
    let stopped = dump.wait_for(&daemon, "process_stopped", |_| true);
    assert_eq!(num(&stopped, "lifetime_request_count"), 4.0, "{stopped}");
    assert_eq!(
        word(&stopped, "shutdown_reason"),
        "shutdown_signal",
        "{stopped}"
    );
    dump.wait_for(&daemon, "process_stopping", |_| true);
}

per_mpm!(ingester_decodes_our_records, decoded);

/// Configuration mistakes fail `apache2 -t` naming the directive and the
/// value; the valid forms pass; inside `<VirtualHost>` they are refused.
#[test]
fn directive_errors_fail_config_test() {
    let good = [
        "WSGITelemetryService unix:/tmp/t.sock",
        "WSGITelemetryService unix:/tmp/t.sock interval=0.5",
        "WSGISlowRequests 1.5",
        "WSGISlowRequests 0",
        "WSGITelemetryOptions +CaptureUserAgent",
        "WSGITelemetryOptions None",
    ];
    for line in good {
        let ct = Apache::builder(Mpm::Event).global(line).config_test();
        assert!(ct.ok(), "{line}: {}", ct.output);
    }
    let bad = [
        (
            "WSGITelemetryService udp:127.0.0.1:9000",
            "udp:127.0.0.1:9000",
        ),
        (
            "WSGITelemetryService unix:relative.sock",
            "unix:relative.sock",
        ),
        (
            "WSGITelemetryService unix:/tmp/t.sock interval=0.1",
            "interval=0.1",
        ),
        ("WSGITelemetryService unix:/tmp/t.sock every=2", "every=2"),
        ("WSGISlowRequests soon", "soon"),
        ("WSGISlowRequests -1", "'-1'"),
        ("WSGITelemetryOptions CaptureCookies", "CaptureCookies"),
        ("WSGITelemetryOptions +CaptureUserAgent All", "All"),
    ];
    for (line, value) in bad {
        if is_reference() && !line.contains("udp:") {
            // mod_wsgi accepts some of these (atof, no path check).
            continue;
        }
        let ct = Apache::builder(Mpm::Event).global(line).config_test();
        let directive = line.split(' ').next().unwrap();
        assert!(!ct.ok(), "{line} accepted:\n{}", ct.output);
        if is_reference() {
            // mod_wsgi's message does not repeat the value.
            continue;
        }
        assert!(
            ct.output.contains(directive) && ct.output.contains(value),
            "{line}: the message must name {directive} and {value}:\n{}",
            ct.output
        );
    }
    let ct = Apache::builder(Mpm::Event)
        .global("<VirtualHost 127.0.0.1:80>\nWSGISlowRequests 1\n</VirtualHost>")
        .config_test();
    assert!(!ct.ok(), "{}", ct.output);
    assert!(ct.output.contains("WSGISlowRequests"), "{}", ct.output);
}

/// A daemon that recycles after `maximum-requests` says so: `process_stopping`
/// and `process_stopped` with mod_wsgi's `maximum_requests`, its lifetime
/// count and a completed drain; its replacement sends `process_started`.
#[test]
fn recycled_daemon_reports_why() {
    ours_only!("checks our records; run pip's mod_wsgi against the dump by hand");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let (dump, sock) = Dump::start(b.root());
    let app = b.write_app("tele.wsgi", APP);
    let apache = b
        .global(format!(
            "WSGITelemetryService unix:{} interval=0.5",
            sock.display()
        ))
        .server("WSGIDaemonProcess tele processes=1 threads=1 maximum-requests=2")
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=tele",
            app.display()
        ))
        .start();
    let first = word(&apache.get("/d").text(), "pid");
    assert_eq!(word(&apache.get("/d").text(), "pid"), first);
    let stopping = dump.wait_for(&first, "process_stopping", |_| true);
    assert_eq!(
        word(&stopping, "shutdown_reason"),
        "maximum_requests",
        "{stopping}"
    );
    let stopped = dump.wait_for(&first, "process_stopped", |_| true);
    assert_eq!(
        word(&stopped, "shutdown_reason"),
        "maximum_requests",
        "{stopped}"
    );
    assert_eq!(num(&stopped, "lifetime_request_count"), 2.0, "{stopped}");
    assert_eq!(num(&stopped, "graceful_drain"), 1.0, "{stopped}");
    // The replacement serves and announces itself.
    let second = word(&apache.get("/d").text(), "pid");
    assert_ne!(second, first);
    dump.wait_for(&second, "process_started", |_| true);
}

/// With a telemetry service the samples are the reporter's: the Python
/// accessors return None even after `start_recording_metrics()`, as in
/// mod_wsgi (both modes).
#[test]
fn accessors_are_none_under_telemetry() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let sock = b.root().join("nobody-listens.sock");
    let app = b.write_app(
        "acc.wsgi",
        "import mod_wsgi\n\
         def application(environ, start_response):\n    \
             mod_wsgi.start_recording_metrics()\n    \
             body = '%s %s' % (mod_wsgi.request_metrics(), mod_wsgi.process_metrics())\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [body.encode()]\n",
    );
    let apache = b
        .global(format!("WSGITelemetryService unix:{}", sock.display()))
        .server("WSGIDaemonProcess tele processes=1 threads=1")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=tele",
            app.display()
        ))
        .start();
    for path in ["/e", "/d"] {
        let r = apache.get(path);
        assert_eq!(
            (r.status, r.text()),
            (200, "None None".to_string()),
            "{path}"
        );
    }
}
