//! The WSGP v1 state machine: which frame is legal in which direction and order, body
//! credit accounting and capability checks, so either side can reject a bad peer (and
//! catch its own bugs) with a typed error.
//!
//! Each side owns one [`Session`] per connection and calls [`Session::send`] before writing
//! a frame and [`Session::recv`] after decoding one (or the `*_data_header` variants for a
//! BODY/RESPONSE_BODY whose payload is streamed). The two directions are tracked
//! separately because each keeps its own order while frames cross in flight; the rules
//! below hold whichever side observes them, plus a few stricter checks on a side's own
//! sends. Pure data, no FFI.

use super::error::{ProtoError, Result};
use super::frame::{Caps, Direction, FrameHeader, FrameType, MAX_OUTSTANDING_CREDIT};
use super::messages::Message;

/// Which end of the connection a [`Session`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The Apache child (sends HELLO, ENVIRON, BODY…).
    Client,
    /// The daemon worker (sends ACCEPT, BODY_CREDIT, RESPONSE_…).
    Daemon,
}

/// State of the client → daemon stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// Nothing yet: HELLO must come first.
    Start,
    /// HELLO seen: ENVIRON (or CANCEL) next.
    Hello,
    /// ENVIRON seen: BODY (within credit), BODY_END or CANCEL.
    Body,
    /// BODY_END seen: only CANCEL.
    BodyDone,
    /// CANCEL seen: nothing more.
    Cancelled,
}

/// State of the daemon → client stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Downstream {
    /// Nothing yet: ACCEPT or REJECT.
    Start,
    /// ACCEPT seen: BODY_CREDIT, RESPONSE_HEAD or ERROR.
    Accepted,
    /// RESPONSE_HEAD seen: RESPONSE_BODY/FILE, BODY_CREDIT, RESPONSE_END or ERROR.
    Responding,
    /// REJECT, RESPONSE_END or ERROR seen: nothing more.
    Finished,
}

/// Facts about one frame that the rules need (derived from a message or a data header).
#[derive(Clone, Copy, Debug)]
enum Event {
    Hello { version: u16, caps: Caps },
    Accept { version: u16, caps: Caps },
    Reject,
    Environ,
    Credit(u32),
    Body(u32),
    BodyEnd { trailers: bool },
    Head,
    RespBody,
    RespFile,
    RespEnd { trailers: bool },
    Error,
    Cancel,
}

impl Event {
    fn of(m: &Message<'_>) -> Event {
        match m {
            Message::Hello(h) => Event::Hello {
                version: h.version,
                caps: h.caps,
            },
            Message::Accept(a) => Event::Accept {
                version: a.version,
                caps: a.caps,
            },
            Message::Reject(_) => Event::Reject,
            Message::Environ(_) => Event::Environ,
            Message::BodyCredit(n) => Event::Credit(*n),
            // Data is at most MAX_DATA (256 KiB), so it fits in u32.
            Message::Body(d) => Event::Body(u32::try_from(d.len()).unwrap_or(u32::MAX)),
            Message::BodyEnd(e) => Event::BodyEnd {
                trailers: !e.trailers.is_empty(),
            },
            Message::ResponseHead(_) => Event::Head,
            Message::ResponseBody { .. } => Event::RespBody,
            Message::ResponseFile(_) => Event::RespFile,
            Message::ResponseEnd(e) => Event::RespEnd {
                trailers: !e.trailers.is_empty(),
            },
            Message::Error(_) => Event::Error,
            Message::Cancel(_) => Event::Cancel,
        }
    }

    fn of_data_header(h: &FrameHeader) -> Result<Event> {
        match h.frame_type {
            FrameType::Body => Ok(Event::Body(h.len)),
            FrameType::ResponseBody => Ok(Event::RespBody),
            _ => Err(ProtoError::Misuse("data-header check on a non-data frame")),
        }
    }
}

/// Per-connection protocol state for one side.
#[derive(Clone, Debug)]
pub struct Session {
    side: Side,
    up: Upstream,
    down: Downstream,
    hello_version: u16,
    offered: Caps,
    granted: Option<Caps>,
    credit: u64,
    body_bytes: u64,
    head_seen: bool,
}

impl Session {
    /// A fresh session for `side`.
    pub fn new(side: Side) -> Session {
        Session {
            side,
            up: Upstream::Start,
            down: Downstream::Start,
            hello_version: 0,
            offered: Caps::NONE,
            granted: None,
            credit: 0,
            body_bytes: 0,
            head_seen: false,
        }
    }

    /// Check and record a message this side is about to send.
    pub fn send(&mut self, m: &Message<'_>) -> Result<()> {
        self.apply(true, m.frame_type(), Event::of(m))
    }

    /// Check and record a message this side has received.
    pub fn recv(&mut self, m: &Message<'_>) -> Result<()> {
        self.apply(false, m.frame_type(), Event::of(m))
    }

    /// [`Session::send`] for a BODY/RESPONSE_BODY written as header + borrowed data.
    pub fn send_data_header(&mut self, h: &FrameHeader) -> Result<()> {
        self.apply(true, h.frame_type, Event::of_data_header(h)?)
    }

    /// [`Session::recv`] for a BODY/RESPONSE_BODY whose payload is streamed (checked on the
    /// header, before any payload byte is read).
    pub fn recv_data_header(&mut self, h: &FrameHeader) -> Result<()> {
        self.apply(false, h.frame_type, Event::of_data_header(h)?)
    }

    /// This session's side.
    pub fn side(&self) -> Side {
        self.side
    }

    /// State of the client → daemon stream.
    pub fn upstream(&self) -> Upstream {
        self.up
    }

    /// State of the daemon → client stream.
    pub fn downstream(&self) -> Downstream {
        self.down
    }

    /// Capabilities granted by ACCEPT (`None` before ACCEPT).
    pub fn granted_caps(&self) -> Option<Caps> {
        self.granted
    }

    /// Outstanding body credit as this side knows it (granted minus BODY bytes).
    pub fn credit(&self) -> u64 {
        self.credit
    }

    /// Total BODY bytes seen so far.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// True once RESPONSE_HEAD was seen (from then on an ERROR or EOF means "abort the
    /// client connection", not an error status).
    pub fn response_started(&self) -> bool {
        self.head_seen
    }

    /// True once REJECT, RESPONSE_END or ERROR was seen.
    pub fn finished(&self) -> bool {
        self.down == Downstream::Finished
    }

    fn unexpected(&self, frame_type: FrameType, state: &'static str) -> ProtoError {
        ProtoError::UnexpectedFrame {
            side: self.side,
            frame_type,
            state,
        }
    }

    fn need_cap(&self, frame_type: FrameType, cap: Caps, name: &'static str) -> Result<()> {
        match self.granted {
            Some(g) if g.contains(cap) => Ok(()),
            _ => Err(ProtoError::CapabilityNotNegotiated {
                frame_type,
                cap: name,
            }),
        }
    }

    fn up_state_name(&self) -> &'static str {
        match self.up {
            Upstream::Start => "before HELLO",
            Upstream::Hello => "after HELLO (ENVIRON expected)",
            Upstream::Body => "while the body is open",
            Upstream::BodyDone => "after BODY_END",
            Upstream::Cancelled => "after CANCEL",
        }
    }

    fn down_state_name(&self) -> &'static str {
        match self.down {
            Downstream::Start => "before ACCEPT/REJECT",
            Downstream::Accepted => "before RESPONSE_HEAD",
            Downstream::Responding => "after RESPONSE_HEAD",
            Downstream::Finished => "after the response ended",
        }
    }

    fn apply(&mut self, sending: bool, t: FrameType, ev: Event) -> Result<()> {
        let ours = match self.side {
            Side::Client => Direction::ToDaemon,
            Side::Daemon => Direction::ToClient,
        };
        if (t.direction() == ours) != sending {
            return Err(self.unexpected(
                t,
                if sending {
                    "to be sent by this side"
                } else {
                    "to be received by this side"
                },
            ));
        }
        match t.direction() {
            Direction::ToDaemon => self.apply_up(sending, t, ev),
            Direction::ToClient => self.apply_down(sending, t, ev),
        }
    }

    fn apply_up(&mut self, sending: bool, t: FrameType, ev: Event) -> Result<()> {
        // The client stops talking once the daemon has finished or rejected; the daemon
        // still accepts frames that were in flight when it finished.
        if sending && self.down == Downstream::Finished {
            return Err(self.unexpected(t, self.down_state_name()));
        }
        let next = match (self.up, ev) {
            (Upstream::Start, Event::Hello { version, caps }) => {
                self.hello_version = version;
                self.offered = caps;
                Upstream::Hello
            }
            (Upstream::Hello, Event::Environ) => Upstream::Body,
            (Upstream::Body, Event::Body(len)) => {
                if u64::from(len) > self.credit {
                    return Err(ProtoError::CreditExceeded {
                        len,
                        credit: self.credit,
                    });
                }
                self.credit -= u64::from(len);
                self.body_bytes += u64::from(len);
                Upstream::Body
            }
            (Upstream::Body, Event::BodyEnd { trailers }) => {
                if trailers {
                    self.need_cap(t, Caps::TRAILERS, "TRAILERS")?;
                }
                Upstream::BodyDone
            }
            (Upstream::Hello | Upstream::Body | Upstream::BodyDone, Event::Cancel) => {
                Upstream::Cancelled
            }
            _ => return Err(self.unexpected(t, self.up_state_name())),
        };
        self.up = next;
        Ok(())
    }

    fn apply_down(&mut self, sending: bool, t: FrameType, ev: Event) -> Result<()> {
        let next = match (self.down, ev) {
            (Downstream::Start, Event::Accept { version, caps }) => {
                if self.up == Upstream::Start {
                    return Err(self.unexpected(t, "before HELLO"));
                }
                if version != self.hello_version {
                    return Err(ProtoError::AcceptMismatch("version differs from HELLO"));
                }
                if !self.offered.intersect(Caps::KNOWN).contains(caps) {
                    return Err(ProtoError::AcceptMismatch("capabilities not offered"));
                }
                self.granted = Some(caps);
                Downstream::Accepted
            }
            // REJECT may answer a HELLO this side could not decode (bad version), so it
            // does not require HELLO to have been recorded.
            (Downstream::Start, Event::Reject) => Downstream::Finished,
            (Downstream::Accepted | Downstream::Responding, Event::Credit(n)) => {
                match self.up {
                    Upstream::Body => {}
                    // Crossed in flight with BODY_END/CANCEL: the client ignores it, but a
                    // daemon that knows the body is over must not send it.
                    Upstream::BodyDone | Upstream::Cancelled
                        if !(sending && self.side == Side::Daemon) =>
                    {
                        return Ok(());
                    }
                    _ => return Err(self.unexpected(t, self.up_state_name())),
                }
                let total = self.credit + u64::from(n);
                if total > MAX_OUTSTANDING_CREDIT {
                    return Err(ProtoError::CreditOverflow {
                        max: MAX_OUTSTANDING_CREDIT,
                    });
                }
                self.credit = total;
                self.down
            }
            (Downstream::Accepted, Event::Head) => {
                if matches!(self.up, Upstream::Start | Upstream::Hello) {
                    return Err(self.unexpected(t, "before ENVIRON"));
                }
                self.head_seen = true;
                Downstream::Responding
            }
            (Downstream::Responding, Event::RespBody) => Downstream::Responding,
            (Downstream::Responding, Event::RespFile) => {
                self.need_cap(t, Caps::FD_PASSING, "FD_PASSING")?;
                Downstream::Responding
            }
            (Downstream::Responding, Event::RespEnd { trailers }) => {
                if trailers {
                    self.need_cap(t, Caps::TRAILERS, "TRAILERS")?;
                }
                Downstream::Finished
            }
            (Downstream::Accepted | Downstream::Responding, Event::Error) => Downstream::Finished,
            _ => return Err(self.unexpected(t, self.down_state_name())),
        };
        self.down = next;
        Ok(())
    }
}
