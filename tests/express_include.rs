//! What wins over the main application in `mod_wsgi-express start-server`: a
//! `WSGIScriptAlias` from an `--include-file` (in a daemon process group the include
//! file defines, and in the main daemon group or, with `--embedded-mode`, in Apache's
//! children), a `--url-alias` target and an existing file in the document root, as with
//! mod_wsgi 6's express, whose main application is only the fallback. Every other URL
//! under the mount point still reaches the main application with the SCRIPT_NAME and
//! PATH_INFO it had before, for a mount point of `/` and `/app`, in daemon and embedded
//! mode and in the `--server-name` virtual host; in daemon mode the scripts are still
//! preloaded before the first request. Real Apache with the module under test, loopback
//! ports only.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Reports which script answered, with its SCRIPT_NAME, PATH_INFO and process group;
/// each load of the script appends its PID to `marks/<word>`.
fn app(word: &str) -> String {
    format!(
        r#"
import os
with open(os.path.join(os.path.dirname(__file__), "marks", {word:?}), "a") as f:
    f.write("%d\n" % os.getpid())

def application(environ, start_response):
    body = "|".join([{word:?}, environ["SCRIPT_NAME"], environ["PATH_INFO"],
                     environ.get("mod_wsgi.process_group", "-")]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#
    )
}

/// Reports the application group the script runs in.
const OWN_GROUP_APP: &str = r#"
def application(environ, start_response):
    body = environ["mod_wsgi.application_group"].encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"#;

/// One server's layout: the scripts, the include file, an alias target and the
/// document root, under a world-readable scratch directory.
struct Site {
    dir: tempfile::TempDir,
    port: u16,
}

impl Site {
    fn path(&self, name: &str) -> String {
        path_str(&self.dir.path().join(name))
    }

    /// The main group's name in daemon mode (`HOST:PORT`), empty in embedded mode.
    fn main_group(&self, embedded: bool) -> String {
        if embedded {
            String::new()
        } else {
            format!("127.0.0.1:{}", self.port)
        }
    }
}

/// Writes the site; `admin` is a URL under the mount point the include file mounts
/// its second script at, in the main group (daemon mode) or embedded.
fn site(embedded: bool, mount_point: &str) -> Site {
    let dir = scratch();
    let port = free_port();
    let d = dir.path();
    std::fs::write(d.join("main.wsgi"), app("main")).unwrap();
    std::fs::write(d.join("environ.py"), app("environ")).unwrap();
    std::fs::write(d.join("second.py"), app("second")).unwrap();
    std::fs::write(d.join("own.py"), OWN_GROUP_APP).unwrap();
    std::fs::create_dir_all(d.join("aliased")).unwrap();
    std::fs::write(d.join("aliased/a.txt"), "alias target\n").unwrap();
    std::fs::write(d.join("single.txt"), "aliased file\n").unwrap();
    std::fs::create_dir_all(d.join("htdocs/test")).unwrap();
    std::fs::write(d.join("htdocs/test/static.txt"), "static file\n").unwrap();
    let site = Site { dir, port };
    let main_group = if embedded {
        String::new()
    } else {
        format!(" process-group={}", site.main_group(false))
    };
    let admin = format!("{}/admin", mount_point.trim_end_matches('/'));
    let include = format!(
        "WSGIDaemonProcess include-group threads=2 display-name=%{{GROUP}}\n\
         WSGIScriptAlias /test/environ {environ} \\\n    \
         process-group=include-group application-group=%{{GLOBAL}}\n\
         WSGIScriptAlias /test/second {second}{main_group} application-group=%{{GLOBAL}}\n\
         WSGIScriptAlias {admin} {second}{main_group} application-group=%{{GLOBAL}}\n\
         WSGIScriptAlias /test/own {own}{main_group}\n\
         <Directory {dir}>\n    Require all granted\n</Directory>\n",
        environ = site.path("environ.py"),
        second = site.path("second.py"),
        own = site.path("own.py"),
        dir = path_str(site.dir.path()),
    );
    std::fs::write(site.dir.path().join("include.conf"), include).unwrap();
    open_up(site.dir.path());
    let marks = site.dir.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    site
}

fn start(site: &Site, embedded: bool, mount_point: &str, extra: &[&str]) -> ExpressServer {
    let d = site.dir.path();
    let root = d.join("root");
    let mut args: Vec<String> = vec![
        "start-server".into(),
        site.path("main.wsgi"),
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        site.port.to_string(),
        "--server-root".into(),
        path_str(&root),
        "--working-directory".into(),
        path_str(d),
        "--document-root".into(),
        site.path("htdocs"),
        "--mount-point".into(),
        mount_point.into(),
        "--include-file".into(),
        site.path("include.conf"),
        "--url-alias".into(),
        "/test/aliased".into(),
        site.path("aliased"),
        "--url-alias".into(),
        "/test/single.txt".into(),
        site.path("single.txt"),
    ];
    if embedded {
        args.push("--embedded-mode".into());
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], d, &root);
    server.wait_listening(site.port);
    server
}

/// GET `path`, expecting a 200 with `want` as the body.
fn expect(server: &ExpressServer, port: u16, path: &str, want: &str) {
    let r = get_localhost(port, path);
    assert_eq!(
        (r.status_line().as_str(), r.text().as_str()),
        ("HTTP/1.1 200 OK", want),
        "GET {path}; {}",
        server.logs()
    );
}

/// The PIDs that loaded the script `word`, one line per load.
fn loads(site: &Site, word: &str) -> Vec<String> {
    let path = site.dir.path().join("marks").join(word);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

/// Waits (30 s at most) until the script `word` has been loaded, without a request.
fn wait_for_loads(server: &ExpressServer, site: &Site, word: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while loads(site, word).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{word} was not preloaded; {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn clean_error_log(root: &Path) {
    let log = std::fs::read_to_string(root.join("error_log")).unwrap_or_default();
    for bad in ["emerg", "alert", "crit", "Segmentation fault", "panicked"] {
        assert!(!log.contains(bad), "{bad} in the error log:\n{log}");
    }
}

/// Runs one server and checks every precedence rule and the main app's environ.
fn check(embedded: bool, mount_point: &str, extra: &[&str]) {
    apache_and_module();
    let site = site(embedded, mount_point);
    let port = site.port;
    let mut server = start(&site, embedded, mount_point, extra);
    let main = site.main_group(embedded);
    let script_name = mount_point.trim_end_matches('/');
    let admin = format!("{script_name}/admin");
    if !embedded {
        // Daemon mode: the main script (WSGIImportScript) and the include file's
        // scripts (aliases with static groups) are loaded before any request.
        for word in ["main", "environ", "second"] {
            wait_for_loads(&server, &site, word);
        }
    }

    // Include-file mounts answer from their own scripts, in their own groups.
    expect(
        &server,
        port,
        "/test/environ/x",
        "environ|/test/environ|/x|include-group",
    );
    expect(
        &server,
        port,
        "/test/environ",
        "environ|/test/environ||include-group",
    );
    expect(
        &server,
        port,
        "/test/second/y",
        &format!("second|/test/second|/y|{main}"),
    );
    // Also under a non-root mount point, below the main application's own mount.
    expect(
        &server,
        port,
        &format!("{admin}/z"),
        &format!("second|{admin}|/z|{main}"),
    );
    // A mount that names no application group gets its own interpreter, as with the
    // original (which names the group on its handler only), not the application's.
    let r = get_localhost(port, "/test/own");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert!(
        r.text().ends_with("|/test/own"),
        "an include-file mount without application-group ran in {:?}",
        r.text()
    );
    // --url-alias targets (a directory and a single file) and document-root files.
    expect(&server, port, "/test/aliased/a.txt", "alias target\n");
    expect(&server, port, "/test/single.txt", "aliased file\n");
    expect(&server, port, "/test/static.txt", "static file\n");

    // Everything else under the mount point is still the main application.
    expect(
        &server,
        port,
        &format!("{script_name}/other/x"),
        &format!("main|{script_name}|/other/x|{main}"),
    );
    expect(
        &server,
        port,
        &format!("{script_name}/test/other"),
        &format!("main|{script_name}|/test/other|{main}"),
    );
    expect(
        &server,
        port,
        &format!("{script_name}/"),
        &format!("main|{script_name}|/|{main}"),
    );
    if !embedded {
        // The requests used the preloaded scripts: each was loaded once.
        for word in ["main", "environ", "second"] {
            assert_eq!(loads(&site, word).len(), 1, "{word}; {}", server.logs());
        }
    }
    server.interrupt_and_wait();
    clean_error_log(&site.dir.path().join("root"));
}

#[test]
fn include_mounts_aliases_and_static_files_win_in_daemon_mode_at_root() {
    check(false, "/", &[]);
}

#[test]
fn include_mounts_aliases_and_static_files_win_in_daemon_mode_under_a_mount_point() {
    check(false, "/app", &[]);
}

#[test]
fn include_mounts_aliases_and_static_files_win_in_embedded_mode_at_root() {
    check(true, "/", &[]);
}

#[test]
fn include_mounts_aliases_and_static_files_win_in_embedded_mode_under_a_mount_point() {
    check(true, "/app", &[]);
}

/// The virtual host `--server-name` writes (its own mod_wsgi server record in daemon
/// mode) inherits the mounts in the same order: the include file's still win.
#[test]
fn include_mounts_win_in_the_server_name_virtual_host() {
    check(false, "/", &["--server-name", "localhost"]);
}
