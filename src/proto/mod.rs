//! WSGP v1, the wire protocol between an Apache child and a mod_wsgi daemon process:
//! versioned, length-prefixed binary frames over a UNIX stream socket, with credit-based
//! request-body flow (so `Expect: 100-continue` is answered only when the app reads), an
//! explicit end of response, typed errors and cancellation, and optional file-descriptor
//! passing for `wsgi.file_wrapper`. The full specification is `docs/daemon-protocol.md`.
//!
//! This module owns the codec and nothing else: frame layout and caps (`frame`), field
//! primitives (`wire`), pair lists (`pairs`), typed messages (`messages`), encoding
//! (`encode`), decoding (`decode`), the legality state machine (`session`), token and
//! peer-uid authentication (`auth`), blocking and incremental frame I/O (`io`) and
//! `SCM_RIGHTS` passing (`fdpass`). It depends on nothing else in the crate, has no FFI to
//! Apache or Python, never holds or needs the GIL, and never panics on peer input.
//! Callers: `handler::relay` (Apache child side) and `daemon::server` (daemon side).
//! The only `unsafe` outside the unit tests is one block in `fdpass` (adopting received
//! descriptors); a test in `tests/batching.rs` reads through a pointer to check that a
//! pinned buffer kept its bytes in place.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod auth;
pub mod decode;
pub mod encode;
pub mod error;
pub mod fdpass;
pub mod frame;
pub mod io;
pub mod messages;
pub mod pairs;
pub mod session;
mod wire;

#[cfg(test)]
mod tests;

pub use auth::{AuthFailure, AuthToken, authenticate, peer_uid};
pub use decode::{Decoded, decode_frame, decode_payload, peek_header};
pub use encode::{EnvironBuilder, data_header};
pub use error::{ProtoError, Result};
pub use fdpass::{FdFrameReader, FdReceiver, send_frame_with_fd, send_response_file};
pub use frame::{
    Caps, Direction, FLAG_FLUSH, FrameHeader, FrameType, HEADER_LEN, Limits, MAGIC,
    PROTOCOL_VERSION, TOKEN_LEN,
};
pub use io::{FrameBuffer, FrameReader, write_all_vectored, write_message};
pub use messages::{
    Accept, BodyEnd, BodyStatus, CancelReason, ErrorKind, ErrorReport, Hello, Message, Reject,
    RejectReason, ResponseEnd, ResponseFile, ResponseHead, Timings,
};
pub use pairs::{PairIter, PairList, PairListBuf};
pub use session::{Downstream, Session, Side, Upstream};

/// The ENVIRON pair by which the Apache child tells the daemon that Apache
/// will send no response body (`r->header_only`, a HEAD request, also when
/// `WSGIMapHEADToGET` shows the application a GET). The daemon removes it
/// before the application sees the environ; its value is `1`.
pub const HEADER_ONLY_KEY: &str = "mod_wsgi-rs.header_only";

/// Private ENVIRON pair: the request is under `WSGIIgnoreActivity On`, so
/// it does not reset the daemon's inactivity-timeout. The daemon removes it
/// before the application sees the environ; its value is `1`.
pub const IGNORE_ACTIVITY_KEY: &str = "mod_wsgi-rs.ignore_activity";
