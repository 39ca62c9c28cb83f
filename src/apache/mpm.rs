//! Questions to the MPM: threaded or not, how many processes and threads, its
//! name, and to Apache's main loop (whether a configuration pool is
//! cleared for a restart or for the exit). Used for
//! `wsgi.multithread`/`wsgi.multiprocess`, the `apache` and `mod_wsgi`
//! Python modules and the daemon supervisor. Safe to call from a child at
//! any time.

use super::request::Server;
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

/// Whether Apache's parent is clearing its configuration for a restart
/// (graceful or not) rather than exiting: `ap_state_query`'s main state
/// is `AP_SQ_MS_DESTROY_CONFIG` while the old configuration pool is cleared.
pub fn is_restarting() -> bool {
    // SAFETY: ap_state_query reads a global; no pointers.
    let state = unsafe { sys::ap_state_query(sys::AP_SQ_MAIN_STATE as i32) };
    state == sys::AP_SQ_MS_DESTROY_CONFIG as i32
}

/// The MPM's generation (bumped by each restart).
pub fn generation() -> i32 {
    query(sys::AP_MPMQ_GENERATION)
}

/// Hands process `pid` (forked by the parent) to the MPM as an "extra"
/// process of `generation` (while the hooks are registered: in a
/// post_config), reported as started to the child-status hooks so that
/// core counts it with that generation's children: Apache's reclaim at a
/// stop or a non-graceful restart signals it with its own children
/// (SIGTERM, SIGKILL after 9 s), and the MPM reaps it quietly when it
/// exits. Not for prefork, which mishandles extra processes.
pub fn add_extra_process(s: Server, pid: i32, generation: i32) {
    // SAFETY: plain calls in the parent; `s` is the live main server.
    unsafe {
        sys::ap_run_child_status(s.as_ptr(), pid, generation, -1, sys::MPM_CHILD_STARTED);
        sys::ap_register_extra_mpm_process(pid, generation);
    }
}
