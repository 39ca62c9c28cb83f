//! How a daemon process ended, as the kernel tells it: Apache's
//! maintenance loop reaps the daemons (`waitpid`) and hands APR's
//! other-child callback only the exit code *or* the signal number, not
//! which of the two it is (`os._exit(1)` and SIGHUP both arrive as 1). So
//! the Apache parent peeks first: a SIGCHLD handler (installed through
//! signal-hook's registry, chaining any previous handler, with SA_RESTART)
//! runs when a child becomes a zombie, before the loop reaps it, and for
//! each watched daemon pid asks `waitid(WNOWAIT)` (which reaps nothing)
//! whether it has ended, recording how (exited with a status, killed by a
//! signal, with a core dump). The supervisor reads the record when APR
//! reports the death ([`take`]). Everything the handler touches is a
//! fixed table of atomics: async-signal-safe, no allocation, no lock.
//! Runs in the single-threaded Apache parent; the Apache children and the
//! daemons reset SIGCHLD to its default action.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// How many daemon processes can be watched at once (every group's
/// `processes`, all generations still alive); more are reported without
/// the distinction.
const SLOTS: usize = 1024;

/// Watched pids (0: a free slot).
static PIDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
/// For each slot, how its process ended: `si_code << 32 | si_status`
/// (0: not known to have ended).
static ENDS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

static INSTALL: Once = Once::new();

/// How a daemon process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Killed { signal: i32, core: bool },
}

/// Installs the SIGCHLD handler in the Apache parent (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: the action only loads and stores atomics and calls
        // waitid(2), which is async-signal-safe; it allocates nothing.
        let _ = unsafe { signal_hook::low_level::register(libc::SIGCHLD, peek_all) };
    });
}

/// In an Apache child: SIGCHLD back to its default action (what the child
/// starts is not ours to peek at).
pub fn uninstall_in_child() {
    // SAFETY: restoring the default disposition; no handler code runs.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// Watches `pid` (a daemon just forked).
pub fn watch(pid: i32) {
    // A free slot's record is 0: `take` clears it before freeing the slot.
    for slot in &PIDS {
        if slot
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

/// Frees the slots of processes that no longer exist (daemons of an
/// earlier generation, stopped and reaped when its pool was cleared, whose
/// death APR reported to no one). Called when a generation starts.
pub fn forget_gone() {
    for (slot, end) in PIDS.iter().zip(ENDS.iter()) {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 && !exists(pid) {
            end.store(0, Ordering::SeqCst);
            slot.store(0, Ordering::SeqCst);
        }
    }
}

/// Whether process `pid` exists (a zombie counts).
fn exists(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 sends nothing; it only checks the pid.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || nix::errno::Errno::last() != nix::errno::Errno::ESRCH
}

/// How `pid` ended, if the handler saw it; stops watching it.
pub fn take(pid: i32) -> Option<Ended> {
    let i = PIDS.iter().position(|p| p.load(Ordering::SeqCst) == pid)?;
    // One last look, in case no SIGCHLD came before the reaping (a
    // handler installed late, or a signal merged with another child's).
    peek(i);
    let end = ENDS[i].swap(0, Ordering::SeqCst);
    PIDS[i].store(0, Ordering::SeqCst);
    decode(end)
}

fn decode(end: u64) -> Option<Ended> {
    let code = (end >> 32) as i32;
    let status = end as u32 as i32;
    match code {
        libc::CLD_EXITED => Some(Ended::Exited(status)),
        libc::CLD_KILLED => Some(Ended::Killed {
            signal: status,
            core: false,
        }),
        libc::CLD_DUMPED => Some(Ended::Killed {
            signal: status,
            core: true,
        }),
        _ => None,
    }
}

/// The SIGCHLD action: peeks at every watched pid.
fn peek_all() {
    for i in 0..SLOTS {
        peek(i);
    }
}

/// Records how the process of slot `i` ended, if it has (not reaping it).
fn peek(i: usize) {
    let pid = PIDS[i].load(Ordering::SeqCst);
    if pid <= 0 || ENDS[i].load(Ordering::SeqCst) != 0 {
        return;
    }
    // SAFETY: siginfo_t is plain data; zeroed is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid(2) with a valid out pointer; WNOWAIT leaves the
    // zombie for Apache's loop to reap.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (si_pid stays 0 when nothing ended).
    if rc == 0 && unsafe { info.si_pid() } == pid {
        // SAFETY: as above; a CLD_* siginfo carries si_status.
        let status = unsafe { info.si_status() };
        let end = (u64::from(info.si_code as u32) << 32) | u64::from(status as u32);
        ENDS[i].store(end, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A child of this test process that exits 3 and one killed by
    /// SIGKILL: each is seen before it is reaped, then reaped normally.
    #[test]
    fn tells_an_exit_from_a_signal() {
        install();
        let exit3 = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let (a, b) = (exit3.id() as i32, sleeper.id() as i32);
        watch(a);
        watch(b);
        sleeper.kill().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(take(a), Some(Ended::Exited(3)));
        assert_eq!(
            take(b),
            Some(Ended::Killed {
                signal: libc::SIGKILL,
                core: false
            })
        );
        assert_eq!(take(a), None);
        watch(a);
        let mut exit3 = exit3;
        assert_eq!(exit3.wait().unwrap().code(), Some(3));
        assert!(sleeper.wait().is_ok());
        // Reaped elsewhere: its slot is freed when a generation starts.
        forget_gone();
        assert!(PIDS.iter().all(|p| p.load(Ordering::SeqCst) != a));
    }
}
