//! Criterion benchmarks of environ building, the per-request work that
//! needs no Apache: collecting a typical request's ~40 CGI variables into
//! [`EnvironData`] (what the embedded handler and the daemon worker do from
//! Apache's tables or the ENVIRON frame) and turning that into the WSGI
//! environ dict in an embedded Python interpreter (`environ::build`).
//!
//! Cargo.toml: `[[bench]] name = "environ"`, `harness = false`. Run with
//! `cargo bench --bench environ`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mod_wsgi::wsgi::environ::{self, EnvironData};
use pyo3::prelude::*;

/// A realistic request: CGI variables, request headers and `mod_wsgi.*` keys.
const VARS: &[(&str, &[u8])] = &[
    ("UNIQUE_ID", b"Z0Xy3cCoAAEAAB3aL5QAAAAB"),
    ("HTTP_HOST", b"www.example.com"),
    (
        "HTTP_USER_AGENT",
        b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "HTTP_ACCEPT",
        b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("HTTP_ACCEPT_LANGUAGE", b"en-GB,en;q=0.5"),
    ("HTTP_ACCEPT_ENCODING", b"gzip, deflate, br"),
    (
        "HTTP_COOKIE",
        b"sessionid=4f1c2b7e9a0d4c1fb2e3a4d5c6b7a8f9; csrftoken=Zx9YwVu8TsRq7PoNm6LkJi5HgFe4DcBa",
    ),
    ("HTTP_CONNECTION", b"keep-alive"),
    ("HTTP_REFERER", b"https://www.example.com/app/items/"),
    ("PATH", b"/usr/local/bin:/usr/bin:/bin"),
    ("SERVER_SIGNATURE", b""),
    ("SERVER_SOFTWARE", b"Apache/2.4.62 (Debian)"),
    ("SERVER_NAME", b"www.example.com"),
    ("SERVER_ADDR", b"192.0.2.10"),
    ("SERVER_PORT", b"443"),
    ("REMOTE_ADDR", b"198.51.100.7"),
    ("DOCUMENT_ROOT", b"/var/www/html"),
    ("REQUEST_SCHEME", b"https"),
    ("CONTEXT_PREFIX", b""),
    ("CONTEXT_DOCUMENT_ROOT", b"/var/www/html"),
    ("SERVER_ADMIN", b"webmaster@example.com"),
    ("SCRIPT_FILENAME", b"/srv/app/wsgi.py"),
    ("REMOTE_PORT", b"53122"),
    ("GATEWAY_INTERFACE", b"CGI/1.1"),
    ("SERVER_PROTOCOL", b"HTTP/1.1"),
    ("REQUEST_METHOD", b"GET"),
    ("QUERY_STRING", b"expand=owner&fields=id,name"),
    ("REQUEST_URI", b"/app/items/42?expand=owner&fields=id,name"),
    ("SCRIPT_NAME", b"/app"),
    ("PATH_INFO", b"/items/42"),
    ("PATH_TRANSLATED", b"/var/www/html/items/42"),
    ("mod_wsgi.script_name", b"/app"),
    ("mod_wsgi.path_info", b"/items/42"),
    ("mod_wsgi.process_group", b"example"),
    ("mod_wsgi.application_group", b"www.example.com|/app"),
    ("mod_wsgi.callable_object", b"application"),
    ("mod_wsgi.request_handler", b"wsgi-script"),
    ("mod_wsgi.handler_script", b""),
    ("mod_wsgi.script_reloading", b"1"),
    ("mod_wsgi.listener_host", b""),
    ("mod_wsgi.listener_port", b"443"),
    ("mod_wsgi.enable_sendfile", b"0"),
    ("mod_wsgi.ignore_activity", b"0"),
    ("mod_wsgi.request_id", b"Z0Xy3cCoAAEAAB3aL5QAAAAB"),
];

fn collect() -> EnvironData {
    let mut env = EnvironData::new();
    for (k, v) in VARS {
        env.set(k, v);
    }
    env.url_scheme = "https".into();
    env.multithread = true;
    env.times = vec![
        ("mod_wsgi.request_start", 1_732_612_345.678_901),
        ("mod_wsgi.queue_start", 1_732_612_345.678_95),
        ("mod_wsgi.daemon_start", 1_732_612_345.679_001),
        ("mod_wsgi.application_start", 1_732_612_345.679_05),
    ];
    env.ints = vec![("mod_wsgi.thread_id", 3)];
    env
}

fn bench_collect(c: &mut Criterion) {
    c.bench_function("environ/collect 45 variables", |b| {
        b.iter(|| black_box(collect()))
    });
}

fn bench_build(c: &mut Criterion) {
    Python::initialize();
    let data = collect();
    Python::attach(|py| {
        c.bench_function("environ/build dict (Python)", |b| {
            b.iter(|| {
                let d = environ::build(
                    py,
                    black_box(&data),
                    py.None().into_bound(py),
                    py.None().into_bound(py),
                    None,
                )
                .expect("environ dict");
                black_box(d)
            })
        });
    });
}

criterion_group!(benches, bench_collect, bench_build);
criterion_main!(benches);
