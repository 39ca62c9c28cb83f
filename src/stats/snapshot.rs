//! A reading of the segment, by process group: counts summed over every
//! slot (live or not yet reclaimed) and the group's ended processes, and
//! per live process its threads, busy workers, readiness and what
//! `/proc` says (stopped, CPU time, resident size). Lock-free: a request
//! ending while it is read shows in one count a moment before another.

use super::layout::{BOUNDS, BUSY_PID, CLASSES, Counters, Histogram, KIND_DAEMON, REASONS};
use super::procfs;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A histogram's counts, read.
#[derive(Debug, Clone, Default)]
pub struct HistView {
    pub buckets: [u64; BOUNDS.len() + 1],
    pub sum_us: u64,
    pub count: u64,
}

impl HistView {
    fn add(&mut self, h: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(h.buckets.iter()) {
            *a += b.load(Ordering::Relaxed);
        }
        self.sum_us += h.sum_us.load(Ordering::Relaxed);
        self.count += h.count.load(Ordering::Relaxed);
    }
}

/// One live process of a group.
#[derive(Debug, Clone)]
pub struct ProcView {
    pub pid: i32,
    pub daemon: bool,
    pub ready: bool,
    pub threads: u32,
    pub busy: u32,
    pub last_change_ms: u64,
    pub stat: Option<procfs::Stat>,
}

impl ProcView {
    /// Able to take a request: marked ready, not stopped, and not with
    /// every worker busy since longer than `stuck_after`.
    pub fn accepting(&self, stuck_after: Option<Duration>, now_ms: u64) -> bool {
        if !self.ready || self.stat.is_some_and(|s| s.stopped()) {
            return false;
        }
        let all_busy = self.threads > 0 && self.busy >= self.threads;
        match stuck_after {
            Some(t) if all_busy => {
                now_ms.saturating_sub(self.last_change_ms) <= t.as_millis() as u64
            }
            _ => true,
        }
    }
}

/// One process group, read.
#[derive(Debug, Clone, Default)]
pub struct GroupView {
    pub name: String,
    pub status: [u64; CLASSES.len()],
    pub duration: HistView,
    pub queue: HistView,
    pub restarts: [u64; REASONS.len()],
    pub procs: Vec<ProcView>,
}

impl GroupView {
    fn add(&mut self, c: &Counters) {
        for (a, b) in self.status.iter_mut().zip(c.status.iter()) {
            *a += b.load(Ordering::Relaxed);
        }
        self.duration.add(&c.duration);
        self.queue.add(&c.queue);
    }

    pub fn threads(&self) -> u32 {
        self.procs.iter().map(|p| p.threads).sum()
    }

    pub fn busy(&self) -> u32 {
        self.procs.iter().map(|p| p.busy).sum()
    }

    pub fn daemons(&self) -> usize {
        self.procs.iter().filter(|p| p.daemon).count()
    }
}

/// Every named group, in table order (embedded, "", first), read while
/// no slot is being folded into its group.
pub fn snapshot() -> Vec<GroupView> {
    let Some(seg) = super::segment() else {
        return Vec::new();
    };
    seg.consistent(|| read(seg))
}

fn read(seg: &super::segment::Segment) -> Vec<GroupView> {
    let mut out: Vec<(usize, GroupView)> = seg
        .groups()
        .map(|(i, rec, name)| {
            let mut v = GroupView {
                name,
                ..GroupView::default()
            };
            v.add(&rec.retired);
            for (a, b) in v.restarts.iter_mut().zip(rec.restarts.iter()) {
                *a = b.load(Ordering::Relaxed);
            }
            (i, v)
        })
        .collect();
    for s in seg.slots() {
        let pid = s.pid.load(Ordering::Acquire);
        if pid == 0 || pid == BUSY_PID {
            continue;
        }
        let g = s.group.load(Ordering::Relaxed) as usize;
        let Some((_, view)) = out.iter_mut().find(|(i, _)| *i == g) else {
            continue;
        };
        view.add(&s.counters);
        let stat = procfs::stat(pid);
        if stat.is_none_or(|st| matches!(st.state, 'Z' | 'X' | 'x')) {
            continue;
        }
        view.procs.push(ProcView {
            pid,
            daemon: s.kind.load(Ordering::Relaxed) == KIND_DAEMON,
            ready: s.ready.load(Ordering::Acquire) != 0,
            threads: s.threads.load(Ordering::Relaxed),
            busy: s.busy.load(Ordering::Relaxed),
            last_change_ms: s.last_change_ms.load(Ordering::Relaxed),
            stat,
        });
    }
    out.into_iter().map(|(_, v)| v).collect()
}
