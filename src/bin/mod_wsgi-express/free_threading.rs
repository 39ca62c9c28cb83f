//! `--free-threading`, as pip's mod_wsgi-express 6.1.1: on a Python build with
//! free-threading support (PEP 703, `Py_GIL_DISABLED`) it writes `WSGIFreeThreading On`
//! (which the module then checks); on any other build express refuses to start, with
//! the original's reason. The build's Python is the module's (this executable is built
//! with it). Called by `resolve.rs` and `httpd_conf.rs`; no Python.

use anyhow::{Result, bail};
use std::fmt::Write as _;

/// Whether the Python the module is built against is free-threaded.
const GIL_DISABLED: bool = matches!(env!("MOD_WSGI_PYTHON_GIL_DISABLED").as_bytes(), b"1");

/// Checks the option against the build; true when the directive is to be written.
pub fn resolve(given: bool) -> Result<bool> {
    check(given, GIL_DISABLED)
}

fn check(given: bool, gil_disabled: bool) -> Result<bool> {
    if given && !gil_disabled {
        bail!(
            "--free-threading requires a Python build with free-threading support (PEP 703); \
             the module's Python {} is not one (rebuild Python with --disable-gil to use it)",
            crate::python_home::BUILD_PYTHON_VERSION
        );
    }
    Ok(given)
}

/// `WSGIFreeThreading On`, with the other server-wide Python settings.
pub fn write(out: &mut String, on: bool) {
    if on {
        let _ = writeln!(out, "WSGIFreeThreading On");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_without_a_free_threaded_build() {
        let err = check(true, false).unwrap_err().to_string();
        assert!(
            err.contains("requires a Python build with free-threading"),
            "{err}"
        );
        assert!(check(true, true).unwrap());
        assert!(!check(false, false).unwrap());
        let mut out = String::new();
        write(&mut out, true);
        assert_eq!(out, "WSGIFreeThreading On\n");
    }
}
