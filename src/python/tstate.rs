//! One Python thread state per (OS thread, interpreter), created on first use
//! and kept for the thread's life, so `threading.local` data survives between
//! requests served by the same Apache worker thread (mod_wsgi keeps a
//! `tstate_table` for the same reason). Entering restores the thread state
//! (taking the GIL); leaving saves it (releasing the GIL).
//!
//! For the main interpreter the thread state is the one the `PyGILState`
//! API knows for this thread, so pyo3's `Python::attach` (which uses
//! `PyGILState_Ensure`) finds it current and nests instead of switching.
//! CPython records in that slot the *first* thread state created on a
//! thread, whatever its interpreter, so a thread's main-interpreter state is
//! always created before any sub-interpreter state: otherwise the slot would
//! hold a sub-interpreter's state and a later `%{GLOBAL}` request on that
//! thread would run in the sub-interpreter.

use super::interp::Interp;
use pyo3::ffi;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every thread state this module made or adopted (addresses), as opposed
/// to those of threads the application started: only these may be freed
/// when an interpreter is ended (`interp::finalize_all`). Never freed
/// before then, so an address is never reused by another state.
static OURS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record(ts: *mut ffi::PyThreadState) {
    OURS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ts as usize);
}

/// Whether `ts` is a thread state of ours (an Apache or daemon worker
/// thread's, or the one an interpreter was created with), not one of a
/// thread the application started.
pub fn is_ours(ts: *mut ffi::PyThreadState) -> bool {
    OURS.lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&(ts as usize))
}

/// Threads inside Python, or about to enter it, or just leaving it: see
/// [`Inside`] for the exact window counted.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// How many threads are inside Python right now (see [`Inside`]): 0 means
/// no thread holds the GIL through [`enter`], waits for it there, or will
/// touch Python again before calling [`enter`] anew.
pub fn active() -> usize {
    ACTIVE.load(Ordering::SeqCst)
}

/// One thread counted in [`ACTIVE`] while this value lives.
///
/// The count must cover every moment at which the thread holds the GIL, or
/// may hold it without calling `enter` again, so that `init::finalize` (run
/// from prefork's SIGTERM handler on this very thread, or at child exit on
/// the main thread) never finalises Python under a request:
/// - it rises *before* `PyEval_RestoreThread`, so a thread blocked in there
///   waiting for the GIL (or interrupted by a signal after taking it but
///   before returning) is already counted;
/// - it falls *after* `PyEval_SaveThread` has returned, so the GIL is given
///   back and the thread state is no longer current when the count drops
///   ([`counted`] and [`uncounted`] fix that order for `enter` and
///   `Entered::drop`);
/// - in between it stays up while the thread is detached (`py.detach`
///   around blocking I/O), because the thread retakes the GIL afterwards.
///
/// The blocked case matters even under prefork, whose child has one Apache
/// thread: an application's own Python thread may hold the GIL while the
/// request thread waits in `PyEval_RestoreThread`, and SIGTERM then runs the
/// child exit (and `finalize`) on that waiting thread. A signal landing in
/// either edge window (counted but not holding the GIL) only makes
/// `finalize` skip finalisation, the safe side. What the count cannot see is
/// a thread that arrives *after* `finalize` has read it: `finalize` relies
/// on running only once Apache has stopped serving requests in the process
/// (prefork's only thread is the one running it; the threaded MPMs join
/// their workers first). The atomic operations are lock-free, hence
/// async-signal-safe, and `SeqCst` so the signal handler's read is ordered
/// with them.
struct Inside(());

impl Inside {
    fn arrive() -> Inside {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Inside(())
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

thread_local! {
    /// (interpreter id, thread state) for this thread.
    static STATES: RefCell<Vec<(u64, *mut ffi::PyThreadState)>> = const { RefCell::new(Vec::new()) };
}

fn known(interp: &Interp) -> Option<*mut ffi::PyThreadState> {
    STATES.with(|states| {
        states
            .borrow()
            .iter()
            .find(|(id, _)| *id == interp.id())
            .map(|(_, ts)| *ts)
    })
}

fn thread_state(interp: &Interp) -> *mut ffi::PyThreadState {
    if let Some(ts) = known(interp) {
        return ts;
    }
    if !interp.is_main()
        && let Some(main) = super::interp::main()
    {
        // The main interpreter's state first: it must own the GILState slot.
        thread_state(main);
    }
    STATES.with(|states| {
        let mut states = states.borrow_mut();
        let ts = if interp.is_main() {
            // SAFETY: Python is initialised; this only reads the GILState TSS slot.
            let existing = unsafe { ffi::PyGILState_GetThisThreadState() };
            // SAFETY: a live thread state of this thread (reading its interpreter).
            let ours = !existing.is_null()
                && unsafe { ffi::PyThreadState_GetInterpreter(existing) } == interp.as_ptr();
            if !ours {
                // SAFETY: the interpreter is live; PyThreadState_New does not
                // need the GIL and binds the new state to this thread.
                unsafe { ffi::PyThreadState_New(interp.as_ptr()) }
            } else {
                existing
            }
        } else {
            // SAFETY: as above, for a sub-interpreter.
            unsafe { ffi::PyThreadState_New(interp.as_ptr()) }
        };
        states.push((interp.id(), ts));
        record(ts);
        ts
    })
}

/// Records `ts` (created with a new sub-interpreter on this thread) as this
/// thread's state for `interp`.
pub fn adopt(interp: &Interp, ts: *mut ffi::PyThreadState) {
    debug_assert!(known(interp).is_none());
    STATES.with(|states| states.borrow_mut().push((interp.id(), ts)));
    record(ts);
}

/// Holds the GIL with this thread's state for one interpreter current.
/// Dropping it saves the thread state and releases the GIL.
pub struct Entered {
    /// Taken by `drop`, which uncounts it once the GIL is released.
    inside: Option<Inside>,
    _not_send: PhantomData<*mut ()>,
}

/// Makes this thread's state for `interp` current, taking the GIL.
/// The caller must not already hold the GIL.
pub fn enter(interp: &Interp) -> Entered {
    let ts = thread_state(interp);
    let inside = counted(|| {
        // SAFETY: `ts` belongs to this thread and is not current (the caller
        // holds no GIL); PyEval_RestoreThread takes the GIL and makes it current.
        unsafe { ffi::PyEval_RestoreThread(ts) };
    });
    Entered {
        inside: Some(inside),
        _not_send: PhantomData,
    }
}

/// Counts this thread in, then runs `restore` (which takes the GIL).
fn counted(restore: impl FnOnce()) -> Inside {
    let inside = Inside::arrive();
    restore();
    inside
}

/// Runs `save` (which gives the GIL back), then counts this thread out.
fn uncounted(inside: Inside, save: impl FnOnce()) {
    save();
    drop(inside);
}

impl Drop for Entered {
    fn drop(&mut self) {
        let save = || {
            // SAFETY: this thread holds the GIL with its state current (enter).
            unsafe { ffi::PyEval_SaveThread() };
        };
        match self.inside.take() {
            Some(inside) => uncounted(inside, save),
            None => save(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, as the count is process-wide (no unit test enters Python).
    #[test]
    fn the_count_covers_the_whole_gil_window() {
        assert_eq!(active(), 0);
        let mut at_restore = 0;
        let inside = counted(|| at_restore = active());
        assert_eq!(at_restore, 1, "counted before the GIL is asked for");
        let mut at_save = 0;
        uncounted(inside, || at_save = active());
        assert_eq!(at_save, 1, "still counted while the GIL is given back");
        assert_eq!(active(), 0, "uncounted once it is given back");

        let r = std::panic::catch_unwind(|| counted(|| panic!("no GIL")));
        assert!(r.is_err());
        assert_eq!(active(), 0, "a failed restore leaves no count behind");
    }
}
