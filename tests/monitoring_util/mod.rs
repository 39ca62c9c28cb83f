#![allow(dead_code)]
//! Shared by the metrics and health endpoint tests: parse a `wsgi-metrics`
//! page with `prometheus_client`'s OpenMetrics parser (Debian's
//! python3-prometheus-client, installed by `scripts/setup.sh`), read a
//! `wsgi-health` document, and wait for a condition with a generous bound.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The system Python that has `prometheus_client` (scripts/setup.sh).
const PYTHON: &str = "/usr/bin/python3";

/// Every sample of an OpenMetrics page, as `name{k="v",...}` (labels
/// sorted) to value, parsed by `prometheus_client`. Panics (with the page)
/// when the parser refuses it.
pub fn parse(page: &str) -> BTreeMap<String, f64> {
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s}\t%r" % (s.name, labels, float(s.value)))
"#;
    let mut child = Command::new(PYTHON)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run /usr/bin/python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named 'prometheus_client'"),
        "python3-prometheus-client is missing: run scripts/setup.sh"
    );
    assert!(
        out.status.success(),
        "the parser refused the page: {err}\n{page}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('\t')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// A sample's value (0 when absent).
pub fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

/// Every sample whose key starts with `prefix`.
pub fn with_prefix<'a>(
    samples: &'a BTreeMap<String, f64>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a String, &'a f64)> {
    samples.iter().filter(move |(k, _)| k.starts_with(prefix))
}

/// Calls `f` until it returns Some, for up to `limit`; panics with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A `wsgi-health` group entry: (processes, ready, threads, busy).
pub fn group_counts(doc: &str, group: &str) -> Option<(u64, u64, u64, u64)> {
    let at = doc.find(&format!("\"{group}\": {{"))?;
    let rest = &doc[at..];
    let body = &rest[rest.find('{')? + 1..rest.find('}')?];
    let field = |name: &str| -> Option<u64> {
        let p = body.find(&format!("\"{name}\": "))? + name.len() + 4;
        body[p..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((
        field("processes")?,
        field("ready")?,
        field("threads")?,
        field("busy")?,
    ))
}
