//! mod_wsgi's auth scripts in the Apache child: the `wsgi` authn provider
//! (`AuthBasicProvider wsgi` calls `WSGIAuthUserScript`'s
//! `check_password(environ, user, password)`, `AuthDigestProvider wsgi` its
//! `get_realm_hash(environ, user, realm)`), the `wsgi-group` authz provider
//! (`Require wsgi-group NAME...` calls `WSGIAuthGroupScript`'s
//! `groups_for_user(environ, user)`) and the access_checker hook
//! (`WSGIAccessScript`'s `allow_access(environ, host)`), with mod_wsgi 6's
//! answers for each result (`wsgi_auth.c`). The C entry points are the
//! crate root's (`hooks.rs`, each through `apache::entry`); the shim
//! registers them (`apxs/shim.c`).

mod call;
mod environ;

use crate::apache::log::{self, Level};
use crate::apache::log_ids::{ACCESS_DENIED, AUTH_BAD_RESULT, AUTH_NO_SCRIPT, GROUP_NOT_MEMBER};
use crate::apache::request::Request;
use crate::apache::shim::{AuthnStatus, AuthzStatus};
use crate::apache::sys;
use crate::config::DirConfig;
use call::{Call, Reading};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};
use std::ffi::c_int;

fn dir(r: &Request<'_>) -> DirConfig {
    r.dir_config::<DirConfig>().cloned().unwrap_or_default()
}

fn no_script(r: &Request<'_>, what: &str) {
    log::request(
        Level::Err,
        r,
        &format!("{AUTH_NO_SCRIPT} Location of WSGI {what} script not provided."),
    );
}

pub fn password_check(mut r: Request<'_>, user: &[u8], password: &[u8]) -> AuthnStatus {
    let dir = dir(&r);
    let Some(script) = &dir.auth_user_script else {
        no_script(&r, "user authentication");
        return AuthnStatus::GeneralError;
    };
    let c = Call {
        script,
        function: "check_password",
        missing: "Target WSGI user authentication script '{script}' does not provide 'Basic' auth provider.",
        reloading: dir.script_reloading(),
    };
    let args = [Some(user), Some(password)];
    let read = |v: &Bound<'_, PyAny>| -> Reading<(AuthnStatus, Option<String>)> {
        if v.is_none() {
            return Ok(Ok((AuthnStatus::UserNotFound, None)));
        }
        if let Ok(b) = v.cast::<PyBool>() {
            let s = if b.is_true() {
                AuthnStatus::Granted
            } else {
                AuthnStatus::Denied
            };
            return Ok(Ok((s, None)));
        }
        if let Ok(s) = v.cast::<PyString>() {
            let name = s.to_str()?.to_string();
            if name.is_empty() {
                return Ok(Err(format!(
                    "{AUTH_BAD_RESULT} Basic auth provider returned empty user name string."
                )));
            }
            return Ok(Ok((AuthnStatus::Granted, Some(name))));
        }
        Ok(Err(format!(
            "{AUTH_BAD_RESULT} Basic auth provider must return True, False, None or user name as string."
        )))
    };
    match call::run(&r, &c, &args, read) {
        Some((status, name)) => {
            if let Some(name) = name {
                r.set_user(name.as_bytes());
            }
            status
        }
        None => AuthnStatus::GeneralError,
    }
}

pub fn realm_hash(r: &Request<'_>, user: &[u8], realm: &[u8]) -> (AuthnStatus, Option<Vec<u8>>) {
    let dir = dir(r);
    let Some(script) = &dir.auth_user_script else {
        no_script(r, "user authentication");
        return (AuthnStatus::GeneralError, None);
    };
    let c = Call {
        script,
        function: "get_realm_hash",
        missing: "Target WSGI user authentication script '{script}' does not provide 'Digest' auth provider.",
        reloading: dir.script_reloading(),
    };
    let args = [Some(user), Some(realm)];
    let read = |v: &Bound<'_, PyAny>| -> Reading<Option<Vec<u8>>> {
        if v.is_none() {
            return Ok(Ok(None));
        }
        let hash = if let Ok(b) = v.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = v.cast::<PyString>() {
            let encoded = s.call_method1("encode", ("latin-1",)).map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "Digest auth provider must return None or string object, value containing non 'latin-1' characters found",
                )
            })?;
            encoded.cast::<PyBytes>()?.as_bytes().to_vec()
        } else {
            return Ok(Err(format!(
                "{AUTH_BAD_RESULT} Digest auth provider must return None or string object."
            )));
        };
        if hash.is_empty() || hash.contains(&0) {
            return Ok(Err(format!(
                "{AUTH_BAD_RESULT} Digest auth provider returned empty realm hash."
            )));
        }
        Ok(Ok(Some(hash)))
    };
    match call::run(r, &c, &args, read) {
        Some(None) => (AuthnStatus::UserNotFound, None),
        Some(Some(hash)) => (AuthnStatus::UserFound, Some(hash)),
        None => (AuthnStatus::GeneralError, None),
    }
}

/// The groups `groups_for_user` names, or `None` (logged).
fn groups(r: &Request<'_>, dir: &DirConfig, user: &[u8]) -> Option<Vec<Vec<u8>>> {
    let script = dir.auth_group_script.as_ref()?;
    let c = Call {
        script,
        function: "groups_for_user",
        missing: "Target WSGI group authentication script '{script}' does not provide 'groups_for_user' callable.",
        reloading: dir.script_reloading(),
    };
    let path = script.script.clone();
    let args = [Some(user)];
    let read = |v: &Bound<'_, PyAny>| -> Reading<Vec<Vec<u8>>> {
        let Ok(items) = v.try_iter() else {
            return Ok(Err(format!(
                "{AUTH_BAD_RESULT} Result returned from 'groups_for_user' in '{path}' is not iterable; expected an iterable sequence of byte strings."
            )));
        };
        let mut out = Vec::new();
        for item in items {
            let item = item?;
            let name = if let Ok(s) = item.cast::<PyString>() {
                match s.call_method1("encode", ("latin-1",)) {
                    Ok(b) => b.cast::<PyBytes>()?.as_bytes().to_vec(),
                    Err(_) => {
                        return Ok(Err(format!(
                            "{AUTH_BAD_RESULT} Item returned from 'groups_for_user' in '{path}' is a string containing characters that cannot be encoded as latin-1; expected a byte string."
                        )));
                    }
                }
            } else if let Ok(b) = item.cast::<PyBytes>() {
                b.as_bytes().to_vec()
            } else {
                return Ok(Err(format!(
                    "{AUTH_BAD_RESULT} Item returned from 'groups_for_user' in '{path}' is not a byte string."
                )));
            };
            out.push(name);
        }
        Ok(Ok(out))
    };
    call::run(r, &c, &args, read)
}

pub fn authorize(r: &Request<'_>, require_args: &str) -> AuthzStatus {
    let Some(user) = r.user() else {
        return AuthzStatus::DeniedNoUser;
    };
    let dir = dir(r);
    if dir.auth_group_script.is_none() {
        no_script(r, "group authorization");
        return AuthzStatus::Denied;
    }
    let Some(groups) = groups(r, &dir, user) else {
        return AuthzStatus::Denied;
    };
    let who = String::from_utf8_lossy(user);
    if groups.is_empty() {
        log::request(
            Level::Err,
            r,
            &format!(
                "{GROUP_NOT_MEMBER} Authorization of user '{who}' to access '{}' failed. User is not a member of any groups.",
                r.uri()
            ),
        );
        return AuthzStatus::Denied;
    }
    let wanted = crate::config::words::split(require_args);
    if wanted
        .iter()
        .any(|w| groups.iter().any(|g| g == w.as_bytes()))
    {
        return AuthzStatus::Granted;
    }
    log::request(
        Level::Err,
        r,
        &format!(
            "{GROUP_NOT_MEMBER} Authorization of user '{who}' to access '{}' failed. User is not a member of designated groups.",
            r.uri()
        ),
    );
    AuthzStatus::Denied
}

pub fn check_access(r: Request<'_>) -> c_int {
    let dir = dir(&r);
    let Some(script) = &dir.access_script else {
        return sys::DECLINED;
    };
    let c = Call {
        script,
        function: "allow_access",
        missing: "Target WSGI host access script '{script}' does not provide 'allow_access' callable.",
        reloading: dir.script_reloading(),
    };
    let host = r.remote_host().map(<[u8]>::to_vec);
    let path = script.script.clone();
    let args = [host.as_deref()];
    let read = |v: &Bound<'_, PyAny>| -> Reading<Option<bool>> {
        if v.is_none() {
            return Ok(Ok(None));
        }
        match v.cast::<PyBool>() {
            Ok(b) => Ok(Ok(Some(b.is_true()))),
            Err(_) => Ok(Err(format!(
                "{AUTH_BAD_RESULT} Result returned from 'allow_access' in '{path}' must be a boolean or None."
            ))),
        }
    };
    match call::run(&r, &c, &args, read) {
        Some(None) => sys::DECLINED,
        Some(Some(true)) => sys::OK as c_int,
        _ => {
            if r.access_denial_logged() {
                let file = String::from_utf8_lossy(r.filename().unwrap_or(b""));
                log::request(
                    Level::Err,
                    &r,
                    &format!("{ACCESS_DENIED} Client denied by server configuration: '{file}'."),
                );
            }
            sys::HTTP_FORBIDDEN as c_int
        }
    }
}
