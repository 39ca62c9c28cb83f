//! `chroot=DIR` in a daemon process, as mod_wsgi: the process changes its
//! root directory after the fork, before it drops its privileges (mod_wsgi's
//! child setup order: chroot, setgid, setgroups/initgroups, setuid), so
//! Python, the WSGI script and everything the application opens are then
//! found inside DIR; and for each request `SCRIPT_FILENAME` (and a handler
//! script) is rewritten relative to DIR, a script outside DIR being refused
//! (500, WSGIRS0476), while `DOCUMENT_ROOT` is rewritten when it lies in DIR
//! and removed when it does not. Called by `bootstrap` (enter) and
//! `server` (rewrite) in the daemon process.

use super::error::StartError;
use crate::wsgi::environ::EnvironData;

/// Changes the root directory to `root` and the working directory to the
/// new `/` (so nothing outside stays reachable through the old one).
pub(super) fn enter(root: &str) -> Result<(), StartError> {
    let fail = |source| StartError::Chroot {
        root: root.to_string(),
        source,
    };
    nix::unistd::chroot(root).map_err(fail)?;
    nix::unistd::chdir("/").map_err(fail)
}

/// `path` as seen inside `root`, if it lies within it.
fn inside<'p>(root: &str, path: &'p str) -> Option<&'p str> {
    if root == "/" {
        return Some(path);
    }
    path.strip_prefix(root).filter(|rest| rest.starts_with('/'))
}

/// The path outside the chroot of `path` as seen inside it.
pub(super) fn outside(root: &str, path: &str) -> String {
    if root == "/" {
        path.to_string()
    } else {
        format!("{root}{path}")
    }
}

/// Rewrites the request's paths relative to `root`, as mod_wsgi; the error
/// is the log line's text when the script is not within `root`.
pub(super) fn rewrite(env: &mut EnvironData, root: &str) -> Result<(), String> {
    for key in ["SCRIPT_FILENAME", "mod_wsgi.handler_script"] {
        let Some(path) = env
            .get(key)
            .map(|p| String::from_utf8_lossy(p).into_owned())
        else {
            continue;
        };
        if path.is_empty() {
            continue;
        }
        match inside(root, &path) {
            Some(rest) => {
                let rest = rest.to_string();
                env.set(key, rest);
            }
            None => {
                return Err(format!(
                    "WSGI script '{path}' is not located within chroot directory '{root}'; \
                     rejecting request."
                ));
            }
        }
    }
    let doc_root = env
        .get("DOCUMENT_ROOT")
        .map(|p| String::from_utf8_lossy(p).into_owned());
    if let Some(doc_root) = doc_root {
        match inside(root, &doc_root).or((doc_root == root).then_some("/")) {
            Some(rest) => {
                let rest = rest.to_string();
                env.set("DOCUMENT_ROOT", rest);
            }
            None => {
                env.remove("DOCUMENT_ROOT");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvironData {
        let mut e = EnvironData::new();
        for (k, v) in pairs {
            e.set(k, v);
        }
        e
    }

    #[test]
    fn paths_are_rewritten_relative_to_the_root() {
        let mut e = env(&[
            ("SCRIPT_FILENAME", "/srv/jail/app/app.wsgi"),
            ("DOCUMENT_ROOT", "/srv/jail/htdocs"),
        ]);
        rewrite(&mut e, "/srv/jail").unwrap();
        assert_eq!(e.get("SCRIPT_FILENAME"), Some(b"/app/app.wsgi".as_slice()));
        assert_eq!(e.get("DOCUMENT_ROOT"), Some(b"/htdocs".as_slice()));
        assert_eq!(
            outside("/srv/jail", "/app/app.wsgi"),
            "/srv/jail/app/app.wsgi"
        );
    }

    #[test]
    fn document_root_outside_is_removed() {
        let mut e = env(&[
            ("SCRIPT_FILENAME", "/srv/jail/app.wsgi"),
            ("DOCUMENT_ROOT", "/var/www"),
        ]);
        rewrite(&mut e, "/srv/jail").unwrap();
        assert_eq!(e.get("DOCUMENT_ROOT"), None);
    }

    #[test]
    fn script_outside_is_refused() {
        for script in ["/srv/other/app.wsgi", "/srv/jailbreak/app.wsgi"] {
            let mut e = env(&[("SCRIPT_FILENAME", script)]);
            let why = rewrite(&mut e, "/srv/jail").unwrap_err();
            assert!(
                why.contains("is not located within chroot directory"),
                "{why}"
            );
        }
    }
}
