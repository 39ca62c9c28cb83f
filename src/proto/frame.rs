//! The WSGP v1 frame: the 8-byte header, frame types, flags, capabilities and every cap.
//!
//! This file owns the numbers that appear on the wire and the limits a decoder enforces
//! before it allocates or reads a payload. Encoders and decoders (`encode.rs`, `decode.rs`)
//! and the state machine (`session.rs`) take their constants from here. Pure data, no FFI.

use std::fmt;

use super::error::{ProtoError, Result};

/// The protocol version this build speaks (carried in HELLO and ACCEPT).
pub const PROTOCOL_VERSION: u16 = 1;

/// First four bytes of every HELLO payload; lets a daemon reject a non-WSGP peer at once.
pub const MAGIC: [u8; 4] = *b"WSGP";

/// Length of the frame header in bytes.
pub const HEADER_LEN: usize = 8;

/// Length of the per-generation authentication token carried in HELLO.
pub const TOKEN_LEN: usize = 32;

/// FLUSH flag (bit 0): "the application yielded, pass a FLUSH bucket now".
/// Allowed on RESPONSE_BODY and RESPONSE_FILE only.
pub const FLAG_FLUSH: u8 = 0x01;

/// Cap on a BODY or RESPONSE_BODY payload (protocol constant: senders split larger data).
pub const MAX_DATA: u32 = 256 * 1024;
/// Ceiling for an ENVIRON payload (mod_wsgi's `WSGI_MAX_REQUEST_FRAME`).
pub const MAX_ENVIRON: u32 = 16 * 1024 * 1024;
/// Ceiling for a RESPONSE_HEAD payload.
pub const MAX_HEAD: u32 = 16 * 1024 * 1024;
/// Ceiling for the number of pairs in one pair list.
pub const MAX_PAIRS: u32 = 16 * 1024;
/// Ceiling for a key (environ variable or header name).
pub const MAX_KEY: u32 = 64 * 1024;
/// Ceiling for a value (environ value or header value).
pub const MAX_VALUE: u32 = 1024 * 1024;
/// Cap for short strings: HELLO names, reason phrase, REJECT message.
pub const MAX_SHORT_STR: u32 = 4 * 1024;
/// Cap for the ERROR message string.
pub const MAX_ERROR_MSG: u32 = 32 * 1024;
/// Cap for a trailer list (BODY_END, RESPONSE_END), in bytes of the encoded list.
pub const MAX_TRAILERS: u32 = 64 * 1024;
/// Ceiling for the outstanding request-body credit (sum of grants minus BODY bytes).
pub const MAX_OUTSTANDING_CREDIT: u64 = u32::MAX as u64;

/// Fixed part of HELLO: magic, version, reserved, caps, token, queue_start_us.
pub(super) const HELLO_FIXED: u32 = 4 + 2 + 2 + 4 + TOKEN_LEN as u32 + 8;
/// HELLO payload cap: the fixed part plus three short strings with their length prefixes.
pub const MAX_HELLO: u32 = HELLO_FIXED + 3 * (4 + MAX_SHORT_STR);
/// REJECT payload cap.
pub const MAX_REJECT: u32 = 2 + 4 + MAX_SHORT_STR;
/// ERROR payload cap.
pub const MAX_ERROR: u32 = 2 + 4 + MAX_ERROR_MSG;
/// BODY_END payload cap.
pub const MAX_BODY_END: u32 = 1 + MAX_TRAILERS;
/// RESPONSE_END payload cap.
pub const MAX_RESPONSE_END: u32 = 24 + MAX_TRAILERS;
/// ACCEPT payload size (fixed).
pub const ACCEPT_LEN: u32 = 16;
/// BODY_CREDIT payload size (fixed).
pub const BODY_CREDIT_LEN: u32 = 4;
/// RESPONSE_FILE payload size (fixed).
pub const RESPONSE_FILE_LEN: u32 = 16;
/// CANCEL payload size (fixed).
pub const CANCEL_LEN: u32 = 1;

/// Which way a frame travels. The type byte's high bit encodes it: `0x80` = daemon → client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apache child → daemon (type bytes `0x01..=0x7f`).
    ToDaemon,
    /// Daemon → Apache child (type bytes `0x80..=0xff`).
    ToClient,
}

/// Every frame type of WSGP v1. `0x87` is reserved (never assigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    Hello = 0x01,
    Environ = 0x02,
    Body = 0x03,
    BodyEnd = 0x04,
    Cancel = 0x05,
    Accept = 0x81,
    Reject = 0x82,
    BodyCredit = 0x83,
    ResponseHead = 0x84,
    ResponseBody = 0x85,
    ResponseFile = 0x86,
    ResponseEnd = 0x88,
    Error = 0x89,
}

impl FrameType {
    /// All frame types, in wire-code order.
    pub const ALL: [FrameType; 13] = [
        FrameType::Hello,
        FrameType::Environ,
        FrameType::Body,
        FrameType::BodyEnd,
        FrameType::Cancel,
        FrameType::Accept,
        FrameType::Reject,
        FrameType::BodyCredit,
        FrameType::ResponseHead,
        FrameType::ResponseBody,
        FrameType::ResponseFile,
        FrameType::ResponseEnd,
        FrameType::Error,
    ];

    /// The type for a wire code, or `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<FrameType> {
        Self::ALL.iter().copied().find(|t| *t as u8 == code)
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Which way this frame type travels.
    pub fn direction(self) -> Direction {
        if self.code() & 0x80 == 0 {
            Direction::ToDaemon
        } else {
            Direction::ToClient
        }
    }

    /// The protocol name (`"RESPONSE_BODY"` …).
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Hello => "HELLO",
            FrameType::Environ => "ENVIRON",
            FrameType::Body => "BODY",
            FrameType::BodyEnd => "BODY_END",
            FrameType::Cancel => "CANCEL",
            FrameType::Accept => "ACCEPT",
            FrameType::Reject => "REJECT",
            FrameType::BodyCredit => "BODY_CREDIT",
            FrameType::ResponseHead => "RESPONSE_HEAD",
            FrameType::ResponseBody => "RESPONSE_BODY",
            FrameType::ResponseFile => "RESPONSE_FILE",
            FrameType::ResponseEnd => "RESPONSE_END",
            FrameType::Error => "ERROR",
        }
    }

    /// Flag bits that may be set on this type; every other bit is reserved and must be 0.
    pub fn allowed_flags(self) -> u8 {
        match self {
            FrameType::ResponseBody | FrameType::ResponseFile => FLAG_FLUSH,
            _ => 0,
        }
    }

    /// True for frames whose payload is opaque data (BODY, RESPONSE_BODY), which a reader
    /// may stream straight into a caller's buffer.
    pub fn is_data(self) -> bool {
        matches!(self, FrameType::Body | FrameType::ResponseBody)
    }

    /// Smallest legal payload length for this type.
    pub fn min_payload(self) -> u32 {
        match self {
            // Only magic + version + reserved: a HELLO of another version must still reach the
            // version check (see decode.rs), whatever its length.
            FrameType::Hello => 8,
            FrameType::Environ => 4,
            FrameType::Body => 1,
            FrameType::BodyEnd => 1 + 4,
            FrameType::Cancel => CANCEL_LEN,
            FrameType::Accept => ACCEPT_LEN,
            FrameType::Reject => 2 + 4,
            FrameType::BodyCredit => BODY_CREDIT_LEN,
            FrameType::ResponseHead => 2 + 4 + 4,
            FrameType::ResponseBody => 0,
            FrameType::ResponseFile => RESPONSE_FILE_LEN,
            FrameType::ResponseEnd => 24 + 4,
            FrameType::Error => 2 + 4,
        }
    }

    /// Largest legal payload length for this type under `limits`.
    pub fn max_payload(self, limits: &Limits) -> u32 {
        match self {
            FrameType::Hello => MAX_HELLO,
            FrameType::Environ => limits.max_environ.min(MAX_ENVIRON),
            FrameType::Body | FrameType::ResponseBody => MAX_DATA,
            FrameType::BodyEnd => MAX_BODY_END,
            FrameType::Cancel => CANCEL_LEN,
            FrameType::Accept => ACCEPT_LEN,
            FrameType::Reject => MAX_REJECT,
            FrameType::BodyCredit => BODY_CREDIT_LEN,
            FrameType::ResponseHead => limits.max_head.min(MAX_HEAD),
            FrameType::ResponseFile => RESPONSE_FILE_LEN,
            FrameType::ResponseEnd => MAX_RESPONSE_END,
            FrameType::Error => MAX_ERROR,
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Receiver-side policy caps. Each is clamped to the protocol ceiling of the same name in
/// this file, so a peer can never be asked to accept more than the protocol allows; a side
/// may lower them (e.g. the child lowers `max_head` from `header-buffer-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest ENVIRON payload accepted (default [`MAX_ENVIRON`]).
    pub max_environ: u32,
    /// Largest RESPONSE_HEAD payload accepted (default [`MAX_HEAD`]).
    pub max_head: u32,
    /// Most pairs in one pair list (default [`MAX_PAIRS`]).
    pub max_pairs: u32,
    /// Longest key (default [`MAX_KEY`]).
    pub max_key: u32,
    /// Longest value (default [`MAX_VALUE`]).
    pub max_value: u32,
}

impl Limits {
    /// The protocol ceilings: what every encoder in this module checks against.
    pub const PROTOCOL: Limits = Limits {
        max_environ: MAX_ENVIRON,
        max_head: MAX_HEAD,
        max_pairs: MAX_PAIRS,
        max_key: MAX_KEY,
        max_value: MAX_VALUE,
    };

    /// These limits with each field clamped to its protocol ceiling.
    pub fn clamped(self) -> Limits {
        Limits {
            max_environ: self.max_environ.min(MAX_ENVIRON),
            max_head: self.max_head.min(MAX_HEAD),
            max_pairs: self.max_pairs.min(MAX_PAIRS),
            max_key: self.max_key.min(MAX_KEY),
            max_value: self.max_value.min(MAX_VALUE),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::PROTOCOL
    }
}

/// Capability bits offered in HELLO and granted (a subset) in ACCEPT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Caps(pub u32);

impl Caps {
    /// No capabilities.
    pub const NONE: Caps = Caps(0);
    /// RESPONSE_FILE frames with a file descriptor in `SCM_RIGHTS`.
    pub const FD_PASSING: Caps = Caps(1 << 0);
    /// Non-empty trailer lists in BODY_END and RESPONSE_END.
    pub const TRAILERS: Caps = Caps(1 << 1);
    /// Every capability this version defines.
    pub const KNOWN: Caps = Caps(Self::FD_PASSING.0 | Self::TRAILERS.0);

    /// True if every bit of `other` is set in `self`.
    pub fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits set in both.
    pub fn intersect(self, other: Caps) -> Caps {
        Caps(self.0 & other.0)
    }

    /// Bits set in either.
    pub fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }
}

/// A decoded, validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length in bytes (already checked against the type's cap).
    pub len: u32,
    /// Frame type.
    pub frame_type: FrameType,
    /// Flag bits (already checked against the type's allowed flags).
    pub flags: u8,
}

impl FrameHeader {
    /// Build a header for encoding; checks `len` against the protocol ceiling and `flags`
    /// against the type's allowed flags.
    pub fn new(frame_type: FrameType, len: usize, flags: u8) -> Result<FrameHeader> {
        let h = FrameHeader {
            len: u32::try_from(len).map_err(|_| ProtoError::FrameTooLarge {
                frame_type,
                len: len as u64,
                max: frame_type.max_payload(&Limits::PROTOCOL),
            })?,
            frame_type,
            flags,
        };
        h.validate(&Limits::PROTOCOL)?;
        Ok(h)
    }

    /// The 8 header bytes: `u32 len`, `u8 type`, `u8 flags`, `u16 reserved = 0`, all LE.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let l = self.len.to_le_bytes();
        [
            l[0],
            l[1],
            l[2],
            l[3],
            self.frame_type.code(),
            self.flags,
            0,
            0,
        ]
    }

    /// Parse and validate header bytes. The payload length is checked against the type's
    /// cap here, before anyone reads or allocates the payload.
    pub fn parse(bytes: &[u8; HEADER_LEN], limits: &Limits) -> Result<FrameHeader> {
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let frame_type =
            FrameType::from_code(bytes[4]).ok_or(ProtoError::UnknownFrameType(bytes[4]))?;
        let reserved = u16::from_le_bytes([bytes[6], bytes[7]]);
        if reserved != 0 {
            return Err(ProtoError::ReservedField {
                frame_type,
                value: reserved,
            });
        }
        let h = FrameHeader {
            len,
            frame_type,
            flags: bytes[5],
        };
        h.validate(limits)?;
        Ok(h)
    }

    fn validate(&self, limits: &Limits) -> Result<()> {
        let t = self.frame_type;
        if self.flags & !t.allowed_flags() != 0 {
            return Err(ProtoError::ReservedFlags {
                frame_type: t,
                flags: self.flags,
            });
        }
        let max = t.max_payload(limits);
        if self.len > max {
            return Err(ProtoError::FrameTooLarge {
                frame_type: t,
                len: self.len.into(),
                max,
            });
        }
        if t == FrameType::Body && self.len == 0 {
            return Err(ProtoError::EmptyData(t));
        }
        if t == FrameType::ResponseBody && self.len == 0 && self.flags & FLAG_FLUSH == 0 {
            return Err(ProtoError::EmptyData(t));
        }
        if self.len < t.min_payload() {
            return Err(ProtoError::Truncated {
                frame_type: t,
                field: "payload (shorter than the type's minimum)",
            });
        }
        Ok(())
    }

    /// True if the FLUSH flag is set.
    pub fn flush(&self) -> bool {
        self.flags & FLAG_FLUSH != 0
    }

    /// Header plus payload length.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.len as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u32, ty: u8, flags: u8, reserved: u16) -> [u8; 8] {
        let l = len.to_le_bytes();
        let r = reserved.to_le_bytes();
        [l[0], l[1], l[2], l[3], ty, flags, r[0], r[1]]
    }

    #[test]
    fn codes_round_trip_and_directions() {
        for t in FrameType::ALL {
            assert_eq!(FrameType::from_code(t.code()), Some(t));
            let expect = if t.code() < 0x80 {
                Direction::ToDaemon
            } else {
                Direction::ToClient
            };
            assert_eq!(t.direction(), expect);
        }
        assert_eq!(FrameType::from_code(0x87), None);
        assert_eq!(FrameType::from_code(0x00), None);
    }

    #[test]
    fn header_round_trip() {
        let h = FrameHeader::new(FrameType::ResponseBody, 1234, FLAG_FLUSH).unwrap();
        assert_eq!(h.to_bytes(), hdr(1234, 0x85, 1, 0));
        assert_eq!(
            FrameHeader::parse(&h.to_bytes(), &Limits::default()).unwrap(),
            h
        );
        assert!(h.flush());
        assert_eq!(h.frame_len(), 1242);
    }

    #[test]
    fn header_errors() {
        let l = Limits::default();
        assert!(matches!(
            FrameHeader::parse(&hdr(4, 0x42, 0, 0), &l),
            Err(ProtoError::UnknownFrameType(0x42))
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(4, 0x83, 0, 1), &l),
            Err(ProtoError::ReservedField { value: 1, .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(4, 0x83, 1, 0), &l),
            Err(ProtoError::ReservedFlags { flags: 1, .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(10, 0x85, 0x02, 0), &l),
            Err(ProtoError::ReservedFlags { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(MAX_DATA + 1, 0x03, 0, 0), &l),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(u32::MAX, 0x02, 0, 0), &l),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(5, 0x83, 0, 0), &l),
            Err(ProtoError::FrameTooLarge { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(3, 0x83, 0, 0), &l),
            Err(ProtoError::Truncated { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(0, 0x03, 0, 0), &l),
            Err(ProtoError::EmptyData(FrameType::Body))
        ));
        assert!(matches!(
            FrameHeader::parse(&hdr(0, 0x85, 0, 0), &l),
            Err(ProtoError::EmptyData(FrameType::ResponseBody))
        ));
        assert!(FrameHeader::parse(&hdr(0, 0x85, FLAG_FLUSH, 0), &l).is_ok());
    }

    #[test]
    fn lowered_limits_apply_to_head_frames() {
        let l = Limits {
            max_head: 100,
            ..Limits::default()
        };
        assert!(FrameHeader::parse(&hdr(100, 0x84, 0, 0), &l).is_ok());
        assert!(matches!(
            FrameHeader::parse(&hdr(101, 0x84, 0, 0), &l),
            Err(ProtoError::FrameTooLarge { max: 100, .. })
        ));
        let huge = Limits {
            max_environ: u32::MAX,
            ..Limits::default()
        };
        assert_eq!(huge.clamped().max_environ, MAX_ENVIRON);
        assert_eq!(FrameType::Environ.max_payload(&huge), MAX_ENVIRON);
    }

    #[test]
    fn encoder_header_checks() {
        assert!(FrameHeader::new(FrameType::Body, MAX_DATA as usize + 1, 0).is_err());
        assert!(FrameHeader::new(FrameType::Body, usize::MAX, 0).is_err());
        assert!(FrameHeader::new(FrameType::Body, 10, FLAG_FLUSH).is_err());
    }

    #[test]
    fn caps() {
        let c = Caps::FD_PASSING.union(Caps::TRAILERS);
        assert_eq!(c, Caps::KNOWN);
        assert!(c.contains(Caps::TRAILERS));
        assert!(!Caps::TRAILERS.contains(c));
        assert_eq!(Caps(0xff).intersect(Caps::KNOWN), Caps::KNOWN);
    }
}
