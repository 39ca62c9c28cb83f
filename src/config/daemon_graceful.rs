//! The graceful-stop options of `WSGIDaemonProcess` ([`Graceful`]):
//! `graceful-timeout` (how long a daemon process that must restart keeps
//! serving while its requests in flight finish, after maximum-requests,
//! restart-interval, cpu-time-limit, request-timeout or SIGUSR1) and
//! `eviction-timeout` (the same for a SIGUSR1 sent to the daemon itself,
//! "process eviction"; 0: graceful-timeout), with mod_wsgi's defaults
//! (15 and 0, as its code has them). Pure parsing, used by the option
//! table of `config::daemon_options`; `daemon::graceful` applies them.

use super::daemon_options::DaemonOptions;
use super::error::OptionValueError;
use std::time::Duration;

/// How long a daemon process drains before it stops (zero: it stops at once).
#[derive(Clone, Debug, PartialEq)]
pub struct Graceful {
    /// `graceful-timeout`.
    pub timeout: Duration,
    /// `eviction-timeout` (zero: `graceful-timeout` applies to SIGUSR1 too).
    pub eviction: Duration,
}

impl Default for Graceful {
    fn default() -> Graceful {
        Graceful {
            timeout: Duration::from_secs(15),
            eviction: Duration::ZERO,
        }
    }
}

impl Graceful {
    /// The drain limit on SIGUSR1, and whether it is an eviction (with
    /// `eviction-timeout` set), as mod_wsgi.
    pub fn on_signal(&self) -> (Duration, bool) {
        if self.eviction.is_zero() {
            (self.timeout, false)
        } else {
            (self.eviction, true)
        }
    }
}

/// Seconds >= 0 (fractions allowed; mod_wsgi takes the integer part).
fn seconds(v: &str) -> Result<Duration, OptionValueError> {
    let f: f64 = v.parse().map_err(|_| OptionValueError::NotANumber)?;
    if !(0.0..=86400.0 * 365.0).contains(&f) {
        return Err(OptionValueError::OutOfRange);
    }
    Ok(Duration::from_secs_f64(f))
}

pub fn graceful_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.graceful.timeout = seconds(v)?;
    Ok(())
}

pub fn eviction_timeout(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.graceful.eviction = seconds(v)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::daemon_options::{DaemonOptions, parse};
    use std::time::Duration;

    fn p(args: &[&str]) -> Result<DaemonOptions, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_mod_wsgis() {
        let g = p(&["g"]).unwrap().graceful;
        assert_eq!(g.timeout, Duration::from_secs(15));
        assert_eq!(g.eviction, Duration::ZERO);
        assert_eq!(g.on_signal(), (Duration::from_secs(15), false));
    }

    #[test]
    fn eviction_timeout_applies_to_sigusr1_when_set() {
        let g = p(&["g", "graceful-timeout=4", "eviction-timeout=2.5"])
            .unwrap()
            .graceful;
        assert_eq!(g.timeout, Duration::from_secs(4));
        assert_eq!(g.on_signal(), (Duration::from_millis(2500), true));
        let g = p(&["g", "graceful-timeout=0", "eviction-timeout=0"])
            .unwrap()
            .graceful;
        assert_eq!(g.on_signal(), (Duration::ZERO, false));
    }

    #[test]
    fn values_are_checked() {
        for arg in ["graceful-timeout=-1", "eviction-timeout=soon"] {
            let e = p(&["g", arg]).unwrap_err();
            let (key, value) = arg.split_once('=').unwrap();
            assert!(
                e.contains(&format!("invalid value '{value}' for option '{key}'")),
                "{e}"
            );
        }
    }
}
