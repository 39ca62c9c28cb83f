//! The shared statistics segment: one anonymous `MAP_SHARED` mapping made by
//! the Apache parent in post_config (like Apache's scoreboard), before it
//! forks children and daemons, which all inherit it. The parent only
//! creates it, names groups in it and frees the slots of daemons it reaped;
//! it runs no Python and starts no thread. Created once per parent and kept
//! across restarts (daemons of an old generation keep draining into it);
//! sized for the current and a draining generation.

use super::layout::{BUSY_PID, GROUPS, GroupRec, Header, ProcSlot};
use std::sync::atomic::Ordering;

/// The mapped segment: a header and `capacity` process slots.
pub struct Segment {
    base: *mut u8,
    len: usize,
}

// SAFETY: every record in the mapping is made of atomics; the mapping is
// never unmapped while the process lives.
unsafe impl Send for Segment {}
// SAFETY: as above.
unsafe impl Sync for Segment {}

impl Segment {
    /// Maps a zeroed segment for `capacity` process slots.
    pub fn create(capacity: usize) -> std::io::Result<Segment> {
        let len = size_of::<Header>() + capacity * size_of::<ProcSlot>();
        // SAFETY: an anonymous shared mapping; no file, no fixed address.
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
        let seg = Segment {
            base: p.cast(),
            len,
        };
        seg.header()
            .capacity
            .store(capacity as u32, Ordering::Release);
        Ok(seg)
    }

    pub fn header(&self) -> &Header {
        // SAFETY: the mapping starts with a Header, zeroed or written only
        // through its atomics, and lives as long as `self`.
        unsafe { &*(self.base as *const Header) }
    }

    /// The process slots.
    pub fn slots(&self) -> &[ProcSlot] {
        let n = self.header().capacity.load(Ordering::Acquire) as usize;
        let n = n.min((self.len - size_of::<Header>()) / size_of::<ProcSlot>());
        // SAFETY: `n` ProcSlots follow the header inside the mapping
        // (checked against its length); all-zero is a valid ProcSlot.
        unsafe {
            std::slice::from_raw_parts(self.base.add(size_of::<Header>()) as *const ProcSlot, n)
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots().len()
    }

    /// Group records in use, with their indexes.
    pub fn groups(&self) -> impl Iterator<Item = (usize, &GroupRec, String)> {
        self.header()
            .groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| g.name().map(|n| (i, g, n)))
    }

    /// The index of group `name`, if named.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups().find(|(_, _, n)| n == name).map(|(i, _, _)| i)
    }

    /// Names group `name` (the Apache parent): its index, existing or new;
    /// None when the table is full.
    pub fn name_group(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.group_index(name) {
            return Some(i);
        }
        let i = self
            .header()
            .groups
            .iter()
            .position(|g| g.name().is_none())?;
        self.header().groups[i].set_name(name);
        Some(i)
    }

    /// Takes a free slot for the calling process, or one whose owner has
    /// died (its counts go to its group first). None when all are taken.
    pub fn claim(&self, pid: i32, kind: u32, group: usize, threads: u32) -> Option<usize> {
        let slots = self.slots();
        let free = slots.iter().position(|s| {
            s.pid
                .compare_exchange(0, BUSY_PID, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        let i = free.or_else(|| {
            slots.iter().position(|s| {
                let owner = s.pid.load(Ordering::Acquire);
                owner > 0
                    && !super::procfs::alive(owner)
                    && s.pid
                        .compare_exchange(owner, BUSY_PID, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
            })
        })?;
        let s = &slots[i];
        self.retire(s);
        s.kind.store(kind, Ordering::Relaxed);
        s.group
            .store(group.min(GROUPS - 1) as u32, Ordering::Relaxed);
        s.threads.store(threads, Ordering::Relaxed);
        s.busy.store(0, Ordering::Relaxed);
        s.ready.store(0, Ordering::Relaxed);
        s.stop_reason.store(0, Ordering::Relaxed);
        s.last_change_ms.store(super::now_ms(), Ordering::Relaxed);
        s.pid.store(pid, Ordering::Release);
        Some(i)
    }

    /// Moves a slot's counts (held with [`BUSY_PID`]) into its group,
    /// announced to readers ([`Segment::consistent`]).
    fn retire(&self, s: &ProcSlot) {
        let h = self.header();
        let g = s.group.load(Ordering::Relaxed) as usize;
        if let Some(rec) = h.groups.get(g) {
            h.folding.fetch_add(1, Ordering::SeqCst);
            rec.retired.absorb(&s.counters);
            h.folds.fetch_add(1, Ordering::SeqCst);
            h.folding.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Runs `read` until no fold happened during it (a few tries at most:
    /// a process that died in the middle of a fold leaves it marked).
    pub fn consistent<T>(&self, mut read: impl FnMut() -> T) -> T {
        let h = self.header();
        for _ in 0..20 {
            let before = h.folds.load(Ordering::SeqCst);
            if h.folding.load(Ordering::SeqCst) == 0 {
                let v = read();
                if h.folding.load(Ordering::SeqCst) == 0 && h.folds.load(Ordering::SeqCst) == before
                {
                    return v;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        read()
    }

    /// Frees the slot of `pid` (its owner exiting, or the parent that
    /// reaped it); returns the group index and the stop reason it wrote.
    pub fn release(&self, pid: i32) -> Option<(usize, u32)> {
        let s = self.slots().iter().find(|s| {
            s.pid
                .compare_exchange(pid, BUSY_PID, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?;
        let out = (
            s.group.load(Ordering::Relaxed) as usize,
            s.stop_reason.load(Ordering::Relaxed),
        );
        self.retire(s);
        s.ready.store(0, Ordering::Relaxed);
        s.busy.store(0, Ordering::Relaxed);
        s.pid.store(0, Ordering::Release);
        Some(out)
    }
}
