//! Daemon mode, the default layout: `mod_wsgi-express start-server` runs the
//! application in the `WSGIDaemonProcess` group `HOST:PORT` (a process named
//! `(wsgi:HOST:PORT:UID)`, a child of the Apache parent that is not an Apache worker),
//! `--embedded-mode` runs it inside Apache's children, the daemon options reach the
//! daemon (`--processes`, `--threads`, `--python-path`, `--locale`, `--process-group`),
//! script reloading follows `--disable-reloading`, and SIGINT leaves no daemon process
//! and no socket behind. Real Apache with the module under test, loopback ports only.

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const INFO_APP: &str = r#"
import os, sys

def application(environ, start_response):
    with open("/proc/self/cmdline", "rb") as f:
        cmd = f.read().split(b"\0")[0].decode()
    try:
        import daemon_helper
        helper = daemon_helper.WORD
    except ImportError:
        helper = "-"
    import mod_wsgi
    body = "|".join(str(v) for v in [
        environ.get("mod_wsgi.process_group"), os.getpid(), os.getppid(), cmd,
        environ["wsgi.multiprocess"], environ["wsgi.multithread"],
        mod_wsgi.maximum_processes, mod_wsgi.threads_per_process,
        os.environ.get("LC_ALL"), helper, os.getcwd(), "v1", os.getuid(),
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

/// What the app reports about the process serving it.
struct Info {
    group: String,
    pid: u32,
    ppid: u32,
    cmd: String,
    multiprocess: String,
    multithread: String,
    processes: String,
    threads: String,
    lc_all: String,
    helper: String,
    cwd: String,
    version: String,
    uid: u32,
}

fn info(port: u16) -> Info {
    let r = get_localhost(port, "/info");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", r.text());
    let f: Vec<String> = r.text().split('|').map(str::to_string).collect();
    assert_eq!(f.len(), 13, "{}", r.text());
    Info {
        group: f[0].clone(),
        pid: f[1].parse().unwrap(),
        ppid: f[2].parse().unwrap(),
        cmd: f[3].clone(),
        multiprocess: f[4].clone(),
        multithread: f[5].clone(),
        processes: f[6].clone(),
        threads: f[7].clone(),
        lc_all: f[8].clone(),
        helper: f[9].clone(),
        cwd: f[10].clone(),
        version: f[11].clone(),
        uid: f[12].parse().unwrap(),
    }
}

/// PIDs whose argv[0] is exactly `name`.
fn processes_named(name: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let argv0 = cmd.split(|b| *b == 0).next().unwrap_or_default();
        if String::from_utf8_lossy(argv0).trim_end() == name {
            found.push(pid);
        }
    }
    found
}

fn sockets_in(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("wsgi.") && n.ends_with(".sock"))
                .collect()
        })
        .unwrap_or_default()
}

fn start(dir: &Path, port: u16, extra: &[&str]) -> ExpressServer {
    let root = dir.join("root");
    let app = path_str(&dir.join("info.wsgi"));
    let port_s = port.to_string();
    let root_s = path_str(&root);
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--working-directory", path_str(dir).leak()]);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    server
}

fn scratch_with_app() -> tempfile::TempDir {
    let dir = scratch();
    std::fs::write(dir.path().join("info.wsgi"), INFO_APP).unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/daemon_helper.py"), "WORD = 'lib'\n").unwrap();
    open_up(dir.path());
    dir
}

fn apache_pid(root: &Path) -> u32 {
    std::fs::read_to_string(root.join("httpd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn default_start_server_runs_the_app_in_the_daemon_process_group() {
    apache_and_module();
    let dir = scratch_with_app();
    let port = free_port();
    let mut server = start(dir.path(), port, &[]);
    let root = dir.path().join("root");
    let summary = std::fs::read_to_string(&server.output).unwrap();
    assert!(summary.contains("Operating Mode     : daemon"), "{summary}");
    let uid = nix::unistd::Uid::current();
    let display = format!("(wsgi:127.0.0.1:{port}:{uid})");
    let i = info(port);
    assert_eq!(i.group, format!("127.0.0.1:{port}"), "{}", server.logs());
    assert_eq!(i.cmd.trim_end(), display);
    let parent = apache_pid(&root);
    assert_eq!(i.ppid, parent, "the daemon is a child of the Apache parent");
    assert_ne!(i.pid, parent);
    // Not an Apache worker: no Apache child carries the daemon's PID.
    assert!(processes_named(&display).contains(&i.pid));
    assert_eq!(
        (i.multiprocess.as_str(), i.multithread.as_str()),
        ("False", "True")
    );
    assert_eq!((i.processes.as_str(), i.threads.as_str()), ("1", "5"));
    assert_eq!(
        i.cwd,
        path_str(dir.path()),
        "home= is the working directory"
    );
    assert_eq!(sockets_in(&root).len(), 1, "one daemon socket");
    // Static files still win.
    std::fs::write(root.join("htdocs/robots.txt"), "static\n").unwrap();
    open_up(&root.join("htdocs"));
    assert_eq!(get_localhost(port, "/robots.txt").text(), "static\n");

    server.interrupt_and_wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_named(&display).is_empty() {
        assert!(Instant::now() < deadline, "daemon processes left behind");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sockets_in(&root).is_empty(), "{:?}", sockets_in(&root));
}

#[test]
fn embedded_mode_serves_from_the_apache_children() {
    apache_and_module();
    let dir = scratch_with_app();
    let port = free_port();
    let mut server = start(dir.path(), port, &["--embedded-mode"]);
    let root = dir.path().join("root");
    let summary = std::fs::read_to_string(&server.output).unwrap();
    assert!(
        summary.contains("Operating Mode     : embedded"),
        "{summary}"
    );
    let i = info(port);
    assert_eq!(i.group, "", "{}", server.logs());
    assert!(i.cmd.contains("mod_wsgi-express"), "{}", i.cmd);
    assert_eq!(i.ppid, apache_pid(&root));
    assert!(sockets_in(&root).is_empty());
    server.interrupt_and_wait();
}

#[test]
fn daemon_options_reach_the_daemon_processes() {
    apache_and_module();
    let dir = scratch_with_app();
    let port = free_port();
    let lib = path_str(&dir.path().join("lib"));
    let sockets = path_str(&dir.path().join("sockets"));
    // As root, --user reaches the daemon processes too.
    let root_user: &[&str] = if nix::unistd::Uid::current().is_root() {
        &["--user", "nobody"]
    } else {
        &[]
    };
    let mut server = start(
        dir.path(),
        port,
        &[
            root_user,
            &[
                "--processes",
                "2",
                "--threads",
                "3",
                "--python-path",
                &lib,
                "--process-group",
                "site",
                "--maximum-requests",
                "1000",
                "--daemon-backlog",
                "50",
                "--connect-timeout",
                "5",
                "--shutdown-timeout",
                "2",
                "--header-buffer-size",
                "65536",
                "--response-socket-timeout",
                "7",
                "--cpu-time-limit",
                "600",
                "--graceful-timeout",
                "9",
                "--eviction-timeout",
                "4",
                "--send-buffer-size",
                "65536",
                "--receive-buffer-size",
                "65536",
                "--response-buffer-size",
                "1048576",
                "--response-flush-delay",
                "20",
                "--socket-prefix",
                &sockets,
            ],
        ]
        .concat(),
    );
    // Apache binds its port in the first (dry-run) configuration pass, before
    // the pass that creates the daemon sockets: wait for the socket.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sockets_in(&dir.path().join("sockets")).is_empty() && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        sockets_in(&dir.path().join("sockets")).len(),
        1,
        "--socket-prefix is the sockets' directory"
    );
    let i = info(port);
    if !root_user.is_empty() {
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        assert_eq!(i.uid, nobody.uid.as_raw(), "--user reaches the daemon");
    }
    assert_eq!(i.group, "site", "{}", server.logs());
    assert_eq!(
        (i.multiprocess.as_str(), i.multithread.as_str()),
        ("True", "True")
    );
    assert_eq!((i.processes.as_str(), i.threads.as_str()), ("2", "3"));
    assert_eq!(i.lc_all, "C.UTF-8");
    assert_eq!(i.helper, "lib", "--python-path reaches the daemon");
    // Ours: --maximum-requests gives the group a standby process too (the
    // `standby` option of WSGIDaemonProcess), which serves nothing until a
    // process recycles.
    let standby = usize::from(!is_reference());
    assert_eq!(
        processes_named("(wsgi:site)").len(),
        2 + standby,
        "two daemon processes (and the standby)"
    );
    // --response-socket-timeout reaches the module, which enforces it.
    let conf = std::fs::read_to_string(dir.path().join("root/httpd.conf")).unwrap();
    assert!(
        daemon_words(&conf).contains(&("response-socket-timeout".into(), "7".into())),
        "{conf}"
    );
    for (key, value) in [
        ("cpu-time-limit", "600"),
        ("graceful-timeout", "9"),
        ("eviction-timeout", "4"),
        ("send-buffer-size", "65536"),
        ("receive-buffer-size", "65536"),
        ("response-buffer-size", "1048576"),
        ("response-flush-delay", "20"),
    ] {
        assert!(
            daemon_words(&conf).contains(&(key.into(), value.into())),
            "{key}={value} in {conf}"
        );
    }
    server.interrupt_and_wait();
}

/// Ours only: `--processes auto` runs one daemon process per CPU available to
/// mod_wsgi-express (the same count `std::thread::available_parallelism` gives this
/// test), as if that number had been given; anything else that is not a number is
/// refused on one line naming the option and `auto`.
#[test]
fn processes_auto_runs_one_daemon_process_per_cpu() {
    apache_and_module();
    let cpus = std::thread::available_parallelism().unwrap().get();
    let dir = scratch_with_app();
    let out = std::process::Command::new(EXPRESS_EXE)
        .args(["setup-server", "--processes", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--processes") && err.contains("auto") && err.contains("many"),
        "{err}"
    );
    let port = free_port();
    let mut server = start(
        dir.path(),
        port,
        &["--processes", "auto", "--process-group", "auto"],
    );
    let summary = std::fs::read_to_string(&server.output).unwrap();
    assert!(
        summary.contains(&format!(
            "Request Capacity   : {} ({cpus} process",
            cpus * 5
        )),
        "{summary}"
    );
    let i = info(port);
    assert_eq!(
        (
            i.multiprocess.as_str(),
            i.processes.as_str(),
            i.threads.as_str()
        ),
        ("True", cpus.to_string().as_str(), "5"),
        "{}",
        server.logs()
    );
    let conf = std::fs::read_to_string(dir.path().join("root/httpd.conf")).unwrap();
    assert!(
        daemon_words(&conf).contains(&("processes".into(), cpus.to_string())),
        "{conf}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_named("(wsgi:auto)").len() != cpus {
        assert!(
            Instant::now() < deadline,
            "{cpus} daemon processes expected, found {:?}",
            processes_named("(wsgi:auto)")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.interrupt_and_wait();
}

/// Rewrites the script with a new version marker and a later modification time.
fn bump(dir: &Path) {
    let path = dir.join("info.wsgi");
    std::fs::write(&path, INFO_APP.replace("\"v1\"", "\"v2\"")).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(later).unwrap();
}

#[test]
fn daemon_mode_reloads_a_changed_script_unless_disabled() {
    apache_and_module();
    let dir = scratch_with_app();
    let port = free_port();
    let mut server = start(dir.path(), port, &[]);
    assert_eq!(info(port).version, "v1");
    bump(dir.path());
    assert_eq!(info(port).version, "v2", "{}", server.logs());
    server.interrupt_and_wait();
    drop(server);

    let dir = scratch_with_app();
    let port = free_port();
    let mut server = start(dir.path(), port, &["--disable-reloading"]);
    let conf = std::fs::read_to_string(dir.path().join("root/httpd.conf")).unwrap();
    assert!(conf.contains("\nWSGIScriptReloading Off\n"));
    assert_eq!(info(port).version, "v1");
    bump(dir.path());
    assert_eq!(info(port).version, "v1", "reloading is disabled");
    server.interrupt_and_wait();
}

/// `key=value` words of the first `WSGIDaemonProcess` directive of `conf` (quotes
/// around a whole word or a value removed); the group name is returned as `name=`.
fn daemon_words(conf: &str) -> Vec<(String, String)> {
    let unquote = |w: &str| w.trim_matches(|c| c == '\'' || c == '"').to_string();
    let start = conf
        .find("WSGIDaemonProcess ")
        .expect("no WSGIDaemonProcess");
    let mut words = Vec::new();
    for (i, line) in conf[start..].lines().enumerate() {
        let text = line.trim().trim_end_matches('\\').trim();
        if i == 0 {
            let name = text.trim_start_matches("WSGIDaemonProcess ");
            words.push(("name".to_string(), unquote(name)));
        } else {
            let word = unquote(text);
            let (k, v) = word.split_once('=').unwrap();
            words.push((k.to_string(), unquote(v)));
        }
        if !line.ends_with('\\') {
            break;
        }
    }
    words
}

/// Every daemon option mod_wsgi-express writes has the value mod_wsgi 6.0.5's express
/// writes for the same command line (`/tmp/refvenv`, made with `python3 -m venv
/// /tmp/refvenv && /tmp/refvenv/bin/pip install mod_wsgi`; skipped when absent). The
/// reference writes more options: those the module does not implement or enforce.
#[test]
fn daemon_options_match_the_reference_express() {
    let reference = Path::new("/tmp/refvenv/bin/mod_wsgi-express");
    if !reference.exists() {
        eprintln!("skipped: {} is not installed", reference.display());
        return;
    }
    let dir = scratch_with_app();
    let app = path_str(&dir.path().join("info.wsgi"));
    let lib = path_str(&dir.path().join("lib"));
    for extra in [
        &[][..],
        &[
            "--processes",
            "2",
            "--threads",
            "3",
            "--maximum-requests",
            "7",
            "--python-path",
            &lib,
            "--process-group",
            "site",
            "--daemon-backlog",
            "50",
            "--socket-timeout",
            "30",
            "--connect-timeout",
            "5",
            "--shutdown-timeout",
            "9",
            "--request-timeout",
            "20",
            "--inactivity-timeout",
            "300",
            "--header-buffer-size",
            "65536",
            "--response-socket-timeout",
            "7",
            "--cpu-time-limit",
            "30",
            "--send-buffer-size",
            "65536",
            "--receive-buffer-size",
            "131072",
        ],
    ] {
        let conf_of = |exe: &str, root: &str| {
            let mut cmd = std::process::Command::new(exe);
            cmd.args([
                "setup-server",
                &app,
                "--port",
                "8321",
                "--server-root",
                root,
            ])
            .args(["--working-directory", &path_str(dir.path())])
            .args(["--locale", "C.UTF-8"])
            .args(extra)
            .env("MOD_WSGI_MODULE", module_under_test());
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{exe}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read_to_string(Path::new(root).join("httpd.conf")).unwrap()
        };
        // The same server root for both (it appears in python-eggs=).
        let root = path_str(&dir.path().join("root"));
        let theirs = conf_of(reference.to_str().unwrap(), &root);
        let ours = conf_of(EXPRESS_EXE, &root);
        // The reference writes the multiprocess variant first when --processes is given.
        let block = if extra.contains(&"--processes") {
            theirs.clone()
        } else {
            theirs[theirs.find("<IfDefine !MOD_WSGI_MULTIPROCESS>").unwrap()..].to_string()
        };
        for line in [
            "WSGIRestrictEmbedded On".to_string(),
            "WSGISocketRotation Off".to_string(),
            format!("WSGISocketPrefix {root}/wsgi"),
        ] {
            for conf in [&ours, &theirs] {
                assert!(
                    conf.lines().any(|l| l.replace(['"', '\''], "") == line),
                    "{line} missing"
                );
            }
        }
        let (ours, theirs) = (daemon_words(&ours), daemon_words(&block));
        for word in &ours {
            assert!(
                theirs.contains(word),
                "{word:?} is not what the reference writes: {theirs:?}"
            );
        }
    }
}
