//! Daemon mode (`WSGIDaemonProcess`) outside the Apache children: the
//! supervisor in the Apache parent (`supervisor`: sockets, secrets, forking
//! and restarting daemons), the daemon process itself (`process`: its life
//! from fork to exit; `bootstrap`: privileges, environment, Python; `state`:
//! the one [`state::DaemonState`] its threads share; `workers`: the worker
//! threads; `watchdog`: the timers that stop it; `stop_signal`: the
//! handled, never blocked, stop signals) and one connection in a
//! daemon worker (`server`; `host`, the [`crate::wsgi::Host`] that speaks
//! WSGP). `socket` owns the listening UNIX socket, `acceptor` the accept
//! turn. The configuration is in `crate::config::daemon`; the Apache-child
//! side of a request is `crate::handler::relay`.
//!
//! The Apache parent never touches Python, starts no thread and holds no
//! lock across a fork; Python exists only in forked daemon processes.

mod acceptor;
mod bootstrap;
mod death;
pub mod error;
mod host;
mod limits;
pub mod process;
mod reaper;
mod respawn;
pub mod server;
pub mod socket;
pub mod state;
mod stop_signal;
pub mod supervisor;
mod watchdog;
mod workers;
