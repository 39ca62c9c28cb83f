//! Unit tests of the developer tools (`devtools.rs`) and the service scripts
//! (`service.rs`): what each option resolves to, what the generated wrapper, httpd.conf
//! and apachectl then contain, and the combinations that are refused.

use crate::options::testing::Fixture;
use crate::{apachectl, entry, httpd_conf};

#[test]
fn debug_mode_is_one_embedded_process_with_the_terminal_as_stdin() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&["--debug-mode"]);
    assert!(o.devtools.debug_mode);
    assert!(
        o.daemon.is_none(),
        "debug mode runs the application in Apache"
    );
    assert_eq!(o.sizing.max_request_workers, 1);
    assert!(apachectl::httpd_arguments(&o).contains(&"-DONE_PROCESS".to_string()));
    let conf = httpd_conf::render(&o);
    assert!(conf.contains("WSGIRestrictStdin Off\n"), "{conf}");
    assert!(!conf.contains("WSGIDaemonProcess"), "{conf}");
    assert!(
        entry::wrapper(&o).is_none(),
        "--debug-mode alone needs no wrapper"
    );
    let plain = f.options(&[]);
    assert!(!apachectl::httpd_arguments(&plain).contains(&"-DONE_PROCESS".to_string()));
    assert!(!httpd_conf::render(&plain).contains("WSGIRestrictStdin"));
}

#[test]
fn each_tool_implies_debug_mode_and_defaults_its_directory() {
    let f = Fixture::new(&["event"]);
    let root = f.dir.path().join("root");
    let o = f.options(&["--enable-profiler"]);
    assert!(o.devtools.debug_mode);
    assert_eq!(o.devtools.profiler, Some(root.join("pstats")));
    let o = f.options(&["--enable-coverage"]);
    assert_eq!(o.devtools.coverage, Some(root.join("htmlcov")));
    let o = f.options(&["--enable-recorder", "--recorder-directory", "rec"]);
    assert_eq!(o.devtools.recorder, Some(f.dir.path().join("rec")));
    let o = f.options(&["--enable-debugger", "--debugger-startup"]);
    assert_eq!(o.devtools.debugger, Some(true));
    let o = f.options(&["--enable-gdb", "--gdb-executable", "/opt/gdb"]);
    assert!(o.devtools.debug_mode);
    assert_eq!(o.devtools.gdb.as_deref(), Some("/opt/gdb"));
}

#[test]
fn the_wrapper_starts_the_tools_before_the_application_and_wraps_it_after() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&[
        "--enable-profiler",
        "--enable-recorder",
        "--enable-debugger",
    ]);
    let (path, text) = entry::wrapper(&o).unwrap();
    assert_eq!(entry::mount_target(&o), Some(path));
    let profile = text.find("_profiler.enable()").unwrap();
    let load = text.find("exec(_code, _target.__dict__)").unwrap();
    let recorder = text.find("= _Recorder(globals()[\"application\"]").unwrap();
    let debugger = text
        .find("= _PostMortem(globals()[\"application\"], False)")
        .unwrap();
    assert!(
        profile < load && load < recorder && recorder < debugger,
        "{text}"
    );
    let pstats = f.path("root/pstats");
    assert!(
        text.contains(&format!("_os.path.join(\"{pstats}\", _name)")),
        "{text}"
    );
}

#[test]
fn gdb_runs_httpd_with_the_command_line_in_gdb_cmds() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&["--enable-gdb", "--gdb-executable", "/opt/my gdb"]);
    let script = apachectl::render(&o);
    let root = f.path("root");
    assert!(
        script.contains(&format!(
            "echo \"run '-f' '{root}/httpd.conf' '-DONE_PROCESS' -k $*\" > '{root}/gdb.cmds'"
        )),
        "{script}"
    );
    assert!(
        script.contains(&format!("exec '/opt/my gdb' -x '{root}/gdb.cmds' '")),
        "{script}"
    );
    assert!(!apachectl::render(&f.options(&[])).contains("gdb"));
}

#[test]
fn debugging_combinations_that_would_do_nothing_are_refused() {
    let f = Fixture::new(&["event"]);
    for (words, expected) in [
        (
            &["--debugger-startup"][..],
            "--debugger-startup requires --enable-debugger",
        ),
        (
            &["--profiler-directory", "p"][..],
            "--profiler-directory does nothing without --enable-profiler",
        ),
        (&["--coverage-directory", "c"][..], "--enable-coverage"),
        (&["--recorder-directory", "r"][..], "--enable-recorder"),
        (
            &["--debug-mode", "--processes", "2"][..],
            "--processes cannot be used with --debug-mode",
        ),
        (
            &["--enable-profiler", "--threads", "2"][..],
            "--threads cannot be used with --debug-mode",
        ),
        (
            &["--debug-mode", "--maximum-requests", "5"][..],
            "--maximum-requests configures the daemon",
        ),
        (
            &["--debug-mode", "--reload-on-changes"][..],
            "--reload-on-changes cannot be used with --debug-mode",
        ),
        (
            &["--enable-recorder", "--application-type", "static"][..],
            "need a WSGI application",
        ),
    ] {
        let err = f.try_options(words).unwrap_err().to_string();
        assert!(err.contains(expected), "{words:?}: {err}");
    }
}

#[test]
fn service_scripts_get_a_threadless_daemon_group_each() {
    let f = Fixture::new(&["event"]);
    std::fs::write(f.dir.path().join("tick.py"), "").unwrap();
    let o = f.options(&[
        "--service-script",
        "tick",
        "tick.py",
        "--service-user",
        "tick",
        "nobody",
        "--service-log-file",
        "tick",
        "tick.log",
    ]);
    let conf = httpd_conf::render(&o);
    let tick = f.path("tick.py");
    assert!(
        conf.contains("WSGIDaemonProcess \"service:tick\" display-name=%{GROUP} user=\"nobody\""),
        "{conf}"
    );
    assert!(conf.contains(" threads=0 "), "{conf}");
    assert!(conf.contains(&format!(
        "WSGIImportScript \"{tick}\" process-group=\"service:tick\" application-group=%{{GLOBAL}}"
    )), "{conf}");
    let log = f.path("root/tick.log");
    let vhost = format!(
        "<VirtualHost *:8000>\nWSGIPassAuthorization On\nErrorLog \"{log}\"\nWSGIDaemonProcess \"service:tick\""
    );
    assert!(conf.contains(&vhost), "{conf}");
}

#[test]
fn service_options_for_unknown_services_are_refused() {
    let f = Fixture::new(&["event"]);
    std::fs::write(f.dir.path().join("tick.py"), "").unwrap();
    for (words, expected) in [
        (
            &["--service-user", "tock", "nobody"][..],
            "--service-user tock: there is no --service-script tock",
        ),
        (
            &["--service-log-file", "tock", "x.log"][..],
            "--service-log-file tock: there is no --service-script tock",
        ),
        (
            &["--service-script", "tick", "missing.py"][..],
            "is not a file",
        ),
        (
            &[
                "--service-script",
                "tick",
                "tick.py",
                "--service-script",
                "tick",
                "tick.py",
            ][..],
            "given twice",
        ),
    ] {
        let err = f.try_options(words).unwrap_err().to_string();
        assert!(err.contains(expected), "{words:?}: {err}");
    }
}

#[test]
fn add_handler_writes_the_dispatcher_and_its_handler_lines() {
    let f = Fixture::new(&["event"]);
    std::fs::write(f.dir.path().join("page.py"), "").unwrap();
    let o = f.options(&["--add-handler", ".pyp", "page.py"]);
    let conf = httpd_conf::render(&o);
    let root = f.path("root");
    assert!(
        conf.contains(&format!(
            "WSGIHandlerScript wsgi-resource \"{root}/resource.wsgi\" process-group=\""
        )),
        "{conf}"
    );
    assert!(conf.contains("AddHandler wsgi-resource .pyp\n"), "{conf}");
    let (path, text) = crate::resource::dispatcher(&o).unwrap();
    assert_eq!(path, f.dir.path().join("root/resource.wsgi"));
    assert!(
        text.contains(&format!("(\".pyp\", \"{}\"),", f.path("page.py"))),
        "{text}"
    );
    let embedded =
        httpd_conf::render(&f.options(&["--add-handler", ".pyp", "page.py", "--embedded-mode"]));
    assert!(
        embedded.contains("resource.wsgi\" application-group=%{GLOBAL}\n"),
        "{embedded}"
    );
    for (words, expected) in [
        (
            &["--add-handler", "pyp", "page.py"][..],
            "the extension must be a dot and a word",
        ),
        (
            &["--add-handler", ".pyp", "missing.py"][..],
            "is not a file",
        ),
    ] {
        let err = f.try_options(words).unwrap_err().to_string();
        assert!(err.contains(expected), "{words:?}: {err}");
    }
}

#[test]
fn enable_docs_aliases_the_documentation_directory() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&["--enable-docs"]);
    let dir = o.docs.clone().expect("the source tree's docs/ at least");
    assert!(dir.join("express.md").exists() || dir.join("express.md.gz").exists());
    let conf = httpd_conf::render(&o);
    let alias = format!("Alias /__wsgi__/docs \"{}\"\n", dir.display());
    assert!(conf.contains(&alias), "{conf}");
    assert!(conf.contains("LoadModule autoindex_module"), "{conf}");
    assert!(f.options(&[]).docs.is_none());
}
