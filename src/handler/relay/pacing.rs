//! When the relay flushes a daemon's response downstream, as mod_wsgi
//! 6.0.2+ does (its `wsgi_transfer_response`): body bytes go down the output
//! filter chain without a FLUSH while the daemon keeps sending; when the
//! daemon socket runs dry, the relay waits up to `response-flush-delay` for
//! more before it flushes (so a pacing filter such as mod_ratelimit is not
//! forced into a short write on every momentary stall, and tiny pieces sent
//! close together leave together), and, as a runaway guard, it flushes after
//! `response-buffer-size` bytes passed downstream without a flush. The
//! daemon's own FLUSH flags only say when it wrote. Used by `exchange` on
//! the request thread.

use crate::config::daemon_relay::ResponseRelay;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::AsFd;
use std::time::Duration;

/// The flush state of one relayed response.
#[derive(Debug)]
pub(super) struct Pacing {
    delay: Duration,
    limit: u64,
    /// Bytes passed downstream since the last FLUSH.
    unflushed: u64,
    /// Something (bytes or the head) went downstream since the last FLUSH.
    pending: bool,
}

impl Pacing {
    pub(super) fn new(relay: ResponseRelay) -> Self {
        Pacing {
            delay: relay.flush_delay,
            limit: relay.buffer_size,
            unflushed: 0,
            pending: false,
        }
    }

    /// `n` bytes are about to go downstream: whether a FLUSH must follow
    /// them (the runaway guard); the count restarts when it does.
    pub(super) fn passing(&mut self, n: usize) -> bool {
        self.unflushed = self.unflushed.saturating_add(n as u64);
        self.pending = true;
        if self.unflushed > self.limit {
            self.flushed();
            return true;
        }
        false
    }

    /// A FLUSH went downstream (or the response ended).
    pub(super) fn flushed(&mut self) {
        self.unflushed = 0;
        self.pending = false;
    }

    /// Whether something went downstream since the last FLUSH (only then
    /// does the relay check the daemon socket before a read).
    pub(super) fn pending(&self) -> bool {
        self.pending
    }

    /// Before reading the next frame: whether to pass a FLUSH now because
    /// the daemon socket is dry and stayed dry for the flush delay.
    /// `arrived`: a frame is buffered or bytes came in (the caller looked at
    /// the socket without blocking just before), so it is not dry. Unflushed
    /// data waits for more while data keeps coming within the delay.
    pub(super) fn flush_before_read(&mut self, sock: &impl AsFd, arrived: bool) -> bool {
        if !self.pending || arrived {
            return false;
        }
        if !self.delay.is_zero() && readable(sock, self.delay) {
            return false;
        }
        self.flushed();
        true
    }
}

/// Whether `sock` has something to read (data, EOF or an error) within `wait`.
fn readable(sock: &impl AsFd, wait: Duration) -> bool {
    let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, timeout) {
            Ok(n) => return n > 0,
            Err(nix::errno::Errno::EINTR) => continue,
            // Let the read that follows find out what is wrong.
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    fn pacing(delay_ms: u64, limit: u64) -> Pacing {
        Pacing::new(ResponseRelay {
            flush_delay: Duration::from_millis(delay_ms),
            buffer_size: limit,
        })
    }

    #[test]
    fn nothing_pending_never_flushes() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(!pacing(0, 65536).flush_before_read(&a, false));
    }

    #[test]
    fn dry_socket_flushes_after_the_delay_not_before() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut p = pacing(50, 65536);
        p.passing(10);
        let start = std::time::Instant::now();
        assert!(p.flush_before_read(&a, false));
        assert!(start.elapsed() >= Duration::from_millis(45));
        // Flushed: nothing pending any more.
        assert!(!p.flush_before_read(&a, false));
        p.passing(10);
        b.write_all(b"x").unwrap();
        assert!(
            !p.flush_before_read(&a, false),
            "data arriving within the delay: no flush"
        );
        assert!(!p.flush_before_read(&a, true), "bytes arrived: no flush");
    }

    #[test]
    fn data_within_the_delay_postpones_the_flush() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut p = pacing(2000, 65536);
        p.passing(10);
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            b.write_all(b"more").unwrap();
            b
        });
        let start = std::time::Instant::now();
        assert!(!p.flush_before_read(&a, false));
        assert!(start.elapsed() < Duration::from_millis(1900));
        drop(writer.join());
    }

    #[test]
    fn runaway_guard_flushes_past_the_limit() {
        let mut p = pacing(5, 65536);
        assert!(!p.passing(65536));
        assert!(p.passing(1));
        assert!(!p.passing(65536));
        p.flushed();
        assert!(!p.passing(65536));
    }
}
