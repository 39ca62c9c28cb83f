//! The worker threads of a daemon process: `threads` threads that accept a
//! connection only while idle (one idle worker at a time waits, `acceptor`)
//! and run it through `server::serve`, counting each request in the
//! [`DaemonState`]. A panic in a request is caught here (WSGIRS0417): the
//! Apache child has already had an ERROR frame (or an aborted connection)
//! from `server`, the request counts as finished and the thread keeps
//! serving. While the process drains (a graceful stop) the workers go on
//! accepting unless the standby took over (then idle workers end), and each checks after its request whether the drain is over
//! (`graceful::after_request`). Started and joined by `process::run`;
//! workers run without the GIL (the WSGI core takes it per request).

use super::acceptor::Acceptor;
use super::server;
use super::state::DaemonState;
use crate::apache::entry;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::PANIC_DAEMON_WORKER;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Starts the worker threads.
pub fn start(
    state: &Arc<DaemonState>,
    acceptor: &Arc<Acceptor>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    (0..state.group.opts.threads)
        .map(|i| {
            let s = state.clone();
            let a = acceptor.clone();
            let mut b = std::thread::Builder::new().name(format!("wsgi-{i}"));
            // stack-size: the request threads' stack, as mod_wsgi.
            if let Some(size) = s.group.opts.limits.stack_size {
                b = b.stack_size(size);
            }
            b.spawn(move || worker(&s, &a, i))
        })
        .collect()
}

/// Waits for the workers until `deadline`; returns whether all ended.
pub fn join(workers: Vec<JoinHandle<()>>, deadline: Instant) -> bool {
    let mut all_done = true;
    for w in workers {
        while !w.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if w.is_finished() {
            let _ = w.join();
        } else {
            all_done = false;
        }
    }
    all_done
}

/// One worker thread: accept while idle, serve, repeat until stopping;
/// then serve what is still queued on the socket (connections made before
/// the parent removed it) so that a stop or restart drops no request.
fn worker(state: &Arc<DaemonState>, acceptor: &Acceptor, id: u32) {
    state.timers.thread_started(id);
    loop {
        let stopping = state.is_stopping();
        // Handed over (the standby accepts) or stopping itself: the
        // connections waiting on the socket are the replacement's.
        if (stopping && state.is_self_restart()) || !state.is_accepting() {
            return;
        }
        let open = || state.is_accepting();
        let Some(stream) = acceptor.next(if stopping { 0 } else { 200 }, open) else {
            if stopping {
                return;
            }
            continue;
        };
        state.request_started(id);
        crate::stats::request_began();
        if let Err(panic) = entry::catch(|| server::serve(stream, state, id)) {
            log::server(
                Level::Err,
                None,
                &format!(
                    "{PANIC_DAEMON_WORKER} daemon process {} of group '{}': internal error (panic) in \
                     worker thread {id}: {panic}; the request failed and this thread keeps serving",
                    std::process::id(),
                    state.group.opts.name
                ),
            );
        }
        crate::stats::request_ended();
        state.request_finished(id);
        super::graceful::after_request(state);
    }
}
