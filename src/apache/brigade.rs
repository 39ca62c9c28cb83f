//! A request's response brigade: body bytes (transient or copied), FLUSH
//! buckets and file buckets, passed down the request's output filter chain.
//! Used by the embedded host (`handler::host::ApacheHost`) for both embedded
//! and daemon-mode responses, on the request thread with the GIL released
//! (`push_copy` only, which does no I/O, with it held).

use super::request::Request;
use super::{shim, sys};
use std::marker::PhantomData;
use std::os::fd::RawFd;

/// The output brigade of one request, created in the request pool on
/// first use.
pub struct Output<'r> {
    r: *mut sys::request_rec,
    bb: *mut sys::apr_bucket_brigade,
    _life: PhantomData<&'r mut sys::request_rec>,
}

impl<'r> Output<'r> {
    /// No brigade yet (nothing is allocated until something is pushed).
    pub fn new(r: &Request<'r>) -> Output<'r> {
        Output {
            r: r.as_ptr(),
            bb: std::ptr::null_mut(),
            _life: PhantomData,
        }
    }

    /// Whether anything was ever pushed (the brigade exists).
    pub fn is_used(&self) -> bool {
        !self.bb.is_null()
    }

    fn alloc(&self) -> *mut sys::apr_bucket_alloc_t {
        // SAFETY: the request (and its connection) live for 'r.
        unsafe { (*(*self.r).connection).bucket_alloc }
    }

    fn brigade(&mut self) -> *mut sys::apr_bucket_brigade {
        if self.bb.is_null() {
            // SAFETY: live request and connection; the brigade lives in r->pool.
            self.bb = unsafe { sys::apr_brigade_create((*self.r).pool, self.alloc()) };
        }
        self.bb
    }

    /// Appends `data` as a transient bucket: it must be passed (or set
    /// aside by a filter, which copies it) before `data` goes away, so call
    /// [`Output::pass`] before returning to the caller of the write.
    pub fn push_transient(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let bb = self.brigade();
        // SAFETY: live connection; the bucket joins this request's brigade
        // and is consumed by `pass`, within the borrow of `data` by contract.
        unsafe {
            let b =
                sys::apr_bucket_transient_create(data.as_ptr().cast(), data.len(), self.alloc());
            shim::wsgi_shim_brigade_insert_tail(bb, b);
        }
    }

    /// Appends a FLUSH bucket.
    pub fn push_flush(&mut self) {
        let bb = self.brigade();
        // SAFETY: live connection; the bucket joins this request's brigade.
        unsafe {
            shim::wsgi_shim_brigade_insert_tail(bb, sys::apr_bucket_flush_create(self.alloc()))
        };
    }

    /// Copies `data` into heap buckets of the brigade (no I/O). False when
    /// APR could not buffer it.
    pub fn push_copy(&mut self, data: &[u8]) -> bool {
        let bb = self.brigade();
        // SAFETY: live request; apr_brigade_write copies `data` (no flush
        // callback: no I/O).
        let rv = unsafe {
            sys::apr_brigade_write(
                bb,
                None,
                std::ptr::null_mut(),
                data.as_ptr().cast(),
                data.len(),
            )
        };
        rv == 0
    }

    /// Appends `len` bytes of the open file `fd` from `offset` as a file
    /// bucket, on a duplicate of `fd` that the request pool closes (a filter
    /// may set the bucket aside after the caller closed its file); `sendfile`
    /// lets the core filter use sendfile. False when that cannot be set up.
    pub fn push_file(&mut self, fd: RawFd, offset: u64, len: u64, sendfile: bool) -> bool {
        // SAFETY: dup of a descriptor the caller holds open.
        let mut dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return false;
        }
        let mut flags = sys::APR_FOPEN_READ as i32;
        if sendfile {
            flags |= sys::APR_FOPEN_SENDFILE_ENABLED as i32;
        }
        let bb = self.brigade();
        // SAFETY: the request pool lives as long as the request.
        let pool = unsafe { super::pool::Pool::from_ptr((*self.r).pool) };
        let mut file: *mut sys::apr_file_t = std::ptr::null_mut();
        // SAFETY: live pool; the apr_file_t lives in r->pool, which outlives
        // every bucket of this request.
        if unsafe { sys::apr_os_file_put(&mut file, &mut dup, flags, pool.as_ptr()) } != 0 {
            // SAFETY: our own duplicate, not handed to APR.
            unsafe { libc::close(dup) };
            return false;
        }
        pool.close_fd_on_cleanup(dup);
        // SAFETY: live brigade and pool; the file bucket refers to `file`.
        unsafe { sys::apr_brigade_insert_file(bb, file, offset as _, len as _, pool.as_ptr()) };
        true
    }

    /// Passes the brigade down the request's output filters and empties it;
    /// the status of `ap_pass_brigade` (0: success).
    pub fn pass(&mut self) -> sys::apr_status_t {
        let bb = self.brigade();
        // SAFETY: live request; the brigade belongs to it.
        unsafe {
            let rv = sys::ap_pass_brigade((*self.r).output_filters, bb);
            sys::apr_brigade_cleanup(bb.cast());
            rv
        }
    }
}
