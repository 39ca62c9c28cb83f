//! proptest strategies: an owned model of every message ([`Owned`]) that can be borrowed as
//! a [`Message`], plus generators for valid frame streams.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::proto::frame::{Caps, PROTOCOL_VERSION, TOKEN_LEN};
use crate::proto::messages::*;
use crate::proto::pairs::PairListBuf;

/// Owned counterpart of [`Message`].
#[derive(Clone, Debug)]
pub enum Owned {
    Hello {
        caps: u32,
        token: [u8; TOKEN_LEN],
        queue_start_us: u64,
        request_id: Vec<u8>,
        process_group: Vec<u8>,
        application_group: Vec<u8>,
    },
    Accept(Accept),
    Reject(RejectReason, Vec<u8>),
    Environ(PairListBuf),
    BodyCredit(u32),
    Body(Vec<u8>),
    BodyEnd(BodyStatus, PairListBuf),
    ResponseHead(u16, Vec<u8>, PairListBuf),
    ResponseBody(Vec<u8>, bool),
    ResponseFile(ResponseFile),
    ResponseEnd(Timings, PairListBuf),
    Error(ErrorKind, Vec<u8>),
    Cancel(CancelReason),
}

impl Owned {
    pub fn msg(&self) -> Message<'_> {
        match self {
            Owned::Hello {
                caps,
                token,
                queue_start_us,
                request_id,
                process_group,
                application_group,
            } => Message::Hello(Hello {
                version: PROTOCOL_VERSION,
                caps: Caps(*caps),
                token,
                queue_start_us: *queue_start_us,
                request_id,
                process_group,
                application_group,
            }),
            Owned::Accept(a) => Message::Accept(*a),
            Owned::Reject(reason, m) => Message::Reject(Reject {
                reason: *reason,
                message: m,
            }),
            Owned::Environ(p) => Message::Environ(p.as_list()),
            Owned::BodyCredit(n) => Message::BodyCredit(*n),
            Owned::Body(d) => Message::Body(d),
            Owned::BodyEnd(status, t) => Message::BodyEnd(BodyEnd {
                status: *status,
                trailers: t.as_list(),
            }),
            Owned::ResponseHead(status, reason, h) => Message::ResponseHead(ResponseHead {
                status: *status,
                reason,
                headers: h.as_list(),
            }),
            Owned::ResponseBody(d, flush) => Message::ResponseBody {
                data: d,
                flush: *flush,
            },
            Owned::ResponseFile(f) => Message::ResponseFile(*f),
            Owned::ResponseEnd(t, tr) => Message::ResponseEnd(ResponseEnd {
                timings: *t,
                trailers: tr.as_list(),
            }),
            Owned::Error(kind, m) => Message::Error(ErrorReport {
                kind: *kind,
                message: m,
            }),
            Owned::Cancel(c) => Message::Cancel(*c),
        }
    }
}

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

pub fn pairs(max_pairs: usize) -> impl Strategy<Value = PairListBuf> {
    vec((bytes(24), bytes(64)), 0..=max_pairs).prop_map(|v| {
        let mut b = PairListBuf::new();
        for (k, val) in &v {
            b.push(k, val).unwrap();
        }
        b
    })
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

pub fn file_range() -> impl Strategy<Value = ResponseFile> {
    (any::<u64>(), 1..=u64::MAX, any::<bool>()).prop_map(|(offset, length, flush)| ResponseFile {
        offset: offset.min(u64::MAX - length),
        length,
        flush,
    })
}

/// Any valid message.
pub fn message() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (
            any::<u32>(),
            any::<[u8; TOKEN_LEN]>(),
            any::<u64>(),
            bytes(40),
            bytes(40),
            bytes(40)
        )
            .prop_map(|(caps, token, q, r, p, a)| Owned::Hello {
                caps,
                token,
                queue_start_us: q,
                request_id: r,
                process_group: p,
                application_group: a,
            }),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(caps, daemon_pid, worker_id)| {
            Owned::Accept(Accept {
                version: PROTOCOL_VERSION,
                caps: Caps(caps),
                daemon_pid,
                worker_id,
            })
        }),
        (pick(RejectReason::ALL), bytes(100)).prop_map(|(r, m)| Owned::Reject(r, m)),
        pairs(40).prop_map(Owned::Environ),
        (1..=u32::MAX).prop_map(Owned::BodyCredit),
        vec(any::<u8>(), 1..=2048).prop_map(Owned::Body),
        (pick(BodyStatus::ALL), pairs(4)).prop_map(|(s, t)| Owned::BodyEnd(s, t)),
        (100u16..=999, bytes(30), pairs(20)).prop_map(|(s, r, h)| Owned::ResponseHead(s, r, h)),
        (bytes(2048), any::<bool>()).prop_map(|(d, f)| {
            let flush = f || d.is_empty();
            Owned::ResponseBody(d, flush)
        }),
        file_range().prop_map(Owned::ResponseFile),
        (any::<u64>(), any::<u64>(), any::<u64>(), pairs(4)).prop_map(|(a, c, q, t)| {
            Owned::ResponseEnd(
                Timings {
                    app_us: a,
                    cpu_us: c,
                    queue_us: q,
                },
                t,
            )
        }),
        (pick(ErrorKind::ALL), bytes(100)).prop_map(|(k, m)| Owned::Error(k, m)),
        pick(CancelReason::ALL).prop_map(Owned::Cancel),
    ]
}

/// The encoded bytes of a list of messages, concatenated.
pub fn encode_all(msgs: &[Owned]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        m.msg().encode(&mut out).unwrap();
    }
    out
}
