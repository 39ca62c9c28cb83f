//! The timers that stop a daemon process, watched by its main thread while
//! the workers serve: a stop signal (SIGTERM/SIGINT; SIGUSR1, the
//! generation-end signal from the parent at a restart, and SIGXCPU at
//! `cpu-time-limit` stop gracefully, `graceful`; SIGHUP and SIGUSR2 do not
//! stop it, they are `process_signal` events, `signal_events`),
//! a worker stopping the process itself (maximum-requests, a changed
//! script), a graceful stop under way, restart-interval, maximum-memory,
//! inactivity-timeout,
//! deadlock-timeout (fed by the GIL monitor thread started here) and
//! request-timeout. Each timer is one function in
//! [`WATCHDOGS`]; a new one is one more entry. Called by `process::run`;
//! only the GIL monitor takes the GIL (briefly, every 100 ms).

use super::graceful::{self, Trigger};
use super::request_timer;
use super::state::DaemonState;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{DEADLOCK_TIMEOUT, INTERRUPT_TIMEOUT, STARTUP_TIMEOUT};
use crate::config::daemon_options::DaemonOptions;
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::time::Duration;

/// A timer: says why the process must stop now, or None.
type Watchdog = fn(&DaemonState, &DaemonOptions) -> Option<&'static str>;

/// Every timer, checked in this order every 100 ms.
const WATCHDOGS: [Watchdog; 8] = [
    self_stop,
    drain,
    inactivity,
    deadlock,
    request_timeout,
    startup_timeout,
    restart_interval,
    maximum_memory,
];

/// Waits for a stop signal, or for a watchdog to fire; returns what stopped
/// the process.
pub fn wait_for_stop(state: &DaemonState) -> &'static str {
    let o = &state.group.opts;
    let mut signal_events = super::signal_events::SignalEvents::new(o.threads > 0);
    loop {
        if let Some(why) = WATCHDOGS.iter().find_map(|w| w(state, o)) {
            return why;
        }
        let received = super::stop_signal::wait(Duration::from_millis(100));
        // From the Apache parent at a restart (`retirement`).
        if super::stop_signal::generation_ended()
            && let Some(why) = graceful::begin(state, Trigger::GenerationEnd)
        {
            return why;
        }
        let why = match received {
            Some(Signal::SIGXCPU) => graceful::begin(state, Trigger::CpuTimeLimit),
            Some(Signal::SIGUSR1) => graceful::begin(state, Trigger::Signal),
            Some(s @ (Signal::SIGHUP | Signal::SIGUSR2)) => {
                signal_events.deliver(s);
                None
            }
            Some(s) => Some(s.as_str()),
            None => None,
        };
        if let Some(why) = why {
            return why;
        }
    }
}

/// A worker stopped the process itself.
fn self_stop(state: &DaemonState, _: &DaemonOptions) -> Option<&'static str> {
    state.self_stop()
}

/// A graceful stop under way ended: its requests finished, or its time is up.
fn drain(state: &DaemonState, _: &DaemonOptions) -> Option<&'static str> {
    graceful::watch(state)
}

/// inactivity-timeout: armed by the first request, fires when no request
/// has been running for that long.
fn inactivity(state: &DaemonState, o: &DaemonOptions) -> Option<&'static str> {
    let limit = o.inactivity_timeout?;
    let last = state.last_activity_ms();
    if last > 0
        && state.in_flight() == 0
        && state.now_ms().saturating_sub(last) >= limit.as_millis() as u64
    {
        state.mark_self_restart();
        return Some("inactivity-timeout reached");
    }
    None
}

/// deadlock-timeout: the GIL monitor could not take the GIL for that long.
fn deadlock(state: &DaemonState, o: &DaemonOptions) -> Option<&'static str> {
    let limit = o.deadlock_timeout?;
    let seen = state.gil_seen_ms();
    if seen > 0 && state.now_ms().saturating_sub(seen) >= limit.as_millis() as u64 {
        // Read without the GIL: whoever holds it keeps it.
        request_timer::log_stacks(state, None, "deadlock-timeout, before restarting");
        log::server(
            Level::Err,
            None,
            &format!(
                "{DEADLOCK_TIMEOUT} daemon process {} could not take the Python GIL for \
                 deadlock-timeout={:.1}s; restarting the process",
                std::process::id(),
                limit.as_secs_f64()
            ),
        );
        state.mark_self_restart();
        return Some("deadlock-timeout reached");
    }
    None
}

/// request-timeout and interrupt-timeout, per thread (`request_timer`):
/// the stacks, then a graceful restart (the other requests get
/// graceful-timeout, then shutdown-timeout, to finish; the late one is
/// stale and not waited for).
fn request_timeout(state: &DaemonState, _: &DaemonOptions) -> Option<&'static str> {
    if state.drain().is_some() {
        return None;
    }
    let (code, why, worker) = request_timer::check(state)?;
    request_timer::log_stacks(state, Some(worker), "request-timeout, before restarting");
    log::server(
        Level::Err,
        None,
        &format!("{code} daemon process {}: {why}", std::process::id()),
    );
    if code == INTERRUPT_TIMEOUT {
        state.mark_self_restart();
        return Some("interrupt-timeout reached");
    }
    graceful::begin(state, Trigger::RequestTimeout)
}

/// startup-timeout: armed by the first request, cancelled once a WSGI
/// script has loaded (as mod_wsgi); a process that could not load one
/// within it restarts.
fn startup_timeout(state: &DaemonState, o: &DaemonOptions) -> Option<&'static str> {
    let limit = o.startup_timeout?;
    if !state.timers.startup_expired(state.now_ms()) {
        return None;
    }
    log::server(
        Level::Err,
        None,
        &format!(
            "{STARTUP_TIMEOUT} daemon process {} of group '{}' has not loaded its WSGI script \
             within startup-timeout={:.1}s of the first request; restarting the process",
            std::process::id(),
            o.name,
            limit.as_secs_f64()
        ),
    );
    state.mark_self_restart();
    Some("startup-timeout reached")
}

/// restart-interval: the process restarts once it has run that long,
/// gracefully, as for maximum-requests (the connections waiting on the
/// socket when it stops go to its replacement).
fn restart_interval(state: &DaemonState, o: &DaemonOptions) -> Option<&'static str> {
    let limit = o.restart_interval?;
    // Counted from when the process began accepting (a standby waits first).
    if state.active_ms() >= limit.as_millis() as u64 {
        return graceful::begin(state, Trigger::RestartInterval);
    }
    None
}

/// maximum-memory (ours): the resident memory passed it; a graceful
/// recycle, as for maximum-requests (also checked after each request).
fn maximum_memory(state: &DaemonState, _: &DaemonOptions) -> Option<&'static str> {
    graceful::memory_check(state)
}

/// With deadlock-timeout set: a thread that takes and releases the GIL
/// (main interpreter) every 100 ms, recording when it last succeeded; a GIL
/// held for deadlock-timeout restarts the process.
pub fn start_gil_monitor(state: &Arc<DaemonState>) -> Option<std::thread::JoinHandle<()>> {
    state.group.opts.deadlock_timeout?;
    let main = crate::python::interp::main()?;
    state.gil_seen();
    let state = state.clone();
    std::thread::Builder::new()
        .name("wsgi-gil-monitor".into())
        .spawn(move || {
            while !state.monitor_stopped() {
                crate::python::interp::run(main, |_py| ());
                state.gil_seen();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .ok()
}
