//! Daemon mode end to end against a real Apache: two `WSGIDaemonProcess`
//! groups each serve their own app with their own pids, cwd, python-path,
//! display name and environ; request bodies reach the daemon; errors map to
//! mod_wsgi 6's statuses. Run under the event, worker and prefork MPMs.

#[macro_use]
mod common;

use common::*;

fn two_groups(mpm: Mpm) {
    ours_only!("WSGIRS log ids and display names");
    let b = Apache::builder(mpm).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let echo = b.app("echo.wsgi");
    let root = b.root().to_path_buf();
    let home_a = root.join("apps");
    let pp = root.join("pp");
    std::fs::create_dir_all(&pp).unwrap();
    let apache = b
        .server(format!(
            "WSGIDaemonProcess alpha processes=2 threads=3 display-name=%{{GROUP}} home={} python-path={} umask=0027 lang=C.UTF-8",
            home_a.display(),
            pp.display()
        ))
        .server("WSGIDaemonProcess beta threads=1")
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
}
per_mpm!(two_groups_serve_their_apps, two_groups);
