//! `mod_wsgi-express start-server --metrics-url PATH --health-url PATH`
//! (with `--metrics-allow`/`--health-allow`): the start-up summary names
//! both URLs, httpd.conf opens them to local clients plus the hosts and
//! networks given (`Require ip`), the metrics page (parsed by
//! prometheus_client) counts the requests the app served and the health
//! check answers 200 once the daemon is ready; an allow value Apache's
//! `Require ip` would refuse is refused before anything is written.
//! Every client here is local (loopback only), so the refusal of a
//! non-local client is Apache's `Require` at work and is not exercised.

#[macro_use]
mod common;
mod monitoring_util;

use common::*;
use monitoring_util::{parse, wait_for, with_prefix};
use std::process::Command;
use std::time::Duration;

const HELLO: &str = "def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'hello']\n";

#[test]
fn metrics_and_health_urls() {
    apache_and_module();
    ours_only!("--metrics-url and --health-url are ours");
    let dir = scratch();
    std::fs::write(dir.path().join("hello.wsgi"), HELLO).unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let app = path_str(&dir.path().join("hello.wsgi"));
    let port = free_port();
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&[
        "--metrics-url",
        "/-/metrics",
        "--metrics-allow",
        "10.0.0.0/8",
        "--metrics-allow",
        "192.168.1.7",
        "--health-url",
        "/-/health",
    ]);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let health = wait_for(Duration::from_secs(60), "a ready daemon", || {
        let r = get_localhost(port, "/-/health");
        (r.status == 200).then_some(r.text())
    });
    assert!(health.starts_with("{\"status\": \"ok\""), "{health}");
    for _ in 0..5 {
        assert_eq!(get_localhost(port, "/hello").status, 200);
    }
    // A request is counted a moment after its response has gone.
    let served = wait_for(Duration::from_secs(20), "5 requests counted", || {
        let r = get_localhost(port, "/-/metrics");
        assert_eq!(r.status, 200, "{}", server.logs());
        let m = parse(&r.text());
        let served: f64 = with_prefix(&m, "mod_wsgi_requests_total{")
            .filter(|(k, _)| k.contains("status_class=\"2xx\""))
            .map(|(_, v)| v)
            .sum();
        (served >= 5.0).then_some(served)
    });
    assert_eq!(served, 5.0);
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(
        conf.contains(
            "<Location \"/-/metrics\">\n    SetHandler wsgi-metrics\n    Require local\n    \
             Require ip 10.0.0.0/8 192.168.1.7\n</Location>"
        ),
        "{conf}"
    );
    assert!(
        conf.contains(
            "<Location \"/-/health\">\n    SetHandler wsgi-health\n    Require local\n</Location>"
        ),
        "{conf}"
    );
    let logs = server.logs();
    assert!(
        logs.contains(&format!(
            "Metrics URL        : http://127.0.0.1:{port}/-/metrics"
        )),
        "{logs}"
    );
    assert!(
        logs.contains(&format!(
            "Health URL         : http://127.0.0.1:{port}/-/health"
        )),
        "{logs}"
    );
    server.interrupt_and_wait();
}

#[test]
fn a_bad_allow_value_is_refused() {
    let dir = scratch();
    std::fs::write(dir.path().join("hello.wsgi"), HELLO).unwrap();
    let app = path_str(&dir.path().join("hello.wsgi"));
    let root = path_str(&dir.path().join("root"));
    for (args, expect) in [
        (
            &["--health-url", "/h", "--health-allow", "example.com"][..],
            "--health-allow takes what Apache's 'Require ip' takes",
        ),
        (
            &["--metrics-allow", "10.0.0.1"],
            "--metrics-allow '10.0.0.1' needs --metrics-url",
        ),
        (
            &["--metrics-url", "metrics"],
            "--metrics-url must be a URL path",
        ),
    ] {
        let mut all = vec!["setup-server", app.as_str(), "--server-root", &root];
        all.extend_from_slice(args);
        let out = Command::new(EXPRESS_EXE)
            .args(&all)
            .env("MOD_WSGI_MODULE", module_under_test())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!std::path::Path::new(&root).join("httpd.conf").exists());
    }
}
