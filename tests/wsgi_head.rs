//! HEAD requests (what load balancers, uptime monitors and `curl -I` send)
//! and the statuses Apache sends without a body (204, 304), in embedded and
//! daemon mode under every MPM. An application that answers HEAD as Werkzeug
//! (so Flask) does, with the GET's `Content-Length` and no body, gives a
//! complete response and leaves the connection usable: each HEAD is followed
//! by a pipelined GET on the same connection. `WSGIMapHEADToGET` On, Off and
//! Auto (with and without an output filter) decide which method the
//! application sees; Flask and a Django view with `CommonMiddleware` answer
//! HEAD as they do in production.

#[macro_use]
mod common;

use common::*;
use std::io::{BufReader, Write};

const BODY: &str = "the body a GET of this resource returns\n";

/// Sends `HEAD path` and `GET path` in one write on one connection and
/// returns both responses.
fn head_then_get(apache: &Apache, path: &str) -> (Response, Response) {
    let port = apache.port();
    let mut bytes = Request::new("HEAD", path).to_bytes(port, true);
    bytes.extend(Request::new("GET", path).to_bytes(port, true));
    let mut stream = apache.client().connect().unwrap();
    stream.write_all(&bytes).unwrap();
    let mut reader = BufReader::new(stream);
    let log = || apache.error_log();
    let head = read_response(&mut reader, "HEAD")
        .unwrap_or_else(|e| panic!("HEAD {path}: {e}\n{}", log()));
    let get = read_response(&mut reader, "GET").unwrap_or_else(|e| {
        panic!(
            "GET {path} after HEAD on the same connection: {e}\n{}",
            log()
        )
    });
    (head, get)
}

/// HEAD answers 200 with the GET's headers and no body (the pipelined GET's
/// status line comes right after its head), and the GET gets the body.
fn check_pair(apache: &Apache, path: &str, body: &str, seen: Option<&str>) {
    let (head, get) = head_then_get(apache, path);
    let log = apache.error_log();
    assert_eq!(head.status, 200, "HEAD {path}: {head:?}\n{log}");
    assert_eq!(get.status, 200, "GET {path}: {get:?}\n{log}");
    assert_eq!(get.text(), body, "GET {path}");
    let len = body.len().to_string();
    assert_eq!(
        head.header("Content-Length"),
        Some(len.as_str()),
        "HEAD {path}: {head:?}"
    );
    assert_eq!(
        get.header("Content-Length"),
        Some(len.as_str()),
        "GET {path}: {get:?}"
    );
    if let Some(method) = seen {
        assert_eq!(
            head.header("X-Seen-Method"),
            Some(method),
            "HEAD {path} as the app saw it"
        );
        assert_eq!(get.header("X-Seen-Method"), Some("GET"), "GET {path}");
    }
}

/// A status Apache sends without a body, with a Content-Length and no body
/// from the app: answered as is, and the connection stays usable.
fn check_bodiless_status(apache: &Apache, prefix: &str, code: u16) {
    let port = apache.port();
    let mut bytes = Request::new("GET", &format!("{prefix}/status/{code}")).to_bytes(port, true);
    bytes.extend(Request::new("GET", prefix).to_bytes(port, true));
    let mut stream = apache.client().connect().unwrap();
    stream.write_all(&bytes).unwrap();
    let mut reader = BufReader::new(stream);
    let log = || apache.error_log();
    let first = read_response(&mut reader, "GET")
        .unwrap_or_else(|e| panic!("GET {prefix}/status/{code}: {e}\n{}", log()));
    assert_eq!(first.status, code, "{first:?}\n{}", log());
    let next = read_response(&mut reader, "GET")
        .unwrap_or_else(|e| panic!("GET after a {code} on the same connection: {e}\n{}", log()));
    assert_eq!(next.status, 200, "{next:?}");
    assert_eq!(next.text(), BODY);
}

fn head(mpm: Mpm, daemon: bool) {
    let mut b = Apache::builder(mpm).with_socket_prefix().global(format!(
        "LoadModule deflate_module {APACHE_MODULES}/mod_deflate.so"
    ));
    let app = b.app("head_like_werkzeug.wsgi");
    let flask = b.app("flask_app.wsgi");
    let project = b.app("djsite");
    let group = if daemon {
        b = b.server("WSGIDaemonProcess head processes=1 threads=4");
        " process-group=head"
    } else {
        ""
    };
    let mounts = [
        ("/off", "Off"),
        ("/on", "On"),
        ("/auto", "Auto"),
        ("/auto-filter", "Auto"),
    ];
    for (mount, mode) in mounts {
        b = b
            .server(format!(
                "WSGIScriptAlias {mount} \"{}\"{group}",
                app.display()
            ))
            .server(format!("<Location {mount}>"))
            .server(format!("    WSGIMapHEADToGET {mode}"))
            .server("</Location>");
    }
    let apache = b
        // An output filter makes Auto show the application a GET.
        .server("<Location /auto-filter>\n    SetOutputFilter DEFLATE\n</Location>")
        .server(format!(
            "WSGIScriptAlias /flask \"{}\"{group}",
            flask.display()
        ))
        .server(format!(
            "WSGIScriptAlias /dj \"{}/djsite/wsgi.py\"{group}",
            project.display()
        ))
        .start();

    check_pair(&apache, "/off", BODY, Some("HEAD"));
    check_pair(&apache, "/on", BODY, Some("GET"));
    check_pair(&apache, "/auto", BODY, Some("HEAD"));
    check_pair(&apache, "/auto-filter", BODY, Some("GET"));
    check_pair(
        &apache,
        "/flask/hello/head",
        "flask says hello to head at /flask",
        None,
    );
    check_pair(&apache, "/dj/hello/", "django says hello", None);
    check_bodiless_status(&apache, "/off", 304);
    check_bodiless_status(&apache, "/off", 204);
    let log = apache.error_log();
    assert!(
        !log.contains("WSGIRS0104") && !log.contains("WSGIRS0438"),
        "a response without a body owed was treated as short:\n{log}"
    );
}

fn embedded(mpm: Mpm) {
    head(mpm, false)
}
per_mpm!(head_and_bodiless_statuses_embedded, embedded);

fn daemon(mpm: Mpm) {
    head(mpm, true)
}
per_mpm!(head_and_bodiless_statuses_daemon, daemon);

/// A GET whose body falls short of its Content-Length is still cut off (the
/// client must not take it for complete): the HEAD exemption is no wider
/// than HEAD, 204 and 304.
fn short_get(mpm: Mpm) {
    ours_only!("WSGIRS0104 closes a connection whose body fell short");
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app(
        "short.wsgi",
        "def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Length', '10')])\n    return [b'abc']\n",
    );
    let apache = b
        .server("WSGIDaemonProcess short threads=2")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=short",
            app.display()
        ))
        .start();
    for path in ["/e", "/d"] {
        let mut stream = apache.client().connect().unwrap();
        stream
            .write_all(&Request::new("GET", path).to_bytes(apache.port(), true))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let r = read_response(&mut reader, "GET");
        assert!(
            r.is_err(),
            "GET {path}: a short body must not look complete: {r:?}"
        );
    }
    assert!(apache.error_log().contains("WSGIRS0104"));
}
per_mpm!(short_get_body_still_aborts, short_get);
