//! Embedded mode: `WSGIScriptAlias` URL mapping (translate_name) and the
//! `wsgi-script` handler that runs the application inside the Apache child.
//! The handler resolves the groups and callable, checks the request (ExecCGI,
//! script file, transfer coding, body limit), collects the environ without
//! the GIL, then enters the group's interpreter and runs the WSGI core with
//! an [`host::ApacheHost`].

mod buffers;
pub mod cgi;
pub mod dispatch;
pub mod group;
pub mod host;
pub mod monitoring;
pub mod proxy;
pub mod relay;

use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    BAD_CONTENT_LENGTH, BODY_TOO_LARGE, CHUNKED_NOT_ENABLED, CHUNKED_WITH_LENGTH, DIRECTORY_AS_APP,
    EMBEDDED_RESTRICTED, EXEC_CGI_OFF, PATH_INFO_REFUSED, PROCESS_NOT_ALLOWED,
    PYTHON_NOT_INITIALISED, SCRIPT_NOT_FOUND, TRANSFER_ENCODING_UNSUPPORTED,
};
use crate::apache::request::Request;
use crate::apache::sys;
use crate::config::{DirConfig, HandlerScript, HeadMode, ServerConfig};
use crate::python::init;
use crate::wsgi::{Outcome, environ, request};
use std::ffi::c_int;

const OK: c_int = sys::OK as c_int;
const DECLINED: c_int = sys::DECLINED;
const SERVER_ERROR: c_int = sys::HTTP_INTERNAL_SERVER_ERROR as c_int;

/// translate_name: maps a URL under a `WSGIScriptAlias` to its script and
/// marks the request for the `wsgi-script` handler.
pub fn translate_name(mut r: Request<'_>) -> c_int {
    let Some(cfg) = r.server().config::<ServerConfig>() else {
        return DECLINED;
    };
    let uri = r.uri_bytes();
    if cfg.aliases.is_empty() || (!uri.is_empty() && uri[0] != b'/') {
        return DECLINED;
    }
    for alias in &cfg.aliases {
        let Some(filename) = alias.map(uri) else {
            continue;
        };
        r.set_filename_bytes(&filename);
        r.set_handler("wsgi-script");
        let notes = r.notes();
        notes.set("alias-forced-type", "wsgi-script");
        if let Some(v) = &alias.process_group {
            notes.set("mod_wsgi.process_group", v);
        }
        if let Some(v) = &alias.application_group {
            notes.set("mod_wsgi.application_group", v);
        }
        if let Some(v) = &alias.callable_object {
            notes.set("mod_wsgi.callable_object", v);
        }
        if let Some(v) = alias.pass_authorization {
            notes.set("mod_wsgi.pass_authorization", if v { "1" } else { "0" });
        }
        return OK;
    }
    DECLINED
}

fn fail(r: &Request<'_>, status: u32, msg: &str) -> c_int {
    log::request(Level::Err, r, msg);
    status as c_int
}

/// What a handler name resolved to.
enum Kind<'a> {
    /// `wsgi-script`/`application/x-httpd-wsgi`: the target is the script.
    Script { aliased: bool },
    /// A `WSGIHandlerScript` name: its `handle_request` serves the target.
    Handler(&'a HandlerScript),
}

/// The content handler for `wsgi-script`, `application/x-httpd-wsgi`, the
/// names registered by `WSGIHandlerScript`, and the `wsgi-metrics` and
/// `wsgi-health` endpoints (`monitoring`).
pub fn handler(mut r: Request<'_>) -> c_int {
    if let Some(status) = monitoring::handle(&mut r) {
        return status;
    }
    let default_dir = DirConfig::default();
    let dir = r.dir_config::<DirConfig>().unwrap_or(&default_dir);
    let Some(kind) = kind(&r, dir) else {
        return DECLINED;
    };
    fault_injection(&r);
    let filename = String::from_utf8_lossy(r.filename().unwrap_or(b"")).into_owned();
    if let Kind::Script { aliased } = kind
        && let Some(status) = check_script(&r, aliased, &filename)
    {
        return status;
    }
    let mut groups = Groups::resolve(&r, &kind, dir);
    if let Some(status) = check_request(&r, dir) {
        return status;
    }
    if let Some(ds) = &dir.dispatch_script {
        let env = cgi::collect(&r, &groups.resolved(&kind, dir));
        match dispatch::run(&r, ds, dir, env) {
            Ok(chosen) => groups.choose(chosen),
            Err(status) => return status,
        }
    }
    if let Some(status) = check_restrict(&r, dir, &groups.process) {
        return status;
    }
    let resolved = groups.resolved(&kind, dir);
    if !groups.process.is_empty() {
        let mut env = cgi::collect(&r, &resolved);
        env.set(
            "mod_wsgi.script_reloading",
            if dir.script_reloading() { "1" } else { "0" },
        );
        if dir.ignore_activity == Some(true) {
            env.set(crate::proto::IGNORE_ACTIVITY_KEY, "1");
        }
        return relay::handle(r, &groups.process, &groups.application, &env, dir);
    }
    if let Some(status) = check_embedded(&r) {
        return status;
    }
    let mut env = cgi::collect(&r, &resolved);
    if dir.pass_apache_request == Some(true) {
        env.request_rec = Some(r.as_ptr() as usize);
    }
    let reload = dir.script_reloading();
    let (script, reload_mtime) = match kind {
        Kind::Script { .. } => (
            filename.as_str(),
            reload.then(|| r.file_mtime() as f64 / 1e6),
        ),
        Kind::Handler(h) => (
            h.script.as_str(),
            reload.then(|| file_mtime(&h.script)).flatten(),
        ),
    };
    let target = request::Target {
        script,
        callable: &groups.callable,
        application_group: &groups.application,
        reload_mtime,
        resource: reload.then_some(filename.as_str()),
    };
    run(r, &target, env, dir.enable_sendfile.unwrap_or(false))
}

/// What the request's handler name asks for (None: not ours).
fn kind<'d>(r: &Request<'_>, dir: &'d DirConfig) -> Option<Kind<'d>> {
    let handler = r.handler()?;
    if handler == "wsgi-script" || handler == "application/x-httpd-wsgi" {
        return Some(Kind::Script {
            aliased: r
                .notes()
                .get("alias-forced-type")
                .is_some_and(|t| t.eq_ignore_ascii_case(b"wsgi-script")),
        });
    }
    dir.handler_scripts
        .iter()
        .find(|h| h.name == handler)
        .map(Kind::Handler)
}

/// A script target must be allowed to run (ExecCGI unless aliased), exist
/// and not be a directory.
fn check_script(r: &Request<'_>, aliased: bool, filename: &str) -> Option<c_int> {
    if !aliased && !r.allows_exec_cgi() {
        return Some(fail(
            r,
            sys::HTTP_FORBIDDEN,
            &format!("{EXEC_CGI_OFF} Options ExecCGI is off in this directory."),
        ));
    }
    match r.file_type() {
        0 => Some(fail(
            r,
            sys::HTTP_NOT_FOUND,
            &format!(
                "{SCRIPT_NOT_FOUND} Target WSGI script not found or unable to stat: {filename}"
            ),
        )),
        t if t == sys::APR_DIR => Some(fail(
            r,
            sys::HTTP_FORBIDDEN,
            &format!(
                "{DIRECTORY_AS_APP} Attempt to invoke directory as WSGI application: {filename}"
            ),
        )),
        _ => None,
    }
}

/// The request's groups and callable, expanded for this request.
struct Groups {
    process: String,
    application: String,
    callable: String,
    pass_authorization: bool,
}

impl Groups {
    /// From the alias's notes (aliased scripts), the handler script's
    /// options or the directory's directives, in that order.
    fn resolve(r: &Request<'_>, kind: &Kind<'_>, dir: &DirConfig) -> Groups {
        let notes = r.notes();
        let aliased = matches!(kind, Kind::Script { aliased: true });
        let note = |k: &str| if aliased { notes.get_str(k) } else { None };
        let (pg, ag, co, pass_auth) = match kind {
            Kind::Script { .. } => (
                note("mod_wsgi.process_group").or_else(|| dir.process_group.clone()),
                note("mod_wsgi.application_group").or_else(|| dir.application_group.clone()),
                note("mod_wsgi.callable_object").or_else(|| dir.callable_object.clone()),
                match note("mod_wsgi.pass_authorization") {
                    Some(v) => v == "1",
                    None => dir.pass_authorization.unwrap_or(false),
                },
            ),
            Kind::Handler(h) => (
                h.process_group
                    .clone()
                    .or_else(|| dir.process_group.clone()),
                h.application_group
                    .clone()
                    .or_else(|| dir.application_group.clone()),
                Some("handle_request".to_string()),
                h.pass_authorization
                    .or(dir.pass_authorization)
                    .unwrap_or(false),
            ),
        };
        Groups {
            process: group::process_group(r, pg.as_deref()),
            application: group::application_group(r, ag.as_deref()),
            callable: group::callable_object(r, co.as_deref()),
            pass_authorization: pass_auth,
        }
    }

    /// What a `WSGIDispatchScript` chose replaces the configured values.
    fn choose(&mut self, chosen: dispatch::Chosen) {
        if let Some(v) = chosen.process_group {
            self.process = v;
        }
        if let Some(v) = chosen.application_group {
            self.application = v;
        }
        if let Some(v) = chosen.callable_object {
            self.callable = v;
        }
    }

    /// The facts the environ is built from.
    fn resolved<'a>(&'a self, kind: &Kind<'a>, dir: &'a DirConfig) -> cgi::Resolved<'a> {
        cgi::Resolved {
            process_group: &self.process,
            application_group: &self.application,
            callable_object: &self.callable,
            pass_authorization: self.pass_authorization,
            map_head_to_get: match dir.map_head_to_get.unwrap_or(HeadMode::Auto) {
                HeadMode::On => Some(true),
                HeadMode::Off => Some(false),
                HeadMode::Auto => None,
            },
            handler_script: match kind {
                Kind::Handler(h) => h.script.as_str(),
                Kind::Script { .. } => "",
            },
            trusted_proxy_headers: dir.trusted_proxy_headers.as_deref(),
            trusted_proxies: dir.trusted_proxies.as_deref(),
        }
    }
}

/// Path info and the request body, before anything runs.
fn check_request(r: &Request<'_>, dir: &DirConfig) -> Option<c_int> {
    if r.used_path_info() == sys::AP_REQ_REJECT_PATH_INFO as i32
        && r.path_info().is_some_and(|p| !p.is_empty())
    {
        return Some(fail(
            r,
            sys::HTTP_NOT_FOUND,
            &format!("{PATH_INFO_REFUSED} AcceptPathInfo off disallows user's path."),
        ));
    }
    check_body(r, dir.chunked_request.unwrap_or(false))
}

/// `WSGIRestrictProcess`, once the process group is final (after any
/// dispatch script), as mod_wsgi.
fn check_restrict(r: &Request<'_>, dir: &DirConfig, process_group: &str) -> Option<c_int> {
    if crate::config::daemon::allowed(dir.restrict_process.as_deref(), process_group) {
        return None;
    }
    Some(fail(
        r,
        sys::HTTP_INTERNAL_SERVER_ERROR,
        &format!(
            "{PROCESS_NOT_ALLOWED} Daemon process called '{process_group}' cannot be accessed by this \
             WSGI application as not a member of allowed groups (WSGIRestrictProcess)."
        ),
    ))
}

/// Embedded mode must be allowed and Python running in this process.
fn check_embedded(r: &Request<'_>) -> Option<c_int> {
    let restricted = r
        .server()
        .config::<ServerConfig>()
        .and_then(|c| c.restrict_embedded)
        .unwrap_or(false);
    if restricted {
        return Some(fail(
            r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!(
                "{EMBEDDED_RESTRICTED} Embedded mode of mod_wsgi disabled by runtime configuration \
             (WSGIRestrictEmbedded On)."
            ),
        ));
    }
    if !init::is_initialized() {
        return Some(fail(
            r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!(
                "{PYTHON_NOT_INITIALISED} Embedded mode cannot be used as Python was not initialised in this \
             process (see the start-up errors above)."
            ),
        ));
    }
    None
}

/// A file's modification time in seconds, at APR's microsecond precision
/// (so it compares equal to `request_rec.finfo.mtime / 1e6`).
fn file_mtime(path: &str) -> Option<f64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    let us = m.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros();
    Some(us as f64 / 1e6)
}

/// Debug builds only: `SetEnv MOD_WSGI_RS_TEST_PANIC handler` makes the
/// handler panic, so tests can prove a panic becomes a 500 and the child
/// keeps serving. Compiled out of release builds.
fn fault_injection(r: &Request<'_>) {
    if cfg!(debug_assertions)
        && r.subprocess_env().get("MOD_WSGI_RS_TEST_PANIC") == Some(b"handler".as_slice())
    {
        panic!("fault injected by MOD_WSGI_RS_TEST_PANIC");
    }
}

/// Rejects bodies mod_wsgi rejects before running anything.
fn check_body(r: &Request<'_>, chunked_ok: bool) -> Option<c_int> {
    let headers = r.headers_in();
    let chunked = headers.get("Transfer-Encoding").is_some();
    if let Some(te) = headers.get("Transfer-Encoding") {
        if !te.eq_ignore_ascii_case(b"chunked") {
            return Some(fail(
                r,
                sys::HTTP_NOT_IMPLEMENTED,
                &format!(
                    "{TRANSFER_ENCODING_UNSUPPORTED} Unexpected value for Transfer-Encoding of '{}' supplied. Only 'chunked' supported.",
                    String::from_utf8_lossy(te)
                ),
            ));
        }
        if !chunked_ok {
            return Some(fail(
                r,
                sys::HTTP_LENGTH_REQUIRED,
                &format!(
                    "{CHUNKED_NOT_ENABLED} Request requires chunked transfer encoding, but support for \
                 chunked transfer encoding has not been enabled (WSGIChunkedRequest On)."
                ),
            ));
        }
        if headers.get("Content-Length").is_some() {
            return Some(fail(
                r,
                sys::HTTP_BAD_REQUEST,
                &format!(
                    "{CHUNKED_WITH_LENGTH} Unexpected Content-Length header supplied where \
                 Transfer-Encoding was specified as 'chunked'."
                ),
            ));
        }
    }
    if let Some(cl) = headers.get("Content-Length") {
        let Some(len) = std::str::from_utf8(cl)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
        else {
            return Some(fail(
                r,
                sys::HTTP_BAD_REQUEST,
                &format!(
                    "{BAD_CONTENT_LENGTH} Invalid Content-Length header value of '{}' was supplied.",
                    String::from_utf8_lossy(cl)
                ),
            ));
        };
        let limit = r.limit_req_body();
        if limit > 0 && len > limit {
            return Some(fail(
                r,
                sys::HTTP_REQUEST_ENTITY_TOO_LARGE,
                &format!(
                    "{BODY_TOO_LARGE} Request body of {len} bytes exceeds LimitRequestBody {limit}."
                ),
            ));
        }
    }
    // Sets up Apache's body reading for `ap_get_client_block`.
    let rv = r.setup_client_block(chunked);
    (rv != 0).then_some(rv)
}

fn run(
    r: Request<'_>,
    target: &request::Target<'_>,
    env: environ::EnvironData,
    sendfile: bool,
) -> c_int {
    // SAFETY: the request outlives the exchange, which `request::run` expires
    // before returning.
    let host = host::ApacheHost::new(unsafe { r.unbounded() }).with_sendfile(sendfile);
    let started = std::time::Instant::now();
    let queue_us = crate::stats::now_us().saturating_sub(r.request_time().max(0) as u64);
    crate::stats::request_began();
    let rv = match request::run(target, &env, Box::new(host)) {
        request::Ended::Responded(Outcome::Completed | Outcome::FailedAfterHead) => OK,
        request::Ended::Responded(Outcome::TimedOut) => sys::HTTP_GATEWAY_TIME_OUT as c_int,
        request::Ended::Responded(Outcome::FailedBeforeHead) | request::Ended::NotRun => {
            SERVER_ERROR
        }
    };
    crate::stats::request_ended();
    let status = if rv == OK { r.status() } else { rv as u16 };
    crate::stats::record(status, started.elapsed().as_micros() as u64, queue_us);
    rv
}
