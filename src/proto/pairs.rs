//! Pair lists: the `u32 n` + `n × (str key, str value)` layout used by ENVIRON,
//! RESPONSE_HEAD headers and the trailer lists of BODY_END and RESPONSE_END.
//!
//! [`PairList`] is a validated, zero-copy view into a received frame: decoding checks the
//! count and every length once (against [`Limits`]) and iteration then borrows keys and
//! values straight out of the frame buffer. [`PairListBuf`] builds a list for sending.
//! Order and duplicates are preserved (several `Set-Cookie` headers stay separate).
//! Pure data, no FFI.

use std::fmt;

use super::error::{ProtoError, Result};
use super::frame::Limits;
use super::wire::{self, Cursor};

/// A validated pair list borrowed from a frame buffer (or from a [`PairListBuf`]).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PairList<'a> {
    count: u32,
    /// The encoded pairs, without the leading count.
    raw: &'a [u8],
}

impl<'a> PairList<'a> {
    /// The empty list.
    pub const EMPTY: PairList<'static> = PairList { count: 0, raw: &[] };

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if the list has no pairs.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes this list occupies on the wire, count included.
    pub fn encoded_len(&self) -> usize {
        4 + self.raw.len()
    }

    /// The pairs, in wire order, borrowed from the frame buffer.
    pub fn iter(&self) -> PairIter<'a> {
        PairIter {
            raw: self.raw,
            left: self.count,
        }
    }

    /// The first value for `key` (exact byte match).
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Append the wire form (count + pairs) to `out`.
    pub(super) fn put(&self, out: &mut Vec<u8>) {
        wire::put_u32(out, self.count);
        out.extend_from_slice(self.raw);
    }

    /// Read and validate a pair list from `c`: the count is checked against
    /// `limits.max_pairs` and against the bytes left (each pair needs at least 8) before
    /// anything else, then every key and value length against its cap.
    pub(super) fn decode(c: &mut Cursor<'a>, limits: &Limits) -> Result<PairList<'a>> {
        let limits = limits.clamped();
        let count = c.u32("pair count")?;
        if count > limits.max_pairs {
            return Err(ProtoError::TooManyPairs {
                count,
                max: limits.max_pairs,
            });
        }
        if count as usize * 8 > c.remaining() {
            return Err(ProtoError::TooManyPairs {
                count,
                max: (c.remaining() / 8) as u32,
            });
        }
        let start = c.remaining();
        let mut measure = Cursor::new(c.rest_peek(), c.frame_type());
        for _ in 0..count {
            measure.str(limits.max_key, "pair key")?;
            measure.str(limits.max_value, "pair value")?;
        }
        let used = start - measure.remaining();
        let raw = c.bytes(used, "pair list")?;
        Ok(PairList { count, raw })
    }
}

impl fmt::Debug for PairList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl<'a> IntoIterator for PairList<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = PairIter<'a>;
    fn into_iter(self) -> PairIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`PairList`]; yields `(key, value)` slices into the frame buffer.
#[derive(Clone, Debug)]
pub struct PairIter<'a> {
    raw: &'a [u8],
    left: u32,
}

impl<'a> PairIter<'a> {
    fn take_str(&mut self) -> Option<&'a [u8]> {
        let len_bytes: [u8; 4] = self.raw.get(..4)?.try_into().ok()?;
        let len = u32::from_le_bytes(len_bytes) as usize;
        let s = self.raw.get(4..4 + len)?;
        self.raw = &self.raw[4 + len..];
        Some(s)
    }
}

impl<'a> Iterator for PairIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The list was validated when it was built, so these cannot fail; if they somehow
        // did, the iterator just ends.
        let k = self.take_str()?;
        let v = self.take_str()?;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// An owned pair list under construction, for headers and trailers. (The environ has its
/// own single-buffer builder, [`super::EnvironBuilder`].)
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PairListBuf {
    count: u32,
    raw: Vec<u8>,
}

impl PairListBuf {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a pair, checking key, value and count against the protocol ceilings.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let l = Limits::PROTOCOL;
        if self.count >= l.max_pairs {
            return Err(ProtoError::TooManyPairs {
                count: self.count.saturating_add(1),
                max: l.max_pairs,
            });
        }
        wire::check_len(key.len(), l.max_key, "pair key")?;
        wire::check_len(value.len(), l.max_value, "pair value")?;
        wire::put_u32(&mut self.raw, key.len() as u32);
        self.raw.extend_from_slice(key);
        wire::put_u32(&mut self.raw, value.len() as u32);
        self.raw.extend_from_slice(value);
        self.count += 1;
        Ok(())
    }

    /// Build from an iterator of pairs.
    pub fn from_pairs<'p, I>(pairs: I) -> Result<Self>
    where
        I: IntoIterator<Item = (&'p [u8], &'p [u8])>,
    {
        let mut b = Self::new();
        for (k, v) in pairs {
            b.push(k, v)?;
        }
        Ok(b)
    }

    /// Borrow as a [`PairList`] for putting into a message.
    pub fn as_list(&self) -> PairList<'_> {
        PairList {
            count: self.count,
            raw: &self.raw,
        }
    }
}

impl fmt::Debug for PairListBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_list().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::frame::FrameType;

    fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(PairList<'a>, usize)> {
        let mut c = Cursor::new(bytes, FrameType::Environ);
        let l = PairList::decode(&mut c, limits)?;
        Ok((l, c.remaining()))
    }

    #[test]
    fn round_trip_keeps_order_and_duplicates() {
        let b = PairListBuf::from_pairs([
            (&b"Set-Cookie"[..], &b"a=1"[..]),
            (b"Set-Cookie", b"b=2"),
            (b"", b""),
            (b"K", b"\0\xff binary"),
        ])
        .unwrap();
        let mut out = Vec::new();
        b.as_list().put(&mut out);
        out.extend_from_slice(b"tail");
        let (l, rest) = decode(&out, &Limits::default()).unwrap();
        assert_eq!(rest, 4);
        assert_eq!(l, b.as_list());
        assert_eq!(l.len(), 4);
        assert_eq!(l.encoded_len(), out.len() - 4);
        let v: Vec<_> = l.iter().collect();
        assert_eq!(v[1], (&b"Set-Cookie"[..], &b"b=2"[..]));
        assert_eq!(l.get(b"Set-Cookie"), Some(&b"a=1"[..]));
        assert_eq!(l.get(b"nope"), None);
        assert_eq!(format!("{:?}", b), format!("{:?}", l));
    }

    #[test]
    fn count_checked_before_anything() {
        let mut out = Vec::new();
        wire::put_u32(&mut out, u32::MAX);
        assert!(matches!(
            decode(&out, &Limits::default()),
            Err(ProtoError::TooManyPairs {
                count: u32::MAX,
                ..
            })
        ));
        let mut out = Vec::new();
        wire::put_u32(&mut out, 3);
        out.extend_from_slice(&[0; 16]); // room for 2 empty pairs only
        assert!(matches!(
            decode(&out, &Limits::default()),
            Err(ProtoError::TooManyPairs { count: 3, max: 2 })
        ));
        let tight = Limits {
            max_pairs: 1,
            ..Limits::default()
        };
        let b = PairListBuf::from_pairs([(&b"a"[..], &b"b"[..]), (b"c", b"d")]).unwrap();
        let mut out = Vec::new();
        b.as_list().put(&mut out);
        assert!(matches!(
            decode(&out, &tight),
            Err(ProtoError::TooManyPairs { count: 2, max: 1 })
        ));
    }

    #[test]
    fn key_and_value_caps() {
        let b = PairListBuf::from_pairs([(&b"key"[..], &b"value"[..])]).unwrap();
        let mut out = Vec::new();
        b.as_list().put(&mut out);
        let l = Limits {
            max_key: 2,
            ..Limits::default()
        };
        assert!(matches!(
            decode(&out, &l),
            Err(ProtoError::StringTooLong {
                field: "pair key",
                ..
            })
        ));
        let l = Limits {
            max_value: 4,
            ..Limits::default()
        };
        assert!(matches!(
            decode(&out, &l),
            Err(ProtoError::StringTooLong {
                field: "pair value",
                ..
            })
        ));
        let big = vec![0u8; MAX_KEY_PLUS_ONE];
        assert!(PairListBuf::new().push(&big, b"").is_err());
    }

    const MAX_KEY_PLUS_ONE: usize = crate::proto::frame::MAX_KEY as usize + 1;

    #[test]
    fn truncated_pair() {
        let b = PairListBuf::from_pairs([(&b"key"[..], &b"value"[..])]).unwrap();
        let mut out = Vec::new();
        b.as_list().put(&mut out);
        out.pop();
        assert!(matches!(
            decode(&out, &Limits::default()),
            Err(ProtoError::Truncated { .. })
        ));
    }

    #[test]
    fn pushing_past_pair_cap_fails() {
        let mut b = PairListBuf::new();
        for _ in 0..crate::proto::frame::MAX_PAIRS {
            b.push(b"", b"").unwrap();
        }
        assert!(matches!(
            b.push(b"", b""),
            Err(ProtoError::TooManyPairs { .. })
        ));
    }
}
