//! Integration tests of mod_wsgi-express for projects and containers (issue 18 items 2
//! and 3): options from `pyproject.toml`'s `[tool.mod_wsgi-express]`, from
//! `MOD_WSGI_EXPRESS_*` variables and from the command line, in that rising precedence;
//! the application found in the project directory when no entry point is given; the
//! project hooks (`build` at setup-server, `deploy` before a start, a failing hook
//! stopping the start with its output); and SIGTERM draining requests in flight (both
//! modes, every MPM). express runs with the project as current directory (`env -C`,
//! which execs, so the PID held is express's).

#[macro_use]
mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A WSGI script answering with its SCRIPT_NAME, or after `?sleep=N` seconds (touching
/// `<started>/<pid>-<n>` first, so the test knows the request is in flight).
const APP: &str = r#"
import os, time, itertools
counter = itertools.count()
def application(environ, start_response):
    qs = environ.get('QUERY_STRING', '')
    if qs.startswith('sleep='):
        open(os.path.join(STARTED, '%d-%d' % (os.getpid(), next(counter))), 'w').close()
        time.sleep(float(qs[6:]))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('script_name=' + environ['SCRIPT_NAME']).encode()]
"#;

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A project directory `<dir>/proj` with `app.wsgi` (found by discovery) and a
/// world-writable `<dir>/started`.
fn app_project(dir: &Path) -> std::path::PathBuf {
    let proj = dir.join("proj");
    std::fs::create_dir(&proj).unwrap();
    let started = dir.join("started");
    std::fs::create_dir(&started).unwrap();
    std::fs::set_permissions(&started, std::fs::Permissions::from_mode(0o777)).unwrap();
    let app = APP.replace("STARTED,", &format!("{:?},", path_str(&started)));
    std::fs::write(proj.join("app.wsgi"), app).unwrap();
    proj
}

/// `env -C PROJ mod_wsgi-express ARGS...` with `envs`, output captured.
fn express_in(proj: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new("env");
    cmd.arg("-C").arg(proj).arg(EXPRESS_EXE).args(args);
    cmd.env("MOD_WSGI_MODULE", module_under_test());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Starts `start-server ARGS` in the project directory `proj`.
fn start_in(
    proj: &Path,
    dir: &Path,
    root: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> ExpressServer {
    let proj_s = path_str(proj);
    let mut words = vec!["-C", proj_s.as_str(), EXPRESS_EXE, "start-server"];
    words.extend_from_slice(args);
    ExpressServer::spawn("env", &words, envs, dir, root)
}

#[test]
fn pyproject_then_environment_then_command_line() {
    apache_and_module();
    let dir = scratch();
    let proj = app_project(dir.path());
    let root = dir.path().join("root");
    let (port, env_port, py_port) = (free_port(), free_port(), free_port());
    std::fs::write(
        proj.join("pyproject.toml"),
        format!(
            "[project]\nname = \"demo\"\n\n[tool.mod_wsgi-express]\n\
             port = {py_port}\nmount-point = \"/py\"\nthreads = \"${{PY_THREADS}}\"\naccess-log = true\n\
             python-path = [\"/srv/py1\", \"/srv/py2\"]\nhost = \"127.0.0.1\"\n\
             server-root = {:?}\n",
            path_str(&root)
        ),
    )
    .unwrap();
    open_up(dir.path());
    let env_port_s = env_port.to_string();
    let envs = [
        ("MOD_WSGI_EXPRESS_PORT", env_port_s.as_str()),
        ("MOD_WSGI_EXPRESS_MOUNT_POINT", "/env"),
        ("MOD_WSGI_EXPRESS_THREADS", "9"),
        ("MOD_WSGI_EXPRESS_URL_ALIAS", "'/a b' /srv/x /c /srv/y"),
    ];
    // setup-server: what each layer contributed, in the generated configuration.
    let out = express_in(&proj, &["setup-server", "--threads", "11"], &envs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("using the WSGI script app.wsgi"),
        "{stdout}"
    );
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(
        conf.contains(&format!("Listen 127.0.0.1:{env_port}")),
        "{conf}"
    );
    assert!(conf.contains("threads=11"), "{conf}");
    assert!(conf.contains("python-path=/srv/py1:/srv/py2"), "{conf}");
    assert!(conf.contains("Alias \"/a b\" \"/srv/x\""), "{conf}");
    assert!(conf.contains("Alias \"/c\" \"/srv/y\""), "{conf}");
    assert!(conf.contains("WSGIScriptAlias \"/env\""), "{conf}");

    // start-server: the command line's port and the environment's mount point serve.
    let port_s = port.to_string();
    let mut server = start_in(&proj, dir.path(), &root, &["--port", &port_s], &envs);
    server.wait_listening(port);
    let page = get_localhost(port, "/env/");
    assert_eq!(page.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(page.text(), "script_name=/env");
    assert_eq!(
        get_localhost(port, "/py/").status_line(),
        "HTTP/1.1 404 Not Found"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", env_port)).is_err());
    // Without the variables, pyproject.toml's values are in effect ($VAR-expanded).
    let out = express_in(&proj, &["setup-server"], &[("PY_THREADS", "7")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(
        conf.contains(&format!("Listen 127.0.0.1:{py_port}")),
        "{conf}"
    );
    assert!(
        conf.contains("threads=7") && conf.contains("WSGIScriptAlias \"/py\""),
        "{conf}"
    );
    server.interrupt_and_wait();
}

#[test]
fn bad_layer_values_are_refused_naming_their_source() {
    let dir = scratch();
    let proj = app_project(dir.path());
    let out = express_in(
        &proj,
        &["setup-server"],
        &[("MOD_WSGI_EXPRESS_URL_ALIAS", "/only-one")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("MOD_WSGI_EXPRESS_URL_ALIAS") && err.contains("2 value"),
        "{err}"
    );
    std::fs::write(
        proj.join("pyproject.toml"),
        "[tool.mod_wsgi-express]\nno-such-option = 1\n",
    )
    .unwrap();
    let out = express_in(&proj, &["setup-server"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pyproject.toml") && err.contains("--no-such-option"),
        "{err}"
    );
    std::fs::remove_file(proj.join("pyproject.toml")).unwrap();
    std::fs::write(proj.join("wsgi.py"), "application = None\n").unwrap();
    let out = express_in(&proj, &["setup-server"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("wsgi.py and app.wsgi"), "{err}");
}

#[test]
fn hooks_run_in_the_project_and_a_failing_one_stops_the_start() {
    apache_and_module();
    let dir = scratch();
    let proj = app_project(dir.path());
    let root = dir.path().join("root");
    write_exec(
        &proj.join(".mod_wsgi-express/build"),
        "#!/bin/sh\necho building in $(pwd)\npwd > built\n",
    );
    let out = express_in(
        &proj,
        &["setup-server", "--server-root", &path_str(&root)],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("building in {}", proj.display())),
        "{stdout}"
    );
    assert!(root.join("httpd.conf").exists() && proj.join("built").exists());

    write_exec(
        &proj.join(".mod_wsgi-express/deploy"),
        "#!/bin/sh\necho migration failed: table exists >&2\nexit 4\n",
    );
    let port = free_port().to_string();
    let args = [
        "start-server",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--server-root",
    ];
    let mut args = args.to_vec();
    let root_s = path_str(&root);
    args.push(&root_s);
    let out = express_in(&proj, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("migration failed: table exists"), "{err}");
    assert!(err.contains("deploy hook") && err.contains('4'), "{err}");
    assert!(!root.join("httpd.pid").exists());
}

/// SIGTERM while three 3 s requests are in flight: no new connection is accepted, all
/// three complete, and start-server exits 0.
fn sigterm_drains(mpm: Mpm, embedded: bool) {
    apache_and_module();
    let dir = scratch();
    let proj = app_project(dir.path());
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let port_s = port.to_string();
    let root_s = path_str(&root);
    let mut args = vec![
        "--host",
        "127.0.0.1",
        "--port",
        &port_s,
        "--server-root",
        &root_s,
    ];
    args.extend(["--server-mpm", mpm.name(), "--threads", "5"]);
    if embedded {
        args.push("--embedded-mode");
    } else {
        args.extend(["--shutdown-timeout", "20"]);
    }
    let mut server = start_in(&proj, dir.path(), &root, &args, &[]);
    server.wait_listening(port);
    let clients: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || get_localhost(port, "/?sleep=3")))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(dir.path().join("started"))
        .unwrap()
        .count()
        < 3
    {
        assert!(
            Instant::now() < deadline,
            "requests did not start; {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Instant::now();
    signal(server.pid(), libc::SIGTERM);
    // The listener closes at once: a new connection is refused while draining.
    let refused_by = Instant::now() + Duration::from_secs(2);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < refused_by, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Wait without signalling again (a second SIGTERM stops at once).
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "no exit; {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for c in clients {
        let r = c.join().unwrap();
        assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
        assert_eq!(r.text(), "script_name=");
    }
    assert_eq!(status.code(), Some(0), "{status}; {}", server.logs());
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "{}",
        server.logs()
    );
    assert!(
        server.error_log().contains("shutting down gracefully"),
        "{}",
        server.logs()
    );
}

fn sigterm_drains_daemon(mpm: Mpm) {
    sigterm_drains(mpm, false)
}

fn sigterm_drains_embedded(mpm: Mpm) {
    sigterm_drains(mpm, true)
}

per_mpm!(sigterm_drains_daemon_mode, sigterm_drains_daemon);
per_mpm!(sigterm_drains_embedded_mode, sigterm_drains_embedded);
