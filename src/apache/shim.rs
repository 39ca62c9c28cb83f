//! Declarations of the C shim (`apxs/shim.c`): the callback table handed to
//! it from `register_hooks`, the command table, module-tagged logging and the
//! brigade macros. Called from the rest of `src/apache` only.

use super::sys::{
    apr_bucket, apr_bucket_brigade, apr_pool_t, apr_status_t, cmd_parms, command_rec,
};
use super::sys::{request_rec, server_rec};
use std::ffi::{c_char, c_int, c_void};

/// The Rust entry points the shim registers with Apache.
#[repr(C)]
pub struct Callbacks {
    pub directive:
        unsafe extern "C" fn(*mut cmd_parms, *mut c_void, *const c_char) -> *const c_char,
    pub post_config: unsafe extern "C" fn(
        *mut apr_pool_t,
        *mut apr_pool_t,
        *mut apr_pool_t,
        *mut server_rec,
    ) -> c_int,
    pub pre_mpm: unsafe extern "C" fn(*mut apr_pool_t) -> c_int,
    pub child_init: unsafe extern "C" fn(*mut apr_pool_t, *mut server_rec),
    pub translate_name: unsafe extern "C" fn(*mut request_rec) -> c_int,
    pub handler: unsafe extern "C" fn(*mut request_rec) -> c_int,
    /// Apache's monitor hook (the parent's maintenance loop).
    pub monitor: unsafe extern "C" fn(*mut apr_pool_t, *mut server_rec) -> c_int,
    pub access_checker: unsafe extern "C" fn(*mut request_rec) -> c_int,
    /// The `wsgi` authn provider's `check_password`: an [`AuthnStatus`].
    pub check_password:
        unsafe extern "C" fn(*mut request_rec, *const c_char, *const c_char) -> c_int,
    /// Its `get_realm_hash` (the hash is written to the last argument).
    pub get_realm_hash: unsafe extern "C" fn(
        *mut request_rec,
        *const c_char,
        *const c_char,
        *mut *mut c_char,
    ) -> c_int,
    /// The `wsgi-group` authz provider: an [`AuthzStatus`].
    pub check_authorization: unsafe extern "C" fn(*mut request_rec, *const c_char) -> c_int,
}

/// mod_auth.h's `authn_status` (the shim checks the values at build time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum AuthnStatus {
    Denied = 0,
    Granted = 1,
    UserFound = 2,
    UserNotFound = 3,
    GeneralError = 4,
}

/// mod_auth.h's `authz_status` (the shim checks the values at build time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum AuthzStatus {
    Denied = 0,
    Granted = 1,
    Neutral = 2,
    GeneralError = 3,
    DeniedNoUser = 4,
}

unsafe extern "C" {
    /// The command table (a NULL-terminated array in the shim).
    pub static wsgi_shim_command_table: [command_rec; 0];
    pub fn wsgi_shim_register_hooks(p: *mut apr_pool_t, callbacks: *const Callbacks);
    pub fn wsgi_shim_log_error(
        file: *const c_char,
        line: c_int,
        level: c_int,
        status: apr_status_t,
        s: *const server_rec,
        msg: *const c_char,
    );
    pub fn wsgi_shim_log_rerror(
        file: *const c_char,
        line: c_int,
        level: c_int,
        status: apr_status_t,
        r: *const request_rec,
        msg: *const c_char,
    );
    pub fn wsgi_shim_brigade_insert_tail(bb: *mut apr_bucket_brigade, b: *mut apr_bucket);
    pub fn wsgi_shim_brigade_empty(bb: *mut apr_bucket_brigade) -> c_int;
    pub fn wsgi_shim_get_client_block(
        r: *mut request_rec,
        buffer: *mut c_char,
        len: *mut usize,
    ) -> apr_status_t;
    pub fn wsgi_shim_access_denial_logged(r: *mut request_rec) -> c_int;
}
