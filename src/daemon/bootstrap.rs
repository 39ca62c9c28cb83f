//! Bringing a freshly forked daemon process up to the point where it can
//! serve: signal dispositions, closing what it must not keep (Apache's
//! listeners, other groups' sockets), the process name, `chroot=` and the
//! privilege drop (refusing uid 0, an error on any failure) with the resource limits
//! around it (`limits`), home/umask/locale/environment,
//! then the Python settings of the group, the per-process settings shared
//! with the Apache children (`python::configure_process`) and Python itself
//! (`python::init`, GIL released afterwards). Called by `process::run` on
//! the only thread of the process; errors ([`StartError`]) end the
//! WSGIRS0410 line.

use super::error::StartError;
use super::supervisor::{Group, Registry};
use crate::apache::log;
use crate::config::ServerConfig;
use crate::config::python::PythonSettings;
use crate::python::{init, modules};
use nix::sys::signal::{SigHandler, Signal, signal};

/// SIGXCPU: `cpu-time-limit` reached (a graceful stop, as mod_wsgi).
pub const STOP_SIGNALS: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGXCPU,
];

/// Default dispositions (Apache's handlers are the parent's), SIGPIPE
/// ignored (as Apache's parent leaves it for mod_wsgi's daemons; Python's
/// `subprocess` restores it for what it starts), and the stop signals
/// handled by `stop_signal`, with nothing blocked.
pub fn signals() -> Result<(), StartError> {
    for s in STOP_SIGNALS {
        // SAFETY: resetting to the default disposition; no handler code runs.
        let _ = unsafe { signal(s, SigHandler::SigDfl) };
    }
    // SAFETY: ignoring SIGPIPE so a write to a vanished child returns EPIPE.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    // SAFETY: as above; the supervisor's SIGCHLD handling is the parent's.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    super::stop_signal::install(&STOP_SIGNALS).map_err(|source| StartError::Resources {
        what: "cannot handle the stop signals",
        source,
    })
}

/// Closes what this process must not keep: Apache's listening sockets, the
/// other groups' listeners and (wiped) the other groups' secrets.
pub fn close_inherited(group: &Group, reg: &Registry) {
    crate::apache::process::close_listeners();
    for g in &reg.groups {
        if g.id != group.id {
            // SAFETY: another group's listener, unused here.
            unsafe { libc::close(g.listener) };
        }
    }
    reg.keep_only_secret_of(group.id);
}

/// Asks the kernel for SIGTERM (a normal stop, seen by `stop_signal`) when the Apache parent dies, and exits at once if the
/// parent (`parent`, recorded before the fork) is already gone. A change of
/// credentials clears the request: called again after the privilege drop.
pub fn die_with_parent(parent: i32) {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) };
    if nix::unistd::getppid().as_raw() != parent {
        // SAFETY: leaving the forked process without Apache's exit handlers.
        unsafe { libc::_exit(0) }
    }
}

/// Everything from the process name to the environment, before Python.
pub fn become_daemon(group: &Group) -> Result<(), StartError> {
    let o = &group.opts;
    if let Some(name) = o.display_name() {
        set_display_name(&name);
    }
    super::limits::set_priority(group);
    drop_privileges(group)?;
    super::limits::set_rlimits(group);
    if let Some(home) = &o.home {
        std::env::set_current_dir(home).map_err(|source| StartError::Home {
            home: home.clone(),
            source,
        })?;
    }
    if let Some(m) = o.umask {
        // SAFETY: umask(2) on this single-threaded process.
        unsafe { libc::umask(m as libc::mode_t) };
    }
    // SAFETY: no other thread exists yet (set_var), and setlocale gets a
    // NUL-terminated string.
    unsafe {
        if let Some(l) = &o.lang {
            std::env::set_var("LANG", l);
        }
        if let Some(l) = &o.locale {
            std::env::set_var("LC_ALL", l);
            let c = std::ffi::CString::new(l.as_str()).unwrap_or_default();
            libc::setlocale(libc::LC_ALL, c.as_ptr());
        }
    }
    Ok(())
}

/// The server's Python settings with this group's options applied.
pub fn python_settings(group: &Group) -> PythonSettings {
    let o = &group.opts;
    let mut settings = log::main_server()
        .and_then(|s| s.config::<ServerConfig>())
        .map(|c| c.python.clone())
        .unwrap_or_default();
    if let Some(h) = &o.python_home {
        settings.home = Some(h.clone());
    }
    // As mod_wsgi: a daemon's base path is its python-path= only;
    // WSGIPythonPath is the Apache children's.
    settings.path = o.python_path.clone();
    settings.front_dir = o.home.clone();
    // As mod_wsgi: a daemon takes these from its own options only, never
    // from WSGISwitchInterval / WSGIPythonEggs (the Apache children's).
    settings.switch_interval = o.switch_interval;
    settings.python_eggs = o.python_eggs.clone();
    if o.threads == 0 {
        // Service scripts may install signal handlers (mod_wsgi lifts
        // WSGIRestrictSignal for threads=0 daemons).
        settings.restrict_signal = Some(false);
    }
    settings
}

/// Applies the per-process settings and starts Python (GIL released after).
pub fn start_python(group: &Group, settings: &PythonSettings) -> Result<(), StartError> {
    let o = &group.opts;
    crate::python::configure_process(settings);
    let info = modules::ProcessInfo {
        process_group: o.name.clone(),
        maximum_processes: o.processes as i32,
        threads_per_process: o.threads as i32,
        server_metrics: o.server_metrics,
    };
    crate::metrics::init(info.threads_per_process, true);
    init::initialize(settings, &info, crate::wsgi::PYTHON_EXTENSION).map_err(StartError::Python)
}

/// Overwrites the process's argv area (what `ps` shows) and its comm name.
fn set_display_name(name: &str) {
    if let Some(s) = log::main_server() {
        crate::apache::process::set_title(s, name);
    }
    let comm =
        std::ffi::CString::new(name.chars().take(15).collect::<String>()).unwrap_or_default();
    // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr()) };
}

fn drop_privileges(group: &Group) -> Result<(), StartError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let o = &group.opts;
    let uid = o.user.as_ref().map(|u| u.1).unwrap_or(group.apache_uid);
    if uid == 0 {
        return Err(StartError::Root);
    }
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten();
    let gid = match (&o.group, &o.user, &user) {
        (Some((_, g)), _, _) => *g,
        (None, Some(_), Some(u)) => u.gid.as_raw(),
        _ => group.apache_gid,
    };
    let gid = nix::unistd::Gid::from_raw(gid);
    // As mod_wsgi: chroot first (the user was looked up outside it),
    // then the group, the supplementary groups and the user.
    if let Some(root) = &o.chroot {
        super::chroot::enter(root)?;
    }
    nix::unistd::setgid(gid).map_err(|source| StartError::Setgid {
        gid: gid.as_raw(),
        source,
    })?;
    if !o.supplementary_groups.is_empty() {
        let gids: Vec<_> = o
            .supplementary_groups
            .iter()
            .map(|(_, g)| nix::unistd::Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&gids).map_err(StartError::Setgroups)?;
    } else if let Some(u) = &user {
        let name = std::ffi::CString::new(u.name.clone()).unwrap_or_default();
        nix::unistd::initgroups(&name, gid).map_err(|source| StartError::Initgroups {
            user: u.name.clone(),
            source,
        })?;
    } else {
        nix::unistd::setgroups(&[gid]).map_err(StartError::Setgroups)?;
    }
    nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
        .map_err(|source| StartError::Setuid { uid, source })?;
    if nix::unistd::geteuid().is_root() || nix::unistd::getuid().is_root() {
        return Err(StartError::StillRoot);
    }
    Ok(())
}
