//! The Apache-child side of daemon mode, run by the `wsgi-script` handler
//! when the request's process group is not empty: find the group in this
//! generation's registry (unknown → 500), connect with mod_wsgi's retry and
//! back-off up to connect-timeout (→ 503), send HELLO + ENVIRON, then relay:
//! body bytes only against BODY_CREDIT (so `100 Continue` goes out only when
//! the application reads), RESPONSE_HEAD/BODY through the embedded
//! [`ApacheHost`], until RESPONSE_END. Statuses as mod_wsgi 6: 503 cannot
//! connect, 502 daemon closed before the head, 504 no head in time, 500
//! malformed/oversized head, 408 when reading the request body from the
//! client timed out (WSGIRS0600); after the head a broken stream aborts the
//! client connection. While the response is relayed the client
//! connection's socket timeout is `response-socket-timeout` (as mod_wsgi);
//! a client write that times out cancels the daemon request (WSGIRS0441).
//! A REJECT RESTARTING (a daemon restarting for a changed script, before it
//! read anything) sends the request again, for up to connect-timeout.
//! This file finds the group, encodes the request and connects; the relay
//! itself (`exchange`) is generic over [`RelayHost`] and unit-tested over a
//! socketpair; `pacing` decides when the response is flushed downstream
//! (`response-flush-delay`, `response-buffer-size`). `script_owner` refuses (403) a script whose owner or group
//! does not match `script-user=`/`script-group=`, before connecting.
//! Runs on the request thread; no Python.

mod exchange;
mod frames;
mod in_flight;
mod pacing;
mod relay_host;
mod script_owner;

pub use exchange::RelayHost;

use super::host::ApacheHost;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    DAEMON_UNREACHABLE, GROUP_IN_OTHER_VHOST, NO_SUCH_GROUP, SCRIPT_OWNER_REFUSED,
    UNTRUSTED_LISTENER,
};
use crate::apache::request::Request;
use crate::apache::sys;
use crate::config::DirConfig;
use crate::daemon::supervisor::{self, Group, Registry};
use crate::proto::{self, Hello};
use crate::wsgi::environ::EnvironData;
use exchange::Settings;
use std::ffi::c_int;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn fail(r: &Request<'_>, status: u32, msg: &str) -> c_int {
    log::request(Level::Err, r, msg);
    status as c_int
}

/// Connects to the group's socket, retrying while the daemon is not
/// listening yet (mod_wsgi: 0.125 s sleeps, 1 s after the first 2 s). With
/// socket rotation, when a graceful restart has removed this generation's
/// socket, the newest generation's socket of the group is used instead (its
/// daemons accept the previous generation's secret).
fn connect(group: &Group) -> io::Result<UnixStream> {
    let start = Instant::now();
    let mut path = group.socket_path.clone();
    loop {
        match connect_once(path.as_ref()) {
            Ok(s) => return Ok(s),
            Err(e)
                if group.rotation
                    && e.raw_os_error() == Some(libc::ENOENT)
                    && let Some(newer) = crate::daemon::socket::newer(
                        &group.socket_prefix,
                        std::os::unix::process::parent_id(),
                        group.generation,
                        group.id,
                    ) =>
            {
                path = newer;
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ECONNREFUSED | libc::EAGAIN | libc::ENOENT)
                ) && start.elapsed() < group.opts.connect_timeout =>
            {
                let pause = if start.elapsed() < Duration::from_secs(2) {
                    Duration::from_millis(125)
                } else {
                    Duration::from_secs(1)
                };
                std::thread::sleep(
                    pause.min(group.opts.connect_timeout.saturating_sub(start.elapsed())),
                );
            }
            Err(e) => return Err(e),
        }
    }
}

/// One non-blocking connect, as mod_wsgi's (an APR socket with a timeout):
/// a full listen backlog fails at once with `EAGAIN`, which `connect`
/// retries until connect-timeout, instead of blocking until the daemon
/// accepts. The stream is blocking again when returned.
fn connect_once(path: &std::path::Path) -> io::Result<UnixStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, socket};
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    nix::sys::socket::connect(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Refuses a listener that is not the group's before anything (the
/// secret first of all) is sent to it: `SO_PEERCRED` of the connection
/// must name the Apache parent that created the group's listener (its pid
/// and uid; the daemons inherit that listener), so a socket planted at the
/// path by another process, root included, is never trusted.
fn check_listener(stream: &UnixStream, group: &Group) -> Result<(), String> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let found = getsockopt(stream, PeerCredentials);
    match found {
        Ok(c) if c.uid() == group.listener_uid && c.pid() == group.listener_pid => Ok(()),
        found => Err(format!(
            "{UNTRUSTED_LISTENER} Refusing WSGI daemon socket '{}' of process group '{}': \
             expected a listener created by the Apache parent (pid {}, uid {}), found {}; \
             nothing was sent",
            group.socket_path,
            group.opts.name,
            group.listener_pid,
            group.listener_uid,
            match found {
                Ok(c) => format!("pid {}, uid {}", c.pid(), c.uid()),
                Err(e) => format!("no peer credentials ({e})"),
            }
        )),
    }
}

/// Whether the request has a body to relay (Content-Length > 0 or chunked).
fn has_body(r: &Request<'_>) -> bool {
    let h = r.headers_in();
    if h.get("Transfer-Encoding").is_some() {
        return true;
    }
    h.get("Content-Length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// The daemon group `name` of this generation, if this virtual host may use it.
fn find_group<'g>(
    r: &Request<'_>,
    reg: Option<&'g Registry>,
    name: &str,
) -> Result<&'g Group, c_int> {
    let Some(group) = reg.and_then(|reg| reg.find(name)) else {
        return Err(fail(
            r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!("{NO_SUCH_GROUP} No WSGI daemon process called '{name}' has been configured"),
        ));
    };
    if let Some(scope) = &group.scope
        && *scope != r.server().hostname()
    {
        return Err(fail(
            r,
            sys::HTTP_INTERNAL_SERVER_ERROR,
            &format!(
                "{GROUP_IN_OTHER_VHOST} WSGI process group '{name}' is defined in virtual host '{scope}' \
                 and not accessible from '{}'",
                r.server().hostname()
            ),
        ));
    }
    Ok(group)
}

/// Runs the request in daemon process group `name`.
/// `dir` gives `WSGIEnableSendfile` (a file the daemon passes goes out as an APR file
/// bucket either way; this only lets the core filter use sendfile) and
/// `WSGIErrorOverride`.
pub fn handle(
    r: Request<'_>,
    name: &str,
    application_group: &str,
    env: &EnvironData,
    dir: &DirConfig,
) -> c_int {
    let reg = supervisor::registry();
    let group = match find_group(&r, reg.as_deref(), name) {
        Ok(g) => g,
        Err(status) => return status,
    };
    if let Some(file) = r.filename() {
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(file));
        if let Err(msg) = script_owner::check(path, &group.opts) {
            return fail(
                &r,
                sys::HTTP_FORBIDDEN,
                &format!("{SCRIPT_OWNER_REFUSED} {msg}"),
            );
        }
    }
    let queue_start_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let token = group.token();
    let hello = Hello {
        version: proto::PROTOCOL_VERSION,
        caps: proto::Caps::FD_PASSING,
        token: token.as_bytes(),
        queue_start_us,
        request_id: r.log_id().unwrap_or(b""),
        process_group: name.as_bytes(),
        application_group: application_group.as_bytes(),
    };
    let frames = match frames::encode(hello, env, r.header_only(), has_body(&r)) {
        Ok(f) => f.describing(r.method().unwrap_or(b""), r.uri_bytes()),
        Err(text) => return fail(&r, sys::HTTP_INTERNAL_SERVER_ERROR, &text),
    };
    let settings = Settings {
        error_override: dir.error_override.unwrap_or(false),
        write_timeout: group.opts.client_write_timeout(),
        max_head: group.opts.header_buffer_size.max(8192) * 4,
        queue_deadline_us: group
            .opts
            .queue_timeout
            .map(|q| (r.request_time().max(0) as u64).saturating_add(q.as_micros() as u64)),
        relay: group.opts.relay,
    };
    let sendfile = dir.enable_sendfile.unwrap_or(false);
    // SAFETY: the request outlives this call; the host is dropped before return.
    let mut host = ApacheHost::new(unsafe { r.unbounded() }).with_sendfile(sendfile);
    let retry_until = Instant::now() + group.opts.connect_timeout;
    exchange::send_with_retry(&mut host, &frames, settings, name, retry_until, |host| {
        let stream = connect(group).map_err(|e| {
            exchange::fail(
                host,
                sys::HTTP_SERVICE_UNAVAILABLE,
                &format!(
                    "{DAEMON_UNREACHABLE} Unable to connect to WSGI daemon process '{name}' on '{}': {e}",
                    group.socket_path
                ),
            )
        })?;
        check_listener(&stream, group)
            .map_err(|text| exchange::fail(host, sys::HTTP_SERVICE_UNAVAILABLE, &text))?;
        let _ = stream.set_read_timeout(Some(group.socket_timeout));
        let _ = stream.set_write_timeout(Some(group.socket_timeout));
        Ok(stream)
    })
}
