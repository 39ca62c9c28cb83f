//! The telemetry options, as pip's mod_wsgi-express 6.1.1: `--telemetry-service
//! unix:/path` writes `WSGITelemetryService`; `--enable-telemetry` instead runs the
//! `mod-wsgi-telemetry` package's ingester and web UI (on 127.0.0.1:`--telemetry-ui-port`)
//! in a `service:telemetry` daemon (`threads=0`, `telemetry-service.py` in the server
//! root) and points `WSGITelemetryService` at `<server root>/telemetry/telemetry.sock`
//! (a directory of its own that the run user owns, so that the ingester can bind there
//! when express runs as root);
//! `--telemetry-interval`, `--telemetry-options` (one `WSGITelemetryOptions` per use) and
//! `--slow-requests` refine either. Those three without a service would do nothing, so
//! they are refused then, as is `--enable-telemetry` when the package is not installed
//! for the Python the server runs. Called by `resolve.rs`, `httpd_conf.rs` and
//! `server_root.rs`.

use crate::cli::ServerArgs;
use crate::python_home::{BUILD_PYTHON_VERSION, PythonHome};
use anyhow::{Context, Result, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use nix::unistd::{Gid, Uid, chown};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The telemetry settings; `service` None: no telemetry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Telemetry {
    /// The socket path the processes report to.
    pub service: Option<PathBuf>,
    pub interval: f64,
    pub options: Vec<String>,
    pub slow_requests: Option<f64>,
    /// `--enable-telemetry`: the web UI's port.
    pub bundled_ui_port: Option<u16>,
}

/// The service script the bundled ingester runs from.
pub fn service_script(server_root: &Path) -> PathBuf {
    server_root.join("telemetry-service.py")
}

/// The directory of the bundled ingester's socket.
pub fn socket_dir(server_root: &Path) -> PathBuf {
    server_root.join("telemetry")
}

/// `--enable-telemetry`: the socket's directory, owned by the run user, and the
/// service script.
pub fn prepare(t: &Telemetry, server_root: &Path, owner: (Uid, Gid)) -> Result<()> {
    let Some(text) = service_text(t) else {
        return Ok(());
    };
    let dir = socket_dir(server_root);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod {}", dir.display()))?;
    if Uid::current().is_root() {
        chown(&dir, Some(owner.0), Some(owner.1))
            .with_context(|| format!("cannot chown {}", dir.display()))?;
    }
    let script = service_script(server_root);
    std::fs::write(&script, text).with_context(|| format!("cannot write {}", script.display()))?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot chmod {}", script.display()))?;
    Ok(())
}

/// Resolves and checks the options.
pub fn resolve(
    args: &ServerArgs,
    matches: &ArgMatches,
    server_root: &Path,
    embedded: bool,
    python: &PythonHome,
) -> Result<Telemetry> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    if args.enable_telemetry && args.telemetry_service.is_some() {
        bail!("--enable-telemetry and --telemetry-service cannot be used together");
    }
    let service = match (&args.telemetry_service, args.enable_telemetry) {
        (Some(target), _) => match target.strip_prefix("unix:") {
            Some(p) if p.starts_with('/') && p.len() < 108 => Some(PathBuf::from(p)),
            _ => bail!(
                "--telemetry-service must be 'unix:/absolute/path' of a local datagram socket \
                 (got '{target}'); remote 'udp:host:port' targets are not supported"
            ),
        },
        (None, true) => Some(socket_dir(server_root).join("telemetry.sock")),
        (None, false) => None,
    };
    if service.is_none() {
        for (id, flag) in [
            ("telemetry_interval", "--telemetry-interval"),
            ("telemetry_options", "--telemetry-options"),
            ("slow_requests", "--slow-requests"),
            ("telemetry_ui_port", "--telemetry-ui-port"),
        ] {
            if given(id) {
                bail!("{flag} needs --telemetry-service or --enable-telemetry");
            }
        }
    }
    if args.telemetry_service.is_some() && given("telemetry_ui_port") {
        bail!("--telemetry-ui-port needs --enable-telemetry (the bundled web UI)");
    }
    if !(args.telemetry_interval.is_finite() && args.telemetry_interval >= 0.5) {
        bail!(
            "--telemetry-interval must be at least 0.5 seconds (got {})",
            args.telemetry_interval
        );
    }
    if let Some(s) = args.slow_requests.filter(|s| !(s.is_finite() && *s > 0.0)) {
        bail!("--slow-requests must be a threshold in seconds greater than 0 (got {s})");
    }
    if args.enable_telemetry {
        if embedded {
            bail!(
                "--enable-telemetry runs the ingester in a daemon process: it cannot be used with --embedded-mode"
            );
        }
        check_package(python)?;
    }
    Ok(Telemetry {
        service,
        interval: args.telemetry_interval,
        options: args.telemetry_options.clone(),
        slow_requests: args.slow_requests,
        bundled_ui_port: args.enable_telemetry.then_some(args.telemetry_ui_port),
    })
}

/// The Python of `home` (a venv or a prefix).
fn python_of(home: &PythonHome) -> PathBuf {
    let bin = Path::new(&home.path).join("bin");
    let versioned = bin.join(format!("python{BUILD_PYTHON_VERSION}"));
    if versioned.exists() {
        versioned
    } else {
        bin.join("python3")
    }
}

/// `--enable-telemetry` needs `mod_wsgi.telemetry.server` importable by the server's Python.
fn check_package(home: &PythonHome) -> Result<()> {
    let python = python_of(home);
    let found = Command::new(&python)
        .args(["-c", "import mod_wsgi.telemetry.server"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        bail!(
            "--enable-telemetry needs the 'mod-wsgi-telemetry' package (and its web UI \
             dependencies) installed for the Python the server runs, {} ({}): \
             pip install mod-wsgi-telemetry",
            python.display(),
            home.source
        );
    }
    Ok(())
}

/// The directives, written with the other server-wide settings.
pub fn write(out: &mut String, t: &Telemetry) {
    let Some(sock) = &t.service else {
        return;
    };
    let _ = writeln!(
        out,
        "WSGITelemetryService unix:{} interval={}",
        sock.display(),
        t.interval
    );
    if let Some(s) = t.slow_requests {
        let _ = writeln!(out, "WSGISlowRequests {s}");
    }
    for o in &t.options {
        let _ = writeln!(out, "WSGITelemetryOptions {o}");
    }
}

/// `--enable-telemetry`: the service daemon that runs the ingester.
pub fn write_service(out: &mut String, t: &Telemetry, server_root: &Path, user: &str, group: &str) {
    if t.bundled_ui_port.is_none() {
        return;
    }
    use crate::httpd_conf::q;
    let _ = writeln!(
        out,
        "WSGIDaemonProcess 'service:telemetry' display-name=%{{GROUP}} user={} group={} threads=0",
        q(user),
        q(group)
    );
    let _ = writeln!(
        out,
        "WSGIImportScript {} process-group='service:telemetry' application-group=%{{GLOBAL}}",
        q(service_script(server_root).display().to_string())
    );
    let _ = writeln!(out);
}

/// The text of `telemetry-service.py`.
pub fn service_text(t: &Telemetry) -> Option<String> {
    let port = t.bundled_ui_port?;
    let sock = t.service.as_ref()?;
    Some(format!(
        "# Generated by mod_wsgi-express --enable-telemetry: runs the mod_wsgi-telemetry\n\
         # ingester and its web UI in the 'service:telemetry' daemon process; the WSGI\n\
         # processes report to the socket below (WSGITelemetryService).\n\n\
         from mod_wsgi.telemetry.server import main\n\n\
         main([\n    \"--listen\", \"unix:{}\",\n    \"--http-host\", \"127.0.0.1\",\n    \
         \"--http-port\", \"{port}\",\n    \"--log-level\", \"INFO\",\n])\n",
        sock.display()
    ))
}
