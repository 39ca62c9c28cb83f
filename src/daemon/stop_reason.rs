//! mod_wsgi's `shutdown_reason` for the `process_stopping` event, from the
//! reason a daemon process's watchdogs, workers or signals gave for its stop
//! (the human text that ends WSGIRS0412's line), for the event and for
//! telemetry's `process_stopping`/`process_stopped` records. A graceful
//! drain that ended reports what started it. Pure; no GIL.

use super::graceful::Trigger;
use super::state::DaemonState;

/// The `shutdown_reason` value for a stop given as `why`.
pub fn shutdown_reason(state: &DaemonState, why: &str) -> &'static str {
    if why.starts_with("graceful stop") {
        return match state.drain().map(|d| d.trigger) {
            Some(Trigger::Signal) if why.contains("eviction") => "eviction_signal",
            Some(t) => of_trigger(state, t),
            None => "graceful_signal",
        };
    }
    match why {
        "maximum-requests reached" => "maximum_requests",
        "restart-interval reached" => "restart_interval",
        "cpu-time-limit reached (SIGXCPU)" => "cpu_time_limit",
        "request-timeout reached" | "interrupt-timeout reached" => "request_timeout",
        "inactivity-timeout reached" => "inactivity_timeout",
        "deadlock-timeout reached" => "deadlock_timeout",
        "startup-timeout reached" => "startup_timeout",
        "WSGI script changed" => "script_reload",
        "SIGUSR1 (process eviction)" => "eviction_signal",
        "SIGUSR1" => "graceful_signal",
        "maximum-memory reached" => "maximum_memory",
        _ => "shutdown_signal",
    }
}

fn of_trigger(state: &DaemonState, t: Trigger) -> &'static str {
    match t {
        Trigger::MaximumRequests => "maximum_requests",
        Trigger::RestartInterval => "restart_interval",
        Trigger::CpuTimeLimit => "cpu_time_limit",
        Trigger::RequestTimeout => "request_timeout",
        // Ours: mod_wsgi has no maximum-memory.
        Trigger::MaximumMemory => "maximum_memory",
        // A restart: mod_wsgi's daemons get SIGTERM then.
        Trigger::GenerationEnd => "shutdown_signal",
        Trigger::Signal if state.group.opts.graceful.on_signal().1 => "eviction_signal",
        Trigger::Signal => "graceful_signal",
    }
}

#[cfg(test)]
mod tests {
    use super::shutdown_reason;
    use crate::config::daemon_options::parse;
    use crate::daemon::state::DaemonState;
    use crate::daemon::supervisor::tests::group_of;
    use std::sync::Arc;

    #[test]
    fn reasons_are_mod_wsgis() {
        let args = ["g".to_string()];
        let state = DaemonState::new(&group_of(parse(&args).unwrap(), 1, None), Arc::default());
        for (why, reason) in [
            ("maximum-requests reached", "maximum_requests"),
            ("SIGUSR1", "graceful_signal"),
            ("SIGUSR1 (process eviction)", "eviction_signal"),
            ("SIGTERM", "shutdown_signal"),
            ("inactivity-timeout reached", "inactivity_timeout"),
            ("WSGI script changed", "script_reload"),
            ("maximum-memory reached", "maximum_memory"),
        ] {
            assert_eq!(shutdown_reason(&state, why), reason, "{why}");
        }
    }
}
