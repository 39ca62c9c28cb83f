//! `mod_wsgi-express start-server --switch-interval S --python-eggs DIR` in daemon
//! mode (the default: `switch-interval=` and `python-eggs=` on the daemon group, as
//! the original express writes them) and with `--embedded-mode` (`WSGISwitchInterval`
//! and `WSGIPythonEggs`): the application sees `sys.getswitchinterval()` and
//! `PYTHON_EGG_CACHE`. Real Apache with the module under test, loopback ports only.

#[macro_use]
mod common;

use common::*;
use std::path::Path;

const PROBE: &str = "import os, sys\n\
def application(environ, start_response):\n    \
    body = ('%r|%s' % (sys.getswitchinterval(), os.environ.get('PYTHON_EGG_CACHE'))).encode()\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [body]\n";

fn run(dir: &Path, mode: &[&str]) -> String {
    let root = dir.join("root");
    let eggs = dir.join("eggs");
    let app = path_str(&dir.join("probe.wsgi"));
    let port = free_port();
    let (port_s, root_s, eggs_s) = (port.to_string(), path_str(&root), path_str(&eggs));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--switch-interval", "0.02", "--python-eggs", &eggs_s]);
    args.extend_from_slice(mode);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    let r = get_localhost(port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    server.interrupt_and_wait();
    r.text()
}

#[test]
fn switch_interval_and_python_eggs_in_both_modes() {
    apache_and_module();
    // Debian's mod_wsgi 4.9.4 has no WSGISwitchInterval (express refuses the option).
    ours_only!("WSGISwitchInterval");
    let dir = scratch();
    std::fs::write(dir.path().join("probe.wsgi"), PROBE).unwrap();
    open_up(dir.path());
    let eggs = path_str(&dir.path().join("eggs"));
    assert_eq!(run(dir.path(), &[]), format!("0.02|{eggs}"));
    assert_eq!(
        run(dir.path(), &["--embedded-mode"]),
        format!("0.02|{eggs}")
    );
}
