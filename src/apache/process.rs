//! The Apache process as a whole, for the daemon supervisor (in the parent)
//! and the daemon processes it forks: the process record's argv area (what
//! `ps` shows), a once-per-process marker in the process pool, Apache's
//! listening sockets, the `User`/`Group` ids, the default runtime directory
//! and `ServerRoot`-relative paths. No Python, no GIL: called before Python
//! starts (or in the parent, which never runs it).

use super::pool::Pool;
use super::request::Server;
use super::sys;
use std::ffi::{CStr, c_void};

/// Overwrites the process's argv area (what `ps` shows) with `name`,
/// truncated to the room Apache's argv strings take.
pub fn set_title(s: Server, name: &str) {
    // SAFETY: process->argv is Apache's argv vector, whose strings are
    // contiguous in memory; we write within their combined length.
    unsafe {
        let process = (*s.as_ptr()).process;
        if process.is_null() {
            return;
        }
        let argc = (*process).argc as usize;
        let argv = (*process).argv;
        if argc > 0 && !argv.is_null() && !(*argv).is_null() {
            let start = *argv as *mut u8;
            let last = *argv.add(argc - 1);
            let end = last.add(libc::strlen(last)) as *mut u8;
            let room = end.offset_from(start) as usize;
            std::ptr::write_bytes(start, 0, room);
            let n = name.len().min(room);
            std::ptr::copy_nonoverlapping(name.as_ptr(), start, n);
        }
    }
}

/// True the first time it is asked for `key` in this process: the mark is
/// kept in the process pool, which survives restarts (so it tells the
/// first, dry-run post_config pass at start-up from the later ones).
pub fn first_time(s: Server, key: &'static CStr) -> bool {
    // SAFETY: live server record; process->pool lives as long as the process;
    // the key is static and the data a non-NULL marker never dereferenced.
    unsafe {
        let pool = (*(*s.as_ptr()).process).pool;
        let mut data: *mut c_void = std::ptr::null_mut();
        sys::apr_pool_userdata_get(&mut data, key.as_ptr(), pool);
        if data.is_null() {
            sys::apr_pool_userdata_set(std::ptr::dangling::<c_void>(), key.as_ptr(), None, pool);
            true
        } else {
            false
        }
    }
}

/// Closes Apache's listening sockets (in a process forked from the parent
/// that serves no HTTP).
pub fn close_listeners() {
    // SAFETY: closes this process's copies of the listeners; the caller uses
    // none of them afterwards.
    unsafe { sys::ap_close_listeners() };
}

/// uid and gid of Apache's `User` and `Group`.
pub fn unixd_ids() -> (u32, u32) {
    // SAFETY: ap_unixd_config is filled from User/Group while reading the
    // config, before post_config; plain reads of two integers.
    unsafe { (sys::ap_unixd_config.user_id, sys::ap_unixd_config.group_id) }
}

/// Apache's compiled-in runtime directory (relative to `ServerRoot`).
pub fn default_runtime_dir() -> String {
    // SAFETY: a static NUL-terminated constant.
    unsafe { super::cstr(sys::DEFAULT_REL_RUNTIMEDIR.as_ptr().cast()) }.into_owned()
}

/// `p` made absolute against `ServerRoot` (unchanged if Apache cannot).
pub fn server_root_relative(pconf: Pool, p: &str) -> String {
    let c = std::ffi::CString::new(p).unwrap_or_default();
    // SAFETY: live pool; returns a pool string or NULL.
    let r = unsafe { sys::ap_server_root_relative(pconf.as_ptr(), c.as_ptr()) };
    if r.is_null() {
        p.to_string()
    } else {
        // SAFETY: NUL-terminated pool string.
        unsafe { super::cstr(r) }.into_owned()
    }
}
