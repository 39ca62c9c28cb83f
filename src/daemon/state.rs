//! The state of one daemon process, in one owned structure: whether it is
//! stopping (and why, and whether it stops itself, so the parent keeps the
//! socket for the replacement), whether it drains first (a graceful stop:
//! for what and until when; `graceful` decides when to begin and end one),
//! what its workers are doing (requests in flight, when each worker's
//! request started, which of them are stale, when the last one began or
//! ended, how many were served), what the watchdogs read (when the GIL
//! monitor last took the GIL) and the WSGI scripts it has run (for script
//! reloading). Made once by `process::run` after the fork and shared
//! (`Arc`) with the worker threads (`workers`), the watchdogs (`watchdog`)
//! and each request (`server::serve`). Lock-free atomics, plus two mutexes
//! never held with the GIL; no method takes the GIL.

use super::graceful::{self, Trigger};
use super::request_timer::RequestTimers;
use super::supervisor::Group;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{LogId, MAXIMUM_REQUESTS, SCRIPT_CHANGED};
use crate::config::script_scope::ScriptScope;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A graceful stop under way: the process keeps serving until no
/// non-stale request runs, or until `until_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drain {
    pub trigger: Trigger,
    /// The deadline on the process's millisecond clock.
    pub until_ms: u64,
}

/// What asking for a graceful stop did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainStart {
    /// Nothing to wait for (no non-stale request, or a zero timeout): stop now.
    StopNow,
    /// The drain began; this many non-stale requests were running.
    Began(usize),
    /// A drain (or the stop) was already under way: nothing changed.
    AlreadyStopping,
}

/// One daemon process's state, shared by its threads.
pub struct DaemonState {
    pub group: Arc<Group>,
    /// What the configuration maps to WSGI scripts (checked before a
    /// request's script runs).
    pub script_scope: Arc<ScriptScope>,
    /// The origin of the millisecond clock below (0 means "never").
    epoch: Instant,
    /// Set when the process is stopping: workers finish their request and exit.
    stopping: AtomicBool,
    /// Set when the process stops itself (maximum-requests, a changed script,
    /// a watchdog): the socket stays open in the parent, so queued
    /// connections wait for the replacement.
    self_restart: AtomicBool,
    /// Set when a WSGI script changed and this process restarts for it.
    script_changed: AtomicBool,
    /// Why the process stops itself (the text ends WSGIRS0412's line).
    stop_why: OnceLock<&'static str>,
    /// The graceful stop under way, if any (begun once; never held with the GIL).
    drain: Mutex<Option<Drain>>,
    /// Requests being served right now, and when the last one ended or began
    /// (ms), for inactivity-timeout.
    in_flight: AtomicU64,
    last_activity_ms: AtomicU64,
    /// Requests served by this process (for maximum-requests).
    served: AtomicU64,
    /// Start time (ms, 0 = idle) of each worker's current request, for
    /// request-timeout.
    started_ms: Vec<AtomicU64>,
    /// Whether each worker's current request is under `WSGIIgnoreActivity
    /// On` (it does not count as activity for inactivity-timeout).
    ignored: Vec<AtomicBool>,
    /// Per-thread request-timeout/interrupt-timeout records and the
    /// startup-timeout deadline.
    pub timers: RequestTimers,
    /// When the GIL monitor last took the GIL (ms), for deadlock-timeout.
    gil_seen_ms: AtomicU64,
    /// Asks the GIL monitor thread to end.
    monitor_stop: AtomicBool,
    /// Modification time of each (application group, script) this process
    /// has run, as first seen.
    scripts: Mutex<Vec<(String, String, f64)>>,
    /// The supervisor's slot this process runs in (its seat, `handover`).
    slot: AtomicU32,
    /// Cleared once the process has handed its seat to the standby: idle
    /// workers stop taking connections (the standby takes them).
    accepting: AtomicBool,
    /// Set by the first attempt to hand the seat over (there is one).
    handover_tried: AtomicBool,
    /// When the process began accepting (ms; a standby waits first), for
    /// restart-interval.
    active_since_ms: AtomicU64,
}

impl DaemonState {
    /// The state of a daemon process of `group` that has just started.
    pub fn new(group: &Arc<Group>, scripts: Arc<ScriptScope>) -> Arc<DaemonState> {
        Arc::new(DaemonState {
            group: group.clone(),
            script_scope: scripts,
            epoch: Instant::now(),
            stopping: AtomicBool::new(false),
            self_restart: AtomicBool::new(false),
            script_changed: AtomicBool::new(false),
            stop_why: OnceLock::new(),
            drain: Mutex::new(None),
            in_flight: AtomicU64::new(0),
            last_activity_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            started_ms: (0..group.opts.threads).map(|_| AtomicU64::new(0)).collect(),
            ignored: (0..group.opts.threads)
                .map(|_| AtomicBool::new(false))
                .collect(),
            timers: RequestTimers::new(group.opts.threads),
            gil_seen_ms: AtomicU64::new(0),
            monitor_stop: AtomicBool::new(false),
            scripts: Mutex::new(Vec::new()),
            slot: AtomicU32::new(0),
            accepting: AtomicBool::new(true),
            handover_tried: AtomicBool::new(false),
            active_since_ms: AtomicU64::new(0),
        })
    }

    /// The supervisor's slot of this process.
    pub fn slot(&self) -> u32 {
        self.slot.load(Ordering::SeqCst)
    }

    pub fn set_slot(&self, slot: u32) {
        self.slot.store(slot, Ordering::SeqCst);
    }

    /// The process starts accepting now (restart-interval counts from here).
    pub fn activated(&self) {
        self.active_since_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// How long the process has been accepting (ms).
    pub fn active_ms(&self) -> u64 {
        self.now_ms()
            .saturating_sub(self.active_since_ms.load(Ordering::SeqCst))
    }

    /// Whether idle workers take new connections.
    pub fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }

    /// The standby accepts in this process's place: take no new connection.
    pub fn stop_accepting(&self) {
        self.accepting.store(false, Ordering::SeqCst);
    }

    /// True the first time only: whether to try handing the seat over now.
    pub fn first_handover(&self) -> bool {
        !self.handover_tried.swap(true, Ordering::SeqCst)
    }

    /// Milliseconds since the process started, never 0 (0 means "never").
    pub fn now_ms(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64).max(1)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Whether the process stops itself (rather than on a signal).
    pub fn is_self_restart(&self) -> bool {
        self.self_restart.load(Ordering::SeqCst)
    }

    /// Stops the process: workers finish their request and exit.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Marks the stop as the process's own (a watchdog fired).
    pub fn mark_self_restart(&self) {
        self.self_restart.store(true, Ordering::SeqCst);
    }

    /// Why the process stopped itself, once a worker (or the drain) asked it to.
    pub fn self_stop(&self) -> Option<&'static str> {
        if !self.is_stopping() {
            return None;
        }
        self.stop_why.get().copied()
    }

    /// Stops the process itself for `why` (the first reason given is kept).
    pub fn stop_self(&self, why: &'static str) {
        self.stop_for(why, true);
    }

    /// Stops the process for `why`, as its own stop (`own`: connections
    /// still queued are its replacement's) or not (the workers serve them).
    pub fn stop_for(&self, why: &'static str, own: bool) {
        let _ = self.stop_why.set(why);
        if own {
            self.mark_self_restart();
        }
        self.stop();
    }

    /// A worker took a request. It counts as activity once its environ
    /// shows it is not under `WSGIIgnoreActivity` ([`Self::activity`]).
    pub fn request_started(&self, worker: u32) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let start = self.now_ms();
        if let Some(s) = self.started_ms.get(worker as usize) {
            s.store(start, Ordering::SeqCst);
        }
    }

    /// The request `worker` serves counts as activity for
    /// inactivity-timeout, or (`WSGIIgnoreActivity On`, as mod_wsgi) not:
    /// then neither its start nor its end resets the timer.
    pub fn activity(&self, worker: u32, counts: bool) {
        if counts {
            self.last_activity_ms.store(self.now_ms(), Ordering::SeqCst);
        } else if let Some(f) = self.ignored.get(worker as usize) {
            f.store(true, Ordering::SeqCst);
        }
    }

    /// When worker `worker`'s request started (ms; 0: idle).
    pub fn started_ms(&self, worker: u32) -> u64 {
        self.started_ms
            .get(worker as usize)
            .map_or(0, |s| s.load(Ordering::SeqCst))
    }

    /// A worker's request ended (whatever way); at maximum-requests the
    /// process restarts, gracefully if other requests are running.
    pub fn request_finished(&self, worker: u32) {
        self.timers.set_group(worker, None);
        if let Some(s) = self.started_ms.get(worker as usize) {
            s.store(0, Ordering::SeqCst);
        }
        let ignored = self
            .ignored
            .get(worker as usize)
            .is_some_and(|f| f.swap(false, Ordering::SeqCst));
        if !ignored {
            self.last_activity_ms.store(self.now_ms(), Ordering::SeqCst);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let served = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        let max = self.group.opts.maximum_requests;
        if max > 0
            && served == max
            && let Some(why) = graceful::begin(self, Trigger::MaximumRequests)
        {
            self.restart_self(
                MAXIMUM_REQUESTS,
                &format!("reached maximum-requests={max}; restarting"),
                why,
            );
        }
        // maximum-memory, between requests (the watchdog checks it too).
        if let Some(why) = graceful::memory_check(self) {
            self.stop_self(why);
        }
    }

    /// Asks for a graceful stop for `trigger`, waiting up to `limit`: the
    /// process keeps serving (and accepting) until no non-stale request
    /// runs or the limit has passed. Only the first request counts.
    pub fn begin_drain(&self, trigger: Trigger, limit: Duration) -> DrainStart {
        let mut drain = self.drain.lock().unwrap_or_else(|e| e.into_inner());
        if drain.is_some() || self.is_stopping() {
            return DrainStart::AlreadyStopping;
        }
        let active = self.non_stale_requests();
        if limit.is_zero() || active == 0 {
            return DrainStart::StopNow;
        }
        *drain = Some(Drain {
            trigger,
            until_ms: self.now_ms() + limit.as_millis() as u64,
        });
        DrainStart::Began(active)
    }

    /// The graceful stop under way, if any.
    pub fn drain(&self) -> Option<Drain> {
        *self.drain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests running now that are not stale, as mod_wsgi counts them for
    /// a graceful stop: a request that has run longer than request-timeout
    /// will not end by itself, so the drain does not wait for it.
    pub fn non_stale_requests(&self) -> usize {
        // request-timeout plus the interrupt-timeout grace, as mod_wsgi.
        let o = &self.group.opts;
        let stale_ms = o.request_timeout.map_or(0, |d| {
            (d + o.interrupt_timeout.unwrap_or_default()).as_millis() as u64
        });
        let now = self.now_ms();
        self.started_ms
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .filter(|&t| t > 0 && (stale_ms == 0 || now.saturating_sub(t) <= stale_ms))
            .count()
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// When a request last began or ended (0: never).
    pub fn last_activity_ms(&self) -> u64 {
        self.last_activity_ms.load(Ordering::SeqCst)
    }

    /// The GIL monitor took the GIL just now.
    pub fn gil_seen(&self) {
        self.gil_seen_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// When the GIL monitor last took the GIL (0: it does not run).
    pub fn gil_seen_ms(&self) -> u64 {
        self.gil_seen_ms.load(Ordering::SeqCst)
    }

    pub fn stop_monitor(&self) {
        self.monitor_stop.store(true, Ordering::SeqCst);
    }

    pub fn monitor_stopped(&self) -> bool {
        self.monitor_stop.load(Ordering::SeqCst)
    }

    /// With script reloading on: whether `script` changed since this process
    /// first ran it in `application_group`. A changed script makes the
    /// process restart (as mod_wsgi: every module the application imported
    /// is loaded afresh, not only the script), so the caller refuses the
    /// request with REJECT RESTARTING and the Apache child sends it again,
    /// to a new process.
    pub fn script_changed(&self, application_group: &str, script: &str, mtime: f64) -> bool {
        let mut seen = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
        match seen
            .iter()
            .find(|(g, s, _)| g == application_group && s == script)
        {
            Some((_, _, first)) => *first != mtime,
            None => {
                seen.push((application_group.to_string(), script.to_string(), mtime));
                false
            }
        }
    }

    /// Stops this process after its requests in flight; the supervisor
    /// starts a new one, and connections still queued on the socket wait
    /// for it.
    pub fn restart_for_changed_script(&self, script: &str) {
        if self.script_changed.swap(true, Ordering::SeqCst) {
            return;
        }
        // The standby (if ready) accepts before this process stops.
        graceful::hand_over(self, "WSGI script changed");
        self.restart_self(
            SCRIPT_CHANGED,
            &format!("restarting: WSGI script '{script}' changed"),
            "WSGI script changed",
        );
    }

    /// Logs why this daemon process restarts itself, then stops it after its
    /// requests in flight (the supervisor starts a new one).
    fn restart_self(&self, code: LogId, why: &str, reason: &'static str) {
        log::server(
            Level::Info,
            None,
            &format!(
                "{code} daemon process {} of group '{}' {why}",
                std::process::id(),
                self.group.opts.name
            ),
        );
        self.stop_self(reason);
    }
}
