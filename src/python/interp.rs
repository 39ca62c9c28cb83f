//! The interpreters of this process: one per application group, as mod_wsgi.
//!
//! `%{GLOBAL}` ("") is the main interpreter; every other group gets a legacy
//! sub-interpreter sharing the main GIL (`Py_NewInterpreter`), created on
//! first use and kept for the life of the process. Each has its own
//! `sys.modules` with the `mod_wsgi` and `apache` modules, log streams as
//! `sys.stdout`/`sys.stderr`, and the `WSGIPythonPath` entries. Running code
//! in an interpreter goes through [`run`], which restores this thread's state
//! for it and enters through the interpreter's pyo3 entry function.
//! At exit, [`finalize_all`] ends the sub-interpreters, then the main one.

use super::class::Types;
use super::{enter, init, tstate};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    INTERPRETER_FAILED, INTERPRETER_LEFT_RUNNING, LogId, SUB_INTERPRETER_CREATED,
};
use pyo3::ffi;
use pyo3::prelude::*;
use std::sync::{Mutex, OnceLock};

/// A live interpreter of this process.
pub struct Interp {
    id: u64,
    ptr: *mut ffi::PyInterpreterState,
    group: String,
    /// The interpreter's entry function (a strong reference, never released).
    entry: *mut ffi::PyObject,
    /// Our classes' types in this interpreter (`class`).
    types: &'static Types,
    /// Whether it has its own GIL (`WSGIPerInterpreterGIL`, Python 3.12+).
    own_gil: bool,
}

// SAFETY: the pointers are only dereferenced by CPython with the GIL held,
// and CPython allows any thread to create thread states for an interpreter.
unsafe impl Send for Interp {}
// SAFETY: as above; the struct itself is immutable.
unsafe impl Sync for Interp {}

impl Interp {
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn is_main(&self) -> bool {
        self.id == 0
    }
    pub fn as_ptr(&self) -> *mut ffi::PyInterpreterState {
        self.ptr
    }
    pub fn group(&self) -> &str {
        &self.group
    }
    pub fn types(&self) -> &'static Types {
        self.types
    }
    pub fn own_gil(&self) -> bool {
        self.own_gil
    }
}

/// Makes and publishes our classes in the current interpreter (GIL held).
fn make_types(py: Python<'_>) -> PyResult<&'static Types> {
    let types: &'static Types = Box::leak(Box::new(Types::make(py, &init::classes())?));
    types.publish(py)?;
    Ok(types)
}

static MAIN: OnceLock<Interp> = OnceLock::new();
/// Sub-interpreters by group, leaked so references are `'static`.
static SUBS: Mutex<Vec<&'static Interp>> = Mutex::new(Vec::new());

/// Records the main interpreter (GIL held, right after initialisation).
pub fn set_main(py: Python<'_>) -> PyResult<()> {
    // SAFETY: Python is initialised.
    let ptr = unsafe { ffi::PyInterpreterState_Main() };
    let entry = enter::make_entry(py)?;
    let types = make_types(py)?;
    let _ = MAIN.set(Interp {
        id: 0,
        ptr,
        group: String::new(),
        entry,
        types,
        own_gil: false,
    });
    Ok(())
}

/// The main interpreter, if Python is initialised in this process.
pub fn main() -> Option<&'static Interp> {
    MAIN.get()
}

/// Runs `f` in `interp` on this thread (which must not hold the GIL).
pub fn run<R>(interp: &Interp, f: impl FnOnce(Python<'_>) -> R) -> R {
    let _entered = tstate::enter(interp);
    enter::call(interp.entry, f)
}

/// Why the interpreter of an application group is not available.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("Python is not initialised in this process")]
    NotInitialised,
    #[error("creating the interpreter of application group '{group}' failed: {why}")]
    NewInterpreter { group: String, why: String },
    /// Setting the new interpreter up raised (`traceback`: its lines, ` | `-joined).
    #[error("setting up the interpreter of application group '{group}' failed: {traceback}")]
    Setup { group: String, traceback: String },
}

impl InterpError {
    /// The id of the log line this error is reported in.
    pub fn log_id(&self) -> LogId {
        INTERPRETER_FAILED
    }
}

/// The interpreter for application group `group`, created on first use.
/// Call without holding the GIL.
pub fn for_group(group: &str) -> Result<&'static Interp, InterpError> {
    let main = main().ok_or(InterpError::NotInitialised)?;
    if group.is_empty() {
        return Ok(main);
    }
    let mut subs = SUBS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = subs.iter().find(|i| i.group == group) {
        return Ok(found);
    }
    let created = create(main, group)?;
    let leaked: &'static Interp = Box::leak(Box::new(created));
    subs.push(leaked);
    Ok(leaked)
}

/// The interpreter of `group` if it exists already (never creates one).
pub fn existing(group: &str) -> Option<&'static Interp> {
    if group.is_empty() {
        return main();
    }
    let subs = SUBS.lock().unwrap_or_else(|e| e.into_inner());
    subs.iter().find(|i| i.group == group).copied()
}

/// Every interpreter of this process, the main one first.
pub fn all() -> Vec<&'static Interp> {
    let subs = SUBS.lock().unwrap_or_else(|e| e.into_inner());
    main().into_iter().chain(subs.iter().copied()).collect()
}

/// A new sub-interpreter, current on this thread (which holds its GIL):
/// with its own GIL (`Py_NewInterpreterFromConfig`, the isolated config
/// mod_wsgi 6 uses) or sharing the main one (`Py_NewInterpreter`).
///
/// # Safety
/// The GIL must be held with this thread's main-interpreter state current;
/// on failure that state is current again, with the main GIL held.
unsafe fn new_interpreter(
    group: &str,
    own_gil: bool,
    main_ts: *mut ffi::PyThreadState,
) -> Result<*mut ffi::PyThreadState, InterpError> {
    let failed = |why: &str| InterpError::NewInterpreter {
        group: group.to_string(),
        why: why.to_string(),
    };
    if !own_gil {
        // SAFETY: the caller's contract; on success the new state is current.
        let ts = unsafe { ffi::Py_NewInterpreter() };
        if ts.is_null() {
            // SAFETY: on failure CPython leaves no thread state current.
            unsafe { ffi::PyThreadState_Swap(main_ts) };
            return Err(failed("Py_NewInterpreter returned NULL"));
        }
        return Ok(ts);
    }
    // SAFETY: as above.
    unsafe { new_own_gil(main_ts) }.map_err(|why| failed(&why))
}

/// `Py_NewInterpreterFromConfig` with its own GIL; see [`new_interpreter`].
///
/// # Safety
/// As [`new_interpreter`].
#[cfg(mod_wsgi_own_gil)]
unsafe fn new_own_gil(main_ts: *mut ffi::PyThreadState) -> Result<*mut ffi::PyThreadState, String> {
    let config = ffi::_PyInterpreterConfig_INIT;
    let mut ts: *mut ffi::PyThreadState = std::ptr::null_mut();
    // SAFETY: the caller's contract. With its own GIL, the new interpreter
    // is created holding its GIL and the main GIL is released.
    let status = unsafe { ffi::Py_NewInterpreterFromConfig(&mut ts, &config) };
    // SAFETY: reading the status just returned.
    if unsafe { ffi::PyStatus_Exception(status) } != 0 || ts.is_null() {
        let why = if status.err_msg.is_null() {
            "Py_NewInterpreterFromConfig failed".to_string()
        } else {
            // SAFETY: CPython's static NUL-terminated message.
            unsafe { std::ffi::CStr::from_ptr(status.err_msg) }
                .to_string_lossy()
                .into_owned()
        };
        // SAFETY: on failure the calling interpreter's GIL is held again
        // (documented: held on entry and on return); make our state current.
        unsafe { ffi::PyThreadState_Swap(main_ts) };
        return Err(why);
    }
    Ok(ts)
}

/// Never called: `init::own_gil` is false on this build.
///
/// # Safety
/// None needed.
#[cfg(not(mod_wsgi_own_gil))]
unsafe fn new_own_gil(
    _main_ts: *mut ffi::PyThreadState,
) -> Result<*mut ffi::PyThreadState, String> {
    Err("this build's Python has no per-interpreter GIL".to_string())
}

/// Leaves the new interpreter's state `ts` (current) for this thread's main
/// state `main_ts`, holding the main GIL as before [`new_interpreter`].
///
/// # Safety
/// `ts` is current on this thread, holding its interpreter's GIL.
unsafe fn back_to_main(
    ts: *mut ffi::PyThreadState,
    own_gil: bool,
    main_ts: *mut ffi::PyThreadState,
) {
    let _ = ts;
    if own_gil {
        // SAFETY: release the new interpreter's GIL, then take the main
        // one back (released by Py_NewInterpreterFromConfig).
        unsafe {
            ffi::PyEval_SaveThread();
            ffi::PyEval_RestoreThread(main_ts);
        }
    } else {
        // SAFETY: one GIL; just make the main state current again.
        unsafe { ffi::PyThreadState_Swap(main_ts) };
    }
}

fn create(main: &Interp, group: &str) -> Result<Interp, InterpError> {
    let own_gil = init::own_gil(group);
    let _entered = tstate::enter(main);
    // SAFETY: this thread holds the GIL with its main-interpreter state current.
    let main_ts = unsafe { ffi::PyThreadState_Get() };
    // SAFETY: as above.
    let ts = unsafe { new_interpreter(group, own_gil, main_ts) }?;
    // SAFETY: `ts` is current and belongs to the new interpreter.
    let ptr = unsafe { ffi::PyThreadState_GetInterpreter(ts) };
    // SAFETY: as above.
    let id = unsafe { ffi::PyInterpreterState_GetID(ptr) } as u64;
    // SAFETY: GIL held with the new interpreter current; no pyo3 attach is
    // involved in creating the function object. pyo3 does not count this
    // thread as attached here, so an error is formatted and released through
    // this token (never `Display`, which would attach: ARCHITECTURE.md §3),
    // and the setup's own error inside the entry call, where it is.
    let py = unsafe { Python::assume_attached() };
    let result = match enter::make_entry(py) {
        Ok(entry) => enter::call(entry, |py| {
            let types = make_types(py).map_err(|e| super::format_exception(py, &e))?;
            init::setup_interpreter(py, group).map_err(|e| super::format_exception(py, &e))?;
            Ok(types)
        })
        .map(|types| Interp {
            id,
            ptr,
            group: group.to_string(),
            entry,
            types,
            own_gil,
        }),
        Err(e) => {
            let lines = super::format_exception(py, &e);
            super::discard(py, e);
            Err(lines)
        }
    };
    let result = result.map_err(|lines| InterpError::Setup {
        group: group.to_string(),
        traceback: lines.join(" | "),
    });
    if let Ok(interp) = &result {
        tstate::adopt(interp, ts);
    }
    // SAFETY: `ts` is current with its GIL held; back to this thread's main
    // state, which `_entered` saves on drop.
    unsafe { back_to_main(ts, own_gil, main_ts) };
    if result.is_ok() {
        let gil = if own_gil { " with own GIL" } else { "" };
        log::server(
            Level::Info,
            None,
            &format!(
                "{SUB_INTERPRETER_CREATED} created sub-interpreter for application group '{group}' in process {}{gil}",
                std::process::id()
            ),
        );
    }
    result
}

/// Ends every sub-interpreter (running their `atexit` handlers), then
/// finalises the main interpreter. Called at process exit, on the thread
/// that initialised Python, when no request is running. A sub-interpreter
/// still running threads the application started is not ended (that would
/// free the thread states they run on, or abort the process): its
/// `atexit` handlers run, and then Python is not finalised at all, the main
/// interpreter's shutdown steps (waiting for its non-daemon threads, its
/// `atexit` handlers) run alone (WSGIRS0481). The application's non-daemon
/// threads are waited for, as `Py_EndInterpreter` and `Py_FinalizeEx` do:
/// a daemon bounds that with its shutdown reaper.
///
/// Our worker threads' states are freed in every interpreter, the main one
/// included, before any interpreter is ended. Objects cross interpreters
/// that share the main GIL: a single-phase extension such as `_decimal` on
/// 3.12 keeps one `ContextVar` for all of them, whose cache is keyed by a
/// thread state id that each interpreter numbers from 1, so a thread state
/// of one interpreter can be handed (and keep, in its context) a
/// `decimal.Context` made in another. Such an object stays linked into the
/// garbage-collector list of the interpreter that made it; freeing it after
/// that interpreter has ended writes into the freed list head. On CPython
/// 3.12.1 that crashed the child at exit in 22 of 22 runs of
/// `three_groups_under_load` (worker and event MPMs, and recycled daemons;
/// prefork too while the start-up state was left to `Py_FinalizeEx`), when
/// `Py_FinalizeEx` (or `Py_EndInterpreter`) cleared a worker's state holding
/// a context of an interpreter ended before (3.11 and 3.13.0 did not crash;
/// 3.13 gives `_decimal` per-interpreter state). Freeing every worker state
/// while all interpreters are alive releases such objects where their lists
/// still exist. That includes the start-up state of this thread, which under
/// prefork served `%{GLOBAL}` requests: on 3.12 the main interpreter is
/// finalised on a fresh state instead (see [`free_main_states`]).
pub(crate) fn finalize_all(start_ts: *mut ffi::PyThreadState) {
    // SAFETY: `start_ts` is the state saved at start-up; Apache has stopped
    // its request threads, so nobody else holds the GIL.
    unsafe { ffi::PyEval_RestoreThread(start_ts) };
    let subs: Vec<&'static Interp> = SUBS.lock().map(|s| s.clone()).unwrap_or_default();
    let main_ts = match main() {
        // SAFETY: GIL held with `start_ts` current.
        Some(main) => unsafe { free_main_states(main, start_ts) },
        None => start_ts,
    };
    // SAFETY: GIL held with `main_ts` current, put back by `begin_end`.
    let fresh: Vec<_> = subs
        .iter()
        .map(|i| unsafe { begin_end(i, main_ts) })
        .collect();
    let mut left_running = false;
    for (interp, ts) in subs.into_iter().zip(fresh) {
        // SAFETY: GIL held (with `main_ts` current, put back by `end`);
        // `ts` is the state `begin_end` made for `interp`.
        left_running |= !unsafe { end(interp, ts, main_ts) };
    }
    if left_running {
        // SAFETY: GIL held with the main thread state current.
        unsafe { run_shutdown_steps() };
        return;
    }
    // SAFETY: GIL held with the main thread state current.
    unsafe { ffi::Py_FinalizeEx() };
}

/// What `Py_EndInterpreter`/`Py_FinalizeEx` do before tearing down: wait
/// for the non-daemon threads (`threading._shutdown`), run `atexit`.
const SHUTDOWN_STEPS: &std::ffi::CStr =
    c"import threading, atexit\nthreading._shutdown()\natexit._run_exitfuncs()\n";

/// Runs [`SHUTDOWN_STEPS`] in the current interpreter (errors are printed
/// to its `sys.stderr`, the error log).
///
/// # Safety
/// The GIL must be held with a thread state of that interpreter current.
unsafe fn run_shutdown_steps() {
    // SAFETY: the caller's contract; a NUL-terminated program.
    unsafe { ffi::PyRun_SimpleString(SHUTDOWN_STEPS.as_ptr()) };
}

/// Frees our worker threads' states of `interp` but `keep` (those threads
/// have ended or will not run Python again): freeing one also releases the
/// lock that `threading` holds for it (the thread that imported `threading`
/// counts as its main thread, which `threading._shutdown` waits for).
///
/// # Safety
/// The GIL of `interp` must be held, with `keep` current.
unsafe fn free_ours(interp: &Interp, keep: *mut ffi::PyThreadState) {
    for other in states_of(interp, keep)
        .into_iter()
        .filter(|t| tstate::is_ours(*t))
    {
        // SAFETY: GIL held; a state of ours, not current, on no running thread.
        unsafe {
            ffi::PyThreadState_Clear(other);
            ffi::PyThreadState_Delete(other);
        }
    }
}

/// Whether the main interpreter is finalised on a fresh state, the
/// start-up one freed before the sub-interpreters end: on CPython 3.12
/// only. 3.12 needs it (see [`finalize_all`]) and allows it:
/// `PyThreadState_Swap` makes the state it switches to this thread's
/// `PyGILState` state, which pyo3's `Python::attach` (used by our log
/// streams while `atexit` handlers run) finds through `PyGILState_Ensure`;
/// 3.11 does not rebind it. On 3.13.0 it made the Apache child segfault at
/// exit (not investigated; 3.13 gives `_decimal` per-interpreter state, and
/// passed the tests without it).
fn finalise_on_fresh_state() -> bool {
    let version = crate::config::python::BUILD_PYTHON_VERSION;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) == (3, 12)
}

/// `threading._shutdown` in the main interpreter if `threading` is loaded,
/// as `Py_FinalizeEx` calls it (a second call there returns at once).
const MAIN_THREADING_SHUTDOWN: &std::ffi::CStr =
    c"import sys\nif 'threading' in sys.modules:\n    sys.modules['threading']._shutdown()\n";

/// Frees our worker threads' states of the main interpreter and returns
/// the state to finalise it on. On 3.12 that is a fresh state, and
/// `start_ts` (this thread's state since start-up, which may hold objects
/// of other interpreters in its context when it served requests) is freed
/// too; on other versions, `start_ts` itself.
///
/// # Safety
/// The main GIL must be held with `start_ts` current; the returned state
/// is current on return.
unsafe fn free_main_states(
    main: &Interp,
    start_ts: *mut ffi::PyThreadState,
) -> *mut ffi::PyThreadState {
    // SAFETY: the caller's contract.
    unsafe { free_ours(main, start_ts) };
    if !finalise_on_fresh_state() {
        return start_ts;
    }
    // SAFETY: GIL held with `start_ts` current. `threading` counts the
    // thread that imported it as its main thread and holds a lock that
    // freeing that thread's state releases; its `_shutdown` (which waits
    // for the non-daemon threads) expects that lock still held when
    // called from that thread, so it runs now, not in Py_FinalizeEx.
    unsafe { ffi::PyRun_SimpleString(MAIN_THREADING_SHUTDOWN.as_ptr()) };
    // SAFETY: GIL held; a fresh main state becomes current (and this
    // thread's PyGILState state), `start_ts` no longer is.
    let fresh = unsafe { ffi::PyThreadState_New(main.ptr) };
    // SAFETY: as above. Then `start_ts` is not current and this thread,
    // the only one to use it, will not again.
    unsafe {
        ffi::PyThreadState_Swap(fresh);
        ffi::PyThreadState_Clear(start_ts);
        ffi::PyThreadState_Delete(start_ts);
    }
    fresh
}

/// Makes a fresh state of `interp` to end it with, frees our workers'
/// states there, and returns to `main_ts`, handing back the fresh state.
///
/// # Safety
/// The GIL must be held with `main_ts` current; so it is on return.
unsafe fn begin_end(interp: &Interp, main_ts: *mut ffi::PyThreadState) -> *mut ffi::PyThreadState {
    // SAFETY: GIL held; a fresh state of the interpreter.
    let ts = unsafe { ffi::PyThreadState_New(interp.ptr) };
    // SAFETY: `ts` becomes current (with its own GIL taken, the main one
    // released, when it has one); our states are freed under it; then back
    // to `main_ts` (`ts` saved, its own GIL released).
    unsafe {
        enter_fresh(interp, ts);
        free_ours(interp, ts);
        back_to_main(ts, interp.own_gil, main_ts);
    }
    ts
}

/// Makes `ts`, a state of `interp` not current, current instead of the
/// main state (taking the interpreter's own GIL when it has one).
///
/// # Safety
/// The main GIL must be held with a main-interpreter state current.
unsafe fn enter_fresh(interp: &Interp, ts: *mut ffi::PyThreadState) {
    if interp.own_gil {
        // SAFETY: the caller's contract; release the main GIL, take `ts`'s.
        unsafe {
            ffi::PyEval_SaveThread();
            ffi::PyEval_RestoreThread(ts);
        }
    } else {
        // SAFETY: one GIL; just switch states.
        unsafe { ffi::PyThreadState_Swap(ts) };
    }
}

/// Ends `interp` on `ts` (from [`begin_end`]); returns false (having run
/// its shutdown steps) when threads the application started still run in
/// it, and leaves it.
///
/// # Safety
/// The GIL must be held with `main_ts` current; so it is on return.
unsafe fn end(
    interp: &Interp,
    ts: *mut ffi::PyThreadState,
    main_ts: *mut ffi::PyThreadState,
) -> bool {
    // SAFETY: the caller's contract; `ts` is a saved state of `interp`.
    unsafe { enter_fresh(interp, ts) };
    // SAFETY: GIL held with `ts` current: wait for the non-daemon threads
    // first, so the threads that end now do not count below.
    unsafe { ffi::PyRun_SimpleString(c"import threading\nthreading._shutdown()\n".as_ptr()) };
    let theirs = states_of(interp, ts).len();
    if theirs > 0 {
        // SAFETY: GIL held with `ts` current.
        unsafe { run_shutdown_steps() };
        log::server(
            Level::Info,
            None,
            &format!(
                "{INTERPRETER_LEFT_RUNNING} process {}: application group '{}' still runs {theirs} \
                 thread(s) the application started; its atexit handlers ran, the interpreter is \
                 left as it is and Python is not finalised",
                std::process::id(),
                interp.group
            ),
        );
        // SAFETY: back to the main state (`ts` stays, unused, until exit).
        unsafe { back_to_main(ts, interp.own_gil, main_ts) };
        return false;
    }
    // SAFETY: GIL held; `ts` is the interpreter's only state, as
    // Py_EndInterpreter requires. It leaves no state current (and frees
    // an own GIL); the main state and GIL are then taken back.
    unsafe {
        ffi::Py_EndInterpreter(ts);
        if interp.own_gil {
            ffi::PyEval_RestoreThread(main_ts);
        } else {
            ffi::PyThreadState_Swap(main_ts);
        }
    }
    true
}

/// The thread states of `interp` but `ts`.
fn states_of(interp: &Interp, ts: *mut ffi::PyThreadState) -> Vec<*mut ffi::PyThreadState> {
    let mut out = Vec::new();
    // SAFETY: the caller holds the GIL; walking the interpreter's states.
    let mut other = unsafe { ffi::PyInterpreterState_ThreadHead(interp.ptr) };
    while !other.is_null() {
        if other != ts {
            out.push(other);
        }
        // SAFETY: as above.
        other = unsafe { ffi::PyThreadState_Next(other) };
    }
    out
}
