//! The only C-facing code of the module: the committed bindgen output
//! (`sys`), the declarations of the C shim (`shim`), the one wrapper every
//! `extern "C"` entry point runs through (`entry`), logging (`log`), the
//! generic configuration trampolines (`config`: create/merge records,
//! `directive`: the directive callback with a `cmd_parms` view) and small
//! safe views of Apache's request, server, connection (`conn`), pool, table
//! and output brigade (`brigade`) structures, APR's other-child registration
//! (`other_child`), a copy of the scoreboard (`scoreboard`) and process-level calls for daemons (`process`). Nothing
//! outside this folder dereferences an Apache pointer or declares an
//! `extern "C"` function, except the crate root: `hooks.rs` and `lib.rs` only
//! hand Apache's pointers to `entry`. Imports nothing of the crate but
//! `crate::wsgi_module`.

pub mod brigade;
pub mod config;
pub mod conftree;
pub mod conn;
pub mod directive;
pub mod entry;
pub mod log;
pub mod log_ids;
pub mod mpm;
pub mod other_child;
pub mod pool;
pub mod process;
pub mod regex;
pub mod request;
pub mod scoreboard;
pub mod shim;
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    unsafe_op_in_unsafe_fn,
    missing_unsafe_on_extern
)]
#[rustfmt::skip]
pub mod sys;
pub mod table;

use std::ffi::{CStr, c_char};

/// Reads a possibly-NULL C string owned by Apache as UTF-8, replacing
/// invalid bytes. Returns an empty string for NULL.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that lives for `'a`.
pub unsafe fn cstr<'a>(p: *const c_char) -> std::borrow::Cow<'a, str> {
    if p.is_null() {
        return std::borrow::Cow::Borrowed("");
    }
    // SAFETY: the caller guarantees a valid NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy()
}

/// Reads a possibly-NULL C string as raw bytes (for latin-1 decoding).
///
/// # Safety
/// As [`cstr`].
pub unsafe fn cbytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees a valid NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}
