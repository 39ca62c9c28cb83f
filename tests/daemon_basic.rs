//! Daemon mode end to end against a real Apache: two `WSGIDaemonProcess`
//! groups each serve their own app with their own pids, cwd, python-path,
//! display name and environ; request bodies reach the daemon; errors map to
//! mod_wsgi 6's statuses; `response-socket-timeout` cancels the daemon
//! request of a client that stopped reading. Run under the event, worker
//! and prefork MPMs.

#[macro_use]
mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn two_groups(mpm: Mpm) {
    ours_only!("WSGIRS log ids and display names");
    let b = Apache::builder(mpm).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let echo = b.app("echo.wsgi");
    let root = b.root().to_path_buf();
    let home_a = root.join("apps");
    let pp = root.join("pp");
    std::fs::create_dir_all(&pp).unwrap();
    let mut apache = b
        .server(format!(
            "WSGIDaemonProcess alpha processes=2 threads=3 display-name=%{{GROUP}} home={} python-path={} umask=0027 lang=C.UTF-8",
            home_a.display(),
            pp.display()
        ))
        // A second user for the second group (Debian's nobody/nogroup; its
        // home, /nonexistent, would stop the daemon, as in mod_wsgi).
        .server(format!(
            "WSGIDaemonProcess beta threads=1 user=nobody group=nogroup home={}",
            home_a.display()
        ))
        .server(format!(
            "WSGIScriptAlias /a \"{}\" process-group=alpha application-group=%{{GLOBAL}}",
            info.display()
        ))
        .server(format!(
            "WSGIScriptAlias /b \"{}\" process-group=beta",
            info.display()
        ))
        .server(format!(
            "WSGIScriptAlias /echo \"{}\" process-group=beta",
            echo.display()
        ))
        .start();
    let a = apache.get("/a/x?q=1");
    assert_eq!(a.status, 200, "{a:?}\n{}", apache.error_log());
    let ka = parse_kv(&a.text());
    assert_eq!(ka["env_group"], "alpha");
    assert_eq!(ka["module_group"], "alpha");
    assert_eq!(ka["multiprocess"], "True");
    assert_eq!(ka["multithread"], "True");
    assert_eq!(ka["cmdline"], "(wsgi:alpha)");
    assert_eq!(ka["cwd"], home_a.to_string_lossy());
    assert_eq!(ka["path0"], home_a.to_string_lossy());
    assert!(
        ka["path"].contains(&*pp.to_string_lossy()),
        "{}",
        ka["path"]
    );
    assert_eq!(ka["umask"], "27");
    assert_eq!(ka["lang"], "C.UTF-8");
    assert_eq!(ka["script_name"], "/a");
    assert_eq!(ka["path_info"], "/x");
    assert_eq!(ka["query"], "q=1");
    assert_eq!(ka["queue_start"], "True");
    assert_eq!(ka["daemon_start"], "True");
    let www = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    assert_eq!(ka["uid"], www.uid.to_string());
    assert_eq!(a.headers_all("Set-Cookie"), vec!["a=1", "b=2"]);

    let b = apache.get("/b");
    assert_eq!(b.status, 200, "{b:?}");
    let kb = parse_kv(&b.text());
    assert_eq!(kb["env_group"], "beta");
    assert_eq!(kb["module_group"], "beta");
    assert_eq!(kb["multiprocess"], "False");
    assert_eq!(kb["multithread"], "False");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(
        kb["uid"],
        nobody.uid.to_string(),
        "beta runs as user=nobody"
    );
    assert_ne!(ka["pid"], kb["pid"]);
    assert!(kb["cmdline"].contains("apache2"), "{}", kb["cmdline"]);
    let children = apache.pids_of_children();
    for k in [&ka, &kb] {
        let pid: i32 = k["pid"].parse().unwrap();
        assert!(
            children.contains(&pid),
            "daemon {pid} is a child of the Apache parent"
        );
    }
    // Both alpha processes serve.
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = apache.get("/a");
        assert_eq!(r.status, 200);
        pids.insert(parse_kv(&r.text())["pid"].clone());
    }
    assert!(!pids.contains(&kb["pid"]));

    // A body goes through (bigger than one credit window and one frame).
    let body: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let r = apache.post("/echo", &body);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, body);

    // Daemons with a display-name do not show the config path, so the
    // harness's leftover check cannot see them: check them by pid.
    let mut daemons: Vec<i32> = pids.iter().map(|p| p.parse().unwrap()).collect();
    daemons.push(kb["pid"].parse().unwrap());
    apache.stop().expect("post-mortem after stop");
    for p in daemons {
        assert!(!pid_alive(p), "daemon {p} survived the stop");
    }
}
per_mpm!(two_groups_serve_their_apps, two_groups);

/// Keys whose values legitimately differ between an embedded and a daemon
/// request (the group's own, as mod_wsgi), or per request anyway.
const DIFFERENT_VALUES: &[&str] = &[
    "mod_wsgi.process_group",
    "mod_wsgi.request_start",
    "mod_wsgi.queue_start",
    "mod_wsgi.daemon_start",
    "mod_wsgi.application_start",
    "mod_wsgi.thread_id",
    "mod_wsgi.connection_id",
    "mod_wsgi.request_id",
    "mod_wsgi.server_pid",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "REMOTE_PORT",
    "SCRIPT_NAME",
    "mod_wsgi.script_name",
    "REQUEST_URI",
    "UNIQUE_ID",
];
/// As mod_wsgi 6: the daemon environ has exactly the embedded keys.
fn environ_parity(mpm: Mpm) {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.app("environ_lines.wsgi");
    let apache = b
        .server("WSGIDaemonProcess par processes=2 threads=4")
        .server(format!(
            "WSGIScriptAlias /emb \"{}\" application-group=%{{GLOBAL}}",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /dae \"{}\" process-group=par application-group=%{{GLOBAL}}",
            app.display()
        ))
        .start();
    let req = |path: &str| {
        let r = apache
            .client()
            .send(
                &Request::new("POST", path)
                    .header("X-Custom", "v")
                    .header("Content-Type", "text/plain")
                    .body("abc"),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{path}: {r:?}\n{}", apache.error_log());
        parse_kv(&r.text())
    };
    let emb = req("/emb/p?x=1");
    let dae = req("/dae/p?x=1");
    for (k, v) in &emb {
        let Some(d) = dae.get(k) else {
            panic!("daemon environ lacks {k} (embedded: {v})");
        };
        if !DIFFERENT_VALUES.contains(&k.as_str()) {
            assert_eq!(d, v, "environ[{k}] differs");
        }
    }
    for k in dae.keys() {
        assert!(emb.contains_key(k), "daemon-only environ key {k}");
    }
    assert_eq!(dae["mod_wsgi.process_group"], "'par'");
    assert_eq!(emb["mod_wsgi.process_group"], "''");
    assert_eq!(dae["wsgi.multiprocess"], "True");
    assert_eq!(dae["wsgi.multithread"], "True");
    assert_eq!(dae["wsgi.input"], emb["wsgi.input"]);
    assert_eq!(dae["HTTP_X_CUSTOM"], "'v'");
    assert_eq!(dae["CONTENT_LENGTH"], "'3'");
}
per_mpm!(daemon_environ_matches_embedded, environ_parity);

fn timeouts_and_truncation(mpm: Mpm) {
    ours_only!("WSGIRS log ids");
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.app("slow_stream.wsgi");
    let apache = b
        .server("WSGIDaemonProcess slow threads=2 socket-timeout=1 header-buffer-size=8192")
        .server(format!(
            "WSGIScriptAlias /s \"{}\" process-group=slow",
            app.display()
        ))
        .start();
    let r = apache.get("/s/head-late?seconds=2.5");
    assert_eq!(r.status, 504, "{r:?}");
    assert!(apache.error_log().contains("[WSGIRS0435]"));
    // Control: in time it works.
    let r = apache.get("/s/head-late?seconds=0.1");
    assert_eq!(r.status, 200, "{r:?}");
    // A response head larger than header-buffer-size allows: 500.
    let r = apache.get("/s/big-head");
    assert_eq!(r.status, 500, "{:?}", r.status);
    assert!(apache.error_log().contains("[WSGIRS0436]"));
    // After the head, a failure truncates: never a clean short response.
    let raw = apache
        .client()
        .raw(b"GET /s/truncate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(text.contains("first chunk"), "{text:?}");
    let body_len = text.split("\r\n\r\n").nth(1).map(str::len).unwrap_or(0);
    assert!(
        body_len < 100,
        "declared 100 bytes, must be cut short: {text:?}"
    );
}
per_mpm!(socket_timeout_and_truncation, timeouts_and_truncation);

/// `response-socket-timeout`: a client that sends its request and then never
/// reads makes the Apache child's writes block; after the timeout (2 s here,
/// while Apache's `Timeout` is 300 s) the child gives up, cancels the daemon
/// request (the app's next `write()` raises OSError) and logs WSGIRS0441, and
/// the daemon's only thread serves the next request. Control: a client that
/// reads gets the whole streamed response.
fn response_socket_timeout(mpm: Mpm) {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let b = Apache::builder(mpm).with_socket_prefix();
    let src = std::fs::read_to_string(apps_dir().join("big_stream.wsgi")).unwrap();
    let app = b.write_app("stream/big_stream.wsgi", &src);
    let dir = app.parent().unwrap().to_path_buf();
    // The daemon (www-data) writes its outcome next to the script.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let info = b.app("daemon_info.wsgi");
    let apache = b
        .server("Timeout 300")
        .server("WSGIDaemonProcess rst processes=1 threads=1 response-socket-timeout=2")
        .server("WSGIProcessGroup rst")
        .server(format!("WSGIScriptAlias /stream \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .start();
    let mark = dir.join("stream.mark");
    let wait_mark = |limit: Duration| -> Option<String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(t) = std::fs::read_to_string(&mark) {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    };
    let pid = parse_kv(&apache.get("/info").text())["pid"].clone();

    // Control: a reading client gets all of an 8 MiB stream.
    let r = apache.get("/stream?mb=8");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body.len(), 8 << 20);
    let outcome = wait_mark(Duration::from_secs(10)).expect("control stream finished");
    assert!(outcome.starts_with("completed"), "{outcome}");
    std::fs::remove_file(&mark).unwrap();

    // A client that never reads.
    let client = apache.client();
    let mut stalled = client.connect().unwrap();
    stalled
        .write_all(&Request::new("GET", "/stream?mb=300").to_bytes(client.port, false))
        .unwrap();
    let sent = Instant::now();
    let outcome = wait_mark(Duration::from_secs(30));
    let took = sent.elapsed();
    let outcome = outcome.unwrap_or_else(|| {
        panic!(
            "the app's writes did not fail within {took:?} (response-socket-timeout=2)\n{}",
            tail(&apache.error_log(), 20)
        )
    });
    assert!(
        outcome.starts_with("failed OSError"),
        "the app must see its write fail: {outcome}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}: {outcome}");
    // The daemon's only thread is free again, in the same process.
    let r = apache.get("/info");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(parse_kv(&r.text())["pid"], pid, "no restart was needed");
    drop(stalled);
    if !is_reference() {
        let log = apache.error_log();
        assert!(
            log.contains("[WSGIRS0441]") && log.contains("response-socket-timeout"),
            "the timeout must be logged with its id:\n{log}"
        );
    }
}
per_mpm!(
    response_socket_timeout_cancels_daemon_request,
    response_socket_timeout
);

fn script_reload(mpm: Mpm) {
    let b = Apache::builder(mpm).with_socket_prefix();
    // The script imports a helper module: a restart (as mod_wsgi) loads it
    // afresh too, which reloading the script alone would not.
    let src = |v: u32| {
        format!(
            "import os, reload_helper\ndef application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version {v} helper %d pid %d' % (reload_helper.VERSION, os.getpid())]\n"
        )
    };
    let script = b.write_app("reload.wsgi", &src(1));
    let helper = script.parent().unwrap().join("reload_helper.py");
    write_file(&helper, "VERSION = 1\n");
    let apache = b
        .log_level("warn wsgi:info")
        .server(format!(
            "WSGIDaemonProcess rl processes=2 threads=2 python-path={}",
            script.parent().unwrap().display()
        ))
        .server(format!(
            "WSGIScriptAlias /r \"{}\" process-group=rl",
            script.display()
        ))
        .start();
    let mut old_pids = std::collections::HashSet::new();
    for _ in 0..6 {
        let r = apache.get("/r");
        assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
        assert!(r.text().starts_with("version 1 helper 1"), "{}", r.text());
        old_pids.insert(r.text().rsplit(' ').next().unwrap().to_string());
    }
    // Steady load while the script changes: no request may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let client = apache.client();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let r = client.get("/r");
                    if r.status != 200 {
                        failures.push(format!("{r:?}"));
                    }
                }
                failures
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    write_file(&script, &src(2));
    write_file(&helper, "VERSION = 2\n");
    // A distinct modification time even on coarse file systems.
    let st = std::process::Command::new("touch")
        .args(["-d", "+5 seconds"])
        .arg(&script)
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        let failures = c.join().unwrap();
        assert!(
            failures.is_empty(),
            "requests failed while the daemon restarted: {failures:?}\n{}",
            apache.error_log()
        );
    }
    for _ in 0..6 {
        let r = apache.get("/r");
        assert_eq!(r.status, 200, "{r:?}");
        let text = r.text();
        assert!(
            text.starts_with("version 2 helper 2"),
            "a touched script must restart the daemon, reloading what it imports: {text}"
        );
        let pid = text.rsplit(' ').next().unwrap();
        assert!(
            !old_pids.contains(pid),
            "served by an old daemon process: {text}"
        );
    }
    if !is_reference() {
        assert!(apache.error_log().contains("[WSGIRS0416]"));
    }
}
per_mpm!(daemon_script_reloading, script_reload);

/// The most common layout: `WSGIDaemonProcess` in the main server and a
/// `<VirtualHost>` with no mod_wsgi directive of its own (Apache then shares
/// the main server's configuration record with it; the group must not count
/// twice), plus a virtual host that uses the group.
#[test]
fn server_level_group_with_virtual_hosts() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let apache = b
        .server("WSGIDaemonProcess shared threads=2")
        .server(format!(
            "WSGIScriptAlias /a \"{}\" process-group=shared application-group=%{{GLOBAL}}",
            info.display()
        ))
        .server("<VirtualHost 127.0.0.1:*>\n    ServerName plain.test\n</VirtualHost>")
        .server(format!(
            "<VirtualHost 127.0.0.1:*>\n    ServerName wsgi.test\n    WSGIScriptAlias /v \"{}\" process-group=shared application-group=%{{GLOBAL}}\n</VirtualHost>",
            info.display()
        ))
        .start();
    let r = apache.get("/a/x");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(parse_kv(&r.text())["env_group"], "shared");
}
