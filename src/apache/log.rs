//! Logging into Apache's error log through the shim's `APLOG_USE_MODULE(wsgi)`
//! wrappers, so `LogLevel wsgi:debug` works and lines are tagged `[wsgi:...]`.
//! Callable from any thread; it does not touch Python, so callers that hold
//! the GIL should release it first when the line may block (Python's
//! `wsgi.errors` does).

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

static MAIN_SERVER: AtomicPtr<super::sys::server_rec> = AtomicPtr::new(std::ptr::null_mut());

/// Remembers the main server for log lines that have no request (Python's
/// `sys.stderr`, start-up messages in a child).
pub fn set_main_server(s: Server) {
    MAIN_SERVER.store(s.as_ptr(), Ordering::Release);
}

/// The main server recorded by [`set_main_server`], if any.
pub fn main_server() -> Option<Server> {
    let p = MAIN_SERVER.load(Ordering::Acquire);
    // SAFETY: only pointers handed to us by Apache for the process's lifetime
    // are stored in MAIN_SERVER.
    (!p.is_null()).then(|| unsafe { Server::from_ptr(p) })
}

fn c_message(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

fn c_file(loc: &Location<'_>) -> CString {
    CString::new(loc.file()).unwrap_or_default()
}

/// Logs `msg` against server `s` (or, with `None`, the main server, or stderr
/// when no server is known yet).
#[track_caller]
pub fn server(level: Level, s: Option<Server>, msg: &str) {
    let loc = Location::caller();
    let Some(s) = s.or_else(main_server) else {
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
