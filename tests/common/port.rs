//! Loopback ports for test servers, from bind-to-0 and kept reserved.
//!
//! A port that is merely "free a moment ago" can be handed to another test's
//! client socket as its ephemeral port before Apache binds it (AH00072
//! "Address already in use"). So the socket that found the port stays bound,
//! with SO_REUSEADDR and never listening, for the rest of the test process:
//! the kernel then skips the port when it picks ephemeral ports for
//! `connect()`, and Apache (which also sets SO_REUSEADDR) can still bind and
//! listen on it, since Linux only refuses a SO_REUSEADDR bind next to a
//! listening socket. Part of the test harness in `tests/common/`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use socket2::{Domain, Socket, Type};

/// Reservations, held until the test process exits.
static HELD: Mutex<Vec<Socket>> = Mutex::new(Vec::new());

/// A loopback port from bind-to-0 that no client socket will be given.
pub fn free_port() -> u16 {
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket(AF_INET)");
    sock.set_reuse_address(true).expect("SO_REUSEADDR");
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    sock.bind(&any.into()).expect("bind 127.0.0.1:0");
    let port = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .expect("getsockname")
        .port();
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push(sock);
    port
}
