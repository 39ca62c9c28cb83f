//! The request a relay has in flight in a daemon process, for the log line
//! written when the daemon's connection breaks before the response ended
//! (a daemon that died of a signal, exited, or was stopped): the request's
//! method and path, how long it had run, and the daemon process and worker
//! thread that had it (from the daemon's ACCEPT, which the daemon sends
//! before the application runs). The Apache parent logs the same pid with
//! how that process ended (WSGIRS0407), so the two lines tie together.
//! Used by `exchange` on the request thread; no Python, no Apache calls.

use crate::apache::log_ids::DAEMON_DIED;
use std::time::Instant;

/// One request's progress in a daemon, as the relay knows it.
#[derive(Debug)]
pub(super) struct InFlight {
    /// Method and path (no query string: it may hold secrets), printable.
    request: String,
    /// When the request was first sent to a daemon.
    sent: Instant,
    /// The daemon process and worker thread from ACCEPT, once it came.
    daemon: Option<(u32, u32)>,
}

impl InFlight {
    /// A request described as `request` (method and path), sent now.
    pub(super) fn new(request: String) -> InFlight {
        InFlight {
            request,
            sent: Instant::now(),
            daemon: None,
        }
    }

    /// The daemon's ACCEPT named the process and worker thread.
    pub(super) fn accepted(&mut self, pid: u32, worker: u32) {
        self.daemon = Some((pid, worker));
    }

    /// What was in flight when the connection broke, for the log line:
    /// "request 'GET /x' had run 0.21 s in daemon process 1234 (worker
    /// thread 0), which ended it unfinished (...)".
    pub(super) fn describe(&self) -> String {
        let ran = self.sent.elapsed().as_secs_f64();
        let request = if self.request.is_empty() {
            "the request"
        } else {
            self.request.as_str()
        };
        match self.daemon {
            Some((pid, worker)) => format!(
                "request '{request}' had run {ran:.3} s in daemon process {pid} (worker thread \
                 {worker}), which ended it unfinished: the process died or was stopped (the \
                 Apache parent logs how it ended, {} for pid {pid})",
                DAEMON_DIED.code()
            ),
            None => format!(
                "request '{request}' had waited {ran:.3} s and no daemon process had accepted \
                 it yet"
            ),
        }
    }
}

/// `method path` made printable for a log line: bytes outside printable
/// ASCII are escaped (`\xNN`), so a request cannot forge log lines.
pub(super) fn request_line(method: &[u8], path: &[u8]) -> String {
    let mut out = String::with_capacity(method.len() + path.len() + 1);
    for (i, part) in [method, path].into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for &b in part.iter().take(1024) {
            if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'\'' {
                out.push(b as char);
            } else {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_request_the_process_and_the_thread() {
        let mut f = InFlight::new(request_line(b"GET", b"/crash"));
        assert!(
            f.describe()
                .contains("no daemon process had accepted it yet")
        );
        f.accepted(1234, 3);
        let d = f.describe();
        assert!(d.contains("request 'GET /crash' had run "), "{d}");
        assert!(d.contains("daemon process 1234 (worker thread 3)"), "{d}");
        let tie = format!("{} for pid 1234", DAEMON_DIED.code());
        assert!(d.contains(&tie), "{d}");
    }

    #[test]
    fn escapes_what_could_forge_a_log_line() {
        assert_eq!(request_line(b"GET", b"/a\nb'\\"), "GET /a\\x0ab\\x27\\x5c");
    }
}
