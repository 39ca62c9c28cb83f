//! A borrowed `apr_table_t` (request headers, notes, subprocess_env): lookup,
//! in-order iteration of raw byte entries, and copying setters.

use super::pool::Pool;
use super::sys;
use std::ffi::CString;

/// A borrowed APR table; valid for the lifetime of the request or pool that owns it.
#[derive(Clone, Copy)]
pub struct Table(*mut sys::apr_table_t);

fn key(k: &str) -> CString {
    CString::new(k.replace('\0', " ")).unwrap_or_default()
}

impl Table {
    /// # Safety
    /// `t` must be a live table for as long as the `Table` is used.
    pub unsafe fn from_ptr(t: *mut sys::apr_table_t) -> Table {
        Table(t)
    }

    /// The first value stored under `k` (case-insensitive), as raw bytes.
    pub fn get(&self, k: &str) -> Option<&[u8]> {
        if self.0.is_null() {
            return None;
        }
        let k = key(k);
        // SAFETY: live table, NUL-terminated key; the value lives as long as the table.
        unsafe { super::cbytes(sys::apr_table_get(self.0, k.as_ptr())) }
    }

    /// `get` decoded lossily as UTF-8.
    pub fn get_str(&self, k: &str) -> Option<String> {
        self.get(k).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Every (key, value) entry in insertion order, duplicates included.
    pub fn entries(&self) -> Vec<(&[u8], &[u8])> {
        if self.0.is_null() {
            return Vec::new();
        }
        // SAFETY: live table; apr_table_elts returns its backing array.
        let arr = unsafe { &*sys::apr_table_elts(self.0) };
        let base = arr.elts as *const sys::apr_table_entry_t;
        (0..arr.nelts.max(0) as usize)
            .filter_map(|i| {
                // SAFETY: i < nelts, and the array holds apr_table_entry_t elements.
                let e = unsafe { &*base.add(i) };
                // SAFETY: keys and values are NUL-terminated strings owned by the table.
                let k = unsafe { super::cbytes(e.key) }?;
                // SAFETY: as above.
                let v = unsafe { super::cbytes(e.val) }.unwrap_or(b"");
                Some((k, v))
            })
            .collect()
    }

    /// Replaces every value of `k` with `v` (both copied by APR).
    pub fn set(&self, k: &str, v: &str) {
        let (k, v) = (key(k), key(v));
        // SAFETY: live table; apr_table_set copies both strings.
        unsafe { sys::apr_table_set(self.0, k.as_ptr(), v.as_ptr()) }
    }

    /// Adds a value under `k`, keeping existing ones (both copied by APR).
    pub fn add_bytes(&self, pool: Pool, k: &str, v: &[u8]) {
        let v = pool.strdup_bytes(v);
        let k = key(k);
        // SAFETY: live table; apr_table_add copies both strings.
        unsafe { sys::apr_table_add(self.0, k.as_ptr(), v) }
    }

    /// Removes every value of `k`.
    pub fn unset(&self, k: &str) {
        let k = key(k);
        // SAFETY: live table, NUL-terminated key.
        unsafe { sys::apr_table_unset(self.0, k.as_ptr()) }
    }
}
