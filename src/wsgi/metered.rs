//! A [`Host`] wrapper that counts what one request reads and writes (bytes,
//! calls, time spent) and the status it sends, for the interval metrics.
//! Only put in front of the real host while metrics are being recorded
//! (`crate::metrics`).

use super::host::{Head, Host, HostError, Taken};
use crate::apache::log::Level;
use crate::metrics::Io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The counting wrapper.
pub struct Metered {
    inner: Box<dyn Host>,
    io: Arc<Mutex<Io>>,
}

impl Metered {
    pub fn new(inner: Box<dyn Host>, io: Arc<Mutex<Io>>) -> Metered {
        Metered { inner, io }
    }

    /// Counts one read of the request body that started at `t`.
    fn input(&self, r: &Result<usize, HostError>, t: Instant) {
        let us = micros(t);
        let n = *r.as_ref().unwrap_or(&0);
        self.count(
            |io, (n, us)| {
                io.input_bytes += n as u64;
                io.input_reads += 1;
                io.input_read_us += us;
            },
            (n, us),
        );
    }

    fn count<R>(&self, f: impl FnOnce(&mut Io, R), r: R) {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut io, r);
    }

    fn head(&self, head: &Head) {
        self.count(|io, s| io.status = s, head.status);
    }

    fn wrote(&self, len: usize, us: u64) {
        if len > 0 {
            self.count(
                |io, (len, us)| {
                    io.output_bytes += len as u64;
                    io.output_writes += 1;
                    io.output_write_us += us;
                },
                (len, us),
            );
        } else if us > 0 {
            self.count(|io, us| io.output_write_us += us, us);
        }
    }
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

impl Host for Metered {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        let t = Instant::now();
        let r = self.inner.read(buf);
        self.input(&r, t);
        r
    }

    fn read_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        zeroed: &mut usize,
    ) -> Result<usize, HostError> {
        let t = Instant::now();
        let r = self.inner.read_uninit(buf, zeroed);
        self.input(&r, t);
        r
    }

    fn send_head(&mut self, head: &Head) -> Result<(), HostError> {
        self.head(head);
        self.inner.send_head(head)
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), HostError> {
        let t = Instant::now();
        let r = self.inner.write(data, flush);
        self.wrote(data.len(), micros(t));
        r
    }

    fn log(&mut self, level: Level, msg: &str) {
        self.inner.log(level, msg)
    }

    fn abort(&mut self) {
        self.inner.abort()
    }

    fn client_gone(&self) -> bool {
        self.inner.client_gone()
    }

    fn head_only(&self) -> bool {
        self.inner.head_only()
    }

    fn send_file(&mut self, fd: RawFd, offset: u64, len: u64) -> Result<bool, HostError> {
        let t = Instant::now();
        let r = self.inner.send_file(fd, offset, len);
        if matches!(r, Ok(true)) {
            self.wrote(len as usize, micros(t));
        }
        r
    }

    fn try_buffer(
        &mut self,
        head: Option<&Head>,
        data: &[u8],
        flush: bool,
    ) -> Result<Taken, HostError> {
        let t = Instant::now();
        let r = self.inner.try_buffer(head, data, flush);
        if matches!(r, Ok(Taken::Yes | Taken::FlushPending)) {
            if let Some(h) = head {
                self.head(h);
            }
            self.wrote(data.len(), micros(t));
        }
        r
    }

    fn flush(&mut self) -> Result<(), HostError> {
        let t = Instant::now();
        let r = self.inner.flush();
        self.wrote(0, micros(t));
        r
    }

    fn finish(&mut self) -> Result<(), HostError> {
        let t = Instant::now();
        let r = self.inner.finish();
        self.wrote(0, micros(t));
        r
    }
}
