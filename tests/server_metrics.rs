//! `mod_wsgi.server_metrics()` against a real Apache, as mod_wsgi 6.1.1: None
//! unless `WSGIServerMetrics On` (Apache children) or `server-metrics=on`
//! (that daemon group), the two independent; open, a snapshot of the
//! scoreboard with mod_wsgi's keys and value types, every process slot up
//! to ServerLimit with ThreadLimit worker slots each, the Apache child
//! serving the request among them with a worker writing the reply ('W'),
//! and access counts that grow as requests complete. Under event, worker
//! and prefork (one worker slot per process), embedded and daemon mode.

#[macro_use]
mod common;

use common::*;

/// Answers `None`, or `key=value` words computed from the snapshot: its
/// shape and types checked against mod_wsgi's, the pids of processes with a
/// worker busy ('W' or 'G'), the total of access_count and this process's pid.
const PROBE: &str = r#"import mod_wsgi, os
TOP = {'server_limit': int, 'thread_limit': int, 'running_generation': int,
       'restart_time': float, 'current_time': float, 'running_time': int,
       'processes': list}
PROC = {'process_num': int, 'pid': int, 'generation': int, 'quiescing': bool,
        'workers': list}
WORKER = {'thread_num': int, 'generation': int, 'status': str,
          'access_count': int, 'bytes_served': int, 'start_time': float,
          'stop_time': float, 'last_used': float, 'client': str,
          'request': str, 'vhost': str}
def typed(d, spec):
    return set(d) == set(spec) and all(type(d[k]) is t for k, t in spec.items())
def application(environ, start_response):
    m = mod_wsgi.server_metrics()
    if m is None:
        text = 'None'
    else:
        procs = m['processes']
        workers = [w for p in procs for w in p['workers']]
        types = (typed(m, TOP) and all(typed(p, PROC) for p in procs)
                 and all(typed(w, WORKER) for w in workers)
                 and all(len(w['status']) == 1 for w in workers))
        shape = (len(procs) == m['server_limit']
                 and all(len(p['workers']) == m['thread_limit'] for p in procs)
                 and [p['process_num'] for p in procs] == list(range(len(procs)))
                 and 0 <= m['running_time'] <= m['current_time'] - m['restart_time'] + 1)
        # 'W': writing the reply; 'G': the same in a child finishing
        # gracefully (the old generation, just after a graceful restart).
        busy = sorted({p['pid'] for p in procs for w in p['workers'] if w['status'] in 'WG'})
        text = 'types=%s shape=%s thread_limit=%d busy=%s total=%d' % (
            types, shape, m['thread_limit'], ','.join(map(str, busy)),
            sum(w['access_count'] for w in workers))
    text += ' me=%d' % os.getpid()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [text.encode()]
"#;

/// The words of one probe answer.
struct Answer(String);

impl Answer {
    fn word(&self, key: &str) -> &str {
        self.0
            .split(' ')
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {:?}", self.0))
    }
    fn is_none(&self) -> bool {
        self.0.starts_with("None ")
    }
    fn busy(&self) -> Vec<i32> {
        self.word("busy")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect()
    }
    fn total(&self) -> u64 {
        self.word("total").parse().unwrap()
    }
}

fn ask(apache: &Apache, path: &str) -> Answer {
    let r = apache.get(path);
    assert_eq!(r.status, 200, "{path}: {r:?}\n{}", apache.error_log());
    Answer(r.text())
}

/// Embedded (`/e`) and daemon (`/d`, group `on`, `server-metrics=on`) probes.
fn start(mpm: Mpm, global: &str) -> Apache {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("metrics.wsgi", PROBE);
    // Apache counts accesses and records requests in the scoreboard only
    // with ExtendedStatus (on by default when mod_status is loaded).
    b.global("ExtendedStatus On")
        .global(global)
        .server("WSGIDaemonProcess on processes=2 threads=3 server-metrics=on")
        .server("WSGIDaemonProcess off threads=2")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=on",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /off \"{}\" process-group=off",
            app.display()
        ))
        .start()
}

/// An open gate: the shape and types are mod_wsgi's, the Apache child that
/// serves the request is writing its reply, and counts grow by at least
/// the requests completed between two snapshots.
fn check_open(apache: &Apache, path: &str, thread_limit: i32) {
    let first = ask(apache, path);
    assert!(!first.is_none(), "{path}: {}", first.0);
    assert_eq!(first.word("types"), "True", "{path}: {}", first.0);
    assert_eq!(first.word("shape"), "True", "{path}: {}", first.0);
    assert_eq!(
        first.word("thread_limit"),
        thread_limit.to_string(),
        "{path}"
    );
    let children = apache.pids_of_children();
    let busy = first.busy();
    assert!(
        busy.iter().any(|p| children.contains(p)),
        "{path}: no Apache child ({children:?}) writing a reply in {busy:?}"
    );
    if path == "/e" {
        let me: i32 = first.word("me").parse().unwrap();
        assert!(busy.contains(&me), "{path}: own child {me} not in {busy:?}");
    }
    // Apache counts a request once its response is written (under event,
    // sometimes a few requests later): poll, generously bounded.
    let mut later = ask(apache, path);
    for _ in 0..30 {
        if later.total() >= first.total() + 4 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        later = ask(apache, path);
    }
    assert!(
        later.total() >= first.total() + 4,
        "{path}: access counts {} then {}",
        first.total(),
        later.total()
    );
}

fn open_in_both_modes(mpm: Mpm, thread_limit: i32) {
    let apache = start(mpm, "WSGIServerMetrics On");
    check_open(&apache, "/e", thread_limit);
    check_open(&apache, "/d", thread_limit);
    // WSGIServerMetrics is not a default for daemon groups.
    assert!(ask(&apache, "/off").is_none());
}

#[test]
fn open_under_event() {
    open_in_both_modes(Mpm::Event, 32);
}

#[test]
fn open_under_worker() {
    open_in_both_modes(Mpm::Worker, 32);
}

#[test]
fn open_under_prefork() {
    open_in_both_modes(Mpm::Prefork, 1);
}

/// Without `WSGIServerMetrics`, the children's gate is closed; the daemon
/// group's own option still opens its gate.
#[test]
fn closed_by_default_and_gates_are_independent() {
    let apache = start(Mpm::Event, "WSGIServerMetrics Off");
    assert!(ask(&apache, "/e").is_none());
    assert!(ask(&apache, "/off").is_none());
    check_open(&apache, "/d", 32);
}

/// Daemons started again by a graceful restart, and by a restart, fork
/// at once (the scoreboard lives on) and still see it.
#[test]
fn daemons_see_the_scoreboard_after_restarts() {
    let apache = start(Mpm::Event, "");
    apache.graceful();
    check_open(&apache, "/d", 32);
    apache.restart();
    check_open(&apache, "/d", 32);
}

#[test]
fn directive_context_and_values_as_mod_wsgi() {
    let ct = Apache::builder(Mpm::Event)
        .server("<VirtualHost 127.0.0.1:*>\n    ServerName v.test\n    WSGIServerMetrics On\n</VirtualHost>")
        .config_test();
    assert!(!ct.ok());
    assert!(
        ct.output
            .contains("WSGIServerMetrics cannot occur within <VirtualHost> section"),
        "{}",
        ct.output
    );
    for bad in [
        "WSGIServerMetrics maybe",
        "WSGIDaemonProcess g server-metrics=yes",
    ] {
        let ct = Apache::builder(Mpm::Event).global(bad).config_test();
        assert!(!ct.ok(), "{bad} must fail");
    }
    ours_only!("our messages");
    let ct = Apache::builder(Mpm::Event)
        .global("WSGIServerMetrics maybe")
        .config_test();
    assert!(
        ct.output
            .contains("WSGIServerMetrics must be one of: Off | On (got 'maybe')"),
        "{}",
        ct.output
    );
    let ct = Apache::builder(Mpm::Event)
        .global("WSGIDaemonProcess g server-metrics=yes")
        .config_test();
    assert!(
        ct.output
            .contains("WSGIDaemonProcess g: invalid value 'yes' for option 'server-metrics'"),
        "{}",
        ct.output
    );
}
