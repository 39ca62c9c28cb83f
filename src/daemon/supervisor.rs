//! The daemon supervisor, run in the Apache parent (as root, single
//! threaded, never touching Python): on each configuration generation except
//! the first dry-run pass it creates one listening socket and one random
//! secret per `WSGIDaemonProcess` group, forks `processes` daemons, and
//! registers each with APR's other-child machinery (restart on death, with
//! back-off against crash loops; how it died comes from `death`; a failed
//! fork is retried by `respawn` from the monitor hook) and
//! `apr_pool_note_subprocess` in Apache's global pool (SIGTERM, then
//! SIGKILL after 3 s, at Apache's exit); at a restart `retirement` tells
//! the ending generation's daemons to drain and exit instead. With a
//! standby (`handover`), a group has one process slot more than
//! `processes`. The per-generation [`Registry`] is inherited by the Apache
//! children, which look groups up in it and close the listeners
//! (`child_init`). At start-up the forks wait for `pre_mpm`, once the MPM
//! has created the scoreboard, as mod_wsgi does. Called from
//! `hooks::post_config`, `pre_mpm` and `child_init`.

use super::error::SupervisorError;
use super::handover::Seats;
use super::retirement::Retirement;
use super::{death, process as daemon_process, respawn, socket};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    DAEMON_DIED, DAEMON_FORK_FAILED, DAEMON_FORK_RETRY, DAEMON_STARTED, LIMIT_NOT_APPLIED,
    NO_SEATS, SEAT_TO_STANDBY, SOCKET_PATH_REPLACED,
};
use crate::apache::pool::Pool;
use crate::apache::request::Server;
use crate::apache::{conftree, mpm, other_child, process, scoreboard};
use crate::config::ServerConfig;
use crate::config::daemon_options::DaemonOptions;
use crate::config::script_scope::ScriptScope;
use crate::proto::AuthToken;
use std::ffi::c_int;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One daemon group of the current generation.
#[derive(Debug)]
pub struct Group {
    pub opts: Arc<DaemonOptions>,
    pub id: usize,
    pub socket_path: String,
    pub listener: RawFd,
    /// This generation's secret (behind a lock so that a daemon of another
    /// group can wipe it in its copy of the registry: [`Group::wipe_secrets`]).
    token: Mutex<AuthToken>,
    /// The previous generation's secret of the same group, still accepted so
    /// that requests already inside old Apache children after a graceful
    /// restart reach the new daemons.
    previous_token: Mutex<Option<AuthToken>>,
    /// Socket naming, so an old child can find this group's socket of a
    /// newer generation (`socket::newer`).
    pub socket_prefix: String,
    pub generation: u32,
    pub rotation: bool,
    /// ServerName of the virtual host that defines it (None: main server).
    pub scope: Option<String>,
    /// uid and gid of the Apache `User`/`Group` (who may connect).
    pub apache_uid: u32,
    pub apache_gid: u32,
    /// Who created the listening socket (this Apache parent: its pid and
    /// effective uid). The daemons inherit the listener, so `SO_PEERCRED`
    /// of a connection to a real daemon names the creator of the listener
    /// (Linux records them at `listen()`), and an Apache child sends this
    /// group's secret only to a listener with exactly these credentials.
    pub listener_pid: i32,
    pub listener_uid: u32,
    /// Socket timeout (socket-timeout, else Apache's `Timeout`).
    pub socket_timeout: Duration,
    /// With a standby process (`handover`): who holds the group's seats.
    pub seats: Option<Seats>,
}

/// The daemon groups of the current generation.
#[derive(Debug, Default)]
pub struct Registry {
    pub groups: Vec<Arc<Group>>,
    /// The script files the configuration maps, and WSGIRestrictProcess by
    /// directory: what a daemon checks before running the script a
    /// connection names.
    pub scripts: Arc<ScriptScope>,
}

impl Group {
    /// This generation's secret (a copy; zeros once wiped).
    pub fn token(&self) -> AuthToken {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The previous generation's secret, if any (a copy).
    pub fn previous_token(&self) -> Option<AuthToken> {
        self.previous_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Overwrites both secrets with zeros (`AuthToken::wipe`): what a
    /// daemon of another group does to its inherited copy after fork.
    pub fn wipe_secrets(&self) {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).wipe();
        if let Some(t) = self
            .previous_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            t.wipe();
        }
    }
}

impl Registry {
    pub fn find(&self, name: &str) -> Option<&Arc<Group>> {
        self.groups.iter().find(|g| g.opts.name == name)
    }

    /// Zeroes every group's secrets but group `own`'s: a daemon's step after
    /// fork, so an application of its group cannot find another group's
    /// token in its own memory and connect to that group's socket.
    pub fn keep_only_secret_of(&self, own: usize) {
        for g in self.groups.iter().filter(|g| g.id != own) {
            g.wipe_secrets();
        }
    }
}

/// Written by the parent in post_config (single-threaded), read by children
/// and daemons forked after that. Never locked across a fork.
static REGISTRY: Mutex<Option<Arc<Registry>>> = Mutex::new(None);
static GENERATION: Mutex<u32> = Mutex::new(0);

/// The current generation's groups.
pub fn registry() -> Option<Arc<Registry>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// One supervised process slot: the group and index it serves, and how
/// its current process fared (for the back-off). Owned by pconf (through
/// `other_child::watch`, or `respawn` while a fork fails) until the
/// configuration pool is cleared.
#[derive(Clone)]
struct Slot {
    /// The configuration pool that owns the watch.
    pool: Pool,
    group: Arc<Group>,
    index: u32,
    started: Instant,
    /// The start-up delay the current process was given (not counted as lifetime).
    delay: Duration,
    quick_deaths: u32,
    /// The generation's live daemons (drained at a restart).
    live: Arc<Retirement>,
}

const FIRST_PASS_KEY: &std::ffi::CStr = c"mod_wsgi-rs.first-post-config";

/// A group and the ServerName of the virtual host defining it.
type Scoped = (Arc<DaemonOptions>, Option<String>);

/// Every group of every server record, with the vhost scope. Fails on a
/// name defined twice anywhere.
fn collect_groups(s: Server) -> Result<Vec<Scoped>, SupervisorError> {
    let mut out: Vec<Scoped> = Vec::new();
    for (server, cfg) in s.distinct_configs::<ServerConfig>() {
        {
            let scope = server.is_virtual().then(|| server.hostname().into_owned());
            for g in &cfg.daemon.groups {
                if out.iter().any(|(o, _)| o.name == g.name) {
                    return Err(SupervisorError::DuplicateGroup {
                        name: g.name.clone(),
                    });
                }
                out.push((g.clone(), scope.clone()));
            }
        }
    }
    Ok(out)
}

/// What every group of one generation shares: where the sockets go, who
/// may connect, the default socket timeout, the previous generation.
struct Generation {
    number: u32,
    prefix: String,
    rotation: bool,
    apache_uid: u32,
    apache_gid: u32,
    apache_timeout_us: i64,
    previous: Option<Arc<Registry>>,
}

impl Generation {
    /// The next generation, from the main server's configuration.
    fn next(pconf: Pool, s: Server, previous: Option<Arc<Registry>>) -> Generation {
        let number = {
            let mut g = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
            *g += 1;
            *g
        };
        let main_cfg = s.config::<ServerConfig>();
        let prefix_cfg = main_cfg
            .and_then(|c| c.daemon.socket_prefix.clone())
            .unwrap_or_else(|| format!("{}/wsgi", process::default_runtime_dir()));
        let (apache_uid, apache_gid) = process::unixd_ids();
        Generation {
            number,
            prefix: process::server_root_relative(pconf, &prefix_cfg),
            rotation: main_cfg
                .and_then(|c| c.daemon.socket_rotation)
                .unwrap_or(true),
            apache_uid,
            apache_gid,
            apache_timeout_us: s.timeout_us(),
            previous,
        }
    }

    /// Creates group number `id`'s socket (owned by pconf) and secret.
    fn group(
        &self,
        pconf: Pool,
        s: Server,
        id: usize,
        scoped: Scoped,
    ) -> Result<Group, SupervisorError> {
        let (opts, scope) = scoped;
        let pid = std::process::id();
        let path = socket::path(
            &self.prefix,
            pid,
            self.number,
            self.rotation,
            self.apache_uid,
            id,
        );
        // socket-user= (mod_wsgi): the socket's owner instead of the Apache user.
        let owner = opts.socket_uid(self.apache_uid);
        report_leftover(s, &opts.name, &path, owner);
        let fd = socket::listen(&path, opts.listen_backlog, owner, self.apache_gid).map_err(
            |source| SupervisorError::Socket {
                path: path.clone(),
                group: opts.name.clone(),
                prefix: self.prefix.clone(),
                source,
            },
        )?;
        let sizes = [
            ("send-buffer-size", libc::SO_SNDBUF, opts.limits.send_buffer),
            (
                "receive-buffer-size",
                libc::SO_RCVBUF,
                opts.limits.receive_buffer,
            ),
        ];
        for (key, option, bytes) in sizes {
            if let Some(bytes) = bytes
                && let Err(e) = socket::set_buffer_size(fd, option, bytes)
            {
                log::server(
                    Level::Warning,
                    Some(s),
                    &format!(
                        "{LIMIT_NOT_APPLIED} WSGIDaemonProcess {}: cannot set {key}={bytes}: {e}; \
                         the system's default is used",
                        opts.name
                    ),
                );
            }
        }
        pconf.adopt(socket::SocketGuard {
            fd,
            path: path.clone(),
            owner: pid,
        });
        let token = AuthToken::generate().map_err(SupervisorError::Random)?;
        let socket_timeout = opts.socket_timeout.unwrap_or(Duration::from_micros(
            self.apache_timeout_us.max(1_000_000) as u64,
        ));
        let previous_token = self
            .previous
            .as_ref()
            .and_then(|p| p.find(&opts.name))
            .map(|g| g.token());
        let seats = self.seats(s, &opts);
        Ok(Group {
            seats,
            opts,
            id,
            socket_path: path,
            listener: fd,
            token: Mutex::new(token),
            previous_token: Mutex::new(previous_token),
            socket_prefix: self.prefix.clone(),
            generation: self.number,
            rotation: self.rotation,
            scope,
            apache_uid: self.apache_uid,
            apache_gid: self.apache_gid,
            listener_pid: pid as i32,
            listener_uid: nix::unistd::geteuid().as_raw(),
            socket_timeout,
        })
    }
}

impl Generation {
    /// The shared seats of a group with a standby process (`standby`).
    fn seats(&self, s: Server, opts: &DaemonOptions) -> Option<Seats> {
        if !crate::config::daemon_graceful::standby(opts) {
            return None;
        }
        Seats::map(opts.processes)
            .map_err(|e| {
                log::server(
                    Level::Warning,
                    Some(s),
                    &format!(
                        "{NO_SEATS} WSGIDaemonProcess {}: cannot map shared memory for the \
                         standby process ({e}); the group runs without one",
                        opts.name
                    ),
                );
            })
            .ok()
    }
}

/// Logs what a socket about to be created at `path` replaces, when that
/// is a symlink or a file of another user ([`socket::suspicious_leftover`]).
fn report_leftover(s: Server, group: &str, path: &str, owner: u32) {
    if let Some(found) = socket::suspicious_leftover(path, owner) {
        log::server(
            Level::Warning,
            Some(s),
            &format!(
                "{SOCKET_PATH_REPLACED} WSGIDaemonProcess {group}: found {found} at socket path \
                 '{path}'; removed without following it"
            ),
        );
    }
}

/// post_config: starts this generation's daemons.
pub fn start(pconf: Pool, s: Server) -> Result<(), SupervisorError> {
    if process::first_time(s, FIRST_PASS_KEY) {
        return Ok(());
    }
    // The previous generation's draining daemons go to the MPM (hooks live now).
    super::retirement::adopt_previous(s);
    let previous = REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).take();
    // The previous generation's failed slots went with its pool.
    respawn::clear();
    let groups = collect_groups(s)?;
    if groups.is_empty() {
        return Ok(());
    }
    death::install();
    death::forget_gone();
    let reg = build(pconf, s, groups, previous)?;
    // Drawing the secrets left copies of them in the frames below this one:
    // gone before any daemon inherits this stack.
    scrub_stack();
    *REGISTRY.lock().unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
    if scoreboard::exists() {
        spawn_all(pconf, &reg);
    } else {
        // First start: as mod_wsgi, fork the daemons once the MPM has created
        // the scoreboard (pre_mpm), so they inherit it for server_metrics().
        *DEFERRED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Deferred(pconf, reg));
    }
    Ok(())
}

/// Daemons whose fork waits for the scoreboard: this generation's pconf
/// and registry, from post_config to pre_mpm.
struct Deferred(Pool, Arc<Registry>);

// SAFETY: only the Apache parent, single-threaded, stores and takes it; the
// pool is pconf, live until the next restart, which comes after pre_mpm.
unsafe impl Send for Deferred {}

static DEFERRED: Mutex<Option<Deferred>> = Mutex::new(None);

/// pre_mpm (after the MPM created the scoreboard; at start-up only): forks
/// the daemons post_config deferred. Nothing to do on later generations.
pub fn start_deferred() {
    let deferred = DEFERRED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(Deferred(pconf, reg)) = deferred {
        spawn_all(pconf, &reg);
    }
}

/// Forks every daemon of `reg` and watches it (restart on death).
fn spawn_all(pconf: Pool, reg: &Arc<Registry>) {
    // After the sockets' cleanups: runs before them when pconf is cleared.
    let live = Retirement::for_generation(pconf);
    for group in &reg.groups {
        // With a standby, one slot more than `processes`.
        let slots = group
            .seats
            .as_ref()
            .map_or(group.opts.processes, Seats::slots);
        for index in 0..slots {
            let mut slot = Slot {
                pool: pconf,
                group: group.clone(),
                index,
                started: Instant::now(),
                delay: Duration::ZERO,
                quick_deaths: 0,
                live: live.clone(),
            };
            match slot.spawn(Duration::ZERO) {
                Some(pid) => other_child::watch(pconf, global(pconf), pid, slot),
                None => respawn::queue(pconf, Box::new(slot)),
            }
        }
    }
}

/// Where daemons are noted as subprocesses: Apache's global pool (pconf's
/// parent), so the exit kills them but a restart lets them drain
/// (`retirement`).
fn global(pconf: Pool) -> Pool {
    pconf.parent().unwrap_or(pconf)
}

/// This generation's groups: sockets, secrets. Not inlined, so that every
/// temporary holding a secret lives in frames that [`scrub_stack`] clears.
#[inline(never)]
fn build(
    pconf: Pool,
    s: Server,
    groups: Vec<Scoped>,
    previous: Option<Arc<Registry>>,
) -> Result<Arc<Registry>, SupervisorError> {
    let generation = Generation::next(pconf, s, previous);
    let mut built = Vec::new();
    for (i, scoped) in groups.into_iter().enumerate() {
        built.push(Arc::new(generation.group(pconf, s, i + 1, scoped)?));
    }
    Ok(Arc::new(Registry {
        groups: built,
        scripts: Arc::new(ScriptScope::of(&conftree::lines())),
    }))
}

/// Overwrites the 128 KiB of stack below the caller with zeros (what the
/// calls it made left there).
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u8; 128 * 1024];
    std::hint::black_box(&mut area);
}

impl Slot {
    /// Forks one daemon for this slot (after `delay`, in the daemon);
    /// returns its pid, or None if fork failed. Runs in the Apache parent.
    fn spawn(&mut self, delay: Duration) -> Option<i32> {
        // Recorded before the fork: the daemon exits at once if its parent
        // is no longer this process (it died before PR_SET_PDEATHSIG).
        let parent = std::process::id() as i32;
        // SAFETY: the parent is single-threaded; the child only runs daemon
        // code and never returns into Apache.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            log::server(
                Level::Alert,
                None,
                &format!(
                    "{DAEMON_FORK_FAILED} cannot fork daemon process of group '{}': {}",
                    self.group.opts.name,
                    std::io::Error::last_os_error()
                ),
            );
            return None;
        }
        if pid == 0 {
            let reg = registry().unwrap_or_default();
            daemon_process::run(&self.group, &reg, self.index, delay, parent);
        }
        death::watch(pid);
        self.live.started(pid, &self.group);
        self.started = Instant::now();
        self.delay = delay;
        log::server(
            Level::Info,
            None,
            &format!(
                "{DAEMON_STARTED} started daemon process {pid} of group '{}'",
                self.group.opts.name
            ),
        );
        Some(pid)
    }

    /// How long to wait before the next start: none for an occasional
    /// death, a growing delay for a process that keeps dying quickly.
    fn backoff(&mut self) -> Duration {
        let lived = self.started.elapsed().saturating_sub(self.delay);
        self.quick_deaths = if lived < Duration::from_secs(5) {
            self.quick_deaths + 1
        } else {
            0
        };
        match self.quick_deaths {
            0 | 1 => Duration::ZERO,
            n => Duration::from_millis(250u64 << (n - 2).min(7)).min(Duration::from_secs(30)),
        }
    }
}

impl Slot {
    /// The daemon `pid` of this slot is gone: a seat it held goes to the
    /// standby, which accepts within moments (logged).
    fn vacate(&self, pid: i32) {
        let Some(seats) = &self.group.seats else {
            return;
        };
        if let Some(to) = seats.vacate(self.index) {
            log::server(
                Level::Info,
                None,
                &format!(
                    "{SEAT_TO_STANDBY} daemon process {pid} of group '{}' held a seat: the \
                     standby process (slot #{to}) takes it over",
                    self.group.opts.name
                ),
            );
        }
    }
}

impl other_child::Watch for Slot {
    /// A daemon died: restart it (unless Apache is stopping), with back-off.
    fn died(&mut self, pid: i32, status: c_int) -> Option<i32> {
        let (how, abnormal) = how_it_ended(death::take(pid), status);
        self.live.ended(pid);
        if mpm::is_stopping() {
            return None;
        }
        crate::stats::daemon_ended(
            pid,
            &self.group.opts.name,
            if abnormal { "crash" } else { "exit" },
        );
        let delay = self.backoff();
        self.vacate(pid);
        log::server(
            if abnormal { Level::Err } else { Level::Warning },
            None,
            &format!(
                "{DAEMON_DIED} daemon process {pid} of group '{}' {how}; restarting it{}",
                self.group.opts.name,
                if delay.is_zero() {
                    String::new()
                } else {
                    format!(" after {:.1} s (it keeps dying)", delay.as_secs_f64())
                }
            ),
        );
        let pid = self.spawn(delay);
        if pid.is_none() {
            respawn::queue(self.pool, Box::new(self.clone()));
        }
        pid
    }
}

impl respawn::Respawn for Slot {
    fn respawn(&mut self, pool: Pool) -> Option<i32> {
        let pid = self.spawn(Duration::ZERO)?;
        other_child::watch(pool, global(pool), pid, self.clone());
        Some(pid)
    }

    fn failed(&self, failures: u32, next: Duration) {
        log::server(
            Level::Err,
            None,
            &format!(
                "{DAEMON_FORK_RETRY} daemon process #{} of group '{}' could not be forked \
                 ({failures} time(s) in a row); trying again in {} s",
                self.index,
                self.group.opts.name,
                next.as_secs()
            ),
        );
    }
}

/// Apache's monitor hook (the parent's maintenance loop, about every 10
/// s): forks again the daemon slots whose fork failed, when due.
pub fn monitor() {
    if !mpm::is_stopping() {
        respawn::retry_due();
    }
}

/// How a daemon ended, for the log ("killed by signal 11 (SIGSEGV, core
/// dumped)", "exited with status 1"), and whether that was abnormal (a
/// signal or a non-zero status). `seen` is what the SIGCHLD peek saw;
/// without it only APR's `code` is known, an exit status or a signal
/// number, which cannot be told apart.
fn how_it_ended(seen: Option<death::Ended>, code: c_int) -> (String, bool) {
    match seen {
        Some(death::Ended::Killed { signal, core }) => {
            let name =
                nix::sys::signal::Signal::try_from(signal).map_or("unknown signal", |s| s.as_str());
            let core = if core { ", core dumped" } else { "" };
            (format!("killed by signal {signal} ({name}{core})"), true)
        }
        Some(death::Ended::Exited(status)) => (format!("exited with status {status}"), status != 0),
        None if code == 0 => ("exited with status 0".into(), false),
        None => (
            format!(
                "ended with code {code} (an exit status, or the number of the signal that killed it)"
            ),
            true,
        ),
    }
}

/// child_init in an Apache child: close the daemon listeners it inherited.
pub fn close_listeners_in_child() {
    death::uninstall_in_child();
    if let Some(reg) = registry() {
        for g in &reg.groups {
            // SAFETY: the child never uses the listener; closing our inherited copy.
            unsafe { libc::close(g.listener) };
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A group of `opts` with no socket (unit tests here and in `graceful`).
    pub(crate) fn group_of(opts: DaemonOptions, secret: u8, previous: Option<u8>) -> Arc<Group> {
        Arc::new(Group {
            opts: Arc::new(opts),
            id: 1,
            socket_path: String::new(),
            listener: -1,
            token: Mutex::new(AuthToken::from_bytes([secret; 32])),
            previous_token: Mutex::new(previous.map(|p| AuthToken::from_bytes([p; 32]))),
            socket_prefix: String::new(),
            generation: 1,
            rotation: true,
            scope: None,
            apache_uid: 1,
            apache_gid: 1,
            listener_pid: 1,
            listener_uid: 0,
            socket_timeout: Duration::from_secs(1),
            seats: None,
        })
    }

    fn group(name: &str, id: usize, secret: u8, previous: Option<u8>) -> Arc<Group> {
        let opts = crate::config::daemon_options::parse(&[name.to_string()]).unwrap();
        let mut g = group_of(opts, secret, previous);
        Arc::get_mut(&mut g).unwrap().id = id;
        g
    }

    #[test]
    fn a_death_names_the_signal_or_the_status() {
        use death::Ended::{Exited, Killed};
        let segv = Killed {
            signal: libc::SIGSEGV,
            core: true,
        };
        assert_eq!(
            how_it_ended(Some(segv), 11),
            ("killed by signal 11 (SIGSEGV, core dumped)".into(), true)
        );
        let kill = Killed {
            signal: libc::SIGKILL,
            core: false,
        };
        assert_eq!(
            how_it_ended(Some(kill), 9),
            ("killed by signal 9 (SIGKILL)".into(), true)
        );
        let one = how_it_ended(Some(Exited(1)), 1);
        assert_eq!(one, ("exited with status 1".into(), true));
        assert_eq!(
            how_it_ended(None, 0),
            ("exited with status 0".into(), false)
        );
        assert!(how_it_ended(None, 1).0.contains("ended with code 1"));
    }

    #[test]
    fn a_daemon_keeps_only_its_own_groups_secrets() {
        let reg = Registry {
            groups: vec![
                group("a", 1, 0xa1, Some(0xa0)),
                group("b", 2, 0xb1, Some(0xb0)),
                group("c", 3, 0xc1, None),
            ],
            scripts: Arc::default(),
        };
        reg.keep_only_secret_of(2);
        let zero = [0u8; 32];
        let a = reg.find("a").unwrap();
        assert_eq!(a.token().as_bytes(), &zero);
        assert_eq!(a.previous_token().unwrap().as_bytes(), &zero);
        let b = reg.find("b").unwrap();
        assert_eq!(b.token().as_bytes(), &[0xb1; 32]);
        assert_eq!(b.previous_token().unwrap().as_bytes(), &[0xb0; 32]);
        let c = reg.find("c").unwrap();
        assert_eq!(c.token().as_bytes(), &zero);
        assert!(c.previous_token().is_none());
    }
}
