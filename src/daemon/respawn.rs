//! Daemon slots whose `fork()` failed (too many processes, no memory),
//! waiting to be forked again: rather than leaving the slot empty until
//! Apache restarts, the supervisor queues it here with a back-off (1 s,
//! doubling up to 60 s, counted in failed forks in a row), and Apache's
//! `monitor` hook, which the parent's maintenance loop runs about every 10
//! seconds, forks the slots that are due ([`retry_due`]), logging each
//! failure and the next delay (WSGIRS0482). The queue belongs to one
//! configuration generation: [`clear`] empties it when the next one starts
//! (the old slots' pool is gone). Runs only in the single-threaded Apache
//! parent, hence a thread-local queue.

use crate::apache::pool::Pool;
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// The delay before fork attempt `failures + 1` after `failures` failed in
/// a row: 1 s, 2 s, 4 s, ... up to 60 s.
pub fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(6);
    Duration::from_secs(1u64 << shift).min(Duration::from_secs(60))
}

/// Something whose process can be forked again (a supervisor slot).
pub trait Respawn: 'static {
    /// Forks the process; the pid, or None if fork failed (logged by the
    /// caller of [`queue`] with the delay). On success the implementation
    /// watches the new process itself.
    fn respawn(&mut self, pool: Pool) -> Option<i32>;
    /// Logs a failed fork and the delay before the next attempt.
    fn failed(&self, failures: u32, next: Duration);
}

struct Pending {
    what: Box<dyn Respawn>,
    pool: Pool,
    failures: u32,
    due: Instant,
}

thread_local! {
    static QUEUE: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// Queues `what`, whose fork just failed (the first failure in a row).
pub fn queue(pool: Pool, what: Box<dyn Respawn>) {
    let next = backoff(1);
    what.failed(1, next);
    QUEUE.with(|q| {
        q.borrow_mut().push(Pending {
            what,
            pool,
            failures: 1,
            due: Instant::now() + next,
        })
    });
}

/// Forks every queued slot that is due; those that fail again are
/// queued with a longer delay. Returns how many were started.
pub fn retry_due() -> usize {
    let now = Instant::now();
    let due: Vec<Pending> = QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        let (due, later) = std::mem::take(&mut *q)
            .into_iter()
            .partition(|p| p.due <= now);
        *q = later;
        due
    });
    let mut started = 0;
    for mut p in due {
        if p.what.respawn(p.pool).is_some() {
            started += 1;
            continue;
        }
        p.failures += 1;
        let next = backoff(p.failures);
        p.what.failed(p.failures, next);
        p.due = Instant::now() + next;
        QUEUE.with(|q| q.borrow_mut().push(p));
    }
    started
}

/// Forgets every queued slot (a new configuration generation starts).
pub fn clear() {
    QUEUE.with(|q| q.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn the_delay_doubles_from_one_second_up_to_a_minute() {
        let delays: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(60));
    }

    /// A slot whose fork fails `fail_first` times, then succeeds.
    struct Flaky {
        fail_first: u32,
        forks: Rc<RefCell<u32>>,
        logged: Rc<RefCell<Vec<(u32, u64)>>>,
    }

    impl Respawn for Flaky {
        fn respawn(&mut self, _pool: Pool) -> Option<i32> {
            *self.forks.borrow_mut() += 1;
            (*self.forks.borrow() > self.fail_first).then_some(42)
        }
        fn failed(&self, failures: u32, next: Duration) {
            self.logged.borrow_mut().push((failures, next.as_secs()));
        }
    }

    /// Retries wait for their delay, failures lengthen it, and a slot
    /// leaves the queue once it is forked.
    #[test]
    fn a_slot_is_retried_when_due_until_its_fork_succeeds() {
        clear();
        let forks = Rc::new(RefCell::new(0));
        let logged = Rc::new(RefCell::new(Vec::new()));
        let flaky = Flaky {
            fail_first: 1,
            forks: forks.clone(),
            logged: logged.clone(),
        };
        // SAFETY: never dereferenced by `Flaky`.
        let pool = unsafe { Pool::from_ptr(std::ptr::NonNull::dangling().as_ptr()) };
        queue(pool, Box::new(flaky));
        assert_eq!(retry_due(), 0, "not due for a second");
        assert_eq!(*forks.borrow(), 0);
        // Make it due, and let the next fork fail.
        QUEUE.with(|q| q.borrow_mut()[0].due = Instant::now());
        assert_eq!(retry_due(), 0);
        assert_eq!(*forks.borrow(), 1);
        assert_eq!(*logged.borrow(), [(1, 1), (2, 2)]);
        QUEUE.with(|q| q.borrow_mut()[0].due = Instant::now());
        assert_eq!(retry_due(), 1);
        assert_eq!(*forks.borrow(), 2);
        assert_eq!(QUEUE.with(|q| q.borrow().len()), 0);
    }
}
