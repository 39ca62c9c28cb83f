//! Running Apache in the foreground: `start-server` runs `<root>/apachectl start
//! -DFOREGROUND` (which execs httpd) as its child and relays signals to it: SIGINT,
//! SIGHUP and SIGUSR1 as they are, the first SIGTERM as SIGWINCH, Apache's graceful
//! stop (a second one as SIGTERM, stopping at once), so that stopping a container drains (no new connections, requests in flight finish
//! within `GracefulShutdownTimeout`, which the configuration sets to
//! `--shutdown-timeout`). It reaps every child (it may be PID 1) and exits with Apache's
//! status. When stdout is a terminal Apache runs in its own process group and SIGWINCH
//! is dropped (resizing the terminal would stop the server), as express does; otherwise
//! SIGWINCH is relayed. In debug mode Apache replaces express (exec) and keeps the
//! terminal. Called by `main.rs` last; no Python.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, setpgid};
use std::io::IsTerminal;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, ExitCode};

/// Signals forwarded to Apache (SIGWINCH is swallowed; SIGCHLD tells us it exited).
const HANDLED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGWINCH,
    Signal::SIGCHLD,
];

fn command(server_root: &Path) -> Command {
    let mut cmd = Command::new(server_root.join("apachectl"));
    cmd.args(["start", "-DFOREGROUND"]);
    cmd
}

/// Runs Apache in the foreground until it exits; returns its exit status. In debug
/// mode (`--debug-mode`) Apache is exec'd instead, so that it keeps the terminal (its
/// stdin is the debugger's), as the original; it returns then only on failure.
pub fn start(server_root: &Path, debug_mode: bool) -> Result<ExitCode> {
    if debug_mode {
        let err = command(server_root).exec();
        bail!(
            "cannot run {}: {err}",
            server_root.join("apachectl").display()
        );
    }
    supervise(server_root)
}

fn supervise(server_root: &Path) -> Result<ExitCode> {
    let terminal = std::io::stdout().is_terminal();
    let mut set = SigSet::empty();
    for sig in HANDLED {
        set.add(sig);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).context("cannot block signals")?;
    let mut cmd = command(server_root);
    // SAFETY: only async-signal-safe calls (setpgid, pthread_sigmask) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if terminal {
                setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(std::io::Error::from)?;
            }
            pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)
                .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", server_root.join("apachectl").display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    // A second SIGTERM while draining is relayed as SIGTERM: stop at once.
    let mut draining = false;
    loop {
        let sig = set.wait().context("sigwait failed")?;
        match sig {
            Signal::SIGCHLD => {
                if let Some(code) = reap(pid) {
                    return Ok(code);
                }
            }
            Signal::SIGWINCH if terminal => {}
            Signal::SIGTERM if !draining => {
                draining = true;
                let _ = kill(pid, Signal::SIGWINCH);
            }
            other => {
                let _ = kill(pid, other);
            }
        }
    }
}

/// Reaps every exited child; Apache's exit status once `apache` is among them.
fn reap(apache: Pid) -> Option<ExitCode> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == apache => {
                return Some(ExitCode::from(code as u8));
            }
            Ok(WaitStatus::Signaled(p, sig, _)) if p == apache => {
                return Some(ExitCode::from(128u8.wrapping_add(sig as u8)));
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
