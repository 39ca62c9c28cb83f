//! The client connection's socket timeout, changed for the length of a
//! daemon-mode response (`response-socket-timeout`, as mod_wsgi) by the
//! relay's host on the request thread, and put back when the guard drops.

use super::request::Request;
use super::sys;
use std::marker::PhantomData;
use std::time::Duration;

/// Restores the connection's previous socket timeout when dropped, so a
/// kept-alive connection's next request has its old timeout.
pub struct ClientSocketTimeout<'r> {
    sock: *mut sys::apr_socket_t,
    previous: sys::apr_interval_time_t,
    _life: PhantomData<&'r sys::conn_rec>,
}

impl<'r> ClientSocketTimeout<'r> {
    /// Sets the socket timeout of `r`'s connection; None when the
    /// connection has no socket of the core (or its timeout is unknown).
    pub fn set(r: &Request<'r>, timeout: Duration) -> Option<ClientSocketTimeout<'r>> {
        let micros = i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX);
        // SAFETY: live request and connection; the core's socket of the
        // connection (or NULL) lives as long as the connection ('r).
        unsafe {
            let sock = sys::ap_get_conn_socket((*r.as_ptr()).connection);
            if sock.is_null() {
                return None;
            }
            let mut previous: sys::apr_interval_time_t = 0;
            if sys::apr_socket_timeout_get(sock, &mut previous) != 0 {
                return None;
            }
            sys::apr_socket_timeout_set(sock, micros);
            Some(ClientSocketTimeout {
                sock,
                previous,
                _life: PhantomData,
            })
        }
    }
}

impl Drop for ClientSocketTimeout<'_> {
    fn drop(&mut self) {
        // SAFETY: the connection, and so its socket, lives for 'r.
        unsafe { sys::apr_socket_timeout_set(self.sock, self.previous) };
    }
}
