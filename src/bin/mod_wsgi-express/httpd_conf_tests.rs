//! Unit tests of the httpd.conf generator (`httpd_conf.rs`): each option group
//! renders the lines the reference mod_wsgi-express writes.

use super::*;
use crate::options::testing::Fixture;

pub(super) fn conf(f: &Fixture, extra: &[&str]) -> String {
    render(&f.options(extra))
}

/// Index of the first line equal to `line`; panics with the config if absent.
fn line_at(conf: &str, line: &str) -> usize {
    conf.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("missing line {line:?} in:\n{conf}"))
}

#[test]
fn embedded_app_is_mounted_with_script_alias_in_the_global_group() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &["--embedded-mode"]);
    let root = f.path("root");
    line_at(
        &c,
        &format!("LoadModule wsgi_module \"{root}/mod_wsgi.so\""),
    );
    // The group is named on the mount only, so an include file's mounts keep theirs.
    line_at(
        &c,
        &format!(
            "WSGIScriptAlias \"/\" \"{}\" application-group=%{{GLOBAL}}",
            f.path("app.wsgi")
        ),
    );
    assert!(!c.contains("WSGIApplicationGroup"), "{c}");
    line_at(&c, "WSGIPythonHome \"/usr\"");
    line_at(&c, "WSGICallableObject \"application\"");
    line_at(&c, "WSGIPassAuthorization On");
    line_at(&c, "Listen 8000");
    line_at(&c, "KeepAlive On");
    line_at(&c, "KeepAliveTimeout 2");
    line_at(&c, "Timeout 60");
    line_at(&c, "ListenBacklog 500");
    line_at(&c, "LimitRequestBody 10485760");
    line_at(&c, &format!("DocumentRoot \"{root}/htdocs\""));
    line_at(&c, &format!("ErrorLog \"{root}/error_log\""));
    line_at(&c, "LogLevel warn");
    assert!(!c.contains("CustomLog"));
    assert!(!c.contains("WSGIMapHEADToGET"), "Auto is the default");
    assert!(!c.contains("WSGIDaemonProcess") && !c.contains("WSGIRestrictEmbedded"));
    line_at(&c, "WSGIScriptReloading Off");
    line_at(&c, "MaxConnectionsPerChild 0");
    // Static files under the document root win over the application.
    assert!(
        line_at(&c, "RewriteRule \"^/(.*)$\" \"%{DOCUMENT_ROOT}/$1\" [L]")
            < line_at(
                &c,
                &format!(
                    "WSGIScriptAlias \"/\" \"{}\" application-group=%{{GLOBAL}}",
                    f.path("app.wsgi")
                )
            )
    );
}

/// Lines of the `WSGIDaemonProcess` directive (continuations joined).
fn daemon_words(conf: &str) -> Vec<String> {
    let start = line_at(conf, "WSGIRestrictEmbedded On") + 1;
    let mut words = Vec::new();
    for line in conf.lines().skip(start) {
        let word = line.trim().trim_end_matches('\\').trim();
        words.push(word.to_string());
        if !line.ends_with('\\') {
            break;
        }
    }
    words
}

/// The default layout as mod_wsgi 6.0.5 `setup-server app.wsgi` writes it (outline
/// items 4 and 10; whole-word quoting instead of `key='value'`, and only the options
/// the module implements and enforces).
#[test]
fn daemon_mode_is_the_default_with_the_express_daemon_group() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &[]);
    let root = f.path("root");
    let uid = nix::unistd::Uid::current();
    line_at(&c, &format!("WSGISocketPrefix \"{root}/wsgi\""));
    line_at(&c, "WSGISocketRotation Off");
    line_at(&c, "WSGIRestrictEmbedded On");
    assert_eq!(
        daemon_words(&c),
        [
            "WSGIDaemonProcess \"localhost:8000\"".to_string(),
            format!("display-name=(wsgi:localhost:8000:{uid})"),
            format!("home={}", f.path(""))
                .trim_end_matches('/')
                .to_string(),
            "threads=5".into(),
            "maximum-requests=0".into(),
            format!("python-eggs={root}/python-eggs"),
            "lang=C.UTF-8".into(),
            "locale=C.UTF-8".into(),
            "listen-backlog=100".into(),
            "queue-timeout=45".into(),
            "socket-timeout=60".into(),
            "connect-timeout=15".into(),
            "request-timeout=60".into(),
            "interrupt-timeout=0".into(),
            "inactivity-timeout=0".into(),
            "startup-timeout=15".into(),
            "deadlock-timeout=60".into(),
            "graceful-timeout=15".into(),
            "eviction-timeout=0".into(),
            "restart-interval=0".into(),
            "cpu-time-limit=0".into(),
            "shutdown-timeout=5".into(),
            "send-buffer-size=0".into(),
            "receive-buffer-size=0".into(),
            "response-buffer-size=0".into(),
            "response-socket-timeout=0".into(),
            "response-flush-delay=5".into(),
            "server-metrics=Off".into(),
        ]
    );
    let app = f.path("app.wsgi");
    line_at(&c, &format!("WSGIScriptAlias \"/\" \"{app}\" \\"));
    line_at(&c, &format!("WSGIImportScript \"{app}\" \\"));
    assert_eq!(
        c.matches("\n    process-group=localhost:8000 application-group=%{GLOBAL}\n")
            .count(),
        2,
        "{c}"
    );
    // Static files still win over the application.
    assert!(
        line_at(&c, "RewriteRule \"^/(.*)$\" \"%{DOCUMENT_ROOT}/$1\" [L]")
            < line_at(&c, &format!("WSGIScriptAlias \"/\" \"{app}\" \\"))
    );
    // Python paths go to the daemon (home=), reloading stays on (the module's
    // default), and the relaying Apache threads get express's stack size.
    assert!(!c.contains("WSGIPythonPath"));
    assert!(!c.contains("WSGIScriptReloading"));
    assert!(!c.contains("WSGIApplicationGroup"));
    assert!(!c.contains("MaxConnectionsPerChild"));
    line_at(&c, "ThreadStackSize 262144");
    line_at(&c, "MaxRequestWorkers 100");
    // Every virtual host gets its own mod_wsgi server record.
    let c = conf(&f, &["--server-name", "www.example.com"]);
    assert_eq!(c.matches("<VirtualHost ").count(), 3);
    assert_eq!(c.matches("\nWSGIPassAuthorization On\n").count(), 4, "{c}");
}

#[test]
fn daemon_process_and_socket_options() {
    let f = Fixture::new(&["event"]);
    let wd = f.path("my site");
    std::fs::create_dir(&wd).unwrap();
    let c = conf(
        &f,
        &[
            "--processes",
            "3",
            "--threads",
            "7",
            "--maximum-requests",
            "100",
            "--python-path",
            "lib",
            "--python-path",
            "/opt/x",
            "--locale",
            "de_DE.UTF-8",
            "--working-directory",
            &wd,
            "--process-group",
            "site",
            "--application-group",
            "app",
            "--daemon-backlog",
            "50",
            "--queue-timeout",
            "12",
            "--socket-timeout",
            "30",
            "--connect-timeout",
            "5",
            "--shutdown-timeout",
            "9",
            "--request-timeout",
            "20",
            "--inactivity-timeout",
            "300",
            "--interrupt-timeout",
            "4",
            "--startup-timeout",
            "30",
            "--response-socket-timeout",
            "7",
            "--socket-prefix",
            "/run/x",
            "--disable-reloading",
        ],
    );
    assert_eq!(
        daemon_words(&c),
        [
            "WSGIDaemonProcess \"site\"".to_string(),
            "display-name=(wsgi:site)".to_string(),
            format!("\"home={wd}\""),
            "processes=3".into(),
            "threads=7".into(),
            "maximum-requests=100".into(),
            format!("python-path={}:/opt/x", f.path("lib")),
            format!("python-eggs={}", f.path("root/python-eggs")),
            "lang=de_DE.UTF-8".into(),
            "locale=de_DE.UTF-8".into(),
            "listen-backlog=50".into(),
            "queue-timeout=12".into(),
            "socket-timeout=30".into(),
            "connect-timeout=5".into(),
            "request-timeout=20".into(),
            "interrupt-timeout=4".into(),
            "inactivity-timeout=300".into(),
            "startup-timeout=30".into(),
            "deadlock-timeout=60".into(),
            "graceful-timeout=15".into(),
            "eviction-timeout=0".into(),
            "restart-interval=0".into(),
            "cpu-time-limit=0".into(),
            "shutdown-timeout=9".into(),
            "send-buffer-size=0".into(),
            "receive-buffer-size=0".into(),
            // Written with --processes, as express does (0 = the module's default).
            "header-buffer-size=0".into(),
            "response-buffer-size=0".into(),
            "response-socket-timeout=7".into(),
            "response-flush-delay=5".into(),
            "server-metrics=Off".into(),
        ]
    );
    line_at(&c, "WSGISocketPrefix \"/run/x/wsgi\"");
    line_at(&c, "    process-group=site application-group=app");
    line_at(&c, "WSGIScriptReloading Off");
    line_at(&c, "Timeout 30");
}

#[test]
fn buffer_limit_and_recycling_options_are_written() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &["--header-buffer-size", "65536"]);
    assert!(daemon_words(&c).contains(&"header-buffer-size=65536".to_string()));
    assert!(!daemon_words(&c).iter().any(|w| w.starts_with("processes=")));
    let c = conf(
        &f,
        &[
            "--cpu-time-limit",
            "30",
            "--send-buffer-size",
            "65536",
            "--receive-buffer-size",
            "131072",
            "--restart-interval",
            "600",
            "--graceful-timeout",
            "9",
            "--eviction-timeout",
            "4",
        ],
    );
    let words = daemon_words(&c);
    for w in [
        "restart-interval=600",
        "graceful-timeout=9",
        "eviction-timeout=4",
        "cpu-time-limit=30",
        "send-buffer-size=65536",
        "receive-buffer-size=131072",
    ] {
        assert!(words.contains(&w.to_string()), "{w} in {words:?}");
    }
}

/// As pip's 6.1.1 express: both always written, after the buffer sizes
/// (0 and 5 by default); a value given is written as given.
#[test]
fn response_relay_options_are_written() {
    let f = Fixture::new(&["event"]);
    let c = conf(
        &f,
        &[
            "--response-buffer-size",
            "1048576",
            "--response-flush-delay",
            "0",
        ],
    );
    let words = daemon_words(&c);
    for w in ["response-buffer-size=1048576", "response-flush-delay=0"] {
        assert!(words.contains(&w.to_string()), "{w} in {words:?}");
    }
    let err = f
        .try_options(&["--response-buffer-size", "65535"])
        .unwrap_err();
    assert!(err.to_string().contains("at least 65536"), "{err}");
}

#[test]
fn ignore_activity_locations() {
    let f = Fixture::new(&["event"]);
    let c = conf(
        &f,
        &["--ignore-activity", "/health", "--ignore-activity", "/ping"],
    );
    for url in ["/health", "/ping"] {
        let at = line_at(&c, &format!("<Location \"{url}\">"));
        let lines: Vec<&str> = c.lines().skip(at + 1).take(2).collect();
        assert_eq!(lines, ["WSGIIgnoreActivity On", "</Location>"], "{c}");
    }
    assert!(!conf(&f, &[]).contains("WSGIIgnoreActivity"));
}

#[test]
fn switch_interval_is_written_for_children_and_daemon() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &["--switch-interval", "0.02"]);
    line_at(&c, "WSGISwitchInterval 0.02");
    assert!(daemon_words(&c).contains(&"switch-interval=0.02".to_string()));
    let c = conf(&f, &["--switch-interval", "0.02", "--embedded-mode"]);
    line_at(&c, "WSGISwitchInterval 0.02");
    assert!(!c.contains("WSGIDaemonProcess"));
    let c = conf(&f, &[]);
    assert!(!c.contains("switch-interval") && !c.contains("WSGISwitchInterval"));
}

/// `--maximum-memory` (ours) is written only when given.
#[test]
fn maximum_memory_is_written_only_when_given() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &["--maximum-memory", "200M"]);
    assert!(c.contains(" maximum-memory=200M"), "{c}");
    assert!(!conf(&f, &[]).contains("maximum-memory"));
}

/// As pip's mod_wsgi-express 6.1.1: refused on a Python build without
/// free-threading, in its words; on a free-threaded build, `WSGIFreeThreading On`
/// for the children and the daemon.
#[test]
fn free_threading_as_the_original() {
    let f = Fixture::new(&["event"]);
    if !crate::resolve::FREE_THREADED_BUILD {
        let err = f.try_options(&["--free-threading"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--free-threading requires a Python build with free-threading support (PEP 703). \
             Rebuild Python with --disable-gil to use it."
        );
    }
    assert!(!conf(&f, &[]).contains("WSGIFreeThreading"));
    for extra in [&[][..], &["--embedded-mode"][..]] {
        let mut o = f.options(extra);
        o.free_threading = true;
        line_at(&render(&o), "WSGIFreeThreading On");
    }
}

#[test]
fn daemon_options_are_refused_in_embedded_mode_and_checked() {
    let f = Fixture::new(&["event"]);
    for opt in [
        &["--process-group", "x"][..],
        &["--maximum-requests", "5"],
        &["--connect-timeout", "5"],
        &["--shutdown-timeout", "5"],
        &["--daemon-backlog", "5"],
        &["--header-buffer-size", "9000"],
        &["--socket-prefix", "/tmp/s"],
        &["--request-timeout", "5"],
        &["--inactivity-timeout", "5"],
        &["--response-socket-timeout", "5"],
        &["--cpu-time-limit", "5"],
        &["--queue-timeout", "5"],
        &["--restart-interval", "5"],
        &["--graceful-timeout", "5"],
        &["--eviction-timeout", "5"],
        &["--send-buffer-size", "65536"],
        &["--receive-buffer-size", "65536"],
        &["--response-buffer-size", "65536"],
        &["--response-flush-delay", "50"],
        &["--maximum-memory", "200M"],
    ] {
        let mut args = opt.to_vec();
        args.push("--embedded-mode");
        let err = f.try_options(&args).unwrap_err().to_string();
        assert!(
            err.contains(opt[0]) && err.contains("--embedded-mode"),
            "{err}"
        );
    }
    for bad in [
        &["--header-buffer-size", "100"][..],
        &["--process-group", "a/b"],
        &["--daemon-backlog", "0"],
        &["--connect-timeout", "0"],
        &["--send-buffer-size", "100"],
        &["--receive-buffer-size", "511"],
    ] {
        assert!(f.try_options(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn url_aliases_are_written_longest_first() {
    let f = Fixture::new(&["event"]);
    std::fs::create_dir(f.dir.path().join("static")).unwrap();
    std::fs::write(f.dir.path().join("favicon.ico"), "").unwrap();
    let (s, i) = (f.path("static"), f.path("static/img"));
    let fav = f.path("favicon.ico");
    let c = conf(
        &f,
        &[
            "--url-alias",
            "/s",
            &s,
            "--url-alias",
            "/s/img",
            &i,
            "--url-alias",
            "/favicon.ico",
            &fav,
        ],
    );
    let img = line_at(&c, &format!("Alias \"/s/img\" \"{i}\""));
    let stat = line_at(&c, &format!("Alias \"/s\" \"{s}\""));
    let favicon = line_at(&c, &format!("Alias \"/favicon.ico\" \"{fav}\""));
    assert!(favicon < img && img < stat, "{c}");
    line_at(&c, &format!("<Directory \"{s}\">"));
    line_at(&c, "<Files \"favicon.ico\">");
}

#[test]
fn setenv_passenv_error_document_and_include() {
    let f = Fixture::new(&["event"]);
    let inc = f.path("extra.conf");
    let c = conf(
        &f,
        &[
            "--setenv",
            "DJANGO_SETTINGS",
            "site.settings",
            "--setenv",
            "Q",
            "say \"hi\"",
            "--passenv",
            "HOME",
            "--error-document",
            "404",
            "/missing.html",
            "--include-file",
            &inc,
        ],
    );
    line_at(&c, "SetEnv \"DJANGO_SETTINGS\" \"site.settings\"");
    line_at(&c, "SetEnv \"Q\" \"say \\\"hi\\\"\"");
    line_at(&c, "PassEnv \"HOME\"");
    line_at(&c, "ErrorDocument 404 \"/missing.html\"");
    // The include comes after everything express writes but the application's mount.
    let include = line_at(&c, &format!("Include \"{inc}\""));
    assert!(line_at(&c, "ErrorDocument 404 \"/missing.html\"") < include);
    assert!(
        include
            < line_at(
                &c,
                &format!("WSGIScriptAlias \"/\" \"{}\" \\", f.path("app.wsgi"))
            )
    );
}

/// The application is the fallback, as express's `WSGIHandlerScript` is: its
/// `WSGIScriptAlias` is the last line, after the `--url-alias` `Alias`es and the
/// `Include`s (the module maps a URL through the first alias that matches it), while
/// its preload, access and static-file rules stay before the included files.
#[test]
fn application_mount_is_written_after_aliases_and_includes() {
    let f = Fixture::new(&["event"]);
    let (inc, app) = (f.path("extra.conf"), f.path("app.wsgi"));
    let docs = f.path("docs");
    let extra = ["--include-file", &inc, "--url-alias", "/docs", &docs];
    for (mode, mount) in [(None, "/"), (Some("--embedded-mode"), "/app")] {
        let mut args = extra.to_vec();
        args.extend(["--mount-point", mount]);
        args.extend(mode);
        let c = conf(&f, &args);
        let alias = format!("WSGIScriptAlias \"{mount}\" \"{app}\"");
        let mount_line = if mode.is_some() {
            line_at(&c, &format!("{alias} application-group=%{{GLOBAL}}"))
        } else {
            line_at(&c, &format!("{alias} \\"))
        };
        let last_words = c.lines().last().unwrap().trim();
        if mode.is_some() {
            assert_eq!(mount_line, c.lines().count() - 1, "{c}");
            assert!(!c.contains("WSGIApplicationGroup"), "{c}");
        } else {
            assert_eq!(mount_line, c.lines().count() - 2, "{c}");
            assert_eq!(
                last_words,
                "process-group=localhost:8000 application-group=%{GLOBAL}"
            );
            assert!(line_at(&c, &format!("WSGIImportScript \"{app}\" \\")) < mount_line);
        }
        assert_eq!(c.matches("WSGIScriptAlias ").count(), 1, "{c}");
        assert!(line_at(&c, &format!("Include \"{inc}\"")) < mount_line);
        assert!(line_at(&c, &format!("Alias \"/docs\" \"{docs}\"")) < mount_line);
        let include = line_at(&c, &format!("Include \"{inc}\""));
        for before in [
            "RewriteRule \"^/(.*)$\" \"%{DOCUMENT_ROOT}/$1\" [L]",
            "<Files \"app.wsgi\">",
        ] {
            assert!(line_at(&c, before) < include, "{before}");
        }
    }
}

#[test]
fn server_mpm_picks_the_module_and_its_sizing_block() {
    let f = Fixture::new(&["event", "worker", "prefork"]);
    let c = conf(&f, &[]);
    assert!(c.contains("LoadModule mpm_event_module \""));
    line_at(&c, "<IfModule mpm_event_module>");
    line_at(&c, "MaxKeepAliveRequests 0");
    let c = conf(&f, &["--server-mpm", "prefork", "--embedded-mode"]);
    assert!(c.contains("LoadModule mpm_prefork_module \""));
    assert!(!c.contains("mpm_event_module \""));
    line_at(&c, "<IfModule mpm_prefork_module>");
    line_at(&c, "MaxRequestWorkers 100");
    line_at(&c, "MaxKeepAliveRequests 100");
    let c = conf(
        &f,
        &[
            "--server-mpm",
            "worker",
            "--processes",
            "2",
            "--threads",
            "10",
            "--max-clients",
            "80",
            "--embedded-mode",
        ],
    );
    assert!(c.contains("LoadModule mpm_worker_module \""));
    line_at(&c, "ServerLimit 2");
    line_at(&c, "ThreadsPerChild 40");
    line_at(&c, "MaxRequestWorkers 80");
    let only_prefork = Fixture::new(&["prefork"]);
    assert!(conf(&only_prefork, &[]).contains("LoadModule mpm_prefork_module"));
}

#[test]
fn listener_server_name_and_mount_point() {
    let f = Fixture::new(&["event"]);
    let c = conf(
        &f,
        &[
            "--host",
            "127.0.0.1",
            "--port",
            "8080",
            "--mount-point",
            "app/",
            "--embedded-mode",
        ],
    );
    line_at(&c, "Listen 127.0.0.1:8080");
    line_at(&c, "ServerName 127.0.0.1");
    line_at(
        &c,
        &format!(
            "WSGIScriptAlias \"/app\" \"{}\" application-group=%{{GLOBAL}}",
            f.path("app.wsgi")
        ),
    );
    let c = conf(&f, &["--host", "::1"]);
    line_at(&c, "Listen [::1]:8000");
    let c = conf(
        &f,
        &[
            "--server-name",
            "www.example.com",
            "--server-alias",
            "*.example.org",
        ],
    );
    line_at(&c, "ServerName _wsgi_");
    line_at(&c, "Require all denied");
    line_at(&c, "ServerName www.example.com");
    line_at(&c, "ServerAlias *.example.org");
    line_at(&c, "ServerName example.com");
    line_at(&c, "Redirect permanent / http://www.example.com:8000/");
    let c = conf(&f, &["--server-name", "example.com", "--allow-localhost"]);
    line_at(&c, "Require local");
    assert!(!c.contains("Redirect"));
}

#[test]
fn logging_timeouts_and_features() {
    let f = Fixture::new(&["event"]);
    let c = conf(
        &f,
        &[
            "--access-log",
            "--access-log-format",
            "combined",
            "--log-level",
            "info",
            "--keep-alive-timeout",
            "0",
            "--socket-timeout",
            "30",
            "--limit-request-body",
            "5",
            "--compress-responses",
            "--server-status",
            "--body-timeout",
            "0",
            "--map-head-to-get",
            "off",
            "--callable-object",
            "app",
            "--application-group",
            "site",
            "--embedded-mode",
        ],
    );
    line_at(
        &c,
        &format!("CustomLog \"{}\" combined", f.path("root/access_log")),
    );
    line_at(&c, "LogLevel info");
    line_at(&c, "KeepAlive Off");
    line_at(&c, "Timeout 30");
    line_at(&c, "LimitRequestBody 5");
    line_at(&c, "RequestReadTimeout header=15-30,MinRate=500");
    line_at(&c, "AddOutputFilterByType DEFLATE text/html");
    assert!(c.contains("LoadModule deflate_module"));
    assert!(c.contains("LoadModule status_module"));
    line_at(&c, "<Location /server-status>");
    line_at(&c, "ExtendedStatus On");
    line_at(&c, "WSGIMapHEADToGET Off");
    line_at(&c, "WSGICallableObject \"app\"");
    assert!(
        c.lines()
            .last()
            .unwrap()
            .ends_with(" application-group=site"),
        "{c}"
    );
    let c = conf(&f, &["--rotate-logs", "--max-log-size", "7"]);
    line_at(
        &c,
        &format!(
            "ErrorLog \"|/usr/bin/rotatelogs {}.%Y-%m-%d-%H_%M_%S 7M\"",
            f.path("root/error_log")
        ),
    );
}

#[test]
fn document_root_options() {
    let f = Fixture::new(&["event"]);
    let docs = f.path("docs");
    let c = conf(
        &f,
        &[
            "--document-root",
            &docs,
            "--directory-index",
            "index.html",
            "--directory-listing",
            "--allow-override",
            "FileInfo",
            "--allow-override",
            "Indexes",
        ],
    );
    line_at(&c, &format!("DocumentRoot \"{docs}\""));
    line_at(&c, "    DirectoryIndex \"index.html\"");
    line_at(&c, "    Options +Indexes");
    line_at(&c, "    AllowOverride FileInfo Indexes");
    line_at(&c, "RewriteCond \"%{DOCUMENT_ROOT}%{REQUEST_URI}\" -d [OR]");
    assert!(c.contains("LoadModule autoindex_module"));
}

#[test]
fn static_application_type_mounts_nothing() {
    let f = Fixture::new(&["event"]);
    let o = f
        .resolve_words(&["--application-type", "static", &f.path("")])
        .unwrap();
    let c = render(&o);
    assert!(!c.contains("WSGIScriptAlias"));
    line_at(&c, &format!("DocumentRoot \"{}\"", f.dir.path().display()));
}

#[test]
fn quoting() {
    assert_eq!(q("a \"b\""), "\"a \\\"b\\\"\"");
}

#[test]
fn error_override_writes_the_directive() {
    let f = Fixture::new(&["event"]);
    assert!(!conf(&f, &[]).contains("WSGIErrorOverride"));
    assert!(conf(&f, &["--error-override"]).contains("WSGIErrorOverride On\n"));
}

#[test]
fn server_metrics_opens_both_gates_with_extended_status() {
    let f = Fixture::new(&["event"]);
    let c = conf(&f, &["--server-metrics"]);
    line_at(&c, "WSGIServerMetrics On");
    line_at(&c, "ExtendedStatus On");
    assert!(c.contains("LoadModule status_module"), "{c}");
    assert_eq!(daemon_words(&c).last().unwrap(), "server-metrics=On");
    let c = conf(&f, &["--server-metrics", "--embedded-mode"]);
    line_at(&c, "WSGIServerMetrics On");
    let c = conf(&f, &[]);
    assert!(!c.contains("WSGIServerMetrics") && !c.contains("ExtendedStatus"));
    assert_eq!(daemon_words(&c).last().unwrap(), "server-metrics=Off");
}
