//! mod_wsgi's simpler server-wide directives, with mod_wsgi's contexts and
//! value checks: `WSGIVerboseDebugging` (accepted, no effect, an info line
//! as mod_wsgi 6), `WSGIAcceptMutex` (accepted; our daemons serialise
//! accepting without a cross-process mutex), `WSGISwitchInterval`
//! (`sys.setswitchinterval` in the Apache children) and `WSGIPythonEggs`
//! (`PYTHON_EGG_CACHE` in the Apache children). All are main-server only.

use super::directives::{Target, on_off, one};
use super::error::ConfigError;
use crate::apache::directive::Cmd;
use crate::apache::log::{self, Level};
use crate::apache::log_ids::VERBOSE_DEBUGGING_IGNORED;

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

/// What a directive logs once accepted (mod_wsgi 6 logs at info while
/// reading the configuration).
pub fn notice(cmd: &Cmd<'_>, name: &str) {
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
