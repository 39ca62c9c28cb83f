//! Typed errors of the WSGP v1 codec, state machine and transport helpers.
//!
//! Every way a peer can break the protocol has its own variant, so the Apache-child side can
//! map it to an HTTP status and the daemon side can log it precisely. Nothing in `proto`
//! panics on bad input: it returns one of these. Pure data, no GIL, no FFI.

use std::io;

use super::frame::FrameType;
use super::session::Side;

/// Result alias used throughout `proto`.
pub type Result<T, E = ProtoError> = std::result::Result<T, E>;

/// A WSGP protocol or transport error.
///
/// Variants other than [`ProtoError::Io`] mean the peer (or our own caller, for errors
/// returned by encoders and by [`super::Session::send`]) broke the protocol: log it and
/// close the connection. None of them is retryable on the same connection.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The frame header names a type this version does not define.
    #[error("unknown frame type 0x{0:02x}")]
    UnknownFrameType(u8),

    /// The header's reserved 16-bit field is not zero.
    #[error("{frame_type} frame has non-zero reserved header field 0x{value:04x}")]
    ReservedField { frame_type: FrameType, value: u16 },

    /// A flag bit that is reserved for this frame type is set.
    #[error("{frame_type} frame has reserved flag bits set (flags 0x{flags:02x})")]
    ReservedFlags { frame_type: FrameType, flags: u8 },

    /// The payload length in the header exceeds the cap for this frame type.
    #[error("{frame_type} frame payload of {len} bytes exceeds the cap of {max}")]
    FrameTooLarge {
        frame_type: FrameType,
        len: u64,
        max: u32,
    },

    /// The payload ended before a field could be read.
    #[error("{frame_type} frame truncated while reading {field}")]
    Truncated {
        frame_type: FrameType,
        field: &'static str,
    },

    /// Bytes were left inside the frame after its last field.
    #[error("{frame_type} frame has {extra} trailing bytes")]
    TrailingBytes { frame_type: FrameType, extra: usize },

    /// A string is longer than its cap.
    #[error("{field} of {len} bytes exceeds the cap of {max}")]
    StringTooLong {
        field: &'static str,
        len: u64,
        max: u32,
    },

    /// A pair list announces more pairs than allowed (or than its bytes could hold).
    #[error("pair list of {count} pairs exceeds the cap of {max}")]
    TooManyPairs { count: u32, max: u32 },

    /// A field holds a value outside its domain (unknown enum code, status out of range…).
    #[error("invalid {field}: {value}")]
    InvalidValue { field: &'static str, value: u64 },

    /// A data frame that must carry bytes is empty (BODY, or RESPONSE_BODY without FLUSH).
    #[error("empty {0} frame")]
    EmptyData(FrameType),

    /// HELLO does not start with the `WSGP` magic: the peer does not speak this protocol.
    #[error("bad magic: peer does not speak WSGP")]
    BadMagic,

    /// HELLO or ACCEPT carries a protocol version this build does not speak.
    #[error("unsupported WSGP version {0}")]
    UnsupportedVersion(u16),

    /// A frame was sent or received in a state where it is not allowed.
    #[error("{side:?} side: {frame_type} not allowed {state}")]
    UnexpectedFrame {
        side: Side,
        frame_type: FrameType,
        state: &'static str,
    },

    /// A BODY frame carries more bytes than the outstanding credit.
    #[error("BODY of {len} bytes exceeds outstanding credit of {credit}")]
    CreditExceeded { len: u32, credit: u64 },

    /// The outstanding credit would exceed the protocol's ceiling.
    #[error("outstanding body credit would exceed {max} bytes")]
    CreditOverflow { max: u64 },

    /// A frame needs a capability that was not negotiated in HELLO/ACCEPT.
    #[error("{frame_type} needs capability {cap} which was not negotiated")]
    CapabilityNotNegotiated {
        frame_type: FrameType,
        cap: &'static str,
    },

    /// ACCEPT grants capabilities the client did not offer, or a version it did not ask for.
    #[error("ACCEPT does not match HELLO: {0}")]
    AcceptMismatch(&'static str),

    /// A RESPONSE_FILE frame arrived without a file descriptor.
    #[error("RESPONSE_FILE frame arrived without a file descriptor")]
    MissingFd,

    /// A file descriptor arrived that no RESPONSE_FILE frame claims.
    #[error("unexpected file descriptor from peer")]
    UnexpectedFd,

    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed inside a frame ({got} of {needed} bytes)")]
    UnexpectedEof { needed: usize, got: usize },

    /// A reader was used after it reported an error.
    #[error("frame reader used after a previous error")]
    Poisoned,

    /// A reader method was called out of order (e.g. a new header while payload is pending).
    #[error("reader misuse: {0}")]
    Misuse(&'static str),

    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl ProtoError {
    /// True for transport failures, false for protocol violations.
    pub fn is_io(&self) -> bool {
        matches!(self, ProtoError::Io(_))
    }
}
