//! Process statistics shared by every process of the server, for the
//! `wsgi-metrics` and `wsgi-health` endpoints (ARCHITECTURE.md §10): the
//! Apache parent creates one shared segment in post_config ([`prepare`])
//! before it forks anything; each Apache child and each daemon process
//! claims a slot in it ([`claim_child`], [`claim_daemon`]) and writes its
//! counts there with atomics ([`request_began`], [`request_ended`],
//! [`record`]); the parent frees the slot of a daemon it reaped and counts
//! the restart by reason ([`daemon_ended`]). Readers ([`snapshot`]) take
//! everything from the segment and `/proc` without a lock, the GIL or a
//! daemon's help. Imports nothing of the crate: `handler`, `daemon` and
//! `hooks` call it.
//!
//! The segment and this process's own slot are process-wide statics: the
//! hooks that create and use them are C callbacks with no other place to
//! keep state across generations, and a fork is what hands them on.

pub mod layout;
pub mod openmetrics;
pub mod procfs;
pub mod segment;
pub mod snapshot;

use layout::{KIND_CHILD, KIND_DAEMON, REASONS};
use segment::Segment;
pub use snapshot::{GroupView, snapshot};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static SEGMENT: OnceLock<Segment> = OnceLock::new();
/// This process's slot (usize::MAX: none).
static OWN: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Microseconds since the Unix epoch (APR's `apr_time_t` clock).
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Milliseconds since the Unix epoch, from the coarse clock (a few ms of
/// resolution; cheaper than the precise one on the request path).
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through the pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } != 0 {
        return now_us() / 1000;
    }
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// The segment, once the parent made it.
pub fn segment() -> Option<&'static Segment> {
    SEGMENT.get()
}

/// What [`prepare`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Prepared {
    Ready,
    /// The segment (made for an earlier configuration) has fewer slots
    /// than this one may need: processes beyond it are not counted.
    TooSmall {
        capacity: usize,
        needed: usize,
    },
    /// The group table is full: these groups are not counted.
    GroupsDropped(Vec<String>),
}

/// In the Apache parent's post_config: creates the segment on first use
/// (sized for `slots_needed` processes of this generation and as many of
/// a draining one) and names the groups. Never clears a slot.
pub fn prepare(groups: &[String], slots_needed: usize) -> std::io::Result<Prepared> {
    let seg = match SEGMENT.get() {
        Some(s) => s,
        None => {
            let s = Segment::create((slots_needed * 2 + 16).max(64))?;
            SEGMENT.get_or_init(|| s)
        }
    };
    seg.name_group("");
    let dropped: Vec<String> = groups
        .iter()
        .filter(|g| seg.name_group(g).is_none())
        .cloned()
        .collect();
    if !dropped.is_empty() {
        return Ok(Prepared::GroupsDropped(dropped));
    }
    if seg.capacity() < slots_needed * 2 {
        return Ok(Prepared::TooSmall {
            capacity: seg.capacity(),
            needed: slots_needed * 2,
        });
    }
    Ok(Prepared::Ready)
}

fn claim(kind: u32, group: usize, threads: u32) -> bool {
    let Some(seg) = segment() else {
        return false;
    };
    let pid = std::process::id() as i32;
    match seg.claim(pid, kind, group, threads) {
        Some(i) => {
            OWN.store(i, Ordering::Relaxed);
            AT_FORK.call_once(|| {
                // SAFETY: registers a handler that only stores an atomic,
                // which is async-signal-safe, as a child of fork needs.
                unsafe { libc::pthread_atfork(None, None, Some(forget_slot)) };
            });
            true
        }
        None => false,
    }
}

static AT_FORK: std::sync::Once = std::sync::Once::new();

/// In a process forked by a process owning a slot (the application's
/// `os.fork()`, a subprocess): the slot is not its own.
extern "C" fn forget_slot() {
    OWN.store(usize::MAX, Ordering::Relaxed);
}

/// An Apache child with `threads` request threads; false if no slot.
pub fn claim_child(threads: u32) -> bool {
    claim(KIND_CHILD, 0, threads)
}

/// A daemon process of group `name` with `threads` workers.
pub fn claim_daemon(name: &str, threads: u32) -> bool {
    let group = segment().and_then(|s| s.group_index(name));
    match group {
        Some(g) => claim(KIND_DAEMON, g, threads),
        None => false,
    }
}

/// This process's slot, if it has one (a process it forks forgets it:
/// [`forget_slot`]).
fn own() -> Option<&'static layout::ProcSlot> {
    segment()?.slots().get(OWN.load(Ordering::Relaxed))
}

/// This process exits: its counts go to its group, the slot is free.
pub fn release_self() {
    if own().is_some()
        && let Some(seg) = segment()
    {
        seg.release(std::process::id() as i32);
    }
    OWN.store(usize::MAX, Ordering::Relaxed);
}

/// A daemon accepts requests (or stops accepting).
pub fn set_ready(ready: bool) {
    if let Some(s) = own() {
        s.ready.store(u32::from(ready), Ordering::Release);
    }
}

/// A daemon stops itself for `why` (the text of its WSGIRS0412 line).
pub fn set_stop_reason(why: &str) {
    if let Some(s) = own() {
        s.ready.store(0, Ordering::Release);
        s.stop_reason
            .store(reason_index(why) as u32 + 1, Ordering::Relaxed);
    }
}

/// The [`REASONS`] index for a daemon's stop text.
pub fn reason_index(why: &str) -> usize {
    let label = if why.starts_with("SIG") {
        "signal"
    } else if why.contains("script") && why.contains("changed") {
        "script-reload"
    } else if why.starts_with("interrupt-timeout") {
        "request-timeout"
    } else {
        why.split([' ', '(', ':']).next().unwrap_or("")
    };
    REASONS
        .iter()
        .position(|r| *r == label)
        .unwrap_or(REASONS.len() - 1)
}

/// A worker took a request.
pub fn request_began() {
    if let Some(s) = own() {
        s.busy.fetch_add(1, Ordering::AcqRel);
        s.last_change_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// A worker is done with its request.
pub fn request_ended() {
    if let Some(s) = own() {
        let _ = s
            .busy
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |b| b.checked_sub(1));
        s.last_change_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// Counts a request served with HTTP `status`, how long the application
/// ran and how long the request waited before it started.
pub fn record(status: u16, duration_us: u64, queue_us: u64) {
    if let Some(s) = own() {
        s.counters.record(status, duration_us, queue_us);
    }
}

/// In the Apache parent: daemon `pid` of group `name` ended and is being
/// restarted. Frees its slot and counts the restart under the reason the
/// daemon gave, else `fallback` ("exit" or "crash").
pub fn daemon_ended(pid: i32, name: &str, fallback: &str) {
    let Some(seg) = segment() else {
        return;
    };
    let (group, said) = match seg.release(pid) {
        Some(v) => v,
        None => match seg.group_index(name) {
            Some(g) => (g, 0),
            None => return,
        },
    };
    let reason = match said {
        0 => reason_index(fallback),
        n => n as usize - 1,
    };
    if let Some(g) = seg.header().groups.get(group) {
        g.restarts[reason.min(REASONS.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
