//! The WSGI environ against a real Apache, key by key as mod_wsgi 6.0 builds
//! it (src/server/wsgi_environ.c, wsgi_adapter.c): CGI variables, the
//! SCRIPT_NAME/PATH_INFO split under `/x` and `/` with duplicate slashes
//! collapsed, HTTP_* with repeated headers joined and invalid names dropped,
//! latin-1 decoding, HTTPS turned into wsgi.url_scheme, SetEnv/PassEnv,
//! REDIRECT_*, REMOTE_USER/AUTH_TYPE, WSGIPassAuthorization, WSGIMapHEADToGET
//! and the wsgi.*, apache.* and mod_wsgi.* keys with their types. One app,
//! `environ_dump.wsgi`, prints `key=type:ascii(value)` lines.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use common::*;

fn dump(r: &Response) -> BTreeMap<String, String> {
    assert_eq!(r.status, 200, "{r:?}");
    parse_kv(&r.text())
}

fn s(v: &str) -> String {
    format!("str:'{v}'")
}

fn env_apache(mpm: Mpm, extra: &[&str]) -> Apache {
    let b = Apache::builder(mpm);
    let app = b.app("environ_dump.wsgi");
    let mut b = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /env \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias / \"{}\"", app.display()));
    for l in extra {
        b = b.server(*l);
    }
    b.start()
}

fn cgi_and_wsgi_keys(mpm: Mpm) {
    let apache = env_apache(mpm, &["SetEnv HARNESS_SETENV set-by-config"]);
    let port = apache.port();
    let e = dump(&apache.get("/env/sub/path?x=1&y=%20"));
    assert_eq!(e["REQUEST_METHOD"], s("GET"));
    assert_eq!(e["SCRIPT_NAME"], s("/env"));
    assert_eq!(e["PATH_INFO"], s("/sub/path"));
    assert_eq!(e["QUERY_STRING"], s("x=1&y=%20"));
    assert_eq!(e["REQUEST_URI"], s("/env/sub/path?x=1&y=%20"));
    assert_eq!(e["SERVER_PROTOCOL"], s("HTTP/1.1"));
    assert_eq!(e["SERVER_NAME"], s("127.0.0.1"));
    assert_eq!(e["SERVER_PORT"], s(&port.to_string()));
    assert_eq!(e["SERVER_ADDR"], s("127.0.0.1"));
    assert_eq!(e["SERVER_ADMIN"], s("test@example.invalid"));
    assert!(e["SERVER_SOFTWARE"].starts_with("str:'Apache"), "{e:?}");
    assert_eq!(e["REMOTE_ADDR"], s("127.0.0.1"));
    let remote_port = e["REMOTE_PORT"]
        .trim_start_matches("str:'")
        .trim_end_matches('\'');
    assert!(remote_port.parse::<u16>().is_ok(), "{e:?}");
    assert_eq!(e["REQUEST_SCHEME"], s("http"));
    let root = apache.root().display().to_string();
    assert_eq!(
        e["SCRIPT_FILENAME"],
        s(&format!("{root}/apps/environ_dump.wsgi"))
    );
    assert_eq!(e["DOCUMENT_ROOT"], s(&format!("{root}/htdocs")));
    assert_eq!(e["CONTEXT_DOCUMENT_ROOT"], s(&format!("{root}/htdocs")));
    assert_eq!(e["CONTEXT_PREFIX"], s(""));
    assert_eq!(e["HTTP_HOST"], s(&format!("127.0.0.1:{port}")));
    assert_eq!(e["HARNESS_SETENV"], s("set-by-config"));
    // No body: no CONTENT_TYPE/CONTENT_LENGTH.
    assert!(!e.contains_key("CONTENT_LENGTH"), "{e:?}");
    assert!(!e.contains_key("CONTENT_TYPE"), "{e:?}");
    // Dropped in mod_wsgi 6.0 (and never HTTPS, which became url_scheme);
    // the reference 4.9 still has most of them.
    let gone_keys: &[&str] = if is_reference() {
        &["HTTPS"]
    } else {
        &[
            "GATEWAY_INTERFACE",
            "PATH_TRANSLATED",
            "SERVER_SIGNATURE",
            "REMOTE_HOST",
            "REMOTE_IDENT",
            "PATH",
            "HTTPS",
        ]
    };
    for gone in gone_keys {
        assert!(
            !e.contains_key(*gone),
            "{gone} must not be in environ: {e:?}"
        );
    }
    assert!(
        !e.keys().any(|k| k.starts_with("mod_wsgi.x-")),
        "internal keys leaked: {e:?}"
    );

    assert_eq!(e["wsgi.version"], "tuple:(1, 0)");
    assert_eq!(e["wsgi.url_scheme"], s("http"));
    let threaded = mpm != Mpm::Prefork;
    let py_bool = |b: bool| format!("bool:{}", if b { "True" } else { "False" });
    assert_eq!(e["wsgi.multithread"], py_bool(threaded), "{mpm}");
    assert_eq!(e["wsgi.multiprocess"], py_bool(true), "{mpm}");
    assert_eq!(e["wsgi.run_once"], py_bool(false));
    assert_eq!(e["wsgi.input_terminated"], py_bool(true));
    assert!(e["wsgi.input"].ends_with(":-"), "{e:?}");
    assert!(e["wsgi.errors"].ends_with(":-"), "{e:?}");
    assert_eq!(e["wsgi.file_wrapper"], "type:-");
    assert!(e["apache.version"].starts_with("tuple:(2, 4, "), "{e:?}");

    if !is_reference() {
        // 6.0 only: the reference 4.9 has string timings and other keys.
        assert_eq!(e["mod_wsgi.version"], "tuple:(6, 0, 5)");
        assert_eq!(e["mod_wsgi.process_group"], s(""));
        assert_eq!(e["mod_wsgi.application_group"], s(""));
        assert_eq!(e["mod_wsgi.callable_object"], s("application"));
        assert_eq!(e["mod_wsgi.request_handler"], s("wsgi-script"));
        assert_eq!(e["mod_wsgi.handler_script"], s(""));
        assert_eq!(e["mod_wsgi.script_name"], s("/env"));
        assert_eq!(e["mod_wsgi.path_info"], s("/sub/path"));
        assert_eq!(e["mod_wsgi.listener_port"], s(&port.to_string()));
        assert!(e.contains_key("mod_wsgi.listener_host"), "{e:?}");
        let pid = e["pid"].trim_start_matches("int:");
        assert_eq!(e["mod_wsgi.server_pid"], s(pid));
        assert!(e["mod_wsgi.request_id"].len() > "str:''".len(), "{e:?}");
        assert!(e["mod_wsgi.thread_id"].starts_with("int:"), "{e:?}");
        let float = |k: &str| -> f64 {
            e[k].strip_prefix("float:")
                .unwrap_or_else(|| panic!("{k} must be a float: {}", e[k]))
                .parse()
                .unwrap()
        };
        let (rs, aps) = (
            float("mod_wsgi.request_start"),
            float("mod_wsgi.application_start"),
        );
        assert!(rs > 1.6e9 && rs <= aps && aps - rs < 60.0, "{rs} {aps}");
        assert_eq!(float("mod_wsgi.queue_start"), 0.0);
        assert_eq!(float("mod_wsgi.daemon_start"), 0.0);
    }
}
per_mpm!(cgi_and_wsgi_variables, cgi_and_wsgi_keys);

#[test]
fn script_name_and_path_info_split() {
    let apache = env_apache(Mpm::Event, &["MergeSlashes Off"]);
    let cases = [
        ("/env", "/env", ""),
        ("/env/", "/env", "/"),
        ("/env//a///b", "/env", "/a/b"),
        ("//env/a", "/env", "/a"),
        ("/", "", "/"),
        ("/other//x", "", "/other/x"),
    ];
    for (path, script_name, path_info) in cases {
        let e = dump(&apache.get(path));
        assert_eq!(e["SCRIPT_NAME"], s(script_name), "SCRIPT_NAME for {path}");
        assert_eq!(e["PATH_INFO"], s(path_info), "PATH_INFO for {path}");
        assert_eq!(
            e["QUERY_STRING"],
            s(""),
            "QUERY_STRING always present ({path})"
        );
    }
}

#[test]
fn headers_joined_invalid_dropped_latin1() {
    let apache = env_apache(Mpm::Event, &[]);
    let raw = b"GET /env HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Dup: a\r\nX-Dup: b\r\n\
        X_Under: spoof\r\nProxy: http://evil\r\nX-Latin: caf\xe9\r\n\
        Authorization: Basic dXNlcjpwdw==\r\nConnection: close\r\n\r\n";
    let out = apache.client().raw(raw).unwrap();
    let r = read_response(&mut std::io::BufReader::new(&out[..]), "GET").unwrap();
    let e = dump(&r);
    assert_eq!(e["HTTP_X_DUP"], s("a, b"), "repeated headers joined");
    assert!(
        !e.contains_key("HTTP_X_UNDER"),
        "X_Under must be dropped: {e:?}"
    );
    assert!(!e.contains_key("HTTP_PROXY"), "httpoxy: {e:?}");
    assert_eq!(e["HTTP_X_LATIN"], s("caf\\xe9"), "latin-1 decoded");
    assert!(
        !e.contains_key("HTTP_AUTHORIZATION"),
        "Authorization hidden without WSGIPassAuthorization: {e:?}"
    );

    let r = apache
        .client()
        .send(
            &Request::new("POST", "/env")
                .header("Content-Type", "application/x-test")
                .body(&b"12345"[..]),
        )
        .unwrap();
    let e = dump(&r);
    assert_eq!(e["CONTENT_TYPE"], s("application/x-test"));
    assert_eq!(e["CONTENT_LENGTH"], s("5"));
    assert!(!e.contains_key("HTTP_CONTENT_TYPE"), "{e:?}");
}

#[test]
fn pass_authorization() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /on \"{}\"", app.display()))
        .server("<Location /on>\n    WSGIPassAuthorization On\n</Location>")
        .server(format!(
            "WSGIScriptAlias /opt \"{}\" pass-authorization=On",
            app.display()
        ))
        .server(format!("WSGIScriptAlias /off \"{}\"", app.display()))
        .start();
    for (path, passed) in [("/on", true), ("/opt", true), ("/off", false)] {
        let r = apache
            .client()
            .send(&Request::new("GET", path).header("Authorization", "Bearer t0k"))
            .unwrap();
        let e = dump(&r);
        assert_eq!(
            e.get("HTTP_AUTHORIZATION").cloned(),
            passed.then(|| s("Bearer t0k")),
            "{path}"
        );
    }
}

#[test]
fn https_setenv_becomes_url_scheme() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let apache = b
        .env("HARNESS_PASSED", "from-parent-env")
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /on \"{}\"", app.display()))
        .server("<Location /on>\n    SetEnv HTTPS On\n</Location>")
        .server(format!("WSGIScriptAlias /one \"{}\"", app.display()))
        .server("<Location /one>\n    SetEnv HTTPS 1\n</Location>")
        .server(format!("WSGIScriptAlias /no \"{}\"", app.display()))
        .server("<Location /no>\n    SetEnv HTTPS off\n</Location>")
        .server("PassEnv HARNESS_PASSED PATH")
        .start();
    for (path, scheme) in [("/on", "https"), ("/one", "https"), ("/no", "http")] {
        let e = dump(&apache.get(path));
        assert_eq!(e["wsgi.url_scheme"], s(scheme), "{path}");
        assert!(!e.contains_key("HTTPS"), "HTTPS removed ({path}): {e:?}");
        assert_eq!(e["HARNESS_PASSED"], s("from-parent-env"), "PassEnv");
        assert!(!e.contains_key("PATH"), "PATH is never passed: {e:?}");
    }
}

#[test]
fn redirect_variables_and_remote_user() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let htpasswd = b.root().join("htpasswd");
    let st = std::process::Command::new("htpasswd")
        .args(["-bc", htpasswd.to_str().unwrap(), "alice", "s3cret"])
        .output()
        .expect("htpasswd (apache2-utils) is needed");
    assert!(st.status.success(), "{st:?}");
    let m = APACHE_MODULES;
    let apache = b
        .global(format!(
            "LoadModule auth_basic_module {m}/mod_auth_basic.so"
        ))
        .global(format!(
            "LoadModule authn_file_module {m}/mod_authn_file.so"
        ))
        .global(format!(
            "LoadModule authn_core_module {m}/mod_authn_core.so"
        ))
        .global(format!(
            "LoadModule authz_user_module {m}/mod_authz_user.so"
        ))
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /env \"{}\"", app.display()))
        .server("ErrorDocument 404 /env/notfound")
        .server(format!(
            "<Location /env/private>\n    AuthType Basic\n    AuthName harness\n    \
             AuthUserFile \"{}\"\n    Require valid-user\n</Location>",
            htpasswd.display()
        ))
        .start();
    // The app's own status goes out (as with mod_wsgi and CGI error documents).
    let e = dump(&apache.get("/no-such-file?q=1"));
    assert_eq!(e["REDIRECT_URL"], s("/no-such-file"));
    assert_eq!(e["REDIRECT_QUERY_STRING"], s("q=1"));
    assert_eq!(e["REDIRECT_STATUS"], s("404"));
    assert_eq!(e["PATH_INFO"], s("/notfound"));

    let r = apache
        .client()
        .send(
            &Request::new("GET", "/env/private").header("Authorization", "Basic YWxpY2U6czNjcmV0"),
        )
        .unwrap();
    let e = dump(&r);
    assert_eq!(e["REMOTE_USER"], s("alice"));
    assert_eq!(e["AUTH_TYPE"], s("Basic"));
    let r = apache.get("/env/private");
    assert_eq!(r.status, 401, "{r:?}");
}

/// WSGIMapHEADToGET: On presents HEAD as GET, Off never, Auto only when a
/// content output filter (mod_deflate here) would need the body.
#[test]
fn map_head_to_get() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let p = app.display();
    let m = APACHE_MODULES;
    let apache = b
        .global(format!("LoadModule filter_module {m}/mod_filter.so"))
        .global(format!("LoadModule deflate_module {m}/mod_deflate.so"))
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /on \"{p}\""))
        .server("<Location /on>\n    WSGIMapHEADToGET On\n</Location>")
        .server(format!("WSGIScriptAlias /off \"{p}\""))
        .server(
            "<Location /off>\n    WSGIMapHEADToGET Off\n    SetOutputFilter DEFLATE\n</Location>",
        )
        .server(format!("WSGIScriptAlias /auto \"{p}\""))
        .server("<Location /auto>\n    WSGIMapHEADToGET Auto\n</Location>")
        .server(format!("WSGIScriptAlias /auto-filter \"{p}\""))
        .server(
            "<Location /auto-filter>\n    WSGIMapHEADToGET Auto\n    SetOutputFilter DEFLATE\n</Location>",
        )
        .server(format!("WSGIScriptAlias /default-filter \"{p}\""))
        .server("<Location /default-filter>\n    SetOutputFilter DEFLATE\n</Location>")
        .start();
    for (path, seen) in [
        ("/on", "GET"),
        ("/off", "HEAD"),
        ("/auto", "HEAD"),
        ("/auto-filter", "GET"),
        // Auto is the default in 6.0 (4.9 did not apply it by default).
        (
            "/default-filter",
            if is_reference()
                && !module_under_test()
                    .to_string_lossy()
                    .contains("site-packages")
            {
                "HEAD"
            } else {
                "GET"
            },
        ),
    ] {
        let r = apache.client().send(&Request::new("HEAD", path)).unwrap();
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.header("X-Request-Method"), Some(seen), "HEAD {path}");
        assert!(r.body.is_empty(), "HEAD {path} has no body");
        let r = apache.get(path);
        assert_eq!(r.header("X-Request-Method"), Some("GET"), "GET {path}");
    }
}

/// WSGITrustedProxyHeaders / WSGITrustedProxies: trusted headers rewrite
/// REMOTE_ADDR, HTTP_HOST and the scheme; an untrusted peer gets nothing
/// applied and the trusted categories' synonyms deleted.
#[test]
fn trusted_proxy_headers() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let p = app.display();
    let trusted = "WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto X-Forwarded-Host";
    let apache = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /any \"{p}\""))
        .server(format!("<Location /any>\n    {trusted}\n</Location>"))
        .server(format!("WSGIScriptAlias /untrusted \"{p}\""))
        .server(format!(
            "<Location /untrusted>\n    {trusted}\n    WSGITrustedProxies 10.0.0.1\n</Location>"
        ))
        .server(format!("WSGIScriptAlias /walk \"{p}\""))
        .server(format!(
            "<Location /walk>\n    {trusted}\n    WSGITrustedProxies 127.0.0.1 10.0.0.0/8\n</Location>"
        ))
        .start();
    let send = |path: &str| {
        dump(
            &apache
                .client()
                .send(
                    &Request::new("GET", path)
                        .header("X-Forwarded-For", "6.6.6.6, 1.1.1.1, 10.0.0.2")
                        .header("X-Forwarded-Proto", "https")
                        .header("X-Forwarded-Ssl", "off")
                        .header("X-Forwarded-Host", "www.example.com")
                        .header("X-Host", "spoofed.example"),
                )
                .unwrap(),
        )
    };
    let e = send("/any");
    assert_eq!(
        e["REMOTE_ADDR"],
        s("6.6.6.6"),
        "no proxy list: first element"
    );
    assert_eq!(e["wsgi.url_scheme"], s("https"));
    assert_eq!(e["HTTP_HOST"], s("www.example.com"));
    assert!(!e.contains_key("HTTP_X_HOST"), "synonym deleted: {e:?}");
    assert!(
        !e.contains_key("HTTP_X_FORWARDED_SSL"),
        "synonym deleted: {e:?}"
    );

    let e = send("/untrusted");
    assert_eq!(e["REMOTE_ADDR"], s("127.0.0.1"), "peer not trusted");
    assert_eq!(e["wsgi.url_scheme"], s("http"));
    assert_ne!(e["HTTP_HOST"], s("www.example.com"));
    for k in [
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_HOST",
    ] {
        assert!(!e.contains_key(k), "{k} must be deleted: {e:?}");
    }

    let e = send("/walk");
    assert_eq!(
        e["REMOTE_ADDR"],
        s("1.1.1.1"),
        "right-to-left past trusted proxies"
    );
    assert_eq!(e["HTTP_X_FORWARDED_FOR"], s("1.1.1.1, 10.0.0.2"));
}

/// Over TLS (mod_ssl, `SSLOptions +StdEnvVars`): wsgi.url_scheme is https,
/// HTTPS is not in the environ, and mod_ssl's SSL_* variables are.
#[test]
fn mod_ssl_variables_and_https_scheme() {
    let b = Apache::builder(Mpm::Event);
    let app = b.app("environ_dump.wsgi");
    let (cert, key) = (b.root().join("cert.pem"), b.root().join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{out:?}");
    let tls_port = free_port();
    let m = APACHE_MODULES;
    let apache = b
        .global(format!(
            "LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so"
        ))
        .global(format!("LoadModule ssl_module {m}/mod_ssl.so"))
        .global(format!("Listen 127.0.0.1:{tls_port} https"))
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!(
            "<VirtualHost 127.0.0.1:{tls_port}>\n    SSLEngine on\n    \
             SSLCertificateFile \"{}\"\n    SSLCertificateKeyFile \"{}\"\n    \
             SSLOptions +StdEnvVars\n    WSGIScriptAlias /env \"{}\"\n</VirtualHost>",
            cert.display(),
            key.display(),
            app.display()
        ))
        .start();
    let out = std::process::Command::new("curl")
        .args(["-sk", "--max-time", "20"])
        .arg(format!("https://127.0.0.1:{tls_port}/env"))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl: {out:?}\n{}",
        apache.error_log()
    );
    let e = parse_kv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(e["wsgi.url_scheme"], s("https"));
    assert_eq!(e["REQUEST_SCHEME"], s("https"));
    assert!(!e.contains_key("HTTPS"), "HTTPS removed: {e:?}");
    assert!(e["SSL_PROTOCOL"].starts_with("str:'TLS"), "{e:?}");
    assert!(e.contains_key("SSL_CIPHER"), "{e:?}");
    assert_eq!(e["SERVER_PORT"], s(&tls_port.to_string()));
}

/// Environ keys are kept per thread up to a bound (512): past it, a
/// request's header names still all arrive, each with its own value.
#[test]
fn many_distinct_header_names() {
    let b = Apache::builder(Mpm::Prefork).mpm_sizing([
        "StartServers 1",
        "MinSpareServers 1",
        "MaxSpareServers 1",
        "ServerLimit 1",
        "MaxRequestWorkers 1",
    ]);
    let apache = {
        let app = b.app("environ_dump.wsgi");
        b.server("WSGIApplicationGroup %{GLOBAL}")
            .server(format!("WSGIScriptAlias /env \"{}\"", app.display()))
            .start()
    };
    // 8 requests of 90 new names each: 720 names through one thread.
    for round in 0..8 {
        let mut req = Request::new("GET", "/env");
        for i in 0..90 {
            req = req.header(&format!("X-K{round}-{i}"), &format!("v{round}-{i}"));
        }
        let env = dump(&apache.client().send(&req).unwrap());
        for i in 0..90 {
            let key = format!("HTTP_X_K{round}_{i}");
            assert_eq!(env.get(&key), Some(&s(&format!("v{round}-{i}"))), "{key}");
        }
    }
}
