//! The request as encoded for the daemon once, before the first attempt:
//! HELLO, ENVIRON (with the private pairs the daemon removes) and BODY_END
//! when there is no body. Built by [`super::handle`], sent unchanged by the
//! relay on every attempt ([`super::exchange`]).

use crate::apache::log_ids::REQUEST_TOO_LARGE;
use crate::handler::buffers;
use crate::proto::{self, BodyEnd, BodyStatus, EnvironBuilder, Hello, Message, PairList};
use crate::wsgi::environ::EnvironData;

/// The request as encoded for the daemon, sent unchanged on every attempt.
pub(super) struct Frames<'a> {
    pub(super) hello: Hello<'a>,
    pub(super) hello_frame: Vec<u8>,
    pub(super) environ_frame: buffers::Pooled,
    pub(super) body_end_frame: Vec<u8>,
    /// The request has a body (relayed on BODY_CREDIT); without one,
    /// BODY_END goes out with the environ.
    pub(super) body: bool,
    /// Method and path, for the log line if the daemon's connection breaks.
    pub(super) request: String,
}

impl Frames<'_> {
    /// Names the request (method and path) in the relay's log lines.
    pub(super) fn describing(mut self, method: &[u8], path: &[u8]) -> Self {
        self.request = super::in_flight::request_line(method, path);
        self
    }
}

/// BODY_END for a complete body.
pub(super) fn body_complete() -> Message<'static> {
    Message::BodyEnd(BodyEnd {
        status: BodyStatus::Complete,
        trailers: PairList::EMPTY,
    })
}

/// Encodes HELLO, ENVIRON (with the private header-only pair for a HEAD
/// request, so the daemon knows Apache sends no body) and BODY_END. The
/// error is the log line of a 500.
pub(super) fn encode<'a>(
    hello: Hello<'a>,
    env: &EnvironData,
    header_only: bool,
    body: bool,
) -> Result<Frames<'a>, String> {
    let mut environ = EnvironBuilder::with_buffer(buffers::ENVIRON.take());
    let mut push_err = None;
    for (k, v) in env.vars.iter() {
        if let Err(e) = environ.push(k.as_bytes(), v) {
            push_err = Some(e);
        }
    }
    let _ = environ.push(b"wsgi.url_scheme", env.url_scheme.as_bytes());
    if header_only {
        let _ = environ.push(proto::HEADER_ONLY_KEY.as_bytes(), b"1");
    }
    for (k, v) in &env.times {
        let _ = environ.push(k.as_bytes(), format!("{v:.6}").as_bytes());
    }
    let environ_frame = buffers::Pooled(environ.finish(), &buffers::ENVIRON);
    if let Some(e) = push_err {
        return Err(format!(
            "{REQUEST_TOO_LARGE} request environment too large for the daemon protocol: {e}"
        ));
    }
    match (Message::Hello(hello).to_frame(), body_complete().to_frame()) {
        (Ok(hello_frame), Ok(body_end_frame)) => Ok(Frames {
            hello,
            hello_frame,
            environ_frame,
            body_end_frame,
            body,
            request: String::new(),
        }),
        (Err(e), _) | (_, Err(e)) => Err(format!(
            "{REQUEST_TOO_LARGE} cannot encode the request for the daemon: {e}"
        )),
    }
}
