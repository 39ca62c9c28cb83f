//! Tests of hosting an application on a distribution's Apache (docs/system-apache.md):
//! `mod_wsgi-express module-config` and `install-module --modules-directory DIR` print the
//! lines for a hand-written configuration; each output is written, with Debian's MPM and
//! core modules and examples/system-apache/myapp.conf (paths substituted), into a
//! temporary ServerRoot, and a real Apache started on it serves the app and its static
//! files. Apache's children run as www-data when the tests run as root.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const MODULES: &str = "/usr/lib/apache2/modules";

const APP: &str = r#"

def application(environ, start_response):
    import helper
    body = ("system apache|" + helper.NAME + "|" + environ["SCRIPT_NAME"] + environ["PATH_INFO"]
            + "|" + environ["mod_wsgi.process_group"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

fn run_express(args: &[&str]) -> String {
    let out = Command::new(EXPRESS_EXE)
        .args(args)
        .env("MOD_WSGI_MODULE", module_under_test())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `<dir>/httpd.conf` around `module_lines` and serves it; checks the app.
fn serve_with(dir: &Path, module_lines: &str) {
    let app_dir = dir.join("myapp");
    std::fs::create_dir_all(app_dir.join("static")).unwrap();
    std::fs::write(app_dir.join("app.wsgi"), APP).unwrap();
    std::fs::write(app_dir.join("helper.py"), "NAME = 'on python-path'\n").unwrap();
    std::fs::write(app_dir.join("static/site.css"), "body { color: red }\n").unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/system-apache/myapp.conf");
    let site = std::fs::read_to_string(example)
        .unwrap()
        .replace("/srv/myapp", &path_str(&app_dir))
        .replace("/var/run/apache2", &path_str(&dir.join("run")));
    std::fs::create_dir_all(dir.join("run")).unwrap();
    std::fs::write(dir.join("myapp.conf"), site).unwrap();
    let port = free_port();
    let root = path_str(dir);
    let user = if nix::unistd::Uid::current().is_root() {
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    let conf = format!(
        "ServerRoot \"{root}\"\nServerName localhost\nListen 127.0.0.1:{port}\n\
         PidFile \"{root}/httpd.pid\"\nDefaultRuntimeDir \"{root}\"\n\
         ErrorLog \"{root}/error_log\"\nLogLevel warn\n{user}\
         LoadModule mpm_event_module {MODULES}/mod_mpm_event.so\n\
         LoadModule authz_core_module {MODULES}/mod_authz_core.so\n\
         LoadModule alias_module {MODULES}/mod_alias.so\n\
         LoadModule mime_module {MODULES}/mod_mime.so\n\
         TypesConfig /etc/mime.types\n\
         {module_lines}\nInclude \"{root}/myapp.conf\"\n"
    );
    std::fs::write(dir.join("httpd.conf"), conf).unwrap();
    open_up(dir);
    let mut server = ExpressServer::spawn(
        APACHE_BIN,
        &["-f", &path_str(&dir.join("httpd.conf")), "-DFOREGROUND"],
        &[],
        dir,
        dir,
    )
    .socket_dir(&dir.join("run"));
    server.wait_listening(port);
    let r = get_localhost(port, "/hello/there");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    // Served by the daemon process group of the example.
    assert_eq!(r.text(), "system apache|on python-path|/hello/there|myapp");
    let css = get_localhost(port, "/static/site.css");
    assert_eq!(css.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(css.text(), "body { color: red }\n");
    assert_eq!(css.header("content-type"), Some("text/css"));
    let status = server.stop_with(libc::SIGTERM);
    assert!(status.code().is_some(), "{status}");
    let log = std::fs::read_to_string(dir.join("error_log")).unwrap();
    for bad in ["emerg", "alert", "crit", "Segmentation fault"] {
        assert!(!log.contains(bad), "{bad} in error_log:\n{log}");
    }
}

#[test]
fn module_config_output_bootstraps_a_system_apache() {
    apache_and_module();
    let lines = run_express(&["module-config"]);
    let mut it = lines.lines();
    assert_eq!(
        it.next(),
        Some(
            format!(
                "LoadModule wsgi_module \"{}\"",
                module_under_test().display()
            )
            .as_str()
        )
    );
    assert!(
        it.next().unwrap().starts_with("WSGIPythonHome \""),
        "{lines}"
    );
    assert_eq!(it.next(), None);
    assert_eq!(
        run_express(&["module-location"]).trim_end(),
        path_str(&module_under_test())
    );
    let dir = scratch();
    serve_with(dir.path(), &lines);
}

#[test]
fn install_module_output_bootstraps_a_system_apache() {
    apache_and_module();
    let dir = scratch();
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    let lines = run_express(&["install-module", "--modules-directory", &path_str(&modules)]);
    let installed = modules.join("mod_wsgi.so");
    assert!(installed.is_file());
    assert!(
        lines.starts_with(&format!(
            "LoadModule wsgi_module \"{}\"\n",
            installed.display()
        )),
        "{lines}"
    );
    serve_with(dir.path(), &lines);
}
