//! `SetHandler wsgi-metrics` against a real Apache: after N requests the
//! page (parsed by prometheus_client's OpenMetrics parser) counts N for the
//! group that served them, in embedded mode (group "") and in daemon mode,
//! under every MPM; failures count as 5xx; the histograms, worker threads,
//! daemon processes and per-process memory and CPU are there; a daemon that
//! recycles itself counts a restart with its reason. The endpoint works
//! under a WSGI mount at "/".

#[macro_use]
mod common;
mod monitoring_util;

use common::*;
use monitoring_util::{parse, value, wait_for, with_prefix};
use std::time::Duration;

const METRICS: &str = "<Location /metrics>\n    SetHandler wsgi-metrics\n</Location>";

fn scrape(apache: &Apache) -> std::collections::BTreeMap<String, f64> {
    let r = apache.get("/metrics");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    assert_eq!(
        r.header("Content-Type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    parse(&r.text())
}

fn embedded(mpm: Mpm) {
    ours_only!("wsgi-metrics is ours");
    let b = Apache::builder(mpm);
    let hello = b.app("hello.wsgi");
    let boom = b.app("raise_error.wsgi");
    let apache = b
        .server(format!("WSGIScriptAlias /boom \"{}\"", boom.display()))
        // The endpoint's SetHandler wins over a WSGI mount at "/".
        .server(format!("WSGIScriptAlias / \"{}\"", hello.display()))
        .server(METRICS)
        .allow_log("harness-boom-4711|RuntimeError|Traceback|File \"|raise RuntimeError|Exception occurred")
        .start();
    let n = 7;
    for _ in 0..n {
        assert_eq!(apache.get("/hello").status, 200);
    }
    assert_eq!(apache.get("/boom").status, 500);
    let g = "process_group=\"\"";
    // A request is counted a moment after its response has gone.
    let count = format!("mod_wsgi_request_duration_seconds_count{{{g}}}");
    let m = wait_for(Duration::from_secs(20), "every request counted", || {
        let m = scrape(&apache);
        (value(&m, &count) >= (n + 1) as f64).then_some(m)
    });
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_requests_total{{{g},status_class=\"2xx\"}}")
        ),
        n as f64,
        "{m:#?}"
    );
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_requests_total{{{g},status_class=\"5xx\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_request_duration_seconds_count{{{g}}}")
        ),
        (n + 1) as f64
    );
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_queue_wait_seconds_bucket{{le=\"+Inf\",{g}}}")
        ),
        (n + 1) as f64
    );
    // The metrics request itself is not a WSGI request.
    assert_eq!(value(&m, &format!("mod_wsgi_active_requests{{{g}}}")), 0.0);
    let threads = value(
        &m,
        &format!("mod_wsgi_worker_threads{{{g},state=\"idle\"}}"),
    );
    assert!(threads >= 1.0, "{m:#?}");
    let children: Vec<_> = with_prefix(&m, "mod_wsgi_process_resident_memory_bytes{pid=").collect();
    assert!(!children.is_empty(), "{m:#?}");
    for (k, v) in children {
        assert!(*v > 1e6, "{k} {v}");
    }
    assert!(with_prefix(&m, "mod_wsgi_process_cpu_seconds_total{pid=").count() >= 1);
}
per_mpm!(embedded_mode_counts_requests, embedded);

fn daemon(mpm: Mpm) {
    ours_only!("wsgi-metrics is ours");
    let b = Apache::builder(mpm).with_socket_prefix();
    let hello = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess web processes=2 threads=3")
        .server("WSGIDaemonProcess other threads=1")
        .server(format!(
            "WSGIScriptAlias /hello \"{}\" process-group=web",
            hello.display()
        ))
        .server(METRICS)
        .start();
    let n = 12;
    for _ in 0..n {
        assert_eq!(apache.get("/hello").status, 200);
    }
    let web = "process_group=\"web\"";
    // A daemon worker counts itself idle a moment after its response has gone.
    let busy = format!("mod_wsgi_worker_threads{{{web},state=\"busy\"}}");
    let m = wait_for(Duration::from_secs(20), "idle workers", || {
        let m = scrape(&apache);
        (value(&m, &busy) == 0.0).then_some(m)
    });
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_requests_total{{{web},status_class=\"2xx\"}}")
        ),
        n as f64,
        "{m:#?}"
    );
    assert_eq!(
        value(
            &m,
            "mod_wsgi_requests_total{process_group=\"\",status_class=\"2xx\"}"
        ),
        0.0
    );
    assert_eq!(
        value(
            &m,
            "mod_wsgi_requests_total{process_group=\"other\",status_class=\"2xx\"}"
        ),
        0.0
    );
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_request_duration_seconds_count{{{web}}}")
        ),
        n as f64
    );
    assert!(
        value(
            &m,
            &format!("mod_wsgi_request_duration_seconds_sum{{{web}}}")
        ) > 0.0
    );
    assert_eq!(
        value(&m, &format!("mod_wsgi_daemon_processes{{{web}}}")),
        2.0
    );
    assert_eq!(
        value(&m, "mod_wsgi_daemon_processes{process_group=\"other\"}"),
        1.0
    );
    assert_eq!(
        value(
            &m,
            &format!("mod_wsgi_worker_threads{{{web},state=\"idle\"}}")
        ),
        6.0
    );
    let pids = with_prefix(&m, "mod_wsgi_process_resident_memory_bytes{pid=")
        .filter(|(k, _)| k.contains(web))
        .count();
    assert_eq!(pids, 2, "{m:#?}");
}
per_mpm!(daemon_mode_counts_requests, daemon);

fn restarts(mpm: Mpm) {
    ours_only!("wsgi-metrics is ours");
    let b = Apache::builder(mpm).with_socket_prefix();
    let hello = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess recycled threads=1 maximum-requests=2")
        .server(format!(
            "WSGIScriptAlias /hello \"{}\" process-group=recycled",
            hello.display()
        ))
        .server(METRICS)
        .start();
    for _ in 0..6 {
        assert_eq!(apache.get("/hello").status, 200);
    }
    let key =
        "mod_wsgi_daemon_restarts_total{process_group=\"recycled\",reason=\"maximum-requests\"}";
    let m = wait_for(
        Duration::from_secs(30),
        "restarts by maximum-requests",
        || {
            let m = scrape(&apache);
            (value(&m, key) >= 2.0).then_some(m)
        },
    );
    // The requests of the processes that ended are still counted.
    assert_eq!(
        value(
            &m,
            "mod_wsgi_requests_total{process_group=\"recycled\",status_class=\"2xx\"}"
        ),
        6.0,
        "{m:#?}"
    );
    assert_eq!(
        value(
            &m,
            "mod_wsgi_daemon_restarts_total{process_group=\"recycled\",reason=\"crash\"}"
        ),
        0.0
    );
}
per_mpm!(daemon_restarts_by_reason, restarts);

/// A concurrent request shows as active and busy while it runs.
#[test]
fn a_running_request_is_active() {
    ours_only!("wsgi-metrics is ours");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let sleep = b.app("sleep.wsgi");
    let apache = b
        .server("WSGIDaemonProcess web threads=2")
        .server(format!(
            "WSGIScriptAlias /sleep \"{}\" process-group=web",
            sleep.display()
        ))
        .server(METRICS)
        .start();
    let client = apache.client();
    let slow = std::thread::spawn(move || client.get("/sleep?seconds=4").status);
    let m = wait_for(Duration::from_secs(20), "an active request", || {
        let m = scrape(&apache);
        (value(&m, "mod_wsgi_active_requests{process_group=\"web\"}") == 1.0).then_some(m)
    });
    assert_eq!(
        value(
            &m,
            "mod_wsgi_worker_threads{process_group=\"web\",state=\"busy\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "mod_wsgi_worker_threads{process_group=\"web\",state=\"idle\"}"
        ),
        1.0
    );
    assert_eq!(slow.join().unwrap(), 200);
    // The worker counts itself idle a moment after the response has gone.
    let m = wait_for(Duration::from_secs(20), "no active request", || {
        let m = scrape(&apache);
        (value(&m, "mod_wsgi_active_requests{process_group=\"web\"}") == 0.0).then_some(m)
    });
    assert!(
        value(
            &m,
            "mod_wsgi_request_duration_seconds_sum{process_group=\"web\"}"
        ) >= 3.5
    );
    assert_eq!(
        value(
            &m,
            "mod_wsgi_request_duration_seconds_bucket{le=\"2.5\",process_group=\"web\"}"
        ),
        0.0
    );
}

/// The segment outlives a graceful restart and a restart: the counts of
/// the old generation's children and daemons stay, and only the processes
/// running now are listed.
fn across_restarts(mpm: Mpm) {
    ours_only!("wsgi-metrics is ours");
    let b = Apache::builder(mpm).with_socket_prefix();
    let hello = b.app("hello.wsgi");
    let apache = b
        .server("WSGIDaemonProcess web processes=2 threads=2")
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=web",
            hello.display()
        ))
        .server(format!("WSGIScriptAlias /e \"{}\"", hello.display()))
        .server(METRICS)
        .start();
    for _ in 0..4 {
        assert_eq!(apache.get("/d").status, 200);
        assert_eq!(apache.get("/e").status, 200);
    }
    let web_2xx = "mod_wsgi_requests_total{process_group=\"web\",status_class=\"2xx\"}";
    let embedded_2xx = "mod_wsgi_requests_total{process_group=\"\",status_class=\"2xx\"}";
    // A request is counted a moment after its response has gone.
    let counted = |key: &str, n: f64| {
        wait_for(Duration::from_secs(20), key, || {
            let m = scrape(&apache);
            (value(&m, key) == n).then_some(())
        })
    };
    counted(web_2xx, 4.0);
    counted(embedded_2xx, 4.0);
    apache.graceful();
    assert_eq!(apache.get("/d").status, 200);
    counted(web_2xx, 5.0);
    apache.restart();
    assert_eq!(apache.get("/e").status, 200);
    counted(embedded_2xx, 5.0);
    let m = wait_for(Duration::from_secs(30), "the new daemons only", || {
        let m = scrape(&apache);
        let pids = with_prefix(&m, "mod_wsgi_process_resident_memory_bytes{pid=")
            .filter(|(k, _)| k.contains("process_group=\"web\""))
            .count();
        (pids == 2 && value(&m, "mod_wsgi_daemon_processes{process_group=\"web\"}") == 2.0)
            .then_some(m)
    });
    assert_eq!(value(&m, web_2xx), 5.0, "{m:#?}");
    assert_eq!(value(&m, embedded_2xx), 5.0, "{m:#?}");
    // Old generations' stopped daemons are not restarts.
    let restarts: f64 = with_prefix(&m, "mod_wsgi_daemon_restarts_total{")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(restarts, 0.0, "{m:#?}");
}
per_mpm!(counts_survive_restarts, across_restarts);
