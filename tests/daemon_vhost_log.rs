//! A daemon process logs to the error log of the server that defines its group, as
//! mod_wsgi's daemon processes do: what a `WSGIImportScript` of a group defined in a
//! `<VirtualHost>` with its own `ErrorLog` writes to `sys.stderr` at start-up (no
//! request), and the `sys.stderr`/`wsgi.errors` lines of that host's requests, go to
//! that file, not to the main error log; a group of the main server, requested
//! through a host without its own log, keeps logging to the main log.
//! (mod_wsgi-express's `--service-log-file` relies on this.) Passes against pip's
//! mod_wsgi 6.1.1 too. Real Apache.

#[macro_use]
mod common;

use common::*;
use std::time::{Duration, Instant};

const APP: &str = "import sys\n\
def application(environ, start_response):\n    \
    group = environ['mod_wsgi.process_group']\n    \
    print('stderr-marker-' + group, file=sys.stderr, flush=True)\n    \
    environ['wsgi.errors'].write('errors-marker-%s\\n' % group)\n    \
    environ['wsgi.errors'].flush()\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'ok']\n";

fn wait_for(what: &str, read: impl Fn() -> String, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !read().contains(text) {
        assert!(
            Instant::now() < deadline,
            "{text} not in {what}: {}",
            read()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_group_defined_in_a_virtual_host_logs_to_its_error_log() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("log.wsgi", APP);
    let vhost_log = b.root().join("logs/vhost_log");
    let startup = b.write_app(
        "startup.py",
        "import sys\nprint('import-marker-inhost', file=sys.stderr, flush=True)\n",
    );
    let apache = b
        .server("WSGIDaemonProcess main threads=2")
        .server(format!(
            "WSGIScriptAlias /m \"{}\" process-group=main application-group=%{{GLOBAL}}",
            app.display()
        ))
        // The default host of the address: no log of its own (the main one).
        .server("<VirtualHost 127.0.0.1:*>\n    ServerName main.test\n</VirtualHost>")
        .server(format!(
            "<VirtualHost 127.0.0.1:*>\n    ServerName vlog.test\n    ErrorLog \"{}\"\n    \
             WSGIDaemonProcess inhost threads=2\n    \
             WSGIImportScript \"{}\" process-group=inhost application-group=%{{GLOBAL}}\n    \
             WSGIScriptAlias /v \"{}\" process-group=inhost application-group=%{{GLOBAL}}\n\
             </VirtualHost>",
            vhost_log.display(),
            startup.display(),
            app.display()
        ))
        .start();
    let r = apache.get("/m/x");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let r = apache
        .client()
        .send(&Request::new("GET", "/v/x").header("Host", "vlog.test"))
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let read_vhost = || std::fs::read_to_string(&vhost_log).unwrap_or_default();
    wait_for("the virtual host's log", read_vhost, "import-marker-inhost");
    wait_for("the virtual host's log", read_vhost, "stderr-marker-inhost");
    wait_for("the virtual host's log", read_vhost, "errors-marker-inhost");
    let main_log = || apache.error_log();
    wait_for("the main error log", main_log, "stderr-marker-main");
    wait_for("the main error log", main_log, "errors-marker-main");
    let main = apache.error_log();
    assert!(!main.contains("marker-inhost"), "{main}");
    assert!(!read_vhost().contains("marker-main"), "{}", read_vhost());
}
