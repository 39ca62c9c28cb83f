//! The module record's configuration slots: generic `extern "C"`
//! trampolines that create and merge this module's per-directory and
//! per-server records as typed Rust values owned by Apache's pools. The
//! record types (in `crate::config`) implement [`Record`]; the module record
//! in `lib.rs` names the instantiations. Called by Apache while it reads the
//! configuration (single-threaded, in the parent); no Python.

use super::pool::Pool;
use super::sys;
use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A configuration record Apache creates, merges and keeps in its pools.
pub trait Record: Clone + Default + 'static {
    /// `child` (the more specific record) merged over `parent`.
    fn merge(parent: &Self, child: &Self) -> Self;
}

/// `create_dir_config`: a default record in the pool.
///
/// # Safety
/// Called by Apache only, with a live pool that outlives the record.
pub unsafe extern "C" fn create_dir<T: Record>(
    p: *mut sys::apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    // SAFETY: Apache passes a live pool that outlives the config.
    unsafe { Pool::from_ptr(p) }.adopt(T::default()).cast()
}

/// `create_server_config`: a default record in the pool.
///
/// # Safety
/// As [`create_dir`].
pub unsafe extern "C" fn create_server<T: Record>(
    p: *mut sys::apr_pool_t,
    _s: *mut sys::server_rec,
) -> *mut c_void {
    // SAFETY: Apache passes a live pool that outlives the config.
    unsafe { Pool::from_ptr(p) }.adopt(T::default()).cast()
}

/// `merge_dir_config`/`merge_server_config`: `new` over `base`, in the
/// pool. A panicking merge keeps `new` (the more specific record).
///
/// # Safety
/// Called by Apache only, with a live pool and two records created by
/// [`create_dir`]/[`create_server`]/[`merge`] for the same `T`.
pub unsafe extern "C" fn merge<T: Record>(
    p: *mut sys::apr_pool_t,
    base: *mut c_void,
    new: *mut c_void,
) -> *mut c_void {
    // SAFETY: both were created by this module's trampolines for T and live
    // in pools that outlive this call.
    let (base, new) = unsafe { (&*(base as *const T), &*(new as *const T)) };
    let merged =
        catch_unwind(AssertUnwindSafe(|| T::merge(base, new))).unwrap_or_else(|_| new.clone());
    // SAFETY: live pool.
    unsafe { Pool::from_ptr(p) }.adopt(merged).cast()
}
