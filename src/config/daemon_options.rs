//! `WSGIDaemonProcess name key=value ...`: the option table (name, parser,
//! doc), the typed [`DaemonOptions`] it fills, and the checks of impossible
//! combinations. Pure parsing (user and group names are resolved here, at
//! configuration time, so `apachectl configtest` reports a missing user).
//! Called by `config::directives` in the Apache parent while the
//! configuration is read; never touches Python.

use super::daemon_chroot;
use super::daemon_graceful::{self as grace, Graceful};
use super::daemon_limits::{self as lim, Limits};
use super::daemon_relay::{self as relay, ResponseRelay};
use super::error::{ConfigError, OptionValueError};
use crate::config::python::{Home, validate_home};
use std::time::Duration;

/// One `WSGIDaemonProcess` group, as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct DaemonOptions {
    pub name: String,
    pub processes: u32,
    /// `processes=` was given (even `processes=1` makes `wsgi.multiprocess` True).
    pub processes_explicit: bool,
    pub threads: u32,
    /// uid to run as (`user=`), resolved at configuration time.
    pub user: Option<(String, u32)>,
    /// Owner of the group's listening socket (`socket-user=`), resolved at
    /// configuration time; None: the Apache user.
    pub socket_user: Option<(String, u32)>,
    pub group: Option<(String, u32)>,
    /// `script-user=`: the user name that must own a script file (and its
    /// directory) for the Apache child to send it to this group (`#uid`
    /// resolved to the name at configuration time, as mod_wsgi).
    pub script_user: Option<String>,
    /// `script-group=`: likewise, the group name of the script file.
    pub script_group: Option<String>,
    pub supplementary_groups: Vec<(String, u32)>,
    pub home: Option<String>,
    /// `chroot=`: the daemon's root directory (normalised, no trailing `/`).
    pub chroot: Option<String>,
    pub display_name: Option<String>,
    pub umask: Option<u32>,
    pub lang: Option<String>,
    pub locale: Option<String>,
    pub python_home: Option<Home>,
    pub python_path: Vec<String>,
    pub python_eggs: Option<String>,
    /// `switch-interval=`: `sys.setswitchinterval` in the daemon's Python.
    pub switch_interval: Option<f64>,
    /// Per read/write timeout on the child<->daemon socket (None: Apache `Timeout`).
    pub socket_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub header_buffer_size: u32,
    /// Timeout of writes to the HTTP client while the Apache child relays
    /// the response (None: socket-timeout, else Apache `Timeout`).
    pub response_socket_timeout: Option<Duration>,
    pub listen_backlog: i32,
    pub shutdown_timeout: Duration,
    pub maximum_requests: u64,
    /// Restart after this long without a running request (armed by the first request).
    pub inactivity_timeout: Option<Duration>,
    /// request-timeout: a thread whose request runs longer than this (scaled
    /// by the thread count, `request_timer`) is interrupted or restarts the process.
    pub request_timeout: Option<Duration>,
    /// interrupt-timeout: raise `mod_wsgi.RequestTimeout` in a timed-out
    /// thread and give it this long to unwind before restarting.
    pub interrupt_timeout: Option<Duration>,
    /// startup-timeout: restart when the WSGI script has not loaded this
    /// long after the first request began loading it.
    pub startup_timeout: Option<Duration>,
    /// `restart-interval`: the process restarts after this long.
    pub restart_interval: Option<Duration>,
    /// `queue-timeout`: a request that waited longer than this for a
    /// daemon worker gets 504 without the application running.
    pub queue_timeout: Option<Duration>,
    /// Restart the process when the GIL could not be taken for this long.
    pub deadlock_timeout: Option<Duration>,
    /// `server-metrics=`: `mod_wsgi.server_metrics()` reads the scoreboard.
    pub server_metrics: bool,
    /// cpu-time-limit, cpu-priority, memory limits, stack-size, buffer sizes.
    pub limits: Limits,
    /// graceful-timeout and eviction-timeout.
    pub graceful: Graceful,
    /// `response-flush-delay` and `response-buffer-size`.
    pub relay: ResponseRelay,
}

impl DaemonOptions {
    /// The timeout for writes to the HTTP client while a daemon response is
    /// relayed, as mod_wsgi: `response-socket-timeout`, else `socket-timeout`;
    /// None leaves the connection's own timeout (Apache `Timeout`).
    pub fn client_write_timeout(&self) -> Option<Duration> {
        self.response_socket_timeout.or(self.socket_timeout)
    }

    /// The uid owning the group's socket, and the only peer uid the daemon
    /// accepts: `socket-user=`, else `apache_uid`.
    pub fn socket_uid(&self, apache_uid: u32) -> u32 {
        self.socket_user.as_ref().map_or(apache_uid, |u| u.1)
    }

    pub fn new(name: &str) -> DaemonOptions {
        DaemonOptions {
            name: name.to_string(),
            processes: 1,
            processes_explicit: false,
            threads: 15,
            user: None,
            socket_user: None,
            group: None,
            script_user: None,
            script_group: None,
            supplementary_groups: Vec::new(),
            home: None,
            chroot: None,
            display_name: None,
            umask: None,
            lang: None,
            locale: None,
            python_home: None,
            python_path: Vec::new(),
            python_eggs: None,
            switch_interval: None,
            socket_timeout: None,
            connect_timeout: Duration::from_secs(15),
            header_buffer_size: 32768,
            response_socket_timeout: None,
            listen_backlog: 100,
            shutdown_timeout: Duration::from_secs(5),
            maximum_requests: 0,
            inactivity_timeout: None,
            request_timeout: None,
            interrupt_timeout: None,
            startup_timeout: None,
            queue_timeout: None,
            restart_interval: None,
            deadlock_timeout: Some(Duration::from_secs(300)),
            server_metrics: false,
            limits: Limits::default(),
            graceful: Graceful::default(),
            relay: ResponseRelay::default(),
        }
    }

    /// `wsgi.multiprocess` for this group, as mod_wsgi computes it.
    pub fn multiprocess(&self) -> bool {
        self.processes > 1 || self.processes_explicit
    }

    /// `display-name` with `%{GROUP}` expanded to `(wsgi:NAME)`.
    pub fn display_name(&self) -> Option<String> {
        self.display_name.as_ref().map(|d| {
            if d == "%{GROUP}" {
                format!("(wsgi:{})", self.name)
            } else {
                d.clone()
            }
        })
    }
}

type Setter = fn(&mut DaemonOptions, &str) -> Result<(), OptionValueError>;

/// (key, parser, what is expected). Keys not here are rejected.
pub const OPTIONS: &[(&str, Setter, &str)] = &[
    ("processes", processes, "a number of processes >= 1"),
    (
        "threads",
        threads,
        "a number of threads per process (0 for a service-script daemon)",
    ),
    ("user", user, "a user name or #uid other than root"),
    ("socket-user", socket_user, "a user name or #uid"),
    ("group", group, "a group name or #gid"),
    ("script-user", script_user, "a user name or #uid"),
    ("script-group", script_group, "a group name or #gid"),
    (
        "supplementary-groups",
        supplementary_groups,
        "a comma-separated list of group names",
    ),
    ("home", home, "an absolute directory path"),
    (
        "chroot",
        daemon_chroot::chroot,
        "an absolute directory (only when Apache starts as root)",
    ),
    ("display-name", display_name, "a process name or %{GROUP}"),
    ("umask", umask, "an octal umask such as 0022"),
    ("lang", lang, "a LANG value such as en_US.UTF-8"),
    ("locale", locale, "a LC_ALL value such as en_US.UTF-8"),
    (
        "python-home",
        python_home,
        "the sys.prefix of a Python installation or virtual environment",
    ),
    (
        "python-path",
        python_path,
        "a colon-separated list of directories",
    ),
    (
        "python-eggs",
        python_eggs,
        "a directory for PYTHON_EGG_CACHE",
    ),
    (
        "switch-interval",
        switch_interval,
        "a positive number of seconds",
    ),
    ("socket-timeout", socket_timeout, "a number of seconds >= 1"),
    (
        "connect-timeout",
        connect_timeout,
        "a number of seconds >= 1",
    ),
    (
        "header-buffer-size",
        header_buffer_size,
        "a number of bytes >= 8192, or 0 for the default",
    ),
    (
        "response-socket-timeout",
        response_socket_timeout,
        "a number of seconds >= 0 (0: socket-timeout)",
    ),
    (
        "response-buffer-size",
        relay::response_buffer_size,
        "a number of bytes >= 65536, or 0 for the default",
    ),
    (
        "response-flush-delay",
        relay::response_flush_delay,
        "a number of milliseconds >= 0",
    ),
    ("listen-backlog", listen_backlog, "a number >= 1"),
    (
        "shutdown-timeout",
        shutdown_timeout,
        "a number of seconds >= 0",
    ),
    (
        "maximum-requests",
        maximum_requests,
        "a number of requests >= 0",
    ),
    (
        "inactivity-timeout",
        inactivity_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "request-timeout",
        request_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "interrupt-timeout",
        interrupt_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "startup-timeout",
        startup_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "queue-timeout",
        queue_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "restart-interval",
        restart_interval,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "deadlock-timeout",
        deadlock_timeout,
        "a number of seconds >= 0 (0: off)",
    ),
    (
        "graceful-timeout",
        grace::graceful_timeout,
        "a number of seconds >= 0 (0: stop at once)",
    ),
    (
        "eviction-timeout",
        grace::eviction_timeout,
        "a number of seconds >= 0 (0: graceful-timeout)",
    ),
    (
        "maximum-memory",
        grace::maximum_memory,
        "a resident memory size in bytes, or with a K, M or G suffix, >= 1M (0: off)",
    ),
    ("standby", grace::standby_option, "On or Off"),
    (
        "cpu-time-limit",
        lim::cpu_time_limit,
        "a number of seconds of CPU time >= 0 (0: no limit)",
    ),
    (
        "cpu-priority",
        lim::cpu_priority,
        "a nice value from -20 to 19",
    ),
    (
        "memory-limit",
        lim::memory_limit,
        "a number of bytes >= 0 (0: no limit)",
    ),
    (
        "virtual-memory-limit",
        lim::virtual_memory_limit,
        "a number of bytes >= 0 (0: no limit)",
    ),
    (
        "stack-size",
        lim::stack_size,
        "a thread stack size in bytes >= 1",
    ),
    (
        "send-buffer-size",
        lim::send_buffer_size,
        "a number of bytes >= 512, or 0 for the system default",
    ),
    (
        "receive-buffer-size",
        lim::receive_buffer_size,
        "a number of bytes >= 512, or 0 for the system default",
    ),
    (
        "server-metrics",
        super::server_metrics::daemon_option,
        "On or Off",
    ),
];

/// Options mod_wsgi 6.0 removed (it answers them "Invalid option to WSGI
/// daemon process definition."); refused with that said.
const REMOVED: &[&str] = &["newrelic-config-file", "newrelic-environment"];

const D: &str = "WSGIDaemonProcess";

/// Parses `WSGIDaemonProcess` arguments (the group name, then key=value).
pub fn parse(args: &[String]) -> Result<DaemonOptions, ConfigError> {
    let Some(name) = args.first() else {
        return Err(ConfigError::MissingArguments {
            directive: D.to_string(),
            needs: "a process group name",
            example: Some("myapp processes=2 threads=15"),
        });
    };
    if name.is_empty() || name.contains('%') || name.contains('/') {
        return Err(ConfigError::GroupName {
            group: name.clone(),
        });
    }
    let mut o = DaemonOptions::new(name);
    let mut seen: Vec<&str> = Vec::new();
    for arg in &args[1..] {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(ConfigError::DaemonOptionForm {
                group: name.clone(),
                option: arg.clone(),
            });
        };
        if let Some((k, set, expected)) = OPTIONS.iter().find(|(k, _, _)| *k == key) {
            if seen.contains(k) {
                return Err(ConfigError::DuplicateOption {
                    group: name.clone(),
                    key: key.to_string(),
                });
            }
            seen.push(k);
            set(&mut o, value).map_err(|reason| ConfigError::OptionValue {
                group: name.clone(),
                key: key.to_string(),
                value: value.to_string(),
                reason,
                expected,
            })?;
        } else if REMOVED.contains(&key) {
            return Err(ConfigError::RemovedOption {
                group: name.clone(),
                key: key.to_string(),
            });
        } else {
            return Err(ConfigError::UnknownDaemonOption {
                group: name.clone(),
                key: key.to_string(),
            });
        }
    }
    if o.script_user.is_some() && o.script_group.is_some() {
        return Err(ConfigError::ScriptUserAndGroup {
            group: name.clone(),
        });
    }
    if o.user.is_some() && o.home.is_none() {
        // mod_wsgi: the user's home directory when running as another user.
        if let Some((_, uid)) = &o.user
            && let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(*uid))
        {
            o.home = Some(u.dir.to_string_lossy().into_owned());
        }
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, OptionValueError> {
    v.parse::<T>().map_err(|_| OptionValueError::NotANumber)
}

fn seconds(v: &str) -> Result<Duration, OptionValueError> {
    let f: f64 = v.parse().map_err(|_| OptionValueError::NotANumber)?;
    if !(0.0..=86400.0 * 365.0).contains(&f) {
        return Err(OptionValueError::OutOfRange);
    }
    Ok(Duration::from_secs_f64(f))
}

fn processes(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n: u32 = number(v)?;
    if !(1..=1000).contains(&n) {
        return Err(OptionValueError::Bound("must be from 1 to 1000"));
    }
    o.processes = n;
    o.processes_explicit = true;
    Ok(())
}

fn threads(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n: u32 = number(v)?;
    // threads=0: a service-script daemon (its WSGIImportScript scripts run;
    // it serves no requests), as mod_wsgi.
    if n > 10000 {
        return Err(OptionValueError::Bound("must be at most 10000"));
    }
    o.threads = n;
    Ok(())
}

fn resolve_user(v: &str) -> Result<(String, u32), OptionValueError> {
    let (name, uid) = lookup_user(v)?;
    if uid == 0 {
        return Err(OptionValueError::Root);
    }
    Ok((name, uid))
}

/// A user name or `#uid` (root allowed), as Apache's `ap_uname2id`.
fn lookup_user(v: &str) -> Result<(String, u32), OptionValueError> {
    let uid = if let Some(n) = v.strip_prefix('#') {
        number::<u32>(n)?
    } else {
        match nix::unistd::User::from_name(v) {
            Ok(Some(u)) => u.uid.as_raw(),
            _ => return Err(OptionValueError::NoSuchUser),
        }
    };
    Ok((v.to_string(), uid))
}

fn resolve_group(v: &str) -> Result<(String, u32), OptionValueError> {
    let gid = if let Some(n) = v.strip_prefix('#') {
        number::<u32>(n)?
    } else {
        match nix::unistd::Group::from_name(v) {
            Ok(Some(g)) => g.gid.as_raw(),
            _ => return Err(OptionValueError::NoSuchGroup),
        }
    };
    Ok((v.to_string(), gid))
}

fn user(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.user = Some(resolve_user(v)?);
    Ok(())
}

fn socket_user(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.socket_user = Some(lookup_user(v)?);
    Ok(())
}

fn group(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.group = Some(resolve_group(v)?);
    Ok(())
}

/// `script-user=`: a user name (kept as written, as mod_wsgi) or `#uid`
/// (resolved to the user's name; an unknown uid is refused).
fn script_user(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let (name, uid) = lookup_user(v)?;
    o.script_user = Some(if v.starts_with('#') {
        match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
            Ok(Some(u)) => u.name,
            _ => return Err(OptionValueError::NoSuchUser),
        }
    } else {
        name
    });
    Ok(())
}

/// `script-group=`: a group name or `#gid` (resolved to the group's name).
fn script_group(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let (name, gid) = resolve_group(v)?;
    o.script_group = Some(if v.starts_with('#') {
        match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
            Ok(Some(g)) => g.name,
            _ => return Err(OptionValueError::NoSuchGroup),
        }
    } else {
        name
    });
    Ok(())
}

fn supplementary_groups(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.supplementary_groups = v
        .split(',')
        .filter(|g| !g.is_empty())
        .map(resolve_group)
        .collect::<Result<_, _>>()?;
    Ok(())
}

fn absolute_dir(v: &str) -> Result<String, OptionValueError> {
    if !v.starts_with('/') {
        return Err(OptionValueError::NotAbsolute);
    }
    Ok(v.to_string())
}

fn home(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.home = Some(absolute_dir(v)?);
    Ok(())
}

fn display_name(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    if v.is_empty() || v.starts_with("%{") && v != "%{GROUP}" {
        return Err(OptionValueError::DisplayName);
    }
    o.display_name = Some(v.to_string());
    Ok(())
}

fn umask(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let m = u32::from_str_radix(v, 8).map_err(|_| OptionValueError::NotOctal)?;
    if m > 0o777 {
        return Err(OptionValueError::Bound("larger than 0777"));
    }
    o.umask = Some(m);
    Ok(())
}

fn lang(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.lang = Some(v.to_string());
    Ok(())
}

fn locale(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.locale = Some(v.to_string());
    Ok(())
}

fn python_home(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.python_home = Some(validate_home(v)?);
    Ok(())
}

fn python_path(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.python_path = v
        .split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    Ok(())
}

fn python_eggs(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.python_eggs = Some(absolute_dir(v)?);
    Ok(())
}

fn switch_interval(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let s = super::compat::positive_seconds(v)
        .ok_or(OptionValueError::Bound("must be greater than 0"))?;
    o.switch_interval = Some(s);
    Ok(())
}

fn socket_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    if d < Duration::from_secs(1) {
        return Err(OptionValueError::Bound("must be at least 1"));
    }
    o.socket_timeout = Some(d);
    Ok(())
}

fn connect_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    if d < Duration::from_secs(1) {
        return Err(OptionValueError::Bound("must be at least 1"));
    }
    o.connect_timeout = d;
    Ok(())
}

fn header_buffer_size(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n: u32 = number(v)?;
    if n != 0 && n < 8192 {
        return Err(OptionValueError::Bound("must be at least 8192 (or 0)"));
    }
    o.header_buffer_size = if n == 0 { 32768 } else { n };
    Ok(())
}

fn response_socket_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    // As mod_wsgi: 0 means "the same as socket-timeout".
    let d = seconds(v)?;
    o.response_socket_timeout = (!d.is_zero()).then_some(d);
    Ok(())
}

fn listen_backlog(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n: i32 = number(v)?;
    if n < 1 {
        return Err(OptionValueError::Bound("must be at least 1"));
    }
    o.listen_backlog = n;
    Ok(())
}

fn shutdown_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.shutdown_timeout = seconds(v)?;
    Ok(())
}

fn maximum_requests(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.maximum_requests = number(v)?;
    Ok(())
}

fn deadlock_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    o.deadlock_timeout = (!d.is_zero()).then_some(d);
    Ok(())
}

fn request_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    o.request_timeout = (!d.is_zero()).then_some(d);
    Ok(())
}

fn interrupt_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.interrupt_timeout = Some(seconds(v)?).filter(|d| !d.is_zero());
    Ok(())
}

fn startup_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.startup_timeout = Some(seconds(v)?).filter(|d| !d.is_zero());
    Ok(())
}

fn restart_interval(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    o.restart_interval = (!d.is_zero()).then_some(d);
    Ok(())
}

fn queue_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    o.queue_timeout = (!d.is_zero()).then_some(d);
    Ok(())
}

fn inactivity_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let d = seconds(v)?;
    o.inactivity_timeout = (!d.is_zero()).then_some(d);
    Ok(())
}

#[cfg(test)]
#[path = "daemon_options_tests.rs"]
mod tests;
