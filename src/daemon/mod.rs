//! Daemon mode (`WSGIDaemonProcess`): configuration (`options`, plus the
//! per-server record and directive parsers here), the supervisor in the
//! Apache parent (`supervisor`: sockets, secrets, forking and restarting
//! daemons), the daemon process itself (`process`: privileges, Python,
//! worker threads), one connection in a daemon worker (`server`, the
//! [`crate::wsgi::Host`] that speaks WSGP) and the Apache-child side of the
//! handler (`client`). `socket` owns the listening UNIX socket.
//!
//! The Apache parent never touches Python, starts no thread and holds no
//! lock across a fork; Python exists only in forked daemon processes.

pub mod client;
pub mod options;
pub mod process;
pub mod server;
pub mod socket;
pub mod supervisor;

use crate::config::directives::Target;
use std::sync::Arc;

pub use options::DaemonOptions;

/// Daemon-mode configuration of one server record.
#[derive(Clone, Debug, Default)]
pub struct DaemonServerConfig {
    /// Groups defined in this server record (not inherited by virtual hosts).
    pub groups: Vec<Arc<DaemonOptions>>,
    /// `WSGISocketPrefix` (main server only).
    pub socket_prefix: Option<String>,
    /// `WSGISocketRotation` (main server only; default On).
    pub socket_rotation: Option<bool>,
}

impl DaemonServerConfig {
    /// A virtual host keeps its own groups; the global settings come from the main server.
    pub fn merge(parent: &DaemonServerConfig, child: &DaemonServerConfig) -> DaemonServerConfig {
        DaemonServerConfig {
            groups: child.groups.clone(),
            socket_prefix: parent.socket_prefix.clone(),
            socket_rotation: parent.socket_rotation,
        }
    }
}

/// `WSGIDaemonProcess name key=value ...`.
pub fn directive_daemon_process(
    t: &mut Target<'_>,
    _name: &str,
    args: &[String],
) -> Result<(), String> {
    let o = options::parse(args)?;
    if t.server.daemon.groups.iter().any(|g| g.name == o.name) {
        return Err(format!(
            "WSGIDaemonProcess: name '{}' duplicates a previous WSGIDaemonProcess definition",
            o.name
        ));
    }
    t.server.daemon.groups.push(Arc::new(o));
    Ok(())
}

/// `WSGISocketPrefix path` (relative paths are under ServerRoot).
pub fn directive_socket_prefix(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), String> {
    match args {
        [p] if !p.is_empty() => {
            t.server.daemon.socket_prefix = Some(p.clone());
            Ok(())
        }
        _ => Err(format!(
            "{name} takes one argument, the path prefix of daemon sockets (e.g. run/wsgi)"
        )),
    }
}

/// `WSGISocketRotation On|Off`.
pub fn directive_socket_rotation(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), String> {
    let v = match args {
        [v] if v.eq_ignore_ascii_case("on") => true,
        [v] if v.eq_ignore_ascii_case("off") => false,
        _ => {
            return Err(format!(
                "{name} must be one of: Off | On (got '{}')",
                args.join(" ")
            ));
        }
    };
    t.server.daemon.socket_rotation = Some(v);
    Ok(())
}
