//! The one wrapper every `extern "C"` entry point runs through: it turns a
//! NULL pointer into DECLINED, catches panics (logging the message and where
//! it happened instead of aborting the Apache child), and maps the outcome to
//! an Apache status. A panic during a request becomes a 500; the child lives.

use super::log::{self, Level};
use super::log_ids::{PANIC_CLEANUP, PANIC_REQUEST, PANIC_SERVER};
use super::request::{Request, Server};
use super::sys;
use std::cell::RefCell;
use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that records the message for the entry wrapper,
/// instead of printing a raw backtrace into the error log.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic payload".to_string()
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let text = format!("{msg}{at}");
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

fn take_panic() -> String {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Runs a request hook. `f` returns an Apache status (OK, DECLINED, or an HTTP code).
///
/// # Safety
/// `r` must be NULL or the live request Apache passed to the hook.
pub unsafe fn request_hook<F>(r: *mut sys::request_rec, hook: &str, f: F) -> c_int
where
    F: FnOnce(Request<'_>) -> c_int,
{
    if r.is_null() {
        return sys::DECLINED;
    }
    // SAFETY: Apache hands us a live request for the duration of the hook,
    // on this thread.
    let req = unsafe { Request::from_ptr(r) };
    match catch_unwind(AssertUnwindSafe(|| f(req))) {
        Ok(status) => status,
        Err(_) => {
            // SAFETY: as above; the closure's borrow has ended.
            let req = unsafe { Request::from_ptr(r) };
            log::request(
                Level::Err,
                &req,
                &format!(
                    "{PANIC_REQUEST} internal error (panic) in the {hook} hook: {}; the request \
                     fails with 500 and this process keeps serving",
                    take_panic()
                ),
            );
            sys::HTTP_INTERNAL_SERVER_ERROR as c_int
        }
    }
}

/// Runs a request callback whose result is not an HTTP status (an auth
/// provider's `authn_status`/`authz_status`): a NULL request or a panic
/// (logged) gives `fallback`.
///
/// # Safety
/// `r` must be NULL or the live request Apache passed to the callback.
pub unsafe fn request_call<T, F>(r: *mut sys::request_rec, what: &str, fallback: T, f: F) -> T
where
    F: FnOnce(Request<'_>) -> T,
{
    if r.is_null() {
        return fallback;
    }
    // SAFETY: Apache hands us a live request for the duration of the call,
    // on this thread.
    let req = unsafe { Request::from_ptr(r) };
    match catch_unwind(AssertUnwindSafe(|| f(req))) {
        Ok(v) => v,
        Err(_) => {
            // SAFETY: as above; the closure's borrow has ended.
            let req = unsafe { Request::from_ptr(r) };
            log::request(
                Level::Err,
                &req,
                &format!(
                    "{PANIC_REQUEST} internal error (panic) in {what}: {}; the request \
                     fails and this process keeps serving",
                    take_panic()
                ),
            );
            fallback
        }
    }
}

/// Hands the hook table to the shim (the module record's register_hooks)
/// after installing the panic hook.
///
/// # Safety
/// `p` must be Apache's live pool of register_hooks.
pub unsafe fn register_hooks(p: *mut sys::apr_pool_t, callbacks: &'static super::shim::Callbacks) {
    install_panic_hook();
    // SAFETY: `p` is Apache's live pool; the table is static.
    unsafe { super::shim::wsgi_shim_register_hooks(p, callbacks) };
}

/// [`server_hook`] for a hook that also gets a pool (post_config's pconf,
/// child_init's pchild).
///
/// # Safety
/// As [`server_hook`]; `p` must be a live pool for as long as `f` may keep it
/// (pconf until the next restart, pchild until the child exits).
pub unsafe fn server_pool_hook<F>(
    p: *mut sys::apr_pool_t,
    s: *mut sys::server_rec,
    hook: &str,
    f: F,
) -> c_int
where
    F: FnOnce(super::pool::Pool, Server) -> c_int,
{
    if p.is_null() {
        return sys::DECLINED;
    }
    // SAFETY: the caller's contract.
    let pool = unsafe { super::pool::Pool::from_ptr(p) };
    // SAFETY: the caller's contract.
    unsafe { server_hook(s, hook, |server| f(pool, server)) }
}

/// Runs a server-level hook (post_config, child_init). A panic is logged and
/// reported as `HTTP_INTERNAL_SERVER_ERROR`, which Apache treats as failure.
///
/// # Safety
/// `s` must be NULL or a live server record.
pub unsafe fn server_hook<F>(s: *mut sys::server_rec, hook: &str, f: F) -> c_int
where
    F: FnOnce(Server) -> c_int,
{
    if s.is_null() {
        return sys::DECLINED;
    }
    // SAFETY: Apache hands us its live main server record.
    let server = unsafe { Server::from_ptr(s) };
    match catch_unwind(AssertUnwindSafe(|| f(server))) {
        Ok(status) => status,
        Err(_) => {
            log::server(
                Level::Crit,
                Some(server),
                &format!(
                    "{PANIC_SERVER} internal error (panic) in the {hook} hook: {}",
                    take_panic()
                ),
            );
            sys::HTTP_INTERNAL_SERVER_ERROR as c_int
        }
    }
}

/// Runs code in a context with no status to return (pool cleanups); a
/// panic is logged and swallowed.
pub fn guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        log::server(
            Level::Err,
            None,
            &format!(
                "{PANIC_CLEANUP} internal error (panic) in {what}: {}",
                take_panic()
            ),
        );
    }
}

/// Runs `f`, catching a panic: `Err` carries its message (and where it
/// happened), for callers that log it themselves (a daemon worker thread).
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| take_panic())
}

/// Catches a panic in a configuration callback and turns it into the error
/// string Apache prints for the directive.
pub fn config_hook<F>(f: F) -> Result<(), String>
where
    F: FnOnce() -> Result<(), String>,
{
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(format!("internal error (panic): {}", take_panic())))
}
