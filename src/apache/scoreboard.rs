//! Apache's scoreboard, read: a copy of the shared-memory table of every
//! Apache child process and worker slot (what `mod_status` shows), taken
//! for `mod_wsgi.server_metrics()`. The scoreboard is created by the MPM in
//! the Apache parent before it forks children (and, as mod_wsgi arranges,
//! before it forks daemon processes), so both can read it; other processes
//! update it without locks, so each slot is copied with a volatile read and
//! the copy may mix moments, exactly as mod_status's view does. No Python.

use super::sys;
use std::ffi::c_char;

/// The whole scoreboard at one moment (times in APR microseconds).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub server_limit: i32,
    pub thread_limit: i32,
    pub running_generation: i32,
    pub restart_time: i64,
    pub processes: Vec<ProcessSlot>,
}

/// One slot of the process table (pid 0: unused).
#[derive(Clone, Debug)]
pub struct ProcessSlot {
    pub process_num: i32,
    pub pid: i32,
    pub generation: i32,
    pub quiescing: bool,
    pub workers: Vec<WorkerSlot>,
}

/// One worker (thread) slot of a process.
#[derive(Clone, Debug)]
pub struct WorkerSlot {
    pub thread_num: i32,
    pub generation: i32,
    /// Apache's status letter (`_` ready, `W` writing a reply, ...).
    pub status: char,
    pub access_count: u64,
    pub bytes_served: i64,
    pub start_time: i64,
    pub stop_time: i64,
    pub last_used: i64,
    pub client: String,
    pub request: String,
    pub vhost: String,
}

/// The letters mod_status (and mod_wsgi) use, indexed by `SERVER_*` status.
const STATUS_LETTERS: [char; sys::SERVER_NUM_STATUS as usize] =
    ['.', 'S', '_', 'R', 'W', 'K', 'L', 'D', 'C', 'G', 'I'];

/// The letter of a `SERVER_*` status ('?' for a value Apache does not define).
pub fn status_letter(status: u8) -> char {
    STATUS_LETTERS
        .get(usize::from(status))
        .copied()
        .unwrap_or('?')
}

/// A fixed-size scoreboard string up to its first NUL, as latin-1.
fn latin1(field: &[c_char]) -> String {
    field
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .map(char::from)
        .collect()
}

/// Whether this process can see a scoreboard (created, and inherited).
pub fn exists() -> bool {
    // SAFETY: a plain getter of Apache's global; no arguments.
    unsafe { sys::ap_exists_scoreboard_image() != 0 }
}

/// Copies the scoreboard: every process slot up to `ServerLimit` and every
/// worker slot up to `ThreadLimit`, used or not, as mod_wsgi reports them.
/// None when this process has no scoreboard.
pub fn snapshot() -> Option<Snapshot> {
    if !exists() {
        return None;
    }
    // SAFETY: the scoreboard exists (checked above); Apache returns a
    // pointer into it or NULL.
    let global = unsafe { sys::ap_get_scoreboard_global() };
    if global.is_null() {
        return None;
    }
    // SAFETY: non-NULL pointer to the global record of the live scoreboard
    // mapping (it stays mapped for this process's life); copied in one
    // volatile read because other processes write it without a lock.
    let g = unsafe { std::ptr::read_volatile(global) };
    let processes = (0..g.server_limit.max(0))
        .map(|i| process(i, g.thread_limit.max(0)))
        .collect();
    Some(Snapshot {
        server_limit: g.server_limit,
        thread_limit: g.thread_limit,
        running_generation: g.running_generation,
        restart_time: g.restart_time,
        processes,
    })
}

/// Process slot `i` (below the scoreboard's server_limit) with its workers.
fn process(i: i32, thread_limit: i32) -> ProcessSlot {
    // SAFETY: `i` is below server_limit of the existing scoreboard, so
    // Apache returns a pointer into its process table (checked for NULL).
    let p = unsafe { sys::ap_get_scoreboard_process(i) };
    let ps = if p.is_null() {
        sys::process_score::default()
    } else {
        // SAFETY: non-NULL pointer into the mapped process table; a
        // volatile copy, as other processes write it concurrently.
        unsafe { std::ptr::read_volatile(p) }
    };
    ProcessSlot {
        process_num: i,
        pid: ps.pid,
        generation: ps.generation,
        quiescing: ps.quiescing != 0,
        workers: (0..thread_limit).filter_map(|j| worker(i, j)).collect(),
    }
}

/// Worker slot `j` of process slot `i` (both within the scoreboard's limits).
fn worker(i: i32, j: i32) -> Option<WorkerSlot> {
    // SAFETY: indexes within server_limit x thread_limit of the existing
    // scoreboard; Apache returns a pointer into its worker table.
    let w = unsafe { sys::ap_get_scoreboard_worker_from_indexes(i, j) };
    if w.is_null() {
        return None;
    }
    // SAFETY: non-NULL pointer into the mapped worker table; a volatile
    // copy, as the worker's own process writes it concurrently.
    let ws = unsafe { std::ptr::read_volatile(w) };
    Some(WorkerSlot {
        thread_num: ws.thread_num,
        generation: ws.generation,
        status: status_letter(ws.status),
        access_count: ws.access_count,
        bytes_served: ws.bytes_served,
        start_time: ws.start_time,
        stop_time: ws.stop_time,
        last_used: ws.last_used,
        client: latin1(&ws.client),
        request: latin1(&ws.request),
        vhost: latin1(&ws.vhost),
    })
}

/// The current time in APR microseconds.
pub fn now() -> i64 {
    // SAFETY: a plain APR clock read.
    unsafe { sys::apr_time_now() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_as_mod_status() {
        assert_eq!(status_letter(sys::SERVER_READY as u8), '_');
        assert_eq!(status_letter(sys::SERVER_BUSY_WRITE as u8), 'W');
        assert_eq!(status_letter(sys::SERVER_DEAD as u8), '.');
        assert_eq!(status_letter(sys::SERVER_IDLE_KILL as u8), 'I');
        assert_eq!(status_letter(200), '?');
    }

    #[test]
    fn strings_stop_at_nul_and_decode_latin1() {
        let mut f = [0 as c_char; 8];
        for (d, s) in f.iter_mut().zip(b"a\xe9b\0zz") {
            *d = *s as c_char;
        }
        assert_eq!(latin1(&f), "a\u{e9}b");
        let full = [b'x' as c_char; 4];
        assert_eq!(latin1(&full), "xxxx");
    }
}
