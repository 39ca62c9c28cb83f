//! The WSGP state machine driven by arbitrary sequences of frames. Each step
//! builds one message (any type, with fuzzer-chosen versions, capabilities,
//! credits, lengths and trailers) and either plays it as a conversation (the
//! sending side's `send`, then, if that succeeded, the peer's `recv`, which
//! must then succeed too: a peer that follows the rules is never refused) or
//! feeds it to one session as hostile input (`recv` or a `*_data_header`
//! call). Checked after every step: no panic; a refused frame leaves the
//! session exactly as it was; outstanding credit never exceeds
//! `MAX_OUTSTANDING_CREDIT`; BODY bytes are taken from the credit; the
//! states only move forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi::proto::frame::MAX_OUTSTANDING_CREDIT;
use mod_wsgi::proto::*;

/// Reads fields from the fuzzer's bytes; zeros once they run out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Mostly the real version, sometimes another.
    fn version(&mut self) -> u16 {
        match self.u8() {
            v @ 0xf0.. => u16::from(v & 0x0f),
            _ => PROTOCOL_VERSION,
        }
    }
}

static TOKEN: [u8; TOKEN_LEN] = [0x5a; TOKEN_LEN];
static DATA: [u8; 1 << 16] = [b'x'; 1 << 16];

fn code<T: Copy>(all: &[T], b: u8) -> T {
    all[usize::from(b) % all.len()]
}

/// One message of type `t` with fields from `inp`; `trailers` is a
/// one-pair list for BODY_END/RESPONSE_END when the input asks for it.
fn message<'a>(t: FrameType, inp: &mut Input<'_>, trailers: PairList<'a>) -> Message<'a> {
    let none = PairList::default();
    let pick = |inp: &mut Input<'_>| if inp.u8() & 1 == 1 { trailers } else { none };
    match t {
        FrameType::Hello => Message::Hello(Hello {
            version: inp.version(),
            caps: Caps(u32::from(inp.u8())),
            token: &TOKEN,
            queue_start_us: 0,
            request_id: b"",
            process_group: b"g",
            application_group: b"",
        }),
        FrameType::Environ => Message::Environ(none),
        FrameType::Body => Message::Body(&DATA[..usize::from(inp.u16())]),
        FrameType::BodyEnd => Message::BodyEnd(BodyEnd {
            status: code(BodyStatus::ALL, inp.u8()),
            trailers: pick(inp),
        }),
        FrameType::Cancel => Message::Cancel(code(CancelReason::ALL, inp.u8())),
        FrameType::Accept => Message::Accept(Accept {
            version: inp.version(),
            caps: Caps(u32::from(inp.u8())),
            daemon_pid: 1,
            worker_id: 0,
        }),
        FrameType::Reject => Message::Reject(Reject {
            reason: code(RejectReason::ALL, inp.u8()),
            message: b"",
        }),
        FrameType::BodyCredit => Message::BodyCredit(inp.u32()),
        FrameType::ResponseHead => Message::ResponseHead(ResponseHead {
            status: 200,
            reason: b"OK",
            headers: none,
        }),
        FrameType::ResponseBody => Message::ResponseBody {
            data: &DATA[..usize::from(inp.u8())],
            flush: inp.u8() & 1 == 1,
        },
        FrameType::ResponseFile => Message::ResponseFile(ResponseFile {
            offset: 0,
            length: u64::from(inp.u8()) + 1,
            flush: false,
        }),
        FrameType::ResponseEnd => Message::ResponseEnd(ResponseEnd {
            timings: Timings::default(),
            trailers: pick(inp),
        }),
        FrameType::Error => Message::Error(ErrorReport {
            kind: code(ErrorKind::ALL, inp.u8()),
            message: b"",
        }),
    }
}

fn up_rank(u: Upstream) -> u8 {
    match u {
        Upstream::Start => 0,
        Upstream::Hello => 1,
        Upstream::Body => 2,
        Upstream::BodyDone => 3,
        Upstream::Cancelled => 4,
    }
}

fn down_rank(d: Downstream) -> u8 {
    match d {
        Downstream::Start => 0,
        Downstream::Accepted => 1,
        Downstream::Responding => 2,
        Downstream::Finished => 3,
    }
}

/// Runs `step` on `s` and checks the invariants around it.
fn checked(s: &mut Session, step: impl FnOnce(&mut Session) -> Result<()>) -> bool {
    let before = s.clone();
    let shown = format!("{before:?}");
    let ok = step(s).is_ok();
    if !ok {
        assert_eq!(
            format!("{s:?}"),
            shown,
            "a refused frame changed the session"
        );
    }
    assert!(s.credit() <= MAX_OUTSTANDING_CREDIT);
    assert!(up_rank(s.upstream()) >= up_rank(before.upstream()));
    assert!(down_rank(s.downstream()) >= down_rank(before.downstream()));
    assert!(s.body_bytes() >= before.body_bytes());
    let used = s.body_bytes() - before.body_bytes();
    if used > 0 {
        assert_eq!(
            s.credit() + used,
            before.credit(),
            "BODY bytes not taken from credit"
        );
    }
    assert!(!before.finished() || s.finished());
    assert!(!before.response_started() || s.response_started());
    ok
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let mut client = Session::new(Side::Client);
    let mut daemon = Session::new(Side::Daemon);
    let trailers = PairListBuf::from_pairs([(&b"X-T"[..], &b"1"[..])]).unwrap();
    // The two sessions have seen the same frames (no hostile step has been
    // accepted yet), so the peer must accept whatever the sender may send.
    let mut in_sync = true;
    let mut steps = 0;
    while !inp.0.is_empty() && steps < 256 {
        steps += 1;
        let op = inp.u8();
        let t = code(&FrameType::ALL, op >> 3);
        let m = message(t, &mut inp, trailers.as_list());
        let (sender, receiver) = match t.direction() {
            Direction::ToDaemon => (&mut client, &mut daemon),
            Direction::ToClient => (&mut daemon, &mut client),
        };
        match op & 7 {
            // A conversation: what one side may send, the other accepts.
            0..=3 => {
                if checked(sender, |s| s.send(&m)) {
                    let ok = checked(receiver, |s| s.recv(&m));
                    assert!(ok || !in_sync, "{t:?} sent legally but refused by the peer");
                    in_sync &= ok;
                }
            }
            // A hostile peer: anything, in either direction, to either side.
            4 => {
                in_sync &= !checked(receiver, |s| s.recv(&m));
            }
            // A frame of the wrong direction is always refused.
            5 => {
                assert!(!checked(sender, |s| s.recv(&m)));
            }
            // Streamed data: the checks run on the header alone.
            _ => {
                let len = inp.u32() & 0x7_ffff;
                let h = match FrameHeader::new(t, len as usize, 0) {
                    Ok(h) => h,
                    Err(_) => continue,
                };
                if op & 1 == 0 {
                    in_sync &= !checked(receiver, |s| s.recv_data_header(&h));
                } else if checked(sender, |s| s.send_data_header(&h)) {
                    let ok = checked(receiver, |s| s.recv_data_header(&h));
                    assert!(ok || !in_sync, "{t:?} header sent legally but refused");
                    in_sync &= ok;
                }
            }
        }
    }
});
