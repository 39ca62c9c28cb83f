//! Refusals and checks done before anything is written: (1) the table of start-server /
//! setup-server options that are parsed for compatibility but whose behaviour is not
//! implemented yet, which are rejected when given on the command line (never silently
//! ignored), and (2) the check that the unprivileged run user can reach and read a path
//! (each directory component searchable, the file readable). Called from `options.rs`;
//! no Python.

use anyhow::{Result, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use nix::unistd::{Gid, Uid};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// (clap argument id, option name, reason) of every option that is parsed but refused.
/// Keep in step with the "Not implemented yet" list of docs/express.md.
pub const UNIMPLEMENTED: &[(&str, &str, &str)] =
    &[("with_php5", "--with-php5", "PHP 5 support is not provided")];

/// (clap argument id, option name) of the options that configure the daemon process
/// group: refused with `--embedded-mode`, where they would do nothing.
pub const DAEMON_ONLY: &[(&str, &str)] = &[
    ("process_group", "--process-group"),
    ("maximum_requests", "--maximum-requests"),
    ("shutdown_timeout", "--shutdown-timeout"),
    ("request_timeout", "--request-timeout"),
    ("interrupt_timeout", "--interrupt-timeout"),
    ("startup_timeout", "--startup-timeout"),
    ("inactivity_timeout", "--inactivity-timeout"),
    ("deadlock_timeout", "--deadlock-timeout"),
    ("connect_timeout", "--connect-timeout"),
    ("daemon_backlog", "--daemon-backlog"),
    ("header_buffer_size", "--header-buffer-size"),
    ("response_socket_timeout", "--response-socket-timeout"),
    ("response_buffer_size", "--response-buffer-size"),
    ("response_flush_delay", "--response-flush-delay"),
    ("socket_prefix", "--socket-prefix"),
    ("cpu_time_limit", "--cpu-time-limit"),
    ("queue_timeout", "--queue-timeout"),
    ("restart_interval", "--restart-interval"),
    ("graceful_timeout", "--graceful-timeout"),
    ("eviction_timeout", "--eviction-timeout"),
    ("maximum_memory", "--maximum-memory"),
    ("send_buffer_size", "--send-buffer-size"),
    ("receive_buffer_size", "--receive-buffer-size"),
];

/// Fails with a one-line message naming the first unimplemented option given on the
/// command line (explicitly, even if equal to its default), or a value of a partly
/// implemented option that is not supported yet.
pub fn reject_unimplemented(matches: &ArgMatches) -> Result<()> {
    for (id, flag, reason) in UNIMPLEMENTED {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            bail!("{flag} is not supported yet: {reason}");
        }
    }
    let kind = matches.get_one::<String>("application_type");
    if let Some(kind) =
        kind.filter(|k| !matches!(k.as_str(), "script" | "module" | "paste" | "static"))
    {
        bail!("--application-type must be one of script, module, paste, static (got '{kind}')");
    }
    Ok(())
}

/// With `--embedded-mode`, refuses the options that only configure the daemon process
/// group (never silently ignored).
pub fn check_mode(matches: &ArgMatches, embedded: bool, debug: bool) -> Result<()> {
    if !embedded && !debug {
        return Ok(());
    }
    let mode = if embedded {
        "--embedded-mode"
    } else {
        "--debug-mode (or a debugging tool)"
    };
    for (id, flag) in DAEMON_ONLY {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            bail!("{flag} configures the daemon processes: it cannot be used with {mode}");
        }
    }
    Ok(())
}

/// Identity the Apache children (and so the application) run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunIdentity {
    pub uid: Uid,
    pub gid: Gid,
    /// Supplementary groups, including `gid`.
    pub groups: Vec<Gid>,
    pub name: String,
}

impl RunIdentity {
    /// What `stat` bits grant this identity: 4 = read, 1 = search/execute, shifted per
    /// owner/group/other like `access(2)` (root may do anything except search/execute
    /// where no x bit is set at all; good enough for the files we check).
    fn allowed(&self, meta: &std::fs::Metadata, bits: u32) -> bool {
        if self.uid.is_root() {
            return bits & 1 == 0 || meta.mode() & 0o111 != 0;
        }
        let mode = meta.mode();
        let granted = if meta.uid() == self.uid.as_raw() {
            (mode >> 6) & 7
        } else if self.groups.iter().any(|g| g.as_raw() == meta.gid()) {
            (mode >> 3) & 7
        } else {
            mode & 7
        };
        granted & bits == bits
    }
}

/// Checks that `who` can search every directory above `path` and read `path` itself
/// (and, for a directory, search it). The error names the first component that blocks.
pub fn check_readable(who: &RunIdentity, path: &Path, what: &str) -> Result<()> {
    let mut prefix = PathBuf::new();
    let components: Vec<Component> = path.components().collect();
    for (i, comp) in components.iter().enumerate() {
        prefix.push(comp);
        let last = i + 1 == components.len();
        let meta = match std::fs::metadata(&prefix) {
            Ok(m) => m,
            Err(e) => bail!("{what} {}: {}: {e}", path.display(), prefix.display()),
        };
        let need = if !last {
            1
        } else if meta.is_dir() {
            4 | 1
        } else {
            4
        };
        if !who.allowed(&meta, need) {
            let kind = if need == 4 { "readable" } else { "searchable" };
            bail!(
                "{what} {} is not usable by user '{}' (uid {}): {} is not {kind} by it \
                 (mode {:o}, owner uid {}); move it somewhere readable or pass --user",
                path.display(),
                who.name,
                who.uid,
                prefix.display(),
                meta.mode() & 0o7777,
                meta.uid()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn nobody() -> RunIdentity {
        RunIdentity {
            uid: Uid::from_raw(65534),
            gid: Gid::from_raw(65534),
            groups: vec![Gid::from_raw(65534)],
            name: "nobody".into(),
        }
    }

    #[test]
    fn unreadable_directory_component_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("private");
        std::fs::create_dir(&sub).unwrap();
        let app = sub.join("app.wsgi");
        std::fs::write(&app, "x").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = check_readable(&nobody(), &app, "application").unwrap_err();
        assert!(
            err.to_string().contains("private is not searchable"),
            "{err}"
        );
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o711)).unwrap();
        check_readable(&nobody(), &app, "application").unwrap();
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = check_readable(&nobody(), &app, "application").unwrap_err();
        assert!(err.to_string().contains("is not readable"), "{err}");
    }

    #[test]
    fn documented_rejections_match_the_table() {
        let doc = include_str!("../../../docs/express.md");
        let section = doc
            .split("## Not implemented yet")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("docs/express.md has a 'Not implemented yet' section");
        let documented: std::collections::BTreeSet<&str> = section
            .split('`')
            .skip(1)
            .step_by(2)
            .flat_map(|code| code.split('/'))
            .filter(|flag| flag.starts_with("--"))
            .collect();
        let table: std::collections::BTreeSet<&str> =
            UNIMPLEMENTED.iter().map(|(_, flag, _)| *flag).collect();
        assert_eq!(
            documented, table,
            "docs/express.md and UNIMPLEMENTED differ"
        );
    }

    #[test]
    fn every_unimplemented_id_exists() {
        use clap::CommandFactory;
        let cmd = crate::cli::Cli::command();
        let server = cmd.find_subcommand("start-server").unwrap();
        for (id, flag, _) in UNIMPLEMENTED {
            let arg = server.get_arguments().find(|a| a.get_id() == id);
            let arg = arg.unwrap_or_else(|| panic!("no argument {id}"));
            assert_eq!(format!("--{}", arg.get_long().unwrap()), *flag);
        }
    }
}
