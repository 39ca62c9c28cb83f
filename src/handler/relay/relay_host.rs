//! What the relay needs from the request beyond the WSGI core's [`Host`]:
//! the daemon's head sent as received, the client's timeouts, internal
//! redirects and holding response bytes in place until the next pass.
//! [`super::super::host::ApacheHost`] implements it in Apache; the relay's
//! unit tests implement it over a fake.

use crate::wsgi::{Host, HostError};
use std::ffi::CStr;
use std::time::Duration;

/// What the relay needs from the request beyond the WSGI core's [`Host`].
pub trait RelayHost: Host {
    /// Sends a daemon's RESPONSE_HEAD as received (validated by the daemon's
    /// `start_response`), without converting it to `String`s.
    fn send_raw_head<'h>(
        &mut self,
        status: u16,
        reason: &[u8],
        headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    ) -> Result<(), HostError>;
    /// Whether the last failed client write timed out (the client is not
    /// reading), rather than found the client gone.
    fn write_timed_out(&self) -> bool;
    /// Whether the last failed request body read timed out (Apache's
    /// `Timeout` or mod_reqtimeout's `RequestReadTimeout body=`).
    fn read_timed_out(&self) -> bool;
    /// Sets the client connection's socket timeout for the rest of the
    /// response (`response-socket-timeout`); the host puts the previous one
    /// back when it is dropped.
    fn set_client_timeout(&mut self, timeout: Duration);
    /// Internally redirects to the local `location` as a GET without a
    /// body, discarding the unread request body first when `discard_body`.
    fn internal_redirect(&mut self, location: &CStr, discard_body: bool);
    /// Queues `data` as body without passing it downstream or copying it;
    /// `false` if this host cannot (the relay then writes it). The caller
    /// keeps `data` unchanged and in place until the next `write`, `finish`
    /// or `abort`, which pass it.
    fn hold(&mut self, data: &[u8]) -> bool {
        let _ = data;
        false
    }
}
