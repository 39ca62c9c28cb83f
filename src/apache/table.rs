//! A borrowed `apr_table_t` (request headers, notes, subprocess_env): lookup,
//! in-order iteration of raw byte entries, and copying setters.

use super::pool::Pool;
use super::sys;
use std::ffi::{CString, c_char};

/// A borrowed APR table; valid for the lifetime of the request or pool that owns it.
#[derive(Clone, Copy)]
pub struct Table(*mut sys::apr_table_t);

/// Calls `f` with `s` as a NUL-terminated C string (NULs replaced by spaces),
/// built on the stack when short: table keys and small values are looked up
/// many times per request, and heap copies of them cost every worker thread
/// malloc traffic (and glibc arena memory) for nothing.
fn with_cstr<R>(s: &[u8], f: impl FnOnce(*const c_char) -> R) -> R {
    let mut stack = [0u8; 128];
    if s.len() < stack.len() {
        for (d, &b) in stack.iter_mut().zip(s) {
            *d = if b == 0 { b' ' } else { b };
        }
        // stack[s.len()] is still 0: the terminator.
        return f(stack.as_ptr() as *const c_char);
    }
    let clean: Vec<u8> = s.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
    let c = CString::new(clean).unwrap_or_default();
    f(c.as_ptr())
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
        // SAFETY: live table, NUL-terminated key; the value lives as long as the table.
        with_cstr(k.as_bytes(), |k| unsafe {
            super::cbytes(sys::apr_table_get(self.0, k))
        })
    }

    /// `get` decoded lossily as UTF-8.
    pub fn get_str(&self, k: &str) -> Option<String> {
        self.get(k).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Every (key, value) entry in insertion order, duplicates included.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let (base, n) = if self.0.is_null() {
            (std::ptr::null(), 0)
        } else {
            // SAFETY: live table; apr_table_elts returns its backing array.
            let arr = unsafe { &*sys::apr_table_elts(self.0) };
            (
                arr.elts as *const sys::apr_table_entry_t,
                arr.nelts.max(0) as usize,
            )
        };
        (0..n).filter_map(move |i| {
            // SAFETY: i < nelts, and the array holds apr_table_entry_t elements.
            let e = unsafe { &*base.add(i) };
            // SAFETY: keys and values are NUL-terminated strings owned by the table.
            let k = unsafe { super::cbytes(e.key) }?;
            // SAFETY: as above.
            let v = unsafe { super::cbytes(e.val) }.unwrap_or(b"");
            Some((k, v))
        })
    }

    /// Replaces every value of `k` with `v` (both copied by APR).
    pub fn set(&self, k: &str, v: &str) {
        with_cstr(k.as_bytes(), |k| {
            // SAFETY: live table; apr_table_set copies both strings.
            with_cstr(v.as_bytes(), |v| unsafe {
                sys::apr_table_set(self.0, k, v)
            })
        })
    }

    /// Adds a value under `k`, keeping existing ones (both copied by APR).
    pub fn add_bytes(&self, pool: Pool, k: &str, v: &[u8]) {
        let v = pool.strdup_bytes(v);
        // SAFETY: live table; apr_table_add copies both strings.
        with_cstr(k.as_bytes(), |k| unsafe {
            sys::apr_table_add(self.0, k, v)
        })
    }

    /// Removes every value of `k`.
    pub fn unset(&self, k: &str) {
        // SAFETY: live table, NUL-terminated key.
        with_cstr(k.as_bytes(), |k| unsafe { sys::apr_table_unset(self.0, k) })
    }
}
