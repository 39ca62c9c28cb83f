//! Encoding: [`Message`] → frame bytes, the data-frame header for vectored writes, and
//! [`EnvironBuilder`], which builds the whole ENVIRON frame in one buffer.
//!
//! Encoders check every cap the decoder checks (against the protocol ceilings), so a frame
//! this module produces is always accepted by a peer using default [`Limits`]. On error
//! nothing is left appended to the output. Pure data, no FFI.

use super::error::{ProtoError, Result};
use super::frame::{
    FrameHeader, FrameType, HEADER_LEN, Limits, MAGIC, MAX_ENVIRON, MAX_ERROR_MSG, MAX_SHORT_STR,
};
use super::messages::{Message, ResponseFile};
use super::wire::{self, put_str, put_u8, put_u16, put_u32, put_u64};

/// The 8-byte header of a BODY or RESPONSE_BODY frame carrying `len` bytes, for writing
/// header and data with one vectored write (no copy of the data).
pub fn data_header(frame_type: FrameType, len: usize, flush: bool) -> Result<[u8; HEADER_LEN]> {
    if !frame_type.is_data() {
        return Err(ProtoError::Misuse(
            "data_header is only for BODY and RESPONSE_BODY",
        ));
    }
    let flags = if flush { super::frame::FLAG_FLUSH } else { 0 };
    Ok(FrameHeader::new(frame_type, len, flags)?.to_bytes())
}

impl Message<'_> {
    /// Append this message as one complete frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_LEN]);
        let r = self.put_payload(out).and_then(|()| {
            let h = FrameHeader::new(
                self.frame_type(),
                out.len() - start - HEADER_LEN,
                self.flags(),
            )?;
            out[start..start + HEADER_LEN].copy_from_slice(&h.to_bytes());
            Ok(())
        });
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// This message as a new frame buffer.
    pub fn to_frame(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload_len_hint());
        self.encode(&mut out)?;
        Ok(out)
    }

    fn payload_len_hint(&self) -> usize {
        match self {
            Message::Environ(p) => p.encoded_len(),
            Message::Body(d) | Message::ResponseBody { data: d, .. } => d.len(),
            Message::ResponseHead(h) => 10 + h.reason.len() + h.headers.encoded_len(),
            _ => 64,
        }
    }

    fn put_payload(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Message::Hello(h) => {
                out.extend_from_slice(&MAGIC);
                put_u16(out, h.version);
                put_u16(out, 0);
                put_u32(out, h.caps.0);
                out.extend_from_slice(h.token);
                put_u64(out, h.queue_start_us);
                put_str(out, h.request_id, MAX_SHORT_STR, "HELLO request_id")?;
                put_str(out, h.process_group, MAX_SHORT_STR, "HELLO process_group")?;
                put_str(
                    out,
                    h.application_group,
                    MAX_SHORT_STR,
                    "HELLO application_group",
                )?;
            }
            Message::Accept(a) => {
                put_u16(out, a.version);
                put_u16(out, 0);
                put_u32(out, a.caps.0);
                put_u32(out, a.daemon_pid);
                put_u32(out, a.worker_id);
            }
            Message::Reject(r) => {
                put_u16(out, r.reason.code());
                put_str(out, r.message, MAX_SHORT_STR, "REJECT message")?;
            }
            Message::Environ(pairs) => pairs.put(out),
            Message::BodyCredit(n) => {
                if *n == 0 {
                    return Err(ProtoError::InvalidValue {
                        field: "BODY_CREDIT bytes",
                        value: 0,
                    });
                }
                put_u32(out, *n);
            }
            Message::Body(data) | Message::ResponseBody { data, .. } => out.extend_from_slice(data),
            Message::BodyEnd(e) => {
                put_u8(out, e.status.code());
                e.trailers.put(out);
            }
            Message::ResponseHead(h) => {
                check_status(h.status)?;
                put_u16(out, h.status);
                put_str(out, h.reason, MAX_SHORT_STR, "RESPONSE_HEAD reason")?;
                h.headers.put(out);
            }
            Message::ResponseFile(f) => {
                check_file_range(f)?;
                put_u64(out, f.offset);
                put_u64(out, f.length);
            }
            Message::ResponseEnd(e) => {
                put_u64(out, e.timings.app_us);
                put_u64(out, e.timings.cpu_us);
                put_u64(out, e.timings.queue_us);
                e.trailers.put(out);
            }
            Message::Error(e) => {
                put_u16(out, e.kind.code());
                put_str(out, e.message, MAX_ERROR_MSG, "ERROR message")?;
            }
            Message::Cancel(c) => put_u8(out, c.code()),
        }
        Ok(())
    }
}

/// RESPONSE_HEAD status must be a three-digit code.
pub(super) fn check_status(status: u16) -> Result<()> {
    if (100..=999).contains(&status) {
        Ok(())
    } else {
        Err(ProtoError::InvalidValue {
            field: "RESPONSE_HEAD status",
            value: status.into(),
        })
    }
}

/// RESPONSE_FILE must send at least one byte and the range must not overflow.
pub(super) fn check_file_range(f: &ResponseFile) -> Result<()> {
    if f.length == 0 {
        return Err(ProtoError::InvalidValue {
            field: "RESPONSE_FILE length",
            value: 0,
        });
    }
    if f.offset.checked_add(f.length).is_none() {
        return Err(ProtoError::InvalidValue {
            field: "RESPONSE_FILE offset+length",
            value: f.offset,
        });
    }
    Ok(())
}

/// Builds a complete ENVIRON frame (header, count, pairs) in a single buffer, so the environ
/// is serialised exactly once and written with no further copy.
///
///
/// Usage: `with_capacity`, then one `push(key, value)` per variable, then `finish()`,
/// which returns the complete frame, ready for a (vectored) write with HELLO.
#[derive(Clone, Debug)]
pub struct EnvironBuilder {
    buf: Vec<u8>,
    count: u32,
}

const ENVIRON_PREFIX: usize = HEADER_LEN + 4;

impl Default for EnvironBuilder {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl EnvironBuilder {
    /// An empty environ; `capacity` is a hint for the payload size.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_buffer(Vec::with_capacity(ENVIRON_PREFIX + capacity))
    }

    /// An empty environ built in `buf` (cleared; its capacity is reused).
    pub fn with_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&[0; ENVIRON_PREFIX]);
        EnvironBuilder { buf, count: 0 }
    }

    /// Append one variable. Checks the key, value, pair-count and total-size caps; on error
    /// the builder is unchanged.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let l = Limits::PROTOCOL;
        if self.count >= l.max_pairs {
            return Err(ProtoError::TooManyPairs {
                count: self.count.saturating_add(1),
                max: l.max_pairs,
            });
        }
        wire::check_len(key.len(), l.max_key, "environ key")?;
        wire::check_len(value.len(), l.max_value, "environ value")?;
        let new_payload = self.payload_len() + 8 + key.len() + value.len();
        if new_payload > MAX_ENVIRON as usize {
            return Err(ProtoError::FrameTooLarge {
                frame_type: FrameType::Environ,
                len: new_payload as u64,
                max: MAX_ENVIRON,
            });
        }
        put_u32(&mut self.buf, key.len() as u32);
        self.buf.extend_from_slice(key);
        put_u32(&mut self.buf, value.len() as u32);
        self.buf.extend_from_slice(value);
        self.count += 1;
        Ok(())
    }

    /// Number of variables pushed so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Payload bytes so far (count included).
    pub fn payload_len(&self) -> usize {
        self.buf.len() - HEADER_LEN
    }

    /// Patch the header and count and return the finished frame.
    pub fn finish(mut self) -> Vec<u8> {
        // push() kept the payload within MAX_ENVIRON, so the length fits in u32.
        let len = self.payload_len() as u32;
        let h = FrameHeader {
            len,
            frame_type: FrameType::Environ,
            flags: 0,
        };
        self.buf[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        self.buf[HEADER_LEN..ENVIRON_PREFIX].copy_from_slice(&self.count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::decode::decode_frame;
    use crate::proto::frame::{Caps, MAX_DATA, TOKEN_LEN};
    use crate::proto::messages::*;
    use crate::proto::pairs::PairListBuf;

    fn assert_encode_fails(m: Message<'_>) -> ProtoError {
        let mut out = vec![1, 2, 3];
        let e = m.encode(&mut out).unwrap_err();
        assert_eq!(out, [1, 2, 3], "nothing appended on error");
        e
    }

    #[test]
    fn hello_layout() {
        let token = [7u8; TOKEN_LEN];
        let m = Message::Hello(Hello {
            version: 1,
            caps: Caps::FD_PASSING,
            token: &token,
            queue_start_us: 0x0102_0304_0506_0708,
            request_id: b"rid",
            process_group: b"pg",
            application_group: b"",
        });
        let f = m.to_frame().unwrap();
        let payload_len = 4 + 2 + 2 + 4 + 32 + 8 + (4 + 3) + (4 + 2) + 4;
        assert_eq!(f.len(), 8 + payload_len);
        assert_eq!(&f[..8], &[payload_len as u8, 0, 0, 0, 0x01, 0, 0, 0]);
        assert_eq!(&f[8..12], b"WSGP");
        assert_eq!(&f[12..14], &[1, 0]);
        assert_eq!(&f[16..20], &[1, 0, 0, 0]);
        assert_eq!(&f[20..52], &token);
        assert_eq!(&f[52..60], &[8, 7, 6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn environ_builder_equals_message_encoding() {
        let mut b = EnvironBuilder::with_capacity(64);
        let mut p = PairListBuf::new();
        for (k, v) in [
            (&b"REQUEST_METHOD"[..], &b"GET"[..]),
            (b"PATH_INFO", b"/x"),
            (b"HTTP_X", b""),
        ] {
            b.push(k, v).unwrap();
            p.push(k, v).unwrap();
        }
        assert_eq!(b.len(), 3);
        assert!(!b.is_empty());
        let frame = b.finish();
        assert_eq!(frame, Message::Environ(p.as_list()).to_frame().unwrap());
        let (m, used) = decode_frame(&frame, &Limits::default())
            .unwrap()
            .frame()
            .unwrap();
        assert_eq!(used, frame.len());
        assert_eq!(m, Message::Environ(p.as_list()));
        let empty = EnvironBuilder::default().finish();
        assert_eq!(empty, [4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn environ_builder_caps() {
        let mut b = EnvironBuilder::default();
        let big = vec![b'v'; MAX_VALUE_USIZE];
        assert!(b.push(b"k", &vec![0; MAX_VALUE_USIZE + 1]).is_err());
        assert!(b.push(&vec![0; 64 * 1024 + 1], b"").is_err());
        // 15 values of 1 MiB fit in 16 MiB; the 16th does not (plus overheads).
        for _ in 0..15 {
            b.push(b"k", &big).unwrap();
        }
        let before = b.payload_len();
        assert!(matches!(
            b.push(b"k", &big),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert_eq!(b.payload_len(), before, "unchanged on error");
        let mut b = EnvironBuilder::default();
        for _ in 0..crate::proto::frame::MAX_PAIRS {
            b.push(b"", b"").unwrap();
        }
        assert!(matches!(
            b.push(b"", b""),
            Err(ProtoError::TooManyPairs { .. })
        ));
    }

    const MAX_VALUE_USIZE: usize = crate::proto::frame::MAX_VALUE as usize;

    #[test]
    fn encoder_rejects_what_decoder_would() {
        assert!(matches!(
            assert_encode_fails(Message::BodyCredit(0)),
            ProtoError::InvalidValue { .. }
        ));
        assert!(matches!(
            assert_encode_fails(Message::Body(b"")),
            ProtoError::EmptyData(_)
        ));
        let big = vec![0u8; MAX_DATA as usize + 1];
        assert!(matches!(
            assert_encode_fails(Message::Body(&big)),
            ProtoError::FrameTooLarge { .. }
        ));
        assert!(matches!(
            assert_encode_fails(Message::ResponseBody {
                data: b"",
                flush: false
            }),
            ProtoError::EmptyData(_)
        ));
        Message::ResponseBody {
            data: b"",
            flush: true,
        }
        .to_frame()
        .unwrap();
        for status in [0, 99, 1000, u16::MAX] {
            assert_encode_fails(Message::ResponseHead(ResponseHead {
                status,
                reason: b"",
                headers: Default::default(),
            }));
        }
        let long = vec![b'x'; MAX_SHORT_STR as usize + 1];
        assert!(matches!(
            assert_encode_fails(Message::Reject(Reject {
                reason: RejectReason::Auth,
                message: &long
            })),
            ProtoError::StringTooLong { .. }
        ));
        assert_encode_fails(Message::ResponseFile(ResponseFile {
            offset: 0,
            length: 0,
            flush: false,
        }));
        assert_encode_fails(Message::ResponseFile(ResponseFile {
            offset: u64::MAX,
            length: 1,
            flush: false,
        }));
        let huge_err = vec![b'e'; MAX_ERROR_MSG as usize + 1];
        assert_encode_fails(Message::Error(ErrorReport {
            kind: ErrorKind::Internal,
            message: &huge_err,
        }));
        // Trailers larger than MAX_TRAILERS.
        let mut t = PairListBuf::new();
        t.push(b"k", &vec![0; 70 * 1024]).unwrap();
        assert!(matches!(
            assert_encode_fails(Message::BodyEnd(BodyEnd {
                status: BodyStatus::Complete,
                trailers: t.as_list()
            })),
            ProtoError::FrameTooLarge { .. }
        ));
    }

    #[test]
    fn data_header_matches_encoding() {
        let data = vec![9u8; 16 * 1024];
        let h = data_header(FrameType::ResponseBody, data.len(), true).unwrap();
        let mut v = h.to_vec();
        v.extend_from_slice(&data);
        assert_eq!(
            v,
            Message::ResponseBody {
                data: &data,
                flush: true
            }
            .to_frame()
            .unwrap()
        );
        assert!(data_header(FrameType::Environ, 1, false).is_err());
        assert!(data_header(FrameType::Body, 0, false).is_err());
        assert!(data_header(FrameType::Body, 1, true).is_err());
    }
}
