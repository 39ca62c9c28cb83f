//! Questions to the MPM: threaded or not, how many processes and threads, its
//! name. Used for `wsgi.multithread`/`wsgi.multiprocess` and the `apache` and
//! `mod_wsgi` Python modules. Safe to call from a child at any time.

use super::sys;

fn query(code: u32) -> i32 {
    let mut value = 0;
    // SAFETY: ap_mpm_query writes one int through the pointer.
    let rv = unsafe { sys::ap_mpm_query(code as i32, &mut value) };
    if rv == 0 { value } else { 0 }
}

/// Whether the MPM runs more than one request thread per process.
pub fn is_threaded() -> bool {
    query(sys::AP_MPMQ_IS_THREADED) != sys::AP_MPMQ_NOT_SUPPORTED as i32
}

/// Whether the MPM may run more than one child process.
pub fn is_forked() -> bool {
    query(sys::AP_MPMQ_IS_FORKED) != sys::AP_MPMQ_NOT_SUPPORTED as i32
}

/// `MaxRequestWorkers`-derived process limit (`ServerLimit`-bounded).
pub fn max_processes() -> i32 {
    query(sys::AP_MPMQ_MAX_DAEMONS).max(1)
}

/// `ServerLimit`: the most child processes the MPM may run at once.
pub fn hard_limit_processes() -> i32 {
    query(sys::AP_MPMQ_HARD_LIMIT_DAEMONS).max(1)
}

/// Threads per child process (1 for prefork).
pub fn max_threads() -> i32 {
    query(sys::AP_MPMQ_MAX_THREADS).max(1)
}

/// The MPM's name ("event", "worker", "prefork").
pub fn name() -> String {
    // SAFETY: ap_show_mpm returns a static string.
    unsafe { super::cstr(sys::ap_show_mpm()) }.into_owned()
}

/// Whether Apache is stopping (or the MPM cannot say): no process should be
/// restarted then.
pub fn is_stopping() -> bool {
    let mut state = 0;
    // SAFETY: ap_mpm_query writes one int through the pointer.
    let rv = unsafe { sys::ap_mpm_query(sys::AP_MPMQ_MPM_STATE as i32, &mut state) };
    rv != 0 || state == sys::AP_MPMQ_STOPPING as i32
}
