//! Integration tests of the Django integration (`python/mod_wsgi_rs_django`): a project
//! generated with `django-admin startproject`, `manage.py collectstatic`, then
//! `manage.py runmodwsgi --port P` execs mod_wsgi-express, which serves the admin login
//! page (settings.WSGI_APPLICATION as `--application-type module`, BASE_DIR as working
//! directory) and its CSS through the STATIC_URL -> STATIC_ROOT alias (DEBUG is off, so
//! Django does not serve it). Needs Django for /usr/bin/python3 (Debian: python3-django).
//! The package is pip-installed into a virtualenv made from /usr/bin/python3 (served
//! test), or used through PYTHONPATH (mapping test), from world-readable copies, as
//! Apache's children (www-data when run as root) import it too.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

/// A Django project in `<dir>/proj` plus a copy of the package in `<dir>/pkgs`.
fn project(dir: &Path, extra_settings: &str) -> (PathBuf, PathBuf) {
    let probe = Command::new(PYTHON)
        .args(["-c", "import django"])
        .status()
        .unwrap();
    assert!(
        probe.success(),
        "Django is required for {PYTHON} (apt-get install python3-django)"
    );
    let proj = dir.join("proj");
    std::fs::create_dir(&proj).unwrap();
    let out = Command::new(PYTHON)
        .args(["-m", "django", "startproject", "mysite"])
        .arg(&proj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let settings = proj.join("mysite/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(
        "\nALLOWED_HOSTS = ['*']\nDEBUG = False\nSTATIC_ROOT = str(BASE_DIR / 'collected')\n\
         INSTALLED_APPS = INSTALLED_APPS + ['mod_wsgi_rs_django']\n",
    );
    text.push_str(extra_settings);
    std::fs::write(&settings, text).unwrap();
    let pkgs = dir.join("pkgs");
    std::fs::create_dir(&pkgs).unwrap();
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mod_wsgi_rs_django/mod_wsgi_rs_django");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&source)
        .arg(&pkgs)
        .status()
        .unwrap();
    assert!(status.success());
    (proj, pkgs)
}

fn manage(proj: &Path, pkgs: &Path, args: &[&str]) -> std::process::Output {
    Command::new(PYTHON)
        .arg(proj.join("manage.py"))
        .args(args)
        .env("PYTHONPATH", pkgs)
        .env("MOD_WSGI_EXPRESS", EXPRESS_EXE)
        .env("MOD_WSGI_MODULE", module_under_test())
        .current_dir(proj)
        .output()
        .unwrap()
}

/// A virtualenv (`--system-site-packages`, for Django) in `<dir>/venv` with the package
/// pip-installed from a copy of python/mod_wsgi_rs_django (no index, no build isolation:
/// setuptools comes from the system).
fn venv_with_package(dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let out = Command::new(PYTHON)
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mod_wsgi_rs_django");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&source)
        .arg(dir.join("src"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--no-build-isolation", "--no-index"])
        .arg(dir.join("src"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    venv
}

#[test]
fn runmodwsgi_serves_the_admin_login_page_and_its_static_css() {
    apache_and_module();
    let dir = scratch();
    let (proj, pkgs) = project(dir.path(), "");
    std::fs::remove_dir_all(&pkgs).unwrap();
    let venv = venv_with_package(dir.path());
    let python = path_str(&venv.join("bin/python"));
    let out = Command::new(&python)
        .arg(proj.join("manage.py"))
        .args(["collectstatic", "--noinput"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let manage_py = path_str(&proj.join("manage.py"));
    // No PYTHONPATH: Apache's Python finds the package through the --python-path
    // that runmodwsgi adds for the virtualenv.
    let mut server = ExpressServer::spawn(
        &python,
        &[
            &manage_py,
            "runmodwsgi",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            &path_str(&root),
        ],
        &[("MOD_WSGI_EXPRESS", EXPRESS_EXE)],
        dir.path(),
        &root,
    );
    server.wait_listening(port);

    let page = get_localhost(port, "/admin/login/");
    assert_eq!(page.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert!(
        page.text().contains("Django administration"),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("/static/admin/css/base.css"),
        "{}",
        page.text()
    );
    let css = get_localhost(port, "/static/admin/css/base.css");
    assert_eq!(css.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert!(css.text().contains("body {"), "{}", &css.text()[..200]);

    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(
        conf.contains(&format!(
            "Alias \"/static\" \"{}\"",
            proj.join("collected").display()
        )),
        "{conf}"
    );
    server.interrupt_and_wait();
}

#[test]
fn runmodwsgi_maps_settings_and_passes_options_through() {
    apache_and_module();
    let dir = scratch();
    let whitenoise = "MIDDLEWARE = ['whitenoise.middleware.WhiteNoiseMiddleware'] + MIDDLEWARE\n\
                      WSGI_APPLICATION = 'mysite.wsgi.app'\n";
    let (proj, pkgs) = project(dir.path(), whitenoise);
    let root = dir.path().join("root");
    let out = manage(
        &proj,
        &pkgs,
        &[
            "runmodwsgi",
            "--setup-only",
            "--port",
            "8123",
            "--server-root",
            &path_str(&root),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrapper = std::fs::read_to_string(root.join("handler.wsgi")).unwrap();
    assert!(
        wrapper.contains("import_module(\"mysite.wsgi\")"),
        "{wrapper}"
    );
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(conf.contains("WSGICallableObject \"app\""), "{conf}");
    assert!(conf.contains("Listen 8123"), "{conf}");
    assert!(
        !conf.contains("Alias \"/static\""),
        "WhiteNoise serves static"
    );
    // Daemon mode: the working directory is the daemon's home (first on sys.path),
    // the other paths its python-path.
    for word in [
        format!("\n   home={} \\\n", proj.display()),
        format!("\n   python-path={} \\\n", pkgs.display()),
    ] {
        assert!(conf.contains(&word), "{word} missing:\n{conf}");
    }

    // A bad express option is express's one-line error with status 2.
    let out = manage(&proj, &pkgs, &["runmodwsgi", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
}
