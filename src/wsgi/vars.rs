//! An ordered map of CGI-style variables (text keys, byte values) kept in
//! one byte buffer plus an index, so that collecting the forty-odd
//! variables of a request costs two allocations instead of two per
//! variable. Keys are few and short: lookups are linear, as in APR tables.

/// Where one variable's key and value sit in the buffer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: (u32, u32),
    value: (u32, u32),
}

/// Variables in insertion order; setting an existing key replaces its
/// value in place (in order), removing keeps the order of the rest.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    bytes: Vec<u8>,
    index: Vec<Entry>,
}

impl Vars {
    /// Room for about `n` variables of typical size.
    pub fn with_capacity(n: usize) -> Vars {
        Vars {
            bytes: Vec::with_capacity(n * 48),
            index: Vec::with_capacity(n),
        }
    }

    fn store(&mut self, data: &[u8]) -> (u32, u32) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(data);
        (start, data.len() as u32)
    }

    fn slice(&self, (start, len): (u32, u32)) -> &[u8] {
        &self.bytes[start as usize..(start + len) as usize]
    }

    fn key_of(&self, e: &Entry) -> &str {
        // Keys are stored only from `&str` and sliced at their own bounds.
        std::str::from_utf8(self.slice(e.key)).unwrap_or_default()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.index
            .iter()
            .position(|e| e.key.1 as usize == key.len() && self.slice(e.key) == key.as_bytes())
    }

    /// Sets `key` to `value`, replacing an existing value.
    pub fn set(&mut self, key: &str, value: &[u8]) {
        let v = self.store(value);
        match self.position(key) {
            Some(i) => self.index[i].value = v,
            None => {
                let k = self.store(key.as_bytes());
                self.index.push(Entry { key: k, value: v });
            }
        }
    }

    /// Adds `key` without looking for an existing one: for keys known to
    /// be new (they came from a map whose keys are unique).
    pub fn push_unique(&mut self, key: &str, value: &[u8]) {
        let k = self.store(key.as_bytes());
        let v = self.store(value);
        self.index.push(Entry { key: k, value: v });
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.position(key).map(|i| self.slice(self.index[i].value))
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        let i = self.position(key)?;
        let e = self.index.remove(i);
        Some(self.slice(e.value).to_vec())
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The variables in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.index
            .iter()
            .map(|e| (self.key_of(e), self.slice(e.value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_replaces_and_removes() {
        let mut v = Vars::with_capacity(4);
        v.set("A", b"1");
        v.set("B", b"2");
        v.set("C", b"3");
        v.set("A", b"one");
        assert_eq!(v.get("A"), Some(&b"one"[..]));
        assert_eq!(v.remove("B"), Some(b"2".to_vec()));
        assert_eq!(v.get("B"), None);
        v.push_unique("D", b"");
        let all: Vec<_> = v.iter().collect();
        assert_eq!(
            all,
            vec![("A", &b"one"[..]), ("C", &b"3"[..]), ("D", &b""[..])]
        );
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn a_key_that_is_a_prefix_is_a_different_key() {
        let mut v = Vars::default();
        v.set("HTTP_X", b"1");
        v.set("HTTP", b"2");
        assert_eq!(v.get("HTTP"), Some(&b"2"[..]));
        assert_eq!(v.get("HTTP_X"), Some(&b"1"[..]));
        assert!(v.get("HTTP_").is_none());
    }
}
