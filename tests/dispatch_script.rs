//! `WSGIDispatchScript` (server config and directory sections, as mod_wsgi's
//! ACCESS_CONF | RSRC_CONF): per request, before the handler picks its
//! targets, the Apache child calls the script's optional `process_group`,
//! `application_group` and `callable_object` with mod_wsgi's dispatch
//! environ. None keeps the configured value; a str or bytes replaces it and
//! is expanded like a configured value (`%{GLOBAL}`, `%{SERVER}`,
//! `%{ENV:VAR}`, which also sees the CGI variables; any other `%...`
//! callable is `application`). Routing to two
//! daemon groups and to embedded mode, by path and by Host; an exception or
//! a value of another type gives 500 with mod_wsgi's TypeError texts in the
//! error log; a group that WSGIRestrictProcess forbids is refused (the
//! check comes after the dispatch, as mod_wsgi); `WSGIRestrictEmbedded On`
//! still starts Python in the children for the script; a script that cannot
//! be loaded is logged and the configured values are kept; a changed script
//! is reloaded; `WSGIHandlerScript` requests are dispatched too; the
//! directive is refused in `.htaccess` (as mod_wsgi registers it). These pass against mod_wsgi 6.1.1 too (`MOD_WSGI_SO`), but
//! for the texts of our own log lines; against 4.9.4, `dispatch_environ`
//! (no `mod_wsgi.x-*` keys) and the chained UnicodeEncodeError fail.

#[macro_use]
mod common;

use common::*;

const DISPATCH: &str = r#"
def process_group(environ):
    path = environ['PATH_INFO']
    if environ.get('HTTP_HOST', '').startswith('d2.example'):
        return 'd2'
    if path == '/d1' or path == '/forbid-ok':
        return 'd1'
    if path in ('/d2', '/forbid'):
        return b'd2'
    if path == '/embedded':
        return '%{GLOBAL}'
    if path == '/embedded-named':
        return ''
    if path == '/hdr':
        return '%{ENV:HTTP_X_GROUP}'
    if path == '/nosuch':
        return 'nosuch'
    if path == '/raise':
        raise RuntimeError('dispatch boom')
    if path == '/pg-int':
        return 42
    if path == '/pg-euro':
        return '\u20ac'
    return None

def application_group(environ):
    path = environ['PATH_INFO']
    if path == '/d2':
        return '%{SERVER}'
    if path in ('/named', '/embedded-named'):
        return 'named'
    if path == '/ag-int':
        return 1
    return None

def callable_object(environ):
    path = environ['PATH_INFO']
    if path == '/alt':
        return b'alt'
    if path == '/env':
        return '%{ENV:DISPATCH_CALLABLE}'
    if path == '/bogus':
        return '%{BOGUS}'
    if path == '/co-float':
        return 1.5
    return None
"#;

const APP: &str = r#"
import mod_wsgi
def report(name, environ, start_response):
    body = '%s|%s|%s|%s|%s|%s' % (
        environ['mod_wsgi.process_group'], mod_wsgi.process_group,
        environ['mod_wsgi.application_group'], mod_wsgi.application_group,
        environ['mod_wsgi.callable_object'], name)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]
def application(environ, start_response):
    return report('application', environ, start_response)
def alt(environ, start_response):
    return report('alt', environ, start_response)
"#;

/// ServerName 127.0.0.1:PORT, mounts /app (configured: daemon group d1,
/// application group `cfg`), the dispatch script at server level.
fn server(mpm: Mpm, extra: &[&str]) -> Apache {
    let b = Apache::builder(mpm).with_socket_prefix();
    let app = b.write_app("app.wsgi", APP);
    let d = b.write_app("dispatch.py", DISPATCH);
    let mut b = b
        .server("WSGIDaemonProcess d1 threads=2")
        .server("WSGIDaemonProcess d2 threads=2")
        .server(format!("WSGIDispatchScript \"{}\"", d.display()))
        .server(format!(
            "WSGIScriptAlias /app \"{}\" process-group=d1 application-group=cfg",
            app.display()
        ))
        .server("<Location /app/env>\nSetEnv DISPATCH_CALLABLE alt\n</Location>");
    for line in extra {
        b = b.server(*line);
    }
    b.start()
}

fn routes(mpm: Mpm) {
    let apache = server(mpm, &[]);
    let port = apache.port();
    let get = |p: &str| {
        let r = apache.get(p);
        assert_eq!(r.status, 200, "{p}: {}\n{}", r.text(), apache.error_log());
        r.text()
    };
    // None everywhere keeps the configured values.
    assert_eq!(get("/app/keep"), "d1|d1|cfg|cfg|application|application");
    assert_eq!(get("/app/d1"), "d1|d1|cfg|cfg|application|application");
    // bytes, and %{SERVER} expanded in the returned application group.
    assert_eq!(
        get("/app/d2"),
        format!("d2|d2|127.0.0.1:{port}|127.0.0.1:{port}|application|application")
    );
    // %{GLOBAL}: embedded mode, in the Apache child.
    assert_eq!(get("/app/embedded"), "||cfg|cfg|application|application");
    assert_eq!(
        get("/app/named"),
        "d1|d1|named|named|application|application"
    );
    // "" is embedded mode too; the application runs in the interpreter chosen.
    assert_eq!(
        get("/app/embedded-named"),
        "||named|named|application|application"
    );
    assert_eq!(get("/app/alt"), "d1|d1|cfg|cfg|alt|alt");
    // %{ENV:VAR} from SetEnv; any other %{...} callable is `application`.
    assert_eq!(get("/app/env"), "d1|d1|cfg|cfg|alt|alt");
    assert_eq!(get("/app/bogus"), "d1|d1|cfg|cfg|application|application");
    // By Host.
    let r = apache
        .client()
        .send(&Request::new("GET", "/app/keep").header("Host", "d2.example"))
        .unwrap();
    assert_eq!(r.status, 200, "{}", apache.error_log());
    assert_eq!(r.text(), "d2|d2|cfg|cfg|application|application");
    // A returned %{ENV:VAR} also sees the request's CGI variables.
    let r = apache
        .client()
        .send(&Request::new("GET", "/app/hdr").header("X-Group", "d2"))
        .unwrap();
    assert_eq!(r.status, 200, "{}", apache.error_log());
    assert_eq!(r.text(), "d2|d2|cfg|cfg|application|application");
}
per_mpm!(routes_to_daemons_and_embedded, routes);

#[test]
fn dispatch_environ() {
    const PROBE: &str = r#"
def process_group(environ):
    e = environ['wsgi.errors']
    e.write('DISPATCH-ENV pg=%r ag=%r callable=%r input=%r version=%r rr=%s reload=%r uri=%r\n' % (
        environ['mod_wsgi.process_group'], environ['mod_wsgi.application_group'],
        'mod_wsgi.callable_object' in environ, 'wsgi.input' in environ,
        'wsgi.version' in environ, type(environ.get('apache.request_rec')).__name__,
        environ['mod_wsgi.x-script_reloading'], environ['REQUEST_URI']))
    import mod_wsgi
    e.write('DISPATCH-INTERP %r\n' % mod_wsgi.application_group)
    e.write('DISPATCH-KEYS %s\n' % ' '.join(sorted(environ)))
"#;
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("app.wsgi", APP);
    let d = b.write_app("probe.py", PROBE);
    let apache = b
        .server(format!(
            "WSGIScriptAlias /app \"{}\" application-group=cfg",
            app.display()
        ))
        .server(format!(
            "<Location /app>\nWSGIDispatchScript \"{}\" application-group=disp\n\
             WSGIPassApacheRequest On\n</Location>",
            d.display()
        ))
        .start();
    let r = apache.get("/app/x?y=1");
    assert_eq!(r.status, 200, "{}", apache.error_log());
    assert_eq!(r.text(), "||cfg|cfg|application|application");
    let log = apache.error_log();
    assert!(
        log.contains(
            "DISPATCH-ENV pg='' ag='disp' callable=False input=False version=False \
             rr=PyCapsule reload='1' uri='/app/x?y=1'"
        ),
        "{log}"
    );
    // The script runs in the interpreter its application-group= names.
    assert!(log.contains("DISPATCH-INTERP 'disp'"), "{log}");
    // Exactly mod_wsgi 6.1.1's keys for this request.
    let keys = "CONTEXT_DOCUMENT_ROOT CONTEXT_PREFIX DOCUMENT_ROOT HTTP_CONNECTION HTTP_HOST \
        PATH_INFO QUERY_STRING REMOTE_ADDR REMOTE_PORT REQUEST_METHOD REQUEST_SCHEME REQUEST_URI \
        SCRIPT_FILENAME SCRIPT_NAME SERVER_ADDR SERVER_ADMIN SERVER_NAME SERVER_PORT \
        SERVER_PROTOCOL SERVER_SOFTWARE apache.request_rec mod_wsgi.application_group \
        mod_wsgi.handler_script mod_wsgi.listener_host mod_wsgi.listener_port \
        mod_wsgi.path_info mod_wsgi.process_group mod_wsgi.request_handler \
        mod_wsgi.request_id mod_wsgi.script_name mod_wsgi.server_pid \
        mod_wsgi.x-enable_sendfile mod_wsgi.x-ignore_activity mod_wsgi.x-request_start_us \
        mod_wsgi.x-script_reloading wsgi.errors";
    assert!(log.contains(&format!("DISPATCH-KEYS {keys}\n")), "{log}");
}

#[test]
fn errors_give_500_with_the_exception() {
    let apache = server(Mpm::Event, &[]);
    for (path, text) in [
        ("/app/raise", "RuntimeError: dispatch boom"),
        (
            "/app/pg-int",
            "TypeError: Process group must be a byte string",
        ),
        (
            "/app/pg-euro",
            "TypeError: Process group must be a byte string, value containing non 'latin-1' \
             characters found",
        ),
        (
            "/app/ag-int",
            "TypeError: Application group must be a string object",
        ),
        (
            "/app/co-float",
            "TypeError: Callable object must be a string object",
        ),
    ] {
        let r = apache.get(path);
        assert_eq!(r.status, 500, "{path}");
        assert!(
            apache.wait_for_log(text, std::time::Duration::from_secs(5)),
            "{path}: {text}\n{}",
            apache.error_log()
        );
    }
    // A group that does not exist.
    assert_eq!(apache.get("/app/nosuch").status, 500);
    assert!(
        apache.wait_for_log(
            "No WSGI daemon process called 'nosuch'",
            std::time::Duration::from_secs(5)
        ),
        "{}",
        apache.error_log()
    );
    let log = apache.error_log();
    // The non-latin-1 value's UnicodeEncodeError is the TypeError's cause.
    assert!(log.contains("UnicodeEncodeError"), "{log}");
    if !is_reference() {
        assert!(log.contains("Traceback (most recent call last):"), "{log}");
        assert!(log.contains("dispatch.py\", line"), "{log}");
        assert!(
            log.contains("Exception occurred processing WSGI dispatch script"),
            "{log}"
        );
    }
    // The child keeps serving.
    assert_eq!(apache.get("/app/keep").status, 200);
}

#[test]
fn restrict_process_applies_to_the_chosen_group() {
    let apache = server(
        Mpm::Event,
        &["<Location /app>\nWSGIRestrictProcess d1\n</Location>"],
    );
    assert_eq!(apache.get("/app/forbid-ok").status, 200);
    let r = apache.get("/app/forbid");
    assert_eq!(r.status, 500);
    assert!(
        apache.error_log().contains(
            "Daemon process called 'd2' cannot be accessed by this WSGI application as not a \
             member of allowed groups"
        ),
        "{}",
        apache.error_log()
    );
    // Embedded mode is not in the list either.
    assert_eq!(apache.get("/app/embedded").status, 500);
}

#[test]
fn restrict_embedded_still_runs_the_script() {
    let apache = server(Mpm::Event, &["WSGIRestrictEmbedded On"]);
    let r = apache.get("/app/d2");
    assert_eq!(r.status, 200, "{}", apache.error_log());
    assert!(r.text().starts_with("d2|d2|"), "{}", r.text());
    assert_eq!(
        apache.get("/app/keep").text(),
        "d1|d1|cfg|cfg|application|application"
    );
    assert_eq!(apache.get("/app/embedded").status, 500);
    assert!(
        apache
            .error_log()
            .contains("Embedded mode of mod_wsgi disabled"),
        "{}",
        apache.error_log()
    );
}

#[test]
fn unloadable_script_keeps_configured_values() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("app.wsgi", APP);
    let d = b.write_app(
        "broken.py",
        "def process_group(environ):\n    return 'd2'\nraise ImportError('broken dispatch')\n",
    );
    let apache = b
        .server("WSGIDaemonProcess d1 threads=2")
        .server("WSGIDaemonProcess d2 threads=2")
        .server(format!(
            "WSGIScriptAlias /app \"{}\" process-group=d1 application-group=cfg",
            app.display()
        ))
        .server(format!("WSGIDispatchScript \"{}\"", d.display()))
        .start();
    let r = apache.get("/app/x");
    assert_eq!(r.status, 200, "{}", apache.error_log());
    assert_eq!(r.text(), "d1|d1|cfg|cfg|application|application");
    assert!(
        apache.error_log().contains("ImportError: broken dispatch"),
        "{}",
        apache.error_log()
    );
}

#[test]
fn changed_script_is_reloaded() {
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("app.wsgi", APP);
    let d = b.write_app("d.py", "def process_group(environ):\n    return 'd1'\n");
    let apache = b
        .server("WSGIDaemonProcess d1 threads=2")
        .server("WSGIDaemonProcess d2 threads=2")
        .server(format!("WSGIScriptAlias /app \"{}\"", app.display()))
        .server(format!("WSGIDispatchScript \"{}\"", d.display()))
        .start();
    assert!(apache.get("/app/x").text().starts_with("d1|d1|"));
    write_file(&d, "def process_group(environ):\n    return 'd2'\n");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&d)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert!(apache.get("/app/x").text().starts_with("d2|d2|"));
}

#[test]
fn contexts_and_bad_options() {
    let ok = Apache::builder(Mpm::Event)
        .server("WSGIDispatchScript /srv/d.py application-group=%{GLOBAL}")
        .server("<VirtualHost *:80>\nWSGIDispatchScript /srv/d.py\n</VirtualHost>")
        .server("<Directory /srv>\nWSGIDispatchScript /srv/d.py application-group=x\n</Directory>")
        .server("<Location /x>\nWSGIDispatchScript /srv/d.py\n</Location>")
        .config_test();
    assert!(ok.ok(), "{}", ok.output);
    for bad in [
        "WSGIDispatchScript",
        "WSGIDispatchScript /srv/d.py process-group=x",
        "WSGIDispatchScript /srv/d.py application-group=",
        "WSGIDispatchScript /srv/d.py junk",
    ] {
        let ct = Apache::builder(Mpm::Event).server(bad).config_test();
        assert!(!ct.ok(), "{bad} must fail: {}", ct.output);
    }
}

/// mod_wsgi documents the directive for `.htaccess` but registers it as
/// ACCESS_CONF | RSRC_CONF, so Apache refuses it there; so do we.
#[test]
fn not_allowed_in_htaccess() {
    let b = Apache::builder(Mpm::Event);
    let dir = b.root().join("htdocs/ht");
    write_file(&dir.join("index.html"), "static\n");
    write_file(&dir.join(".htaccess"), "WSGIDispatchScript /srv/d.py\n");
    let apache = b
        // Apache's own refusal of a .htaccess line is an alert.
        .allow_log("WSGIDispatchScript not allowed here")
        .server(format!(
            "<Directory \"{}\">\nAllowOverride All\n</Directory>",
            dir.display()
        ))
        .start();
    assert_eq!(apache.get("/ht/index.html").status, 500);
    assert!(
        apache
            .error_log()
            .contains("WSGIDispatchScript not allowed here"),
        "{}",
        apache.error_log()
    );
}

/// A `WSGIHandlerScript` request is dispatched too: the script may move it
/// to a daemon group; its callable stays `handle_request` unless chosen.
#[test]
fn handler_script_requests_are_dispatched() {
    const HANDLER: &str = r#"
import mod_wsgi
def handle_request(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('%s|%s|%s' % (mod_wsgi.process_group, environ['mod_wsgi.callable_object'],
                           environ['SCRIPT_FILENAME'].rsplit('/', 1)[1])).encode()]
def other(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('other|%s' % mod_wsgi.process_group).encode()]
"#;
    const ROUTE: &str = r#"
def process_group(environ):
    return 'd1' if environ['REQUEST_URI'].startswith('/d1') else None
def callable_object(environ):
    return 'other' if 'other' in environ['REQUEST_URI'] else None
"#;
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let handler = b.write_app("handler.py", HANDLER);
    let route = b.write_app("route.py", ROUTE);
    let htdocs = b.root().join("htdocs");
    write_file(&htdocs.join("page.txt"), "x");
    write_file(&htdocs.join("d1/page.txt"), "x");
    write_file(&htdocs.join("d1/other.txt"), "x");
    let apache = b
        .server("WSGIDaemonProcess d1 threads=2")
        .server(format!("WSGIDispatchScript \"{}\"", route.display()))
        .server(format!(
            "<Directory \"{}\">\n    WSGIHandlerScript my-handler \"{}\"\n    \
             AddHandler my-handler .txt\n</Directory>",
            htdocs.display(),
            handler.display()
        ))
        .start();
    let get = |p: &str| {
        let r = apache.get(p);
        assert_eq!(r.status, 200, "{p}: {}", apache.error_log());
        r.text()
    };
    assert_eq!(get("/page.txt"), "|handle_request|page.txt");
    assert_eq!(get("/d1/page.txt"), "d1|handle_request|page.txt");
    assert_eq!(get("/d1/other.txt"), "other|d1");
}
