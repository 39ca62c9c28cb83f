//! mod_wsgi's auth scripts, run in the Apache child whichever mode the
//! application is in: the `wsgi` authn provider for Basic
//! (`check_password`: True grants, False denies, None is an unknown user, a
//! str grants and renames the user, an exception is a 500 with the
//! traceback logged) and Digest (`get_realm_hash`), the `wsgi-group` authz
//! provider (`groups_for_user`) and `WSGIAccessScript` (`allow_access`:
//! True and None let the request through, False and an exception give 403).
//! Each check states mod_wsgi 6's answer; the file also runs against pip's
//! mod_wsgi 6.1.1 (`MOD_WSGI_SO`), where ours-only log ids are skipped.

#[macro_use]
mod common;

use common::*;
use md5::{Digest, Md5};

const APP: &str = r#"
def application(environ, start_response):
    body = "user=%s group=%r" % (environ.get("REMOTE_USER"), environ.get("mod_wsgi.process_group"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

const AUTH: &str = r#"
import hashlib
def check_password(environ, user, password):
    environ["wsgi.errors"].write("check_password %s in %r\n" % (user, environ["mod_wsgi.application_group"]))
    if user == "boom":
        raise RuntimeError("auth script failure for " + user)
    if user == "ghost":
        return None
    if user == "alias":
        return "renamed"
    return password == "secret-" + user
def get_realm_hash(environ, user, realm):
    if user == "ghost":
        return None
    if user == "boom":
        raise RuntimeError("digest failure")
    return hashlib.md5(("%s:%s:secret-%s" % (user, realm, user)).encode()).hexdigest()
def groups_for_user(environ, user):
    return {"alice": ["admins", "staff"], "bob": [b"staff"], "dave": 42}.get(user, [])
"#;

const ACCESS: &str = r#"
def allow_access(environ, host):
    what = environ["PATH_INFO"]
    if what == "/allow":
        return host == "127.0.0.1"
    if what == "/deny":
        return False
    if what == "/none":
        return None
    if what == "/bad":
        return "yes"
    raise ValueError("access script failure")
"#;

fn basic(user_pass_b64: &str) -> Request {
    Request::new("GET", "/basic/x").header("Authorization", &format!("Basic {user_pass_b64}"))
}

fn auth_modules(b: ApacheBuilder) -> ApacheBuilder {
    let mut b = b;
    for m in ["authn_core", "authz_user", "auth_basic", "auth_digest"] {
        b = b.global(format!("LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so"));
    }
    b
}

/// `daemon`: the application runs in a daemon group, with
/// `WSGIRestrictEmbedded On` (the scripts still run in the Apache child).
fn server(mpm: Mpm, daemon: bool) -> Apache {
    let b = auth_modules(Apache::builder(mpm).with_socket_prefix());
    let app = b.write_app("app.wsgi", APP);
    let auth = b.write_app("auth.py", AUTH);
    let access = b.write_app("access.py", ACCESS);
    let opts = if daemon { " process-group=d" } else { "" };
    let mut b = b;
    if daemon {
        b = b
            .server("WSGIDaemonProcess d threads=2")
            .server("WSGIRestrictEmbedded On");
    }
    for url in ["/basic", "/digest", "/group", "/access"] {
        b = b.server(format!("WSGIScriptAlias {url} \"{}\"{opts}", app.display()));
    }
    let a = auth.display();
    b.server(format!(
        "<Location /basic>\nAuthType Basic\nAuthName \"wsgi test\"\nAuthBasicProvider wsgi\n\
         WSGIAuthUserScript \"{a}\"\nRequire valid-user\n</Location>"
    ))
    .server(format!(
        "<Location /digest>\nAuthType Digest\nAuthName \"digest realm\"\nAuthDigestProvider wsgi\n\
         WSGIAuthUserScript \"{a}\" application-group=auth\nRequire valid-user\n</Location>"
    ))
    .server(format!(
        "<Location /group>\nAuthType Basic\nAuthName \"wsgi test\"\nAuthBasicProvider wsgi\n\
         WSGIAuthUserScript \"{a}\"\nWSGIAuthGroupScript \"{a}\"\nRequire wsgi-group admins other\n</Location>"
    ))
    .server(format!(
        "<Location /access>\nWSGIAccessScript \"{}\"\n</Location>",
        access.display()
    ))
    .start()
}

fn basic_auth(mpm: Mpm, daemon: bool) {
    let apache = server(mpm, daemon);
    let c = apache.client();
    let group = if daemon { "'d'" } else { "''" };
    let r = c.send(&basic("YWxpY2U6c2VjcmV0LWFsaWNl")).unwrap();
    assert_eq!(r.status, 200, "alice with her password: {}", r.text());
    assert_eq!(r.text(), format!("user=alice group={group}"));
    // False: denied; None: the user is unknown; both ask again with 401.
    for (who, b64) in [
        ("wrong password", "YWxpY2U6d3Jvbmc="),
        ("unknown user", "Z2hvc3Q6eA=="),
    ] {
        let r = c.send(&basic(b64)).unwrap();
        assert_eq!(r.status, 401, "{who}");
        assert!(
            r.header("WWW-Authenticate")
                .is_some_and(|h| h.starts_with("Basic")),
            "{who}"
        );
    }
    assert_eq!(c.get("/basic/x").status, 401, "no credentials");
    // A str is the user name the request goes on with.
    let r = c.send(&basic("YWxpYXM6c2VjcmV0LWFsaWFz")).unwrap();
    assert_eq!(
        (r.status, r.text()),
        (200, format!("user=renamed group={group}"))
    );
    // An exception: 500 and the traceback in the error log.
    assert_eq!(c.send(&basic("Ym9vbTp4")).unwrap().status, 500);
    let log = apache.error_log();
    assert!(
        log.contains("RuntimeError: auth script failure for boom"),
        "{log}"
    );
    // wsgi.errors writes into the error log; the default group is %{GLOBAL}.
    assert!(log.contains("check_password alice in ''"), "{log}");
    // mod_auth_basic tells the two apart: None is an unknown user.
    assert!(log.contains("user ghost not found: /basic/x"), "{log}");
    assert!(
        log.contains("user alice: authentication failure for \"/basic/x\": Password Mismatch"),
        "{log}"
    );
    if !is_reference() {
        // mod_wsgi 6.1.1 logs the exception's last line only.
        assert!(
            log.contains("[WSGIRS0510] Exception occurred processing WSGI script"),
            "{log}"
        );
        assert!(log.contains("Traceback (most recent call last):"), "{log}");
    }
}
per_mpm!(basic_embedded, basic_embedded_run);
per_mpm!(basic_daemon, basic_daemon_run);
fn basic_embedded_run(mpm: Mpm) {
    basic_auth(mpm, false)
}
fn basic_daemon_run(mpm: Mpm) {
    basic_auth(mpm, true)
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

/// The value of `key="..."` in a Digest challenge.
fn param(challenge: &str, key: &str) -> String {
    let start = challenge.find(&format!("{key}=\"")).expect(key) + key.len() + 2;
    let len = challenge[start..].find('"').unwrap();
    challenge[start..start + len].to_string()
}

/// A Digest request as a browser answers the challenge (qop=auth).
fn digest_request(apache: &Apache, user: &str, password: &str) -> Response {
    let c = apache.client();
    let first = c.get("/digest/x");
    assert_eq!(first.status, 401);
    let ch = first
        .header("WWW-Authenticate")
        .expect("challenge")
        .to_string();
    let (realm, nonce) = (param(&ch, "realm"), param(&ch, "nonce"));
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex("GET:/digest/x");
    let cnonce = "0a4f113b";
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    let auth = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"/digest/x\", \
         algorithm=MD5, response=\"{response}\", qop=auth, nc=00000001, cnonce=\"{cnonce}\""
    );
    c.send(&Request::new("GET", "/digest/x").header("Authorization", &auth))
        .unwrap()
}

fn digest_auth(mpm: Mpm) {
    let apache = server(mpm, false);
    let r = digest_request(&apache, "alice", "secret-alice");
    assert_eq!(
        (r.status, r.text()),
        (200, "user=alice group=''".to_string())
    );
    assert_eq!(digest_request(&apache, "alice", "wrong").status, 401);
    assert_eq!(
        digest_request(&apache, "ghost", "x").status,
        401,
        "None: unknown user"
    );
    assert_eq!(digest_request(&apache, "boom", "x").status, 500);
    let log = apache.error_log();
    assert!(log.contains("RuntimeError: digest failure"), "{log}");
}
per_mpm!(digest, digest_auth);

fn group_auth(mpm: Mpm, daemon: bool) {
    let apache = server(mpm, daemon);
    let c = apache.client();
    let get = |b64: &str| {
        c.send(&Request::new("GET", "/group/x").header("Authorization", &format!("Basic {b64}")))
            .unwrap()
    };
    let r = get("YWxpY2U6c2VjcmV0LWFsaWNl");
    assert_eq!(r.status, 200, "alice is in admins: {}", r.text());
    // bob is in staff only, carol in no group: authorization fails (401, as
    // Apache answers an authenticated user that Require refuses).
    assert_eq!(get("Ym9iOnNlY3JldC1ib2I=").status, 401);
    assert_eq!(get("Y2Fyb2w6c2VjcmV0LWNhcm9s").status, 401);
    // A result that is not an iterable of names denies, logged.
    assert_eq!(get("ZGF2ZTpzZWNyZXQtZGF2ZQ==").status, 401);
    let log = apache.error_log();
    assert!(
        log.contains("Result returned from 'groups_for_user' in"),
        "{log}"
    );
    assert!(
        log.contains("is not iterable; expected an iterable sequence of byte strings."),
        "{log}"
    );
    if !is_reference() {
        assert!(log.contains("[WSGIRS0516] Authorization of user 'bob' to access '/group/x' failed. User is not a member of designated groups."), "{log}");
        assert!(log.contains("[WSGIRS0516] Authorization of user 'carol' to access '/group/x' failed. User is not a member of any groups."), "{log}");
    }
}
per_mpm!(group_embedded, group_embedded_run);
fn group_embedded_run(mpm: Mpm) {
    group_auth(mpm, false)
}
#[test]
fn group_daemon() {
    group_auth(Mpm::Event, true)
}

fn access_script(mpm: Mpm, daemon: bool) {
    let apache = server(mpm, daemon);
    let group = if daemon { "'d'" } else { "''" };
    assert_eq!(
        apache.get("/access/allow").text(),
        format!("user=None group={group}")
    );
    assert_eq!(apache.get("/access/allow").status, 200);
    assert_eq!(
        apache.get("/access/none").status,
        200,
        "None: Apache's Require decides"
    );
    assert_eq!(apache.get("/access/deny").status, 403);
    assert_eq!(
        apache.get("/access/bad").status,
        403,
        "a non-boolean result denies"
    );
    assert_eq!(
        apache.get("/access/boom").status,
        403,
        "an exception denies"
    );
    let log = apache.error_log();
    assert!(log.contains("ValueError: access script failure"), "{log}");
    if !is_reference() {
        // mod_wsgi 6's words (4.9.4 words it differently).
        assert!(log.contains("must be a boolean or None"), "{log}");
        assert!(
            log.contains("[WSGIRS0515] Client denied by server configuration"),
            "{log}"
        );
    }
}
per_mpm!(access_embedded, access_embedded_run);
fn access_embedded_run(mpm: Mpm) {
    access_script(mpm, false)
}
#[test]
fn access_daemon() {
    access_script(Mpm::Event, true)
}

#[test]
fn script_reloading_and_directive_errors() {
    let b = auth_modules(Apache::builder(Mpm::Event));
    let app = b.write_app("app.wsgi", APP);
    let access = b.write_app(
        "access.py",
        "def allow_access(environ, host):\n    return False\n",
    );
    let apache = b
        .server(format!("WSGIScriptAlias /access \"{}\"", app.display()))
        .server(format!(
            "<Location /access>\nWSGIAccessScript \"{}\"\n</Location>",
            access.display()
        ))
        .start();
    assert_eq!(apache.get("/access/x").status, 403);
    // A changed script is loaded again (WSGIScriptReloading is On by default).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(
        &access,
        "def allow_access(environ, host):\n    return True\n",
    )
    .unwrap();
    assert_eq!(apache.get("/access/x").status, 200);

    for (line, needle) in [
        (
            "WSGIAuthUserScript /a.py process-group=x",
            "WSGIAuthUserScript",
        ),
        ("WSGIGroupAuthoritative maybe", "WSGIGroupAuthoritative"),
        // Removed in mod_wsgi 6.0: an unknown directive.
        (
            "WSGIUserAuthoritative Off",
            "Invalid command 'WSGIUserAuthoritative'",
        ),
    ] {
        let ct = auth_modules(Apache::builder(Mpm::Event))
            .server(format!("<Location /x>\n{line}\n</Location>"))
            .config_test();
        assert!(!ct.ok(), "{line} must fail");
        if !is_reference() {
            assert!(ct.output.contains(needle), "{}", ct.output);
        }
    }
    // OR_AUTHCFG: not at server level.
    let ct = auth_modules(Apache::builder(Mpm::Event))
        .server("WSGIAccessScript /a.py")
        .config_test();
    assert!(!ct.ok(), "server level must fail: {}", ct.output);
    let ct = auth_modules(Apache::builder(Mpm::Event))
        .server("<Location /x>\nWSGIGroupAuthoritative Off\nWSGIAuthGroupScript /a.py application-group=%{GLOBAL}\n</Location>")
        .config_test();
    assert!(ct.ok(), "{}", ct.output);
}

/// OR_AUTHCFG: the scripts may be named in `.htaccess` under
/// `AllowOverride AuthConfig` (and not without it).
#[test]
fn htaccess_with_auth_config_override() {
    let b = auth_modules(Apache::builder(Mpm::Event));
    let app = b.write_app("app.wsgi", APP);
    let access = b.write_app("access.py", ACCESS);
    let apps = app.parent().unwrap().to_path_buf();
    std::fs::write(
        apps.join(".htaccess"),
        format!("WSGIAccessScript \"{}\"\n", access.display()),
    )
    .unwrap();
    let apache = b
        .server(format!(
            "<Directory \"{}\">\nAllowOverride AuthConfig\n</Directory>",
            apps.display()
        ))
        .server(format!("WSGIScriptAlias /access \"{}\"", app.display()))
        .start();
    assert_eq!(apache.get("/access/allow").status, 200);
    assert_eq!(apache.get("/access/deny").status, 403);
    drop(apache);

    // Without the override Apache refuses the .htaccess file (500).
    let b = auth_modules(Apache::builder(Mpm::Event));
    let app = b.write_app("app.wsgi", APP);
    let apps = app.parent().unwrap().to_path_buf();
    std::fs::write(apps.join(".htaccess"), "WSGIAccessScript /a.py\n").unwrap();
    let apache = b
        .server(format!(
            "<Directory \"{}\">\nAllowOverride FileInfo\n</Directory>",
            apps.display()
        ))
        .server(format!("WSGIScriptAlias /access \"{}\"", app.display()))
        .allow_log("WSGIAccessScript not allowed here")
        .start();
    assert_eq!(apache.get("/access/allow").status, 500);
    assert!(
        apache
            .error_log()
            .contains("WSGIAccessScript not allowed here"),
        "{}",
        apache.error_log()
    );
}
