use super::*;

fn line(directive: &str, args: &str, sections: &[(&str, &str)]) -> ConfLine {
    ConfLine {
        directive: directive.into(),
        args: args.into(),
        origin: format!("test.conf:{}", directive.len()),
        sections: sections
            .iter()
            .map(|(n, a)| Section {
                name: n.to_string(),
                arg: a.to_string(),
            })
            .collect(),
    }
}

fn unmapped(scope: &ScriptScope, path: &str) -> bool {
    matches!(scope.check(path, "g"), Err(ScopeRefusal::Unmapped(_)))
}

#[test]
fn aliases_map_their_file_or_directory() {
    let scope = ScriptScope::of(&[
        line(
            "WSGIScriptAlias",
            "/app /srv/app/app.wsgi process-group=g",
            &[],
        ),
        line(
            "WSGIScriptAlias",
            "/dir/ /srv/scripts/",
            &[("VirtualHost", "*:80")],
        ),
        line("WSGIScriptAliasMatch", "^/m/([^/]+) /srv/many/$1.wsgi", &[]),
    ]);
    assert_eq!(scope.check("/srv/app/app.wsgi", "g"), Ok(()));
    assert_eq!(scope.check("/srv/scripts/x.py", "g"), Ok(()));
    assert_eq!(scope.check("/srv/many/one.wsgi", "g"), Ok(()));
    assert!(unmapped(&scope, "/srv/app.wsgi"));
    assert!(unmapped(&scope, "/srv/scriptsx/x.py"));
    assert!(unmapped(&scope, "/tmp/evil.py"));
    assert!(matches!(
        scope.check("/srv/scripts/../../tmp/evil.py", "g"),
        Err(ScopeRefusal::NotPlain(_))
    ));
    assert!(matches!(
        scope.check("relative.py", "g"),
        Err(ScopeRefusal::NotPlain(_))
    ));
}

#[test]
fn handler_and_import_scripts_are_mapped_exactly() {
    let scope = ScriptScope::of(&[
        line(
            "WSGIHandlerScript",
            "my-handler /srv/h/handler.wsgi",
            &[("Directory", "/var/www")],
        ),
        line(
            "WSGIImportScript",
            "/srv/i/preload.wsgi process-group=g application-group=%{GLOBAL}",
            &[],
        ),
    ]);
    assert_eq!(scope.check("/srv/h/handler.wsgi", "g"), Ok(()));
    assert_eq!(scope.check("/srv/i/preload.wsgi", "g"), Ok(()));
    assert!(unmapped(&scope, "/srv/h/other.wsgi"));
}

#[test]
fn handlers_in_a_directory_map_that_directory() {
    let scope = ScriptScope::of(&[
        line(
            "AddHandler",
            "wsgi-script .wsgi",
            &[("Directory", "/srv/site")],
        ),
        line(
            "SetHandler",
            "wsgi-script",
            &[("Files", "*.py"), ("Directory", "\"/srv/py\"")],
        ),
        line(
            "AddType",
            "application/x-httpd-wsgi .w",
            &[("Directory", "/srv/t/*/x")],
        ),
        line("AddHandler", "cgi-script .cgi", &[]),
        line("AllowOverride", "FileInfo", &[("Directory", "/srv/ht")]),
        line("AllowOverride", "None", &[("Directory", "/srv/none")]),
    ]);
    for ok in [
        "/srv/site/a.wsgi",
        "/srv/py/b.py",
        "/srv/t/any/x/c.w",
        "/srv/ht/d.wsgi",
    ] {
        assert_eq!(scope.check(ok, "g"), Ok(()), "{ok}");
    }
    assert!(unmapped(&scope, "/srv/none/e.wsgi"));
    assert!(unmapped(&scope, "/srv/sitex/a.wsgi"));
}

#[test]
fn a_handler_outside_a_directory_maps_any_plain_path() {
    for sections in [
        vec![],
        vec![("Location", "/x")],
        vec![("DirectoryMatch", "^/srv")],
    ] {
        let scope = ScriptScope::of(&[line("SetHandler", "wsgi-script", &sections)]);
        assert_eq!(scope.check("/anywhere/at/all.py", "g"), Ok(()));
        assert!(matches!(
            scope.check("/a/../b.py", "g"),
            Err(ScopeRefusal::NotPlain(_))
        ));
    }
    let scope = ScriptScope::of(&[line("RewriteRule", "^/x /srv/x.py [H=wsgi-script]", &[])]);
    assert_eq!(scope.check("/srv/other.py", "g"), Ok(()));
}

#[test]
fn the_deepest_restrict_process_decides() {
    let scope = ScriptScope::of(&[
        line("WSGIScriptAlias", "/ /srv/", &[]),
        line("WSGIRestrictProcess", "a b", &[("Directory", "/srv/ab")]),
        line("WSGIRestrictProcess", "c", &[("Directory", "/srv/ab/c")]),
        line("WSGIRestrictProcess", "z", &[("Location", "/loc")]),
    ]);
    assert_eq!(scope.check("/srv/ab/x.wsgi", "a"), Ok(()));
    assert_eq!(
        scope.check("/srv/ab/x.wsgi", "c"),
        Err(ScopeRefusal::Restricted {
            dir: "/srv/ab/".into(),
            group: "c".into()
        })
    );
    assert_eq!(scope.check("/srv/ab/c/y.wsgi", "c"), Ok(()));
    assert!(scope.check("/srv/ab/c/y.wsgi", "a").is_err());
    // A <Location> restriction cannot be told from the path.
    assert_eq!(scope.check("/srv/other.wsgi", "q"), Ok(()));
    let global = ScriptScope::of(&[
        line("WSGIScriptAlias", "/ /srv/app.wsgi", &[]),
        line("WSGIRestrictProcess", "only", &[]),
    ]);
    assert!(global.check("/srv/app.wsgi", "other").is_err());
    assert_eq!(global.check("/srv/app.wsgi", "only"), Ok(()));
}
