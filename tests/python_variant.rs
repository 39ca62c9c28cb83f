//! The module built for another Python (`scripts/python-variant.sh`, e.g.
//! 3.12 from pyenv copied to a prefix Apache's user can read) serves
//! requests with that Python: in embedded mode under each MPM and in a
//! daemon process, in the main interpreter (`%{GLOBAL}`) and in a
//! sub-interpreter, the app sees the expected version and prefix, and the
//! only libpython in the process is that version's, loaded from the prefix
//! (the module's rpath), not the system one; a venv made with that Python
//! is the app's `sys.prefix` through `WSGIPythonHome` (embedded) and
//! `python-home=` (daemon). Set `MOD_WSGI_EXPECT_PYTHON`
//! (e.g. `3.12`) and optionally `MOD_WSGI_EXPECT_PYTHON_PREFIX` along with
//! `MOD_WSGI_SO`; without them every test here prints that it is skipped.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// What the variant run expects: the Python version and, if given, prefix.
struct Expected {
    version: String,
    prefix: Option<String>,
}

/// The expectation from the environment, or `None` after printing why the
/// test is skipped.
fn expected() -> Option<Expected> {
    let Ok(version) = std::env::var("MOD_WSGI_EXPECT_PYTHON") else {
        eprintln!(
            "skipped: MOD_WSGI_EXPECT_PYTHON is not set (scripts/python-variant.sh --test \
             sets it, with MOD_WSGI_SO naming the variant module)"
        );
        return None;
    };
    let prefix = std::env::var("MOD_WSGI_EXPECT_PYTHON_PREFIX").ok();
    Some(Expected { version, prefix })
}

/// The app's `key=value` lines.
fn facts(r: &Response) -> BTreeMap<String, String> {
    assert_eq!(r.status, 200, "{r:?}");
    r.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn check(facts: &BTreeMap<String, String>, want: &Expected, group: &str, log: &str) {
    let got = |k: &str| facts.get(k).map(String::as_str).unwrap_or("<missing>");
    assert_eq!(got("version"), want.version, "{facts:?}\n{log}");
    assert_eq!(got("group"), group, "{facts:?}");
    if let Some(prefix) = &want.prefix {
        assert_eq!(got("base_prefix"), prefix, "{facts:?}");
    }
    // One libpython, of this version (a second one, e.g. the system
    // Python's, would mean two runtimes in one process).
    let libs: Vec<&str> = got("libpython").split_whitespace().collect();
    assert_eq!(libs.len(), 1, "libpython mapped: {libs:?}");
    let lib = libs[0];
    assert!(
        lib.contains(&format!("/libpython{}.so", want.version)),
        "libpython mapped: {lib}"
    );
    if let Some(prefix) = &want.prefix {
        assert!(
            lib.starts_with(&format!("{prefix}/")),
            "libpython mapped: {lib}"
        );
    }
}

/// `/global` in the main interpreter, `/sub` in a sub-interpreter; in
/// `process_group` when given (daemon mode), else embedded.
fn serve(mpm: Mpm, process_group: Option<&str>) {
    let Some(want) = expected() else { return };
    let mut b = Apache::builder(mpm).with_socket_prefix();
    let app = b.app("python_variant.wsgi");
    if let Some(g) = process_group {
        b = b
            .server(format!("WSGIDaemonProcess {g} threads=2"))
            .server(format!("WSGIProcessGroup {g}"));
    }
    let apache = b
        .server(format!("WSGIScriptAlias /global \"{}\"", app.display()))
        .server(format!("WSGIScriptAlias /sub \"{}\"", app.display()))
        .server("<Location /global>\n    WSGIApplicationGroup %{GLOBAL}\n</Location>")
        .server("<Location /sub>\n    WSGIApplicationGroup variant-sub\n</Location>")
        .start();
    for (path, group) in [("/global", ""), ("/sub", "variant-sub"), ("/global", "")] {
        let f = facts(&apache.get(path));
        check(&f, &want, group, &apache.error_log());
        assert_eq!(f["process_group"], process_group.unwrap_or(""), "{f:?}");
    }
}

fn embedded(mpm: Mpm) {
    serve(mpm, None)
}
per_mpm!(embedded_mode, embedded);

fn daemon(mpm: Mpm) {
    serve(mpm, Some("variant"))
}
per_mpm!(daemon_mode, daemon);

/// `<prefix>/bin/pythonX.Y -m venv --without-pip <root>/venv` with a package
/// only the venv holds. The prefix may be a copy whose executable's rpath
/// names the original prefix, hence LD_LIBRARY_PATH.
fn make_venv(root: &Path, version: &str, prefix: &str) -> PathBuf {
    let venv = root.join("venv");
    let out = Command::new(format!("{prefix}/bin/python{version}"))
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .env("LD_LIBRARY_PATH", format!("{prefix}/lib"))
        .output()
        .expect("run the variant Python");
    assert!(out.status.success(), "venv creation failed: {out:?}");
    let pkg = venv.join(format!(
        "lib/python{version}/site-packages/variant_venv_pkg/__init__.py"
    ));
    write_file(&pkg, "MARKER = 'venv-pkg-ok'\n");
    venv
}

/// A venv of the variant Python as the home: `WSGIPythonHome` for the
/// Apache children (`/embedded`), `python-home=` for a daemon (`/daemon`).
#[test]
fn venv_as_python_home() {
    let Some(want) = expected() else { return };
    let Some(prefix) = want.prefix.clone() else {
        eprintln!("skipped: MOD_WSGI_EXPECT_PYTHON_PREFIX is not set (the venv is made with it)");
        return;
    };
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let app = b.app("python_variant.wsgi");
    let venv = make_venv(b.root(), &want.version, &prefix);
    let v = venv.display();
    let apache = b
        .global(format!("WSGIPythonHome \"{v}\""))
        .server(format!("WSGIDaemonProcess variant-venv threads=2 python-home=\"{v}\""))
        .server(format!(
            "WSGIScriptAlias /embedded \"{}\" application-group=%{{GLOBAL}}",
            app.display()
        ))
        .server(format!(
            "WSGIScriptAlias /daemon \"{}\" process-group=variant-venv application-group=%{{GLOBAL}}",
            app.display()
        ))
        .start();
    for path in ["/embedded", "/daemon"] {
        let f = facts(&apache.get(path));
        check(&f, &want, "", &apache.error_log());
        assert_eq!(f["prefix"], v.to_string(), "sys.prefix ({path}): {f:?}");
        assert_eq!(f["venv_pkg"], "venv-pkg-ok", "{path}: {f:?}");
    }
}
