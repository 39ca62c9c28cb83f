//! `<WSGIInterpreterOptions>` against a real Apache: the section (main
//! server only, its selectors checked with mod_wsgi 6's messages), the
//! directives inside it, and their effect per interpreter in embedded and
//! daemon mode under every MPM: `WSGIPythonPath` layers (most specific
//! first in `sys.path`, over the base path: `WSGIPythonPath` embedded,
//! `python-path=` in a daemon), `WSGIRestrictStdin`/`Stdout`/`Signal`
//! (the most specific section wins, the later one on a tie),
//! `WSGISwitchInterval` (process-wide: a section selected by
//! `application-group=` is skipped for a sub-interpreter with mod_wsgi's
//! warning). Passes against pip's mod_wsgi 6.1.1; 4.9.4 has no such section.

#[macro_use]
mod common;

use common::*;

/// What the probe reports: the test's own `sys.path` entries in order, the
/// switch interval, and which streams/`signal.signal` are restricted.
const PROBE: &str = r#"
import json, os, signal, sys
ROOT = os.path.dirname(os.path.dirname(__file__))
def restricted(f):
    try:
        f()
    except OSError:
        return True
    except Exception:
        return False
    return False
def application(environ, start_response):
    def sig():
        # Unrestricted, this fails: not the main thread (ValueError);
        # restricted, mod_wsgi logs a warning and returns the handler.
        signal.signal(signal.SIGWINCH, signal.SIG_DFL)
        raise OSError
    body = json.dumps({
        "path": [os.path.basename(p) for p in sys.path if p.startswith(ROOT + "/lib")],
        "interval": sys.getswitchinterval(),
        "stdout": restricted(lambda: sys.stdout.write("")),
        "stdin": restricted(lambda: sys.stdin.readline),
        "signal": restricted(sig),
    }, sort_keys=True)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]
"#;

/// The Debian 4.9.4 reference has no `<WSGIInterpreterOptions>`.
fn reference_lacks_section() -> bool {
    is_reference()
        && !module_under_test()
            .to_string_lossy()
            .contains("site-packages")
}

const SECTIONS: &str = "\
<WSGIInterpreterOptions>
    WSGIPythonPath LIB/all
</WSGIInterpreterOptions>
<WSGIInterpreterOptions application-group=app1>
    WSGIPythonPath LIB/app1a:LIB/app1b
    WSGIRestrictStdout On
    WSGISwitchInterval 0.03
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=d>
    WSGISwitchInterval 0.02
    WSGIRestrictSignal Off
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=%{GLOBAL}>
    WSGIRestrictStdin On
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=d application-group=%{GLOBAL}>
    WSGIPythonPath LIB/dmain
    WSGIRestrictStdout Off
</WSGIInterpreterOptions>";

fn scoped_per_interpreter(mpm: Mpm) {
    if reference_lacks_section() {
        eprintln!("skipped: mod_wsgi 4.9.4 has no <WSGIInterpreterOptions>");
        return;
    }
    let b = Apache::builder(mpm)
        .with_socket_prefix()
        .log_level("warn wsgi:info")
        .allow_log("Callback registration for signal");
    let app = b.write_app("probe.wsgi", PROBE);
    let lib = b.root().join("lib");
    for d in ["base", "dbase", "all", "app1a", "app1b", "dmain"] {
        std::fs::create_dir_all(lib.join(d)).unwrap();
    }
    let lib = lib.display().to_string();
    let app = app.display();
    let apache = b
        .global(format!("WSGIPythonPath {lib}/base"))
        .global(SECTIONS.replace("LIB", &lib))
        .server(format!(
            "WSGIDaemonProcess d threads=2 python-path={lib}/dbase"
        ))
        .server(format!(
            "WSGIScriptAlias /e1 \"{app}\" application-group=app1"
        ))
        .server(format!(
            "WSGIScriptAlias /e2 \"{app}\" application-group=other"
        ))
        .server(format!(
            "WSGIScriptAlias /d1 \"{app}\" process-group=d application-group=app1"
        ))
        .server(format!(
            "WSGIScriptAlias /d2 \"{app}\" process-group=d application-group=%{{GLOBAL}}"
        ))
        .start();
    let probe = |path: &str| {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{path}: {r:?}\n{}", apache.error_log());
        r.text()
    };
    // Embedded, app1: its section's layer first, then every interpreter's,
    // then WSGIPythonPath; stdout (app1) and stdin (%{GLOBAL} process
    // group) restricted; signal restricted by default; the app1 section's
    // switch interval is not applied to a sub-interpreter (shared GIL).
    assert_eq!(
        probe("/e1"),
        r#"{"interval": 0.005, "path": ["app1a", "app1b", "all", "base"], "signal": true, "stdin": true, "stdout": true}"#
    );
    assert_eq!(
        probe("/e2"),
        r#"{"interval": 0.005, "path": ["all", "base"], "signal": true, "stdin": true, "stdout": false}"#
    );
    // Daemon d: base is python-path=; the process-group=d section (written
    // after the app1 one, same specificity) sets 0.02 and lifts the signal
    // restriction; stdin is not restricted (not embedded mode).
    assert_eq!(
        probe("/d1"),
        r#"{"interval": 0.02, "path": ["app1a", "app1b", "all", "dbase"], "signal": false, "stdin": false, "stdout": true}"#
    );
    // The main interpreter of d: the two-selector section is the most
    // specific (its layer first, its stdout Off).
    assert_eq!(
        probe("/d2"),
        r#"{"interval": 0.02, "path": ["dmain", "all", "dbase"], "signal": false, "stdin": false, "stdout": false}"#
    );
    let log = apache.error_log();
    assert!(
        log.contains("Skipping per-interpreter switch interval 0.030000s"),
        "{log}"
    );
}
per_mpm!(scoped, scoped_per_interpreter);

#[test]
fn section_context_and_selectors() {
    if reference_lacks_section() {
        return;
    }
    let ok = Apache::builder(Mpm::Event)
        .global(
            "<WSGIInterpreterOptions process-group=a application-group=b>\n\
             WSGIPerInterpreterGIL Off\nWSGIFreeThreading Off\nWSGISwitchInterval 0.002\n\
             WSGIPythonPath /tmp\nWSGIRestrictStdin On\nWSGIRestrictStdout On\n\
             WSGIRestrictSignal Off\n</WSGIInterpreterOptions>\n\
             <WSGIInterpreterOptions>\n</WSGIInterpreterOptions>",
        )
        .config_test();
    assert!(ok.ok(), "{}", ok.output);
    for (text, expect) in [
        (
            "<WSGIInterpreterOptions foo=bar>\n</WSGIInterpreterOptions>",
            "<WSGIInterpreterOptions>: unknown selector 'foo', expected process-group or application-group",
        ),
        (
            "<WSGIInterpreterOptions foo>\n</WSGIInterpreterOptions>",
            "<WSGIInterpreterOptions>: argument 'foo' is not of the form key=value",
        ),
        (
            "<WSGIInterpreterOptions application-group=a application-group=b>\n</WSGIInterpreterOptions>",
            "<WSGIInterpreterOptions>: application-group given more than once",
        ),
        (
            "<WSGIInterpreterOptions>\nWSGISwitchInterval 0\n</WSGIInterpreterOptions>",
            "WSGISwitchInterval must be a positive number of seconds",
        ),
        (
            "<VirtualHost 127.0.0.1:*>\n<WSGIInterpreterOptions>\n</WSGIInterpreterOptions>\n</VirtualHost>",
            "<WSGIInterpreterOptions> cannot occur within <VirtualHost> section",
        ),
        (
            "<Location /x>\n<WSGIInterpreterOptions>\n</WSGIInterpreterOptions>\n</Location>",
            "<WSGIInterpreterOptions not allowed in <Location> context",
        ),
    ] {
        let ct = Apache::builder(Mpm::Event).global(text).config_test();
        assert!(!ct.ok(), "{text} must fail");
        assert!(ct.output.contains(expect), "{text}: {}", ct.output);
    }
}

/// mod_wsgi 6 documents only seven directives as valid inside the section
/// (6.1.1 reads anything there, applying e.g. `WSGIPythonHome` to the whole
/// server): we refuse the rest, naming the directive (docs/differences.md).
#[test]
fn only_the_documented_directives_inside() {
    ours_only!("6.1.1 reads any directive inside the section");
    for inner in [
        "WSGIPythonHome /usr",
        "ServerAdmin x@example.com",
        "WSGIDaemonProcess x",
        "<WSGIInterpreterOptions>\n</WSGIInterpreterOptions>",
    ] {
        let ct = Apache::builder(Mpm::Event)
            .global(format!(
                "<WSGIInterpreterOptions>\n{inner}\n</WSGIInterpreterOptions>"
            ))
            .config_test();
        assert!(!ct.ok(), "{inner} inside must fail");
        let name = inner.split([' ', '\n']).next().unwrap();
        assert!(
            ct.output.contains(&format!(
                "{name} is not allowed inside <WSGIInterpreterOptions>; expected one of: \
                 WSGIPerInterpreterGIL, WSGIFreeThreading, WSGISwitchInterval, WSGIPythonPath"
            )),
            "{inner}: {}",
            ct.output
        );
    }
}

/// `WSGIPerInterpreterGIL On` inside a section: before Python 3.12 the same
/// no-effect warning as at top level, from 3.12 on the selected group's
/// interpreter has its own GIL; `WSGIFreeThreading` scoped to an
/// application group logs mod_wsgi's "ignored" warning.
#[test]
fn interpreter_features_inside() {
    if reference_lacks_section() {
        return;
    }
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("probe.wsgi", PROBE);
    let version = b.write_app(
        "version.wsgi",
        "import sys\ndef application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [str(sys.version_info[:2] >= (3, 12)).encode()]\n",
    );
    let apache = b
        .log_level("info")
        .global(
            "<WSGIInterpreterOptions application-group=app1>\n\
             WSGIPerInterpreterGIL On\nWSGIFreeThreading Off\n</WSGIInterpreterOptions>",
        )
        .server(format!(
            "WSGIScriptAlias /e \"{}\" application-group=app1",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /v \"{}\" application-group=%{{GLOBAL}}",
            version.display()
        ))
        .start();
    assert_eq!(apache.get("/e").status, 200);
    let own_gil = apache.get("/v").text() == "True";
    let log = apache.error_log();
    let text = "WSGIFreeThreading inside <WSGIInterpreterOptions> with application-group= set is ignored: \
         free-threading is a process-wide setting and cannot be scoped per application group.";
    assert!(log.contains(text), "{text}\n{log}");
    let warning = "WSGIPerInterpreterGIL requires Python 3.12 or later; directive has no effect on this build.";
    assert_eq!(log.contains(warning), !own_gil, "{log}");
    let created = "sub-interpreter for application group 'app1' in process";
    let line = log.lines().find(|l| l.contains(created));
    let line = line.unwrap_or_else(|| panic!("{created}\n{log}"));
    assert_eq!(line.ends_with(" with own GIL"), own_gil, "{log}");
}

/// The base layer in a daemon is its `python-path=` only: `WSGIPythonPath`
/// is for the Apache children, as mod_wsgi (a daemon without
/// `python-path=` has no base layer; a section still adds its own).
#[test]
fn wsgi_python_path_is_not_a_daemons_base() {
    if reference_lacks_section() {
        return;
    }
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.write_app("probe.wsgi", PROBE);
    let lib = b.root().join("lib");
    for d in ["base", "all"] {
        std::fs::create_dir_all(lib.join(d)).unwrap();
    }
    let lib = lib.display().to_string();
    let app = app.display();
    let apache = b
        .global(format!("WSGIPythonPath {lib}/base"))
        .global(format!(
            "<WSGIInterpreterOptions>\nWSGIPythonPath {lib}/all\n</WSGIInterpreterOptions>"
        ))
        .server("WSGIDaemonProcess plain threads=2")
        .server(format!("WSGIScriptAlias /e \"{app}\""))
        .server(format!("WSGIScriptAlias /d \"{app}\" process-group=plain"))
        .start();
    let path = |p: &str| {
        let t = apache.get(p).text();
        t.split("\"path\": ")
            .nth(1)
            .unwrap()
            .split(']')
            .next()
            .unwrap()
            .to_string()
            + "]"
    };
    assert_eq!(path("/e"), r#"["all", "base"]"#);
    assert_eq!(path("/d"), r#"["all"]"#);
}
