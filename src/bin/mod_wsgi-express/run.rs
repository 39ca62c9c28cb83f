//! Running Apache in the foreground: `start-server` replaces itself (exec) with
//! `<root>/apachectl start -DFOREGROUND`, which in turn execs httpd, so the PID the
//! caller holds is Apache's parent and SIGINT/SIGTERM/SIGHUP/SIGUSR1 reach it directly.
//! When stdout is a terminal it instead runs Apache as a child in its own process group
//! and forwards those signals, dropping SIGWINCH (httpd treats SIGWINCH as
//! graceful-stop, so resizing the terminal would stop the server), as express does.
//! Called by `main.rs` last; no Python.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, setpgid};
use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
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

/// Runs Apache in the foreground; returns only on failure or (terminal case) when
/// Apache has exited.
/// In debug mode Apache is always exec'd, so that it keeps the terminal (its stdin is
/// the debugger's), as the original.
pub fn start(server_root: &Path, debug_mode: bool) -> Result<ExitCode> {
    if std::io::stdout().is_terminal() && !debug_mode {
        supervise(server_root)
    } else {
        let err = command(server_root).exec();
        bail!(
            "cannot run {}: {err}",
            server_root.join("apachectl").display()
        )
    }
}

fn supervise(server_root: &Path) -> Result<ExitCode> {
    let mut set = SigSet::empty();
    for sig in HANDLED {
        set.add(sig);
    }
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).context("cannot block signals")?;
    let mut cmd = command(server_root);
    // SAFETY: only async-signal-safe calls (setpgid, pthread_sigmask) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            setpgid(Pid::from_raw(0), Pid::from_raw(0)).map_err(std::io::Error::from)?;
            pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)
                .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", server_root.join("apachectl").display()))?;
    let pid = Pid::from_raw(child.id() as i32);
    loop {
        let sig = set.wait().context("sigwait failed")?;
        match sig {
            Signal::SIGCHLD => match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(ExitCode::from(code as u8)),
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    return Ok(ExitCode::from(128u8.wrapping_add(sig as u8)));
                }
                _ => {}
            },
            Signal::SIGWINCH => {}
            other => {
                let _ = kill(pid, other);
            }
        }
    }
}
