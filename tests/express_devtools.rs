//! mod_wsgi-express's developer tools, as pip's 6.1.1, against a real Apache with the
//! module under test: `--debug-mode` serves from the one Apache process (the PID
//! express became), `--enable-profiler`, `--enable-coverage` and `--enable-recorder`
//! leave a `.pstats` file, an HTML coverage report naming the script and one set of
//! files per request; `--enable-debugger` enters pdb on the terminal (a pty) when the
//! application raises, where a command prints a local variable of the failing frame;
//! `--enable-gdb` runs the given gdb on httpd with the command line in `gdb.cmds`;
//! `--service-script` runs a script in its own `service:NAME` daemon process, as
//! `--service-user`, its `sys.stderr` in `--service-log-file`. Loopback ports only. The
//! coverage package comes from Debian's python3-coverage (scripts/setup.sh).

#[macro_use]
mod common;

use common::*;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APP: &str = "import os\n\
def application(environ, start_response):\n    \
    if environ['PATH_INFO'] == '/fail':\n        \
        secret = 'marker-' + str(6 * 7)\n        \
        raise RuntimeError('boom')\n    \
    body = environ['wsgi.input'].read()\n    \
    flags = ','.join(sorted(k for k in os.environ if k.startswith('MOD_WSGI_') and os.environ[k] == 'true'))\n    \
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Pid', str(os.getpid())), ('X-Flags', flags)])\n    \
    return [b'got ' + body]\n";

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.to_string_lossy().ends_with(suffix));
    found
}

fn setup(dir: &Path) -> String {
    fs::write(dir.join("app.wsgi"), APP).unwrap();
    open_up(dir);
    path_str(&dir.join("app.wsgi"))
}

fn profiler_coverage_and_recorder(mpm: Mpm) {
    apache_and_module();
    let dir = scratch();
    let app = setup(dir.path());
    let root = dir.path().join("root");
    let pstats = dir.path().join("pstats");
    let port = free_port();
    let (port_s, root_s, pstats_s) = (port.to_string(), path_str(&root), path_str(&pstats));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--server-mpm", mpm.name(), "--enable-profiler"]);
    args.extend_from_slice(&["--profiler-directory", &pstats_s]);
    args.extend_from_slice(&["--enable-coverage", "--enable-recorder"]);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let out = fs::read_to_string(&server.output).unwrap();
    assert!(out.contains("Operating Mode     : debug"), "{out}");
    let r = Client::new(port).send(&localhost_get("/x").body("recorded body"));
    let r = r.unwrap();
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(r.text(), "got recorded body");
    // Debug mode: the application runs in the Apache process express became.
    assert_eq!(r.header("X-Pid"), Some(server.pid().to_string().as_str()));
    assert_eq!(
        r.header("X-Flags"),
        Some(
            "MOD_WSGI_COVERAGE_ENABLED,MOD_WSGI_DEBUG_MODE,MOD_WSGI_PROFILER_ENABLED,MOD_WSGI_RECORDER_ENABLED"
        )
    );

    let archive = root.join("archive");
    let heads = files_with_suffix(&archive, ".iheaders");
    assert_eq!(heads.len(), 1, "one request recorded: {heads:?}");
    let key = heads[0]
        .to_string_lossy()
        .trim_end_matches(".iheaders")
        .to_string();
    let read = |suffix: &str| fs::read_to_string(format!("{key}{suffix}")).unwrap();
    assert!(
        read(".iheaders").contains("'PATH_INFO': '/x'"),
        "{}",
        read(".iheaders")
    );
    assert_eq!(read(".icontent"), "recorded body");
    assert!(
        read(".oheaders").contains("'200 OK'"),
        "{}",
        read(".oheaders")
    );
    assert_eq!(read(".ocontent"), "got recorded body");
    assert!(
        files_with_suffix(&pstats, ".pstats").is_empty(),
        "written at exit"
    );

    server.interrupt_and_wait();
    let written = files_with_suffix(&pstats, ".pstats");
    assert_eq!(written.len(), 1, "{}", server.logs());
    let check = "import pstats, sys\n\
        s = pstats.Stats(sys.argv[1])\n\
        print(any(f[2] == 'application' for f in s.stats))\n";
    let o = Command::new("/usr/bin/python3")
        .args(["-c", check])
        .arg(&written[0])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "True", "{o:?}");
    let index = fs::read_to_string(root.join("htmlcov/index.html"))
        .unwrap_or_else(|e| panic!("coverage report: {e}; {}", server.logs()));
    assert!(index.contains("app_wsgi.html"), "{index}");
    let pages = files_with_suffix(&root.join("htmlcov"), "app_wsgi.html");
    assert_eq!(pages.len(), 1, "the script's page: {pages:?}");
    let report = fs::read_to_string(&pages[0]).unwrap();
    assert!(
        report.contains("got "),
        "the script's lines are in the report"
    );
}

per_mpm!(
    profiler_coverage_and_recorder_write_their_files,
    profiler_coverage_and_recorder
);

/// A pty pair: (master, slave).
fn openpty() -> (fs::File, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the pointers given; the name,
    // termios and window size arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe { (fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// A server started with `extra` and a pty as its stdin and stdout, and what the
/// terminal has shown so far.
struct Terminal {
    server: ExpressServer,
    keys: fs::File,
    screen: Arc<Mutex<String>>,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Terminal {
    fn start(extra: &[&str]) -> Terminal {
        apache_and_module();
        let dir = scratch();
        let app = setup(dir.path());
        let root = dir.path().join("root");
        let port = free_port();
        let (port_s, root_s) = (port.to_string(), path_str(&root));
        let mut args = start_server_args(&app, &port_s, &root_s);
        args.extend_from_slice(extra);
        let (master, slave) = openpty();
        let stdin = Stdio::from(slave.try_clone().unwrap());
        let stdout = Stdio::from(slave);
        let mut server = ExpressServer::spawn_with_stdio(
            EXPRESS_EXE,
            &args,
            &[],
            dir.path(),
            &root,
            stdin,
            stdout,
        );
        let screen = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let shown = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        server.wait_listening(port);
        Terminal {
            server,
            keys: master,
            screen,
            port,
            _dir: dir,
        }
    }

    fn wait_for(&self, text: &str) {
        wait_until(&format!("{text:?} on the terminal"), || {
            self.screen.lock().unwrap().contains(text)
        });
    }

    fn type_line(&mut self, line: &str) {
        self.keys.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
}

#[test]
fn debugger_enters_pdb_post_mortem_on_the_terminal() {
    let mut t = Terminal::start(&["--enable-debugger"]);
    let port = t.port;
    let request = std::thread::spawn(move || get_localhost(port, "/fail"));
    t.wait_for("(Pdb)");
    t.type_line("p secret");
    t.wait_for("'marker-42'");
    t.type_line("c");
    let r = request.join().unwrap();
    assert_eq!(r.status_line(), "HTTP/1.1 500 Internal Server Error");
    let shown = t.screen.lock().unwrap().clone();
    assert!(shown.contains("raise RuntimeError"), "{shown}");
    // The server keeps serving after the debugger session.
    let ok = get_localhost(port, "/");
    assert_eq!(ok.status_line(), "HTTP/1.1 200 OK", "{}", t.server.logs());
}

#[test]
fn debugger_startup_enters_pdb_when_the_application_is_loaded() {
    let mut t = Terminal::start(&["--enable-debugger", "--debugger-startup"]);
    let port = t.port;
    // The application is loaded by the first request, which waits for the debugger.
    let request = std::thread::spawn(move || get_localhost(port, "/"));
    t.wait_for("(Pdb)");
    t.type_line("p 'ok-' + str(callable(application))");
    t.wait_for("'ok-True'");
    t.type_line("c");
    let r = request.join().unwrap();
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", t.server.logs());
    assert_eq!(r.text(), "got ");
}

#[test]
fn gdb_runs_httpd_with_the_command_line_in_gdb_cmds() {
    apache_and_module();
    let dir = scratch();
    let app = setup(dir.path());
    let root = dir.path().join("root");
    let record = dir.path().join("gdb.record");
    let fake = dir.path().join("fake-gdb");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}'\ncat \"$2\" >> '{0}'\n",
            record.display()
        ),
    )
    .unwrap();
    set_mode(&fake, 0o755);
    let (root_s, fake_s) = (path_str(&root), path_str(&fake));
    let mut args = start_server_args(&app, "8000", &root_s);
    args.extend_from_slice(&["--enable-gdb", "--gdb-executable", &fake_s]);
    let out = Command::new(EXPRESS_EXE)
        .args(&args)
        .env("MOD_WSGI_MODULE", module_under_test())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let got = fs::read_to_string(&record).unwrap();
    let conf = root.join("httpd.conf");
    let expected = format!(
        "-x\n{}\n{APACHE_BIN}\nrun '-f' '{}' '-DONE_PROCESS' -k start -DFOREGROUND\n",
        root.join("gdb.cmds").display(),
        conf.display()
    );
    assert_eq!(got, expected);
}

#[test]
fn service_script_runs_in_its_own_daemon_process() {
    apache_and_module();
    let dir = scratch();
    let app = setup(dir.path());
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    set_mode(&state, 0o777);
    let script = dir.path().join("tick.py");
    fs::write(
        &script,
        format!(
            "import os, sys, mod_wsgi\n\
             sys.stderr.write('tick service started\\n')\n\
             sys.stderr.flush()\n\
             with open({:?}, 'w') as fp:\n    \
                 fp.write('%s %d %d' % (mod_wsgi.process_group, os.getuid(), os.getpid()))\n",
            path_str(&state.join("tick.out"))
        ),
    )
    .unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let (port_s, root_s, script_s) = (port.to_string(), path_str(&root), path_str(&script));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--service-script", "tick", &script_s]);
    args.extend_from_slice(&["--service-log-file", "tick", "tick.log"]);
    let root_user = nix_is_root();
    if root_user {
        args.extend_from_slice(&["--service-user", "tick", "nobody"]);
    }
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let out = state.join("tick.out");
    wait_until("the service script's file", || {
        fs::read_to_string(&out).is_ok_and(|s| !s.is_empty())
    });
    let text = fs::read_to_string(&out).unwrap();
    let words: Vec<&str> = text.split(' ').collect();
    assert_eq!(words[0], "service:tick", "{text}");
    if root_user {
        let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
        assert_eq!(words[1], String::from_utf8_lossy(&nobody.stdout).trim());
    }
    let service_pid: i32 = words[2].parse().unwrap();
    assert_ne!(service_pid, server.pid(), "not the Apache parent");
    let r = get_localhost(port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_ne!(
        r.header("X-Pid"),
        Some(words[2]),
        "requests go to the application's daemon"
    );
    wait_until("the service's own log", || {
        fs::read_to_string(root.join("tick.log")).is_ok_and(|s| s.contains("tick service started"))
    });
    assert!(!server.error_log().contains("tick service started"));
    server.interrupt_and_wait();
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
