//! The start-up summary printed by setup-server and start-server: URL, server root,
//! config and log locations, mode and capacity, with express's labels so scripts that
//! scrape it keep working. Called by `main.rs`; no Python.

use crate::apachectl;
use crate::options::{Mode, Options};
use crate::sizing::Mpm;
use std::fmt::Write as _;

/// The summary text; `setup` adds the control files (setup-server / --setup-only).
pub fn render(opts: &Options, setup: bool) -> String {
    let mut s = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(s, "{label:<19}: {value}");
    };
    line("Server URL", opts.url.clone());
    if let Some(https) = &opts.https {
        line("Server URL (HTTPS)", https.url.clone());
    }
    if opts.server_status {
        line("Server Status", format!("{}server-status", opts.url));
    }
    for (label, url) in crate::monitoring::summary(&opts.monitoring, &opts.url) {
        line(label, url);
    }
    line("Server Root", opts.server_root.display().to_string());
    line("Server Conf", opts.httpd_conf.display().to_string());
    line(
        "Error Log File",
        format!("{} ({})", opts.log.error_log_file, opts.log.level),
    );
    if opts.log.access_log {
        line("Access Log File", opts.log.access_log_file.clone());
    }
    if let Some(file) = &opts.log.startup_log_file {
        line("Startup Log File", file.clone());
    }
    // As the original: shown when given, and by setup-server (the default file).
    if setup || opts.rewrite_rules != opts.server_root.join("rewrite.conf") {
        line("Rewrite Rules", opts.rewrite_rules.display().to_string());
    }
    if opts.envvars_script.is_some() || setup {
        line(
            "Environ Variables",
            apachectl::envvars_path(opts).display().to_string(),
        );
    }
    if setup {
        line(
            "Control Script",
            opts.server_root.join("apachectl").display().to_string(),
        );
    }
    line("WSGI Module", opts.module_source.path.display().to_string());
    let mode = match opts.mode {
        _ if opts.devtools.debug_mode => "debug",
        Mode::Daemon => "daemon",
        Mode::Embedded => "embedded",
    };
    for (label, value) in crate::devtools::summary(&opts.devtools) {
        line(label, value);
    }
    line("Operating Mode", mode.into());
    let sz = &opts.sizing;
    let (procs, threads) = match (opts.mode, sz.mpm) {
        // Daemon mode: the daemon group runs the application.
        (Mode::Daemon, _) => (sz.processes, sz.threads),
        // Embedded mode: every Apache worker thread can run the application.
        (Mode::Embedded, Mpm::Prefork) => (sz.max_request_workers, 1),
        (Mode::Embedded, _) => (sz.server_limit, sz.threads_per_child),
    };
    line(
        "Request Capacity",
        format!(
            "{} ({procs} process{} * {threads} thread{})",
            procs * threads,
            if procs == 1 { "" } else { "es" },
            if threads == 1 { "" } else { "s" },
        ),
    );
    if let Some(d) = &opts.daemon {
        line("Process Group", d.name.clone());
        line(
            "Queue Backlog",
            format!("{} (connections)", d.listen_backlog),
        );
    }
    line(
        "Server Capacity",
        format!(
            "{} connections ({} MPM)",
            sz.max_request_workers,
            sz.mpm.name()
        ),
    );
    line(
        "Server Backlog",
        format!("{} (connections)", opts.server_backlog),
    );
    line("Locale Setting", opts.locale.clone());
    s
}
