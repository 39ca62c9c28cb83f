//! The shutdown reaper of a daemon process: the last step of a stop,
//! finalising Python (`Py_FinalizeEx` waits for the application's
//! non-daemon threads and runs its `atexit` handlers, with no limit of its
//! own), runs under a deadline of `shutdown-timeout`; a thread started
//! before it ends the process at the deadline whatever Python is doing
//! (WSGIRS0480), as mod_wsgi's reaper thread does. So a stopping daemon
//! always exits and the supervisor replaces it. Started by `process::run`
//! on the main thread once the workers have stopped; the reaper thread
//! never touches Python.

use crate::apache::log::{self, Level};
use crate::apache::log_ids::SHUTDOWN_TIMED_OUT;
use std::time::Duration;

/// Ends the process (status 0, without Apache's or Python's exit handlers)
/// if it is still running `limit` from now; `what` names the step, `group`
/// the daemon group, for the log line. Returns at once. If the thread
/// cannot be started the step runs unbounded, which is logged.
pub fn arm(group: &str, what: &'static str, limit: Duration) {
    let name = group.to_string();
    let spawned = std::thread::Builder::new()
        .name("wsgi-reaper".into())
        .spawn(move || {
            std::thread::sleep(limit);
            log::server(
                Level::Warning,
                None,
                &format!(
                    "{SHUTDOWN_TIMED_OUT} daemon process {} of group '{name}' did not finish {what} \
                     within shutdown-timeout ({} s): a thread the application started or an \
                     atexit handler still runs; exiting regardless",
                    std::process::id(),
                    limit.as_secs_f64()
                ),
            );
            // SAFETY: leaving the process at once; nothing else is to be
            // waited for (Python is stuck finalising).
            unsafe { libc::_exit(0) }
        });
    if let Err(e) = spawned {
        log::server(
            Level::Warning,
            None,
            &format!(
                "{SHUTDOWN_TIMED_OUT} daemon process {} of group '{group}': cannot start the \
                 shutdown reaper ({e}); {what} is not bounded by shutdown-timeout",
                std::process::id()
            ),
        );
    }
}
