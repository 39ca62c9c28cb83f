//! Moving frames over byte streams: blocking writes (vectored, so data frames go out as
//! header + borrowed data with no copy), a blocking [`FrameReader`] over any
//! [`std::io::Read`] that can stream a data frame's payload straight into a caller's
//! buffer, and [`FrameBuffer`], an incremental decoder a non-blocking reader feeds with
//! whatever bytes have arrived.
//!
//! Both readers validate the header (type, flags, reserved bits, length cap) before they
//! read or allocate any payload, so their buffers never grow beyond the largest frame the
//! [`Limits`] allow plus one read chunk. Used by the Apache-child client and the daemon
//! server; callers release the GIL around the blocking calls. No FFI.

use std::io::{self, IoSlice, Read, Write};

use super::decode::{Decoded, decode_frame, decode_payload, peek_header};
use super::encode::data_header;
use super::error::{ProtoError, Result};
use super::frame::{FrameHeader, FrameType, HEADER_LEN, Limits};
use super::messages::Message;

/// Write every byte of `bufs`, looping over short writes and retrying `EINTR`.
pub fn write_all_vectored<W: Write + ?Sized>(
    w: &mut W,
    mut bufs: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0); // drop leading empty slices
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Write one message as one frame. BODY and RESPONSE_BODY are written as header + the
/// caller's data in one vectored write; other messages are encoded into `scratch` (cleared
/// first, reused across calls) and written from there.
pub fn write_message<W: Write + ?Sized>(
    w: &mut W,
    msg: &Message<'_>,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    match msg {
        Message::Body(data) | Message::ResponseBody { data, .. } => {
            let flush = msg.flags() != 0;
            let h = data_header(msg.frame_type(), data.len(), flush)?;
            write_all_vectored(w, &mut [IoSlice::new(&h), IoSlice::new(data)])?;
        }
        _ => {
            scratch.clear();
            msg.encode(scratch)?;
            w.write_all(scratch)?;
        }
    }
    Ok(())
}

/// Read into `buf` until it is full or EOF; returns the number of bytes read.
fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A blocking frame reader. Wrap a raw socket in a `BufReader` first to avoid one syscall
/// per header; large payload reads bypass that buffer anyway.
///
/// Two ways to consume a frame after [`FrameReader::read_header`]:
/// [`FrameReader::read_payload`] reads it into the reader's buffer and decodes it (the
/// message borrows that buffer), or, for BODY/RESPONSE_BODY, [`FrameReader::read_data`]
/// streams the payload into the caller's memory (e.g. straight into the bytes object
/// `wsgi.input.read()` returns). [`FrameReader::read_message`] does header + payload.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    limits: Limits,
    buf: Vec<u8>,
    /// Header of the frame whose payload has not been fully consumed, and bytes left.
    pending: Option<(FrameHeader, u32)>,
    poisoned: bool,
}

impl<R: Read> FrameReader<R> {
    /// A reader enforcing `limits` (clamped to the protocol ceilings).
    pub fn new(inner: R, limits: Limits) -> Self {
        FrameReader {
            inner,
            limits: limits.clamped(),
            buf: Vec::new(),
            pending: None,
            poisoned: false,
        }
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying reader, mutably (reading from it directly desynchronises framing).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Give back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Capacity of the internal payload buffer (never more than the largest allowed frame).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.poisoned {
            return Err(ProtoError::Poisoned);
        }
        let r = f(self);
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    /// Read and validate the next header. `Ok(None)` means the peer closed cleanly between
    /// frames; EOF inside a header is [`ProtoError::UnexpectedEof`]. The payload of the
    /// previous frame must have been consumed.
    pub fn read_header(&mut self) -> Result<Option<FrameHeader>> {
        self.guard(|s| {
            if s.pending.is_some() {
                return Err(ProtoError::Misuse("previous frame's payload not consumed"));
            }
            let mut hb = [0u8; HEADER_LEN];
            let got = read_full(&mut s.inner, &mut hb)?;
            if got == 0 {
                return Ok(None);
            }
            if got < HEADER_LEN {
                return Err(ProtoError::UnexpectedEof {
                    needed: HEADER_LEN,
                    got,
                });
            }
            let h = FrameHeader::parse(&hb, &s.limits)?;
            if h.len > 0 {
                s.pending = Some((h, h.len));
            }
            Ok(Some(h))
        })
    }

    /// Read the whole payload of the frame whose header was just read and decode it.
    pub fn read_payload(&mut self, h: &FrameHeader) -> Result<Message<'_>> {
        if self.poisoned {
            return Err(ProtoError::Poisoned);
        }
        let len = h.len as usize;
        match self.pending {
            None if len == 0 => {}
            Some((p, left)) if p == *h && left == h.len => {}
            _ => {
                self.poisoned = true;
                return Err(ProtoError::Misuse(
                    "read_payload needs the header just read",
                ));
            }
        }
        self.buf.clear();
        // len was checked against the type's cap by FrameHeader::parse. Reserve at most one
        // read chunk up front: the buffer then grows with the bytes that actually arrive, so
        // a peer that announces 16 MiB and sends nothing costs nothing.
        self.buf.reserve(len.min(MAX_READ));
        let got = match (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut self.buf)
        {
            Ok(n) => n,
            Err(e) => {
                self.poisoned = true;
                return Err(e.into());
            }
        };
        self.pending = None;
        if got < len {
            self.poisoned = true;
            return Err(ProtoError::UnexpectedEof {
                needed: HEADER_LEN + len,
                got: HEADER_LEN + got,
            });
        }
        match decode_payload(h, &self.buf, &self.limits) {
            Ok(m) => Ok(m),
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// Stream part of a BODY/RESPONSE_BODY payload into `dst`. Returns 0 once the frame's
    /// payload is exhausted (or if no data frame is pending). Reads at most once from the
    /// underlying reader, so a short count is normal.
    pub fn read_data(&mut self, dst: &mut [u8]) -> Result<usize> {
        self.guard(|s| {
            let Some((h, left)) = s.pending else {
                return Ok(0);
            };
            if !h.frame_type.is_data() {
                return Err(ProtoError::Misuse("read_data on a non-data frame"));
            }
            let want = dst.len().min(left as usize);
            if want == 0 {
                return Ok(0);
            }
            let n = loop {
                match s.inner.read(&mut dst[..want]) {
                    // min(): a reader that over-reports must not break the accounting.
                    Ok(n) => break n.min(want),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            };
            if n == 0 {
                return Err(ProtoError::UnexpectedEof {
                    needed: h.frame_len(),
                    got: h.frame_len() - left as usize,
                });
            }
            let left = left - n as u32;
            s.pending = if left == 0 { None } else { Some((h, left)) };
            Ok(n)
        })
    }

    /// Discard the rest of the pending frame's payload.
    pub fn skip_payload(&mut self) -> Result<()> {
        self.guard(|s| {
            if let Some((h, left)) = s.pending.take() {
                let n = io::copy(&mut (&mut s.inner).take(left.into()), &mut io::sink())?;
                if n < u64::from(left) {
                    return Err(ProtoError::UnexpectedEof {
                        needed: h.frame_len(),
                        got: h.frame_len() - (left as usize - n as usize),
                    });
                }
            }
            Ok(())
        })
    }

    /// Read the next whole frame and decode it; `Ok(None)` on clean EOF between frames.
    pub fn read_message(&mut self) -> Result<Option<Message<'_>>> {
        match self.read_header()? {
            None => Ok(None),
            Some(h) => self.read_payload(&h).map(Some),
        }
    }
}

/// Smallest read [`FrameBuffer::fill_with`] asks for, so small frames arriving together are
/// picked up by one read.
pub const MIN_READ: usize = 16 * 1024;

/// Largest single read the readers prepare room for: one full data frame. Larger frames
/// (ENVIRON, RESPONSE_HEAD) are collected over several reads, so buffer memory follows the
/// bytes actually received rather than the length a header announces.
pub const MAX_READ: usize = super::frame::MAX_DATA as usize + HEADER_LEN;

/// Whether `bytes` start with a complete frame, or (split mode, `split` > 0) with at
/// least `split` payload bytes of a longer RESPONSE_BODY. A header that does not
/// validate counts as complete: the next read reports the error without blocking.
fn complete_in(bytes: &[u8], limits: &Limits, split: usize) -> bool {
    match peek_header(bytes, limits) {
        Ok(None) => false,
        Ok(Some(h)) => {
            bytes.len() >= h.frame_len()
                || (split > 0
                    && h.frame_type == FrameType::ResponseBody
                    && bytes.len() - HEADER_LEN >= split)
        }
        Err(_) => true,
    }
}

/// An incremental decoder over a growable byte buffer, for non-blocking readers: append
/// input as it arrives ([`FrameBuffer::feed`], [`FrameBuffer::read_from`] or
/// [`FrameBuffer::fill_with`]) and take complete frames with
/// [`FrameBuffer::next_message`]. Feeding a stream one byte at a time yields exactly what
/// decoding it whole does. After an error the buffer stays poisoned.
#[derive(Debug)]
pub struct FrameBuffer {
    /// Storage; its length is how much of it is initialized (it only grows, so
    /// a read is not preceded by zeroing the room it reads into).
    buf: Vec<u8>,
    /// End of the received bytes in `buf`.
    end: usize,
    /// Start of unconsumed bytes in `buf`.
    start: usize,
    /// Length of the frame last returned, dropped at the next call.
    consume: usize,
    /// Stream offset of `buf[start]`.
    pos: u64,
    /// Stream offset of the frame last returned.
    frame_pos: u64,
    limits: Limits,
    poisoned: bool,
    /// Split mode ([`FrameBuffer::split_response_body`]): the piece size, 0 when off.
    split: usize,
    /// Header of the rest of a split RESPONSE_BODY, written over the consumed bytes
    /// in front of that rest at the next `drain` (the piece returned last borrows them).
    rest_header: Option<FrameHeader>,
    /// Bytes of returned frames are still referenced (see [`FrameBuffer::pin`]).
    pinned: bool,
    /// Split mode: a read filled all the room it had, so reads now ask for a
    /// whole piece (until then [`MIN_READ`], which a small response never fills).
    grown: bool,
}

impl FrameBuffer {
    /// An empty buffer enforcing `limits` (clamped to the protocol ceilings).
    pub fn new(limits: Limits) -> Self {
        Self::with_storage(limits, Vec::new())
    }

    /// An empty buffer that reads into `storage` (its capacity, and the bytes of its
    /// length, which need no zeroing before a read, are reused; its contents are not).
    pub fn with_storage(limits: Limits, storage: Vec<u8>) -> Self {
        FrameBuffer {
            buf: storage,
            end: 0,
            start: 0,
            consume: 0,
            pos: 0,
            frame_pos: 0,
            limits: limits.clamped(),
            poisoned: false,
            split: 0,
            rest_header: None,
            pinned: false,
            grown: false,
        }
    }

    /// Split mode: a RESPONSE_BODY frame longer than `piece` bytes is returned as
    /// several RESPONSE_BODY messages (the flush flag on the last) of at least
    /// `piece` bytes each, as its payload arrives, and reads ask for
    /// min(`piece`, [`MIN_READ`]) bytes until one fills that, then for `piece`
    /// bytes (so frames that arrived together come in one read). A relay then holds at most about two pieces of a response, not
    /// whole frames of up to 256 KiB. `piece` 0 turns it off.
    pub fn split_response_body(&mut self, piece: usize) {
        self.split = piece;
    }

    /// Pinned, the bytes of the frames already returned stay where they are
    /// (no compaction) and reading more is refused ([`FrameBuffer::fill_with`]
    /// fails), so a caller may keep referring to them (a relay hands them to
    /// httpd as transient buckets) until it unpins. Decoding the frames
    /// already buffered is still allowed.
    pub fn pin(&mut self, on: bool) {
        self.pinned = on;
    }

    /// Whether the buffer is pinned.
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Append received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.truncate(self.end);
        self.buf.extend_from_slice(bytes);
        self.end = self.buf.len();
    }

    /// Bytes buffered and not yet returned as part of a frame.
    pub fn buffered(&self) -> usize {
        self.end - self.start - self.consume
    }

    /// True if no partial frame is buffered (EOF now would be a clean close).
    pub fn at_boundary(&self) -> bool {
        self.buffered() == 0
    }

    /// Capacity of the internal buffer.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives up the storage (for reuse by another buffer); this one is left empty.
    pub fn take_storage(&mut self) -> Vec<u8> {
        self.start = 0;
        self.consume = 0;
        self.end = 0;
        std::mem::take(&mut self.buf)
    }

    /// Stream offset (bytes since the connection started) of the frame last returned by
    /// [`FrameBuffer::next_message`].
    pub fn frame_offset(&self) -> u64 {
        self.frame_pos
    }

    /// Stream offset of the frame the next [`FrameBuffer::next_message`] will return.
    pub fn next_frame_offset(&self) -> u64 {
        self.pos + self.consume as u64
    }

    /// Stream offset one past the last byte received.
    pub fn stream_end(&self) -> u64 {
        self.pos + (self.end - self.start) as u64
    }

    /// Drop the frame returned last and compact when the dead prefix is large.
    fn drain(&mut self) {
        if let Some(h) = self.rest_header.take() {
            // The rest's header goes over the last HEADER_LEN consumed bytes, so the
            // stream offsets of everything after it stay what they were.
            let at = self.start + self.consume;
            self.buf[at..at + HEADER_LEN].copy_from_slice(&h.to_bytes());
        }
        self.start += self.consume;
        self.pos += self.consume as u64;
        self.consume = 0;
        if self.start == self.end && !self.pinned {
            self.end = 0;
            self.start = 0;
        } else if !self.pinned && self.start > 0 && self.start >= self.end / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Bytes needed in total (from the current frame start) for the next frame to be
    /// complete; validates the header if it is buffered.
    pub fn needed(&mut self) -> Result<usize> {
        if self.poisoned {
            return Err(ProtoError::Poisoned);
        }
        self.drain();
        match peek_header(&self.buf[self.start..self.end], &self.limits) {
            Ok(None) => Ok(HEADER_LEN),
            Ok(Some(h)) => Ok(h.frame_len()),
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// True if a complete, header-valid frame is buffered (so `next_message` returns one).
    pub fn frame_ready(&mut self) -> Result<bool> {
        let needed = self.needed()?;
        Ok(self.end - self.start >= needed || self.piece().is_some())
    }

    /// In split mode, the header of the RESPONSE_BODY at the front and the payload
    /// bytes to return now as one piece (the frame is incomplete and at least
    /// `split` bytes of it, or all but its last byte, are buffered).
    fn piece(&self) -> Option<(FrameHeader, usize)> {
        if self.split == 0 {
            return None;
        }
        let h = peek_header(&self.buf[self.start..self.end], &self.limits).ok()??;
        let len = h.len as usize;
        if h.frame_type != FrameType::ResponseBody || len <= self.split {
            return None;
        }
        let avail = self.end - self.start - HEADER_LEN;
        (avail >= self.split && avail < len).then_some((h, avail))
    }

    /// Let `read` fill spare room at the end of the buffer (e.g. with `recvmsg`), sized from
    /// what the next frame still needs, clamped to [`MIN_READ`]..=[`MAX_READ`]. Returns what
    /// `read` returned.
    pub fn fill_with<F>(&mut self, read: F) -> io::Result<usize>
    where
        F: FnOnce(&mut [u8]) -> io::Result<usize>,
    {
        if self.pinned {
            // Growing the buffer could move the bytes a caller still refers to.
            return Err(io::Error::other("frame buffer pinned: read refused"));
        }
        let have = self.end - self.start - self.consume;
        // A poisoned or not-yet-validated header still reads at most MIN_READ.
        let needed = self.needed().unwrap_or(HEADER_LEN);
        let mut want = needed.saturating_sub(have).clamp(MIN_READ, MAX_READ);
        if self.split > 0 {
            // Split mode reads a whole piece whatever the next frame needs, so
            // that small frames sent one after the other come in one read,
            // once a read has shown that more than MIN_READ comes at a time
            // (a small response never grows the buffer past MIN_READ).
            want = if self.grown {
                self.split
            } else {
                self.split.min(MIN_READ)
            }
            .max(HEADER_LEN);
        }
        let old = self.end;
        if self.buf.len() < old + want {
            self.buf.resize(old + want, 0);
        }
        let r = read(&mut self.buf[old..old + want]);
        let n = *r.as_ref().unwrap_or(&0);
        self.end = old + n.min(want);
        self.grown |= n >= want;
        r
    }

    /// One `read` from `r` into the buffer (see [`FrameBuffer::fill_with`]); `Ok(0)` is EOF,
    /// `WouldBlock` is passed through for non-blocking sources.
    pub fn read_from<R: Read + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        self.fill_with(|dst| r.read(dst))
    }

    /// The next complete frame, or `Ok(None)` if more bytes are needed. The message
    /// borrows the buffer until the next call.
    pub fn next_message(&mut self) -> Result<Option<Message<'_>>> {
        Ok(self.next_message_more()?.map(|(m, _)| m))
    }

    /// As [`FrameBuffer::next_message`], and whether another frame (or, in split mode,
    /// another piece) is already buffered behind it, so the next call returns without
    /// reading. A relay uses it to hand several buffered frames downstream at once.
    pub fn next_message_more(&mut self) -> Result<Option<(Message<'_>, bool)>> {
        if self.poisoned {
            return Err(ProtoError::Poisoned);
        }
        self.drain();
        if let Some((h, n)) = self.piece() {
            // Everything but the rest stays as it is: the piece is consumed, and
            // the rest becomes a frame of its own (same type, the original flags).
            let mut rest = h;
            rest.len -= n as u32;
            self.rest_header = Some(rest);
            self.consume = n;
            self.frame_pos = self.pos;
            let at = self.start + HEADER_LEN;
            // A piece takes every payload byte buffered: nothing is behind it.
            return Ok(Some((
                Message::ResponseBody {
                    data: &self.buf[at..at + n],
                    flush: false,
                },
                false,
            )));
        }
        match decode_frame(&self.buf[self.start..self.end], &self.limits) {
            Ok(Decoded::Frame(m, n)) => {
                self.consume = n;
                self.frame_pos = self.pos;
                let more = complete_in(
                    &self.buf[self.start + n..self.end],
                    &self.limits,
                    self.split,
                );
                Ok(Some((m, more)))
            }
            Ok(Decoded::Incomplete { .. }) => Ok(None),
            Err(e) => {
                self.poisoned = true;
                Err(e)
            }
        }
    }

    /// Call at EOF: `Ok(())` if the stream ended on a frame boundary.
    pub fn check_eof(&self) -> Result<()> {
        let got = self.buffered();
        if got == 0 {
            return Ok(());
        }
        let rest = &self.buf[self.start + self.consume..self.end];
        let needed = match peek_header(rest, &self.limits) {
            Ok(Some(h)) => h.frame_len(),
            _ => HEADER_LEN,
        };
        Err(ProtoError::UnexpectedEof { needed, got })
    }
}
