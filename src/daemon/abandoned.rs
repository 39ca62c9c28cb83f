//! The check a daemon worker makes before it runs the application for a
//! connection it accepted: whether the Apache child is still waiting for
//! the answer. A child that gave up on the request while it waited in the
//! listen backlog (its queue-timeout or socket-timeout answered 504, or it
//! cancelled the request for another reason) has closed its end of the
//! connection, so the application is not run for a request nobody will
//! receive (logged, WSGIRS0475). Called by `server::serve` on the worker
//! thread, without the GIL.

use super::supervisor::Group;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::REQUEST_ABANDONED;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// Whether the Apache child has shut down both directions of `stream`
/// (CANCEL then close, or it died): the kernel then reports a hang-up.
/// A half-close after BODY_END is only a hint in WSGP (it reports no
/// hang-up) and does not count. Checked without waiting.
fn child_gone(stream: &UnixStream) -> bool {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call, no wait.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

/// True (and logged) when the request on `stream` was abandoned by the
/// Apache child before a worker took it: the caller then runs nothing.
pub(super) fn before_start(stream: &UnixStream, group: &Group, uri: Option<&[u8]>) -> bool {
    if !child_gone(stream) {
        return false;
    }
    log::server(
        Level::Warning,
        None,
        &format!(
            "{REQUEST_ABANDONED} Request{} was abandoned by the Apache child before a worker of \
             WSGI daemon process '{}' took it (the child answered it already, e.g. a queue or \
             socket timeout, or gave up on it); the application was not run for it.",
            uri.map(|u| format!(" '{}'", String::from_utf8_lossy(u)))
                .unwrap_or_default(),
            group.opts.name
        ),
    );
    true
}
