//! Starting and stopping this process's telemetry from the process's own
//! start-up and exit (an Apache child's child_init and pool cleanup, a
//! daemon process's start and stop): the process's identity, the
//! configuration of `WSGITelemetryService`, and mod_wsgi's names for why
//! a daemon process stops.

use super::records::Identity;
use super::reporter::{self, Config};
use crate::apache::log::{self, Level};
use crate::apache::log_ids::TELEMETRY_STARTED;
use crate::apache::{mpm, sys};
use crate::config::telemetry::{CAPTURE_USER_AGENT, TelemetryConfig};

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; the result is NUL-terminated
    // when it fits, and the last byte stays 0 in any case.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn python_version() -> String {
    // SAFETY: Py_GetVersion returns a static string; it needs no GIL.
    let full = unsafe { std::ffi::CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    full.to_string_lossy()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn identity(process_group: &str) -> Identity {
    let v = crate::python::modules::COMPAT_VERSION;
    Identity {
        mod_wsgi_version: format!("{}.{}.{}", v.0, v.1, v.2),
        python_version: python_version(),
        apache_version: format!(
            "Apache/{}.{}.{}",
            sys::AP_SERVER_MAJORVERSION_NUMBER,
            sys::AP_SERVER_MINORVERSION_NUMBER,
            sys::AP_SERVER_PATCHLEVEL_NUMBER
        ),
        mpm_name: mpm::name(),
        hostname: hostname(),
        process_group: process_group.to_string(),
        // SAFETY: getppid has no preconditions.
        parent_pid: unsafe { libc::getppid() } as u32,
    }
}

/// Starts the reporter of this process (an Apache child when
/// `process_group` is empty, else a daemon process of that group) if
/// `WSGITelemetryService` is configured. Call after Python started.
pub fn start(cfg: &TelemetryConfig, process_group: &str) {
    let (Some(path), Some(metrics)) = (cfg.service.as_ref(), super::get()) else {
        return;
    };
    let config = Config {
        path: path.clone(),
        interval: cfg.interval(),
        slow_requests: cfg.slow_requests,
        capture_user_agent: cfg.options & CAPTURE_USER_AGENT != 0,
    };
    log::server(
        Level::Info,
        None,
        &format!(
            "{TELEMETRY_STARTED} process {} reports telemetry to unix:{path} every {} seconds",
            std::process::id(),
            config.interval
        ),
    );
    reporter::start(metrics, identity(process_group), config);
}

/// The process stops: `process_stopping` now (`reason`: mod_wsgi's
/// `shutdown_reason`, from `daemon::stop_reason`).
pub fn stopping(reason: &str) {
    reporter::stopping(reason);
}

/// The process exits: the last interval and `process_stopped`.
pub fn stopped(reason: &str, graceful: bool) {
    reporter::stopped(reason, graceful);
}
