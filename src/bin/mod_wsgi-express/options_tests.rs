//! Unit tests of option resolution (`options.rs`): defaults, validation and
//! the values derived from the command line.

use super::testing::Fixture;

#[test]
fn express_defaults() {
    let f = Fixture::new(&["event", "worker", "prefork"]);
    let o = f.options(&[]);
    assert_eq!(o.port, 8000);
    assert_eq!(o.host, "localhost");
    assert_eq!(o.listener_host, None);
    assert_eq!(o.url, "http://localhost:8000/");
    assert_eq!(o.mount_point, "/");
    assert_eq!(o.callable_object, "application");
    assert_eq!(o.application_group, "%{GLOBAL}");
    assert_eq!(o.log.level, "warn");
    assert_eq!(o.log.error_log_file, f.path("root/error_log"));
    assert_eq!(o.keep_alive_timeout, 2);
    assert_eq!(o.limit_request_body, 10485760);
    assert_eq!(o.socket_timeout, 60);
    assert_eq!(o.server_backlog, 500);
    assert_eq!(
        o.request_read_timeout,
        "header=15-30,MinRate=500 body=15,MinRate=500"
    );
    assert_eq!(o.document_root.to_string_lossy(), f.path("root/htdocs"));
    assert_eq!(o.module_path.to_string_lossy(), f.path("root/mod_wsgi.so"));
    assert_eq!(
        o.python_paths,
        vec![f.dir.path().to_string_lossy().into_owned()]
    );
}

#[test]
fn repeated_options_last_wins_as_with_argparse() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&[
        "--port",
        "1",
        "--port",
        "8001",
        "--locale",
        "C",
        "--locale",
        "C.UTF-8",
        "--access-log",
        "--access-log",
        "--python-path",
        "/a",
        "--python-path",
        "/b",
    ]);
    assert_eq!((o.port, o.locale.as_str()), (8001, "C.UTF-8"));
    assert!(o.log.access_log);
    assert_eq!(o.daemon.unwrap().python_paths, ["/a", "/b"]);
}

#[test]
fn daemon_home_must_be_usable_by_the_run_user() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new(&["event"]);
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(f.dir.path(), 0o755);
    mode(&f.dir.path().join("app.wsgi"), 0o644);
    let wd = f.dir.path().join("wd");
    std::fs::create_dir(&wd).unwrap();
    mode(&wd, 0o700);
    let wd_s = f.path("wd");
    let o = f.options(&["--working-directory", &wd_s]);
    if nix::unistd::Uid::current().is_root() {
        // The daemon runs as www-data, which cannot enter a 0700 root directory.
        let err = super::check_access(&o).unwrap_err().to_string();
        assert!(err.contains("working directory"), "{err}");
        // Embedded mode: Apache's parent changes to it as root, the children inherit.
        let embedded = f.options(&["--working-directory", &wd_s, "--embedded-mode"]);
        super::check_access(&embedded).unwrap();
    }
    mode(&wd, 0o755);
    super::check_access(&o).unwrap();
}

#[test]
fn default_server_root_names_host_port_uid() {
    let f = Fixture::new(&["event"]);
    let app = f.path("app.wsgi");
    let uid = nix::unistd::Uid::current();
    let o = f.resolve_words(&[&app, "--port", "8321"]).unwrap();
    assert_eq!(
        o.server_root.to_string_lossy(),
        format!("/tmp/mod_wsgi-localhost:8321:{uid}")
    );
    let o = f.resolve_words(&[&app, "--host", "127.0.0.1"]).unwrap();
    assert_eq!(
        o.server_root.to_string_lossy(),
        format!("/tmp/mod_wsgi-127.0.0.1:8000:{uid}")
    );
    assert_eq!(o.listener_host.as_deref(), Some("127.0.0.1"));
    assert_eq!(o.url, "http://127.0.0.1:8000/");
}

#[test]
fn unimplemented_options_are_rejected_even_at_their_default() {
    let f = Fixture::new(&["event"]);
    let err = f.try_options(&["--with-php5"]).unwrap_err();
    assert!(
        err.to_string().contains("--with-php5 is not supported yet"),
        "{err}"
    );
    let err = f.try_options(&["--application-type", "wheel"]).unwrap_err();
    assert!(err.to_string().contains("--application-type"), "{err}");
}

#[test]
fn module_and_paste_entries_get_the_wrapper() {
    use super::App;
    let f = Fixture::new(&["event"]);
    let root = f.path("root");
    let o = f
        .resolve_words(&[
            "--application-type",
            "module",
            "mysite.wsgi",
            "--server-root",
            &root,
        ])
        .unwrap();
    assert_eq!(
        o.app,
        App::Module {
            name: "mysite.wsgi".into(),
            wrapper: f.dir.path().join("root/handler.wsgi"),
        }
    );
    let bad = f.resolve_words(&["--application-type", "module", "mysite/wsgi.py"]);
    assert!(bad.unwrap_err().to_string().contains("module name"));
    std::fs::write(f.dir.path().join("site.ini"), "").unwrap();
    let o = f
        .resolve_words(&[
            "--application-type",
            "paste",
            "site.ini",
            "--server-root",
            &root,
        ])
        .unwrap();
    assert!(matches!(o.app, App::Paste { config, .. } if config == f.dir.path().join("site.ini")));
    assert!(
        f.resolve_words(&["--application-type", "paste", "none.ini"])
            .is_err()
    );
}

#[test]
fn logging_rules_follow_express() {
    let f = Fixture::new(&["event"]);
    let o = f.options(&["--log-to-terminal", "--rotate-logs", "--access-log"]);
    assert_eq!(o.log.error_log_file, "/dev/stderr");
    assert_eq!(o.log.access_log_file, "/dev/stdout");
    assert!(
        !o.log.rotate_logs,
        "--log-to-terminal overrides --rotate-logs"
    );
    let logs = f.path("logs");
    let o = f.options(&["--log-to-terminal", "--log-directory", &logs]);
    assert_eq!(o.log.error_log_file, f.path("logs/error_log"));
    let o = f.options(&["--access-log-format", "%h \"%r\""]);
    assert_eq!(o.log.access_log_nickname, "custom");
    assert_eq!(o.log.access_log_format.as_deref(), Some("%h \\\"%r\\\""));
}

#[test]
fn bad_values_are_refused() {
    let f = Fixture::new(&["event"]);
    assert!(f.try_options(&["--map-head-to-get", "maybe"]).is_err());
    assert!(f.try_options(&["--threads", "0"]).is_err());
    assert!(f.try_options(&["--server-mpm", "winnt"]).is_err());
    let missing = f.path("missing.wsgi");
    assert!(f.try_options(&["--entry-point", &missing]).is_err());
}
