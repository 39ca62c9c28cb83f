//! `WSGIPassApacheRequest` (server config and `<Directory>`/`<Location>`,
//! as mod_wsgi's ACCESS_CONF | RSRC_CONF): with On, the embedded environ
//! holds `apache.request_rec`, an unnamed capsule of the request's
//! `request_rec` (the application reads `the_request` through it); Off, the
//! default and daemon mode have no such key; a bad value fails configtest
//! naming the directive and the value.

#[macro_use]
mod common;

use common::*;

/// `the_request` is the seventh pointer of `request_rec` (pool, connection,
/// server, next, prev, main, the_request) in httpd 2.4's public layout.
const APP: &str = r#"
import ctypes
def application(environ, start_response):
    cap = environ.get("apache.request_rec")
    if cap is None:
        body = "absent"
    else:
        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype = ctypes.c_void_p
        get.argtypes = [ctypes.py_object, ctypes.c_char_p]
        r = get(cap, None)
        the_request = ctypes.c_char_p.from_address(r + 6 * ctypes.sizeof(ctypes.c_void_p)).value
        body = "%s %s" % (type(cap).__name__, the_request.decode())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

fn server(mpm: Mpm, extra: &[String]) -> Apache {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("rr.wsgi", APP);
    let mut b = b
        .server("WSGIDaemonProcess rr threads=2")
        .server(format!("WSGIScriptAlias /on \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias /off \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias /default \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /daemon \"{}\" process-group=rr",
            app.display()
        ))
        .server("<Location /on>\nWSGIPassApacheRequest On\n</Location>")
        .server("<Location /daemon>\nWSGIPassApacheRequest On\n</Location>");
    for line in extra {
        b = b.server(line.clone());
    }
    b.start()
}

fn capsule_in_embedded_mode(mpm: Mpm) {
    let apache = server(
        mpm,
        &["<Location /off>\nWSGIPassApacheRequest Off\n</Location>".into()],
    );
    assert_eq!(
        apache.get("/on/x?y=1").text(),
        "PyCapsule GET /on/x?y=1 HTTP/1.1"
    );
    assert_eq!(apache.get("/off").text(), "absent");
    assert_eq!(apache.get("/default").text(), "absent");
    // As mod_wsgi: never in a daemon process.
    assert_eq!(apache.get("/daemon").text(), "absent");
}
per_mpm!(request_rec_capsule, capsule_in_embedded_mode);

#[test]
fn server_wide_on_and_bad_values() {
    let apache = Apache::builder(Mpm::Event);
    let app = apache.write_app("rr.wsgi", APP);
    let apache = apache
        .server("WSGIPassApacheRequest On")
        .server(format!("WSGIScriptAlias /s \"{}\"", app.display()))
        .start();
    assert_eq!(apache.get("/s").text(), "PyCapsule GET /s HTTP/1.1");

    let ct = Apache::builder(Mpm::Event)
        .global("WSGIPassApacheRequest yes")
        .config_test();
    assert!(!ct.ok(), "a bad value must fail");
    assert!(ct.output.contains("WSGIPassApacheRequest"), "{}", ct.output);
    if !is_reference() {
        assert!(
            ct.output
                .contains("WSGIPassApacheRequest must be one of: Off | On (got 'yes')"),
            "{}",
            ct.output
        );
    }
}
