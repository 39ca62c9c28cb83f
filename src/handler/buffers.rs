//! Byte buffers an Apache child reuses across daemon-mode requests.
//!
//! Each request relayed to a daemon needs a few buffers (the ENVIRON frame,
//! the response reader, the request-body pump). Allocated and freed per
//! request on Apache's worker threads, they land in glibc's per-thread
//! arenas, and each arena keeps its high-water mark: under load that was
//! ~170 KiB in each of 16 arenas per child, where mod_wsgi (which allocates
//! from APR pools) keeps none. Taken from and given back to process-wide
//! free lists instead (one per use, so a small buffer never holds a big
//! allocation), the buffers stay at the peak number of concurrent
//! relays and nothing is freed into an arena. Empty `Vec`s cost nothing, so a
//! child that never talks to a daemon never allocates one.

use std::sync::Mutex;

/// Buffers kept for reuse per kind (about the concurrent relays of a busy child).
const KEEP: usize = 64;

/// Larger buffers (a frame near the protocol maximum) are freed, not kept.
const KEEP_CAPACITY: usize = 128 * 1024;

/// One free list. Buffers of different uses are kept apart, so a small one
/// (an ENVIRON frame) never holds a relay-sized allocation.
pub struct BufferPool(Mutex<Vec<Vec<u8>>>);

/// Response readers (16 KiB, 32 to 64 KiB for a streamed response).
pub static RELAY: BufferPool = BufferPool(Mutex::new(Vec::new()));
/// Request-body pumps (32 KiB), apart so readers of small responses stay small.
pub static PUMP: BufferPool = BufferPool(Mutex::new(Vec::new()));
/// ENVIRON frames (a few KiB).
pub static ENVIRON: BufferPool = BufferPool(Mutex::new(Vec::new()));

impl BufferPool {
    /// An empty buffer, with the capacity of one used before when there is one.
    pub fn take(&'static self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Returns a buffer for reuse; too large or surplus ones are freed. Its
    /// length is kept: the bytes are initialized, so the next user (a frame
    /// reader, the body pump) need not zero them again before reading into
    /// them; users that append clear it first.
    pub fn give(&'static self, buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
            return;
        }
        let mut free = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < KEEP {
            free.push(buf);
        }
    }
}

/// A buffer from a pool that goes back to it when dropped.
pub struct Pooled(pub Vec<u8>, pub &'static BufferPool);

impl std::ops::Deref for Pooled {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.1.give(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_given_buffers_and_drops_outsized_ones() {
        let mut a = Vec::with_capacity(4096);
        a.extend_from_slice(b"stale");
        let ptr = a.as_ptr();
        static P: BufferPool = BufferPool(Mutex::new(Vec::new()));
        P.give(a);
        let b = P.take();
        assert_eq!(b, b"stale", "a reused buffer keeps its (initialized) bytes");
        assert_eq!(b.as_ptr(), ptr, "the same allocation comes back");
        P.give(Vec::with_capacity(KEEP_CAPACITY + 1));
        P.give(Vec::new());
        let c = P.take();
        assert_ne!(c.capacity(), KEEP_CAPACITY + 1);
        assert!(c.capacity() == 0 || c.capacity() <= KEEP_CAPACITY);
    }
}
