//! The CGI variables of an embedded request, built from `request_rec` the way
//! mod_wsgi 6 builds them itself (it no longer calls `ap_add_cgi_vars`):
//! `SetEnv`/`PassEnv`/mod_ssl variables first, then the request's own
//! variables, `HTTP_*` for headers whose names are letters, digits and
//! hyphens (others are dropped, so `X_Foo` cannot spoof `X-Foo`), and the
//! `mod_wsgi.*` keys. `HTTPS` decides `wsgi.url_scheme` and is removed.

use super::group;
use crate::apache::request::{Request, server_banner};
use crate::apache::{mpm, sys};
use crate::wsgi::environ::EnvironData;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-request facts resolved by the handler.
pub struct Resolved<'a> {
    pub process_group: &'a str,
    pub application_group: &'a str,
    pub callable_object: &'a str,
    pub pass_authorization: bool,
    /// `WSGIMapHEADToGET`: Some(true) On, Some(false) Off, None Auto.
    pub map_head_to_get: Option<bool>,
    /// `WSGIHandlerScript` file, "" when none.
    pub handler_script: &'a str,
    pub trusted_proxy_headers: Option<&'a [String]>,
    pub trusted_proxies: Option<&'a [crate::config::trusted_proxies::Subnet]>,
}

/// `HTTP_NAME` for header `name` (letters, digits and hyphens only), built
/// in `buf` (reused across the headers of a request).
fn header_to_cgi<'b>(name: &[u8], buf: &'b mut String) -> Option<&'b str> {
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return None;
    }
    buf.clear();
    buf.push_str("HTTP_");
    buf.extend(name.iter().map(|&b| {
        if b == b'-' {
            '_'
        } else {
            b.to_ascii_uppercase() as char
        }
    }));
    Some(buf)
}

static NEXT_THREAD_ID: AtomicU64 = AtomicU64::new(1);
thread_local! {
    static THREAD_ID: u64 = NEXT_THREAD_ID.fetch_add(1, Ordering::Relaxed);
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Collects the environ data of request `r`.
pub fn collect(r: &Request<'_>, res: &Resolved<'_>) -> EnvironData {
    let mut env = EnvironData::new();
    for (k, v) in r.subprocess_env().entries() {
        env.set(&String::from_utf8_lossy(k), v);
    }
    add_headers(&mut env, r, res.pass_authorization);
    add_server(&mut env, r);
    add_request(&mut env, r, res.map_head_to_get);
    let scheme_from_proxy = match res.trusted_proxy_headers {
        Some(h) => super::proxy::apply(&mut env, h, res.trusted_proxies),
        None => false,
    };
    // mod_wsgi: HTTPS "On" (any case) or "1" means https; the variable is
    // then removed, also when SetEnv put it there.
    let https = env
        .remove("HTTPS")
        .map(|v| v.eq_ignore_ascii_case(b"on") || v == b"1")
        .unwrap_or(false);
    env.url_scheme = if https || (!scheme_from_proxy && r.scheme() == "https") {
        "https"
    } else {
        "http"
    }
    .to_string();
    // As mod_wsgi: from the MPM's limits, so `ThreadsPerChild 1` or
    // `ServerLimit 1` (one process) say False.
    env.multithread = mpm::is_threaded() && mpm::max_threads() != 1;
    env.multiprocess = mpm::is_forked() && mpm::max_processes() != 1;
    env.run_once = false;
    add_mod_wsgi(&mut env, r, res);
    env
}

/// The variables of an auth script's environ (`WSGIAccessScript`,
/// `WSGIAuthUserScript`, `WSGIAuthGroupScript`): mod_wsgi's `Auth_environ`
/// has the headers (never `Authorization`), the server, connection and
/// request variables and `mod_wsgi.process_group` (always "": the scripts
/// run in the Apache child) and `mod_wsgi.application_group`, but none of
/// `SetEnv`'s variables and no `wsgi.*` keys but `wsgi.errors`.
pub fn collect_auth(r: &Request<'_>, application_group: &str) -> EnvironData {
    let mut env = EnvironData::new();
    add_headers(&mut env, r, false);
    add_server(&mut env, r);
    add_request(&mut env, r, Some(false));
    env.set("mod_wsgi.process_group", "");
    env.set("mod_wsgi.application_group", application_group);
    env
}

/// `HTTP_*`, `CONTENT_TYPE` and `CONTENT_LENGTH` from the request headers.
fn add_headers(env: &mut EnvironData, r: &Request<'_>, pass_authorization: bool) {
    // Keys set from headers so far, as "\0KEY\0KEY\0", to join repeats.
    let mut seen = Vec::from(&b"\0"[..]);
    let mut key_buf = String::new();
    for (k, v) in r.headers_in().entries() {
        let key = if k.eq_ignore_ascii_case(b"content-type") {
            "CONTENT_TYPE"
        } else if k.eq_ignore_ascii_case(b"content-length") {
            "CONTENT_LENGTH"
        } else if (k.eq_ignore_ascii_case(b"authorization") && !pass_authorization)
            || k.eq_ignore_ascii_case(b"proxy-authorization")
            // Never HTTP_PROXY (httpoxy, CVE-2016-5388).
            || k.eq_ignore_ascii_case(b"proxy")
        {
            continue;
        } else {
            match header_to_cgi(k, &mut key_buf) {
                Some(key) => key,
                None => continue,
            }
        };
        let repeat = seen.len() > key.len() + 1
            && memchr::memmem::find_iter(&seen, key.as_bytes())
                .any(|i| seen[i - 1] == 0 && seen.get(i + key.len()) == Some(&0));
        match env.get(key) {
            // Apache merges repeated headers already; join any that remain.
            Some(old) if repeat => {
                let mut joined = old.to_vec();
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(v);
                env.set(key, joined);
            }
            _ => {
                seen.extend_from_slice(key.as_bytes());
                seen.push(0);
                env.set(key, v);
            }
        }
    }
}

/// The server and connection variables (`SERVER_*`, `REMOTE_*`, roots).
fn add_server(env: &mut EnvironData, r: &Request<'_>) {
    env.set("SERVER_SOFTWARE", server_banner().as_bytes());
    // IPv6 literals bracketed.
    env.set("SERVER_NAME", r.server_name_for_url().unwrap_or(b""));
    if let Some(ip) = r.local_ip() {
        env.set("SERVER_ADDR", ip);
    }
    let mut num = itoa::Buffer::new();
    env.set("SERVER_PORT", num.format(r.server_port()));
    if let Some(ip) = r.useragent_ip() {
        env.set("REMOTE_ADDR", ip);
    }
    if let Some(port) = r.remote_port() {
        env.set("REMOTE_PORT", num.format(port));
    }
    env.set("DOCUMENT_ROOT", r.document_root().as_bytes());
    env.set("REQUEST_SCHEME", r.scheme().as_bytes());
    env.set("CONTEXT_PREFIX", r.context_prefix().as_bytes());
    env.set(
        "CONTEXT_DOCUMENT_ROOT",
        r.context_document_root().as_bytes(),
    );
    env.set("SERVER_ADMIN", r.server().admin().as_bytes());
    if let Some(f) = r.filename() {
        env.set("SCRIPT_FILENAME", f);
    }
}

/// The request's own variables: user, method, URI, SCRIPT_NAME and PATH_INFO.
fn add_request(env: &mut EnvironData, r: &Request<'_>, map_head_to_get: Option<bool>) {
    if let Some(u) = r.user() {
        env.set("REMOTE_USER", u);
    } else {
        let mut back = r.prev();
        while let Some(p) = back {
            if let Some(u) = p.user() {
                env.set("REDIRECT_REMOTE_USER", u);
                break;
            }
            back = p.prev();
        }
    }
    if let Some(a) = r.auth_type() {
        env.set("AUTH_TYPE", a);
    }
    env.set("SERVER_PROTOCOL", r.protocol().unwrap_or(b"HTTP/1.0"));
    if let Some(prev) = r.prev() {
        env.set("REDIRECT_URL", prev.uri_bytes());
        if let Some(a) = prev.args() {
            env.set("REDIRECT_QUERY_STRING", a);
        }
    }
    // WSGIMapHEADToGET: a HEAD request has method_number M_GET.
    let is_get = r.method_number() == sys::M_GET as i32;
    let as_get = match map_head_to_get {
        Some(true) => is_get,
        Some(false) => false,
        None => is_get && r.header_only() && r.has_content_filter(),
    };
    let method = if as_get {
        b"GET".as_slice()
    } else {
        r.method().unwrap_or(b"GET")
    };
    env.set("REQUEST_METHOD", method);
    env.set("QUERY_STRING", r.args().unwrap_or(b""));
    env.set("REQUEST_URI", r.original_uri());
    let script_name = group::script_name(r);
    let path_info = group::no2slash(r.path_info().unwrap_or(b""));
    env.set("SCRIPT_NAME", &script_name);
    env.set("PATH_INFO", &path_info);
    // Before any proxy rewrite of SCRIPT_NAME, as mod_wsgi records them.
    env.set("mod_wsgi.script_name", &script_name);
    env.set("mod_wsgi.path_info", &path_info);
}

/// The `mod_wsgi.*` keys.
fn add_mod_wsgi(env: &mut EnvironData, r: &Request<'_>, res: &Resolved<'_>) {
    env.set("mod_wsgi.process_group", res.process_group);
    env.set("mod_wsgi.application_group", res.application_group);
    env.set("mod_wsgi.callable_object", res.callable_object);
    env.set(
        "mod_wsgi.request_handler",
        r.handler().unwrap_or_default().as_bytes(),
    );
    env.set("mod_wsgi.handler_script", res.handler_script);
    let mut num = itoa::Buffer::new();
    if let Some((host, port)) = r.listener() {
        env.set("mod_wsgi.listener_host", host);
        env.set("mod_wsgi.listener_port", num.format(port));
    }
    env.set("mod_wsgi.server_pid", num.format(std::process::id()));
    if let Some(id) = r.ensure_log_id() {
        env.set("mod_wsgi.request_id", id);
    }
    if let Some(id) = r.connection_log_id() {
        env.set("mod_wsgi.connection_id", id);
    }
    env.ints = vec![("mod_wsgi.thread_id", THREAD_ID.with(|t| *t) as i64)];
    env.times = vec![
        ("mod_wsgi.request_start", r.request_time() as f64 / 1e6),
        ("mod_wsgi.queue_start", 0.0),
        ("mod_wsgi.daemon_start", 0.0),
        ("mod_wsgi.application_start", now_seconds()),
    ];
}

#[cfg(test)]
mod tests {
    use super::header_to_cgi;

    #[test]
    fn header_names() {
        let mut b = String::new();
        assert_eq!(
            header_to_cgi(b"X-Forwarded-For", &mut b),
            Some("HTTP_X_FORWARDED_FOR")
        );
        assert_eq!(header_to_cgi(b"accept", &mut b), Some("HTTP_ACCEPT"));
        assert_eq!(header_to_cgi(b"X_Spoof", &mut b), None);
        assert_eq!(header_to_cgi(b"Bad Header", &mut b), None);
    }
}
