//! A daemon process, from the moment the supervisor forks it in the Apache
//! parent until it exits (it never returns into Apache): bring it up
//! (`bootstrap`: signals, privileges, environment, Python), preload the
//! group's `WSGIImportScript` scripts, start the worker threads (`workers`)
//! sharing one [`DaemonState`], then wait on the main thread for a stop
//! signal or a watchdog (`watchdog`) and stop: no new connections, in-flight
//! requests get up to `shutdown-timeout`, then Python is finalised if
//! everything ended, within another `shutdown-timeout` (`reaper`). A
//! `threads=0` daemon runs its service scripts on the main thread instead
//! (`service_main`). Its statistics slot (`stats`) is taken at start and
//! marked ready once it accepts. Called by `supervisor` in the
//! forked child; the main thread holds the GIL only inside `python::init`,
//! the preload and the finalisation.

use super::acceptor::Acceptor;
use super::bootstrap;
use super::error::StartError;
use super::handover::{self, Joined, Seats};
use super::state::DaemonState;
use super::supervisor::{Group, Registry};
use super::{watchdog, workers};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    DAEMON_READY, DAEMON_STOPPING, SERVICE_DAEMON_RUNNING, STANDBY_ACTIVE, STANDBY_READY,
    STATS_NO_SLOT,
};
use crate::python::init;
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fatal(group: &Group, e: StartError) -> ! {
    log::server(
        Level::Alert,
        None,
        &format!(
            "{} daemon process {} of group '{}': {e}",
            e.log_id(),
            std::process::id(),
            group.opts.name
        ),
    );
    // Back off so a failure that would recur cannot make the parent spin
    // (the supervisor adds a growing delay before the next start).
    sleep_unless_stopped(Duration::from_secs(2));
    // SAFETY: leaving the forked process without running Apache's atexit code.
    unsafe { libc::_exit(1) }
}

/// Sleeps, but exits at once on a stop signal, so Apache's stop does not
/// have to wait for a back-off delay.
fn sleep_unless_stopped(d: Duration) {
    let until = Instant::now() + d;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if left.is_zero() {
            break;
        }
        if super::stop_signal::wait(left).is_some() {
            // SAFETY: leaving the forked process without Apache's exit handlers.
            unsafe { libc::_exit(0) }
        }
    }
}

/// `WSGITelemetryService`: this process's reporter (not in a service
/// script's process, as mod_wsgi).
fn start_telemetry(group: &str) {
    if let Some(cfg) = log::main_server().and_then(|s| s.config::<crate::config::ServerConfig>()) {
        crate::metrics::service::start(&cfg.telemetry, group);
    }
}

fn log_stopping(group: &Group, why: &str) {
    crate::stats::set_stop_reason(why);
    log::server(
        Level::Info,
        None,
        &format!(
            "{DAEMON_STOPPING} daemon process {} of group '{}' stopping ({})",
            std::process::id(),
            group.opts.name,
            why
        ),
    );
}

/// Takes this daemon's statistics slot (freed by the supervisor when it
/// reaps the process); ready once it accepts (`stats::set_ready`).
fn claim_stats(group: &Group) {
    if crate::stats::segment().is_some()
        && !crate::stats::claim_daemon(&group.opts.name, group.opts.threads)
    {
        log::server(
            Level::Warning,
            None,
            &format!(
                "{STATS_NO_SLOT} daemon process {} of group '{}' found no free statistics slot: \
                 it is not counted",
                std::process::id(),
                group.opts.name
            ),
        );
    }
}

/// Runs the daemon process forked by `parent`; never returns.
pub fn run(group: &Arc<Group>, reg: &Registry, index: u32, delay: Duration, parent: i32) -> ! {
    let state = DaemonState::new(group, reg.scripts.clone());
    claim_stats(group);
    state.set_slot(index);
    let signals = bootstrap::signals();
    bootstrap::die_with_parent(parent);
    if let Err(e) = signals {
        fatal(group, e);
    }
    if !delay.is_zero() {
        sleep_unless_stopped(delay);
    }
    bootstrap::close_inherited(group, reg);
    if let Err(e) = bootstrap::become_daemon(group) {
        fatal(group, e);
    }
    bootstrap::die_with_parent(parent);
    log_to_defining_host(group);
    let settings = bootstrap::python_settings(group);
    if let Err(e) = bootstrap::start_python(group, &settings) {
        fatal(group, e);
    }
    let o = &group.opts;
    if o.threads == 0 {
        service_main(state);
    }
    start_telemetry(&o.name);
    // WSGIImportScript process-group=<this group> (and static-group aliases), before
    // any request is accepted, as mod_wsgi.
    if let Some(main) = log::main_server() {
        // startup-timeout covers a preload that hangs.
        let _watch = super::request_timer::guard_preload(&state);
        crate::python::preload::run_group(main, &o.name);
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "{DAEMON_READY} daemon process {} (#{index}) of group '{}' ready with {} threads",
            std::process::id(),
            o.name,
            o.threads
        ),
    );
    if let Some(seats) = &group.seats
        && seats.join(index) == Joined::Standby
    {
        wait_as_standby(group, seats, index);
    }
    state.activated();
    crate::stats::set_ready(true);
    let all_done = serve_until_stopped(&state);
    if all_done && settings.destroy_interpreter() {
        // Finalising waits for the application's threads and atexit handlers.
        super::reaper::arm(&o.name, "finalising Python", o.shutdown_timeout);
        init::finalize();
    }
    // SAFETY: leaving the forked process without Apache's exit handlers.
    unsafe { libc::_exit(0) }
}

/// The group's standby: started and preloaded, it waits (a futex on its
/// slot's role, woken by the claim) until a recycling process or the parent gives it a seat,
/// then returns to accept. A stop signal ends it (SIGUSR1 and SIGXCPU are
/// for processes that serve: ignored here).
fn wait_as_standby(group: &Group, seats: &Seats, index: u32) {
    log::server(
        Level::Info,
        None,
        &format!(
            "{STANDBY_READY} daemon process {} (#{index}) of group '{}' is the standby: \
             started, not accepting until a process of the group recycles",
            std::process::id(),
            group.opts.name
        ),
    );
    while !seats.claimed(index) {
        // Woken at once by a claim; every 100 ms a look at the signals.
        seats.wait_while_standby(index, Duration::from_millis(100));
        if seats.role_of(index) == handover::CLAIMED {
            continue;
        }
        match super::stop_signal::wait(Duration::ZERO) {
            None | Some(Signal::SIGUSR1 | Signal::SIGXCPU) => {}
            Some(s) => {
                log_stopping(group, s.as_str());
                // SAFETY: leaving the forked process (it served nothing).
                unsafe { libc::_exit(0) }
            }
        }
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "{STANDBY_ACTIVE} daemon process {} (#{index}) of group '{}' took over a seat \
             and accepts",
            std::process::id(),
            group.opts.name
        ),
    );
}

/// Runs the workers and the watchdogs until the process stops, then gives
/// the workers up to shutdown-timeout; returns whether every thread ended.
fn serve_until_stopped(state: &Arc<DaemonState>) -> bool {
    let group = &state.group;
    let acceptor = match Acceptor::new(group.listener) {
        Ok(a) => Arc::new(a),
        Err(source) => fatal(
            group,
            StartError::Resources {
                what: "cannot wait for connections",
                source,
            },
        ),
    };
    let workers = workers::start(state, &acceptor).unwrap_or_else(|source| {
        fatal(
            group,
            StartError::Resources {
                what: "cannot start worker threads",
                source,
            },
        )
    });
    let monitor = watchdog::start_gil_monitor(state);
    super::request_timer::start_interrupter(state);
    let why = watchdog::wait_for_stop(state);
    state.stop();
    // Recycling without a handover: the seat is free for a standby now (not
    // on a stop signal, when the standby is being stopped too).
    if let Some(seats) = &group.seats
        && state.is_self_restart()
    {
        seats.leave(state.slot());
    }
    log_stopping(group, why);
    let reason = super::stop_reason::shutdown_reason(state, why);
    crate::metrics::service::stopping(reason);
    publish_stopping(state, reason);
    let mut all_done = workers::join(workers, Instant::now() + group.opts.shutdown_timeout);
    crate::metrics::service::stopped(reason, all_done);
    state.stop_monitor();
    if let Some(m) = monitor {
        let until = Instant::now() + Duration::from_secs(2);
        while !m.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        all_done &= m.is_finished();
    }
    all_done
}

/// The `process_stopping` event, on a helper thread bounded by
/// shutdown-timeout (a subscriber that hangs must not hold up the stop).
fn publish_stopping(state: &Arc<DaemonState>, reason: &'static str) {
    if !crate::python::events::any_subscriber() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("wsgi-stopping".into())
        .spawn(move || {
            crate::python::events::process_stopping(reason);
            let _ = tx.send(());
        });
    if spawned.is_ok() {
        let _ = rx.recv_timeout(state.group.opts.shutdown_timeout);
    }
}

/// A service-script daemon (`threads=0`): its `WSGIImportScript` scripts run
/// on this, the main thread (Python installs signal handlers only there, and
/// such scripts usually never return), while a helper thread waits for the
/// stop signal and ends the process. Never returns.
fn service_main(state: Arc<DaemonState>) -> ! {
    let group = state.group.clone();
    let waiter = std::thread::Builder::new()
        .name("wsgi-stop".into())
        .spawn(move || {
            let why = watchdog::wait_for_stop(&state);
            log_stopping(&state.group, why);
            // The service script still holds the main thread: no finalisation.
            // SAFETY: leaving the forked process without Apache's exit handlers.
            unsafe { libc::_exit(0) }
        });
    if let Err(source) = waiter {
        let what = "cannot start the stop-signal thread";
        fatal(&group, StartError::Resources { what, source });
    }
    log::server(
        Level::Info,
        None,
        &format!(
            "{SERVICE_DAEMON_RUNNING} service daemon process {} of group '{}' running its scripts",
            std::process::id(),
            group.opts.name
        ),
    );
    crate::stats::set_ready(true);
    if let Some(main) = log::main_server() {
        crate::python::preload::run_group(main, &group.opts.name);
    }
    // The scripts returned: stay until stopped (mod_wsgi keeps the process).
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A group defined in a virtual host logs to that host's `ErrorLog`, as mod_wsgi.
fn log_to_defining_host(group: &Group) {
    let Some(main) = log::main_server() else {
        return;
    };
    let defining = main
        .distinct_configs::<crate::config::ServerConfig>()
        .into_iter()
        .find(|(_, cfg)| {
            cfg.daemon
                .groups
                .iter()
                .any(|g| Arc::ptr_eq(g, &group.opts))
        });
    if let Some((server, _)) = defining.filter(|(s, _)| s.is_virtual()) {
        log::set_process_server(server);
    }
}
