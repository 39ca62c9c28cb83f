//! `mod_wsgi-express --add-handler EXTENSION SCRIPT`, as the original: a file with that
//! extension in the document root is served by the script's `handle_request`, with
//! `SCRIPT_NAME`/`SCRIPT_FILENAME` naming the file, in the daemon process group (daemon
//! mode) or the Apache child (embedded mode); other files are served as they are and
//! other URLs still go to the application. `--rewrite-rules FILE` (default
//! `<root>/rewrite.conf`, created empty and kept across runs) is included: its
//! redirect applies before the application. `--enable-docs` serves the Markdown
//! documentation at `/__wsgi__/docs/`. Real Apache, loopback only.

#[macro_use]
mod common;

use common::*;
use std::fs;
use std::path::Path;

const APP: &str = "def application(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [b'app']\n";

const PAGE: &str = "def handle_request(environ, start_response):\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    text = open(environ['SCRIPT_FILENAME']).read().strip()\n    \
    group = environ['mod_wsgi.process_group']\n    \
    return [('%s|%s|%s' % (environ['SCRIPT_NAME'], text, group)).encode()]\n";

fn serve(dir: &Path, mode: &[&str]) -> Vec<String> {
    let root = dir.join("root");
    let docs = dir.join("htdocs");
    let port = free_port();
    let app = path_str(&dir.join("app.wsgi"));
    let page = path_str(&dir.join("page.py"));
    let (port_s, root_s, docs_s) = (port.to_string(), path_str(&root), path_str(&docs));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(&["--document-root", &docs_s, "--add-handler", ".pyp", &page]);
    args.extend_from_slice(mode);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    let bodies = ["/hello.pyp", "/plain.txt", "/other"]
        .iter()
        .map(|path| {
            let r = get_localhost(port, path);
            assert_eq!(
                r.status_line(),
                "HTTP/1.1 200 OK",
                "{path}: {}",
                server.logs()
            );
            r.text()
        })
        .collect();
    server.interrupt_and_wait();
    bodies
}

#[test]
fn add_handler_serves_matching_files_through_the_script_in_both_modes() {
    apache_and_module();
    let dir = scratch();
    fs::write(dir.path().join("app.wsgi"), APP).unwrap();
    fs::write(dir.path().join("page.py"), PAGE).unwrap();
    fs::create_dir(dir.path().join("htdocs")).unwrap();
    fs::write(dir.path().join("htdocs/hello.pyp"), "hello-file\n").unwrap();
    fs::write(dir.path().join("htdocs/plain.txt"), "plain\n").unwrap();
    open_up(dir.path());
    let daemon = serve(dir.path(), &[]);
    let group = daemon[0].rsplit('|').next().unwrap().to_string();
    assert!(
        group.starts_with("127.0.0.1:"),
        "daemon process group: {daemon:?}"
    );
    assert_eq!(daemon[0], format!("/hello.pyp|hello-file|{group}"));
    assert_eq!(daemon[1..], ["plain\n", "app"]);
    let embedded = serve(dir.path(), &["--embedded-mode"]);
    assert_eq!(embedded, ["/hello.pyp|hello-file|", "plain\n", "app"]);
}

/// Starts express with `extra`, returns the status line and Location of GET /old
/// and the body of GET /other.
fn old_and_other(dir: &Path, extra: &[&str]) -> (String, Option<String>, String) {
    let root = dir.join("root");
    let port = free_port();
    let app = path_str(&dir.join("app.wsgi"));
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir, &root);
    server.wait_listening(port);
    let old = get_localhost(port, "/old");
    let other = get_localhost(port, "/other");
    assert_eq!(other.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    server.interrupt_and_wait();
    let location = old.header("Location").map(str::to_string);
    (old.status_line(), location, other.text())
}

#[test]
fn rewrite_rules_are_included_and_the_default_file_is_kept() {
    apache_and_module();
    let dir = scratch();
    fs::write(dir.path().join("app.wsgi"), APP).unwrap();
    open_up(dir.path());
    let (status, _, other) = old_and_other(dir.path(), &[]);
    assert_eq!(
        (status.as_str(), other.as_str()),
        ("HTTP/1.1 200 OK", "app")
    );
    let default = dir.path().join("root/rewrite.conf");
    assert_eq!(fs::read_to_string(&default).unwrap(), "", "created empty");
    fs::write(&default, "RewriteRule ^/?old$ /new [R=301,L]\n").unwrap();
    let (status, location, other) = old_and_other(dir.path(), &[]);
    assert_eq!(status, "HTTP/1.1 301 Moved Permanently");
    assert!(location.unwrap().ends_with("/new"));
    assert_eq!(other, "app");
    let given = dir.path().join("rules.conf");
    fs::write(&given, "RewriteRule ^/?old$ /elsewhere [R=302,L]\n").unwrap();
    let given_s = path_str(&given);
    let (status, location, _) = old_and_other(dir.path(), &["--rewrite-rules", &given_s]);
    assert_eq!(status, "HTTP/1.1 302 Found");
    assert!(location.unwrap().ends_with("/elsewhere"));
}

#[test]
fn enable_docs_serves_the_documentation() {
    apache_and_module();
    let dir = scratch();
    fs::write(dir.path().join("app.wsgi"), APP).unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let app = path_str(&dir.path().join("app.wsgi"));
    let (port_s, root_s) = (port.to_string(), path_str(&root));
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.push("--enable-docs");
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let page = get_localhost(port, "/__wsgi__/docs/express.md");
    assert_eq!(page.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert!(
        page.header("Content-Type")
            .unwrap()
            .starts_with("text/markdown")
    );
    assert!(page.text().contains("--enable-docs"), "the express page");
    let listing = get_localhost(port, "/__wsgi__/docs/");
    assert_eq!(
        listing.status_line(),
        "HTTP/1.1 200 OK",
        "{}",
        server.logs()
    );
    assert!(listing.text().contains("express.md"), "{}", listing.text());
    assert_eq!(get_localhost(port, "/other").text(), "app");
    server.interrupt_and_wait();
}
