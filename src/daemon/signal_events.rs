//! SIGHUP and SIGUSR2 in a daemon process, as mod_wsgi 6: they do not stop
//! it; in a request-handling daemon they become the `process_signal` event,
//! published on a dispatcher thread of its own (started at the first such
//! signal) so the main thread's watchdogs never wait for a subscriber. A
//! service daemon (`threads=0`) takes them without publishing (its scripts
//! may install their own handlers). Owned by the main thread's watch loop;
//! dropping it ends the dispatcher once it is idle.

use nix::sys::signal::Signal;
use std::sync::mpsc::{Sender, channel};

/// The dispatcher of one daemon process.
pub struct SignalEvents {
    publish: bool,
    sender: Option<Sender<Signal>>,
}

impl SignalEvents {
    /// `publish`: whether this daemon handles requests (threads > 0).
    pub fn new(publish: bool) -> SignalEvents {
        SignalEvents {
            publish,
            sender: None,
        }
    }

    /// Hands `sig` to the dispatcher (started on first use).
    pub fn deliver(&mut self, sig: Signal) {
        if !self.publish || !crate::python::events::any_subscriber() {
            return;
        }
        if self.sender.is_none() {
            let (tx, rx) = channel::<Signal>();
            let spawned = std::thread::Builder::new()
                .name("wsgi-signals".into())
                .spawn(move || {
                    for sig in rx {
                        crate::python::events::process_signal(sig as i32, sig.as_str());
                    }
                });
            if spawned.is_err() {
                return;
            }
            self.sender = Some(tx);
        }
        if let Some(tx) = &self.sender {
            let _ = tx.send(sig);
        }
    }
}
