//! Building the WSGI environ dict from what a host collected: the CGI
//! variables as raw bytes (decoded as latin-1, per PEP 3333), the `wsgi.*`
//! entries and mod_wsgi's own `mod_wsgi.*` keys. Host-neutral: the daemon
//! worker receives the same variables over the wire and builds the same dict.

use super::vars::Vars;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Everything but the Python objects that goes into one request's environ.
#[derive(Debug, Default, Clone)]
pub struct EnvironData {
    /// CGI and `mod_wsgi.*` string variables, in order; values are raw bytes.
    pub vars: Vars,
    pub url_scheme: String,
    pub multithread: bool,
    pub multiprocess: bool,
    pub run_once: bool,
    /// `mod_wsgi.*` timing keys in seconds since the epoch.
    pub times: Vec<(&'static str, f64)>,
    /// `mod_wsgi.*` integer keys (`mod_wsgi.thread_id`).
    pub ints: Vec<(&'static str, i64)>,
    /// `WSGIPassApacheRequest On` in embedded mode: the address of the
    /// request's `request_rec`, passed as the `apache.request_rec` capsule.
    pub request_rec: Option<usize>,
}

impl EnvironData {
    /// Empty, with room for a typical request's variables.
    pub fn new() -> EnvironData {
        EnvironData {
            vars: Vars::with_capacity(64),
            ..EnvironData::default()
        }
    }

    pub fn set(&mut self, key: &str, value: impl AsRef<[u8]>) {
        self.vars.set(key, value.as_ref());
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.vars.get(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        self.vars.remove(key)
    }
}

/// An unnamed capsule holding the `request_rec` address, as mod_wsgi's
/// `PyCapsule_New(r, 0, 0)`; valid while the request runs.
pub fn request_capsule(py: Python<'_>, addr: usize) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; the capsule only carries the address (no
    // destructor), which is non-null as PyCapsule_New requires.
    let raw =
        unsafe { pyo3::ffi::PyCapsule_New(addr as *mut std::ffi::c_void, std::ptr::null(), None) };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }
}

/// `apache.version` and `mod_wsgi.version`, the two version keys of every
/// environ this module builds (requests, auth, access and dispatch scripts).
pub fn set_versions(env: &Bound<'_, PyDict>) -> PyResult<()> {
    use crate::apache::sys;
    let py = env.py();
    env.set_item(
        "apache.version",
        PyTuple::new(
            py,
            [
                sys::AP_SERVER_MAJORVERSION_NUMBER,
                sys::AP_SERVER_MINORVERSION_NUMBER,
                sys::AP_SERVER_PATCHLEVEL_NUMBER,
            ],
        )?,
    )?;
    let (a, b, c) = crate::python::modules::COMPAT_VERSION;
    env.set_item("mod_wsgi.version", PyTuple::new(py, [a, b, c])?)
}

/// Decodes bytes as latin-1 (every byte is one code point).
pub fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held; the pointer and length describe `bytes`;
    // latin-1 decoding cannot fail except for lack of memory.
    let raw = unsafe {
        pyo3::ffi::PyUnicode_DecodeLatin1(bytes.as_ptr().cast(), bytes.len() as _, std::ptr::null())
    };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, raw) }
}

/// Decodes a path with the filesystem encoding (surrogateescape), as
/// mod_wsgi does for `DOCUMENT_ROOT` and `SCRIPT_FILENAME`.
pub fn fs_decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held; the pointer and length describe `bytes`.
    let raw = unsafe {
        pyo3::ffi::PyUnicode_DecodeFSDefaultAndSize(bytes.as_ptr().cast(), bytes.len() as _)
    };
    // SAFETY: a new reference or NULL with an exception set.
    match unsafe { Bound::from_owned_ptr_or_err(py, raw) } {
        Ok(s) => Ok(s),
        Err(_) => latin1(py, bytes),
    }
}

/// Builds the environ dict. `input` and `errors` become `wsgi.input` and
/// `wsgi.errors`; `file_wrapper` (the `mod_wsgi.FileWrapper` type) becomes
/// `wsgi.file_wrapper`.
pub fn build<'py>(
    py: Python<'py>,
    data: &EnvironData,
    input: Bound<'py, PyAny>,
    errors: Bound<'py, PyAny>,
    file_wrapper: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let env = crate::python::dict::presized(
        py,
        data.vars.len() + data.times.len() + data.ints.len() + 12,
    )?;
    let keys = crate::python::keys::Keys::of_thread(py)?;
    let mut keys = crate::python::keys::Keys::borrow(&keys)?;
    let mut key = |k: &str| keys.get(py, k);
    for (k, v) in data.vars.iter() {
        // mod_wsgi never passes PATH (e.g. from PassEnv) to the application.
        if k == "PATH" {
            continue;
        }
        let value = if k == "DOCUMENT_ROOT" || k == "SCRIPT_FILENAME" {
            fs_decode(py, v)?
        } else {
            latin1(py, v)?
        };
        env.set_item(key(k), value)?;
    }
    env.set_item(key("wsgi.version"), PyTuple::new(py, [1, 0])?)?;
    env.set_item(key("wsgi.url_scheme"), &data.url_scheme)?;
    env.set_item(key("wsgi.input"), input)?;
    env.set_item(key("wsgi.errors"), errors)?;
    env.set_item(key("wsgi.multithread"), data.multithread)?;
    env.set_item(key("wsgi.multiprocess"), data.multiprocess)?;
    env.set_item(key("wsgi.run_once"), data.run_once)?;
    env.set_item(key("wsgi.input_terminated"), true)?;
    if let Some(fw) = file_wrapper {
        env.set_item(key("wsgi.file_wrapper"), fw)?;
    }
    set_versions(&env)?;
    for (k, v) in &data.times {
        env.set_item(key(k), *v)?;
    }
    for (k, v) in &data.ints {
        env.set_item(key(k), *v)?;
    }
    if let Some(addr) = data.request_rec {
        env.set_item("apache.request_rec", request_capsule(py, addr)?)?;
    }
    Ok(env)
}
