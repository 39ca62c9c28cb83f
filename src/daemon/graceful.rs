//! The graceful stop of a daemon process, as mod_wsgi 6 does it, with a
//! standby first: when the process must restart for maximum-requests,
//! restart-interval, maximum-memory, a changed script, cpu-time-limit
//! (SIGXCPU), request-timeout or SIGUSR1, it first hands its seat to the
//! group's standby process (`handover`) when one is ready, waits until that
//! one accepts, and stops accepting ([`hand_over`]); then, if requests that
//! are not stale (see `DaemonState::non_stale_requests`) are running, it
//! keeps serving (without a standby still accepting new requests, as
//! mod_wsgi) until none is running
//! (each worker checks after its request, the main thread every 100 ms),
//! then stops at once; after `graceful-timeout` (for a SIGUSR1 with
//! `eviction-timeout` set, that instead) it stops anyway, and the requests
//! still running get `shutdown-timeout`. Idle, or with a zero timeout, it
//! stops at once. Every such stop is the process's own (the replacement
//! takes what waits on the socket). The drain itself is kept in
//! [`DaemonState`]; this file decides and logs. Called by `watchdog` (the
//! timers and signals), `state` (maximum-requests) and `workers`.

use super::state::{DaemonState, DrainStart};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    GRACEFUL_STOP, GRACEFUL_TIMEOUT_EXPIRED, HANDED_OVER, MAXIMUM_MEMORY, NO_STANDBY,
};
use std::time::Duration;

/// What makes a daemon process stop gracefully.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    MaximumRequests,
    RestartInterval,
    CpuTimeLimit,
    RequestTimeout,
    /// SIGUSR1 sent to the daemon process.
    Signal,
    /// The resident memory passed maximum-memory.
    MaximumMemory,
    /// The generation-end signal (SIGRTMIN+1) from the Apache parent: its
    /// configuration generation ended (a restart); the new generation has
    /// daemons of its own.
    GenerationEnd,
}

impl Trigger {
    /// Whether the stop is the process's own (its replacement takes what
    /// waits on the socket), not the generation's end (then the workers
    /// serve what is queued before they exit: nobody else will).
    fn own(self) -> bool {
        self != Trigger::GenerationEnd
    }
}

/// Marks the stop for `trigger` as the process's own when it is.
fn mark(state: &DaemonState, trigger: Trigger) {
    if trigger.own() {
        state.mark_self_restart();
    }
}

impl Trigger {
    /// The reason a stop for this trigger gives (it ends WSGIRS0412's line).
    fn reason(self, eviction: bool) -> &'static str {
        match self {
            Trigger::MaximumRequests => "maximum-requests reached",
            Trigger::RestartInterval => "restart-interval reached",
            Trigger::CpuTimeLimit => "cpu-time-limit reached (SIGXCPU)",
            Trigger::RequestTimeout => "request-timeout reached",
            Trigger::MaximumMemory => "maximum-memory reached",
            Trigger::GenerationEnd => "Apache restarted (generation-end signal)",
            Trigger::Signal if eviction => "SIGUSR1 (process eviction)",
            Trigger::Signal => "SIGUSR1",
        }
    }

    /// How long the drain may last, which option says so, and whether it
    /// is a process eviction.
    fn limit(self, state: &DaemonState) -> (Duration, &'static str, bool) {
        let g = &state.group.opts.graceful;
        match self {
            Trigger::Signal => match g.on_signal() {
                (d, true) => (d, "eviction-timeout", true),
                (d, false) => (d, "graceful-timeout", false),
            },
            _ => (g.timeout, "graceful-timeout", false),
        }
    }
}

/// The process must restart for `trigger`: begins the drain when
/// non-stale requests are running (logged, WSGIRS0470) and returns None,
/// or returns the reason to stop now (the stop is marked as the process's
/// own). None too when a drain or a stop is already under way.
pub fn begin(state: &DaemonState, trigger: Trigger) -> Option<&'static str> {
    let (limit, option, eviction) = trigger.limit(state);
    // The next generation has its own daemons: no standby to hand over to.
    if trigger.own() && !state.is_stopping() && state.drain().is_none() {
        hand_over(state, trigger.reason(eviction));
    }
    match state.begin_drain(trigger, limit) {
        DrainStart::StopNow => {
            mark(state, trigger);
            Some(trigger.reason(eviction))
        }
        DrainStart::Began(active) => {
            log::server(
                Level::Info,
                None,
                &format!(
                    "{GRACEFUL_STOP} daemon process {} of group '{}': {}; graceful stop: it keeps \
                     serving until its {active} request(s) in flight finish, for up to \
                     {option}={:.1}s{}",
                    std::process::id(),
                    state.group.opts.name,
                    trigger.reason(eviction),
                    limit.as_secs_f64(),
                    if state.is_accepting() {
                        ""
                    } else {
                        " (no longer accepting: the standby does)"
                    }
                ),
            );
            None
        }
        DrainStart::AlreadyStopping => None,
    }
}

/// After each request, as mod_wsgi's workers: a draining process with no
/// non-stale request left stops now.
pub fn after_request(state: &DaemonState) {
    if let Some(d) = state.drain()
        && state.non_stale_requests() == 0
    {
        state.stop_for(drained(state), d.trigger.own());
    }
}

/// How long a recycling process waits for the standby it claimed to accept.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Before a recycling process stops accepting (once per process): hands
/// its seat to the group's standby (waiting, still serving, up to 5 s for
/// one still starting) and waits (up to 5 s) until that one accepts, then
/// stops accepting (WSGIRS0483). Without a standby ready, or
/// when it does not take over in time, the process keeps accepting while
/// it drains, as mod_wsgi (WSGIRS0484). Returns whether it handed over.
pub fn hand_over(state: &DaemonState, why: &str) -> bool {
    let Some(seats) = state.group.seats.as_ref() else {
        return false;
    };
    if !state.first_handover() {
        return !state.is_accepting();
    }
    let (pid, name) = (std::process::id(), &state.group.opts.name);
    // A standby may still be starting (the previous one took over moments
    // ago): the process keeps serving meanwhile.
    let until = std::time::Instant::now() + TAKEOVER_WAIT;
    let mut claimed = seats.claim(state.slot());
    while claimed.is_none() && std::time::Instant::now() < until && !state.is_stopping() {
        std::thread::sleep(Duration::from_millis(5));
        claimed = seats.claim(state.slot());
    }
    let took = claimed.filter(|&to| seats.wait_until_active(to, TAKEOVER_WAIT));
    match took {
        Some(to) => {
            state.stop_accepting();
            log::server(
                Level::Info,
                None,
                &format!(
                    "{HANDED_OVER} daemon process {pid} of group '{name}' ({why}): the standby \
                     process (slot #{to}) accepts now; this one stops accepting and finishes its \
                     {} request(s) in flight",
                    state.in_flight()
                ),
            );
            true
        }
        None => {
            log::server(
                Level::Warning,
                None,
                &format!(
                    "{NO_STANDBY} daemon process {pid} of group '{name}' ({why}): no standby \
                     process took over (none ready, or not within {} s); it keeps accepting \
                     until it stops, and requests wait for its replacement to start",
                    TAKEOVER_WAIT.as_secs()
                ),
            );
            false
        }
    }
}

/// The resident memory of this process (bytes), from /proc/self/statm.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf takes no pointers.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(4096) as u64)
}

/// maximum-memory (between requests and by the watchdog): once the
/// resident memory passes it, the process recycles gracefully
/// (WSGIRS0487, once). Returns the reason to stop now, as [`begin`].
pub fn memory_check(state: &DaemonState) -> Option<&'static str> {
    let limit = state.group.opts.graceful.maximum_memory?;
    if state.is_stopping() || state.drain().is_some() || !state.is_accepting() {
        return None;
    }
    let rss = resident_bytes()?;
    if rss <= limit {
        return None;
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "{MAXIMUM_MEMORY} daemon process {} of group '{}' uses {} MiB of resident memory, \
             more than maximum-memory={} MiB; recycling it gracefully",
            std::process::id(),
            state.group.opts.name,
            rss >> 20,
            limit >> 20
        ),
    );
    begin(state, Trigger::MaximumMemory)
}

const DRAINED: &str = "graceful stop: requests in flight finished";
const STALE_LEFT: &str = "graceful stop: only stale requests left";

/// Why a drain with no non-stale request left ends.
fn drained(state: &DaemonState) -> &'static str {
    if state.in_flight() > 0 {
        STALE_LEFT
    } else {
        DRAINED
    }
}

/// The watchdog of a drain under way (checked every 100 ms): stops the
/// process once no non-stale request runs (a request may have turned
/// stale), or when the drain's time is up (WSGIRS0471).
pub fn watch(state: &DaemonState) -> Option<&'static str> {
    let drain = state.drain()?;
    let active = state.non_stale_requests();
    if active == 0 {
        mark(state, drain.trigger);
        return Some(drained(state));
    }
    if state.now_ms() < drain.until_ms {
        return None;
    }
    let (limit, option, _) = drain.trigger.limit(state);
    let o = &state.group.opts;
    log::server(
        Level::Warning,
        None,
        &format!(
            "{GRACEFUL_TIMEOUT_EXPIRED} daemon process {} of group '{}': {option}={:.1}s \
             expired with {active} request(s) still running; stopping, they get \
             shutdown-timeout={:.1}s to finish",
            std::process::id(),
            o.name,
            limit.as_secs_f64(),
            o.shutdown_timeout.as_secs_f64()
        ),
    );
    mark(state, drain.trigger);
    Some(if option == "eviction-timeout" {
        "graceful stop: eviction-timeout expired"
    } else {
        "graceful stop: graceful-timeout expired"
    })
}

#[cfg(test)]
mod tests {
    //! The drain's decisions, without the logging paths (unit tests cannot
    //! link Apache's log functions): tests/daemon_graceful.rs runs the rest.
    use super::*;
    use crate::config::daemon_options::parse;
    use crate::daemon::supervisor::tests::group_of;
    use std::sync::Arc;

    fn state(options: &[&str]) -> Arc<DaemonState> {
        let args: Vec<String> = std::iter::once("g")
            .chain(options.iter().copied())
            .map(str::to_string)
            .collect();
        let group = group_of(parse(&args).unwrap(), 1, None);
        DaemonState::new(&group, Arc::default())
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn idle_or_zero_timeout_stops_at_once() {
        let s = state(&["threads=2"]);
        assert_eq!(
            s.begin_drain(Trigger::RestartInterval, secs(15)),
            DrainStart::StopNow
        );
        s.request_started(0);
        assert_eq!(
            s.begin_drain(Trigger::Signal, Duration::ZERO),
            DrainStart::StopNow
        );
        assert!(s.drain().is_none());
    }

    #[test]
    fn a_busy_process_drains_once_and_keeps_serving() {
        let s = state(&["threads=3"]);
        s.request_started(0);
        s.request_started(2);
        assert_eq!(
            s.begin_drain(Trigger::CpuTimeLimit, secs(15)),
            DrainStart::Began(2)
        );
        // Only the first trigger counts.
        assert_eq!(
            s.begin_drain(Trigger::Signal, secs(1)),
            DrainStart::AlreadyStopping
        );
        let d = s.drain().unwrap();
        assert_eq!(d.trigger, Trigger::CpuTimeLimit);
        assert!(d.until_ms >= s.now_ms() + 14_000);
        // Requests still run: the workers' check does not stop it.
        after_request(&s);
        assert!(!s.is_stopping());
    }

    #[test]
    fn stale_requests_are_not_counted() {
        let s = state(&["threads=2", "request-timeout=0.05"]);
        s.request_started(0);
        s.request_started(1);
        assert_eq!(s.non_stale_requests(), 2);
        assert_eq!(
            s.begin_drain(Trigger::MaximumRequests, secs(15)),
            DrainStart::Began(2)
        );
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(s.non_stale_requests(), 0);
        // The workers' check stops it: nothing left worth waiting for.
        after_request(&s);
        assert!(s.is_stopping() && s.is_self_restart());
        assert_eq!(s.self_stop(), Some(STALE_LEFT));
        // Without request-timeout no request is ever stale.
        let s = state(&["threads=1"]);
        s.request_started(0);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(s.non_stale_requests(), 1);
    }

    #[test]
    fn the_generation_end_is_not_the_processs_own_stop() {
        assert!(!Trigger::GenerationEnd.own());
        assert!(Trigger::MaximumMemory.own() && Trigger::Signal.own());
        // A drain for the generation's end: its end does not mark the stop
        // as the process's own (the workers then serve what is queued).
        // (The request turns stale: request_finished would link the logging.)
        let s = state(&["threads=2", "request-timeout=0.05"]);
        s.request_started(0);
        assert_eq!(
            s.begin_drain(Trigger::GenerationEnd, secs(15)),
            DrainStart::Began(1)
        );
        std::thread::sleep(Duration::from_millis(100));
        after_request(&s);
        assert!(s.is_stopping() && !s.is_self_restart());
        let s = state(&["threads=2", "request-timeout=0.05"]);
        s.request_started(0);
        s.begin_drain(Trigger::MaximumMemory, secs(15));
        std::thread::sleep(Duration::from_millis(100));
        after_request(&s);
        assert!(s.is_stopping() && s.is_self_restart());
    }

    #[test]
    fn sigusr1_takes_eviction_timeout_when_set() {
        let s = state(&["graceful-timeout=7", "eviction-timeout=3"]);
        assert_eq!(
            Trigger::Signal.limit(&s),
            (secs(3), "eviction-timeout", true)
        );
        assert_eq!(
            Trigger::MaximumRequests.limit(&s),
            (secs(7), "graceful-timeout", false)
        );
        assert_eq!(Trigger::Signal.reason(true), "SIGUSR1 (process eviction)");
        let s = state(&["graceful-timeout=7"]);
        assert_eq!(
            Trigger::Signal.limit(&s),
            (secs(7), "graceful-timeout", false)
        );
    }
}
