//! The daemon supervisor, run in the Apache parent (as root, single
//! threaded, never touching Python): on each configuration generation except
//! the first dry-run pass it creates one listening socket and one random
//! secret per `WSGIDaemonProcess` group, forks `processes` daemons, and
//! registers each with APR's other-child machinery (restart on death, with
//! back-off against crash loops) and `apr_pool_note_subprocess` (SIGTERM,
//! then SIGKILL after 3 s, when the configuration pool is cleared at stop and
//! restart). The per-generation [`Registry`] is inherited by the Apache
//! children, which look groups up in it and close the listeners
//! (`child_init`). Called from `hooks::post_config` and `child_init`.

use super::{process, socket};
use crate::apache::log::{self, Level};
use crate::apache::pool::Pool;
use crate::apache::request::Server;
use crate::apache::sys;
use crate::config::ServerConfig;
use crate::config::daemon_options::DaemonOptions;
use crate::proto::AuthToken;
use std::ffi::{c_int, c_void};
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
    pub token: AuthToken,
    /// The previous generation's secret of the same group, still accepted so
    /// that requests already inside old Apache children after a graceful
    /// restart reach the new daemons.
    pub previous_token: Option<AuthToken>,
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
    /// Socket timeout (socket-timeout, else Apache's `Timeout`).
    pub socket_timeout: Duration,
}

/// The daemon groups of the current generation.
#[derive(Debug, Default)]
pub struct Registry {
    pub groups: Vec<Arc<Group>>,
}

impl Registry {
    pub fn find(&self, name: &str) -> Option<&Arc<Group>> {
        self.groups.iter().find(|g| g.opts.name == name)
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

/// One supervised process: stable address (registered with APR), owned by pconf.
struct Slot {
    group: Arc<Group>,
    index: u32,
    /// In pconf memory, not in the slot: APR's subprocess list reads it when
    /// pconf is cleared, after the cleanup that drops the slot has run.
    proc_: *mut sys::apr_proc_t,
    pconf: *mut sys::apr_pool_t,
    started: Instant,
    /// The start-up delay the current process was given (not counted as lifetime).
    delay: Duration,
    quick_deaths: u32,
}

const FIRST_PASS_KEY: &std::ffi::CStr = c"mod_wsgi-rs.first-post-config";

/// Whether this is the first (dry-run) post_config pass at start-up, which
/// mod_wsgi skips; recorded in the process pool, which survives restarts.
fn first_pass(s: Server) -> bool {
    // SAFETY: live server record; process->pool lives as long as the process.
    unsafe {
        let pool = (*(*s.as_ptr()).process).pool;
        let mut data: *mut c_void = std::ptr::null_mut();
        sys::apr_pool_userdata_get(&mut data, FIRST_PASS_KEY.as_ptr(), pool);
        if data.is_null() {
            sys::apr_pool_userdata_set(
                std::ptr::dangling::<c_void>(),
                FIRST_PASS_KEY.as_ptr(),
                None,
                pool,
            );
            true
        } else {
            false
        }
    }
}

/// A group and the ServerName of the virtual host defining it.
type Scoped = (Arc<DaemonOptions>, Option<String>);

/// Every group of every server record, with the vhost scope. Fails on a
/// name defined twice anywhere.
fn collect_groups(s: Server) -> Result<Vec<Scoped>, String> {
    let mut out: Vec<Scoped> = Vec::new();
    for (server, cfg) in s.distinct_configs::<ServerConfig>() {
        {
            let scope = server.is_virtual().then(|| server.hostname().into_owned());
            for g in &cfg.daemon.groups {
                if out.iter().any(|(o, _)| o.name == g.name) {
                    return Err(format!(
                        "[WSGIRS0401] WSGIDaemonProcess: name '{}' is defined more than once; \
                         daemon process group names must be unique across the server",
                        g.name
                    ));
                }
                out.push((g.clone(), scope.clone()));
            }
        }
    }
    Ok(out)
}

/// post_config: starts this generation's daemons. Returns an error line on failure.
pub fn start(pconf: Pool, s: Server) -> Result<(), String> {
    if first_pass(s) {
        return Ok(());
    }
    let previous = REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).take();
    let groups = collect_groups(s)?;
    if groups.is_empty() {
        return Ok(());
    }
    let generation = {
        let mut g = GENERATION.lock().unwrap_or_else(|e| e.into_inner());
        *g += 1;
        *g
    };
    let main_cfg = s.config::<ServerConfig>();
    let prefix_cfg = main_cfg
        .and_then(|c| c.daemon.socket_prefix.clone())
        .unwrap_or_else(|| {
            // SAFETY: a static NUL-terminated constant.
            let d = unsafe { crate::apache::cstr(sys::DEFAULT_REL_RUNTIMEDIR.as_ptr().cast()) };
            format!("{d}/wsgi")
        });
    let prefix = server_root_relative(pconf, &prefix_cfg);
    let rotation = main_cfg
        .and_then(|c| c.daemon.socket_rotation)
        .unwrap_or(true);
    // SAFETY: ap_unixd_config is filled from User/Group while reading the config.
    let (apache_uid, apache_gid) =
        unsafe { (sys::ap_unixd_config.user_id, sys::ap_unixd_config.group_id) };
    // SAFETY: live main server.
    let apache_timeout = unsafe { (*s.as_ptr()).timeout };
    let pid = std::process::id();
    let mut built = Vec::new();
    for (id, (opts, scope)) in groups.into_iter().enumerate() {
        let id = id + 1;
        let path = socket::path(&prefix, pid, generation, rotation, apache_uid, id);
        let fd =
            socket::listen(&path, opts.listen_backlog, apache_uid, apache_gid).map_err(|e| {
                format!(
                    "[WSGIRS0402] cannot create the socket '{path}' of daemon process group '{}': \
                 {e}; check that the directory of WSGISocketPrefix ('{prefix}') exists and is \
                 writable by root and searchable by the Apache user",
                    opts.name
                )
            })?;
        pconf.adopt(socket::SocketGuard {
            fd,
            path: path.clone(),
            owner: pid,
        });
        let token = AuthToken::generate()
            .map_err(|e| format!("[WSGIRS0403] cannot read random bytes for the secret: {e}"))?;
        let socket_timeout = opts
            .socket_timeout
            .unwrap_or(Duration::from_micros(apache_timeout.max(1_000_000) as u64));
        if !opts.not_enforced.is_empty() {
            log::server(
                Level::Warning,
                Some(s),
                &format!(
                    "[WSGIRS0404] WSGIDaemonProcess {}: option(s) {} accepted but not enforced \
                     by this version",
                    opts.name,
                    opts.not_enforced.join(", ")
                ),
            );
        }
        let previous_token = previous
            .as_ref()
            .and_then(|p| p.find(&opts.name))
            .map(|g| AuthToken::from_bytes(*g.token.as_bytes()));
        built.push(Arc::new(Group {
            opts,
            id,
            socket_path: path,
            listener: fd,
            token,
            previous_token,
            socket_prefix: prefix.clone(),
            generation,
            rotation,
            scope,
            apache_uid,
            apache_gid,
            socket_timeout,
        }));
    }
    let reg = Arc::new(Registry { groups: built });
    *REGISTRY.lock().unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
    for group in &reg.groups {
        for index in 0..group.opts.processes {
            let slot = pconf.adopt(Slot {
                group: group.clone(),
                index,
                proc_: pool_proc(pconf),
                pconf: pconf.as_ptr(),
                started: Instant::now(),
                delay: Duration::ZERO,
                quick_deaths: 0,
            });
            // SAFETY: the slot lives in pconf until the pool is cleared,
            // after the other-child registration (registered later, so
            // unregistered earlier) is gone.
            unsafe { spawn(slot, Duration::ZERO) };
        }
    }
    Ok(())
}

/// An `apr_proc_t` in pool memory (valid until the pool's memory is reset,
/// which is after APR has killed and reaped the noted subprocesses).
fn pool_proc(pool: Pool) -> *mut sys::apr_proc_t {
    // SAFETY: live pool; the allocation is sized and aligned for apr_proc_t
    // (APR aligns to 8) and initialised before use.
    unsafe {
        let p = sys::apr_palloc(pool.as_ptr(), std::mem::size_of::<sys::apr_proc_t>())
            .cast::<sys::apr_proc_t>();
        p.write(sys::apr_proc_t::default());
        p
    }
}

fn server_root_relative(pconf: Pool, p: &str) -> String {
    let c = std::ffi::CString::new(p).unwrap_or_default();
    // SAFETY: live pool; returns a pool string or NULL.
    let r = unsafe { sys::ap_server_root_relative(pconf.as_ptr(), c.as_ptr()) };
    if r.is_null() {
        p.to_string()
    } else {
        // SAFETY: NUL-terminated pool string.
        unsafe { crate::apache::cstr(r) }.into_owned()
    }
}

/// Forks one daemon for `slot` and registers it.
///
/// # Safety
/// `slot` must be live (pconf-owned) and this must run in the Apache parent.
unsafe fn spawn(slot: *mut Slot, delay: Duration) {
    // SAFETY: the caller's contract.
    let sl = unsafe { &mut *slot };
    // SAFETY: the parent is single-threaded; the child only runs daemon code
    // and never returns into Apache.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        log::server(
            Level::Alert,
            None,
            &format!(
                "[WSGIRS0405] cannot fork daemon process of group '{}': {}",
                sl.group.opts.name,
                std::io::Error::last_os_error()
            ),
        );
        return;
    }
    if pid == 0 {
        let reg = registry().unwrap_or_default();
        process::run(&sl.group, &reg, sl.index, delay);
    }
    // SAFETY: pconf memory allocated for this slot.
    unsafe { (*sl.proc_).pid = pid };
    sl.started = Instant::now();
    sl.delay = delay;
    log::server(
        Level::Info,
        None,
        &format!(
            "[WSGIRS0406] started daemon process {pid} of group '{}'",
            sl.group.opts.name
        ),
    );
    // SAFETY: proc_ and slot stay valid until pconf is cleared; the
    // registration is removed by the cleanup APR adds to pconf.
    unsafe {
        sys::apr_pool_note_subprocess(sl.pconf, sl.proc_, sys::APR_KILL_AFTER_TIMEOUT);
        sys::apr_proc_other_child_register(
            sl.proc_,
            Some(maintenance),
            slot as *mut c_void,
            std::ptr::null_mut(),
            sl.pconf,
        );
    }
}

fn stopping() -> bool {
    let mut state: c_int = 0;
    // SAFETY: plain query into a local.
    let rv = unsafe { sys::ap_mpm_query(sys::AP_MPMQ_MPM_STATE as c_int, &mut state) };
    rv != 0 || state == sys::AP_MPMQ_STOPPING as c_int
}

/// APR's other-child callback (Apache's maintenance loop in the parent).
unsafe extern "C" fn maintenance(reason: c_int, data: *mut c_void, status: c_int) {
    crate::apache::entry::guarded("daemon supervision", || {
        let slot = data as *mut Slot;
        // SAFETY: `data` is the pconf-owned slot registered in `spawn`.
        let sl = unsafe { &mut *slot };
        let reason = reason as u32;
        if reason == sys::APR_OC_REASON_DEATH || reason == sys::APR_OC_REASON_LOST {
            // SAFETY: `data` is what we registered.
            unsafe { sys::apr_proc_other_child_unregister(data) };
            let how = if libc::WIFSIGNALED(status) {
                format!("killed by signal {}", libc::WTERMSIG(status))
            } else {
                format!("exited with status {}", libc::WEXITSTATUS(status))
            };
            if stopping() {
                return;
            }
            let lived = sl.started.elapsed().saturating_sub(sl.delay);
            sl.quick_deaths = if lived < Duration::from_secs(5) {
                sl.quick_deaths + 1
            } else {
                0
            };
            let delay = match sl.quick_deaths {
                0 | 1 => Duration::ZERO,
                n => Duration::from_millis(250u64 << (n - 2).min(7)).min(Duration::from_secs(30)),
            };
            log::server(
                Level::Warning,
                None,
                &format!(
                    "[WSGIRS0407] daemon process {} of group '{}' {how}; restarting it{}",
                    // SAFETY: pconf memory of this slot.
                    unsafe { (*sl.proc_).pid },
                    sl.group.opts.name,
                    if delay.is_zero() {
                        String::new()
                    } else {
                        format!(" after {:.1} s (it keeps dying)", delay.as_secs_f64())
                    }
                ),
            );
            // SAFETY: parent, slot live.
            unsafe { spawn(slot, delay) };
        } else if reason == sys::APR_OC_REASON_RESTART {
            // SAFETY: `data` is what we registered.
            unsafe { sys::apr_proc_other_child_unregister(data) };
        }
    });
}

/// child_init in an Apache child: close the daemon listeners it inherited.
pub fn close_listeners_in_child() {
    if let Some(reg) = registry() {
        for g in &reg.groups {
            // SAFETY: the child never uses the listener; closing our inherited copy.
            unsafe { libc::close(g.listener) };
        }
    }
}
