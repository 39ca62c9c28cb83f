//! The resource options of `WSGIDaemonProcess` against a real Apache (event
//! MPM; none of this depends on the MPM): `cpu-priority`, `memory-limit`,
//! `virtual-memory-limit`, `cpu-time-limit` (soft and hard RLIMIT_CPU as
//! mod_wsgi sets them), `stack-size` (the request threads' stack),
//! `send-buffer-size` and `receive-buffer-size` (the daemon's listening
//! socket) are what a daemon application sees; allocations beyond the memory
//! limits fail with MemoryError; a daemon that burns through
//! `cpu-time-limit` stops gracefully on SIGXCPU and is replaced; values out of range
//! fail `apache2 -t` naming the option, the value and what is expected.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// Reports pid, rlimits, nice value, the worker thread's stack size and
/// the listening socket's buffer sizes as key=value lines; `?burn=N` burns
/// CPU for up to N seconds first.
const LIMITS_APP: &str = r#"
import ctypes, os, resource, socket, time

def stack_size():
    libc = ctypes.CDLL(None)
    libc.pthread_self.restype = ctypes.c_ulong
    attr = ctypes.create_string_buffer(256)
    if libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr) != 0:
        return -1
    size = ctypes.c_size_t()
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    libc.pthread_attr_destroy(attr)
    return size.value

def listener_buffers():
    for fd in os.listdir('/proc/self/fd'):
        try:
            s = socket.fromfd(int(fd), socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            continue
        try:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1:
                return (s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                        s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        except OSError:
            pass
        finally:
            s.close()
    return (-1, -1)

def application(environ, start_response):
    q = environ.get('QUERY_STRING', '')
    if q.startswith('alloc='):
        try:
            block = bytearray(int(q[6:]))
            result = 'ok'
            del block
        except MemoryError:
            result = 'MemoryError'
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('pid=%d\nalloc=%s\n' % (os.getpid(), result)).encode()]
    if q.startswith('burn='):
        until = time.time() + float(q[5:])
        while time.time() < until:
            pass
    lines = ['pid=%d' % os.getpid()]
    for name in ('RLIMIT_CPU', 'RLIMIT_DATA', 'RLIMIT_AS'):
        soft, hard = resource.getrlimit(getattr(resource, name))
        lines.append('%s=%d,%d' % (name, soft, hard))
    lines.append('nice=%d' % os.getpriority(os.PRIO_PROCESS, 0))
    lines.append('stack=%d' % stack_size())
    snd, rcv = listener_buffers()
    lines.append('sndbuf=%d' % snd)
    lines.append('rcvbuf=%d' % rcv)
    body = ('\n'.join(lines) + '\n').encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
"#;

fn builder(options: &str) -> ApacheBuilder {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("limits.wsgi", LIMITS_APP);
    b.log_level("warn wsgi:info")
        .server(format!("WSGIDaemonProcess lim {options}"))
        .server("WSGIProcessGroup lim")
        .server(format!("WSGIScriptAlias /limits \"{}\"", app.display()))
}

fn limits(apache: &Apache, path: &str) -> std::collections::BTreeMap<String, String> {
    let r = apache.get(path);
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    parse_kv(&r.text())
}

#[test]
fn limits_are_what_the_daemon_sees() {
    let apache = builder(
        "threads=2 cpu-priority=7 memory-limit=4000000000 virtual-memory-limit=8000000000 \
         cpu-time-limit=600 shutdown-timeout=3 stack-size=1048576 send-buffer-size=65536 \
         receive-buffer-size=131072",
    )
    .start();
    let kv = limits(&apache, "/limits");
    assert_eq!(kv["nice"], "7", "{kv:?}");
    assert_eq!(kv["RLIMIT_DATA"], "4000000000,4000000000", "{kv:?}");
    assert_eq!(kv["RLIMIT_AS"], "8000000000,8000000000", "{kv:?}");
    // As mod_wsgi: the hard limit is the soft one + 1 + shutdown-timeout.
    assert_eq!(kv["RLIMIT_CPU"], "600,604", "{kv:?}");
    let stack: i64 = kv["stack"].parse().unwrap();
    assert!(
        (1048576..1048576 + 256 * 1024).contains(&stack),
        "request thread stack {stack} for stack-size=1048576"
    );
    // Linux doubles the value given to SO_SNDBUF/SO_RCVBUF for bookkeeping.
    assert_eq!(kv["sndbuf"], "131072", "{kv:?}");
    assert_eq!(kv["rcvbuf"], "262144", "{kv:?}");
}

#[test]
fn without_options_the_system_defaults_stay() {
    let apache = builder("threads=2").start();
    let kv = limits(&apache, "/limits");
    assert_eq!(kv["nice"], "0", "{kv:?}");
    assert_eq!(kv["RLIMIT_CPU"], "-1,-1", "{kv:?}");
    let stack: i64 = kv["stack"].parse().unwrap();
    assert!(
        !(1048576..1048576 + 256 * 1024).contains(&stack),
        "default stack {stack}"
    );
}

#[test]
fn negative_cpu_priority_when_started_as_root() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: a negative nice value needs Apache started as root");
        return;
    }
    let apache = builder("threads=1 cpu-priority=-4").start();
    assert_eq!(limits(&apache, "/limits")["nice"], "-4");
}

#[test]
fn cpu_time_limit_stops_and_replaces_the_daemon() {
    // graceful-timeout=1: the burning request holds the graceful stop for
    // 1 s, then gets shutdown-timeout (1 s), well before the hard limit.
    let apache = builder("threads=2 cpu-time-limit=2 graceful-timeout=1 shutdown-timeout=1")
        .allow_log("WSGIRS0407|WSGIRS0434")
        .start();
    let first = limits(&apache, "/limits");
    assert_eq!(first["RLIMIT_CPU"], "2,4", "{first:?}");
    let started = Instant::now();
    let r = apache.get("/limits?burn=30");
    let took = started.elapsed();
    assert_ne!(r.status, 200, "the burning request must not finish: {r:?}");
    assert!(
        took < Duration::from_secs(15),
        "the daemon must stop within the CPU limit + shutdown-timeout, took {took:?}"
    );
    // The replacement serves (retry while it starts).
    let deadline = Instant::now() + Duration::from_secs(15);
    let kv = loop {
        let r = apache.get("/limits");
        if r.status == 200 {
            break parse_kv(&r.text());
        }
        assert!(
            Instant::now() < deadline,
            "no replacement daemon: {r:?}\n{}",
            apache.error_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_ne!(kv["pid"], first["pid"], "a new daemon process must serve");
    ours_only!("WSGIRS log ids");
    let log = apache.error_log();
    // SIGXCPU began a graceful stop (the burning request was running).
    assert!(
        log.contains("[WSGIRS0470]") && log.contains("cpu-time-limit reached (SIGXCPU)"),
        "{log}"
    );
}

#[test]
fn limit_values_out_of_range_fail_config_test() {
    ours_only!("our messages");
    let cases = [
        ("cpu-time-limit=-1", "must be at least 0"),
        ("cpu-priority=20", "must be from -20 to 19"),
        ("cpu-priority=high", "not a number"),
        ("memory-limit=-1", "must be at least 0"),
        ("virtual-memory-limit=1G", "not a number"),
        ("stack-size=0", "must be at least 1"),
        ("send-buffer-size=511", "must be at least 512 (or 0)"),
        ("receive-buffer-size=100", "must be at least 512 (or 0)"),
    ];
    for (arg, why) in cases {
        let ct = Apache::builder(Mpm::Event)
            .server(format!("WSGIDaemonProcess g {arg}"))
            .config_test();
        assert!(!ct.ok(), "{arg} must fail apache2 -t:\n{}", ct.output);
        let (key, value) = arg.split_once('=').unwrap();
        for needle in [
            format!("WSGIDaemonProcess g: invalid value '{value}' for option '{key}'"),
            why.to_string(),
            "expected".to_string(),
        ] {
            assert!(
                ct.output.contains(&needle),
                "{arg}: missing {needle:?} in:\n{}",
                ct.output
            );
        }
    }
    // Control: 0 (the system's default) is accepted everywhere mod_wsgi accepts it.
    let ct = Apache::builder(Mpm::Event)
        .server(
            "WSGIDaemonProcess g cpu-time-limit=0 memory-limit=0 virtual-memory-limit=0 \
             send-buffer-size=0 receive-buffer-size=0 cpu-priority=0",
        )
        .config_test();
    assert!(ct.ok(), "{}", ct.output);
}

/// Beyond `memory-limit` (RLIMIT_DATA) or `virtual-memory-limit` (RLIMIT_AS)
/// an allocation fails with MemoryError; the process keeps serving.
#[test]
fn allocations_beyond_the_memory_limits_fail() {
    for option in ["memory-limit=1000000000", "virtual-memory-limit=3000000000"] {
        let apache = builder(&format!("threads=2 {option}")).start();
        let small = limits(&apache, "/limits?alloc=100000000");
        assert_eq!(small["alloc"], "ok", "{option}: {small:?}");
        let big = limits(&apache, "/limits?alloc=4000000000");
        assert_eq!(big["alloc"], "MemoryError", "{option}: {big:?}");
        let after = limits(&apache, "/limits?alloc=100000000");
        assert_eq!(after["alloc"], "ok", "{option}: {after:?}");
        assert_eq!(after["pid"], small["pid"], "{option}: the process survives");
    }
}
