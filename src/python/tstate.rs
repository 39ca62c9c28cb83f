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
use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads currently inside Python (between `enter` and the guard's drop).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// How many threads are inside Python right now.
pub fn active() -> usize {
    ACTIVE.load(Ordering::Acquire)
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
        ts
    })
}

/// Records `ts` (created with a new sub-interpreter on this thread) as this
/// thread's state for `interp`.
pub fn adopt(interp: &Interp, ts: *mut ffi::PyThreadState) {
    debug_assert!(known(interp).is_none());
    STATES.with(|states| states.borrow_mut().push((interp.id(), ts)));
}

/// Holds the GIL with this thread's state for one interpreter current.
/// Dropping it saves the thread state and releases the GIL.
pub struct Entered {
    _not_send: PhantomData<*mut ()>,
}

/// Makes this thread's state for `interp` current, taking the GIL.
/// The caller must not already hold the GIL.
pub fn enter(interp: &Interp) -> Entered {
    let ts = thread_state(interp);
    // SAFETY: `ts` belongs to this thread and is not current (the caller
    // holds no GIL); PyEval_RestoreThread takes the GIL and makes it current.
    unsafe { ffi::PyEval_RestoreThread(ts) };
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    Entered {
        _not_send: PhantomData,
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
        // SAFETY: this thread holds the GIL with its state current (enter).
        unsafe { ffi::PyEval_SaveThread() };
    }
}
