//! The typed WSGP v1 messages, one struct or enum per frame type, and [`Message`], the sum
//! of them all.
//!
//! Messages borrow their strings, pair lists and data from a frame buffer (decoding copies
//! nothing); the same types are used to encode. Code enums (`RejectReason`, `BodyStatus`,
//! `ErrorKind`, `CancelReason`) are strict: an unknown code is a protocol error, because new
//! codes come only with a new protocol version. Pure data, no FFI.

use super::error::{ProtoError, Result};
use super::frame::{Caps, FLAG_FLUSH, FrameType, TOKEN_LEN};
use super::pairs::PairList;

macro_rules! code_enum {
    (
        $(#[$m:meta])* $name:ident : $repr:ty, $field:literal {
            $($(#[$vm:meta])* $v:ident = $c:literal),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr($repr)]
        pub enum $name { $($(#[$vm])* $v = $c),+ }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The wire code.
            pub fn code(self) -> $repr {
                self as $repr
            }

            /// The value for a wire code; an unknown code is [`ProtoError::InvalidValue`].
            pub fn from_code(code: $repr) -> Result<$name> {
                match code {
                    $($c => Ok($name::$v),)+
                    _ => Err(ProtoError::InvalidValue { field: $field, value: code.into() }),
                }
            }
        }
    };
}

code_enum! {
    /// Why the daemon refused a connection (REJECT).
    RejectReason: u16, "REJECT reason" {
        /// The daemon is restarting (e.g. script reload): reconnect, at most `2*processes+1` tries.
        Restarting = 1,
        /// The request waited longer than `queue-timeout`: answer 504.
        QueueTimeout = 2,
        /// The daemon cannot take the request now: answer 503.
        Overloaded = 3,
        /// Token or peer uid check failed, or the request reached the wrong group: answer 500.
        Auth = 4,
        /// The daemon does not speak the HELLO's protocol version: answer 500.
        Version = 5,
    }
}

code_enum! {
    /// How the request body ended (BODY_END).
    BodyStatus: u8, "BODY_END status" {
        /// The whole body was forwarded.
        Complete = 0,
        /// The client went away mid-body: `wsgi.input` raises `OSError`.
        ClientAborted = 1,
        /// `LimitRequestBody` was exceeded: `wsgi.input` raises `OSError`.
        TooLarge = 2,
        /// Reading the client timed out: `wsgi.input` raises `OSError`.
        Timeout = 3,
        /// Any other input-filter failure (e.g. bad chunked encoding).
        ReadError = 4,
    }
}

code_enum! {
    /// What went wrong in the daemon (ERROR).
    ErrorKind: u16, "ERROR kind" {
        /// The application raised (or returned something invalid) before/while responding.
        AppException = 1,
        /// `request-timeout` (or another monitor) fired.
        RequestTimeout = 2,
        /// A bug or resource failure in the daemon itself.
        Internal = 3,
        /// The daemon is shutting down and dropped the request.
        ShuttingDown = 4,
    }
}

code_enum! {
    /// Why the Apache child abandons the request (CANCEL).
    CancelReason: u8, "CANCEL reason" {
        /// The HTTP client disconnected, or writing to it failed.
        ClientGone = 1,
        /// The child gave up waiting (socket-timeout).
        ChildTimeout = 2,
    }
}

impl RejectReason {
    /// The HTTP status the child answers with, or `None` for "reconnect and retry".
    pub fn http_status(self) -> Option<u16> {
        match self {
            RejectReason::Restarting => None,
            RejectReason::QueueTimeout => Some(504),
            RejectReason::Overloaded => Some(503),
            RejectReason::Auth | RejectReason::Version => Some(500),
        }
    }
}

impl ErrorKind {
    /// The HTTP status the child answers with when ERROR arrives before RESPONSE_HEAD.
    /// (After the head the child aborts the connection instead.)
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::AppException | ErrorKind::Internal => 500,
            ErrorKind::RequestTimeout => 504,
            ErrorKind::ShuttingDown => 503,
        }
    }
}

/// HELLO (C→D): the first frame on every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello<'a> {
    /// Protocol version the client speaks ([`super::PROTOCOL_VERSION`]).
    pub version: u16,
    /// Capabilities the client offers.
    pub caps: Caps,
    /// The per-generation secret of the target daemon group.
    pub token: &'a [u8; TOKEN_LEN],
    /// When the child started waiting for a daemon, µs since the Unix epoch
    /// (`queue-timeout` and `mod_wsgi.queue_start`).
    pub queue_start_us: u64,
    /// Apache's request log id (≤ 4 KiB).
    pub request_id: &'a [u8],
    /// The `WSGIProcessGroup` the child believes it is talking to (≤ 4 KiB).
    pub process_group: &'a [u8],
    /// The application group (interpreter) to run in (≤ 4 KiB).
    pub application_group: &'a [u8],
}

/// ACCEPT (D→C): authentication passed, a worker owns the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accept {
    /// Protocol version the daemon will speak (equal to HELLO's).
    pub version: u16,
    /// Capabilities granted: a subset of those offered.
    pub caps: Caps,
    /// Daemon process id (for logs and `mod_wsgi.process_id`-style metrics).
    pub daemon_pid: u32,
    /// Worker thread index inside the daemon.
    pub worker_id: u32,
}

/// REJECT (D→C): the daemon refuses the connection; the stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    pub reason: RejectReason,
    /// Human-readable detail for the error log (≤ 4 KiB; never shown to HTTP clients).
    pub message: &'a [u8],
}

/// BODY_END (C→D): the request body is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyEnd<'a> {
    pub status: BodyStatus,
    /// Request trailers; must be empty unless TRAILERS was negotiated.
    pub trailers: PairList<'a>,
}

/// RESPONSE_HEAD (D→C): status line and headers, in order, duplicates kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// Three-digit status, 100..=999.
    pub status: u16,
    /// The status line after its three digits, as given to `start_response`:
    /// empty (a bare code), or a space and the reason phrase, which may be
    /// empty (≤ 4 KiB).
    pub reason: &'a [u8],
    pub headers: PairList<'a>,
}

/// RESPONSE_FILE (D→C): send `length` bytes from `offset` of the file whose descriptor
/// travels with this frame in `SCM_RIGHTS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseFile {
    pub offset: u64,
    /// At least 1 byte.
    pub length: u64,
    pub flush: bool,
}

/// Per-request timings reported in RESPONSE_END (microseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Wall time spent in the application (call, iteration, close).
    pub app_us: u64,
    /// CPU time of the worker thread for the request.
    pub cpu_us: u64,
    /// Time from `queue_start_us` to the worker picking the request up.
    pub queue_us: u64,
}

/// RESPONSE_END (D→C): the response is complete; the stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseEnd<'a> {
    pub timings: Timings,
    /// Response trailers; must be empty unless TRAILERS was negotiated.
    pub trailers: PairList<'a>,
}

/// ERROR (D→C): the request failed in the daemon; the stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorReport<'a> {
    pub kind: ErrorKind,
    /// Detail for the error log (≤ 32 KiB; never shown to HTTP clients).
    pub message: &'a [u8],
}

/// Any WSGP v1 message, borrowing from the buffer it was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    Hello(Hello<'a>),
    Accept(Accept),
    Reject(Reject<'a>),
    /// ENVIRON (C→D): CGI variables plus `mod_wsgi.*` settings.
    Environ(PairList<'a>),
    /// BODY_CREDIT (D→C): "the app is reading, send up to N more bytes" (N ≥ 1).
    BodyCredit(u32),
    /// BODY (C→D): request body bytes (1..=256 KiB, within credit).
    Body(&'a [u8]),
    BodyEnd(BodyEnd<'a>),
    ResponseHead(ResponseHead<'a>),
    /// RESPONSE_BODY (D→C): response bytes; `flush` = pass a FLUSH bucket after them.
    /// Empty data is legal only with `flush`.
    ResponseBody {
        data: &'a [u8],
        flush: bool,
    },
    ResponseFile(ResponseFile),
    ResponseEnd(ResponseEnd<'a>),
    Error(ErrorReport<'a>),
    Cancel(CancelReason),
}

impl Message<'_> {
    /// The frame type this message travels in.
    pub fn frame_type(&self) -> FrameType {
        match self {
            Message::Hello(_) => FrameType::Hello,
            Message::Accept(_) => FrameType::Accept,
            Message::Reject(_) => FrameType::Reject,
            Message::Environ(_) => FrameType::Environ,
            Message::BodyCredit(_) => FrameType::BodyCredit,
            Message::Body(_) => FrameType::Body,
            Message::BodyEnd(_) => FrameType::BodyEnd,
            Message::ResponseHead(_) => FrameType::ResponseHead,
            Message::ResponseBody { .. } => FrameType::ResponseBody,
            Message::ResponseFile(_) => FrameType::ResponseFile,
            Message::ResponseEnd(_) => FrameType::ResponseEnd,
            Message::Error(_) => FrameType::Error,
            Message::Cancel(_) => FrameType::Cancel,
        }
    }

    /// The header flag bits this message is sent with.
    pub fn flags(&self) -> u8 {
        match self {
            Message::ResponseBody { flush: true, .. }
            | Message::ResponseFile(ResponseFile { flush: true, .. }) => FLAG_FLUSH,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_enums_round_trip_and_reject_unknown() {
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_code(r.code()).unwrap(), *r);
        }
        for s in BodyStatus::ALL {
            assert_eq!(BodyStatus::from_code(s.code()).unwrap(), *s);
        }
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()).unwrap(), *k);
        }
        for c in CancelReason::ALL {
            assert_eq!(CancelReason::from_code(c.code()).unwrap(), *c);
        }
        assert!(matches!(
            RejectReason::from_code(0),
            Err(ProtoError::InvalidValue {
                field: "REJECT reason",
                value: 0
            })
        ));
        assert!(BodyStatus::from_code(5).is_err());
        assert!(ErrorKind::from_code(99).is_err());
        assert!(CancelReason::from_code(0).is_err());
    }

    #[test]
    fn status_mapping() {
        assert_eq!(RejectReason::Restarting.http_status(), None);
        assert_eq!(RejectReason::QueueTimeout.http_status(), Some(504));
        assert_eq!(RejectReason::Overloaded.http_status(), Some(503));
        assert_eq!(RejectReason::Auth.http_status(), Some(500));
        assert_eq!(ErrorKind::RequestTimeout.http_status(), 504);
        assert_eq!(ErrorKind::AppException.http_status(), 500);
        assert_eq!(ErrorKind::ShuttingDown.http_status(), 503);
    }

    #[test]
    fn flags_and_types() {
        let m = Message::ResponseBody {
            data: b"x",
            flush: true,
        };
        assert_eq!(m.flags(), FLAG_FLUSH);
        assert_eq!(m.frame_type(), FrameType::ResponseBody);
        assert_eq!(Message::Body(b"x").flags(), 0);
        let f = Message::ResponseFile(ResponseFile {
            offset: 0,
            length: 1,
            flush: true,
        });
        assert_eq!(f.flags(), FLAG_FLUSH);
    }
}
