//! The accept side of a daemon process: one idle worker thread at a time
//! waits for a connection on the group's listener, so a connection wakes
//! one thread per process instead of every idle worker of every process
//! (the thundering herd that `poll` from each worker causes).
//!
//! Within a process the waiting thread holds the turn; the others queue for
//! it in a stack, and the turn goes to the worker that became idle last
//! (LIFO, as mod_wsgi's daemon threads): under light load the same few
//! threads serve every request, so the others' stacks, caches and malloc
//! arenas stay cold (with a FIFO hand-off every worker of a 16-thread daemon
//! took part even at one request at a time, and each kept a glibc arena of
//! its own: +2 MiB per daemon). Each daemon waits on its own epoll instance, so
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
use std::thread::{self, Thread, ThreadId};

/// Serialised, exclusive accepting on one listener.
pub struct Acceptor {
    listener: RawFd,
    epoll: OwnedFd,
    turn: Turn,
}

/// Who may wait on the listener: one thread at a time, handed on LIFO.
struct Turn(Mutex<TurnState>);

struct TurnState {
    /// A thread holds the turn (or it is being handed to `granted`).
    held: bool,
    /// The thread the turn was handed to, until it wakes and takes it.
    granted: Option<ThreadId>,
    /// Threads waiting for the turn, the most recent last.
    waiting: Vec<Thread>,
}

impl Turn {
    fn new() -> Turn {
        Turn(Mutex::new(TurnState {
            held: false,
            granted: None,
            waiting: Vec::new(),
        }))
    }

    /// Blocks until this thread holds the turn; released by dropping the guard.
    fn acquire(&self) -> TurnGuard<'_> {
        let mut st = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !st.held {
            st.held = true;
            return TurnGuard(self);
        }
        let me = thread::current();
        let id = me.id();
        st.waiting.push(me);
        loop {
            drop(st);
            // An unpark that came before this park is not lost (the token).
            thread::park();
            st = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if st.granted == Some(id) {
                st.granted = None;
                return TurnGuard(self);
            }
        }
    }
}

/// Holding the turn; dropping it hands the turn to the latest waiter.
struct TurnGuard<'a>(&'a Turn);

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.0.0.lock().unwrap_or_else(|p| p.into_inner());
        match st.waiting.pop() {
            Some(next) => {
                st.granted = Some(next.id());
                next.unpark();
            }
            None => st.held = false,
        }
    }
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
            turn: Turn::new(),
        })
    }

    /// Waits up to `timeout_ms` (0 = only what is already queued) for this
    /// thread's turn and a connection. `None` when nothing came in time, or
    /// when `open` says the process no longer accepts (checked once the
    /// turn is held and again before accepting: a connection left on the
    /// socket is the standby's, which took over).
    pub fn next(&self, timeout_ms: i32, open: impl Fn() -> bool) -> Option<UnixStream> {
        let _turn = self.turn.acquire();
        if !open() {
            return None;
        }
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: one writable epoll_event; the epoll descriptor is ours.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut ev, 1, timeout_ms) };
        if n <= 0 || !open() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// The turn goes to the thread that queued last, and only to it.
    #[test]
    fn turn_is_handed_to_the_latest_waiter() {
        let turn = Arc::new(Turn::new());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turn.acquire();
        let mut threads = Vec::new();
        for i in 0..3 {
            let (t, o) = (turn.clone(), order.clone());
            threads.push(thread::spawn(move || {
                let _g = t.acquire();
                o.lock().unwrap().push(i);
            }));
            // Queue strictly one after another: 0, then 1, then 2.
            while turn.0.lock().unwrap().waiting.len() != i + 1 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![2, 1, 0]);
        let st = turn.0.lock().unwrap();
        assert!(!st.held && st.granted.is_none() && st.waiting.is_empty());
    }
}
