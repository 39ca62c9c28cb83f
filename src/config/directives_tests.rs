//! Unit tests of the directive parsers (`directives.rs`): values, contexts and messages.

use super::*;

fn run(name: &str, args: &[&str]) -> Result<(ServerConfig, DirConfig), String> {
    let (mut s, mut d) = (ServerConfig::default(), DirConfig::default());
    let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    apply(
        &mut Target {
            server: &mut s,
            dir: &mut d,
        },
        name,
        &words,
    )
    .map_err(|e| e.to_string())?;
    Ok((s, d))
}

#[test]
fn script_alias_with_static_groups_is_preloaded() {
    let (s, _) = run(
        "WSGIScriptAlias",
        &[
            "/x",
            "/a.wsgi",
            "process-group=d",
            "application-group=%{GLOBAL}",
        ],
    )
    .unwrap();
    assert_eq!(
        s.import_scripts,
        vec![ImportScript {
            script: "/a.wsgi".into(),
            process_group: "d".into(),
            application_group: "%{GLOBAL}".into(),
        }]
    );
    for args in [
        &["/x", "/a.wsgi", "process-group=d"][..],
        &[
            "/x",
            "/a.wsgi",
            "process-group=d",
            "application-group=%{RESOURCE}",
        ],
        &["/x", "/dir/", "process-group=d", "application-group=g"],
    ] {
        let (s, _) = run("WSGIScriptAlias", args).unwrap();
        assert!(s.import_scripts.is_empty(), "{args:?}");
    }
    let (s, _) = run(
        "WSGIScriptAliasMatch",
        &[
            "^/(x)",
            "/$1.wsgi",
            "process-group=d",
            "application-group=g",
        ],
    )
    .unwrap();
    assert!(s.import_scripts.is_empty());
}

#[test]
fn script_alias_with_options() {
    let (s, _) = run(
        "WSGIScriptAlias",
        &[
            "/x",
            "/a.wsgi",
            "application-group=%{GLOBAL}",
            "callable-object=app",
            "pass-authorization=On",
        ],
    )
    .unwrap();
    let a = &s.aliases[0];
    assert_eq!(a.application_group.as_deref(), Some("%{GLOBAL}"));
    assert_eq!(a.callable_object.as_deref(), Some("app"));
    assert_eq!(a.pass_authorization, Some(true));
}

#[test]
fn errors_name_directive_and_value() {
    let e = run("WSGIScriptAlias", &["/"]).unwrap_err();
    assert!(
        e.starts_with("WSGIScriptAlias requires at least two arguments"),
        "{e}"
    );
    let e = run("WSGIScriptAlias", &["/", "/a", "bogus-option=1"]).unwrap_err();
    assert!(e.contains("unknown option 'bogus-option=1'"), "{e}");
    let e = run("WSGIPythonOptimize", &["7"]).unwrap_err();
    assert!(
        e.contains("WSGIPythonOptimize must be 0, 1 or 2 (got '7')"),
        "{e}"
    );
    let e = run("WSGIDestroyInterpreter", &["maybe"]).unwrap_err();
    assert!(
        e.contains("WSGIDestroyInterpreter must be one of: Off | On (got 'maybe')"),
        "{e}"
    );
    let e = run("WSGIApplicationGroup", &["%{BOGUS}"]).unwrap_err();
    assert!(e.contains("invalid application group '%{BOGUS}'"), "{e}");
    let e = run("WSGIPythonHashSeed", &["-1"]).unwrap_err();
    assert!(e.contains("got '-1'"), "{e}");
    let e = run("WSGICallableObject", &[]).unwrap_err();
    assert!(e.contains("takes one argument"), "{e}");
}

#[test]
fn new_directives() {
    let (s, _) = run("WSGIScriptAliasMatch", &["^/a/(x+)", "/srv/$1.wsgi"]).unwrap();
    assert_eq!(s.aliases[0].regex.as_ref().unwrap().pattern(), "^/a/(x+)");
    let (_, d) = run("WSGIMapHEADToGET", &["auto"]).unwrap();
    assert_eq!(d.map_head_to_get, Some(HeadMode::Auto));
    let e = run("WSGIMapHEADToGET", &["sometimes"]).unwrap_err();
    assert!(e.contains("Off | On | Auto (got 'sometimes')"), "{e}");
    let (_, d) = run("WSGIChunkedRequest", &["On"]).unwrap();
    assert_eq!(d.chunked_request, Some(true));
    let (_, d) = run("WSGIErrorOverride", &["On"]).unwrap();
    assert_eq!(d.error_override, Some(true));
    let e = run("WSGIErrorOverride", &["maybe"]).unwrap_err();
    assert!(e.contains("Off | On (got 'maybe')"), "{e}");
    let (_, d) = run(
        "WSGIHandlerScript",
        &["h", "/h.py", "application-group=%{GLOBAL}"],
    )
    .unwrap();
    assert_eq!(d.handler_scripts[0].name, "h");
    let e = run("WSGIHandlerScript", &["h", "/h.py", "callable-object=x"]).unwrap_err();
    assert!(e.contains("unknown option 'callable-object=x'"), "{e}");
    let (s, _) = run(
        "WSGIImportScript",
        &["/i.py", "process-group=%{GLOBAL}", "application-group=g"],
    )
    .unwrap();
    assert_eq!(s.import_scripts[0].application_group, "g");
    let e = run("WSGIImportScript", &["/i.py", "application-group=g"]).unwrap_err();
    assert!(
        e.contains("both process-group= and application-group= are required"),
        "{e}"
    );
    let e = run(
        "WSGIImportScript",
        &[
            "/i.py",
            "process-group=%{GLOBAL}",
            "application-group=%{RESOURCE}",
        ],
    )
    .unwrap_err();
    assert!(
        e.contains("application-group=%{RESOURCE} cannot be used"),
        "{e}"
    );
    let (_, d) = run("WSGITrustedProxyHeaders", &["X-Forwarded-For", "X-Real-IP"]).unwrap();
    assert_eq!(
        d.trusted_proxy_headers.unwrap(),
        vec!["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"]
    );
    let e = run("WSGITrustedProxies", &["10.0.0.0/8", "proxy.example"]).unwrap_err();
    assert!(
        e.contains("WSGITrustedProxies: Unable to parse trusted proxy IP address/subnet of \"proxy.example\""),
        "{e}"
    );
    let (s, _) = run("WSGIRestrictEmbedded", &["On"]).unwrap();
    assert_eq!(s.restrict_embedded, Some(true));
    assert!(is_global_only("WSGIRestrictStdout"));
}

#[test]
fn python_settings() {
    let (s, _) = run("WSGIPythonPath", &["/a:/b"]).unwrap();
    assert_eq!(s.python.path, vec!["/a", "/b"]);
    let (s, _) = run("WSGIPythonHashSeed", &["123"]).unwrap();
    assert_eq!(s.python.hash_seed, Some(HashSeed::Fixed(123)));
    let (s, _) = run("WSGIPythonHashSeed", &["random"]).unwrap();
    assert_eq!(s.python.hash_seed, Some(HashSeed::Random));
    let (s, _) = run("WSGIDontWriteBytecode", &["on"]).unwrap();
    assert_eq!(s.python.dont_write_bytecode, Some(true));
    assert!(is_global_only("WSGIPythonHome"));
    assert!(!is_global_only("WSGIScriptAlias"));
}
#[test]
fn malformed_expansions_rejected_by_every_directive() {
    for bad in ["%{ENV:", "%{FOO", "%{GLOBAL"] {
        for d in [
            "WSGICallableObject",
            "WSGIApplicationGroup",
            "WSGIProcessGroup",
        ] {
            let e = run(d, &[bad]).unwrap_err();
            assert!(e.contains(d) && e.contains(bad), "{d} {bad}: {e}");
            assert!(e.contains("expected"), "{e}");
        }
        for opt in ["application-group", "process-group", "callable-object"] {
            let o = format!("{opt}={bad}");
            let e = run("WSGIScriptAlias", &["/", "/srv/a.wsgi", &o]).unwrap_err();
            assert!(e.contains("WSGIScriptAlias") && e.contains(bad), "{o}: {e}");
        }
        for opt in ["application-group", "process-group"] {
            let o = format!("{opt}={bad}");
            let other = if opt == "process-group" {
                "application-group=%{GLOBAL}"
            } else {
                "process-group=%{GLOBAL}"
            };
            let e = run("WSGIImportScript", &["/srv/a.wsgi", &o, other]).unwrap_err();
            assert!(
                e.contains("WSGIImportScript") && e.contains(bad),
                "{o}: {e}"
            );
        }
    }
    let (_, d) = run("WSGICallableObject", &["%{ENV:X}"]).unwrap();
    assert_eq!(d.callable_object.as_deref(), Some("%{ENV:X}"));
    let e = run("WSGICallableObject", &["%{GLOBAL}"]).unwrap_err();
    assert!(e.contains("%{ENV:VARIABLE}"), "{e}");
}
