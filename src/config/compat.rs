//! mod_wsgi's simpler server-wide directives, with mod_wsgi's contexts and
//! value checks: `WSGIVerboseDebugging` (accepted, no effect, an info line
//! as mod_wsgi 6), `WSGIAcceptMutex` (accepted; our daemons serialise
//! accepting without a cross-process mutex), `WSGISwitchInterval`
//! (`sys.setswitchinterval` in the Apache children) and `WSGIPythonEggs`
//! (`PYTHON_EGG_CACHE` in the Apache children), `WSGIPerInterpreterGIL`
//! (sub-interpreters with their own GIL on Python 3.12 and later; before
//! that a warning and no effect, as mod_wsgi) and `WSGIFreeThreading`
//! (checked; on a Python build without the feature, a warning and no
//! effect, as mod_wsgi; on one with it, refused, since this version does
//! not implement it yet). All are main-server only.

use super::directives::{Target, on_off, one};
use super::error::ConfigError;
use crate::apache::directive::Cmd;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::{
    FREE_THREADING_APP_SCOPED, FREE_THREADING_UNAVAILABLE, PER_INTERPRETER_GIL_UNAVAILABLE,
    VERBOSE_DEBUGGING_IGNORED,
};
use crate::config::python::BUILD_PYTHON_VERSION;

/// Whether the Python this module is built against is free-threaded.
const GIL_DISABLED: bool = matches!(env!("MOD_WSGI_PYTHON_GIL_DISABLED").as_bytes(), b"1");

/// Whether the build's Python has a per-interpreter GIL (3.12 and later).
fn has_per_interpreter_gil(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (3, 12)
}

/// `WSGIPerInterpreterGIL On|Off`: whether sub-interpreters get their own
/// GIL (`python::interp`); before Python 3.12 a warning (see `notice`).
pub fn per_interpreter_gil(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    t.server.python.per_interpreter_gil = Some(on_off(name, args)?);
    Ok(())
}

/// `WSGIFreeThreading On|Off`: likewise, for a free-threaded build.
pub fn free_threading(_t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if on_off(name, args)? && GIL_DISABLED {
        return Err(ConfigError::FeatureNotImplemented {
            directive: name.to_string(),
            feature: "free-threaded Python",
            python: BUILD_PYTHON_VERSION,
        });
    }
    Ok(())
}

/// The mechanisms mod_wsgi accepts on Linux (APR's `APR_HAS_*_SERIALIZE`).
const ACCEPT_MUTEXES: &[&str] = &[
    "default", "flock", "fcntl", "sysvsem", "posixsem", "pthread",
];

/// `WSGIVerboseDebugging On|Off`: checked, then ignored.
pub fn verbose_debugging(
    _t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    on_off(name, args).map(|_| ())
}

/// `WSGIAcceptMutex default|flock|fcntl|sysvsem|posixsem|pthread`: checked, then ignored.
pub fn accept_mutex(_t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "an accept mutex mechanism")?;
    if ACCEPT_MUTEXES.iter().any(|m| m.eq_ignore_ascii_case(v)) {
        return Ok(());
    }
    Err(ConfigError::NotOneOf {
        directive: name.to_string(),
        choices: "default | flock | fcntl | sysvsem | posixsem | pthread",
        value: v.to_string(),
    })
}

/// A positive number of seconds, as mod_wsgi's `strtod` check (`> 0`).
pub fn positive_seconds(v: &str) -> Option<f64> {
    v.parse::<f64>().ok().filter(|s| *s > 0.0 && s.is_finite())
}

/// `WSGISwitchInterval seconds`.
pub fn switch_interval(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "a positive number of seconds")?;
    let s = positive_seconds(v).ok_or_else(|| ConfigError::BadValue {
        directive: name.to_string(),
        expected: "a positive number of seconds",
        value: v.to_string(),
    })?;
    t.server.python.switch_interval = Some(s);
    Ok(())
}

/// `WSGIPythonEggs directory` (taken as written, as mod_wsgi).
pub fn python_eggs(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "a directory for PYTHON_EGG_CACHE")?;
    t.server.python.python_eggs = Some(v.to_string());
    Ok(())
}

/// What a directive logs once accepted (mod_wsgi 6 logs while reading the
/// configuration, in its words).
pub fn notice(cmd: &Cmd<'_>, name: &str, args: &[String]) {
    let on = matches!(args, [v] if v.eq_ignore_ascii_case("on"));
    if on
        && name.eq_ignore_ascii_case("WSGIPerInterpreterGIL")
        && !has_per_interpreter_gil(BUILD_PYTHON_VERSION)
    {
        log::server(
            Level::Warning,
            Some(cmd.server()),
            &format!(
                "{PER_INTERPRETER_GIL_UNAVAILABLE} WSGIPerInterpreterGIL requires Python 3.12 \
                 or later; directive has no effect on this build."
            ),
        );
    }
    if on && name.eq_ignore_ascii_case("WSGIFreeThreading") {
        log::server(
            Level::Warning,
            Some(cmd.server()),
            &format!(
                "{FREE_THREADING_UNAVAILABLE} WSGIFreeThreading On has no effect: this Python \
                 build does not support free-threading (PEP 703). Rebuild Python with \
                 --disable-gil to use it."
            ),
        );
    }
    if name.eq_ignore_ascii_case("WSGIVerboseDebugging") {
        log::server(
            Level::Info,
            Some(cmd.server()),
            &format!(
                "{VERBOSE_DEBUGGING_IGNORED} WSGIVerboseDebugging is deprecated and has \
                 no effect. Use 'LogLevel info wsgi_module:debug' for lifecycle messages."
            ),
        );
    }
}

/// What a directive inside `<WSGIInterpreterOptions>` logs: as at top
/// level, and mod_wsgi's warning for a `WSGIFreeThreading` scoped to an
/// application group.
pub fn notice_inside(
    cmd: &Cmd<'_>,
    name: &str,
    args: &[String],
    block: &super::interpreter_options::Block,
) {
    notice(cmd, name, args);
    if name.eq_ignore_ascii_case("WSGIFreeThreading") && block.application_group.is_some() {
        log::server(
            Level::Warning,
            Some(cmd.server()),
            &format!(
                "{FREE_THREADING_APP_SCOPED} WSGIFreeThreading inside <WSGIInterpreterOptions> \
                 with application-group= set is ignored: free-threading is a process-wide \
                 setting and cannot be scoped per application group."
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::directives::apply;
    use super::super::{DirConfig, ServerConfig};
    use super::*;

    fn run(name: &str, args: &[&str]) -> Result<ServerConfig, String> {
        let (mut s, mut d) = (ServerConfig::default(), DirConfig::default());
        let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut t = Target {
            server: &mut s,
            dir: &mut d,
        };
        apply(&mut t, name, &words).map_err(|e| e.to_string())?;
        Ok(s)
    }

    #[test]
    fn interpreter_features() {
        assert!(has_per_interpreter_gil("3.12") && has_per_interpreter_gil("3.13"));
        assert!(!has_per_interpreter_gil("3.11") && !has_per_interpreter_gil("3.9"));
        for name in ["WSGIPerInterpreterGIL", "WSGIFreeThreading"] {
            assert!(run(name, &["Off"]).is_ok(), "{name}");
            let e = run(name, &["maybe"]).unwrap_err();
            assert_eq!(e, format!("{name} must be one of: Off | On (got 'maybe')"));
        }
        let gil = run("WSGIPerInterpreterGIL", &["On"]).unwrap();
        assert_eq!(gil.python.per_interpreter_gil, Some(true));
        let gil = run("WSGIPerInterpreterGIL", &["off"]).unwrap();
        assert_eq!(gil.python.per_interpreter_gil, Some(false));
        assert_eq!(run("WSGIFreeThreading", &["on"]).is_err(), GIL_DISABLED);
    }

    #[test]
    fn verbose_debugging_on_off() {
        assert!(run("WSGIVerboseDebugging", &["Off"]).is_ok());
        assert!(run("WSGIVerboseDebugging", &["on"]).is_ok());
        let e = run("WSGIVerboseDebugging", &["yes"]).unwrap_err();
        assert_eq!(
            e,
            "WSGIVerboseDebugging must be one of: Off | On (got 'yes')"
        );
    }

    #[test]
    fn accept_mutex_values() {
        for m in [
            "default", "FLOCK", "fcntl", "sysvsem", "posixsem", "pthread",
        ] {
            assert!(run("WSGIAcceptMutex", &[m]).is_ok(), "{m}");
        }
        let e = run("WSGIAcceptMutex", &["spin"]).unwrap_err();
        assert!(
            e.starts_with("WSGIAcceptMutex must be one of: default | flock")
                && e.ends_with("(got 'spin')"),
            "{e}"
        );
    }

    #[test]
    fn switch_interval_values() {
        let s = run("WSGISwitchInterval", &["0.002"]).unwrap();
        assert_eq!(s.python.switch_interval, Some(0.002));
        for bad in ["0", "-1", "fast", "", "inf"] {
            let e = run("WSGISwitchInterval", &[bad]).unwrap_err();
            assert_eq!(
                e,
                format!("WSGISwitchInterval must be a positive number of seconds (got '{bad}')")
            );
        }
    }

    #[test]
    fn python_eggs_value() {
        let s = run("WSGIPythonEggs", &["/tmp/eggs"]).unwrap();
        assert_eq!(s.python.python_eggs.as_deref(), Some("/tmp/eggs"));
        assert!(run("WSGIPythonEggs", &[]).is_err());
    }
}
