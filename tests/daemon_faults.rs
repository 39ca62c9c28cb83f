//! Faults under load, against a real Apache: while a bounded client loop
//! runs (a few threads sending requests back to back, one connection each,
//! every status and latency recorded), a daemon process is killed (SIGKILL,
//! SIGSEGV) or stopped for longer than `socket-timeout` (SIGSTOP, SIGCONT in
//! a guard); the daemon's listen backlog is overfilled; clients close their
//! connection mid-request and mid-response; slowloris connections send
//! their headers byte by byte; and slow request bodies hold daemon threads. Each test states what the clients get (only
//! the requests in the victim fail, with mod_wsgi's 502/503/504, within the
//! timeouts), that Apache's workers stay available, and that service
//! recovers. The statuses are mod_wsgi's (src/server/wsgi_remote.c): 502 when
//! the daemon closes before the response head, 504 when no head comes within
//! `socket-timeout`, 503 when no connection within `connect-timeout`.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// One request of a client loop.
#[derive(Debug)]
struct Outcome {
    start: Instant,
    took: Duration,
    /// Status and body, or the I/O error.
    result: Result<(u16, String), String>,
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        self.result.as_ref().ok().map(|(s, _)| *s)
    }
}

/// `clients` threads sending GET `path` back to back until `run_for` has
/// passed (a request started before then runs to its end); every request has
/// a 20 s client timeout. Returns every outcome, in no particular order.
fn client_loop(
    client: Client,
    path: &'static str,
    clients: usize,
    run_for: Duration,
) -> std::thread::JoinHandle<Vec<Outcome>> {
    let client = Client {
        timeout: Duration::from_secs(20),
        ..client
    };
    let until = Instant::now() + run_for;
    std::thread::spawn(move || {
        let threads: Vec<_> = (0..clients)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    while Instant::now() < until {
                        let start = Instant::now();
                        let result = client
                            .send(&Request::new("GET", path))
                            .map(|r| (r.status, r.text()))
                            .map_err(|e| e.to_string());
                        out.push(Outcome {
                            start,
                            took: start.elapsed(),
                            result,
                        });
                    }
                    out
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("client thread"))
            .collect()
    })
}

/// The daemon pid in a sleep.wsgi body ("slept S in PID:TID").
fn sleep_pid(body: &str) -> Option<i32> {
    body.split(" in ").nth(1)?.split(':').next()?.parse().ok()
}

/// Waits until 4 concurrent half-second requests are served by two distinct
/// daemon processes (2 processes x 2 threads: each serves 2 when both are
/// up), for up to 15 s; returns those pids.
fn both_daemons_serve(apache: &Apache) -> BTreeSet<i32> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let client = apache.client();
        let rs = concurrently(4, move |_| client.get("/sleep?seconds=0.5"));
        assert!(
            rs.iter().all(|r| r.status == 200),
            "{rs:?}\n{}",
            tail(&apache.error_log(), 30)
        );
        let pids: BTreeSet<i32> = rs.iter().filter_map(|r| sleep_pid(&r.text())).collect();
        if pids.len() == 2 {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "two daemon processes did not both serve: {pids:?}\n{}",
            tail(&apache.error_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Two daemon processes of two threads each, serving sleep.wsgi at /sleep
/// and hello.wsgi at /hello; `options` are added to WSGIDaemonProcess.
/// Apache logs the death of every process it reaps, its daemons included
/// (`AH00052 ... exit signal Segmentation fault (11)`): allowed for the
/// SIGSEGV test, which checks that only its victim is named.
fn two_daemons(mpm: Mpm, options: &str) -> Apache {
    let b = Apache::builder(mpm)
        .with_socket_prefix()
        .allow_log(r"AH00052: child pid \d+ exit signal Segmentation fault \(11\)");
    let sleep = b.app("sleep.wsgi");
    let hello = b.app("hello.wsgi");
    b.log_level("warn wsgi:info")
        .server(format!(
            "WSGIDaemonProcess faults processes=2 threads=2 {options}"
        ))
        .server("WSGIProcessGroup faults")
        .server(format!("WSGIScriptAlias /sleep \"{}\"", sleep.display()))
        .server(format!("WSGIScriptAlias /hello \"{}\"", hello.display()))
        .start()
}

/// Prints how many requests got which status and the slowest of each.
fn summary(outcomes: &[Outcome]) {
    let mut by_status = std::collections::BTreeMap::new();
    for o in outcomes {
        let e = by_status.entry(o.status()).or_insert((0, Duration::ZERO));
        e.0 += 1;
        e.1 = e.1.max(o.took);
    }
    eprintln!("status: (count, slowest): {by_status:?}");
}

/// Asserts every outcome is an answer with a status in `allowed`, and
/// returns the failed ones (status other than 200).
fn failures<'a>(outcomes: &'a [Outcome], allowed: &[u16], log: &str) -> Vec<&'a Outcome> {
    assert!(outcomes.len() >= 8, "too few requests: {outcomes:?}");
    for o in outcomes {
        match o.status() {
            Some(s) if allowed.contains(&s) => {}
            _ => panic!(
                "request got {o:?}, not one of {allowed:?}\n{}",
                tail(log, 30)
            ),
        }
    }
    outcomes
        .iter()
        .filter(|o| o.status() != Some(200))
        .collect()
}

/// A daemon process dies by `sig` while 4 clients send 0.3 s requests to 2
/// processes x 2 threads: only requests in flight at the death fail (at
/// least one, at most the victim's 2 threads), each with 502 and at once
/// (well within socket-timeout=5), the rest get 200 from the other process;
/// the parent logs the signal (WSGIRS0407), restarts the process, and
/// afterwards both processes serve and 10 requests in a row succeed.
fn killed_under_load(sig: i32) {
    ours_only!("the WSGIRS0407 log line");
    let apache = two_daemons(Mpm::Event, "socket-timeout=5");
    let before = both_daemons_serve(&apache);
    let victim = *before.iter().next().unwrap();
    let load = client_loop(
        apache.client(),
        "/sleep?seconds=0.3",
        4,
        Duration::from_secs(4),
    );
    std::thread::sleep(Duration::from_secs(1));
    signal(victim, sig);
    let killed = Instant::now();
    let outcomes = load.join().unwrap();
    let log = apache.error_log();
    let failed = failures(&outcomes, &[200, 502], &log);
    summary(&outcomes);
    assert!(
        (1..=2).contains(&failed.len()),
        "expected 1 or 2 requests (those in the victim) to fail: {failed:?}"
    );
    // kill(2) returns before the victim is gone: on a loaded machine it may
    // still take a connection in the moment before the signal lands.
    let landed = killed + Duration::from_millis(500);
    for o in &failed {
        assert!(
            o.start < landed && o.start + o.took > killed,
            "a 502 for a request not in flight at the kill: {o:?}"
        );
        assert!(o.took < Duration::from_secs(3), "502 too late: {o:?}");
    }
    assert!(
        outcomes.iter().all(|o| o.took < Duration::from_secs(5)),
        "a request took longer than socket-timeout"
    );
    let died = format!("daemon process {victim} of group 'faults' killed by signal {sig}");
    assert!(
        apache.wait_for_log(&died, Duration::from_secs(5)),
        "the parent did not log {died:?}:\n{}",
        tail(&apache.error_log(), 30)
    );
    // Apache's own line for the reaped process names the same pid and
    // signal; a segfault of any other process stays fatal for the harness.
    let segv_lines: Vec<String> = apache
        .error_log()
        .lines()
        .filter(|l| l.contains("Segmentation fault"))
        .map(str::to_string)
        .collect();
    let expected = if sig == libc::SIGSEGV {
        vec![format!(
            "AH00052: child pid {victim} exit signal Segmentation fault (11)"
        )]
    } else {
        vec![]
    };
    assert_eq!(
        segv_lines
            .iter()
            .map(|l| l.split("] ").last().unwrap_or(l))
            .collect::<Vec<_>>(),
        expected,
        "segfault lines"
    );
    let after = both_daemons_serve(&apache);
    assert!(!after.contains(&victim), "{after:?} still has {victim}");
    assert!(!pid_alive(victim));
    for _ in 0..10 {
        let r = apache.get("/hello");
        assert_eq!(r.status, 200, "{r:?}");
    }
}

#[test]
fn sigkill_of_a_daemon_under_load_fails_only_its_requests() {
    killed_under_load(libc::SIGKILL);
}

#[test]
fn sigsegv_of_a_daemon_under_load_fails_only_its_requests() {
    killed_under_load(libc::SIGSEGV);
}

/// Sends SIGCONT to a stopped process when dropped (also on a failed test).
struct ContinueOnDrop(i32);

impl Drop for ContinueOnDrop {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

/// A daemon process stopped (SIGSTOP) for 4.5 s, longer than
/// socket-timeout=2, while 4 clients send 0.2 s requests: the requests it
/// holds get 504 after socket-timeout (2 to 3.5 s, WSGIRS0435), at least one
/// and at most its 2 threads; every other request gets 200 from the other
/// process in under socket-timeout. After SIGCONT the same process serves
/// again (it is not restarted) beside the other one.
#[test]
fn sigstop_longer_than_socket_timeout_gives_504_and_recovers() {
    ours_only!("WSGIRS log ids");
    let apache = two_daemons(Mpm::Event, "socket-timeout=2");
    let before = both_daemons_serve(&apache);
    let victim = *before.iter().next().unwrap();
    let load = client_loop(
        apache.client(),
        "/sleep?seconds=0.2",
        4,
        Duration::from_secs(6),
    );
    std::thread::sleep(Duration::from_secs(1));
    let stopped = {
        let _cont = ContinueOnDrop(victim);
        signal(victim, libc::SIGSTOP);
        let at = Instant::now();
        std::thread::sleep(Duration::from_millis(4500));
        at
    };
    let outcomes = load.join().unwrap();
    let log = apache.error_log();
    let failed = failures(&outcomes, &[200, 504], &log);
    summary(&outcomes);
    assert!(
        (1..=2).contains(&failed.len()),
        "expected 1 or 2 requests (those in the stopped process) to get 504: {failed:?}"
    );
    for o in &failed {
        assert!(
            o.start < stopped,
            "a 504 for a request sent after the stop: {o:?}"
        );
        assert!(
            o.took >= Duration::from_secs(2) && o.took < Duration::from_millis(3500),
            "504 not at socket-timeout: {o:?}"
        );
    }
    for o in outcomes.iter().filter(|o| o.status() == Some(200)) {
        assert!(o.took < Duration::from_secs(2), "slow 200: {o:?}");
        let while_stopped =
            o.start > stopped && o.start + o.took < stopped + Duration::from_millis(4500);
        assert!(
            !while_stopped || sleep_pid(&o.result.as_ref().unwrap().1) != Some(victim),
            "the stopped process answered: {o:?}"
        );
    }
    assert_eq!(
        log.matches("[WSGIRS0435]").count(),
        failed.len(),
        "one WSGIRS0435 per 504:\n{}",
        tail(&log, 30)
    );
    let after = both_daemons_serve(&apache);
    assert_eq!(after, before, "the stopped process must serve again");
    for _ in 0..10 {
        assert_eq!(apache.get("/hello").status, 200);
    }
}

/// One daemon thread, `listen-backlog=1`, `connect-timeout=1`, a 2 s app
/// and 6 concurrent clients: the daemon serves one request and the kernel
/// queues two connections (Linux admits backlog + 1 on a Unix socket); the
/// other Apache children find the backlog full (`EAGAIN`), retry with
/// mod_wsgi's back-off and give up after connect-timeout with 503
/// (WSGIRS0432) instead of waiting for the daemon. Those queued get 200
/// within socket-timeout; afterwards requests are served again.
#[test]
fn full_listen_backlog_gives_503_after_connect_timeout() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let sleep = b.app("sleep.wsgi");
    let apache = b
        .server(
            "WSGIDaemonProcess backlog processes=1 threads=1 listen-backlog=1 \
             connect-timeout=1 socket-timeout=10",
        )
        .server("WSGIProcessGroup backlog")
        .server(format!("WSGIScriptAlias /sleep \"{}\"", sleep.display()))
        .start();
    assert_eq!(apache.get("/sleep?seconds=0").status, 200);
    let client = apache.client();
    let outcomes = concurrently(6, move |_| {
        let start = Instant::now();
        let result = client
            .send(&Request::new("GET", "/sleep?seconds=2"))
            .map(|r| (r.status, r.text()))
            .map_err(|e| e.to_string());
        Outcome {
            start,
            took: start.elapsed(),
            result,
        }
    });
    let log = apache.error_log();
    for o in &outcomes {
        eprintln!("{:?} after {:?}", o.status(), o.took);
    }
    let statuses: Vec<_> = outcomes.iter().map(Outcome::status).collect();
    let served = statuses.iter().filter(|s| **s == Some(200)).count();
    let refused = statuses.iter().filter(|s| **s == Some(503)).count();
    assert!(
        served + refused == 6 && (1..=3).contains(&served),
        "expected 1 to 3 served and the rest 503: {outcomes:?}\n{}",
        tail(&log, 30)
    );
    for o in &outcomes {
        let limit = if o.status() == Some(503) {
            // connect-timeout, then at most one 125 ms pause and slack.
            Duration::from_millis(2500)
        } else {
            Duration::from_secs(10)
        };
        assert!(o.took < limit, "{o:?} took longer than {limit:?}");
    }
    if !is_reference() {
        assert_eq!(log.matches("[WSGIRS0432]").count(), refused, "{log}");
    }
    for _ in 0..3 {
        let r = apache.get("/sleep?seconds=0");
        assert_eq!(r.status, 200, "{r:?}");
    }
}

/// One daemon process with one thread serving echo.wsgi (reads the whole
/// body) and daemon_info.wsgi, socket-timeout=3.
fn one_thread_daemon(extra: &[(&str, &str)]) -> (Apache, std::path::PathBuf) {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let echo = b.app("echo.wsgi");
    let info = b.app("daemon_info.wsgi");
    let src = std::fs::read_to_string(apps_dir().join("big_stream.wsgi")).unwrap();
    let stream = b.write_app("stream/big_stream.wsgi", &src);
    let dir = stream.parent().unwrap().to_path_buf();
    // The daemon (www-data) writes its outcome next to the script.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut b = b
        .server("WSGIDaemonProcess one processes=1 threads=1 socket-timeout=3")
        .server("WSGIProcessGroup one")
        .server(format!("WSGIScriptAlias /echo \"{}\"", echo.display()))
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .server(format!("WSGIScriptAlias /stream \"{}\"", stream.display()));
    for (k, v) in extra {
        b = b.server(format!("{k} {v}"));
    }
    (b.start(), dir)
}

/// GET /info within `limit`: the daemon's only thread is free. Returns its pid.
fn thread_is_free(apache: &Apache, limit: Duration) -> String {
    let start = Instant::now();
    let r = apache.get("/info");
    let took = start.elapsed();
    assert_eq!(r.status, 200, "{r:?}\n{}", tail(&apache.error_log(), 30));
    assert!(
        took < limit,
        "the daemon thread was busy for {took:?} (socket-timeout=3)"
    );
    parse_kv(&r.text())["pid"].clone()
}

/// A client promises a 1 MB body, sends 64 KiB, and closes, three times in
/// a row against a daemon with one thread: each time the thread is free
/// again at once (the next request is answered in under 1.5 s, where a
/// thread left waiting for the body would hold it for socket-timeout=3),
/// by the same process (no crash, no restart): the Apache child reads EOF
/// from the client and the application's `wsgi.input.read()` raises
/// OSError at once.
#[test]
fn client_closing_mid_request_frees_the_daemon_thread() {
    let (apache, _) = one_thread_daemon(&[]);
    let pid = thread_is_free(&apache, Duration::from_secs(5));
    let client = apache.client();
    for _ in 0..3 {
        let mut s = client.connect().unwrap();
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 1000000\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            client.port
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&vec![b'x'; 65536]).unwrap();
        // Let the daemon start reading the body, then go away.
        std::thread::sleep(Duration::from_millis(300));
        drop(s);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(thread_is_free(&apache, Duration::from_millis(1500)), pid);
    }
    let r = apache.post("/echo", b"whole");
    assert_eq!((r.status, r.text()), (200, "whole".to_string()));
    if !is_reference() {
        // Each time the application's wsgi.input.read() raised OSError.
        let log = apache.error_log();
        assert_eq!(
            log.matches("OSError: client connection closed: request body incomplete")
                .count(),
            3,
            "{}",
            tail(&log, 40)
        );
    }
}

/// A client reads the head and 256 KiB of a 300 MiB streamed response and
/// closes: the Apache child's write fails, the daemon request is cancelled
/// (the application's next write raises OSError, well before Apache's
/// `Timeout` of 60 s) and the daemon's only thread serves the next request,
/// in the same process. Three times in a row.
#[test]
fn client_closing_mid_response_frees_the_daemon_thread() {
    let (apache, dir) = one_thread_daemon(&[]);
    let pid = thread_is_free(&apache, Duration::from_secs(5));
    let mark = dir.join("stream.mark");
    let client = apache.client();
    for _ in 0..3 {
        let _ = std::fs::remove_file(&mark);
        let mut s = client.connect().unwrap();
        s.write_all(&Request::new("GET", "/stream?mb=300").to_bytes(client.port, false))
            .unwrap();
        let mut got = vec![0; 256 * 1024];
        s.read_exact(&mut got).unwrap();
        assert!(got.starts_with(b"HTTP/1.1 200 "));
        let closed = Instant::now();
        drop(s);
        let outcome = loop {
            if let Ok(t) = std::fs::read_to_string(&mark) {
                break t;
            }
            assert!(
                closed.elapsed() < Duration::from_secs(5),
                "the stream did not stop within 5 s of the client closing\n{}",
                tail(&apache.error_log(), 20)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            outcome.starts_with("failed OSError"),
            "the app must see its write fail: {outcome}"
        );
        assert_eq!(thread_is_free(&apache, Duration::from_millis(1500)), pid);
    }
}

/// A slowloris connection: sends a request head one byte every 250 ms;
/// returns how long the server kept it and what it answered.
fn slowloris(port: u16, run_until: Instant) -> Vec<(Duration, String)> {
    let head = format!("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ");
    let mut out = Vec::new();
    while Instant::now() < run_until {
        let start = Instant::now();
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
        let mut answer = Vec::new();
        let mut sent = s.write_all(head.as_bytes()).is_ok();
        while sent && Instant::now() < run_until + Duration::from_secs(10) {
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
            sent = s.write_all(b"x").is_ok();
        }
        let first_line = String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        out.push((start.elapsed(), first_line));
    }
    out
}

/// Slowloris: 8 connections (twice MaxRequestWorkers 4) send their request
/// heads a byte every 250 ms, reconnecting when closed, for 6 s, while a
/// normal client keeps asking a daemon-mode app. Apache 2.4 reads request
/// heads in a worker (thread or prefork process) under every MPM, so each
/// slow connection holds one; what frees them is Apache's own
/// `RequestReadTimeout header=2` (mod_reqtimeout): each slow connection is
/// answered 408 and closed within 2 s (+ slack), so the normal client's
/// requests all get 200 within 8 s (it may wait behind the slow connections
/// queued before it). Nothing of ours is involved before the head is
/// complete; without mod_reqtimeout the normal client would wait for
/// `Timeout` (60 s).
fn slowloris_does_not_exhaust_workers(mpm: Mpm) {
    let sizing: Vec<&str> = match mpm {
        Mpm::Event | Mpm::Worker => vec![
            "StartServers 1",
            "ServerLimit 1",
            "ThreadLimit 4",
            "ThreadsPerChild 4",
            "MinSpareThreads 1",
            "MaxSpareThreads 4",
            "MaxRequestWorkers 4",
        ],
        Mpm::Prefork => vec![
            "StartServers 4",
            "MinSpareServers 1",
            "MaxSpareServers 4",
            "ServerLimit 4",
            "MaxRequestWorkers 4",
        ],
    };
    let b = Apache::builder(mpm).with_socket_prefix().mpm_sizing(sizing);
    let hello = b.app("hello.wsgi");
    let apache = b
        .global(format!(
            "LoadModule reqtimeout_module {APACHE_MODULES}/mod_reqtimeout.so"
        ))
        .server("RequestReadTimeout header=2 body=5")
        .server("WSGIDaemonProcess loris processes=1 threads=2")
        .server("WSGIProcessGroup loris")
        .server(format!("WSGIScriptAlias /hello \"{}\"", hello.display()))
        .start();
    assert_eq!(apache.get("/hello").status, 200);
    let port = apache.port();
    let until = Instant::now() + Duration::from_secs(6);
    let lorises: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || slowloris(port, until)))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let normal = client_loop(apache.client(), "/hello", 1, Duration::from_millis(5000))
        .join()
        .unwrap();
    let slow: Vec<(Duration, String)> = lorises
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let log = apache.error_log();
    let worst = normal.iter().map(|o| o.took).max();
    let held = slow.iter().map(|(t, _)| *t).max();
    eprintln!(
        "{mpm}: {} normal requests, slowest {worst:?}; {} slow connections, held at most {held:?}",
        normal.len(),
        slow.len()
    );
    assert!(!normal.is_empty());
    for o in &normal {
        assert_eq!(o.status(), Some(200), "{o:?}\n{}", tail(&log, 20));
        assert!(o.took < Duration::from_secs(8), "{o:?}");
    }
    // Every slow connection that ran its course was cut at header=2.
    let cut: Vec<_> = slow.iter().filter(|(_, line)| !line.is_empty()).collect();
    assert!(
        cut.len() >= 8,
        "too few slow connections were cut: {slow:?}"
    );
    for (took, line) in &cut {
        assert!(line.contains(" 408 "), "{line:?}");
        assert!(
            *took < Duration::from_secs(6),
            "slow connection held {took:?}"
        );
    }
}
per_mpm!(
    slowloris_is_cut_by_request_read_timeout,
    slowloris_does_not_exhaust_workers
);

/// A slow body: a POST to echo.wsgi whose 2000-byte body comes a byte every
/// 250 ms. Returns how long the server kept the connection and the first
/// line of what it answered.
fn slow_body(port: u16) -> (Duration, String) {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 2000\r\n\
         Connection: close\r\n\r\n"
    );
    let mut answer = Vec::new();
    let mut sent = s.write_all(head.as_bytes()).is_ok();
    while sent && start.elapsed() < Duration::from_secs(20) {
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        sent = s.write_all(b"x").is_ok();
    }
    let first = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (start.elapsed(), first)
}

/// Slow request bodies in daemon mode: each holds a daemon thread (the
/// application is blocked in `wsgi.input.read()`) as well as an Apache
/// worker, for as long as Apache lets the body trickle in. Two of them
/// against a daemon of two threads, with `RequestReadTimeout body=2`: Apache
/// cuts each body at 2 s: the slow client gets 408 (as mod_wsgi's "Request
/// data read error when proxying data to daemon process", WSGIRS0600) and its
/// connection is closed within 4 s, the application's read raises OSError,
/// and a normal request sent meanwhile is answered 200 within 5 s, by the
/// same daemon process.
/// What bounds the hold is Apache's timeout (here mod_reqtimeout's; else
/// `Timeout`), not ours: the daemon waits for body bytes as long as the
/// Apache child relays them, as mod_wsgi does.
#[test]
fn slow_bodies_hold_daemon_threads_only_until_request_read_timeout() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let echo = b.app("echo.wsgi");
    let info = b.app("daemon_info.wsgi");
    let apache = b
        .global(format!(
            "LoadModule reqtimeout_module {APACHE_MODULES}/mod_reqtimeout.so"
        ))
        .server("RequestReadTimeout header=5 body=2")
        .server("WSGIDaemonProcess slowbody processes=1 threads=2")
        .server("WSGIProcessGroup slowbody")
        .server(format!("WSGIScriptAlias /echo \"{}\"", echo.display()))
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .start();
    let pid = parse_kv(&apache.get("/info").text())["pid"].clone();
    let port = apache.port();
    let slow: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(move || slow_body(port)))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let r = apache.get("/info");
    let took = start.elapsed();
    let slow: Vec<(Duration, String)> = slow.into_iter().map(|t| t.join().unwrap()).collect();
    let log = apache.error_log();
    eprintln!("normal request after {took:?}; slow bodies: {slow:?}");
    assert_eq!(r.status, 200, "{r:?}\n{}", tail(&log, 30));
    assert_eq!(parse_kv(&r.text())["pid"], pid, "no restart");
    assert!(
        took > Duration::from_millis(500),
        "the daemon threads were not held by the slow bodies ({took:?})"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    for (held, line) in &slow {
        assert!(*held < Duration::from_secs(4), "slow body held {held:?}");
        assert!(line.contains(" 408 "), "{line:?}\n{}", tail(&log, 30));
    }
    if !is_reference() {
        assert_eq!(log.matches("[WSGIRS0600]").count(), 2, "{}", tail(&log, 30));
    }
}
