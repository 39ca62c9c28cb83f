//! Checks, before anything is written, that the mod_wsgi module that will be loaded knows
//! every `WSGI*` directive the generated httpd.conf uses. mod_wsgi-rs gains directives
//! release by release (and Debian's mod_wsgi 4.9 lacks some that 6.0 has), and Apache
//! refuses to start on an unknown one with a syntax error far from the option that
//! caused it. A directive's name is a string constant in the module's binary, so a byte
//! search of the `.so` tells whether it is implemented; when not, the option that needs it
//! is refused with a one-line message (exit status 2), like an unimplemented option.
//! Called by `main.rs` for start-server / setup-server; no Python.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// The option behind each optional directive, for the error message.
const OPTION_OF: &[(&str, &str)] = &[
    ("WSGIPythonEggs", "--python-eggs"),
    ("WSGIPythonWarnings", "--python-warnings"),
    ("WSGIDestroyInterpreter", "--orphan-interpreter"),
    ("WSGISwitchInterval", "--switch-interval"),
    ("WSGIMapHEADToGET", "--map-head-to-get"),
    ("WSGIServerMetrics", "--server-metrics"),
    (
        "WSGITelemetryService",
        "--telemetry-service/--enable-telemetry",
    ),
    ("WSGISlowRequests", "--slow-requests"),
    ("WSGITelemetryOptions", "--telemetry-options"),
    ("WSGIChunkedRequest", "--chunked-request"),
    ("WSGITrustedProxyHeaders", "--trust-proxy-header"),
    ("WSGITrustedProxies", "--trust-proxy"),
    ("WSGIEnableSendfile", "--enable-sendfile"),
    ("WSGISocketPrefix", DAEMON_MODE),
    ("WSGISocketRotation", DAEMON_MODE),
    ("WSGIRestrictEmbedded", DAEMON_MODE),
    ("WSGIDaemonProcess", DAEMON_MODE),
    ("WSGIImportScript", DAEMON_MODE),
];

/// What needs the daemon-mode directives.
const DAEMON_MODE: &str = "daemon mode (the default; --embedded-mode avoids it)";

/// The `WSGI*` directives used in `conf`, in order, without repeats.
pub fn directives(conf: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    for line in conf.lines() {
        let Some(word) = line.split_whitespace().next() else {
            continue;
        };
        if word.starts_with("WSGI") && !found.contains(&word) {
            found.push(word);
        }
    }
    found
}

/// Fails naming the first directive of `conf` that `module` (its bytes) does not contain.
pub fn check(conf: &str, module_path: &Path, module: &[u8]) -> Result<()> {
    for directive in directives(conf) {
        if memchr::memmem::find(module, directive.as_bytes()).is_none() {
            let option = OPTION_OF
                .iter()
                .find(|(d, _)| *d == directive)
                .map(|(_, o)| *o)
                .unwrap_or("the application");
            bail!(
                "{option} is not supported by the mod_wsgi module {}: it does not implement \
                 {directive} yet",
                module_path.display()
            );
        }
    }
    Ok(())
}

/// `check` against the module file.
pub fn check_module(conf: &str, module_path: &Path) -> Result<()> {
    let module = std::fs::read(module_path)
        .with_context(|| format!("cannot read {}", module_path.display()))?;
    check(conf, module_path, &module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directive_names_its_option() {
        let conf =
            "WSGIPythonHome \"/usr\"\n  WSGIChunkedRequest On\nWSGIPythonHome x\nListen 80\n";
        assert_eq!(directives(conf), ["WSGIPythonHome", "WSGIChunkedRequest"]);
        let path = Path::new("/m.so");
        check(conf, path, b"..WSGIPythonHome..WSGIChunkedRequest..").unwrap();
        let err = check(conf, path, b"..WSGIPythonHome..").unwrap_err();
        let err = err.to_string();
        assert!(
            err.starts_with("--chunked-request is not supported"),
            "{err}"
        );
        assert!(err.contains("WSGIChunkedRequest"), "{err}");
    }
}
