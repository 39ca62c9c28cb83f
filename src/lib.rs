//! mod_wsgi-rs: an Apache httpd module, written in Rust, that hosts Python
//! WSGI applications as a drop-in replacement for mod_wsgi 6.
//!
//! Crate map, each folder importing only those listed after it: `hooks`
//! (the Apache hooks), `handler` (the Apache-child request path: URL
//! mapping, the `wsgi-script` handler, its embedded back end and its daemon
//! back end, the relay), `daemon` (the supervisor in the Apache parent, the
//! daemon process and its side of a request), `wsgi` (the host-neutral WSGI
//! core), `metrics` (per-process request metrics and telemetry), `python`
//! (interpreter lifecycle, thread states, the `mod_wsgi` module, script
//! loading), `config` (every directive and option parser and
//! the merged configuration), `apache` (the only C-facing code: bindings,
//! shim, entry wrapper, logging, request views) and `proto` (the daemon wire
//! protocol, no FFI); `stats` (the shared process statistics behind the
//! `wsgi-metrics` and `wsgi-health` endpoints) imports nothing of the crate. The exported module record `wsgi_module`, defined
//! below, is the only symbol this library exports.

// Unit tests are built without the module record, which leaves the hooks unused.
#![cfg_attr(any(test, feature = "standalone"), allow(dead_code, unused_imports))]

pub mod apache;
pub mod auth;
pub mod config;
pub mod daemon;
pub mod handler;
mod hooks;
pub mod metrics;
pub mod proto;
pub mod python;
pub mod stats;
pub mod wsgi;

use apache::sys;
use std::ptr::null_mut;

/// The Apache module record. Apache writes `module_index`, `next` and
/// `dynamic_load_handle`, so it must be writable; `name` is "mod_wsgi.c" so
/// `<IfModule mod_wsgi.c>` and hook ordering by name match mod_wsgi's.
///
/// Left out of unit-test builds and of the `standalone` feature (the
/// library linked into a benchmark): those executables do not run inside
/// httpd, and without the record nothing pulls Apache-calling code into them.
#[cfg(not(any(test, feature = "standalone")))]
#[unsafe(no_mangle)]
#[used]
#[allow(non_upper_case_globals)]
pub static mut wsgi_module: sys::module = sys::module {
    version: sys::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: sys::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    name: c"mod_wsgi.c".as_ptr(),
    dynamic_load_handle: null_mut(),
    next: null_mut(),
    magic: sys::MODULE_MAGIC_COOKIE as _,
    rewrite_args: None,
    create_dir_config: Some(apache::config::create_dir::<config::DirConfig>),
    merge_dir_config: Some(apache::config::merge::<config::DirConfig>),
    create_server_config: Some(apache::config::create_server::<config::ServerConfig>),
    merge_server_config: Some(apache::config::merge::<config::ServerConfig>),
    // Only the address of the shim's static table is taken (no read).
    cmds: (&raw const apache::shim::wsgi_shim_command_table).cast(),
    register_hooks: Some(register),
    flags: 0,
};

/// Registers the hooks (Apache calls this once per module load).
#[cfg(not(any(test, feature = "standalone")))]
unsafe extern "C" fn register(p: *mut sys::apr_pool_t) {
    // SAFETY: Apache passes its live configuration pool.
    unsafe { hooks::register_hooks(p) }
}
