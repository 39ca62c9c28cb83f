//! `mod_wsgi.start_recording_metrics()`, `request_metrics()` and
//! `process_metrics()` against a real Apache, as mod_wsgi 6.1.1: both None
//! until recording is started; then `request_metrics()` returns the
//! interval since the previous call with mod_wsgi's keys and value types,
//! counting the requests served in it by status class, with the body bytes
//! read and written and per-thread completions; `process_metrics()` the
//! lifetime counts of the process. Embedded mode (one Apache child) and
//! daemon mode (one daemon process), under every MPM.

#[macro_use]
mod common;

use common::*;

/// `/before`: whether both accessors are None; `/start`: starts
/// recording; `/hello`, `/missing` (404), `/boom` (raises before
/// start_response), `/echo` (reads the body); `/req` and `/proc`: checks
/// of the dicts as `key=value` words.
const PROBE: &str = r#"import mod_wsgi, os
REQ_FLOAT = ['start_time', 'stop_time', 'sample_period', 'cpu_user_utilization',
    'cpu_user_time', 'cpu_system_utilization', 'cpu_system_time', 'cpu_utilization',
    'cpu_time', 'capacity_utilization', 'request_throughput', 'server_time',
    'application_time', 'request_time', 'gil_wait_time', 'input_read_time',
    'output_write_time']
REQ_INT = ['pid', 'memory_max_rss', 'memory_rss', 'request_threads_maximum',
    'request_threads_started', 'request_threads_active', 'request_count',
    'status_1xx', 'status_2xx', 'status_3xx', 'status_4xx', 'status_5xx',
    'input_bytes', 'input_reads', 'output_bytes', 'output_writes', 'gil_wait_count']
PHASES = ['server_time', 'queue_time', 'daemon_time', 'application_time',
    'request_time', 'gil_wait_time', 'input_read_time', 'output_write_time']
REQ_LIST = [p + '_buckets' for p in PHASES] + ['request_threads_completed',
    'request_threads_buckets', 'request_threads_busy_time', 'request_threads_cpu_time',
    'request_threads_current_elapsed', 'request_threads_max_duration']
MINMAX = [p + s for p in PHASES for s in ('_min_us', '_max_us')]
PROC = {'pid': int, 'request_busy_time': float, 'request_count': int,
    'memory_max_rss': int, 'memory_rss': int, 'cpu_user_time': float,
    'cpu_system_time': float, 'cpu_time': float, 'restart_time': float,
    'current_time': float, 'running_time': int, 'request_threads': int,
    'active_requests': int, 'threads': list}

def req_words(m, daemon):
    keys = set(REQ_FLOAT + REQ_INT + REQ_LIST + MINMAX + ['queue_time', 'daemon_time'])
    optional = {'queue_time', 'daemon_time'} | {k for k in MINMAX}
    types = (set(m) == keys
        and all(type(m[k]) is float for k in REQ_FLOAT)
        and all(type(m[k]) is int for k in REQ_INT)
        and all(type(m[k]) is list for k in REQ_LIST)
        and all(len(m[p + '_buckets']) == 65 for p in PHASES)
        and all(m[k] is None or type(m[k]) is int for k in MINMAX)
        and all(type(m[k]) is (float if daemon else type(None)) for k in ('queue_time', 'daemon_time'))
        and len(m['request_threads_completed']) == m['request_threads_maximum'])
    return ('types=%s count=%d s1=%d s2=%d s3=%d s4=%d s5=%d in=%d out=%d buckets=%d '
            'completed=%d maximum=%d min_ok=%s' % (
        types, m['request_count'], m['status_1xx'], m['status_2xx'], m['status_3xx'],
        m['status_4xx'], m['status_5xx'], m['input_bytes'], m['output_bytes'],
        sum(m['request_time_buckets']), sum(m['request_threads_completed']),
        m['request_threads_maximum'],
        m['request_time_min_us'] is not None
            and m['request_time_min_us'] <= m['request_time_max_us']))

def proc_words(p):
    types = set(p) == set(PROC) and all(type(p[k]) is t for k, t in PROC.items())
    return 'types=%s count=%d active=%d threads=%d pid_ok=%s' % (
        types, p['request_count'], p['active_requests'],
        sum(t['request_count'] for t in p['threads']), p['pid'] == os.getpid())

def application(environ, start_response):
    path = environ['PATH_INFO']
    daemon = mod_wsgi.process_group != ''
    status = '200 OK'
    if path == '/before':
        text = 'none=%s' % (mod_wsgi.request_metrics() is None and mod_wsgi.process_metrics() is None)
    elif path == '/start':
        text = 'started=%s' % (mod_wsgi.start_recording_metrics() is None)
    elif path == '/req':
        text = req_words(mod_wsgi.request_metrics(), daemon)
    elif path == '/proc':
        text = proc_words(mod_wsgi.process_metrics())
    elif path == '/missing':
        status, text = '404 Not Found', 'missing'
    elif path == '/boom':
        raise RuntimeError('boom')
    elif path == '/echo':
        text = 'x' * len(environ['wsgi.input'].read())
    else:
        text = 'hello'
    text += ' me=%d' % os.getpid()
    start_response(status, [('Content-Type', 'text/plain')])
    return [text.encode()]
"#;

fn word(text: &str, key: &str) -> String {
    text.split(' ')
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {text:?}"))
        .to_string()
}

fn num(text: &str, key: &str) -> u64 {
    word(text, key).parse().unwrap()
}

/// One Apache child, so that every embedded request reaches the same
/// process.
fn one_child(mpm: Mpm) -> Vec<&'static str> {
    match mpm {
        Mpm::Prefork => vec![
            "StartServers 1",
            "MinSpareServers 1",
            "MaxSpareServers 1",
            "ServerLimit 1",
            "MaxRequestWorkers 1",
        ],
        Mpm::Event | Mpm::Worker => vec![
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

fn start(mpm: Mpm) -> Apache {
    let b = Apache::builder(mpm)
        .with_socket_prefix()
        .mpm_sizing(one_child(mpm));
    let app = b.write_app("metrics.wsgi", PROBE);
    b.server("WSGIDaemonProcess metrics processes=1 threads=3")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=metrics",
            app.display()
        ))
        .allow_log("RuntimeError|boom|Exception occurred|Traceback|raise")
        .start()
}

fn ok(apache: &Apache, path: &str) -> String {
    let r = apache.get(path);
    assert_eq!(r.status, 200, "{path}: {r:?}\n{}", apache.error_log());
    r.text()
}

/// The whole sequence, in one process (the Apache child; in daemon mode
/// the group's only process).
fn check(apache: &Apache, prefix: &str, threads: u64) {
    let at = |path: &str| format!("{prefix}{path}");
    let before = ok(apache, &at("/before"));
    assert_eq!(word(&before, "none"), "True", "{before}");
    let started = ok(apache, &at("/start"));
    assert_eq!(word(&started, "started"), "True", "{started}");
    // Drains the first interval: the next one holds exactly what follows
    // (this /req itself included, as it completes after its sample).
    let first = ok(apache, &at("/req"));
    let me = word(&first, "me");
    for _ in 0..3 {
        ok(apache, &at("/hello"));
    }
    assert_eq!(apache.get(&at("/missing")).status, 404);
    assert_eq!(apache.get(&at("/boom")).status, 500);
    let echoed = apache.post(&at("/echo"), &[b'a'; 1000]);
    assert_eq!(echoed.status, 200, "{echoed:?}");
    let m = ok(apache, &at("/req"));
    assert_eq!(word(&m, "me"), me, "one process served the sequence: {m}");
    let log = apache.error_log();
    assert_eq!(word(&m, "types"), "True", "{prefix}: {m}\n{log}");
    assert_eq!(num(&m, "count"), 7, "{prefix}: {m}");
    assert_eq!(
        (
            num(&m, "s1"),
            num(&m, "s2"),
            num(&m, "s3"),
            num(&m, "s4"),
            num(&m, "s5")
        ),
        (0, 5, 0, 1, 1),
        "{prefix}: {m}"
    );
    assert_eq!(num(&m, "in"), 1000, "{prefix}: {m}");
    // 3 x 'hello me=PID', 'missing me=PID', 1000 x 'x' + ' me=PID', and
    // the first /req's answer: at least the fixed parts.
    assert!(num(&m, "out") >= 3 * 5 + 7 + 1000, "{prefix}: {m}");
    assert_eq!(num(&m, "buckets"), 7, "{prefix}: {m}");
    // mod_wsgi 6.1.1 keeps no per-thread counts in a prefork child.
    let unthreaded_reference = is_reference() && prefix == "/e" && threads == 1;
    if !unthreaded_reference {
        assert_eq!(num(&m, "completed"), 7, "{prefix}: {m}");
    }
    assert_eq!(num(&m, "maximum"), threads, "{prefix}: {m}");
    assert_eq!(word(&m, "min_ok"), "True", "{prefix}: {m}");
    // The lifetime counts: at least the 10 requests completed before this
    // one, this request the one active, and the threads' counts (which
    // count a request when it starts) adding up to both.
    let p = ok(apache, &at("/proc"));
    assert_eq!(word(&p, "types"), "True", "{prefix}: {p}");
    assert_eq!(word(&p, "pid_ok"), "True", "{prefix}: {p}");
    assert!(num(&p, "count") >= 10, "{prefix}: {p}");
    if !unthreaded_reference {
        assert_eq!(num(&p, "threads"), num(&p, "count") + 1, "{prefix}: {p}");
    }
    assert_eq!(num(&p, "active"), 1, "{prefix}: {p}");
}

fn counts(mpm: Mpm) {
    let apache = start(mpm);
    let threads = match mpm {
        Mpm::Prefork => 1,
        _ => 4,
    };
    check(&apache, "/e", threads);
    check(&apache, "/d", 3);
}

per_mpm!(request_and_process_metrics, counts);
