//! Logging into Apache's error log through the shim's `APLOG_USE_MODULE(wsgi)`
//! wrappers, so `LogLevel wsgi:debug` works and lines are tagged `[wsgi:...]`.
//! Callable from any thread; it does not touch Python, so callers that hold
//! the GIL should release it first when the line may block (Python's
//! `wsgi.errors` does).

use super::pool::Pool;
use super::request::{Request, Server};
use super::shim;
use std::ffi::CString;
use std::panic::Location;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Apache log levels (`APLOG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// The main server of this process's current configuration generation, or
/// NULL. A `server_rec` lives in the configuration pool (`pconf`) and so for
/// one generation: in the parent a restart clears `pconf` and reads the
/// configuration anew into new records; children and daemon processes keep
/// the generation they were forked in for their whole life (they never
/// clear `pconf`). So the pointer is set per generation ([`set_main_server`]
/// from `post_config`, and again from `child_init`) and reset to NULL by a
/// cleanup on that pool, before its memory goes: it is never stale.
static MAIN_SERVER: AtomicPtr<super::sys::server_rec> = AtomicPtr::new(std::ptr::null_mut());

/// Records `s`, the main server of the current configuration generation, for
/// log lines that have no server or request (Python's `sys.stderr`,
/// start-up messages in a child, the daemon supervisor in the parent) until
/// the generation's configuration pool is cleared.
pub fn set_main_server(s: Server) {
    let p = s.as_ptr();
    if MAIN_SERVER.swap(p, Ordering::AcqRel) == p {
        // Already recorded for this generation (post_config, then
        // child_init in the forked child): its cleanup is registered.
        return;
    }
    // SAFETY: `s` is a live server_rec (Server::from_ptr's contract); its
    // process record and configuration pool outlive it.
    let pconf = unsafe { (*(*p).process).pconf };
    // SAFETY: the live pool every server_rec of this generation is allocated
    // from; the cleanup runs when that pool is cleared or destroyed, before
    // its memory is reused.
    unsafe { Pool::from_ptr(pconf) }.on_cleanup(forget_main_server);
}

/// The configuration pool is going: the server records in it with it. (One
/// configuration pool per process, so whatever is recorded lives in it.)
fn forget_main_server() {
    MAIN_SERVER.store(std::ptr::null_mut(), Ordering::Release);
}

/// The main server recorded by [`set_main_server`] for the current
/// generation, if any. Use it at once rather than keeping it: it is valid
/// until the configuration pool is next cleared (a restart, in the parent).
pub fn main_server() -> Option<Server> {
    let p = MAIN_SERVER.load(Ordering::Acquire);
    // SAFETY: MAIN_SERVER holds NULL or the main server of the current
    // generation, reset to NULL when that generation's pool is cleared.
    (!p.is_null()).then(|| unsafe { Server::from_ptr(p) })
}

/// In a daemon process whose group a virtual host defines: that host's record,
/// whose `ErrorLog` the process's server-level lines go to, as mod_wsgi's
/// daemon processes log through their group's server. Set once after the
/// fork; a daemon process keeps its configuration generation for life.
static PROCESS_SERVER: AtomicPtr<super::sys::server_rec> = AtomicPtr::new(std::ptr::null_mut());

/// Records `s` as the server this process logs server-level lines against.
pub fn set_process_server(s: Server) {
    PROCESS_SERVER.store(s.as_ptr(), Ordering::Release);
}

fn process_server() -> Option<Server> {
    let p = PROCESS_SERVER.load(Ordering::Acquire);
    // SAFETY: set only in a daemon process, to a server_rec of the generation
    // the process was forked in, which it never clears (see MAIN_SERVER).
    (!p.is_null()).then(|| unsafe { Server::from_ptr(p) })
}

fn c_message(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

fn c_file(loc: &Location<'_>) -> CString {
    CString::new(loc.file()).unwrap_or_default()
}

/// Logs `msg` against server `s` (or, with `None`, the main server of the
/// current generation, or stderr when none is recorded: before the first
/// `post_config`, or in the parent between a restart's clearing of the
/// configuration and the next `post_config`, where Apache has pointed the
/// parent's stderr at the main error log).
#[track_caller]
pub fn server(level: Level, s: Option<Server>, msg: &str) {
    let loc = Location::caller();
    let Some(s) = s.or_else(process_server).or_else(main_server) else {
        eprintln!("mod_wsgi-rs: {msg}");
        return;
    };
    let (file, text) = (c_file(loc), c_message(msg));
    // SAFETY: `s` is a live server_rec and both strings are NUL-terminated and
    // outlive the call; the shim formats with "%s".
    unsafe {
        shim::wsgi_shim_log_error(
            file.as_ptr(),
            loc.line() as i32,
            level as i32,
            0,
            s.as_ptr(),
            text.as_ptr(),
        )
    }
}

/// Logs `msg` in the context of request `r` (adds the client address).
#[track_caller]
pub fn request(level: Level, r: &Request<'_>, msg: &str) {
    let loc = Location::caller();
    let (file, text) = (c_file(loc), c_message(msg));
    // SAFETY: `r` wraps a live request_rec; strings outlive the call.
    unsafe {
        shim::wsgi_shim_log_rerror(
            file.as_ptr(),
            loc.line() as i32,
            level as i32,
            0,
            r.as_ptr(),
            text.as_ptr(),
        )
    }
}

/// Like [`server`], but with the source location given (`mod_wsgi.LogHandler`
/// passes the Python record's pathname and line, for `%F`).
pub fn server_at(level: Level, s: Option<Server>, file: &str, line: u32, msg: &str) {
    let Some(s) = s.or_else(main_server) else {
        eprintln!("mod_wsgi-rs: {msg}");
        return;
    };
    let (file, text) = (c_message(file), c_message(msg));
    // SAFETY: as in `server`.
    unsafe {
        shim::wsgi_shim_log_error(
            file.as_ptr(),
            line as i32,
            level as i32,
            0,
            s.as_ptr(),
            text.as_ptr(),
        )
    }
}

/// Like [`request`], but with the source location given.
pub fn request_at(level: Level, r: &Request<'_>, file: &str, line: u32, msg: &str) {
    let (file, text) = (c_message(file), c_message(msg));
    // SAFETY: as in `request`.
    unsafe {
        shim::wsgi_shim_log_rerror(
            file.as_ptr(),
            line as i32,
            level as i32,
            0,
            r.as_ptr(),
            text.as_ptr(),
        )
    }
}
