//! The Apache hooks: every hook function Apache calls is here, each a
//! one-line hand-off through `apache::entry`, which catches panics and maps
//! the outcome; the configuration callbacks are the generic trampolines of
//! `apache::config` and `apache::directive`, instantiated here and in
//! `lib.rs` for `crate::config`'s types.
//! `post_config` runs in the parent (never touches Python), creates the
//! shared statistics segment (`stats`) and starts the
//! daemon processes of the generation (`daemon::supervisor`), at start-up
//! in `pre_mpm`, once the scoreboard exists; `child_init`
//! closes the daemon sockets in each child, takes its statistics slot,
//! starts Python there and arranges
//! its finalisation at child exit. The auth callbacks (access_checker, the
//! `wsgi` and `wsgi-group` providers) hand off to `crate::auth`.

use crate::apache::entry;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    PYTHON_INITIALISED, PYTHON_START_FAILED, STATS_GROUPS_DROPPED, STATS_NO_SLOT,
    STATS_SEGMENT_FAILED, STATS_SEGMENT_SMALL,
};
use crate::apache::pool::Pool;
use crate::apache::request::Server;
use crate::apache::shim::{AuthnStatus, AuthzStatus};
use crate::apache::{shim, sys};
use crate::config::{self, ServerConfig};
use crate::python::{init, modules};
use std::ffi::{c_char, c_int};

const OK: c_int = sys::OK as c_int;

pub static CALLBACKS: shim::Callbacks = shim::Callbacks {
    directive: crate::apache::directive::entry::<config::directives::Directives>,
    post_config,
    pre_mpm,
    child_init,
    translate_name,
    handler,
    monitor,
    access_checker,
    check_password,
    get_realm_hash,
    check_authorization,
};

/// The module record's register_hooks: hands the Rust entry points to the shim.
pub unsafe extern "C" fn register_hooks(p: *mut sys::apr_pool_t) {
    // SAFETY: `p` is Apache's live pool of register_hooks.
    unsafe { entry::register_hooks(p, &CALLBACKS) };
}

unsafe extern "C" fn post_config(
    pconf: *mut sys::apr_pool_t,
    _plog: *mut sys::apr_pool_t,
    _ptemp: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
) -> c_int {
    // SAFETY: Apache passes its live main server and configuration pool
    // (pconf lives until the next restart clears it).
    unsafe { entry::server_pool_hook(pconf, s, "post_config", post_config_run) }
}

/// post_config in the parent: starts this generation's daemon processes and
/// adds `mod_wsgi-rs/X Python/Y` to the Server header and banner.
fn post_config_run(pconf: Pool, server: Server) -> c_int {
    log::set_main_server(server);
    prepare_stats(server);
    if let Err(e) = crate::daemon::supervisor::start(pconf, server) {
        log::server(Level::Emerg, Some(server), &format!("{} {e}", e.log_id()));
        return sys::HTTP_INTERNAL_SERVER_ERROR as c_int;
    }
    pconf.add_version_component(&format!(
        "mod_wsgi-rs/{} Python/{}",
        env!("CARGO_PKG_VERSION"),
        config::python::BUILD_PYTHON_VERSION
    ));
    OK
}

/// Creates (once) the shared statistics segment and names this
/// configuration's daemon groups in it; problems are logged, never fatal.
fn prepare_stats(server: Server) {
    let mut names = Vec::new();
    let mut daemons = 0usize;
    for (_, cfg) in server.distinct_configs::<ServerConfig>() {
        for g in &cfg.daemon.groups {
            names.push(g.name.clone());
            // A group that keeps a standby has one process more.
            daemons += g.processes as usize + usize::from(config::daemon_graceful::standby(g));
        }
    }
    let children = crate::apache::mpm::hard_limit_processes() as usize;
    let (level, msg) = match crate::stats::prepare(&names, children + daemons) {
        Ok(crate::stats::Prepared::Ready) => return,
        Ok(crate::stats::Prepared::TooSmall { capacity, needed }) => (
            Level::Warning,
            format!(
                "{STATS_SEGMENT_SMALL} the statistics segment has {capacity} process slots, this \
                 configuration may need {needed}: processes beyond them are not counted"
            ),
        ),
        Ok(crate::stats::Prepared::GroupsDropped(groups)) => (
            Level::Warning,
            format!(
                "{STATS_GROUPS_DROPPED} the statistics group table is full: groups {} are not counted",
                groups.join(", ")
            ),
        ),
        Err(e) => (
            Level::Alert,
            format!("{STATS_SEGMENT_FAILED} cannot create the statistics segment: {e}"),
        ),
    };
    log::server(level, Some(server), &msg);
}

/// In an Apache child: takes its statistics slot, given back at exit.
fn claim_stats(pchild: Pool, server: Server) {
    if crate::stats::segment().is_none() {
        return;
    }
    if crate::stats::claim_child(crate::apache::mpm::max_threads() as u32) {
        pchild.on_cleanup(crate::stats::release_self);
    } else {
        log::server(
            Level::Warning,
            Some(server),
            &format!(
                "{STATS_NO_SLOT} Apache child {} found no free statistics slot: it is not counted",
                std::process::id()
            ),
        );
    }
}

unsafe extern "C" fn pre_mpm(_p: *mut sys::apr_pool_t) -> c_int {
    entry::guarded("pre_mpm", crate::daemon::supervisor::start_deferred);
    OK
}

/// monitor in the parent (its maintenance loop, about every 10 s): forks
/// again the daemon slots whose fork failed (`daemon::supervisor::monitor`).
unsafe extern "C" fn monitor(_p: *mut sys::apr_pool_t, s: *mut sys::server_rec) -> c_int {
    // SAFETY: Apache passes its live main server.
    unsafe {
        entry::server_hook(s, "monitor", |_| {
            crate::daemon::supervisor::monitor();
            OK
        })
    }
}

unsafe extern "C" fn child_init(pchild: *mut sys::apr_pool_t, s: *mut sys::server_rec) {
    // SAFETY: Apache passes its live main server; pchild lives until the child exits.
    unsafe { entry::server_pool_hook(pchild, s, "child_init", start_python) };
}

/// Starts Python in this child and schedules its finalisation.
fn start_python(pchild: Pool, server: Server) -> c_int {
    log::set_main_server(server);
    crate::daemon::supervisor::close_listeners_in_child();
    claim_stats(pchild, server);
    let cfg = server.config::<ServerConfig>();
    let settings = cfg.map(|c| c.python.clone()).unwrap_or_default();
    let restricted = cfg.and_then(|c| c.restrict_embedded).unwrap_or(false);
    let server_metrics = cfg.and_then(|c| c.server_metrics).unwrap_or(false);
    crate::python::configure_process(&settings);
    let scripts_here = server
        .distinct_configs::<ServerConfig>()
        .iter()
        .any(|(_, c)| c.python_in_children);
    if restricted
        && !scripts_here
        && !crate::python::preload::any(server)
        && !config::auth::python_required()
    {
        // WSGIRestrictEmbedded On and nothing else (an import, dispatch or auth
        // script) needs Python here.
        return OK;
    }
    let info = modules::ProcessInfo::embedded(server_metrics);
    crate::metrics::init(info.threads_per_process, false);
    match init::initialize(&settings, &info, crate::wsgi::PYTHON_EXTENSION) {
        Ok(()) => {
            log::server(
                Level::Info,
                Some(server),
                &format!(
                    "{PYTHON_INITIALISED} Python {} initialised in process {}",
                    config::python::BUILD_PYTHON_VERSION,
                    std::process::id()
                ),
            );
            if settings.destroy_interpreter() {
                pchild.on_cleanup(|| {
                    entry::guarded("Python finalisation", || {
                        // mod_wsgi's reason in an Apache child is "".
                        crate::python::events::process_stopping("");
                        init::finalize()
                    })
                });
            }
            start_telemetry(pchild, cfg);
            crate::python::preload::run(server);
        }
        Err(e) => log::server(
            Level::Alert,
            Some(server),
            &format!(
                "{PYTHON_START_FAILED} Python could not be started in process {}: {e}",
                std::process::id()
            ),
        ),
    }
    OK
}

/// `WSGITelemetryService`: this Apache child's reporter, stopped with the
/// child (its last interval and `process_stopped` sent).
fn start_telemetry(pchild: Pool, cfg: Option<&ServerConfig>) {
    let Some(telemetry) = cfg.map(|c| &c.telemetry).filter(|t| t.service.is_some()) else {
        return;
    };
    crate::metrics::service::start(telemetry, "");
    pchild.on_cleanup(|| {
        entry::guarded("telemetry stop", || {
            crate::metrics::service::stopping("shutdown_signal");
            crate::metrics::service::stopped("shutdown_signal", true);
        })
    });
}

unsafe extern "C" fn translate_name(r: *mut sys::request_rec) -> c_int {
    // SAFETY: Apache passes the live request of this hook.
    unsafe { entry::request_hook(r, "translate_name", crate::handler::translate_name) }
}

unsafe extern "C" fn handler(r: *mut sys::request_rec) -> c_int {
    // SAFETY: Apache passes the live request of this hook.
    unsafe { entry::request_hook(r, "handler", crate::handler::handler) }
}

unsafe extern "C" fn access_checker(r: *mut sys::request_rec) -> c_int {
    // SAFETY: Apache passes the live request of this hook.
    unsafe { entry::request_hook(r, "access_checker", crate::auth::check_access) }
}

/// The C string `p` as bytes (NULL is empty).
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string live for `'a`.
unsafe fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's contract.
    unsafe { crate::apache::cbytes(p) }.unwrap_or(b"")
}

/// The `wsgi` authn provider's `check_password` (an `authn_status`).
unsafe extern "C" fn check_password(
    r: *mut sys::request_rec,
    user: *const c_char,
    password: *const c_char,
) -> c_int {
    // SAFETY: Apache passes the live request and NUL-terminated strings
    // that outlive this call.
    let (user, password) = unsafe { (c_bytes(user), c_bytes(password)) };
    let error = AuthnStatus::GeneralError as c_int;
    // SAFETY: as above.
    unsafe {
        entry::request_call(r, "the wsgi auth provider", error, |r| {
            crate::auth::password_check(r, user, password) as c_int
        })
    }
}

/// The `wsgi` authn provider's `get_realm_hash`: the hash, a copy in the
/// request pool, goes to `*rethash`.
unsafe extern "C" fn get_realm_hash(
    r: *mut sys::request_rec,
    user: *const c_char,
    realm: *const c_char,
    rethash: *mut *mut c_char,
) -> c_int {
    // SAFETY: as `check_password`.
    let (user, realm) = unsafe { (c_bytes(user), c_bytes(realm)) };
    let error = AuthnStatus::GeneralError as c_int;
    // SAFETY: as above; `rethash` is mod_auth_digest's out pointer.
    unsafe {
        entry::request_call(r, "the wsgi auth provider", error, |r| {
            let (status, hash) = crate::auth::realm_hash(&r, user, realm);
            if let Some(hash) = hash
                && !rethash.is_null()
            {
                *rethash = r.pool().strdup_bytes(&hash) as *mut c_char;
            }
            status as c_int
        })
    }
}

/// The `wsgi-group` authz provider's `check_authorization` (an `authz_status`).
unsafe extern "C" fn check_authorization(
    r: *mut sys::request_rec,
    require_args: *const c_char,
) -> c_int {
    // SAFETY: Apache passes the live request and its Require line's arguments.
    let args = String::from_utf8_lossy(unsafe { c_bytes(require_args) }).into_owned();
    let denied = AuthzStatus::Denied as c_int;
    // SAFETY: as above.
    unsafe {
        entry::request_call(r, "the wsgi-group authz provider", denied, |r| {
            crate::auth::authorize(&r, &args) as c_int
        })
    }
}
