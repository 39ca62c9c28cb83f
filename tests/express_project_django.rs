//! Integration test of the project workflow with a Django project (issue 18 item 3): in
//! a directory made by `django-admin startproject`, `mod_wsgi-express start-server` with
//! no entry point finds the application through manage.py and WSGI_APPLICATION, runs the
//! project's `.mod_wsgi-express/deploy` hook (Django migrations) before Apache starts,
//! and applies the options of `pyproject.toml` (a mount point): the admin login page is
//! served under it. Needs Django for /usr/bin/python3 (Debian: python3-django).

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::SystemTime;

const PYTHON: &str = "/usr/bin/python3";

#[test]
fn start_server_finds_the_django_project_runs_deploy_and_applies_pyproject() {
    apache_and_module();
    let probe = Command::new(PYTHON)
        .args(["-c", "import django"])
        .status()
        .unwrap();
    assert!(
        probe.success(),
        "Django is required for {PYTHON} (apt-get install python3-django)"
    );
    let dir = scratch();
    let proj = dir.path().join("proj");
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
    std::fs::write(
        proj.join("pyproject.toml"),
        "[project]\nname = \"mysite\"\n\n[tool.mod_wsgi-express]\nmount-point = \"/site\"\n\
         host = \"127.0.0.1\"\nthreads = 3\n",
    )
    .unwrap();
    let hook = proj.join(".mod_wsgi-express/deploy");
    std::fs::create_dir(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nset -e\n{PYTHON} manage.py migrate --noinput\ntouch deployed\n"),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    open_up(dir.path());

    let root = dir.path().join("root");
    let port = free_port();
    let (port_s, proj_s, root_s) = (port.to_string(), path_str(&proj), path_str(&root));
    let args = [
        "-C",
        &proj_s,
        EXPRESS_EXE,
        "start-server",
        "--port",
        &port_s,
        "--server-root",
        &root_s,
    ];
    let mut server = ExpressServer::spawn("env", &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let listening = SystemTime::now();

    let deployed = std::fs::metadata(proj.join("deployed"))
        .unwrap_or_else(|e| panic!("deploy hook did not run: {e}; {}", server.logs()));
    assert!(deployed.modified().unwrap() <= listening);
    assert!(proj.join("db.sqlite3").exists(), "{}", server.logs());
    let output = std::fs::read_to_string(dir.path().join("express.out")).unwrap();
    assert!(output.contains("Applying auth."), "{output}");
    assert!(
        output.contains(
            "using the Django project of manage.py: settings mysite.settings, \
                         WSGI_APPLICATION mysite.wsgi.application"
        ),
        "{output}"
    );
    // The migrations ran before Apache started (it writes its PID file at start).
    let pid_file = std::fs::metadata(root.join("httpd.pid")).unwrap();
    assert!(deployed.modified().unwrap() <= pid_file.modified().unwrap());

    let page = get_localhost(port, "/site/admin/login/");
    assert_eq!(page.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert!(
        page.text().contains("Django administration"),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("action=\"/site/admin/login/\""),
        "{}",
        page.text()
    );
    assert_eq!(
        get_localhost(port, "/admin/login/").status_line(),
        "HTTP/1.1 404 Not Found"
    );
    let conf = std::fs::read_to_string(root.join("httpd.conf")).unwrap();
    assert!(conf.contains("threads=3"), "{conf}");
    server.interrupt_and_wait();
}
