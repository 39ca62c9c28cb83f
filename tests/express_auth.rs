//! `mod_wsgi-express start-server` with the auth options, as pip's
//! mod_wsgi-express 6.1.1 writes them: `--auth-user-script` (Basic) with
//! `--auth-group-script`/`--auth-group`, and `--host-access-script`, in the
//! default daemon mode (the scripts run in the Apache children, which start
//! Python for them although the configuration has `WSGIRestrictEmbedded On`).

mod common;

use common::*;

const APP: &str = r#"
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello %s" % environ.get("REMOTE_USER")).encode()]
"#;

const AUTH: &str = r#"
def check_password(environ, user, password):
    return password == "pw-" + user
def groups_for_user(environ, user):
    return ["admins"] if user == "alice" else ["staff"]
"#;

const ACCESS: &str = r#"
def allow_access(environ, host):
    return not environ["PATH_INFO"].startswith("/blocked")
"#;

#[test]
fn basic_auth_group_and_host_access() {
    apache_and_module();
    let dir = scratch();
    let app = dir.path().join("app.wsgi");
    let auth = dir.path().join("auth.py");
    let access = dir.path().join("access.py");
    std::fs::write(&app, APP).unwrap();
    std::fs::write(&auth, AUTH).unwrap();
    std::fs::write(&access, ACCESS).unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let (app_s, auth_s, access_s) = (path_str(&app), path_str(&auth), path_str(&access));
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app_s, &port_s, &root_s);
    args.extend_from_slice(&[
        "--auth-user-script",
        &auth_s,
        "--auth-group-script",
        &auth_s,
        "--auth-group",
        "admins",
        "--host-access-script",
        &access_s,
    ]);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let get = |path: &str, b64: Option<&str>| {
        let mut r = localhost_get(path);
        if let Some(b) = b64 {
            r = r.header("Authorization", &format!("Basic {b}"));
        }
        Client::new(port).send(&r).unwrap()
    };
    // alice:pw-alice, bob:pw-bob, alice:bad
    let r = get("/x", Some("YWxpY2U6cHctYWxpY2U="));
    assert_eq!(
        (r.status, r.text()),
        (200, "hello alice".to_string()),
        "{}",
        server.logs()
    );
    assert_eq!(get("/x", None).status, 401);
    assert_eq!(
        get("/x", Some("YWxpY2U6YmFk")).status,
        401,
        "wrong password"
    );
    assert_eq!(
        get("/x", Some("Ym9iOnB3LWJvYg==")).status,
        401,
        "bob is not in admins"
    );
    assert_eq!(get("/blocked", Some("YWxpY2U6cHctYWxpY2U=")).status, 403);
    server.interrupt_and_wait();
}
