//! The end of a configuration generation for its daemon processes, in the
//! Apache parent. Every daemon is noted as a subprocess of Apache's global
//! pool (`other_child::watch`), so Apache's exit still ends them all
//! (SIGTERM, SIGKILL after 3 s); but a restart (graceful or not) no longer
//! kills them after 3 s: when the generation's configuration pool is
//! cleared for a restart, [`Retirement`] sends each live daemon of the
//! generation the generation-end signal (`stop_signal::generation_end_signal`,
//! a real-time signal: it finishes its requests
//! in flight within `graceful-timeout`, then `shutdown-timeout`, and exits;
//! the new generation has daemons of its own; WSGIRS0490) and hands it to
//! the MPM as an extra process, which the MPM reaps quietly when it exits
//! and signals with its own children when Apache stops or restarts hard
//! (as mod_cgid's daemon), so a draining daemon never delays a stop.
//! Used by `supervisor`, which records each fork and death here.

use super::supervisor::Group;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::GENERATION_ENDED;
use crate::apache::pool::Pool;
use crate::apache::request::Server;
use crate::apache::{mpm, other_child};
use std::ffi::c_int;
use std::sync::{Arc, Mutex};

/// The daemons of the generation that just ended, still draining, until
/// the next post_config hands them to the MPM ([`adopt_previous`]). The
/// pconf cleanup and the next post_config are both in the single-threaded
/// parent; only a static carries them from one pool to the next.
static DRAINING: Mutex<Vec<(i32, i32)>> = Mutex::new(Vec::new());

/// post_config: hands the previous generation's draining daemons to the
/// MPM (not with prefork, see the module's documentation).
pub fn adopt_previous(s: Server) {
    let draining = std::mem::take(&mut *DRAINING.lock().unwrap_or_else(|e| e.into_inner()));
    for (pid, generation) in draining {
        mpm::add_extra_process(s, pid, generation);
    }
}

/// The live daemons of one generation.
pub struct Retirement {
    live: Mutex<Vec<(i32, Arc<Group>)>>,
    /// Asked of the MPM while its hooks are registered (they are gone when
    /// pconf is cleared): whether it is prefork, and its generation.
    prefork: bool,
    generation: i32,
}

impl Retirement {
    /// Made for a generation's pconf: runs [`Retirement::end`] when pconf is
    /// cleared.
    pub fn for_generation(pconf: Pool) -> Arc<Retirement> {
        let r = Arc::new(Retirement {
            live: Mutex::new(Vec::new()),
            prefork: !mpm::is_threaded(),
            generation: mpm::generation(),
        });
        pconf.adopt(Ender {
            retirement: r.clone(),
            pconf,
        });
        r
    }

    /// A daemon of `group` was forked.
    pub fn started(&self, pid: i32, group: &Arc<Group>) {
        self.lock().push((pid, group.clone()));
    }

    /// A daemon has died.
    pub fn ended(&self, pid: i32) {
        self.lock().retain(|(p, _)| *p != pid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(i32, Arc<Group>)>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// pconf is being cleared for a restart: tells every live daemon to
    /// drain and exit, and hands it to the MPM (prefork: watches it from
    /// `global`).
    fn end(&self, global: Pool) {
        let live = std::mem::take(&mut *self.lock());
        for (pid, group) in live {
            // SAFETY: kill(2) on a daemon this parent forked and has not reaped.
            if unsafe { libc::kill(pid, super::stop_signal::generation_end_signal()) } != 0 {
                continue;
            }
            let o = &group.opts;
            log::server(
                Level::Info,
                None,
                &format!(
                    "{GENERATION_ENDED} Apache restarts: daemon process {pid} of group '{}' \
                     (previous generation) takes no new connection from now on, finishes its \
                     requests in flight within graceful-timeout={:.1}s (then \
                     shutdown-timeout={:.1}s) and exits",
                    o.name,
                    o.graceful.timeout.as_secs_f64(),
                    o.shutdown_timeout.as_secs_f64()
                ),
            );
            // Reaped quietly, whichever MPM.
            other_child::watch_only(global, pid, Retired);
            if !self.prefork {
                DRAINING
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((pid, self.generation));
            }
        }
    }
}

/// Owned by pconf: its drop (pconf cleared) ends the generation.
struct Ender {
    retirement: Arc<Retirement>,
    pconf: Pool,
}

impl Drop for Ender {
    fn drop(&mut self) {
        // At the exit, the global pool's destruction ends every daemon.
        if !mpm::is_restarting() {
            return;
        }
        if let Some(global) = self.pconf.parent() {
            self.retirement.end(global);
        }
    }
}

/// A draining daemon of a previous generation (prefork): its exit is
/// reaped, not answered with a new process.
struct Retired;

impl other_child::Watch for Retired {
    fn died(&mut self, _pid: i32, _status: c_int) -> Option<i32> {
        None
    }

    fn ends_on_restart(&self) -> bool {
        false
    }
}
