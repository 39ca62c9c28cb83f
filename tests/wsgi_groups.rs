//! Application groups under load and at the edges, and the static
//! attributes of the `mod_wsgi` and `apache` modules, against a real Apache:
//! three groups in one process under concurrent load with C extensions
//! (no crash, no cross-group state, no deadlock, no crash when the process
//! ends them), embedded and in a recycling daemon; a `%{GLOBAL}` request on a
//! thread that served sub-interpreter requests still runs in the main
//! interpreter; several WSGIScriptAlias mounts without WSGIApplicationGroup
//! each get their own interpreter; atexit handlers of sub-interpreters run
//! at shutdown; a sub-interpreter whose set-up fails answers 500 instead of
//! hanging.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;

fn single_child(mpm: Mpm, threads: u32) -> Vec<String> {
    match mpm {
        Mpm::Prefork => vec![
            "StartServers 1".into(),
            "MinSpareServers 1".into(),
            "MaxSpareServers 1".into(),
            "ServerLimit 1".into(),
            "MaxRequestWorkers 1".into(),
        ],
        _ => vec![
            "StartServers 1".into(),
            "ServerLimit 1".into(),
            format!("ThreadLimit {threads}"),
            format!("ThreadsPerChild {threads}"),
            "MinSpareThreads 1".into(),
            format!("MaxSpareThreads {threads}"),
            format!("MaxRequestWorkers {threads}"),
        ],
    }
}

fn stress(mpm: Mpm) {
    stress_in(mpm, None);
}

/// Three groups (two sub-interpreters and the main one) under concurrent
/// load, embedded or in the daemon process group `daemon` (one process of
/// 16 threads, recycled every 60 requests, so several daemons end their
/// three interpreters while the test runs: their deaths are logged only
/// while Apache runs, as "killed by signal" for a crash). The server guard
/// checks that no Apache child crashed at exit. Both are where the
/// interpreters are ended (on CPython 3.12 before 3.12.7 ending them in the
/// wrong order segfaulted: `interp::finalize_all`).
fn stress_in(mpm: Mpm, daemon: Option<&str>) {
    let mut b = Apache::builder(mpm).mpm_sizing(single_child(mpm, 16));
    let app = b.app("group_stress.wsgi");
    let p = app.display();
    let mut to = String::new();
    if let Some(name) = daemon {
        b = b
            .with_socket_prefix()
            .log_level("warn wsgi:info")
            .server(format!(
                "WSGIDaemonProcess {name} processes=1 threads=16 maximum-requests=60"
            ));
        to = format!(" process-group={name}");
    }
    let apache = b
        .server(format!(
            "WSGIScriptAlias /a \"{p}\" application-group=stress-a{to}"
        ))
        .server(format!(
            "WSGIScriptAlias /b \"{p}\" application-group=stress-b{to}"
        ))
        .server(format!(
            "WSGIScriptAlias /g \"{p}\" application-group=%{{GLOBAL}}{to}"
        ))
        .start();
    let client = apache.client();
    let results = concurrently(12, move |i| {
        let mut out = Vec::new();
        for j in 0..25 {
            let (path, group) = [("/a", "stress-a"), ("/b", "stress-b"), ("/g", "")][(i + j) % 3];
            let r = client.get(path);
            out.push((path, group, r.status, r.text()));
        }
        out
    });
    let mut n = 0;
    for (path, group, status, text) in results.into_iter().flatten() {
        n += 1;
        assert_eq!(status, 200, "{path}: {text}");
        assert_eq!(text, format!("group={group}\nok=True\n"), "{path}");
    }
    assert_eq!(n, 300);
    let log = apache.error_log();
    assert!(
        !log.contains("killed by signal"),
        "a daemon crashed:\n{log}"
    );
    if daemon.is_some() {
        assert!(
            log.contains("maximum-requests reached"),
            "no daemon recycled:\n{log}"
        );
    }
}
per_mpm!(three_groups_under_load, stress);

#[test]
fn three_groups_under_load_in_a_daemon() {
    ours_only!("WSGIRS log lines (the daemon's recycling and death)");
    stress_in(Mpm::Event, Some("stress"));
}

/// One process, one thread: a sub-interpreter request, then %{GLOBAL},
/// alternating; %{GLOBAL} must always be the main interpreter.
fn global_after_sub(mpm: Mpm) {
    let b = Apache::builder(mpm).mpm_sizing(single_child(mpm, 1));
    let app = b.app("app_group.wsgi");
    let p = app.display();
    let apache = b
        .server(format!(
            "WSGIScriptAlias /sub \"{p}\" application-group=harness-sub"
        ))
        .server(format!(
            "WSGIScriptAlias /global \"{p}\" application-group=%{{GLOBAL}}"
        ))
        .start();
    for _ in 0..3 {
        let r = apache.get("/sub");
        assert_eq!(parse_kv(&r.text())["module_group"], "harness-sub");
        let r = apache.get("/global");
        assert_eq!(
            parse_kv(&r.text())["module_group"],
            "",
            "a %{{GLOBAL}} request ran in a sub-interpreter"
        );
    }
}
per_mpm!(global_stays_main_interpreter, global_after_sub);

/// Several mounts, no WSGIApplicationGroup: each its own interpreter.
fn mounts_isolated(mpm: Mpm) {
    let b = Apache::builder(mpm).mpm_sizing(single_child(mpm, 4));
    let app = b.app("isolation.wsgi");
    let p = app.display();
    let apache = b
        .server(format!("WSGIScriptAlias /one \"{p}\""))
        .server(format!("WSGIScriptAlias /two \"{p}\""))
        .server(format!("WSGIScriptAlias /three \"{p}\""))
        .start();
    let port = apache.port();
    for _ in 0..2 {
        for mount in ["/one", "/two", "/three"] {
            let kv = parse_kv(&apache.get(mount).text());
            assert_eq!(kv["owner"], mount, "interpreter shared with another mount");
            assert_eq!(kv["group"], format!("127.0.0.1:{port}|{mount}"));
        }
    }
}
per_mpm!(mounts_get_own_interpreters, mounts_isolated);

#[test]
fn atexit_runs_in_sub_interpreters() {
    let b = Apache::builder(Mpm::Event).mpm_sizing(single_child(Mpm::Event, 4));
    let app = b.app("atexit_marker.wsgi");
    let markers = b.root().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    std::fs::set_permissions(
        &markers,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let p = app.display();
    let mut apache = b
        .server(format!(
            "WSGIScriptAlias /sub \"{p}\" application-group=harness-exit"
        ))
        .server(format!(
            "WSGIScriptAlias /main \"{p}\" application-group=%{{GLOBAL}}"
        ))
        .start();
    let q = markers.display();
    assert_eq!(apache.get(&format!("/sub?{q}")).status, 200);
    assert_eq!(apache.get(&format!("/main?{q}")).status, 200);
    apache.stop().expect("clean stop");
    let names: Vec<String> = std::fs::read_dir(&markers)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("atexit-harness-exit-")),
        "sub-interpreter atexit did not run: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("atexit-GLOBAL-")),
        "main interpreter atexit did not run: {names:?}"
    );
}

fn module_attributes(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let app = b.app("module_attrs.wsgi");
    let apache = b
        .server(format!(
            "WSGIScriptAlias /m \"{}\" application-group=attrs",
            app.display()
        ))
        .start();
    let r = apache.get("/m");
    assert_eq!(r.status, 200, "{r:?}");
    let kv = parse_kv(&r.text());
    if !is_reference() {
        assert_eq!(kv["mod_wsgi.version"], "(6, 0, 5)");
    }
    assert_eq!(kv["mod_wsgi.process_group"], "''");
    assert_eq!(kv["mod_wsgi.application_group"], "'attrs'");
    assert_eq!(kv["mod_wsgi.FileWrapper"], "True");
    assert!(kv["apache.version"].starts_with("(2, 4, "), "{kv:?}");
    assert_eq!(kv["apache.mpm_name"], format!("'{}'", mpm.name()));
    assert!(
        kv["apache.description"].starts_with("'Apache/2.4"),
        "{kv:?}"
    );
    // Embedded: from the MPM (ServerLimit / ThreadsPerChild of the harness).
    let (procs, threads) = match mpm {
        Mpm::Prefork => ("50", "1"),
        _ => ("4", "25"),
    };
    for m in ["mod_wsgi", "apache"] {
        assert_eq!(kv[&format!("{m}.maximum_processes")], procs, "{m} {mpm}");
        assert_eq!(
            kv[&format!("{m}.threads_per_process")],
            threads,
            "{m} {mpm}"
        );
    }
    // Quiet period so a slow child start cannot hide a crash.
    std::thread::sleep(Duration::from_millis(50));
}
per_mpm!(mod_wsgi_and_apache_module_attributes, module_attributes);

/// A `.pth` line in `WSGIPythonPath` that lets the main interpreter start but
/// makes every later (sub-)interpreter's set-up raise `SystemExit`, after
/// blocking `import traceback` there so the failure cannot be formatted with
/// its traceback either.
const BREAK_SUB_INTERPRETERS_PTH: &str = r#"import os, sys; exec("if os.environ.get('WSGIRS_TEST_PTH_SEEN'):\n    sys.modules['traceback'] = None\n    raise SystemExit('sub-interpreters refused by the test')\nos.environ['WSGIRS_TEST_PTH_SEEN'] = '1'")
"#;

/// The failed set-up of a sub-interpreter is reported with the sub-
/// interpreter's thread state current and pyo3 not counting the thread as
/// attached: formatting the Python error there must not go through pyo3's
/// attach (PyGILState_Ensure, a deadlock on the GIL this thread holds). The
/// request gets a 500 and the exception is logged, within the client's
/// timeout; the main interpreter keeps serving.
#[test]
fn failed_sub_interpreter_setup_answers_500() {
    ours_only!("the WSGIRS0114 line and the set-up error path are ours");
    let b = Apache::builder(Mpm::Event).mpm_sizing(single_child(Mpm::Event, 2));
    let app = b.app("hello.wsgi");
    let pth = b.write_app("broken_path/zz_break.pth", BREAK_SUB_INTERPRETERS_PTH);
    let dir = pth.parent().unwrap().display().to_string();
    let p = app.display();
    let mut apache = b
        .global(format!("WSGIPythonPath \"{dir}\""))
        .server(format!(
            "WSGIScriptAlias /sub \"{p}\" application-group=refused"
        ))
        .server(format!(
            "WSGIScriptAlias /main \"{p}\" application-group=%{{GLOBAL}}"
        ))
        .start();
    let mut client = apache.client();
    client.timeout = Duration::from_secs(15);
    for _ in 0..2 {
        let r = client
            .send(&Request::new("GET", "/sub"))
            .expect("an answer, not a hang, for a failed sub-interpreter");
        assert_eq!(r.status, 500, "{r:?}");
        assert_eq!(client.get("/main").status, 200);
    }
    assert!(
        apache.wait_for_log(
            "SystemExit: sub-interpreters refused by the test",
            Duration::from_secs(5)
        ),
        "the failure was not logged:\n{}",
        tail(&apache.error_log(), 30)
    );
    apache.stop().expect("clean stop");
}
