//! Daemon mode (`WSGIDaemonProcess`) outside the Apache children: the
//! supervisor in the Apache parent (`supervisor`: sockets, secrets, forking
//! and restarting daemons), the daemon process itself (`process`:
//! privileges, Python, worker threads) and one connection in a daemon worker
//! (`server`, the [`crate::wsgi::Host`] that speaks WSGP). `socket` owns the
//! listening UNIX socket. The configuration is in `crate::config::daemon`;
//! the Apache-child side of a request is `crate::handler::relay`.
//!
//! The Apache parent never touches Python, starts no thread and holds no
//! lock across a fork; Python exists only in forked daemon processes.

mod acceptor;
pub mod process;
pub mod server;
pub mod socket;
pub mod supervisor;
