//! The directive callback: the shim routes every `WSGI*` directive of its
//! command table to [`entry`], which catches panics, gives the parser a safe
//! view of the `cmd_parms` ([`Cmd`]) and this module's server and directory
//! records, and hands Apache the error string. The parser (`crate::config`)
//! implements [`Directives`]; `hooks.rs` names the instantiation. Runs while
//! Apache reads the configuration (single-threaded, in the parent).

use super::pool::Pool;
use super::request::module_config_ptr;
use super::{entry as wrap, sys};
use std::borrow::Cow;
use std::ffi::{CStr, CString, c_char, c_void};

/// A parser of this module's directives.
pub trait Directives {
    /// This module's per-server record (in its server configuration slot).
    type Server: 'static;
    /// This module's per-directory record (the directive's `mconfig`).
    type Dir: Default + 'static;
    /// Parses directive `cmd` with the rest of its line `args`.
    fn directive(
        cmd: &Cmd<'_>,
        args: &str,
        server: &mut Self::Server,
        dir: &mut Self::Dir,
    ) -> Result<(), String>;
}

/// A directive in a context it is not allowed in (Apache's message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ContextError(pub String);

/// A safe view of the `cmd_parms` of the directive being read.
pub struct Cmd<'a> {
    raw: *mut sys::cmd_parms,
    parms: &'a sys::cmd_parms,
}

impl Cmd<'_> {
    /// The directive's name as in the command table.
    pub fn name(&self) -> Cow<'_, str> {
        // SAFETY: cmd->cmd is the command_rec of this directive, whose name
        // is a static string of the shim's table.
        unsafe { super::cstr((*self.parms.cmd).name) }
    }

    /// Err(Apache's message) when the directive is not in the main server
    /// configuration (inside `<VirtualHost>` or a directory section).
    pub fn check_global_only(&self) -> Result<(), ContextError> {
        // SAFETY: live cmd_parms.
        let err = unsafe { sys::ap_check_cmd_context(self.raw, sys::GLOBAL_ONLY) };
        if err.is_null() {
            return Ok(());
        }
        // SAFETY: Apache's error string is NUL-terminated.
        Err(ContextError(
            unsafe { CStr::from_ptr(err) }
                .to_string_lossy()
                .into_owned(),
        ))
    }

    /// The name of the section directly around this directive (e.g.
    /// `<WSGIInterpreterOptions`), if any.
    pub fn enclosing_section(&self) -> Option<String> {
        // SAFETY: cmd->directive is NULL or the live config-tree node of this
        // directive; its parent is NULL or a live node; names are C strings.
        unsafe {
            let node = self.parms.directive.as_ref()?;
            let parent = node.parent.as_ref()?;
            (!parent.directive.is_null()).then(|| super::cstr(parent.directive).into_owned())
        }
    }

    /// The names of the directives written directly inside this one (a
    /// section), in order.
    pub fn child_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: as in `enclosing_section`; the children form a NULL-ended list.
        unsafe {
            let Some(node) = self.parms.directive.as_ref() else {
                return out;
            };
            let mut child = node.first_child;
            while let Some(c) = child.as_ref() {
                if !c.directive.is_null() {
                    out.push(super::cstr(c.directive).into_owned());
                }
                child = c.next;
            }
        }
        out
    }

    /// The server record the directive is read into (for logging).
    pub fn server(&self) -> super::request::Server {
        // SAFETY: cmd->server is the live server_rec being configured; it
        // lives in the configuration pool.
        unsafe { super::request::Server::from_ptr(self.parms.server) }
    }

    /// The configuration pool (lives as long as the configuration).
    pub fn pool(&self) -> Pool {
        // SAFETY: the command pool lives as long as the configuration.
        unsafe { Pool::from_ptr(self.parms.pool) }
    }
}

/// The shim's callback for every directive in its command table.
///
/// # Safety
/// Called by Apache only, with the live `cmd_parms` of the directive, the
/// directory record `mconfig` (NULL or an `H::Dir` created by this module's
/// `create_dir` trampoline) and the NUL-terminated rest of the line; the
/// server's slot holds an `H::Server`.
pub unsafe extern "C" fn entry<H: Directives>(
    cmd: *mut sys::cmd_parms,
    mconfig: *mut c_void,
    args: *const c_char,
) -> *const c_char {
    if cmd.is_null() {
        return std::ptr::null();
    }
    // SAFETY: Apache passes a live cmd_parms for the directive being read.
    let parms = unsafe { &*cmd };
    let view = Cmd { raw: cmd, parms };
    let result = wrap::config_hook(|| {
        // SAFETY: the rest of the directive line, NUL-terminated (or NULL).
        let line = unsafe { super::cstr(args) };
        // SAFETY: our server slot always holds an H::Server created by us;
        // configuration is read single-threaded in the parent.
        let server =
            unsafe { module_config_ptr::<H::Server>((*view.parms.server).module_config).as_mut() }
                .ok_or("module configuration missing")?;
        let mut scratch = H::Dir::default();
        let dir = if mconfig.is_null() {
            &mut scratch
        } else {
            // SAFETY: for our directives mconfig is our H::Dir.
            unsafe { &mut *(mconfig as *mut H::Dir) }
        };
        H::directive(&view, &line, server, dir)
    });
    match result {
        Ok(()) => std::ptr::null(),
        Err(msg) => {
            let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
            // SAFETY: copies the message into the command pool Apache reads it from.
            unsafe { sys::apr_pstrdup(view.parms.pool, c.as_ptr()) }
        }
    }
}
