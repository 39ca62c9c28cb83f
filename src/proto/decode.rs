//! Decoding: frame bytes → [`Message`], borrowing from the input buffer (zero-copy).
//!
//! [`decode_frame`] works on whatever bytes have arrived so far: it validates the header as
//! soon as its 8 bytes are present (so an oversize or unknown frame is rejected before the
//! payload is awaited or buffered), reports how many bytes a complete frame needs, and
//! decodes the payload field by field with bounds checks. It never allocates and never
//! panics. Pure data, no FFI.

use super::error::{ProtoError, Result};
use super::frame::{
    Caps, FrameHeader, FrameType, HEADER_LEN, Limits, MAGIC, MAX_ERROR_MSG, MAX_SHORT_STR,
    PROTOCOL_VERSION,
};
use super::messages::*;
use super::pairs::PairList;
use super::wire::Cursor;

/// Outcome of [`decode_frame`] on a possibly partial buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete frame: the message and the number of bytes it occupied (header included).
    Frame(Message<'a>, usize),
    /// Not enough bytes yet: a complete frame needs `needed` bytes in total (≥ the buffer's
    /// current length). Before the header is complete this is [`HEADER_LEN`].
    Incomplete { needed: usize },
}

impl<'a> Decoded<'a> {
    /// The frame, if complete.
    pub fn frame(self) -> Option<(Message<'a>, usize)> {
        match self {
            Decoded::Frame(m, n) => Some((m, n)),
            Decoded::Incomplete { .. } => None,
        }
    }
}

/// Parse the header at the start of `buf`, if 8 bytes are there.
pub fn peek_header(buf: &[u8], limits: &Limits) -> Result<Option<FrameHeader>> {
    match buf.first_chunk::<HEADER_LEN>() {
        Some(h) => FrameHeader::parse(h, limits).map(Some),
        None => Ok(None),
    }
}

/// Decode the first frame in `buf`.
pub fn decode_frame<'a>(buf: &'a [u8], limits: &Limits) -> Result<Decoded<'a>> {
    let Some(h) = peek_header(buf, limits)? else {
        return Ok(Decoded::Incomplete { needed: HEADER_LEN });
    };
    let needed = h.frame_len();
    if buf.len() < needed {
        return Ok(Decoded::Incomplete { needed });
    }
    let msg = decode_payload(&h, &buf[HEADER_LEN..needed], limits)?;
    Ok(Decoded::Frame(msg, needed))
}

/// Decode a payload whose header was already parsed; `payload.len()` must equal `h.len`.
pub fn decode_payload<'a>(
    h: &FrameHeader,
    payload: &'a [u8],
    limits: &Limits,
) -> Result<Message<'a>> {
    if payload.len() != h.len as usize {
        return Err(ProtoError::Truncated {
            frame_type: h.frame_type,
            field: "payload",
        });
    }
    let flush = h.flush();
    let mut c = Cursor::new(payload, h.frame_type);
    let msg = match h.frame_type {
        FrameType::Hello => Message::Hello(decode_hello(&mut c)?),
        FrameType::Accept => {
            let version = c.u16("ACCEPT version")?;
            if version != PROTOCOL_VERSION {
                return Err(ProtoError::UnsupportedVersion(version));
            }
            reserved16(&mut c, "ACCEPT reserved")?;
            Message::Accept(Accept {
                version,
                caps: Caps(c.u32("ACCEPT caps")?),
                daemon_pid: c.u32("ACCEPT daemon_pid")?,
                worker_id: c.u32("ACCEPT worker_id")?,
            })
        }
        FrameType::Reject => Message::Reject(Reject {
            reason: RejectReason::from_code(c.u16("REJECT reason")?)?,
            message: c.str(MAX_SHORT_STR, "REJECT message")?,
        }),
        FrameType::Environ => Message::Environ(PairList::decode(&mut c, limits)?),
        FrameType::BodyCredit => match c.u32("BODY_CREDIT bytes")? {
            0 => {
                return Err(ProtoError::InvalidValue {
                    field: "BODY_CREDIT bytes",
                    value: 0,
                });
            }
            n => Message::BodyCredit(n),
        },
        FrameType::Body => Message::Body(c.rest()),
        FrameType::BodyEnd => Message::BodyEnd(BodyEnd {
            status: BodyStatus::from_code(c.u8("BODY_END status")?)?,
            trailers: PairList::decode(&mut c, limits)?,
        }),
        FrameType::ResponseHead => {
            let status = c.u16("RESPONSE_HEAD status")?;
            super::encode::check_status(status)?;
            Message::ResponseHead(ResponseHead {
                status,
                reason: c.str(MAX_SHORT_STR, "RESPONSE_HEAD reason")?,
                headers: PairList::decode(&mut c, limits)?,
            })
        }
        FrameType::ResponseBody => Message::ResponseBody {
            data: c.rest(),
            flush,
        },
        FrameType::ResponseFile => {
            let f = ResponseFile {
                offset: c.u64("RESPONSE_FILE offset")?,
                length: c.u64("RESPONSE_FILE length")?,
                flush,
            };
            super::encode::check_file_range(&f)?;
            Message::ResponseFile(f)
        }
        FrameType::ResponseEnd => Message::ResponseEnd(ResponseEnd {
            timings: Timings {
                app_us: c.u64("RESPONSE_END app_us")?,
                cpu_us: c.u64("RESPONSE_END cpu_us")?,
                queue_us: c.u64("RESPONSE_END queue_us")?,
            },
            trailers: PairList::decode(&mut c, limits)?,
        }),
        FrameType::Error => Message::Error(ErrorReport {
            kind: ErrorKind::from_code(c.u16("ERROR kind")?)?,
            message: c.str(MAX_ERROR_MSG, "ERROR message")?,
        }),
        FrameType::Cancel => Message::Cancel(CancelReason::from_code(c.u8("CANCEL reason")?)?),
    };
    c.finish()?;
    Ok(msg)
}

fn reserved16(c: &mut Cursor<'_>, field: &'static str) -> Result<()> {
    match c.u16(field)? {
        0 => Ok(()),
        v => Err(ProtoError::InvalidValue {
            field,
            value: v.into(),
        }),
    }
}

fn decode_hello<'a>(c: &mut Cursor<'a>) -> Result<Hello<'a>> {
    // Magic and version come first and are frozen across protocol versions, so a daemon can
    // always tell "not WSGP" and "other version" apart from a malformed v1 HELLO.
    if c.array::<4>("HELLO magic")? != &MAGIC {
        return Err(ProtoError::BadMagic);
    }
    let version = c.u16("HELLO version")?;
    if version != PROTOCOL_VERSION {
        return Err(ProtoError::UnsupportedVersion(version));
    }
    reserved16(c, "HELLO reserved")?;
    Ok(Hello {
        version,
        caps: Caps(c.u32("HELLO caps")?),
        token: c.array("HELLO token")?,
        queue_start_us: c.u64("HELLO queue_start_us")?,
        request_id: c.str(MAX_SHORT_STR, "HELLO request_id")?,
        process_group: c.str(MAX_SHORT_STR, "HELLO process_group")?,
        application_group: c.str(MAX_SHORT_STR, "HELLO application_group")?,
    })
}
