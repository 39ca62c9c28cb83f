//! The layout of the shared statistics segment: fixed-size records made only
//! of atomics (an anonymous mapping starts zeroed, which is a valid value of
//! every record), so any process may read while the owner writes. A
//! [`ProcSlot`] belongs to one process (an Apache child or a daemon) from
//! its claim to its release; a [`GroupRec`] holds a process group's name
//! (written by the Apache parent only), its restarts by reason and the
//! counters of its processes that have ended (folded in when their slot is
//! freed). No GIL, no locks, no allocation.

use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Upper bounds (seconds) of the histogram buckets; a last bucket counts
/// what is above the last bound (`+Inf`).
pub const BOUNDS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// [`BOUNDS`] in microseconds (what a request's time is compared with).
const BOUNDS_US: [u64; BOUNDS.len()] = {
    let mut out = [0u64; BOUNDS.len()];
    let mut i = 0;
    while i < BOUNDS.len() {
        out[i] = (BOUNDS[i] * 1e6 + 0.5) as u64;
        i += 1;
    }
    out
};

/// Status classes counted: 1xx..5xx (anything else counts as 5xx).
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Why a daemon process ended, as `reason` labels. The daemon writes its
/// own reason before it exits; otherwise the parent names how it died.
pub const REASONS: [&str; 13] = [
    "maximum-requests",
    "restart-interval",
    "cpu-time-limit",
    "request-timeout",
    "inactivity-timeout",
    "deadlock-timeout",
    "startup-timeout",
    "script-reload",
    "memory-limit",
    "signal",
    "exit",
    "crash",
    "other",
];

/// Longest process group name kept (longer names are cut).
pub const NAME_MAX: usize = 96;
/// How many process groups the segment describes (index 0 is embedded, "").
pub const GROUPS: usize = 64;

/// Kinds of process owning a slot.
pub const KIND_CHILD: u32 = 1;
pub const KIND_DAEMON: u32 = 2;

/// A pid meaning "being claimed or freed": nobody else touches the slot.
pub const BUSY_PID: i32 = -1;

/// A histogram of durations: counts per bucket (not cumulative), the sum in
/// microseconds, and the total count.
#[repr(C)]
#[derive(Default)]
pub struct Histogram {
    pub buckets: [AtomicU64; BOUNDS.len() + 1],
    pub sum_us: AtomicU64,
    pub count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, us: u64) {
        let i = BOUNDS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(BOUNDS_US.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `other` into `self` and zeroes `other`.
    fn drain_into(&self, other: &Histogram) {
        for (a, b) in self.buckets.iter().zip(other.buckets.iter()) {
            a.fetch_add(b.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        self.sum_us
            .fetch_add(other.sum_us.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        self.count
            .fetch_add(other.count.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Requests by status class and their timings.
#[repr(C)]
#[derive(Default)]
pub struct Counters {
    pub status: [AtomicU64; CLASSES.len()],
    pub duration: Histogram,
    pub queue: Histogram,
}

impl Counters {
    /// Counts one request that ended with HTTP `status`.
    pub fn record(&self, status: u16, duration_us: u64, queue_us: u64) {
        let class = match status / 100 {
            c @ 1..=5 => (c - 1) as usize,
            _ => 4,
        };
        self.status[class].fetch_add(1, Ordering::Relaxed);
        self.duration.observe(duration_us);
        self.queue.observe(queue_us);
    }

    /// Moves `from`'s counts into `self` (a freed slot into its group).
    pub fn absorb(&self, from: &Counters) {
        for (a, b) in self.status.iter().zip(from.status.iter()) {
            a.fetch_add(b.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        self.duration.drain_into(&from.duration);
        self.queue.drain_into(&from.queue);
    }
}

/// One process group: its name, restarts by reason, ended processes' counts.
#[repr(C)]
pub struct GroupRec {
    /// Name length + 1 (0: unused record), stored after the bytes.
    pub name_len: AtomicU32,
    pub name: [AtomicU8; NAME_MAX],
    pub restarts: [AtomicU64; REASONS.len()],
    pub retired: Counters,
}

impl GroupRec {
    /// The name, if the record is in use.
    pub fn name(&self) -> Option<String> {
        let n = self.name_len.load(Ordering::Acquire);
        if n == 0 {
            return None;
        }
        let bytes: Vec<u8> = self.name[..(n as usize - 1).min(NAME_MAX)]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Writes the name (the Apache parent, once per record).
    pub fn set_name(&self, name: &str) {
        let bytes = &name.as_bytes()[..name.len().min(NAME_MAX)];
        for (slot, b) in self.name.iter().zip(bytes) {
            slot.store(*b, Ordering::Relaxed);
        }
        self.name_len
            .store(bytes.len() as u32 + 1, Ordering::Release);
    }
}

/// One process's record, written by that process only.
#[repr(C)]
#[derive(Default)]
pub struct ProcSlot {
    /// Owner pid (0: free; [`BUSY_PID`]: being claimed or freed).
    pub pid: AtomicI32,
    pub kind: AtomicU32,
    /// Index of the owner's group in the group table.
    pub group: AtomicU32,
    /// A daemon accepts requests (set once started, cleared when stopping).
    pub ready: AtomicU32,
    pub threads: AtomicU32,
    pub busy: AtomicU32,
    /// When a worker last took or ended a request (ms since the epoch).
    pub last_change_ms: AtomicU64,
    /// Why the daemon stops (index into [`REASONS`] + 1; 0: not said).
    pub stop_reason: AtomicU32,
    pub counters: Counters,
}

/// The head of the segment, followed by `capacity` [`ProcSlot`]s.
#[repr(C)]
pub struct Header {
    pub capacity: AtomicU32,
    /// Folds of a slot into its group under way, and folds done: a reader
    /// that saw either change reads again (a fold adds to the group, then
    /// zeroes the slot, and must not be seen half done).
    pub folding: AtomicU32,
    pub folds: AtomicU64,
    pub groups: [GroupRec; GROUPS],
}
