//! The `wsgi-metrics` and `wsgi-health` handlers, used like Apache's
//! `server-status` (`SetHandler wsgi-metrics` in a `<Location>`): both read
//! the shared statistics (`crate::stats`) in the Apache child that got the
//! request, never Python and never a daemon, so they answer while every
//! daemon is busy or stopped. Health judges the daemon groups of the
//! current generation (`daemon::supervisor::registry`): each needs a
//! process that is ready, not stopped, and not with every worker busy for
//! longer than the group's request-timeout.

use crate::apache::log::{self, Level};
use crate::apache::log_ids::{HEALTH_UNAVAILABLE, MONITORING_METHOD};
use crate::apache::request::Request;
use crate::apache::{brigade, sys};
use crate::stats::{self, GroupView};
use std::ffi::c_int;
use std::fmt::Write;
use std::time::Duration;

pub const METRICS_HANDLER: &str = "wsgi-metrics";
pub const HEALTH_HANDLER: &str = "wsgi-health";

/// Serves the request if its handler is one of ours (None: not ours).
pub fn handle(r: &mut Request<'_>) -> Option<c_int> {
    let name = r.handler()?;
    let metrics = match name.as_ref() {
        METRICS_HANDLER => true,
        HEALTH_HANDLER => false,
        _ => return None,
    };
    if r.method_number() != sys::M_GET as i32 {
        log::request(
            Level::Err,
            r,
            &format!("{MONITORING_METHOD} {name} answers GET and HEAD only"),
        );
        r.headers_out().set("Allow", "GET, HEAD");
        let body = format!("{name} answers GET and HEAD only\n");
        return Some(send(r, 405, "405 Method Not Allowed", "text/plain", &body));
    }
    let groups = stats::snapshot();
    let (status, ctype, body) = if metrics {
        (
            200,
            stats::openmetrics::CONTENT_TYPE,
            stats::openmetrics::render(&groups),
        )
    } else {
        let (ok, body) = health(&groups, &current_groups());
        if !ok {
            log::request(
                Level::Info,
                r,
                &format!("{HEALTH_UNAVAILABLE} wsgi-health: unavailable: {body}"),
            );
        }
        (if ok { 200 } else { 503 }, "application/json", body)
    };
    let line = if status == 200 {
        "200 OK"
    } else {
        "503 Service Unavailable"
    };
    Some(send(r, status, line, ctype, &body))
}

/// Sends a whole response of ours; OK (the status is in the request).
fn send(r: &mut Request<'_>, status: u16, line: &str, ctype: &str, body: &str) -> c_int {
    r.set_status(status, line);
    r.headers_out().set("Cache-Control", "no-store");
    r.set_content_type(ctype.as_bytes());
    r.set_content_length(body.len() as i64);
    let mut out = brigade::Output::new(r);
    out.push_copy(body.as_bytes());
    if out.pass() != 0 {
        r.abort_connection();
    }
    sys::OK as c_int
}

/// The daemon groups of the current generation: name and request-timeout.
fn current_groups() -> Vec<(String, Option<Duration>)> {
    crate::daemon::supervisor::registry()
        .map(|reg| {
            reg.groups
                .iter()
                .map(|g| (g.opts.name.clone(), g.opts.request_timeout))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The health document, and whether every group can take a request.
pub fn health(views: &[GroupView], groups: &[(String, Option<Duration>)]) -> (bool, String) {
    let now = stats::now_ms();
    let mut all_ok = true;
    let mut parts = Vec::new();
    for (name, timeout) in groups {
        let empty = GroupView::default();
        let v = views.iter().find(|v| &v.name == name).unwrap_or(&empty);
        let daemons: Vec<_> = v.procs.iter().filter(|p| p.daemon).collect();
        let ready = daemons
            .iter()
            .filter(|p| p.accepting(*timeout, now))
            .count();
        all_ok &= ready > 0;
        let threads: u32 = daemons.iter().map(|p| p.threads).sum();
        let busy: u32 = daemons.iter().map(|p| p.busy).sum();
        parts.push(format!(
            "{}: {{\"processes\": {}, \"ready\": {ready}, \"threads\": {threads}, \"busy\": {busy}}}",
            json_str(name),
            daemons.len()
        ));
    }
    let status = if all_ok { "ok" } else { "unavailable" };
    let body = format!(
        "{{\"status\": \"{status}\", \"groups\": {{{}}}}}\n",
        parts.join(", ")
    );
    (all_ok, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::snapshot::ProcView;

    fn proc(ready: bool, threads: u32, busy: u32, last_change_ms: u64) -> ProcView {
        ProcView {
            pid: 1,
            daemon: true,
            ready,
            threads,
            busy,
            last_change_ms,
            stat: None,
        }
    }

    fn view(name: &str, procs: Vec<ProcView>) -> GroupView {
        GroupView {
            name: name.into(),
            procs,
            ..GroupView::default()
        }
    }

    #[test]
    fn every_group_needs_a_ready_process() {
        let groups = vec![("a".to_string(), None), ("b\"".to_string(), None)];
        let now = stats::now_ms();
        let views = vec![view("a", vec![proc(true, 2, 1, now)]), view("b\"", vec![])];
        let (ok, body) = health(&views, &groups);
        assert!(!ok);
        assert!(body.starts_with("{\"status\": \"unavailable\""), "{body}");
        assert!(
            body.contains("\"a\": {\"processes\": 1, \"ready\": 1, \"threads\": 2, \"busy\": 1}")
        );
        assert!(body.contains("\"b\\\"\": {\"processes\": 0, \"ready\": 0"));
        let (ok, _) = health(&views[..1], &groups[..1]);
        assert!(ok);
    }

    #[test]
    fn all_workers_busy_past_request_timeout_is_not_ready() {
        let t = Some(Duration::from_secs(5));
        let now = stats::now_ms();
        assert!(proc(true, 2, 2, now - 1000).accepting(t, now));
        assert!(!proc(true, 2, 2, now - 6000).accepting(t, now));
        assert!(proc(true, 2, 1, now - 6000).accepting(t, now));
        assert!(proc(true, 2, 2, now - 6000).accepting(None, now));
        assert!(!proc(false, 2, 0, now).accepting(t, now));
    }
}
