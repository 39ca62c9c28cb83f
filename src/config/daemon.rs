//! Daemon-mode configuration of a server record: the `WSGIDaemonProcess`
//! groups defined there (their options are parsed by `daemon_options`),
//! `WSGISocketPrefix`, `WSGISocketRotation` and `WSGIRestrictProcess`, with
//! their directive parsers (called through the table in `directives`).
//! Pure data; read by the supervisor in the Apache parent and by the
//! handler in Apache children.

use super::daemon_options::DaemonOptions;
use super::directives::Target;
use super::error::ConfigError;
use std::sync::Arc;

/// Daemon-mode configuration of one server record.
#[derive(Clone, Debug, Default)]
pub struct DaemonServerConfig {
    /// Groups defined in this server record (not inherited by virtual hosts).
    pub groups: Vec<Arc<DaemonOptions>>,
    /// `WSGISocketPrefix` (main server only).
    pub socket_prefix: Option<String>,
    /// `WSGISocketRotation` (main server only; default On).
    pub socket_rotation: Option<bool>,
}

impl DaemonServerConfig {
    /// A virtual host keeps its own groups; the global settings come from the main server.
    pub fn merge(parent: &DaemonServerConfig, child: &DaemonServerConfig) -> DaemonServerConfig {
        DaemonServerConfig {
            groups: child.groups.clone(),
            socket_prefix: parent.socket_prefix.clone(),
            socket_rotation: parent.socket_rotation,
        }
    }
}

/// `WSGIDaemonProcess name key=value ...`.
pub fn directive_daemon_process(
    t: &mut Target<'_>,
    _name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    let o = super::daemon_options::parse(args)?;
    if t.server.daemon.groups.iter().any(|g| g.name == o.name) {
        return Err(ConfigError::DuplicateGroup { group: o.name });
    }
    t.server.daemon.groups.push(Arc::new(o));
    Ok(())
}

/// `WSGISocketPrefix path` (relative paths are under ServerRoot).
pub fn directive_socket_prefix(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    match args {
        [p] if !p.is_empty() => {
            t.server.daemon.socket_prefix = Some(p.clone());
            Ok(())
        }
        // As before: the arguments are not listed, even when there were several.
        _ => Err(ConfigError::OneArgument {
            directive: name.to_string(),
            expected: "the path prefix of daemon sockets (e.g. run/wsgi)",
            got: Vec::new(),
        }),
    }
}

/// Refuses a socket prefix (absolute, ServerRoot applied) whose directory
/// other users can write, sticky bit or not: they could create files at
/// the names sockets will get. A directory that does not exist yet is left
/// to socket creation to report.
pub fn check_socket_directory(name: &str, prefix: &str) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::path::Path::new(prefix)
        .parent()
        .unwrap_or(std::path::Path::new("/"));
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o002 != 0 {
        return Err(ConfigError::SocketDirectoryWritable {
            directive: name.to_string(),
            dir: dir.display().to_string(),
            mode,
        });
    }
    Ok(())
}

/// `WSGISocketRotation On|Off`.
pub fn directive_socket_rotation(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    let v = match args {
        [v] if v.eq_ignore_ascii_case("on") => true,
        [v] if v.eq_ignore_ascii_case("off") => false,
        _ => {
            return Err(ConfigError::NotOneOf {
                directive: name.to_string(),
                choices: "Off | On",
                value: args.join(" "),
            });
        }
    };
    t.server.daemon.socket_rotation = Some(v);
    Ok(())
}

/// `WSGIRestrictProcess group ...`: the process groups requests in this
/// context may select (`%{GLOBAL}` allows embedded mode).
pub fn directive_restrict_process(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "at least one process group name (or %{GLOBAL})",
            example: None,
        });
    }
    let mut groups = Vec::new();
    for a in args {
        if a == "%{GLOBAL}" {
            groups.push(String::new());
        } else {
            super::expand::check_group(name, "process group", a)?;
            groups.push(a.clone());
        }
    }
    t.dir.restrict_process = Some(groups);
    Ok(())
}

/// Whether `WSGIRestrictProcess` (if any) lets a request select `group`.
pub fn allowed(restrict: Option<&[String]>, group: &str) -> bool {
    restrict.is_none_or(|list| list.iter().any(|g| g == group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DirConfig, ServerConfig};

    fn run(name: &str, args: &[&str]) -> Result<(ServerConfig, DirConfig), String> {
        let (mut s, mut d) = (ServerConfig::default(), DirConfig::default());
        let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut t = Target {
            server: &mut s,
            dir: &mut d,
        };
        crate::config::directives::apply(&mut t, name, &words).map_err(|e| e.to_string())?;
        Ok((s, d))
    }

    #[test]
    fn a_socket_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let prefix = d.path().join("wsgi").display().to_string();
        for (mode, ok) in [
            (0o755, true),
            (0o775, true),
            (0o777, false),
            (0o1777, false),
        ] {
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let got = check_socket_directory("WSGISocketPrefix", &prefix);
            assert_eq!(got.is_ok(), ok, "{mode:o}: {got:?}");
        }
        let missing = d.path().join("no/such/wsgi").display().to_string();
        assert!(check_socket_directory("WSGISocketPrefix", &missing).is_ok());
    }

    #[test]
    fn restrict_process_lists_groups() {
        let (_, d) = run("WSGIRestrictProcess", &["a", "%{GLOBAL}"]).unwrap();
        let list = d.restrict_process.clone().unwrap();
        assert_eq!(list, vec!["a".to_string(), String::new()]);
        assert!(allowed(Some(&list), "a"));
        assert!(allowed(Some(&list), ""));
        assert!(!allowed(Some(&list), "b"));
        assert!(allowed(None, "b"));
        assert!(run("WSGIRestrictProcess", &[]).is_err());
    }

    #[test]
    fn socket_directives() {
        let (s, _) = run("WSGISocketPrefix", &["run/wsgi"]).unwrap();
        assert_eq!(s.daemon.socket_prefix.as_deref(), Some("run/wsgi"));
        let (s, _) = run("WSGISocketRotation", &["Off"]).unwrap();
        assert_eq!(s.daemon.socket_rotation, Some(false));
        let e = run("WSGISocketRotation", &["maybe"]).unwrap_err();
        assert!(e.contains("got 'maybe'"), "{e}");
        let (s, _) = run("WSGIDaemonProcess", &["g", "threads=2"]).unwrap();
        assert_eq!(s.daemon.groups[0].threads, 2);
    }
}
