//! MPM choice and sizing: which multi-processing module to load (event > worker >
//! prefork, or the `--server-mpm` preference, among those present in the modules
//! directory) and the ServerLimit/ThreadsPerChild/MaxRequestWorkers/spare numbers
//! written into httpd.conf. Pure functions, called by `options.rs`; no Python.
//!
//! # Why these numbers (queue, never drop)
//!
//! In embedded mode the Apache worker threads *are* the Python request threads, and the
//! MPM decides what happens to a connection when every thread is busy:
//!
//! * event: idle keep-alive connections are parked in the listener thread and cost no
//!   worker. But when one of them becomes readable and no worker of *that process* is
//!   idle right now, the listener closes it (event.c: "If we don't get a worker
//!   immediately (nonblocking), we close the connection"), and once workers were busy
//!   it closes every idle keep-alive connection ("kill'em all"). A client then sees a
//!   reset on a connection it had just sent a request on: a drop, not a queue.
//! * worker / prefork: each open connection pins a thread/process for its keep-alive
//!   period; connections beyond MaxRequestWorkers wait in the kernel listen backlog
//!   (a queue) and Apache logs AH00484/AH00161 "server reached MaxRequestWorkers".
//!
//! So the number of worker threads must exceed the number of concurrent connections,
//! not just the desired Python concurrency. mod_wsgi 6's express sizes embedded mode as
//! exactly `processes * threads` (1 x 5 by default), which drops under 64 keep-alive
//! clients with event and stalls them with worker. We instead size the MPM for a
//! connection capacity of `--max-clients` (at least `processes * threads`), defaulting
//! to the larger of express's daemon-mode formula `10 + max(10, 1.5 * processes *
//! threads)` and [`MIN_DEFAULT_CONNECTIONS`] (100): 64 concurrent keep-alive clients
//! then keep at least 36 threads idle, so the event listener always finds a worker and
//! the worker MPM never pins them all. Further connections queue in the listen backlog
//! (`ListenBacklog` = `--server-backlog`, 500; the kernel caps it at somaxconn).
//!
//! All `--processes` children are started at once and kept (StartServers = ServerLimit,
//! MaxSpareThreads never below the total): a child killed for being idle would have to
//! be re-forked and re-import the application under load. MinSpareThreads is a quarter
//! of the capacity, so Apache only reports AH00484 when more than 75% of the threads
//! are busy. Extra threads are cheap in embedded mode: the GIL serialises Python
//! anyway, and each thread creates its Python thread state on first use.
//!
//! Daemon mode (the default): the Python request capacity is the daemon group's
//! `processes x threads` (1 x 5), and the Apache threads only relay requests to it. The
//! same event-MPM rule applies to those relaying threads, so the Apache side gets the same
//! connection capacity as embedded mode (express's `10 + max(10, 1.5 * processes *
//! threads)`, at least 100), split into children of at most [`MAX_THREADS_PER_CHILD`]
//! threads; a request that finds every daemon thread busy waits in the daemon socket's
//! listen backlog (`--daemon-backlog`, 100) while its Apache thread keeps retrying for
//! `--connect-timeout`: it queues, it is not dropped. Daemon mode adds express's
//! `ThreadStackSize 262144` (no Python runs on these threads); embedded mode leaves the
//! platform thread stack size (usually 8 MB) because Python code runs on these threads
//! and 256 KB is too little for deep recursion.

use anyhow::{Result, bail};
use std::path::Path;

/// Daemon mode: the most relaying threads one Apache child gets.
pub const MAX_THREADS_PER_CHILD: u32 = 100;

/// Default connection capacity floor for embedded mode; see the module docs.
pub const MIN_DEFAULT_CONNECTIONS: u32 = 100;

/// A multi-processing module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Worker,
    Prefork,
}

impl Mpm {
    pub const ALL: [Mpm; 3] = [Mpm::Event, Mpm::Worker, Mpm::Prefork];

    pub fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
            Mpm::Prefork => "prefork",
        }
    }

    /// The module identifier used by LoadModule / IfModule.
    pub fn module_id(self) -> String {
        format!("mpm_{}_module", self.name())
    }

    /// The shared object file name in the modules directory.
    pub fn file_name(self) -> String {
        format!("mod_mpm_{}.so", self.name())
    }
}

/// Picks the first MPM, in event > worker > prefork order restricted to `preferred`
/// (if not empty), whose `mod_mpm_NAME.so` exists in `modules_dir`.
pub fn choose_mpm(modules_dir: &Path, preferred: &[String]) -> Result<Mpm> {
    for name in preferred {
        if !Mpm::ALL.iter().any(|m| m.name() == name) {
            bail!("--server-mpm must be event, worker or prefork (got '{name}')");
        }
    }
    Mpm::ALL
        .into_iter()
        .filter(|m| preferred.is_empty() || preferred.iter().any(|p| p == m.name()))
        .find(|m| modules_dir.join(m.file_name()).exists())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no usable MPM ({}) found in {}",
                if preferred.is_empty() {
                    "event, worker or prefork".to_string()
                } else {
                    preferred.join(", ")
                },
                modules_dir.display()
            )
        })
}

/// The numbers written into the MPM block of httpd.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizing {
    pub mpm: Mpm,
    /// Python request capacity as reported: processes x threads.
    pub processes: u32,
    pub threads: u32,
    /// MaxRequestWorkers: the connection capacity.
    pub max_request_workers: u32,
    pub server_limit: u32,
    pub start_servers: u32,
    /// Threaded MPMs only.
    pub threads_per_child: u32,
    pub min_spare: u32,
    pub max_spare: u32,
    pub max_keep_alive_requests: u32,
    /// `ThreadStackSize` for the threaded MPMs (daemon mode: 262144, as express).
    pub thread_stack_size: Option<u32>,
}

/// Embedded-mode sizing for `processes` (None = not given, 1) x `threads` with an
/// optional `--max-clients`; see the module docs for the reasoning.
pub fn embedded(
    mpm: Mpm,
    processes: Option<u32>,
    threads: u32,
    max_clients: Option<u32>,
) -> Sizing {
    let processes = processes.unwrap_or(1).max(1);
    let threads = threads.max(1);
    let requests = processes * threads;
    let capacity = match max_clients {
        Some(n) => n.max(requests),
        None => (10 + 10u32.max(requests * 3 / 2)).max(MIN_DEFAULT_CONNECTIONS),
    };
    match mpm {
        Mpm::Prefork => {
            // One process per connection: start enough for the Python capacity (at least
            // 10), let Apache fork more on demand up to the capacity, never reap idle ones.
            let start = capacity.min(requests.max(10));
            Sizing {
                mpm,
                processes,
                threads,
                max_request_workers: capacity,
                server_limit: capacity,
                start_servers: start,
                threads_per_child: 1,
                min_spare: start,
                max_spare: capacity,
                max_keep_alive_requests: 100,
                thread_stack_size: None,
            }
        }
        Mpm::Event | Mpm::Worker => {
            let per_child = capacity.div_ceil(processes).max(threads);
            let total = per_child * processes;
            let min_spare = (total / 4).max(1);
            Sizing {
                mpm,
                processes,
                threads,
                max_request_workers: total,
                server_limit: processes,
                start_servers: processes,
                threads_per_child: per_child,
                min_spare,
                max_spare: total.max(min_spare + per_child),
                // event parks idle keep-alive connections for free: no cap; worker pins a
                // thread per connection: Apache's default cap of 100 (as express).
                max_keep_alive_requests: if mpm == Mpm::Event { 0 } else { 100 },
                thread_stack_size: None,
            }
        }
    }
}

/// Daemon-mode sizing: the Apache side relays to a daemon group of `processes` (None =
/// not given, 1) x `threads`; see the module docs.
pub fn daemon(mpm: Mpm, processes: Option<u32>, threads: u32, max_clients: Option<u32>) -> Sizing {
    let processes = processes.unwrap_or(1).max(1);
    let threads = threads.max(1);
    let requests = processes * threads;
    let capacity = match max_clients {
        Some(n) => n.max(1),
        None => (10 + 10u32.max(requests * 3 / 2)).max(MIN_DEFAULT_CONNECTIONS),
    };
    // Apache's children are plain relays: size them as an embedded server of `children`
    // processes, then report the daemon group's request capacity.
    let children = match mpm {
        Mpm::Prefork => 1,
        Mpm::Event | Mpm::Worker => capacity.div_ceil(MAX_THREADS_PER_CHILD),
    };
    // Prefork: start 10 relays and fork more on demand up to the capacity.
    let per_child = match mpm {
        Mpm::Prefork => capacity.min(10),
        Mpm::Event | Mpm::Worker => capacity.div_ceil(children),
    };
    let mut s = embedded(mpm, Some(children), per_child, Some(capacity));
    s.processes = processes;
    s.threads = threads;
    // The relays hold no Python state: the express values.
    if mpm != Mpm::Event {
        s.max_keep_alive_requests = 500;
    }
    if mpm != Mpm::Prefork {
        s.thread_stack_size = Some(262144);
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn daemon_sizing_relays_64_keepalive_connections() {
        let s = daemon(Mpm::Event, None, 5, None);
        assert_eq!((s.processes, s.threads), (1, 5));
        assert_eq!((s.server_limit, s.threads_per_child), (1, 100));
        assert_eq!(s.max_request_workers, 100);
        assert!(s.max_request_workers - 64 > s.min_spare);
        assert_eq!(s.thread_stack_size, Some(262144));
        assert_eq!(s.max_keep_alive_requests, 0);
        let s = daemon(Mpm::Worker, Some(10), 20, None);
        // 10 + 1.5 * 200 = 310 connections in 4 children of at most 100 threads.
        assert_eq!((s.server_limit, s.threads_per_child), (4, 78));
        assert_eq!(s.max_request_workers, 312);
        assert_eq!(s.max_keep_alive_requests, 500);
        let s = daemon(Mpm::Prefork, Some(2), 5, Some(30));
        assert_eq!((s.server_limit, s.max_request_workers), (30, 30));
        assert_eq!((s.start_servers, s.max_keep_alive_requests), (10, 500));
        assert_eq!(s.thread_stack_size, None);
    }

    use super::*;

    #[test]
    fn default_event_sizing_covers_64_keepalive_connections() {
        let s = embedded(Mpm::Event, None, 5, None);
        assert_eq!((s.server_limit, s.threads_per_child), (1, 100));
        assert_eq!(s.max_request_workers, 100);
        // 64 busy threads must leave idle ones and stay above MinSpareThreads.
        assert!(s.max_request_workers - 64 > s.min_spare);
        assert!(s.max_spare >= s.max_request_workers);
        assert_eq!(s.max_keep_alive_requests, 0);
    }

    #[test]
    fn explicit_max_clients_and_processes() {
        let s = embedded(Mpm::Worker, Some(3), 10, Some(20));
        // max-clients below processes*threads is raised to it, split over 3 children.
        assert_eq!(
            (s.server_limit, s.threads_per_child, s.max_request_workers),
            (3, 10, 30)
        );
        assert_eq!(s.max_keep_alive_requests, 100);
        let s = embedded(Mpm::Event, Some(2), 5, Some(150));
        assert_eq!(
            (s.server_limit, s.threads_per_child, s.max_request_workers),
            (2, 75, 150)
        );
    }

    #[test]
    fn prefork_forks_on_demand_up_to_capacity() {
        let s = embedded(Mpm::Prefork, None, 5, None);
        assert_eq!((s.server_limit, s.max_request_workers), (100, 100));
        assert_eq!((s.start_servers, s.min_spare, s.max_spare), (10, 10, 100));
    }

    #[test]
    fn mpm_choice_follows_preference_and_presence() {
        let dir = tempfile::tempdir().unwrap();
        assert!(choose_mpm(dir.path(), &[]).is_err());
        std::fs::write(dir.path().join("mod_mpm_prefork.so"), "").unwrap();
        std::fs::write(dir.path().join("mod_mpm_worker.so"), "").unwrap();
        assert_eq!(choose_mpm(dir.path(), &[]).unwrap(), Mpm::Worker);
        let pref = vec!["prefork".to_string()];
        assert_eq!(choose_mpm(dir.path(), &pref).unwrap(), Mpm::Prefork);
        let pref = vec!["event".to_string()];
        assert!(choose_mpm(dir.path(), &pref).is_err());
        let pref = vec!["bogus".to_string()];
        assert!(
            choose_mpm(dir.path(), &pref)
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
    }
}
