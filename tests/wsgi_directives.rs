//! The request-routing and loading directives against a real Apache:
//! WSGIScriptAliasMatch with $N, WSGIScriptReloading On/Off, WSGIImportScript
//! into %{GLOBAL} and a named group, WSGIRestrictEmbedded, WSGIHandlerScript
//! (with reload_required) and the wsgi-script handler via AddHandler with
//! and without Options ExecCGI.

#[macro_use]
mod common;

use std::time::{Duration, SystemTime};

use common::*;

#[test]
fn script_alias_match() {
    let b = Apache::builder(Mpm::Event);
    b.app("environ_dump.wsgi");
    b.app("hello.wsgi");
    let apps = b.root().join("apps");
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!(
            "WSGIScriptAliasMatch ^/m/([a-z_]+) \"{}/$1.wsgi\"",
            apps.display()
        ))
        // PCRE syntax, as mod_wsgi compiles it with Apache's engine: a
        // negative look-ahead keeps /p/private away from the scripts.
        .server(format!(
            "WSGIScriptAliasMatch ^/p/(?!private)([a-z_]+) \"{}/$1.wsgi\"",
            apps.display()
        ))
        .start();
    let r = apache.get("/m/environ_dump/extra/path");
    assert_eq!(r.status, 200, "{r:?}");
    let e = parse_kv(&r.text());
    assert_eq!(e["SCRIPT_NAME"], "str:'/m/environ_dump'");
    assert_eq!(e["PATH_INFO"], "str:'/extra/path'");
    assert_eq!(
        e["SCRIPT_FILENAME"],
        format!("str:'{}/environ_dump.wsgi'", apps.display())
    );
    let r = apache.get("/m/hello");
    assert_eq!(r.text(), "Hello from a WSGI test app\n");
    assert_eq!(apache.get("/m/missing").status, 404);
    assert_eq!(apache.get("/other").status, 404);
    assert_eq!(
        apache.get("/p/hello").text(),
        "Hello from a WSGI test app\n"
    );
    assert_eq!(apache.get("/p/private").status, 404);
}

const V1: &str = "def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 1']\n";
const V2: &str = "def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'version 2']\n";

fn touch_later(path: &std::path::Path) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
}

fn reloading(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let on = b.write_app("on.wsgi", V1);
    let off = b.write_app("off.wsgi", V1);
    let apache = b
        .mpm_sizing(match mpm {
            Mpm::Prefork => vec![
                "StartServers 1",
                "MinSpareServers 1",
                "MaxSpareServers 1",
                "ServerLimit 1",
                "MaxRequestWorkers 1",
            ],
            _ => vec![
                "StartServers 1",
                "ServerLimit 1",
                "ThreadsPerChild 4",
                "ThreadLimit 4",
                "MinSpareThreads 1",
                "MaxSpareThreads 4",
                "MaxRequestWorkers 4",
            ],
        })
        .server(format!("WSGIScriptAlias /on \"{}\"", on.display()))
        .server(format!("WSGIScriptAlias /off \"{}\"", off.display()))
        .server("<Location /off>\n    WSGIScriptReloading Off\n</Location>")
        .start();
    assert_eq!(apache.get("/on").text(), "version 1");
    assert_eq!(apache.get("/off").text(), "version 1");
    for p in [&on, &off] {
        write_file(p, V2);
        touch_later(p);
    }
    assert_eq!(
        apache.get("/on").text(),
        "version 2",
        "changed script reloaded"
    );
    assert_eq!(
        apache.get("/off").text(),
        "version 1",
        "WSGIScriptReloading Off keeps the loaded module"
    );
}
per_mpm!(script_reloading, reloading);

#[test]
fn import_script_preloads_into_groups() {
    let b = Apache::builder(Mpm::Event).log_level("warn");
    let preload = b.app("preload.py");
    let probe = b.app("preload_probe.wsgi");
    let p = probe.display();
    let apache = b
        .server(format!(
            "WSGIImportScript \"{}\" process-group=%{{GLOBAL}} application-group=harness-pre",
            preload.display()
        ))
        .server(format!(
            "WSGIImportScript \"{}\" process-group=%{{GLOBAL}} application-group=%{{GLOBAL}}",
            preload.display()
        ))
        .server(format!(
            "WSGIScriptAlias /pre \"{p}\" application-group=harness-pre"
        ))
        .server(format!(
            "WSGIScriptAlias /global \"{p}\" application-group=%{{GLOBAL}}"
        ))
        .server(format!(
            "WSGIScriptAlias /other \"{p}\" application-group=harness-other"
        ))
        .start();
    // Loaded at child start, before any request.
    assert!(
        apache.wait_for_log("harness-preloaded", Duration::from_secs(10)),
        "{}",
        apache.error_log()
    );
    let kv = parse_kv(&apache.get("/pre").text());
    assert!(
        kv["preloaded"].ends_with("group 'harness-pre'"),
        "import script ran in the named group: {kv:?}"
    );
    let kv = parse_kv(&apache.get("/global").text());
    assert!(kv["preloaded"].ends_with("group ''"), "{kv:?}");
    let kv = parse_kv(&apache.get("/other").text());
    assert_eq!(kv["preloaded"], "no", "other groups untouched: {kv:?}");
}

#[test]
fn restrict_embedded() {
    let b = Apache::builder(Mpm::Event).log_level("warn wsgi:info");
    let app = b.app("hello.wsgi");
    let apache = b
        .global("WSGIRestrictEmbedded On")
        .server(format!("WSGIScriptAlias /h \"{}\"", app.display()))
        .start();
    let r = apache.get("/h");
    assert_eq!(r.status, 500, "{r:?}");
    if !is_reference() {
        assert!(apache.wait_for_log("[WSGIRS0301]", Duration::from_secs(5)));
        assert!(
            !apache.error_log().contains("[WSGIRS0201]"),
            "Python must not be started in children:\n{}",
            apache.error_log()
        );
    }
}

#[test]
fn handler_script_and_reload_required() {
    let b = Apache::builder(Mpm::Event);
    let handler = b.app("handler_script.py");
    let htdocs = b.root().join("htdocs");
    write_file(&htdocs.join("page.txt"), "hello page");
    write_file(&htdocs.join("reload.txt"), "reload page");
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!(
            "<Directory \"{}\">\n    WSGIHandlerScript harness-handler \"{}\"\n    \
             AddHandler harness-handler .txt\n</Directory>",
            htdocs.display(),
            handler.display()
        ))
        .start();
    let r = apache.get("/page.txt");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "HELLO PAGE");
    assert_eq!(r.header("X-Counter"), Some("1"));
    assert_eq!(
        r.header("X-Handler-Script"),
        Some(handler.to_str().unwrap())
    );
    assert_eq!(r.header("X-Callable"), Some("handle_request"));
    assert_eq!(r.header("X-Request-Handler"), Some("harness-handler"));
    let r = apache.get("/page.txt");
    // One child, threads share the module: the counter went up.
    assert_eq!(
        r.header("X-Counter"),
        Some("2"),
        "module kept between requests"
    );
    for _ in 0..2 {
        let r = apache.get("/reload.txt");
        assert_eq!(r.text(), "RELOAD PAGE");
        assert_eq!(
            r.header("X-Counter"),
            Some("1"),
            "reload_required() returning True reloads the handler script"
        );
    }
}

#[test]
fn add_handler_needs_exec_cgi() {
    let b = Apache::builder(Mpm::Event);
    let htdocs = b.root().join("htdocs");
    let hello = std::fs::read_to_string(apps_dir().join("hello.wsgi")).unwrap();
    for d in ["cgi", "plain"] {
        write_file(&htdocs.join(d).join("x.wsgi"), &hello);
    }
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!(
            "<Directory \"{}\">\n    AddHandler wsgi-script .wsgi\n</Directory>",
            htdocs.display()
        ))
        .server(format!(
            "<Directory \"{}/cgi\">\n    Options +ExecCGI\n</Directory>",
            htdocs.display()
        ))
        .start();
    let r = apache.get("/cgi/x.wsgi");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "Hello from a WSGI test app\n");
    let r = apache.get("/plain/x.wsgi");
    assert_eq!(r.status, 403, "no ExecCGI: {r:?}");
}

fn md5_module_name(path: &str) -> String {
    use md5::{Digest, Md5};
    let d = Md5::digest(path.as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("_mod_wsgi_{hex}")
}

/// WSGICaseSensitivity: On (default) keeps script paths and SCRIPT_NAME as
/// they are; Off lowercases them for module names and %{RESOURCE}.
#[test]
fn case_sensitivity() {
    for on in [true, false] {
        let b = Apache::builder(Mpm::Event);
        let app = b.app("callable.wsgi");
        let group = b.app("app_group.wsgi");
        let mixed = b.root().join("apps/MixedCase.wsgi");
        std::fs::copy(&app, &mixed).unwrap();
        let mut b = b
            .server(format!("WSGIScriptAlias /Mod \"{}\"", mixed.display()))
            .server(format!("WSGIScriptAlias /Group \"{}\"", group.display()));
        if !on {
            b = b.global("WSGICaseSensitivity Off");
        }
        let apache = b.start();
        let kv = parse_kv(&apache.get("/Mod").text());
        let path = mixed.to_str().unwrap();
        let expected = if on {
            md5_module_name(path)
        } else {
            md5_module_name(&path.to_lowercase())
        };
        // mod_wsgi 4.9 had this check inverted (fixed in 6.0, commit 1cf304d).
        if !is_reference() {
            assert_eq!(kv["name"], expected, "module name, case sensitivity {on}");
        }
        let kv = parse_kv(&apache.get("/Group").text());
        let port = apache.port();
        let resource = if on { "/Group" } else { "/group" };
        assert_eq!(
            kv["environ_group"],
            format!("127.0.0.1:{port}|{resource}"),
            "%{{RESOURCE}}, case sensitivity {on}"
        );
    }
}
