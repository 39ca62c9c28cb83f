//! `WSGIDaemonProcess chroot=DIR`, parsed with mod_wsgi's rules: refused
//! when Apache does not start as root ("Cannot chroot WSGI daemon process
//! when not root."), the directory must be absolute ("Invalid chroot
//! directory for WSGI daemon process."); whether it exists is found when a
//! daemon starts, as mod_wsgi. Pure parsing, used by the option table of
//! `config::daemon_options`; `daemon::chroot` applies it.

use super::daemon_options::DaemonOptions;
use super::error::OptionValueError;

/// The check itself, given whether the configuration is read as root.
fn check(as_root: bool, v: &str) -> Result<String, OptionValueError> {
    if !as_root {
        return Err(OptionValueError::Bound(
            "Cannot chroot WSGI daemon process when not root.",
        ));
    }
    if !v.starts_with('/') {
        return Err(OptionValueError::Bound(
            "Invalid chroot directory for WSGI daemon process.",
        ));
    }
    // "/x/" and "/x" are the same root; "/" itself stays "/".
    let trimmed = v.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/" } else { trimmed }.to_string())
}

/// `chroot=DIR`.
pub fn chroot(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.chroot = Some(check(nix::unistd::geteuid().is_root(), v)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_mod_wsgi() {
        assert_eq!(check(true, "/srv/jail").unwrap(), "/srv/jail");
        assert_eq!(check(true, "/srv/jail/").unwrap(), "/srv/jail");
        assert_eq!(check(true, "/").unwrap(), "/");
        let e = check(true, "jail").unwrap_err().to_string();
        assert_eq!(e, "Invalid chroot directory for WSGI daemon process.");
        let e = check(false, "/srv/jail").unwrap_err().to_string();
        assert_eq!(e, "Cannot chroot WSGI daemon process when not root.");
    }
}
