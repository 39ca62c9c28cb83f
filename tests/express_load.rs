//! Sizing under load: `mod_wsgi-express start-server` with default options (only host,
//! port and server root given) and the module under test must serve 64 concurrent
//! keep-alive connections, each sending 25 requests to an application that takes 20 ms,
//! with zero failed requests (no reset, no early close, no non-200), and Apache logs no
//! "server reached MaxRequestWorkers" (AH00484) or scoreboard-full (AH03490) message.
//! In daemon mode (the default) the requests queue for the daemon's 5 threads, which
//! are all busy at once and never exceeded; with `--embedded-mode` the application
//! really runs many requests at once (far above the original's default of 5 threads).

mod common;

use common::*;
use std::time::Duration;

const CLIENTS: usize = 64;
const REQUESTS: usize = 25;

const SLOW_APP: &str = r#"
import threading, time

_lock = threading.Lock()
_state = {"now": 0, "max": 0, "served": 0}

def application(environ, start_response):
    if environ["PATH_INFO"] == "/stats":
        with _lock:
            body = "%(max)d %(served)d" % _state
        body = body.encode()
    else:
        with _lock:
            _state["now"] += 1
            _state["max"] = max(_state["max"], _state["now"])
        try:
            time.sleep(0.02)
        finally:
            with _lock:
                _state["now"] -= 1
                _state["served"] += 1
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
"#;

/// One keep-alive request; any I/O problem or malformed response is an error, and so
/// is a response without Content-Length. Returns `status line|body`.
fn try_request(conn: &mut Conn, close: bool) -> Result<String, String> {
    let mut req = localhost_get("/work");
    if close {
        req = req.header("Connection", "close");
    }
    let r = conn.send(&req).map_err(|e| format!("request: {e}"))?;
    if r.header("Content-Length").is_none() {
        return Err(format!("no Content-Length: {}", r.status_line()));
    }
    Ok(format!("{}|{}", r.status_line(), r.text()))
}

#[test]
fn default_options_serve_64_keep_alive_clients_without_a_failure() {
    let max = serve_64_clients(&[]);
    assert_eq!(
        max, 5,
        "the daemon's 5 threads must all be used, and never more"
    );
}

#[test]
fn embedded_mode_serves_64_keep_alive_clients_without_a_failure() {
    let max = serve_64_clients(&["--embedded-mode"]);
    assert!(
        max >= 16,
        "only {max} requests ran at once: the load did not exercise the sizing"
    );
}

/// Runs the load against a server started with `extra` options; returns how many
/// requests the application ran at once at most.
fn serve_64_clients(extra: &[&str]) -> usize {
    apache_and_module();
    let dir = scratch();
    std::fs::write(dir.path().join("app.wsgi"), SLOW_APP).unwrap();
    open_up(dir.path());
    let root = dir.path().join("root");
    let port = free_port();
    let app = path_str(&dir.path().join("app.wsgi"));
    let port_s = port.to_string();
    let root_s = path_str(&root);
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(EXPRESS_EXE, &args, &[], dir.path(), &root);
    server.wait_listening(port);
    let summary = std::fs::read_to_string(&server.output).unwrap();
    assert!(
        summary.contains(&format!(
            "WSGI Module        : {}",
            module_under_test().display()
        )),
        "not the module under test:\n{summary}"
    );

    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || -> Vec<String> {
                let mut errors = Vec::new();
                let client = Client {
                    timeout: Duration::from_secs(60),
                    ..Client::new(port)
                };
                let mut conn = match client.keep_alive() {
                    Ok(c) => c,
                    Err(e) => return vec![format!("connect: {e}")],
                };
                barrier.wait();
                for i in 0..REQUESTS {
                    match try_request(&mut conn, i + 1 == REQUESTS) {
                        Ok(r) if r == "HTTP/1.1 200 OK|ok" => {}
                        Ok(r) => errors.push(format!("request {i}: {r}")),
                        Err(e) => {
                            errors.push(format!("request {i}: {e}"));
                            break;
                        }
                    }
                }
                errors
            })
        })
        .collect();
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client thread panicked"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed request(s), first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    let stats = get_localhost(port, "/stats").text();
    let (max, served) = stats.split_once(' ').unwrap();
    let (max, served): (usize, usize) = (max.parse().unwrap(), served.parse().unwrap());
    assert_eq!(
        served,
        CLIENTS * REQUESTS,
        "every request reached the app once"
    );
    server.interrupt_and_wait();
    let log = std::fs::read_to_string(root.join("error_log")).unwrap();
    for bad in ["AH00484", "AH03490", "emerg", "alert", "crit"] {
        assert!(!log.contains(bad), "{bad} in error_log:\n{log}");
    }
    max
}
