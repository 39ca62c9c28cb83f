//! The stable ids that start every warning and error line this module logs
//! (`[WSGIRSnnnn] ...`), one named constant per condition, grouped by the
//! subsystem whose range the number is in. A [`LogId`] displays as
//! `[WSGIRSnnnn]`, so a log line is written `format!("{SCRIPT_NOT_FOUND} ...")`;
//! no other file spells an id in a log line. Each id is documented in
//! `docs/error-codes.md` (`tests/error_codes.rs` keeps the two in step).
//! Lives in `apache` so every folder can import it; pure data, no FFI.

use std::fmt;

/// One log message id, e.g. `WSGIRS0434`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogId(&'static str);

impl LogId {
    /// The bare id (`WSGIRS0434`), without brackets.
    pub const fn code(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for LogId {
    /// `[WSGIRS0434]`, the form that starts a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

// ---- 00xx: the entry wrapper (apache::entry) --------------------------------

/// A panic during a request hook (the request got 500).
pub const PANIC_REQUEST: LogId = LogId("WSGIRS0001");
/// A panic in a server hook (post_config, child_init).
pub const PANIC_SERVER: LogId = LogId("WSGIRS0002");
/// A panic in a cleanup.
pub const PANIC_CLEANUP: LogId = LogId("WSGIRS0003");

// ---- 01xx: the request path (handler, wsgi) ---------------------------------

/// `Options ExecCGI` is off for a `wsgi-script` handler (403).
pub const EXEC_CGI_OFF: LogId = LogId("WSGIRS0101");
/// The WSGI script does not exist or cannot be read (404).
pub const SCRIPT_NOT_FOUND: LogId = LogId("WSGIRS0102");
/// The application raised an exception.
pub const APP_EXCEPTION: LogId = LogId("WSGIRS0103");
/// The body is shorter than the declared `Content-Length`.
pub const CONTENT_LENGTH_SHORT: LogId = LogId("WSGIRS0104");
/// The client closed the connection during the response.
pub const CLIENT_CLOSED: LogId = LogId("WSGIRS0105");
/// A directory was requested as a WSGI application (403).
pub const DIRECTORY_AS_APP: LogId = LogId("WSGIRS0106");
/// `AcceptPathInfo Off` refused extra path information (404).
pub const PATH_INFO_REFUSED: LogId = LogId("WSGIRS0107");
// WSGIRS0108 is retired (daemon mode unavailable); never reuse it.
/// Python was not initialised in this process (500).
pub const PYTHON_NOT_INITIALISED: LogId = LogId("WSGIRS0109");
/// An unsupported `Transfer-Encoding` (501).
pub const TRANSFER_ENCODING_UNSUPPORTED: LogId = LogId("WSGIRS0110");
/// A chunked request body while chunked requests are off (411).
pub const CHUNKED_NOT_ENABLED: LogId = LogId("WSGIRS0111");
/// An invalid `Content-Length` request header (400).
pub const BAD_CONTENT_LENGTH: LogId = LogId("WSGIRS0112");
/// A request body larger than `LimitRequestBody` (413).
pub const BODY_TOO_LARGE: LogId = LogId("WSGIRS0113");
/// The interpreter of an application group could not be set up (500).
pub const INTERPRETER_FAILED: LogId = LogId("WSGIRS0114");
/// The WSGI script could not be loaded (500).
pub const SCRIPT_LOAD_FAILED: LogId = LogId("WSGIRS0115");
/// The environ could not be built (500).
pub const ENVIRON_FAILED: LogId = LogId("WSGIRS0116");

// ---- 02xx: Python (python, hooks) -------------------------------------------

/// Python initialised in an Apache child.
pub const PYTHON_INITIALISED: LogId = LogId("WSGIRS0201");
/// Python could not be started in an Apache child.
pub const PYTHON_START_FAILED: LogId = LogId("WSGIRS0202");
/// A sub-interpreter was created for an application group.
pub const SUB_INTERPRETER_CREATED: LogId = LogId("WSGIRS0203");
/// A process exited while Python code ran; finalisation skipped.
pub const FINALISATION_SKIPPED: LogId = LogId("WSGIRS0204");
/// A `mod_wsgi` Python package was found on `sys.path`.
pub const MOD_WSGI_PACKAGE_FOUND: LogId = LogId("WSGIRS0205");
/// A `mod_wsgi` Python package on `sys.path` failed to import.
pub const MOD_WSGI_PACKAGE_FAILED: LogId = LogId("WSGIRS0206");

// ---- 03xx: restrictions and preloading ---------------------------------------

/// An embedded-mode request under `WSGIRestrictEmbedded On` (500).
pub const EMBEDDED_RESTRICTED: LogId = LogId("WSGIRS0301");
/// A chunked request body that also has a `Content-Length` (400).
pub const CHUNKED_WITH_LENGTH: LogId = LogId("WSGIRS0302");
/// `signal.signal()` under `WSGIRestrictSignal On`.
pub const SIGNAL_RESTRICTED: LogId = LogId("WSGIRS0303");
/// A `WSGIImportScript` failed at process start.
pub const IMPORT_SCRIPT_FAILED: LogId = LogId("WSGIRS0304");

// ---- 040x-042x: daemon processes (daemon) -------------------------------------

/// Two `WSGIDaemonProcess` definitions with one name.
pub const DUPLICATE_DAEMON_GROUP: LogId = LogId("WSGIRS0401");
/// The socket of a daemon group could not be created.
pub const DAEMON_SOCKET_FAILED: LogId = LogId("WSGIRS0402");
/// No random bytes for the daemon secret.
pub const NO_RANDOM_SECRET: LogId = LogId("WSGIRS0403");
/// A daemon process could not be forked.
pub const DAEMON_FORK_FAILED: LogId = LogId("WSGIRS0405");
/// A daemon process was started.
pub const DAEMON_STARTED: LogId = LogId("WSGIRS0406");
/// A daemon process died and is being restarted.
pub const DAEMON_DIED: LogId = LogId("WSGIRS0407");
/// A daemon process could not start.
pub const DAEMON_START_FAILED: LogId = LogId("WSGIRS0410");
/// A daemon process is ready to serve requests.
pub const DAEMON_READY: LogId = LogId("WSGIRS0411");
/// A daemon process is stopping.
pub const DAEMON_STOPPING: LogId = LogId("WSGIRS0412");
/// A daemon process reached `maximum-requests`.
pub const MAXIMUM_REQUESTS: LogId = LogId("WSGIRS0413");
/// A request ran longer than `request-timeout`.
pub const REQUEST_TIMEOUT: LogId = LogId("WSGIRS0414");
/// The GIL could not be taken for `deadlock-timeout`.
pub const DEADLOCK_TIMEOUT: LogId = LogId("WSGIRS0415");
/// A WSGI script changed: the daemon process restarts.
pub const SCRIPT_CHANGED: LogId = LogId("WSGIRS0416");
/// A panic in a daemon worker thread.
pub const PANIC_DAEMON_WORKER: LogId = LogId("WSGIRS0417");
/// A service-script daemon process (`threads=0`) runs its scripts.
pub const SERVICE_DAEMON_RUNNING: LogId = LogId("WSGIRS0418");
/// A daemon refused a connection.
pub const CONNECTION_REFUSED: LogId = LogId("WSGIRS0420");

// ---- 043x-044x: the relay to a daemon (handler::relay) ------------------------

/// The request's process group is not defined (500).
pub const NO_SUCH_GROUP: LogId = LogId("WSGIRS0430");
/// The process group belongs to another virtual host (500).
pub const GROUP_IN_OTHER_VHOST: LogId = LogId("WSGIRS0431");
/// Cannot connect or send to the daemon (503).
pub const DAEMON_UNREACHABLE: LogId = LogId("WSGIRS0432");
/// The request does not fit the daemon protocol's limits (500).
pub const REQUEST_TOO_LARGE: LogId = LogId("WSGIRS0433");
/// The daemon closed the connection.
pub const DAEMON_CLOSED: LogId = LogId("WSGIRS0434");
/// No response head within `socket-timeout` (504).
pub const HEAD_TIMEOUT: LogId = LogId("WSGIRS0435");
/// A truncated or oversized response head (500).
pub const HEAD_OVERSIZED_OR_MALFORMED: LogId = LogId("WSGIRS0436");
/// The daemon rejected the request.
pub const DAEMON_REJECTED: LogId = LogId("WSGIRS0437");
/// The daemon reported an error.
pub const DAEMON_ERROR: LogId = LogId("WSGIRS0438");
/// `WSGIRestrictProcess` does not allow the process group (500).
pub const PROCESS_NOT_ALLOWED: LogId = LogId("WSGIRS0439");
/// An internal-redirect `Location` with a NUL byte (500).
pub const LOCATION_NUL: LogId = LogId("WSGIRS0440");
/// Writing the response to the client timed out.
pub const CLIENT_WRITE_TIMEOUT: LogId = LogId("WSGIRS0441");
/// A frame out of protocol (the session state machine refused it).
pub const PROTOCOL_ERROR: LogId = LogId("WSGIRS0442");
/// Apache refused the daemon's response head (bad status or header).
pub const BAD_RESPONSE_HEAD: LogId = LogId("WSGIRS0443");
/// A RESPONSE_FILE frame without its descriptor.
pub const RESPONSE_FILE_NO_FD: LogId = LogId("WSGIRS0444");
/// A RESPONSE_FILE descriptor that cannot be sent.
pub const BAD_RESPONSE_FILE: LogId = LogId("WSGIRS0445");
/// A frame of a kind the relay does not expect.
pub const UNEXPECTED_FRAME: LogId = LogId("WSGIRS0446");
/// Reading from the daemon failed (an I/O error).
pub const DAEMON_READ_ERROR: LogId = LogId("WSGIRS0447");
/// Sending the request body to the daemon failed.
pub const BODY_SEND_FAILED: LogId = LogId("WSGIRS0448");
/// Reading the request body from the client timed out (Apache's `Timeout`
/// or `RequestReadTimeout body=`) while it was relayed to a daemon: 408.
pub const BODY_READ_TIMEOUT: LogId = LogId("WSGIRS0600");
/// A response head from the daemon whose reason phrase has a control
/// character (CR, LF, ...): a compromised daemon splitting the head (502).
pub const BAD_STATUS_REASON: LogId = LogId("WSGIRS0449");
/// `script-user=`/`script-group=`: the script file (or its directory) has
/// the wrong owner/group or is writable by others (403, as mod_wsgi).
pub const SCRIPT_OWNER_REFUSED: LogId = LogId("WSGIRS0450");
/// The listener on a group's socket was not created by the Apache parent
/// (`SO_PEERCRED` pid/uid: a planted socket): nothing is sent to it (503).
pub const UNTRUSTED_LISTENER: LogId = LogId("WSGIRS0451");
/// A symlink, or a file owned by someone else, was at a group's socket
/// path when the socket was created: removed, not followed.
pub const SOCKET_PATH_REPLACED: LogId = LogId("WSGIRS0452");
/// A daemon refused to run a script the configuration does not map to a
/// WSGI script (or that WSGIRestrictProcess keeps from its group).
pub const SCRIPT_OUT_OF_SCOPE: LogId = LogId("WSGIRS0460");
/// A request waited longer than `queue-timeout` for a daemon worker (504,
/// the application did not run).
pub const QUEUE_TIMEOUT_EXPIRED: LogId = LogId("WSGIRS0464");
/// request-timeout passed in a thread with interrupt-timeout set:
/// `mod_wsgi.RequestTimeout` is raised in it.
pub const REQUEST_INTERRUPTING: LogId = LogId("WSGIRS0465");
/// The Python stacks of every thread, logged by a daemon timer before it
/// interrupts or restarts anything (the frame lines follow).
pub const STACK_DUMP: LogId = LogId("WSGIRS0466");
/// `mod_wsgi.RequestTimeout` unwound a request (504, or a truncated response).
pub const REQUEST_INTERRUPTED: LogId = LogId("WSGIRS0467");
/// No WSGI script loaded within `startup-timeout` of the first request.
pub const STARTUP_TIMEOUT: LogId = LogId("WSGIRS0468");
/// A thread did not unwind within `interrupt-timeout` of its RequestTimeout.
pub const INTERRUPT_TIMEOUT: LogId = LogId("WSGIRS0469");
/// A daemon process begins a graceful stop: it keeps serving while its
/// requests in flight finish, for up to graceful- or eviction-timeout.
pub const GRACEFUL_STOP: LogId = LogId("WSGIRS0470");
/// The graceful stop of a daemon process timed out with requests running.
pub const GRACEFUL_TIMEOUT_EXPIRED: LogId = LogId("WSGIRS0471");
/// A daemon accepted a request whose Apache child had already given up on
/// it (shut its end: 504, 503 or cancelled): the application did not run.
pub const REQUEST_ABANDONED: LogId = LogId("WSGIRS0475");
/// `chroot=`: the request's WSGI script is not within the chroot directory
/// (500, as mod_wsgi).
pub const SCRIPT_OUTSIDE_CHROOT: LogId = LogId("WSGIRS0476");
/// A stopping daemon did not finish finalising Python within
/// `shutdown-timeout` (a non-daemon thread, an atexit handler): it exits
/// regardless.
pub const SHUTDOWN_TIMED_OUT: LogId = LogId("WSGIRS0480");
/// A sub-interpreter still runs threads the application started when the
/// process ends: its atexit handlers run, the interpreter is not ended
/// (ending it would free the thread states those threads run on).
pub const INTERPRETER_LEFT_RUNNING: LogId = LogId("WSGIRS0481");
/// A daemon process could not be forked: the slot is forked again after a
/// back-off (1 s doubling to 60 s, checked by the monitor hook).
pub const DAEMON_FORK_RETRY: LogId = LogId("WSGIRS0482");
/// A recycling daemon process handed its seat to the standby, which now
/// accepts; it stops accepting and drains.
pub const HANDED_OVER: LogId = LogId("WSGIRS0483");
/// A recycling daemon process found no standby ready (or it did not start
/// accepting in time): it drains while still accepting, as mod_wsgi.
pub const NO_STANDBY: LogId = LogId("WSGIRS0484");
/// A daemon process is ready as its group's standby (not accepting).
pub const STANDBY_READY: LogId = LogId("WSGIRS0485");
/// The standby took a seat over and accepts.
pub const STANDBY_ACTIVE: LogId = LogId("WSGIRS0486");
/// A daemon process's resident memory passed maximum-memory.
pub const MAXIMUM_MEMORY: LogId = LogId("WSGIRS0487");
/// The parent gave the seat of a daemon that died to the standby.
pub const SEAT_TO_STANDBY: LogId = LogId("WSGIRS0488");
/// The parent could not map a group's seats: the group runs without standby.
pub const NO_SEATS: LogId = LogId("WSGIRS0489");
/// Apache restarts: a daemon of the ending generation was told to drain and exit.
pub const GENERATION_ENDED: LogId = LogId("WSGIRS0490");
/// A daemon resource option (cpu-priority, a limit, a buffer size) could not be applied.
pub const LIMIT_NOT_APPLIED: LogId = LogId("WSGIRS0419");

// ---- 05xx: configuration (config) ----------------------------------------------

/// `WSGIVerboseDebugging` was given: accepted, no effect (as mod_wsgi 6).
pub const VERBOSE_DEBUGGING_IGNORED: LogId = LogId("WSGIRS0501");
/// `WSGIPerInterpreterGIL On` on a Python build before 3.12: no effect.
pub const PER_INTERPRETER_GIL_UNAVAILABLE: LogId = LogId("WSGIRS0502");
/// `WSGIFreeThreading On` on a Python build with the GIL: no effect.
pub const FREE_THREADING_UNAVAILABLE: LogId = LogId("WSGIRS0503");

// ---- 058x: <WSGIInterpreterOptions> (config::interpreter_options) ------------

/// `WSGIFreeThreading` inside a section with `application-group=`: ignored,
/// free-threading is process-wide (mod_wsgi's WSGI0201).
pub const FREE_THREADING_APP_SCOPED: LogId = LogId("WSGIRS0580");
/// A section's `WSGISwitchInterval` selected by `application-group=` not
/// applied to a sub-interpreter without its own GIL (mod_wsgi's WSGI0199).
pub const SWITCH_INTERVAL_SKIPPED: LogId = LogId("WSGIRS0581");
/// A section's `WSGISwitchInterval` applied when an interpreter was set up.
pub const SWITCH_INTERVAL_SET: LogId = LogId("WSGIRS0582");
/// A WSGI script is being loaded or reloaded (mod_wsgi's info line).
pub const SCRIPT_LOADING: LogId = LogId("WSGIRS0583");
/// The interpreter of a `WSGIDispatchScript`'s application group could not
/// be had (500).
pub const DISPATCH_INTERPRETER: LogId = LogId("WSGIRS0505");
/// A `WSGIDispatchScript` could not be loaded; the request goes on with the
/// configured groups and callable, as mod_wsgi.
pub const DISPATCH_LOAD_FAILED: LogId = LogId("WSGIRS0506");
/// A `WSGIDispatchScript` hook raised or returned a bad value (500).
pub const DISPATCH_FAILED: LogId = LogId("WSGIRS0507");

// ---- 051x: auth scripts (auth) ---------------------------------------------------

/// An auth, group or access script raised (loading it or in its function);
/// the traceback follows.
pub const AUTH_SCRIPT_FAILED: LogId = LogId("WSGIRS0510");
/// An auth, group or access script lacks the function its hook calls.
pub const AUTH_NO_FUNCTION: LogId = LogId("WSGIRS0511");
/// An auth, group or access script's function returned a value of the wrong kind.
pub const AUTH_BAD_RESULT: LogId = LogId("WSGIRS0512");
/// The interpreter of an auth script's application group is not available.
pub const AUTH_NO_INTERPRETER: LogId = LogId("WSGIRS0513");
/// A provider or hook ran where no script is configured for it.
pub const AUTH_NO_SCRIPT: LogId = LogId("WSGIRS0514");
/// `WSGIAccessScript` refused the client (403).
pub const ACCESS_DENIED: LogId = LogId("WSGIRS0515");
/// `Require wsgi-group`: the user is in none of the groups named.
pub const GROUP_NOT_MEMBER: LogId = LogId("WSGIRS0516");

// ---- 056x-057x: metrics and health endpoints (stats, handler::monitoring) ----

/// The shared statistics segment could not be created: the endpoints show nothing.
pub const STATS_SEGMENT_FAILED: LogId = LogId("WSGIRS0560");
/// The shared statistics segment (sized at start-up) is smaller than this
/// configuration may need: processes beyond it are not counted.
pub const STATS_SEGMENT_SMALL: LogId = LogId("WSGIRS0561");
/// The statistics group table is full: these process groups are not counted.
pub const STATS_GROUPS_DROPPED: LogId = LogId("WSGIRS0562");
/// A process found no free statistics slot: it is not counted.
pub const STATS_NO_SLOT: LogId = LogId("WSGIRS0563");
/// `wsgi-metrics`/`wsgi-health` asked with a method other than GET or HEAD (405).
pub const MONITORING_METHOD: LogId = LogId("WSGIRS0564");
/// `wsgi-health` answered 503: the groups not ready are named.
pub const HEALTH_UNAVAILABLE: LogId = LogId("WSGIRS0565");
// ---- 054x-055x: metrics and telemetry (metrics) ---------------------------------

/// The telemetry reporter thread of a process could not be started.
pub const TELEMETRY_THREAD_FAILED: LogId = LogId("WSGIRS0540");
/// The telemetry reporter started in a process (info).
pub const TELEMETRY_STARTED: LogId = LogId("WSGIRS0541");
// Events API and LogHandler (issue 14), WSGIRS0520-0539.
/// An event subscriber raised (its traceback follows); the request goes on.
pub const EVENT_CALLBACK_FAILED: LogId = LogId("WSGIRS0520");
/// An event payload could not be built (its traceback follows); not published.
pub const EVENT_PAYLOAD_FAILED: LogId = LogId("WSGIRS0521");
/// `mod_wsgi.subscribe_signals()` outside a daemon process: the callback is never called.
pub const SIGNALS_EMBEDDED: LogId = LogId("WSGIRS0522");
/// The per-request `request_data`/`active_requests` bookkeeping failed (traceback follows).
pub const REQUEST_DATA_FAILED: LogId = LogId("WSGIRS0523");

// Per-interpreter GIL (issue 20), WSGIRS0615-0629.
/// An application group with its own GIL imported an extension module
/// that does not support isolated sub-interpreters.
pub const NOT_ISOLATED_EXTENSION: LogId = LogId("WSGIRS0615");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_brackets() {
        assert_eq!(DAEMON_CLOSED.to_string(), "[WSGIRS0434]");
        assert_eq!(DAEMON_CLOSED.code(), "WSGIRS0434");
    }
}
