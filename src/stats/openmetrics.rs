//! The `wsgi-metrics` page: a [`snapshot`](super::snapshot) as OpenMetrics
//! text (the format Prometheus scrapes), one family per quantity, every
//! sample labelled by `process_group` ("" for embedded mode).

use super::layout::{BOUNDS, CLASSES, REASONS};
use super::snapshot::{GroupView, HistView};
use std::fmt::Write;

/// The content type of the page.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value, escaped as OpenMetrics wants (backslash, quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "# HELP {name} {help}");
}

fn secs(us: u64) -> String {
    format!("{:.6}", us as f64 / 1e6)
}

fn histogram(out: &mut String, name: &str, group: &str, h: &HistView) {
    let mut cumulative = 0;
    for (i, n) in h.buckets.iter().enumerate() {
        cumulative += n;
        let le = BOUNDS.get(i).map_or("+Inf".to_string(), |b| format!("{b}"));
        let _ = writeln!(
            out,
            "{name}_bucket{{process_group=\"{group}\",le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "{name}_sum{{process_group=\"{group}\"}} {}",
        secs(h.sum_us)
    );
    let _ = writeln!(out, "{name}_count{{process_group=\"{group}\"}} {}", h.count);
}

/// The whole page, ending with `# EOF`.
pub fn render(groups: &[GroupView]) -> String {
    let mut out = String::with_capacity(4096);
    let named: Vec<(String, &GroupView)> = groups.iter().map(|g| (esc(&g.name), g)).collect();
    family(
        &mut out,
        "mod_wsgi_requests",
        "counter",
        "WSGI requests served, by HTTP status class.",
    );
    for (n, g) in &named {
        for (class, count) in CLASSES.iter().zip(g.status.iter()) {
            let _ = writeln!(
                out,
                "mod_wsgi_requests_total{{process_group=\"{n}\",status_class=\"{class}\"}} {count}"
            );
        }
    }
    let hists = [
        (
            "mod_wsgi_request_duration_seconds",
            "Time the WSGI application took per request.",
        ),
        (
            "mod_wsgi_queue_wait_seconds",
            "Time a request waited before the application started.",
        ),
    ];
    for (i, (name, help)) in hists.iter().enumerate() {
        family(&mut out, name, "histogram", help);
        for (n, g) in &named {
            histogram(
                &mut out,
                name,
                n,
                if i == 0 { &g.duration } else { &g.queue },
            );
        }
    }
    gauges(&mut out, &named);
    family(
        &mut out,
        "mod_wsgi_daemon_restarts",
        "counter",
        "Daemon processes restarted, by reason.",
    );
    for (n, g) in named.iter().filter(|(n, _)| !n.is_empty()) {
        for (reason, count) in REASONS.iter().zip(g.restarts.iter()) {
            let _ = writeln!(
                out,
                "mod_wsgi_daemon_restarts_total{{process_group=\"{n}\",reason=\"{reason}\"}} {count}"
            );
        }
    }
    per_process(&mut out, &named);
    out.push_str("# EOF\n");
    out
}

/// Active requests, worker threads, daemon processes.
fn gauges(out: &mut String, named: &[(String, &GroupView)]) {
    family(
        out,
        "mod_wsgi_active_requests",
        "gauge",
        "WSGI requests being served now.",
    );
    for (n, g) in named {
        let _ = writeln!(
            out,
            "mod_wsgi_active_requests{{process_group=\"{n}\"}} {}",
            g.busy()
        );
    }
    family(
        out,
        "mod_wsgi_worker_threads",
        "gauge",
        "Request threads, busy or idle.",
    );
    for (n, g) in named {
        let (threads, busy) = (g.threads(), g.busy());
        let idle = threads.saturating_sub(busy);
        let _ = writeln!(
            out,
            "mod_wsgi_worker_threads{{process_group=\"{n}\",state=\"busy\"}} {busy}"
        );
        let _ = writeln!(
            out,
            "mod_wsgi_worker_threads{{process_group=\"{n}\",state=\"idle\"}} {idle}"
        );
    }
    family(
        out,
        "mod_wsgi_daemon_processes",
        "gauge",
        "Daemon processes running.",
    );
    for (n, g) in named.iter().filter(|(n, _)| !n.is_empty()) {
        let _ = writeln!(
            out,
            "mod_wsgi_daemon_processes{{process_group=\"{n}\"}} {}",
            g.daemons()
        );
    }
}

/// Resident memory and CPU time of every live process.
fn per_process(out: &mut String, named: &[(String, &GroupView)]) {
    family(
        out,
        "mod_wsgi_process_resident_memory_bytes",
        "gauge",
        "Resident memory of each Apache child and daemon process.",
    );
    for (n, g) in named {
        for p in &g.procs {
            if let Some(st) = p.stat {
                let _ = writeln!(
                    out,
                    "mod_wsgi_process_resident_memory_bytes{{process_group=\"{n}\",pid=\"{}\"}} {}",
                    p.pid, st.rss_bytes
                );
            }
        }
    }
    family(
        out,
        "mod_wsgi_process_cpu_seconds",
        "counter",
        "CPU time (user and system) of each Apache child and daemon process.",
    );
    for (n, g) in named {
        for p in &g.procs {
            if let Some(st) = p.stat {
                let _ = writeln!(
                    out,
                    "mod_wsgi_process_cpu_seconds_total{{process_group=\"{n}\",pid=\"{}\"}} {:.2}",
                    p.pid, st.cpu_seconds
                );
            }
        }
    }
}
