//! The errors of daemon mode in the Apache parent and in a starting daemon
//! process: [`SupervisorError`] (post_config could not set up a group;
//! Apache does not start) and [`StartError`] (a forked daemon process could
//! not become ready; it exits and is restarted). Each maps to the id of the
//! log line it ends up in ([`SupervisorError::log_id`],
//! [`StartError::log_id`]); the `Display` is the rest of that line.

use crate::apache::log_ids::{
    DAEMON_SOCKET_FAILED, DAEMON_START_FAILED, DUPLICATE_DAEMON_GROUP, LogId, NO_RANDOM_SECRET,
};
use nix::errno::Errno;
use std::io;

/// Why post_config could not start this generation's daemon groups.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(
        "WSGIDaemonProcess: name '{name}' is defined more than once; daemon process group \
         names must be unique across the server"
    )]
    DuplicateGroup { name: String },
    #[error(
        "cannot create the socket '{path}' of daemon process group '{group}': {source}; check \
         that the directory of WSGISocketPrefix ('{prefix}') exists and is writable by root \
         and searchable by the Apache user"
    )]
    Socket {
        path: String,
        group: String,
        prefix: String,
        source: io::Error,
    },
    #[error("cannot read random bytes for the secret: {0}")]
    Random(#[source] io::Error),
}

impl SupervisorError {
    /// The id of the (emerg) log line this error is reported in.
    pub fn log_id(&self) -> LogId {
        match self {
            SupervisorError::DuplicateGroup { .. } => DUPLICATE_DAEMON_GROUP,
            SupervisorError::Socket { .. } => DAEMON_SOCKET_FAILED,
            SupervisorError::Random(_) => NO_RANDOM_SECRET,
        }
    }
}

/// Why a forked daemon process could not become ready.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot change to home directory '{home}': {source}")]
    Home { home: String, source: io::Error },
    #[error("Unable to change root directory to '{root}': {source}")]
    Chroot { root: String, source: Errno },
    #[error("refusing to run a daemon process as root (user=, or the Apache User)")]
    Root,
    #[error("setgid({gid}) failed: {source}")]
    Setgid { gid: u32, source: Errno },
    #[error("setgroups failed: {0}")]
    Setgroups(#[source] Errno),
    #[error("initgroups({user}) failed: {source}")]
    Initgroups { user: String, source: Errno },
    #[error("setuid({uid}) failed: {source}")]
    Setuid { uid: u32, source: Errno },
    #[error("still root after setuid")]
    StillRoot,
    #[error("Python could not be started: {0}")]
    Python(#[source] crate::python::init::InitError),
    /// A resource the serving process needs (`what`: e.g. `cannot start
    /// worker threads`).
    #[error("{what}: {source}")]
    Resources {
        what: &'static str,
        source: io::Error,
    },
}

impl StartError {
    /// The id of the (alert) log line this error is reported in.
    pub fn log_id(&self) -> LogId {
        DAEMON_START_FAILED
    }
}
