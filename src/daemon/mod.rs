//! Daemon mode (`WSGIDaemonProcess`) outside the Apache children: the
//! supervisor in the Apache parent (`supervisor`: sockets, secrets, forking
//! and restarting daemons), the daemon process itself (`process`: its life
//! from fork to exit; `bootstrap`: privileges, environment, Python;
//! `chroot`: the `chroot=` root and the request paths inside it; `state`:
//! the one [`state::DaemonState`] its threads share; `workers`: the worker
//! threads; `watchdog`: the timers that stop it; `graceful`: the drain
//! before a restart; `stop_reason`: mod_wsgi's `shutdown_reason` for
//! `process_stopping`; `signal_events`: SIGHUP/SIGUSR2 as `process_signal`;
//! `stop_signal`: the
//! handled, never blocked, stop signals) and one connection in a
//! daemon worker (`server`; `host`, the [`crate::wsgi::Host`] that speaks
//! WSGP; `abandoned`, the check that the Apache child still waits for it). `socket` owns the listening UNIX socket, `acceptor` the accept
//! turn. The configuration is in `crate::config::daemon`; the Apache-child
//! side of a request is `crate::handler::relay`.
//!
//! The Apache parent never touches Python, starts no thread and holds no
//! lock across a fork; Python exists only in forked daemon processes.

mod abandoned;
mod acceptor;
mod bootstrap;
mod chroot;
mod death;
pub mod error;
pub mod graceful;
pub mod handover;
mod host;
mod limits;
pub mod process;
mod reaper;
mod request_timer;
mod respawn;
mod retirement;
pub mod server;
mod signal_events;
pub mod socket;
pub mod state;
mod stop_reason;
mod stop_signal;
pub mod supervisor;
mod watchdog;
mod workers;
