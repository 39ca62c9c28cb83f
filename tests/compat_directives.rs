//! mod_wsgi's simpler server-wide directives against a real Apache:
//! `WSGIVerboseDebugging`, `WSGIAcceptMutex`, `WSGISwitchInterval` and
//! `WSGIPythonEggs` (main server only, their values checked, as mod_wsgi's
//! `wsgi_commands[]` and handlers), and their effects: the GIL switch
//! interval and `PYTHON_EGG_CACHE` in the Apache children and, from the
//! `switch-interval=` and `python-eggs=` options, in daemon processes.

#[macro_use]
mod common;

use common::*;

const PROBE: &str = "import os, sys\n\
def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [('%r %r' % (sys.getswitchinterval(), os.environ.get('PYTHON_EGG_CACHE'))).encode()]\n";

/// Whether the module's Python is free-threaded and older than 3.12.
const VERSION: &str = "import sys, sysconfig\n\
def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    gil_disabled = bool(sysconfig.get_config_var('Py_GIL_DISABLED'))\n    \
    return [('%r %r' % (gil_disabled, sys.version_info[:2] < (3, 12))).encode()]\n";

/// Directives mod_wsgi 4.9.4 (the reference, when it is the module under
/// test) does not have.
fn reference_lacks(line: &str) -> bool {
    is_reference()
        && [
            "WSGISwitchInterval",
            "WSGIPerInterpreterGIL",
            "WSGIFreeThreading",
        ]
        .iter()
        .any(|d| line.starts_with(d))
}

#[test]
fn accepted_in_the_main_server_only() {
    let lines = [
        // As pip's mod_wsgi-express setup-server 6.1.1 writes it.
        "WSGIVerboseDebugging 'Off'",
        "WSGIVerboseDebugging On",
        "WSGIAcceptMutex fcntl",
        "WSGISwitchInterval 0.01",
        "WSGIPythonEggs /tmp/eggs",
        "WSGIPerInterpreterGIL Off",
        "WSGIFreeThreading off",
    ];
    for line in lines {
        if reference_lacks(line) {
            continue;
        }
        let ct = Apache::builder(Mpm::Event).global(line).config_test();
        assert!(ct.ok(), "{line}: {}", ct.output);
        let directive = line.split(' ').next().unwrap();
        let ct = Apache::builder(Mpm::Event)
            .server(format!(
                "<VirtualHost 127.0.0.1:*>\n    ServerName v.test\n    {line}\n</VirtualHost>"
            ))
            .config_test();
        assert!(!ct.ok(), "{line} in <VirtualHost> must fail");
        assert!(
            ct.output.contains(&format!(
                "{directive} cannot occur within <VirtualHost> section"
            )),
            "{}",
            ct.output
        );
        let ct = Apache::builder(Mpm::Event)
            .server(format!("<Location /x>\n    {line}\n</Location>"))
            .config_test();
        assert!(!ct.ok(), "{line} in <Location> must fail");
        assert!(
            ct.output
                .contains(&format!("{directive} not allowed in <Location> context")),
            "{}",
            ct.output
        );
    }
}

#[test]
fn bad_values_name_directive_and_value() {
    ours_only!("our messages");
    for (line, expect) in [
        (
            "WSGIVerboseDebugging maybe",
            "WSGIVerboseDebugging must be one of: Off | On (got 'maybe')",
        ),
        (
            "WSGIAcceptMutex spin",
            "WSGIAcceptMutex must be one of: default | flock | fcntl | sysvsem | posixsem | pthread (got 'spin')",
        ),
        (
            "WSGIPerInterpreterGIL yes",
            "WSGIPerInterpreterGIL must be one of: Off | On (got 'yes')",
        ),
        (
            "WSGIFreeThreading 1",
            "WSGIFreeThreading must be one of: Off | On (got '1')",
        ),
        (
            "WSGISwitchInterval 0",
            "WSGISwitchInterval must be a positive number of seconds (got '0')",
        ),
        (
            "WSGIDaemonProcess d switch-interval=-1",
            "WSGIDaemonProcess d: invalid value '-1' for option 'switch-interval'",
        ),
    ] {
        let ct = Apache::builder(Mpm::Event).global(line).config_test();
        assert!(!ct.ok(), "{line} must fail");
        assert!(ct.output.contains(expect), "{line}: {}", ct.output);
    }
}

#[test]
fn effects_in_children_and_daemons() {
    // mod_wsgi 4.9.4 has WSGIPythonEggs and python-eggs= but neither
    // WSGISwitchInterval nor switch-interval=, nor the info line.
    let reference = is_reference();
    let b = Apache::builder(Mpm::Event)
        .with_socket_prefix()
        .log_level("warn wsgi:info");
    let app = b.write_app("probe.wsgi", PROBE);
    let root = b.root().to_path_buf();
    let (interval, daemon_interval) = if reference {
        ("", "")
    } else {
        ("WSGISwitchInterval 0.02", " switch-interval=0.03")
    };
    let apache = b
        .global("WSGIVerboseDebugging On")
        .global("WSGIAcceptMutex default")
        .global(interval)
        .global(format!("WSGIPythonEggs \"{}/eggs\"", root.display()))
        .server(format!(
            "WSGIDaemonProcess d threads=2{daemon_interval} python-eggs={}/deggs",
            root.display()
        ))
        .server("WSGIDaemonProcess plain threads=2")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!(
            "WSGIScriptAlias /d \"{}\" process-group=d",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /p \"{}\" process-group=plain",
            app.display()
        ))
        .start();
    let text = |path: &str| {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}\n{}", apache.error_log());
        let t = r.text();
        let (si, eggs) = t.split_once(' ').unwrap();
        (si.to_string(), eggs.to_string())
    };
    // Embedded: the WSGI* directives; daemons: their own options only (as
    // mod_wsgi: a daemon never takes WSGISwitchInterval / WSGIPythonEggs).
    let (e, d, p) = (text("/e"), text("/d"), text("/p"));
    assert_eq!(e.1, format!("'{}/eggs'", root.display()));
    assert_eq!(d.1, format!("'{}/deggs'", root.display()));
    assert_eq!(p.1, "None");
    if reference {
        return;
    }
    assert_eq!(
        (e.0.as_str(), d.0.as_str(), p.0.as_str()),
        ("0.02", "0.03", "0.005")
    );
    assert!(
        apache
            .error_log()
            .contains("WSGIVerboseDebugging is deprecated and has no effect"),
        "{}",
        apache.error_log()
    );
}

/// As mod_wsgi on a build without the feature: `WSGIPerInterpreterGIL On`
/// (before Python 3.12) and `WSGIFreeThreading On` (with the GIL) are
/// accepted with mod_wsgi's warning each, and change nothing.
#[test]
fn interpreter_features_on_a_build_without_them() {
    ours_only!("pip's mod_wsgi 6.1.1 has them, 4.9.4 not; our build's Python decides");
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("probe.wsgi", PROBE);
    let version = b.write_app("version.wsgi", VERSION);
    let apache = b
        .global("WSGIPerInterpreterGIL On")
        .global("WSGIFreeThreading On")
        .server(format!("WSGIScriptAlias /e \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias /v \"{}\"", version.display()))
        .start();
    assert_eq!(apache.get("/e").status, 200);
    // The module's own Python: a build for 3.12 or later honours
    // WSGIPerInterpreterGIL (tests/per_interpreter_gil.rs), so no warning.
    let v = apache.get("/v").text();
    let (gil_disabled, older) = v.split_once(' ').expect("two words");
    assert_eq!(
        gil_disabled, "False",
        "this test expects a Python with the GIL"
    );
    let log = apache.error_log();
    let gil_line = "[WSGIRS0502] WSGIPerInterpreterGIL requires Python 3.12 or later; directive has no effect on this build.";
    assert_eq!(log.contains(gil_line), older == "True", "{gil_line}\n{log}");
    let line = "[WSGIRS0503] WSGIFreeThreading On has no effect: this Python build does not support free-threading (PEP 703).";
    assert!(log.contains(line), "{line}\n{log}");
}
