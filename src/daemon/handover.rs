//! The seats of a daemon group with a standby process (`standby`, on by
//! default for a group that recycles by itself): a block of shared memory
//! the Apache parent maps (anonymous, `MAP_SHARED`) when it creates the
//! group, before it forks any daemon, so every daemon of the group and the
//! parent see the same atomics. The group has `processes + 1` slots and
//! `processes` seats; a started daemon takes a free seat and accepts, or
//! else waits as the standby (started, preloaded, not accepting). A daemon
//! that recycles first hands its seat to the standby ([`Seats::claim`]) and
//! waits until the standby accepts; only then does it stop accepting and
//! drain. When a daemon dies holding a seat, the parent gives the seat to
//! the standby ([`Seats::vacate`]). The parent only maps and reads/writes
//! atomics here: no lock, no thread, no Python. Used by `supervisor`
//! (parent), `process` (joining, the standby's wait) and `graceful`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Sleeps while `word` holds `expected`, up to `limit` (or until woken).
/// A shared (not private) futex: the word is in memory shared by processes.
fn futex_wait(word: &AtomicU32, expected: u32, limit: Duration) {
    let ts = libc::timespec {
        tv_sec: limit.as_secs() as libc::time_t,
        tv_nsec: limit.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT on a live, aligned u32 with a valid timespec; it
    // returns at once if the word no longer holds `expected`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
}

/// Wakes every process sleeping on `word`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32; no other memory involved.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}

/// A slot's role.
pub const EMPTY: u32 = 0;
/// Started and preloaded, not accepting: waits to be claimed.
pub const STANDBY: u32 = 1;
/// Given a seat by a recycling process (or the parent): about to accept.
pub const CLAIMED: u32 = 2;
/// Holds a seat and accepts.
pub const ACTIVE: u32 = 3;
/// Gave its seat away: drains, then exits.
pub const RETIRED: u32 = 4;

/// What a started daemon became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joined {
    Active,
    Standby,
}

/// The shared block: the number of seats taken, then each slot's role.
#[repr(C)]
struct Block {
    taken: AtomicU32,
    roles: [AtomicU32; 0],
}

/// One group's seats in shared memory (mapped by the parent, inherited by
/// the daemons; dropping it in the parent, with its generation's registry,
/// leaves the daemons' own inherited mappings alone).
#[derive(Debug)]
pub struct Seats {
    block: *mut u8,
    len: usize,
    slots: u32,
    seats: u32,
}

// SAFETY: the block is only accessed through atomics.
unsafe impl Send for Seats {}
// SAFETY: as above.
unsafe impl Sync for Seats {}

impl Seats {
    /// Maps the block for `seats` seats plus one standby slot.
    pub fn map(seats: u32) -> std::io::Result<Seats> {
        let slots = seats + 1;
        let len = 4 * (1 + slots as usize);
        // SAFETY: an anonymous shared mapping; no file, no existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // Anonymous mappings are zeroed: every slot EMPTY, no seat taken.
        Ok(Seats {
            block: p.cast(),
            len,
            slots,
            seats,
        })
    }

    /// How many process slots the group has (seats + the standby).
    pub fn slots(&self) -> u32 {
        self.slots
    }

    fn taken(&self) -> &AtomicU32 {
        // SAFETY: the block is mapped, page-aligned, and starts with this atomic.
        unsafe { &(*self.block.cast::<Block>()).taken }
    }

    fn role(&self, slot: u32) -> Option<&AtomicU32> {
        if slot >= self.slots {
            return None;
        }
        // SAFETY: within the mapping (len covers 1 + slots u32s), aligned to 4.
        Some(unsafe { &*self.block.cast::<AtomicU32>().add(1 + slot as usize) })
    }

    /// The role of `slot` now.
    pub fn role_of(&self, slot: u32) -> u32 {
        self.role(slot).map_or(EMPTY, |r| r.load(Ordering::SeqCst))
    }

    /// A daemon in `slot` is ready: it takes a free seat, or waits as the standby.
    pub fn join(&self, slot: u32) -> Joined {
        let Some(role) = self.role(slot) else {
            return Joined::Active;
        };
        let seated = self
            .taken()
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                (t < self.seats).then_some(t + 1)
            })
            .is_ok();
        if seated {
            role.store(ACTIVE, Ordering::SeqCst);
            Joined::Active
        } else {
            role.store(STANDBY, Ordering::SeqCst);
            Joined::Standby
        }
    }

    /// The standby in `slot`: whether it has been given a seat (then it is
    /// marked ACTIVE, and accepts); also takes a seat that became free.
    pub fn claimed(&self, slot: u32) -> bool {
        let Some(role) = self.role(slot) else {
            return true;
        };
        if role
            .compare_exchange(CLAIMED, ACTIVE, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return true;
        }
        // A seat nobody holds (a process died with no standby ready then).
        self.join(slot) == Joined::Active
    }

    /// The standby in `slot` waits up to `limit` for its role to change
    /// from STANDBY (a futex on the shared word: the claim wakes it at once).
    pub fn wait_while_standby(&self, slot: u32, limit: Duration) {
        if let Some(role) = self.role(slot) {
            futex_wait(role, STANDBY, limit);
        }
    }

    /// Waits up to `limit` until the standby in `slot` accepts (ACTIVE).
    pub fn wait_until_active(&self, slot: u32, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while self.role_of(slot) != ACTIVE {
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        true
    }

    /// Gives a seat to a ready standby (STANDBY to CLAIMED) and wakes it.
    fn give_seat(&self, except: u32) -> Option<u32> {
        let to = (0..self.slots).filter(|&s| s != except).find(|&s| {
            self.role(s).is_some_and(|r| {
                r.compare_exchange(STANDBY, CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
        })?;
        if let Some(r) = self.role(to) {
            futex_wake(r);
        }
        Some(to)
    }

    /// The daemon in `from` recycles: gives its seat to a standby, if one
    /// is ready, and marks itself RETIRED. Returns the standby's slot.
    pub fn claim(&self, from: u32) -> Option<u32> {
        let me = self.role(from)?;
        if me.load(Ordering::SeqCst) != ACTIVE {
            return None;
        }
        let to = self.give_seat(from)?;
        me.store(RETIRED, Ordering::SeqCst);
        Some(to)
    }

    /// The daemon in `slot` stops accepting without having handed over
    /// (no standby was ready): its seat goes to the standby if one is ready
    /// now, else it is freed, so a standby that becomes ready takes it
    /// without waiting for the parent to learn of the exit.
    pub fn leave(&self, slot: u32) {
        let Some(role) = self.role(slot) else {
            return;
        };
        if role
            .compare_exchange(ACTIVE, RETIRED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            && self.give_seat(slot).is_none()
        {
            let _ = self
                .taken()
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1));
        }
    }

    /// The parent: the daemon of `slot` is gone. A seat it held goes to the
    /// standby, if one is ready (returns its slot), else is freed.
    pub fn vacate(&self, slot: u32) -> Option<u32> {
        let role = self.role(slot)?;
        let was = role.swap(EMPTY, Ordering::SeqCst);
        if was != ACTIVE && was != CLAIMED {
            return None;
        }
        let to = self.give_seat(slot);
        if to.is_none() {
            let _ = self
                .taken()
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1));
        }
        to
    }
}

impl Drop for Seats {
    fn drop(&mut self) {
        // SAFETY: our own mapping, of `len` bytes, used only through `self`.
        unsafe { libc::munmap(self.block.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycling_process_hands_its_seat_to_the_standby() {
        let s = Seats::map(2).unwrap();
        assert_eq!(s.slots(), 3);
        assert_eq!(s.join(0), Joined::Active);
        assert_eq!(s.join(2), Joined::Active);
        assert_eq!(s.join(1), Joined::Standby);
        assert!(!s.claimed(1));
        // Slot 2 recycles: the standby gets its seat.
        assert_eq!(s.claim(2), Some(1));
        assert_eq!(s.role_of(2), RETIRED);
        assert!(s.claimed(1));
        assert_eq!(s.role_of(1), ACTIVE);
        // No second standby: slot 0 cannot hand over, and keeps its seat.
        assert_eq!(s.claim(0), None);
        assert_eq!(s.role_of(0), ACTIVE);
        // The retired one exits: nothing to give; its replacement waits.
        assert_eq!(s.vacate(2), None);
        assert_eq!(s.join(2), Joined::Standby);
        // Slot 0 stops without a handover: its seat goes to that standby.
        s.leave(0);
        assert_eq!(s.role_of(0), RETIRED);
        assert!(s.claimed(2));
        assert_eq!(s.vacate(0), None);
        // Slot 2 leaves with no standby: the seat is freed for the next one.
        s.leave(2);
        assert_eq!(s.join(0), Joined::Active);
    }

    #[test]
    fn a_dead_seat_holder_is_replaced_by_the_standby_or_freed() {
        let s = Seats::map(1).unwrap();
        assert_eq!(s.join(0), Joined::Active);
        assert_eq!(s.join(1), Joined::Standby);
        assert_eq!(s.vacate(0), Some(1));
        assert!(s.claimed(1));
        // The standby, now active, dies too with none ready: the seat is freed.
        assert_eq!(s.vacate(1), None);
        assert_eq!(s.join(0), Joined::Active);
        // A standby that joined while no seat was free takes one freed later.
        assert_eq!(s.join(1), Joined::Standby);
        assert_eq!(s.vacate(0), Some(1));
        assert!(s.claimed(1));
        assert_eq!(s.join(0), Joined::Standby);
    }
}
