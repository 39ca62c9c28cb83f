//! The graceful-stop options of `WSGIDaemonProcess` ([`Graceful`]):
//! `graceful-timeout` (how long a daemon process that must restart keeps
//! serving while its requests in flight finish, after maximum-requests,
//! restart-interval, cpu-time-limit, request-timeout or SIGUSR1) and
//! `eviction-timeout` (the same for a SIGUSR1 sent to the daemon itself,
//! "process eviction"; 0: graceful-timeout), with mod_wsgi's defaults
//! (15 and 0, as its code has them), and two recycling options of ours:
//! `maximum-memory` (recycle gracefully once the resident memory passes
//! SIZE) and `standby` (keep one started, not yet accepting process per
//! group that takes over when a process recycles). Pure parsing, used by
//! the option table of `config::daemon_options`; `daemon::graceful` and
//! `daemon::handover` apply them.

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
    /// `maximum-memory` (ours): resident bytes past which the process recycles.
    pub maximum_memory: Option<u64>,
    /// `standby` (ours): None is the default rule ([`Graceful::standby`]).
    pub standby: Option<bool>,
}

impl Default for Graceful {
    fn default() -> Graceful {
        Graceful {
            timeout: Duration::from_secs(15),
            eviction: Duration::ZERO,
            maximum_memory: None,
            standby: None,
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

/// Whether the group keeps a standby process: `standby=` when given, else
/// on for a group that recycles by itself (maximum-requests,
/// restart-interval or maximum-memory set); never for `threads=0`
/// (service daemons accept no requests).
pub fn standby(o: &DaemonOptions) -> bool {
    if o.threads == 0 {
        return false;
    }
    o.graceful.standby.unwrap_or(
        o.maximum_requests > 0
            || o.restart_interval.is_some()
            || o.graceful.maximum_memory.is_some(),
    )
}

/// `maximum-memory=SIZE`: bytes, or with a K, M or G suffix (powers of
/// 1024); 0 turns it off. At least 1M otherwise (less cannot hold Python).
pub fn maximum_memory(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let (digits, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c.to_ascii_uppercase()),
        _ => (v, 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(OptionValueError::Bound("the suffix must be K, M or G")),
    };
    let n: u64 = digits.parse().map_err(|_| OptionValueError::NotANumber)?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or(OptionValueError::OutOfRange)?;
    if bytes != 0 && bytes < 1 << 20 {
        return Err(OptionValueError::Bound("must be at least 1M (or 0: off)"));
    }
    o.graceful.maximum_memory = (bytes != 0).then_some(bytes);
    Ok(())
}

/// `standby=On|Off`.
pub fn standby_option(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.graceful.standby = Some(if v.eq_ignore_ascii_case("on") {
        true
    } else if v.eq_ignore_ascii_case("off") {
        false
    } else {
        return Err(OptionValueError::Bound("must be On or Off"));
    });
    Ok(())
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
    fn maximum_memory_takes_suffixes_and_standby_follows_recycling() {
        let o = p(&["g", "maximum-memory=120M"]).unwrap();
        assert_eq!(o.graceful.maximum_memory, Some(120 << 20));
        assert!(super::standby(&o));
        let o = p(&["g", "maximum-memory=2g", "standby=off"]).unwrap();
        assert_eq!(o.graceful.maximum_memory, Some(2 << 30));
        assert!(!super::standby(&o));
        assert_eq!(
            p(&["g", "maximum-memory=4096K"])
                .unwrap()
                .graceful
                .maximum_memory,
            Some(4 << 20)
        );
        assert_eq!(
            p(&["g", "maximum-memory=0"])
                .unwrap()
                .graceful
                .maximum_memory,
            None
        );
        assert!(!super::standby(&p(&["g"]).unwrap()));
        assert!(super::standby(&p(&["g", "maximum-requests=5"]).unwrap()));
        assert!(super::standby(&p(&["g", "standby=On"]).unwrap()));
        assert!(!super::standby(
            &p(&["g", "threads=0", "standby=on"]).unwrap()
        ));
    }

    #[test]
    fn values_are_checked() {
        for arg in [
            "graceful-timeout=-1",
            "eviction-timeout=soon",
            "maximum-memory=12X",
            "maximum-memory=100K",
            "maximum-memory=M",
            "standby=maybe",
        ] {
            let e = p(&["g", arg]).unwrap_err();
            let (key, value) = arg.split_once('=').unwrap();
            assert!(
                e.contains(&format!("invalid value '{value}' for option '{key}'")),
                "{e}"
            );
        }
    }
}
