//! The accept side of a daemon process: one idle worker thread at a time
//! waits for a connection on the group's listener, so a connection wakes
//! one thread per process instead of every idle worker of every process
//! (the thundering herd that `poll` from each worker causes).
//!
//! Within a process the waiting thread holds a mutex; the others queue on
//! it (a futex wakes one). Each daemon waits on its own epoll instance, so
//! a connection wakes at most one thread in each process with an idle
//! worker, and the first to accept it takes it: the less busy process
//! tends to win, which spreads the load (exclusive wake-ups, measured,
//! gave a worse tail latency). A thread takes the mutex only when idle, so
//! a process with no idle worker leaves connections in the listen backlog
//! for its siblings, as mod_wsgi does.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

/// Serialised, exclusive accepting on one listener.
pub struct Acceptor {
    listener: RawFd,
    epoll: OwnedFd,
    turn: Mutex<()>,
}

impl Acceptor {
    /// Sets `listener` non-blocking and registers it with this process's epoll.
    pub fn new(listener: RawFd) -> io::Result<Acceptor> {
        // SAFETY: fcntl on a descriptor this process owns; no memory involved.
        unsafe {
            let fl = libc::fcntl(listener, libc::F_GETFL);
            if fl < 0 || libc::fcntl(listener, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: epoll_create1 takes no pointers.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `ep` was just returned by epoll_create1 and is owned by nobody else.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, listener, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Acceptor {
            listener,
            epoll,
            turn: Mutex::new(()),
        })
    }

    /// Waits up to `timeout_ms` (0 = only what is already queued) for this
    /// thread's turn and a connection. `None` when nothing came in time.
    pub fn next(&self, timeout_ms: i32) -> Option<UnixStream> {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: one writable epoll_event; the epoll descriptor is ours.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut ev, 1, timeout_ms) };
        if n <= 0 {
            return None;
        }
        self.accept()
    }

    fn accept(&self) -> Option<UnixStream> {
        // SAFETY: accept4 on our listener with NULL address out-parameters.
        let c = unsafe {
            libc::accept4(
                self.listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if c < 0 {
            return None;
        }
        // SAFETY: `c` is a freshly accepted descriptor nobody else owns.
        Some(unsafe { UnixStream::from_raw_fd(c) })
    }
}
