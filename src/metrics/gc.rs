//! Python garbage-collector telemetry (the `gc_snapshot` and `gc_event`
//! records of mod-wsgi-telemetry 1.1), per interpreter: each interval the
//! reporter enters every interpreter of the process, reads the `gc` module's
//! counters (`get_count`, `get_threshold`, `get_stats`, `isenabled`,
//! `get_freeze_count`) and drains the collections a callback in
//! `gc.callbacks` recorded since (start, duration, generation, collected,
//! uncollectable). The callback is installed in an interpreter the first
//! time the reporter visits it; its queue is bounded (the oldest events are
//! dropped and counted in `gc_dropped_events`).

use super::usage;
use super::wire::{Datagram, f};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Collections kept per interpreter between two intervals.
const EVENTS: usize = 256;
/// Record kinds.
const KIND_GC_SNAPSHOT: u8 = 8;
const KIND_GC_EVENT: u8 = 9;
/// Field ids (the package's `FIELDS`).
const INTERPRETER_NAME: u16 = 8;
const GC_COUNT0: u16 = 300;
const GC_IS_ENABLED: u16 = 315;
const GC_FREEZE_COUNT: u16 = 316;
const GC_DROPPED_EVENTS: u16 = 317;
const GC_EVENT_START: u16 = 320;

/// One collection.
#[derive(Clone, Copy, Debug)]
struct Event {
    start_us: u64,
    duration_us: u64,
    generation: u64,
    collected: u64,
    uncollectable: u64,
}

/// What the callback of one interpreter records.
#[derive(Default)]
struct Ring {
    started_us: u64,
    events: VecDeque<Event>,
    dropped: u64,
}

/// The counters of one interpreter.
#[derive(Default)]
struct Counters {
    /// count 0..2, threshold 0..2, collections 0..2, collected 0..2,
    /// uncollectable 0..2 (field ids 300..314 in this order).
    values: [u64; 15],
    enabled: bool,
    frozen: u64,
}

/// The callbacks installed, by interpreter id.
#[derive(Default)]
pub struct GcWatch {
    rings: Mutex<HashMap<u64, Arc<Mutex<Ring>>>>,
}

fn int(v: &Bound<'_, PyAny>) -> u64 {
    v.extract::<i64>().map(|n| n.max(0) as u64).unwrap_or(0)
}

fn on_collection(ring: &Mutex<Ring>, args: &Bound<'_, PyTuple>) {
    let (Ok(phase), Ok(info)) = (args.get_item(0), args.get_item(1)) else {
        return;
    };
    let now = usage::now_us();
    let mut r = ring.lock().unwrap_or_else(|e| e.into_inner());
    if phase.extract::<String>().is_ok_and(|p| p == "start") {
        r.started_us = now;
        return;
    }
    let get = |k: &str| info.get_item(k).map(|v| int(&v)).unwrap_or(0);
    let event = Event {
        start_us: r.started_us,
        duration_us: now.saturating_sub(r.started_us),
        generation: get("generation"),
        collected: get("collected"),
        uncollectable: get("uncollectable"),
    };
    if r.events.len() >= EVENTS {
        r.events.pop_front();
        r.dropped += 1;
    }
    r.events.push_back(event);
}

fn install(py: Python<'_>, ring: Arc<Mutex<Ring>>) -> PyResult<()> {
    let callback = PyCFunction::new_closure(
        py,
        Some(c"mod_wsgi_gc_telemetry"),
        None,
        move |args: &Bound<'_, PyTuple>, _: Option<&Bound<'_, PyDict>>| {
            on_collection(&ring, args);
        },
    )?;
    py.import("gc")?
        .getattr("callbacks")?
        .call_method1("append", (callback,))?;
    Ok(())
}

fn read(py: Python<'_>) -> PyResult<Counters> {
    let gc = py.import("gc")?;
    let mut c = Counters::default();
    let count: (i64, i64, i64) = gc.call_method0("get_count")?.extract()?;
    let threshold: (i64, i64, i64) = gc.call_method0("get_threshold")?.extract()?;
    for (i, v) in [
        count.0,
        count.1,
        count.2,
        threshold.0,
        threshold.1,
        threshold.2,
    ]
    .into_iter()
    .enumerate()
    {
        c.values[i] = v.max(0) as u64;
    }
    for (generation, stats) in gc
        .call_method0("get_stats")?
        .try_iter()?
        .enumerate()
        .take(3)
    {
        let stats = stats?;
        for (j, key) in ["collections", "collected", "uncollectable"]
            .iter()
            .enumerate()
        {
            c.values[6 + j * 3 + generation] = stats.get_item(*key).map(|v| int(&v)).unwrap_or(0);
        }
    }
    c.enabled = gc.call_method0("isenabled")?.extract()?;
    c.frozen = gc
        .call_method0("get_freeze_count")
        .map(|v| int(&v))
        .unwrap_or(0);
    Ok(c)
}

impl GcWatch {
    /// The ring of interpreter `id`, and whether it was just made.
    fn ring(&self, id: u64) -> (Arc<Mutex<Ring>>, bool) {
        let mut rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        match rings.get(&id) {
            Some(r) => (r.clone(), false),
            None => {
                let r = Arc::new(Mutex::new(Ring::default()));
                rings.insert(id, r.clone());
                (r, true)
            }
        }
    }

    /// Installs the callback in the interpreter current on this thread (GIL
    /// held) unless it has one.
    pub fn watch_current(&self, py: Python<'_>) {
        // SAFETY: the GIL is held, so this thread has a current interpreter.
        let id =
            unsafe { pyo3::ffi::PyInterpreterState_GetID(pyo3::ffi::PyInterpreterState_Get()) };
        let (ring, new) = self.ring(id as u64);
        if new {
            // A failure leaves the snapshots without events.
            let _ = install(py, ring);
        }
    }

    /// Visits every interpreter: returns its records, to send.
    pub fn tick(&self, mut seq: impl FnMut() -> u32) -> Vec<Datagram> {
        let interps = crate::python::interp::all();
        let named = interps.len() > 1;
        let mut out = Vec::new();
        for interp in interps {
            let (ring, new) = self.ring(interp.id());
            let fresh = ring.clone();
            let counters = crate::python::interp::run(interp, move |py| {
                if new {
                    // A failure leaves the snapshot without events.
                    let _ = install(py, fresh);
                }
                read(py).ok()
            });
            let Some(counters) = counters else {
                continue;
            };
            let (events, dropped) = {
                let mut r = ring.lock().unwrap_or_else(|e| e.into_inner());
                (r.events.drain(..).collect::<Vec<_>>(), r.dropped)
            };
            let name = if named { interp.group() } else { "" };
            out.push(snapshot(seq(), &counters, dropped, name));
            for e in events {
                out.push(event(seq(), &e, name));
            }
        }
        out
    }
}

fn snapshot(seq: u32, c: &Counters, dropped: u64, name: &str) -> Datagram {
    let now = usage::now_us() as f64 / 1e6;
    let mut d = Datagram::new(KIND_GC_SNAPSHOT, std::process::id(), seq, now);
    for (i, v) in c.values.iter().enumerate() {
        d.u64(GC_COUNT0 + i as u16, *v);
    }
    d.u64(GC_IS_ENABLED, u64::from(c.enabled))
        .u64(GC_FREEZE_COUNT, c.frozen)
        .u64(GC_DROPPED_EVENTS, dropped)
        .str(INTERPRETER_NAME, name);
    d
}

fn event(seq: u32, e: &Event, name: &str) -> Datagram {
    let now = usage::now_us() as f64 / 1e6;
    let mut d = Datagram::new(KIND_GC_EVENT, std::process::id(), seq, now);
    d.f64(GC_EVENT_START, e.start_us as f64 / 1e6)
        .f64(GC_EVENT_START + 1, e.duration_us as f64 / 1e6)
        .u64(GC_EVENT_START + 2, e.generation)
        .u64(GC_EVENT_START + 3, e.collected)
        .u64(GC_EVENT_START + 4, e.uncollectable)
        .str(INTERPRETER_NAME, name);
    d
}

// The field ids this file uses exist in the package's table.
const _: () = assert!(f::PROCESS_GROUP + 2 == INTERPRETER_NAME);
