//! mod_wsgi's `shutdown_reason` for the `process_stopping` event, from the
//! reason a daemon process's watchdogs, workers or signals gave for its stop
//! (the human text that ends WSGIRS0412's line). A graceful drain that
//! ended reports what started it. Pure; no GIL.

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
        _ => "shutdown_signal",
    }
}

fn of_trigger(state: &DaemonState, t: Trigger) -> &'static str {
    match t {
        Trigger::MaximumRequests => "maximum_requests",
        Trigger::RestartInterval => "restart_interval",
        Trigger::CpuTimeLimit => "cpu_time_limit",
        Trigger::RequestTimeout => "request_timeout",
        Trigger::Signal if state.group.opts.graceful.on_signal().1 => "eviction_signal",
        Trigger::Signal => "graceful_signal",
    }
}
