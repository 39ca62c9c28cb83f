//! `WSGIPerInterpreterGIL` and its `<WSGIInterpreterOptions>` scoping,
//! against a real Apache with the module built for Python 3.12 or later
//! (skipped, saying so, when the module under test runs an older Python).
//!
//! Deterministic, not timed: two application groups in one process, each
//! with a huge `sys.setswitchinterval`, each request setting its own flag in
//! a shared `mmap` and spinning in pure Python (nothing that releases the
//! GIL) until it sees the other's flag. Under one GIL the first to spin
//! keeps the GIL until its timeout, so exactly one request gives up; with
//! an own GIL for either group both see each other's flag at once.

#[macro_use]
mod common;

use common::*;

/// How long a request spins before giving up (seconds, in the app).
const SPIN_TIMEOUT: f64 = 6.0;

const APP: &str = r#"
import mmap, os, sys, time
import mod_wsgi

# Never hand the GIL over while spinning: only a GIL of its own lets the
# other group run meanwhile.
sys.setswitchinterval(1000.0)
_fd = os.open(os.path.join(os.path.dirname(__file__), 'flags.bin'), os.O_RDWR)
_map = mmap.mmap(_fd, 2)
TIMEOUT = SPIN

def application(environ, start_response):
    group = mod_wsgi.application_group
    if environ.get('QUERY_STRING') == 'warm':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'warm']
    me, other = (0, 1) if group == 'gil-a' else (1, 0)
    start = time.monotonic()
    _map[me] = 1
    saw = False
    while time.monotonic() - start < TIMEOUT:
        if _map[other]:
            saw = True
            break
    elapsed = time.monotonic() - start
    body = 'group=%s\nsaw=%s\nelapsed=%.3f\n' % (group, saw, elapsed)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]
"#;

const VERSION_APP: &str = r#"
import sys
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'%d.%d' % sys.version_info[:2]]
"#;

/// Whether the module under test runs Python 3.12 or later (asked at
/// `/version`); if not, says that the test is skipped.
fn has_own_gil(apache: &Apache) -> bool {
    let v = apache.get("/version");
    assert_eq!(v.status, 200, "{}", v.text());
    let text = v.text();
    let (major, minor) = text.split_once('.').expect("major.minor");
    let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
    if (major, minor) < (3, 12) {
        eprintln!(
            "skipped: the module under test runs Python {text}; a per-interpreter GIL \
             needs a build for Python 3.12 or later"
        );
        return false;
    }
    true
}

/// How the GIL is configured for the two groups.
#[derive(Clone, Copy, Debug)]
enum Gil {
    Off,
    On,
    /// Top level Off; a section gives group `gil-a` alone its own GIL.
    ScopedToA,
}

fn single_child(threads: u32) -> Vec<String> {
    vec![
        "StartServers 1".into(),
        "ServerLimit 1".into(),
        format!("ThreadLimit {threads}"),
        format!("ThreadsPerChild {threads}"),
        "MinSpareThreads 1".into(),
        format!("MaxSpareThreads {threads}"),
        format!("MaxRequestWorkers {threads}"),
    ]
}

/// Runs both groups' requests at once; `None` (after printing why) when
/// the module under test runs a Python without a per-interpreter GIL.
/// Returns (saw the other's flag, seconds spun) per group, and the log.
fn race(mpm: Mpm, daemon: bool, gil: Gil) -> Option<(Vec<(bool, f64)>, String)> {
    let b = Apache::builder(mpm).mpm_sizing(single_child(4));
    let app = b.write_app(
        "gil/race.wsgi",
        &APP.replace("SPIN", &SPIN_TIMEOUT.to_string()),
    );
    let flags = b.root().join("apps/gil/flags.bin");
    write_file(&flags, "\0\0");
    common::set_mode(&flags, 0o666);
    let version = b.write_app("version.wsgi", VERSION_APP);
    let pg = if daemon { " process-group=gil" } else { "" };
    let mut b = b.log_level("info");
    if daemon {
        b = b.server("WSGIDaemonProcess gil threads=4");
    }
    b = match gil {
        Gil::Off => b.server("WSGIPerInterpreterGIL Off"),
        Gil::On => b.server("WSGIPerInterpreterGIL On"),
        Gil::ScopedToA => b
            .server("WSGIPerInterpreterGIL Off")
            .server("<WSGIInterpreterOptions application-group=gil-a>")
            .server("WSGIPerInterpreterGIL On")
            .server("</WSGIInterpreterOptions>"),
    };
    let apache = b
        .server(format!(
            "WSGIScriptAlias /a \"{}\" application-group=gil-a{pg}",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /b \"{}\" application-group=gil-b{pg}",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /version \"{}\" application-group=%{{GLOBAL}}{pg}",
            version.display()
        ))
        .start();
    if !has_own_gil(&apache) {
        return None;
    }
    // Both interpreters first (creating one takes the main GIL, which a
    // request spinning in a group sharing it would hold).
    for path in ["/a?warm", "/b?warm"] {
        let r = apache.get(path);
        assert_eq!((r.status, r.text()), (200, "warm".to_string()), "{path}");
    }
    let client = apache.client();
    let results = concurrently(2, move |i| client.get(["/a", "/b"][i]));
    let mut out = Vec::new();
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.status, 200, "{}", r.text());
        let kv = parse_kv(&r.text());
        assert_eq!(kv["group"], ["gil-a", "gil-b"][i]);
        out.push((kv["saw"] == "True", kv["elapsed"].parse::<f64>().unwrap()));
    }
    Some((out, apache.error_log()))
}

/// Under one GIL exactly one request can only end by its timeout.
fn assert_serialised(results: &[(bool, f64)]) {
    let gave_up: Vec<_> = results.iter().filter(|(saw, _)| !saw).collect();
    assert_eq!(
        gave_up.len(),
        1,
        "one GIL: one request must time out: {results:?}"
    );
    assert!(gave_up[0].1 >= SPIN_TIMEOUT, "{results:?}");
}

/// With a GIL of their own both saw the other's flag, well before the timeout.
fn assert_parallel(results: &[(bool, f64)]) {
    for (saw, elapsed) in results {
        assert!(saw, "both must see the other's flag: {results:?}");
        assert!(*elapsed < SPIN_TIMEOUT, "{results:?}");
    }
}

fn embedded_off(mpm: Mpm) {
    if let Some((r, log)) = race(mpm, false, Gil::Off) {
        assert_serialised(&r);
        assert!(!log.contains("with own GIL"), "{log}");
    }
}

fn embedded_on(mpm: Mpm) {
    if let Some((r, log)) = race(mpm, false, Gil::On) {
        assert_parallel(&r);
        for g in ["gil-a", "gil-b"] {
            assert!(
                log.contains(&format!("application group '{g}' in process"))
                    && log.contains("with own GIL"),
                "{log}"
            );
        }
    }
}

#[test]
fn shared_gil_serialises_event() {
    embedded_off(Mpm::Event);
}

#[test]
fn own_gil_runs_in_parallel_event() {
    embedded_on(Mpm::Event);
}

#[test]
fn own_gil_runs_in_parallel_worker() {
    embedded_on(Mpm::Worker);
}

#[test]
fn own_gil_runs_in_parallel_daemon() {
    if let Some((r, _)) = race(Mpm::Event, true, Gil::On) {
        assert_parallel(&r);
    }
}

#[test]
fn shared_gil_serialises_daemon() {
    if let Some((r, _)) = race(Mpm::Event, true, Gil::Off) {
        assert_serialised(&r);
    }
}

/// A section gives one group its own GIL: the other keeps the main one,
/// so they no longer share a GIL either.
#[test]
fn scoped_own_gil_for_one_group() {
    if let Some((r, log)) = race(Mpm::Event, false, Gil::ScopedToA) {
        assert_parallel(&r);
        let own: Vec<_> = log.lines().filter(|l| l.contains("with own GIL")).collect();
        assert_eq!(own.len(), 1, "{log}");
        assert!(own[0].contains("'gil-a'"), "{log}");
    }
}

const SINGLE_PHASE_APP: &str = r#"
import _testsinglephase  # a single-phase init extension (CPython's test module)

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'imported']
"#;

/// An extension module without isolated-interpreter support fails to import
/// in a group with its own GIL, with Python's error and a line naming the
/// group; the same import works in a group sharing the main GIL.
#[test]
fn single_phase_extension_refused_with_own_gil() {
    let b = Apache::builder(Mpm::Event);
    let app = b.write_app("single.wsgi", SINGLE_PHASE_APP);
    let version = b.write_app("version.wsgi", VERSION_APP);
    let apache = b
        .server("WSGIPerInterpreterGIL Off")
        .server("<WSGIInterpreterOptions application-group=isolated>")
        .server("WSGIPerInterpreterGIL On")
        .server("</WSGIInterpreterOptions>")
        .server(format!(
            "WSGIScriptAlias /isolated \"{}\" application-group=isolated",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /legacy \"{}\" application-group=legacy",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /version \"{}\" application-group=%{{GLOBAL}}",
            version.display()
        ))
        .start();
    if !has_own_gil(&apache) {
        return;
    }
    let legacy = apache.get("/legacy");
    assert_eq!(
        (legacy.status, legacy.text()),
        (200, "imported".to_string())
    );
    assert_eq!(apache.get("/isolated").status, 500);
    let log = apache.error_log();
    assert!(
        log.contains("module _testsinglephase does not support loading in subinterpreters"),
        "{log}"
    );
    assert!(
        log.contains("[WSGIRS0615] application group 'isolated' in process"),
        "{log}"
    );
}

const TYPES_APP: &str = r#"
import sys
import mod_wsgi

def application(environ, start_response):
    seen = {
        'input': type(environ['wsgi.input']),
        'errors': type(environ['wsgi.errors'].buffer),
        'stderr': type(sys.stderr.buffer),
        'start_response': type(start_response),
        'file_wrapper': environ['wsgi.file_wrapper'],
    }
    lines = ['%s=%s.%s@%x' % (k, t.__module__, t.__qualname__, id(t)) for k, t in sorted(seen.items())]
    lines.append('same=%s' % (mod_wsgi.FileWrapper is environ['wsgi.file_wrapper']))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('\n'.join(lines) + '\n').encode()]
"#;

/// Whatever the GIL setting and Python version: each interpreter has its
/// own type objects for our classes (same names as before), none shared.
fn types_per_interpreter(mpm: Mpm) {
    ours_only!("mod_wsgi 4.9 shares static types between sub-interpreters");
    let sizing = match mpm {
        Mpm::Prefork => [
            "StartServers 1",
            "MinSpareServers 1",
            "MaxSpareServers 1",
            "ServerLimit 1",
            "MaxRequestWorkers 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        _ => single_child(2),
    };
    let b = Apache::builder(mpm).mpm_sizing(sizing);
    let app = b.write_app("types.wsgi", TYPES_APP);
    let p = app.display();
    let apache = b
        .server(format!("WSGIScriptAlias /a \"{p}\" application-group=ta"))
        .server(format!("WSGIScriptAlias /b \"{p}\" application-group=tb"))
        .server(format!(
            "WSGIScriptAlias /g \"{p}\" application-group=%{{GLOBAL}}"
        ))
        .start();
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    for path in ["/a", "/b", "/g"] {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{}", r.text());
        let kv = parse_kv(&r.text());
        assert_eq!(kv["same"], "True");
        for (k, v) in kv.iter().filter(|(k, _)| *k != "same") {
            let (name, id) = v.split_once('@').unwrap();
            let expected = match k.as_str() {
                "input" => "mod_wsgi.Input",
                "errors" | "stderr" => "mod_wsgi.LogBuffer",
                "start_response" => "mod_wsgi.StartResponse",
                _ => "mod_wsgi.FileWrapper",
            };
            assert_eq!(name, expected, "{k} in {path}");
            ids.entry(k.clone()).or_default().push(id.to_string());
        }
    }
    for (k, v) in ids {
        let distinct: std::collections::BTreeSet<_> = v.iter().collect();
        assert_eq!(
            distinct.len(),
            3,
            "{k}: one type object per interpreter: {v:?}"
        );
    }
}

#[test]
fn types_per_interpreter_event() {
    types_per_interpreter(Mpm::Event);
}

#[test]
fn types_per_interpreter_prefork() {
    types_per_interpreter(Mpm::Prefork);
}
