//! `mod_wsgi-express start-server --server-metrics`, in daemon mode (the
//! default: `server-metrics=On` on the group) and with `--embedded-mode`
//! (`WSGIServerMetrics On`): `mod_wsgi.server_metrics()` returns the
//! scoreboard, where the request being served shows as a worker writing its
//! reply, with the client and request line that `ExtendedStatus On` (which
//! express writes with the option) records. Without the option: None.
//! Real Apache with the module under test, loopback ports only.

#[macro_use]
mod common;

use common::*;
use std::path::Path;

const PROBE: &str = "import mod_wsgi\n\
def application(environ, start_response):\n    \
    m = mod_wsgi.server_metrics()\n    \
    if m is None:\n        \
        body = 'None'\n    \
    else:\n        \
        busy = [w for p in m['processes'] if p['pid'] for w in p['workers'] if w['status'] == 'W']\n        \
        body = '\\n'.join('%s|%s' % (w['client'], w['request']) for w in busy)\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [body.encode()]\n";

fn run(dir: &Path, extra: &[&str]) -> String {
    let root = dir.join("root");
    let app = path_str(&dir.join("probe.wsgi"));
    let port = free_port();
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    let r = get_localhost(port, "/probe?x=1");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    server.interrupt_and_wait();
    r.text()
}

#[test]
fn server_metrics_in_both_modes() {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("probe.wsgi"), PROBE).unwrap();
    open_up(dir.path());
    for mode in [&[][..], &["--embedded-mode"][..]] {
        assert_eq!(run(dir.path(), mode), "None", "{mode:?}");
        let mut args = vec!["--server-metrics"];
        args.extend_from_slice(mode);
        let text = run(dir.path(), &args);
        assert!(
            text.lines()
                .any(|w| w == "127.0.0.1|GET /probe?x=1 HTTP/1.1"),
            "{mode:?}: {text}"
        );
    }
}
