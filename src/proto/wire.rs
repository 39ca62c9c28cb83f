//! Field-level primitives shared by the encoder and decoder: little-endian integers and
//! length-prefixed strings (`u32 len` + bytes, binary-safe).
//!
//! [`Cursor`] reads fields out of one frame's payload, bounds-checking every read and
//! every length before it slices, so a malformed payload yields a typed error and never a
//! panic. The `put_*` functions append fields to an output buffer. Pure data, no FFI.

use super::error::{ProtoError, Result};
use super::frame::FrameType;

/// A bounds-checked reader over one frame's payload.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    frame_type: FrameType,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8], frame_type: FrameType) -> Self {
        Cursor {
            buf,
            pos: 0,
            frame_type,
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Everything left, without consuming it.
    pub(super) fn rest_peek(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(super) fn frame_type(&self) -> FrameType {
        self.frame_type
    }

    /// Take `n` raw bytes.
    pub(super) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(ProtoError::Truncated {
                frame_type: self.frame_type,
                field,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn array<const N: usize>(&mut self, field: &'static str) -> Result<&'a [u8; N]> {
        let s = self.bytes(N, field)?;
        // The slice has exactly N bytes, so the conversion cannot fail.
        s.try_into().map_err(|_| ProtoError::Truncated {
            frame_type: self.frame_type,
            field,
        })
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(super) fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(*self.array(field)?))
    }

    pub(super) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(*self.array(field)?))
    }

    pub(super) fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(*self.array(field)?))
    }

    /// A `u32 len` + bytes string whose length must not exceed `max`.
    pub(super) fn str(&mut self, max: u32, field: &'static str) -> Result<&'a [u8]> {
        let len = self.u32(field)?;
        if len > max {
            return Err(ProtoError::StringTooLong {
                field,
                len: len.into(),
                max,
            });
        }
        self.bytes(len as usize, field)
    }

    /// Everything left in the payload.
    pub(super) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Fail if any byte is left unread.
    pub(super) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(ProtoError::TrailingBytes {
                frame_type: self.frame_type,
                extra,
            }),
        }
    }
}

pub(super) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(super) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Append a `u32 len` + bytes string, checking `max` first.
pub(super) fn put_str(out: &mut Vec<u8>, s: &[u8], max: u32, field: &'static str) -> Result<()> {
    check_len(s.len(), max, field)?;
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s);
    Ok(())
}

/// Check a string length against its cap (for encoders).
pub(super) fn check_len(len: usize, max: u32, field: &'static str) -> Result<()> {
    if len > max as usize {
        return Err(ProtoError::StringTooLong {
            field,
            len: len as u64,
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_and_bounds() {
        let mut out = Vec::new();
        put_u8(&mut out, 7);
        put_u16(&mut out, 0x1234);
        put_u32(&mut out, 0xdead_beef);
        put_u64(&mut out, u64::MAX - 1);
        put_str(&mut out, b"abc", 3, "s").unwrap();
        let mut c = Cursor::new(&out, FrameType::Error);
        assert_eq!(c.u8("a").unwrap(), 7);
        assert_eq!(c.u16("b").unwrap(), 0x1234);
        assert_eq!(c.u32("c").unwrap(), 0xdead_beef);
        assert_eq!(c.u64("d").unwrap(), u64::MAX - 1);
        assert_eq!(c.str(3, "s").unwrap(), b"abc");
        c.finish().unwrap();
        assert!(matches!(
            c.u8("x"),
            Err(ProtoError::Truncated { field: "x", .. })
        ));
    }

    #[test]
    fn cursor_string_caps_and_truncation() {
        let mut out = Vec::new();
        put_u32(&mut out, 10);
        out.extend_from_slice(b"short");
        let mut c = Cursor::new(&out, FrameType::Error);
        assert!(matches!(
            c.str(4, "s"),
            Err(ProtoError::StringTooLong {
                len: 10,
                max: 4,
                ..
            })
        ));
        let mut c = Cursor::new(&out, FrameType::Error);
        assert!(matches!(c.str(100, "s"), Err(ProtoError::Truncated { .. })));
        let mut c = Cursor::new(&out, FrameType::Error);
        c.u8("x").unwrap();
        assert!(matches!(
            c.finish(),
            Err(ProtoError::TrailingBytes { extra: 8, .. })
        ));
        assert_eq!(c.rest().len(), 8);
        assert!(put_str(&mut Vec::new(), b"toolong", 3, "s").is_err());
    }
}
