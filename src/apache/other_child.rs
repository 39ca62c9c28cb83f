//! Processes we fork in the Apache parent and hand to APR to supervise:
//! each is noted as a subprocess of a pool that lives as long as Apache
//! (SIGTERM, then SIGKILL after 3 s, when that pool is destroyed at the
//! exit; not at a restart, where the supervisor lets them drain) and
//! registered with APR's other-child machinery, whose callback (run by
//! Apache's maintenance loop in the parent) tells a Rust [`Watch`] that the
//! process died. Used by `daemon::supervisor`; runs only in the
//! single-threaded parent, which never holds the GIL (there is no Python
//! there).

use super::pool::Pool;
use super::sys;
use std::ffi::{c_int, c_void};

/// What to do when a watched process has gone.
pub trait Watch: 'static {
    /// The process `pid` died (or APR lost track of it); `status` is its
    /// wait status. Return the pid of a replacement already forked to watch
    /// that one instead, or `None` to stop watching.
    fn died(&mut self, pid: i32, status: c_int) -> Option<i32>;

    /// Whether the watch ends when Apache restarts (a process of the
    /// configuration generation that ends); else it lasts until the death.
    fn ends_on_restart(&self) -> bool {
        true
    }
}

/// One watched process: the watch and APR's record of the process, both in
/// pool memory so they stay at a stable address until the pool is cleared.
struct Entry<W> {
    watch: W,
    /// In the memory of the pool it is noted in, not in the entry: APR's
    /// subprocess list reads it when that pool is destroyed, after the
    /// entry has gone.
    proc_: *mut sys::apr_proc_t,
    pool: Pool,
    /// Where to note the process (once; later pids of the slot reuse the
    /// record), None once noted or for a watch that does not note.
    note: Option<Pool>,
}

/// Watches process `pid` (forked by the caller) for `watch`, which lives in
/// `pool` until the pool is cleared: registers it with APR's other-child
/// machinery, so that `watch.died` runs in the parent's maintenance loop
/// when it exits, and notes it as a subprocess of `note` (a pool that
/// outlives `pool`: the process is killed when `note` is destroyed). The
/// replacements `died` returns reuse that record.
pub fn watch<W: Watch>(pool: Pool, note: Pool, pid: i32, watch: W) {
    let proc_ = pool_proc(note);
    // The entry's cleanup is registered before APR's other-child cleanup, so
    // it runs after it (cleanups run in reverse order): the callback never
    // sees a dropped entry.
    let entry = pool.adopt(Entry {
        watch,
        proc_,
        pool,
        note: Some(note),
    });
    // SAFETY: `entry` is pool-owned and live until the pool is cleared.
    unsafe { register(entry, pid) };
}

/// Watches `pid` without noting it anywhere (a process already noted).
pub fn watch_only<W: Watch>(pool: Pool, pid: i32, watch: W) {
    let proc_ = pool_proc(pool);
    let entry = pool.adopt(Entry {
        watch,
        proc_,
        pool,
        note: None,
    });
    // SAFETY: `entry` is pool-owned and live until the pool is cleared.
    unsafe { register(entry, pid) };
}

/// An `apr_proc_t` in pool memory (valid until the pool's memory is reset,
/// which is after APR has killed and reaped the noted subprocesses).
fn pool_proc(pool: Pool) -> *mut sys::apr_proc_t {
    // SAFETY: live pool; the allocation is sized and aligned for apr_proc_t
    // (APR aligns to 8) and initialised before use.
    unsafe {
        let p = sys::apr_palloc(pool.as_ptr(), std::mem::size_of::<sys::apr_proc_t>())
            .cast::<sys::apr_proc_t>();
        p.write(sys::apr_proc_t::default());
        p
    }
}

/// Records `pid` in the entry's process record, notes it (the first time)
/// and registers the other-child callback for it.
///
/// # Safety
/// `entry` must be the live, pool-owned entry made by [`watch`].
unsafe fn register<W: Watch>(entry: *mut Entry<W>, pid: i32) {
    // SAFETY: the caller's contract.
    let e = unsafe { &mut *entry };
    // SAFETY: proc_ stays valid as long as the note pool, the entry until
    // its pool is cleared; the registration is removed by the cleanup APR
    // adds to the entry's pool.
    unsafe {
        (*e.proc_).pid = pid;
        if let Some(note) = e.note.take() {
            sys::apr_pool_note_subprocess(note.as_ptr(), e.proc_, sys::APR_KILL_AFTER_TIMEOUT);
        }
        sys::apr_proc_other_child_register(
            e.proc_,
            Some(maintenance::<W>),
            entry as *mut c_void,
            std::ptr::null_mut(),
            e.pool.as_ptr(),
        );
    }
}

/// APR's other-child callback (Apache's maintenance loop in the parent).
unsafe extern "C" fn maintenance<W: Watch>(reason: c_int, data: *mut c_void, status: c_int) {
    super::entry::guarded("daemon supervision", || {
        let entry = data as *mut Entry<W>;
        let reason = reason as u32;
        if reason == sys::APR_OC_REASON_DEATH || reason == sys::APR_OC_REASON_LOST {
            // SAFETY: `data` is what we registered.
            unsafe { sys::apr_proc_other_child_unregister(data) };
            // SAFETY: `data` is the pool-owned entry registered in `register`.
            let e = unsafe { &mut *entry };
            // SAFETY: pool memory of this entry.
            let pid = unsafe { (*e.proc_).pid };
            if let Some(new) = e.watch.died(pid, status) {
                // SAFETY: parent, entry live.
                unsafe { register(entry, new) };
            }
        } else if reason == sys::APR_OC_REASON_RESTART {
            // SAFETY: `data` is the pool-owned entry registered in `register`.
            if unsafe { &*entry }.watch.ends_on_restart() {
                // SAFETY: `data` is what we registered.
                unsafe { sys::apr_proc_other_child_unregister(data) };
            }
        }
    });
}
