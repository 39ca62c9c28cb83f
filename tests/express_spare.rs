//! `--initial-workers` (with the minimum of spare workers following it) in daemon
//! mode with the prefork MPM, as mod_wsgi-express: with `--max-clients 20` Apache
//! starts and keeps 5 relaying children (0.25 of 20) instead of the default 10, and
//! `--maximum-spare-workers` sets `MaxSpareServers`. Real Apache, loopback only.

#[macro_use]
mod common;

use common::*;
use std::time::{Duration, Instant};

const APP: &str = "def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'ok']\n";

/// The Apache children of the server express started as `express` (express runs
/// Apache as its child; not its `(wsgi:...)` daemon processes).
fn apache_children(express: i32) -> usize {
    let parent = list_pids()
        .into_iter()
        .find(|&p| parent_pid(p) == Some(express))
        .unwrap_or(express);
    list_pids()
        .into_iter()
        .filter(|&p| parent_pid(p) == Some(parent))
        .filter(|&p| !cmdline(p).starts_with("(wsgi:"))
        .count()
}

fn children_with(extra: &[&str]) -> (usize, String) {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("app.wsgi"), APP).unwrap();
    open_up(dir.path());
    let app = path_str(&dir.path().join("app.wsgi"));
    let root = dir.path().join("root");
    let port = free_port();
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--server-mpm", "prefork", "--max-clients", "20"]);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    assert_eq!(get_localhost(port, "/").text(), "ok", "{}", server.logs());
    // Let prefork's maintenance settle (it checks once a second).
    let settle = Instant::now() + Duration::from_secs(4);
    while Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(200));
    }
    let n = apache_children(server.pid());
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    server.interrupt_and_wait();
    (n, conf)
}

#[test]
fn initial_workers_sets_the_prefork_children_started_and_kept() {
    let (n, conf) = children_with(&[
        "--initial-workers",
        "0.25",
        "--maximum-spare-workers",
        "0.5",
    ]);
    assert!(conf.contains("StartServers 5\n"), "{conf}");
    assert!(conf.contains("MinSpareServers 5\n"), "{conf}");
    assert!(conf.contains("MaxSpareServers 10\n"), "{conf}");
    assert_eq!(n, 5, "Apache children with --initial-workers 0.25 of 20");
    let (n, conf) = children_with(&[]);
    assert!(conf.contains("StartServers 10\n"), "{conf}");
    assert_eq!(n, 10, "Apache children by default");
}
