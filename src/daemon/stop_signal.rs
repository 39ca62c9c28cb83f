//! The signals of a daemon process (the stop signals SIGTERM, SIGINT,
//! SIGUSR1 and SIGXCPU at `cpu-time-limit`; SIGHUP and SIGUSR2, which are
//! `process_signal` events, `signal_events`): handled, never blocked. A
//! blocked signal stays blocked in whatever the application starts
//! (Python's `subprocess` uses vfork or posix_spawn, which keep the calling
//! thread's mask through `exec`), so `Popen.terminate()` would do nothing;
//! a handled one is reset to the default action by `exec`. Each handler
//! (installed through signal-hook's registry, with SA_RESTART) records the
//! signal and writes one byte to a non-blocking self-pipe, which is all it
//! does and is async-signal-safe on whichever thread the kernel picks; the
//! main thread waits on the pipe ([`wait`]). In a process the application
//! forked without exec (`os.fork`) the handler takes the signal's default
//! action instead, so that child can be stopped like any other (mod_wsgi's
//! handler exits there). Installed by `bootstrap::signals` on the only
//! thread of a new daemon, which also clears the inherited mask.
//!
//! One more signal is always handled: [`generation_end_signal`], a real-time
//! signal no application or Apache uses, which the Apache parent sends the
//! daemons of a configuration generation that ended (`retirement`); its
//! handler sets a flag of its own ([`generation_ended`]). Until the handler
//! is installed its default action ends the process, which is right for a
//! daemon of an ended generation that was still starting.

use nix::sys::signal::{SigSet, Signal};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// The self-pipe's read end, once the handlers are installed.
static INSTALLED: OnceLock<UnixStream> = OnceLock::new();
/// The last stop signal recorded by a handler (0: none since the last take).
static LAST: AtomicI32 = AtomicI32::new(0);
/// Set by the handler of [`generation_end_signal`], taken by [`generation_ended`].
static GENERATION_END: AtomicBool = AtomicBool::new(false);

/// The signal the Apache parent sends a daemon whose configuration
/// generation ended (SIGRTMIN+1): drain and exit.
pub fn generation_end_signal() -> libc::c_int {
    libc::SIGRTMIN() + 1
}

/// Whether [`generation_end_signal`] arrived since the last call.
pub fn generation_ended() -> bool {
    GENERATION_END.swap(false, Ordering::SeqCst)
}

/// Installs the handlers for `signals` in this process (once) and sets the
/// calling thread's mask to empty: every thread it starts, and every
/// process they start, begins with no signal blocked.
pub fn install(signals: &[Signal]) -> io::Result<()> {
    if INSTALLED.get().is_none() {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        // Kept open for the life of the process: the handlers write to it.
        let wfd = write.into_raw_fd();
        // SAFETY: getpid takes no arguments.
        let owner = unsafe { libc::getpid() };
        let end = generation_end_signal();
        for sig in signals.iter().map(|&s| s as libc::c_int).chain([end]) {
            let action = move || on_signal(owner, sig, wfd);
            // SAFETY: the action only calls getpid, an atomic store and
            // write(2), or signal-hook's emulate_default_handler (sigaction
            // and raise): all async-signal-safe, no allocation, no lock.
            unsafe { signal_hook::low_level::register(sig, action) }?;
        }
        let _ = INSTALLED.set(read);
    }
    SigSet::empty().thread_set_mask().map_err(io::Error::from)
}

/// The handler: in the daemon, record and wake the waiter; in a process the
/// application forked, the default action.
fn on_signal(owner: libc::pid_t, sig: libc::c_int, wfd: libc::c_int) {
    // SAFETY: getpid is async-signal-safe and takes no arguments.
    if unsafe { libc::getpid() } != owner {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        return;
    }
    if sig == generation_end_signal() {
        GENERATION_END.store(true, Ordering::SeqCst);
    } else {
        LAST.store(sig, Ordering::SeqCst);
    }
    // SAFETY: write(2) of one byte from a static buffer to our pipe; a full
    // pipe (EAGAIN) is fine, a wake-up is already pending.
    let _ = unsafe { libc::write(wfd, b"s".as_ptr().cast(), 1) };
}

/// Waits up to `timeout` for a stop signal; returns it, or None (also when
/// the handlers are not installed: then it only sleeps).
pub fn wait(timeout: Duration) -> Option<Signal> {
    let Some(read) = INSTALLED.get() else {
        std::thread::sleep(timeout);
        return None;
    };
    if let Some(s) = take(read) {
        return Some(s);
    }
    let mut pfd = libc::pollfd {
        fd: read.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, ms) };
    take(read)
}

/// Drains the pipe and takes the recorded signal, if any.
fn take(mut read: &UnixStream) -> Option<Signal> {
    let mut buf = [0u8; 64];
    while matches!(read.read(&mut buf), Ok(n) if n > 0) {}
    Signal::try_from(LAST.swap(0, Ordering::SeqCst)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handled SIGUSR2 (process-directed, nothing blocked) wakes the
    /// waiter with its number; afterwards nothing is pending.
    #[test]
    fn a_signal_wakes_the_waiter() {
        install(&[Signal::SIGUSR2]).unwrap();
        assert_eq!(wait(Duration::from_millis(1)), None);
        // SAFETY: kill(2) on this very process; SIGUSR2 is handled above.
        unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
        assert_eq!(wait(Duration::from_secs(5)), Some(Signal::SIGUSR2));
        // The generation-end signal wakes the waiter too, with its own flag.
        // SAFETY: kill(2) on this very process; install handled the signal.
        unsafe { libc::kill(libc::getpid(), generation_end_signal()) };
        assert_eq!(wait(Duration::from_secs(5)), None);
        assert!(generation_ended());
        assert!(!generation_ended());
        assert_eq!(wait(Duration::from_millis(1)), None);
    }
}
