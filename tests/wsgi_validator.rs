//! wsgiref.validate.validator around a set of test apps (`validated.wsgi`):
//! with its warnings turned into errors, no request may fail and the error
//! log may show no AssertionError, WSGIWarning or "Exception ignored" (the
//! validator asserts in `__del__` that the server called close()).

#[macro_use]
mod common;

use std::time::Duration;

use common::*;

fn validate(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let app = b.app("validated.wsgi");
    let apache = b
        .server(format!("WSGIScriptAlias /v \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias / \"{}\"", app.display()))
        .start();
    let body = b"line one\nline two\nend".to_vec();
    for case in [
        "/v",
        "/v/",
        "/",
        "/x/y",
        "/v/read",
        "/v/read-n",
        "/v/readline",
        "/v/iter",
        "/v/generator",
        "/v/write",
        "/v/file",
    ] {
        for method in ["GET", "POST"] {
            let req = if method == "POST" {
                Request::new(method, case).body(body.clone())
            } else {
                Request::new(method, &format!("{case}?q=1"))
            };
            let r = apache.client().send(&req).unwrap();
            assert_eq!(r.status, 200, "{method} {case}: {}", apache.error_log());
        }
    }
    let r = apache.client().send(&Request::new("HEAD", "/v")).unwrap();
    assert_eq!(r.status, 200);
    assert!(apache.wait_for_log("validated request", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(200));
    let log = apache.error_log();
    for bad in [
        "AssertionError",
        "WSGIWarning",
        "Exception ignored",
        "Traceback",
    ] {
        assert!(!log.contains(bad), "validator finding ({bad}):\n{log}");
    }
}
per_mpm!(wsgiref_validator_finds_nothing, validate);
