//! Connection authentication for the daemon side: the per-generation secret token
//! (generated in the Apache parent, compared in constant time) and the `SO_PEERCRED` uid
//! check, plus [`authenticate`], which combines them with the HELLO fields into the REJECT
//! reason to send.
//!
//! Called by the daemon's connection handler before it reads ENVIRON or runs anything, and
//! by the parent to draw the secret (no threads, no locks: safe before fork). The token
//! compare uses `subtle`; the uid lookup is `getsockopt(SO_PEERCRED)` through `nix`.
//! No GIL involved.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;

use subtle::ConstantTimeEq;

use super::frame::{PROTOCOL_VERSION, TOKEN_LEN};
use super::messages::{Hello, RejectReason};

/// A per-generation, per-group secret. `Debug` never prints it; it is wiped on drop.
#[derive(Clone)]
pub struct AuthToken([u8; TOKEN_LEN]);

impl AuthToken {
    /// Wrap existing bytes.
    pub fn from_bytes(bytes: [u8; TOKEN_LEN]) -> AuthToken {
        AuthToken(bytes)
    }

    /// Draw a fresh token from `/dev/urandom` (blocking read, no threads).
    pub fn generate() -> io::Result<AuthToken> {
        let mut bytes = [0u8; TOKEN_LEN];
        File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(AuthToken(bytes))
    }

    /// The bytes, for putting into HELLO.
    pub fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &[u8; TOKEN_LEN]) -> bool {
        self.0.ct_eq(presented).into()
    }

    /// Overwrite the secret with zeros (a daemon wipes the other groups' tokens after fork).
    pub fn wipe(&mut self) {
        self.0 = [0; TOKEN_LEN];
        // Keep the store from being optimised away as dead.
        std::hint::black_box(&mut self.0);
    }
}

impl Drop for AuthToken {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// The uid of the process at the other end of a connected UNIX socket (`SO_PEERCRED`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_uid(sock: &UnixStream) -> io::Result<u32> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let cred = getsockopt(sock, PeerCredentials).map_err(io::Error::from)?;
    Ok(cred.uid())
}

/// Why [`authenticate`] refused a connection (for the daemon's log; the peer only learns
/// the [`RejectReason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("peer uid {0} is not allowed")]
    PeerUid(u32),
    #[error("wrong authentication token")]
    Token,
    #[error("HELLO addressed to another process group")]
    WrongGroup,
    #[error("unsupported protocol version {0}")]
    Version(u16),
}

impl AuthFailure {
    /// The REJECT reason to send.
    pub fn reject_reason(self) -> RejectReason {
        match self {
            AuthFailure::Version(_) => RejectReason::Version,
            _ => RejectReason::Auth,
        }
    }
}

/// Decide whether a connection may proceed: the peer uid must be one of `allowed_uids`
/// (normally just the Apache `User`), the token must match (constant time), and the HELLO
/// must name this daemon's process group. All checks run, in that order, and the first
/// failure is reported.
pub fn authenticate(
    hello: &Hello<'_>,
    expected: &AuthToken,
    process_group: &[u8],
    peer_uid: u32,
    allowed_uids: &[u32],
) -> Result<(), AuthFailure> {
    if hello.version != PROTOCOL_VERSION {
        return Err(AuthFailure::Version(hello.version));
    }
    let uid_ok = allowed_uids.contains(&peer_uid);
    let token_ok = expected.matches(hello.token);
    if !uid_ok {
        return Err(AuthFailure::PeerUid(peer_uid));
    }
    if !token_ok {
        return Err(AuthFailure::Token);
    }
    if hello.process_group != process_group {
        return Err(AuthFailure::WrongGroup);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::frame::Caps;

    fn hello<'a>(token: &'a [u8; TOKEN_LEN], group: &'a [u8]) -> Hello<'a> {
        Hello {
            version: PROTOCOL_VERSION,
            caps: Caps::NONE,
            token,
            queue_start_us: 0,
            request_id: b"",
            process_group: group,
            application_group: b"",
        }
    }

    #[test]
    fn token_compare() {
        let t = AuthToken::generate().unwrap();
        let same = *t.as_bytes();
        assert!(t.matches(&same));
        let mut other = same;
        other[31] ^= 1;
        assert!(!t.matches(&other));
        let u = AuthToken::generate().unwrap();
        assert_ne!(t.as_bytes(), u.as_bytes(), "two draws differ");
        assert_eq!(format!("{t:?}"), "AuthToken(<redacted>)");
        let mut w = AuthToken::from_bytes([5; TOKEN_LEN]);
        w.wipe();
        assert_eq!(w.as_bytes(), &[0; TOKEN_LEN]);
    }

    #[test]
    fn authenticate_checks_in_order() {
        let t = AuthToken::from_bytes([1; TOKEN_LEN]);
        let good = [1u8; TOKEN_LEN];
        let bad = [2u8; TOKEN_LEN];
        assert_eq!(
            authenticate(&hello(&good, b"g"), &t, b"g", 33, &[33]),
            Ok(())
        );
        assert_eq!(
            authenticate(&hello(&good, b"g"), &t, b"g", 0, &[33]),
            Err(AuthFailure::PeerUid(0))
        );
        assert_eq!(
            authenticate(&hello(&bad, b"g"), &t, b"g", 33, &[33]),
            Err(AuthFailure::Token)
        );
        assert_eq!(
            authenticate(&hello(&good, b"h"), &t, b"g", 33, &[33]),
            Err(AuthFailure::WrongGroup)
        );
        let mut h = hello(&good, b"g");
        h.version = 2;
        let e = authenticate(&h, &t, b"g", 33, &[33]).unwrap_err();
        assert_eq!(e.reject_reason(), RejectReason::Version);
        assert_eq!(AuthFailure::Token.reject_reason(), RejectReason::Auth);
    }

    #[test]
    fn peer_uid_of_socketpair_is_ours() {
        let (a, _b) = UnixStream::pair().unwrap();
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
        assert_eq!(peer_uid(&a).unwrap(), me);
    }
}
