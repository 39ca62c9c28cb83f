//! The resource options of a daemon group applied in the freshly forked
//! daemon process, in mod_wsgi's order: `cpu-priority` (setpriority, before
//! the privilege drop so a negative value works when Apache starts as
//! root), then after it `cpu-time-limit` (RLIMIT_CPU; the soft limit sends
//! SIGXCPU, a stop signal, and the hard limit one second plus
//! shutdown-timeout later kills the process), `memory-limit` (RLIMIT_DATA)
//! and `virtual-memory-limit` (RLIMIT_AS). A limit that cannot be set is
//! logged (WSGIRS0419) and the process runs without it, as mod_wsgi.
//! Called by `bootstrap::become_daemon` on the only thread of the process.

use super::supervisor::Group;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::LIMIT_NOT_APPLIED;

fn warn(group: &Group, what: &str, err: std::io::Error) {
    log::server(
        Level::Warning,
        None,
        &format!(
            "{LIMIT_NOT_APPLIED} daemon process {} of group '{}': cannot set {what}: {err}; \
             running without it",
            std::process::id(),
            group.opts.name
        ),
    );
}

/// `cpu-priority`: the nice value of the process (before the privilege drop).
pub fn set_priority(group: &Group) {
    let nice = group.opts.limits.cpu_priority;
    if nice == 0 {
        return;
    }
    // SAFETY: setpriority(2) on this process; no pointers involved.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } == -1 {
        let err = std::io::Error::last_os_error();
        warn(group, &format!("cpu-priority={nice}"), err);
    }
}

fn set(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit(2) reads the rlimit we pass by reference.
    if unsafe { libc::setrlimit(resource, &limit) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `cpu-time-limit`, `memory-limit`, `virtual-memory-limit` (after the drop).
pub fn set_rlimits(group: &Group) {
    let o = &group.opts;
    let l = &o.limits;
    if let Some(secs) = l.cpu_time {
        // As mod_wsgi: SIGXCPU at the soft limit starts a graceful stop; the
        // hard limit (SIGKILL) leaves it 1 s plus shutdown-timeout.
        let hard = secs + 1 + o.shutdown_timeout.as_secs();
        if let Err(e) = set(libc::RLIMIT_CPU, secs, hard) {
            warn(group, &format!("cpu-time-limit={secs}"), e);
        }
    }
    if let Some(bytes) = l.memory
        && let Err(e) = set(libc::RLIMIT_DATA, bytes, bytes)
    {
        warn(group, &format!("memory-limit={bytes}"), e);
    }
    if let Some(bytes) = l.virtual_memory
        && let Err(e) = set(libc::RLIMIT_AS, bytes, bytes)
    {
        warn(group, &format!("virtual-memory-limit={bytes}"), e);
    }
}
