//! Service scripts, as pip's mod_wsgi-express 6.1.1: `--service-script NAME PATH` runs
//! PATH in a daemon process group of its own, `service:NAME`, with no request threads
//! (`WSGIDaemonProcess ... threads=0`, loaded by `WSGIImportScript` when the process
//! starts, restarted by Apache if it exits); `--service-user NAME USER` and
//! `--service-group NAME GROUP` change the identity it runs as (default: the run user
//! and group), `--service-log-file NAME FILE` gives it its own error log in the log
//! directory (the group is then defined inside a virtual host with that `ErrorLog`,
//! which the module's daemon processes log to, as mod_wsgi's). A user, group or log
//! file for a service that does not exist, or a script the run user cannot read, is
//! refused. Resolved by `resolve.rs`, written by `httpd_conf.rs`.

use crate::cli::ServerArgs;
use crate::httpd_conf::q;
use crate::options::Options;
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One service daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub script: PathBuf,
    pub user: Option<String>,
    pub group: Option<String>,
    /// The file name of its own error log, in the log directory.
    pub log_file: Option<String>,
}

/// `NAME VALUE` pairs of a two-value option, keyed by name.
fn by_name(values: &[String]) -> BTreeMap<String, String> {
    values
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

/// Resolves and checks the service options.
pub fn resolve(args: &ServerArgs, abs: &dyn Fn(&str) -> PathBuf) -> Result<Vec<Service>> {
    let mut users = by_name(&args.service_users);
    let mut groups = by_name(&args.service_groups);
    let mut logs = by_name(&args.service_log_files);
    let mut services: Vec<Service> = Vec::new();
    for pair in args.service_scripts.chunks(2).filter(|c| c.len() == 2) {
        let name = &pair[0];
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c)) {
            bail!(
                "--service-script: the service name must be a word without quotes (got '{name}')"
            );
        }
        if services.iter().any(|s| &s.name == name) {
            bail!("--service-script: service '{name}' is given twice");
        }
        if name == "telemetry" && args.enable_telemetry {
            bail!("--service-script: the name 'telemetry' is used by --enable-telemetry");
        }
        let script = abs(&pair[1]);
        if !script.is_file() {
            bail!(
                "--service-script {name}: {} is not a file",
                script.display()
            );
        }
        services.push(Service {
            name: name.clone(),
            script,
            user: users.remove(name),
            group: groups.remove(name),
            log_file: logs.remove(name),
        });
    }
    for (flag, left) in [
        ("--service-user", users),
        ("--service-group", groups),
        ("--service-log-file", logs),
    ] {
        if let Some(name) = left.keys().next() {
            bail!("{flag} {name}: there is no --service-script {name}");
        }
    }
    Ok(services)
}

/// The run user must be able to read each script (a service user too, but the daemon
/// reads it as the run user's parent: the check is the run user's).
pub fn prepare(services: &[Service], opts: &Options) -> Result<()> {
    for s in services {
        crate::validation::check_readable(&opts.run_as, &s.script, "--service-script")?;
    }
    Ok(())
}

/// The daemon groups and their `WSGIImportScript` lines.
pub fn write(out: &mut String, opts: &Options) {
    for s in &opts.services {
        let group_name = format!("service:{}", s.name);
        let mut words = vec![
            "display-name=%{GROUP}".to_string(),
            format!("user={}", q(s.user.as_deref().unwrap_or(&opts.user))),
            format!("group={}", q(s.group.as_deref().unwrap_or(&opts.group))),
            format!("home={}", q(opts.working_directory.to_string_lossy())),
            "threads=0".to_string(),
        ];
        if !opts.python_paths.is_empty() {
            words.push(format!("python-path={}", q(opts.python_paths.join(":"))));
        }
        words.push(format!(
            "python-eggs={}",
            q(opts.python_eggs.to_string_lossy())
        ));
        words.push(format!("lang={}", q(&opts.locale)));
        words.push(format!("locale={}", q(&opts.locale)));
        let metrics = if opts.server_metrics { "On" } else { "Off" };
        words.push(format!("server-metrics={metrics}"));
        if let Some(file) = &s.log_file {
            let _ = writeln!(out, "<VirtualHost *:{}>", opts.port);
            let _ = writeln!(out, "ErrorLog {}", log_target(opts, file));
        }
        let _ = writeln!(
            out,
            "WSGIDaemonProcess {} {}",
            q(&group_name),
            words.join(" ")
        );
        let _ = writeln!(
            out,
            "WSGIImportScript {} process-group={} application-group=%{{GLOBAL}}",
            q(s.script.to_string_lossy()),
            q(&group_name)
        );
        if s.log_file.is_some() {
            let _ = writeln!(out, "</VirtualHost>");
        }
        let _ = writeln!(out);
    }
}

/// The `ErrorLog` argument of a service's own log (piped through rotatelogs with
/// `--rotate-logs`, as the main log).
fn log_target(opts: &Options, file: &str) -> String {
    let path = opts.log.directory.join(file);
    if opts.log.rotate_logs {
        q(format!(
            "|{} {}.%Y-%m-%d-%H_%M_%S {}M",
            opts.log.rotatelogs.display(),
            path.display(),
            opts.log.max_log_size
        ))
    } else {
        q(path.to_string_lossy())
    }
}
