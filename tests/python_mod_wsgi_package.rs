//! Our `mod_wsgi` module beside Python packages named `mod_wsgi`: pip's
//! mod_wsgi distribution (whose server roots' `handler.wsgi` does `from
//! mod_wsgi.express.runtime import ApplicationHandler`) and
//! `mod-wsgi-telemetry` install one. `import mod_wsgi` must give our module
//! and the package's subpackages must still import, in embedded and daemon
//! mode, in the main interpreter and in sub-interpreters, with the package
//! found through the Python home (a venv) or through python-path; a package
//! that fails to import is logged and changes nothing else. Uses pip's real
//! packages (a venv made once by scripts/pip-mod_wsgi-venv.sh) and the
//! fixtures in tests/apps/mod_wsgi_pkg.

#[macro_use]
mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

/// The venv with pip's mod_wsgi and mod-wsgi-telemetry (made on first use).
fn pip_venv() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pip-mod_wsgi-venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run scripts/pip-mod_wsgi-venv.sh");
    assert!(
        out.status.success(),
        "scripts/pip-mod_wsgi-venv.sh failed (it needs PyPI and apache2-dev):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn packages(mpm: Mpm) {
    ours_only!("mod_wsgi.implementation names our module");
    let venv = pip_venv();
    let b = Apache::builder(mpm).with_socket_prefix();
    let dir = b.app("mod_wsgi_pkg");
    let probe = dir.join("probe.wsgi");
    let site = |name: &str| dir.join(name).display().to_string();
    let mounts = [
        ("/e-global", "", "%{GLOBAL}"),
        ("/e-sub", "", "sub"),
        ("/d-global", "real", "%{GLOBAL}"),
        ("/d-sub", "real", "sub"),
        ("/fixture", "fixture", "sub"),
        ("/ns", "ns", "%{GLOBAL}"),
        ("/broken", "broken", "%{GLOBAL}"),
    ];
    let mut b = b
        .global(format!("WSGIPythonHome \"{}\"", venv.display()))
        .server(format!(
            "WSGIDaemonProcess real threads=2 python-home=\"{}\"",
            venv.display()
        ))
        // The system Python's home has no `mod_wsgi` package: only the
        // python-path directories bring one.
        .server(format!(
            "WSGIDaemonProcess fixture threads=1 python-home=/usr python-path={}:{}",
            site("pip_site"),
            site("ns_site")
        ))
        .server(format!(
            "WSGIDaemonProcess ns threads=1 python-home=/usr python-path={}",
            site("ns_site")
        ))
        .server(format!(
            "WSGIDaemonProcess broken threads=1 python-home=/usr python-path={}",
            site("broken_site")
        ));
    for (mount, group, app_group) in mounts {
        let pg = if group.is_empty() {
            String::new()
        } else {
            format!(" process-group={group}")
        };
        b = b.server(format!(
            "WSGIScriptAlias {mount} \"{}\"{pg} application-group={app_group}",
            probe.display()
        ));
    }
    let apache = b.start();
    let venv_site = venv.join("lib/python3.11/site-packages/mod_wsgi");
    let venv_site = venv_site.to_string_lossy();
    for (mount, _, app_group) in mounts {
        let r = apache.get(mount);
        assert_eq!(r.status, 200, "{mount}: {r:?}\n{}", apache.error_log());
        let kv = parse_kv(&r.text());
        assert!(
            kv["implementation"].starts_with("mod_wsgi-rs "),
            "{mount}: `import mod_wsgi` is not ours: {kv:?}"
        );
        let group = if app_group == "%{GLOBAL}" {
            ""
        } else {
            app_group
        };
        assert_eq!(kv["group"], group, "{mount}");
        let (express, telemetry) = match mount {
            "/fixture" => (site("pip_site"), site("ns_site")),
            "/ns" => ("ImportError".to_string(), site("ns_site")),
            "/broken" => ("ImportError".to_string(), "ImportError".to_string()),
            _ => (venv_site.to_string(), venv_site.to_string()),
        };
        assert!(
            kv["express"].starts_with(&express),
            "{mount}: mod_wsgi.express from {kv:?}"
        );
        assert!(
            kv["telemetry"].starts_with(&telemetry),
            "{mount}: mod_wsgi.telemetry from {kv:?}"
        );
    }
    let log = apache.error_log();
    assert!(
        log.contains("[WSGIRS0206]") && log.contains("this mod_wsgi package is broken on purpose"),
        "a mod_wsgi package that fails to import must be logged with its traceback:\n{log}"
    );
}
per_mpm!(pip_mod_wsgi_packages_import_beside_ours, packages);
