//! APR pools: copying strings into a pool (for fields Apache keeps after we
//! return) and tying a Rust value's lifetime to a pool with a cleanup.

use super::sys;
use std::ffi::{CString, c_char, c_void};

/// The child_cleanup of our registrations: nothing to do in a forked child
/// before exec. (Our own no-op rather than `apr_pool_cleanup_null`, so no code
/// takes the address of an APR symbol and executables that link this crate
/// without APR, such as the unit tests, still load.)
unsafe extern "C" fn no_child_cleanup(_data: *mut c_void) -> sys::apr_status_t {
    0
}

/// A borrowed APR pool.
#[derive(Clone, Copy)]
pub struct Pool(*mut sys::apr_pool_t);

impl Pool {
    /// # Safety
    /// `p` must be a live pool for as long as the `Pool` is used.
    pub unsafe fn from_ptr(p: *mut sys::apr_pool_t) -> Pool {
        Pool(p)
    }

    pub fn as_ptr(self) -> *mut sys::apr_pool_t {
        self.0
    }

    /// The pool this one was made from (None for a root pool).
    pub fn parent(self) -> Option<Pool> {
        // SAFETY: a live pool; APR returns its parent pointer or NULL.
        let p = unsafe { sys::apr_pool_parent_get(self.0) };
        (!p.is_null()).then_some(Pool(p))
    }

    /// Copies `s` into the pool; NULs are replaced so the C string is whole.
    pub fn strdup(self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the pool is live; apr_pstrdup copies the NUL-terminated string.
        unsafe { sys::apr_pstrdup(self.0, c.as_ptr()) }
    }

    /// Copies raw bytes (with no interior NUL) into the pool as a C string.
    pub fn strdup_bytes(self, s: &[u8]) -> *const c_char {
        // SAFETY: the pool is live; apr_palloc returns len + 1 writable bytes.
        let dst = unsafe { sys::apr_palloc(self.0, s.len() + 1) } as *mut u8;
        if dst.is_null() {
            return std::ptr::null();
        }
        // SAFETY: `dst` has room for every byte of `s` plus the terminator.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, s.len() + 1) };
        for (d, &b) in out.iter_mut().zip(s) {
            *d = if b == 0 { b' ' } else { b };
        }
        out[s.len()] = 0;
        dst as *const c_char
    }

    /// Moves `value` into the pool: it is dropped when the pool is cleared or
    /// destroyed. Returns a raw pointer valid until then.
    pub fn adopt<T>(self, value: T) -> *mut T {
        unsafe extern "C" fn drop_box<T>(data: *mut c_void) -> sys::apr_status_t {
            let _ = std::panic::catch_unwind(|| {
                // SAFETY: `data` came from Box::into_raw in `adopt` and the
                // cleanup runs exactly once.
                drop(unsafe { Box::from_raw(data as *mut T) });
            });
            0
        }
        let raw = Box::into_raw(Box::new(value));
        // SAFETY: the pool is live; the cleanup takes ownership of `raw`.
        unsafe {
            sys::apr_pool_cleanup_register(
                self.0,
                raw as *const c_void,
                Some(drop_box::<T>),
                Some(no_child_cleanup),
            )
        };
        raw
    }

    /// Runs `f` when the pool is cleared or destroyed.
    pub fn on_cleanup(self, f: fn()) {
        unsafe extern "C" fn run(data: *mut c_void) -> sys::apr_status_t {
            // SAFETY: `data` is the fn pointer registered below.
            let f: fn() = unsafe { std::mem::transmute::<*mut c_void, fn()>(data) };
            let _ = std::panic::catch_unwind(f);
            0
        }
        // SAFETY: the pool is live; a fn pointer fits in a data pointer.
        unsafe {
            sys::apr_pool_cleanup_register(
                self.0,
                f as *const c_void,
                Some(run),
                Some(no_child_cleanup),
            )
        };
    }

    /// Closes `fd` when the pool is cleared or destroyed (the descriptor
    /// then belongs to the pool).
    pub fn close_fd_on_cleanup(self, fd: std::os::fd::RawFd) {
        unsafe extern "C" fn close_fd(data: *mut c_void) -> sys::apr_status_t {
            // SAFETY: `data` carries the descriptor registered below, closed once.
            unsafe { libc::close(data as usize as i32) };
            0
        }
        // SAFETY: the pool is live; the descriptor travels in the data pointer.
        unsafe {
            sys::apr_pool_cleanup_register(
                self.0,
                fd as usize as *const c_void,
                Some(close_fd),
                Some(no_child_cleanup),
            )
        };
    }

    /// Adds `component` (e.g. `mod_wsgi-rs/1.0 Python/3.12`) to the Server
    /// header and banner; `self` is the configuration pool of post_config.
    pub fn add_version_component(self, component: &str) {
        let c = CString::new(component.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the configuration pool is live; the string is copied.
        unsafe { sys::ap_add_version_component(self.0, c.as_ptr()) };
    }
}
