//! The resource options of `WSGIDaemonProcess` ([`Limits`]): `cpu-time-limit`,
//! `cpu-priority`, `memory-limit`, `virtual-memory-limit`, `stack-size`,
//! `send-buffer-size` and `receive-buffer-size`, with mod_wsgi's parsing
//! rules (integers; 0 or absent: the system's default). Pure parsing, used
//! by the option table of `config::daemon_options`; `daemon::limits` and
//! `daemon::socket` apply them.

use super::daemon_options::DaemonOptions;
use super::error::OptionValueError;

/// The resource limits of one daemon group (None: leave the system's value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// RLIMIT_CPU soft limit, seconds of CPU time (the hard limit is this
    /// plus 1 plus shutdown-timeout, as mod_wsgi).
    pub cpu_time: Option<u64>,
    /// Nice value set with setpriority(2) (0: unchanged).
    pub cpu_priority: i32,
    /// RLIMIT_DATA, bytes.
    pub memory: Option<u64>,
    /// RLIMIT_AS, bytes.
    pub virtual_memory: Option<u64>,
    /// Stack size of the request (worker) threads, bytes.
    pub stack_size: Option<usize>,
    /// SO_SNDBUF of the group's listening socket, bytes.
    pub send_buffer: Option<i32>,
    /// SO_RCVBUF of the group's listening socket, bytes.
    pub receive_buffer: Option<i32>,
}

fn integer(v: &str) -> Result<i64, OptionValueError> {
    v.parse::<i64>().map_err(|_| OptionValueError::NotANumber)
}

fn at_least_zero(v: &str) -> Result<Option<u64>, OptionValueError> {
    let n = integer(v)?;
    if n < 0 {
        return Err(OptionValueError::Bound("must be at least 0"));
    }
    Ok((n > 0).then_some(n as u64))
}

pub fn cpu_time_limit(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n = at_least_zero(v)?;
    if n.is_some_and(|n| n > 86400 * 365) {
        return Err(OptionValueError::Bound("must be at most one year"));
    }
    o.limits.cpu_time = n;
    Ok(())
}

pub fn cpu_priority(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n = integer(v)?;
    if !(-20..=19).contains(&n) {
        return Err(OptionValueError::Bound("must be from -20 to 19"));
    }
    o.limits.cpu_priority = n as i32;
    Ok(())
}

pub fn memory_limit(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.limits.memory = at_least_zero(v)?;
    Ok(())
}

pub fn virtual_memory_limit(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.limits.virtual_memory = at_least_zero(v)?;
    Ok(())
}

pub fn stack_size(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n = integer(v)?;
    if !(1..=i32::MAX as i64).contains(&n) {
        return Err(OptionValueError::Bound("must be at least 1"));
    }
    o.limits.stack_size = Some(n as usize);
    Ok(())
}

fn buffer_size(v: &str) -> Result<Option<i32>, OptionValueError> {
    let n = integer(v)?;
    if n != 0 && !(512..=i32::MAX as i64).contains(&n) {
        return Err(OptionValueError::Bound("must be at least 512 (or 0)"));
    }
    Ok((n > 0).then_some(n as i32))
}

pub fn send_buffer_size(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.limits.send_buffer = buffer_size(v)?;
    Ok(())
}

pub fn receive_buffer_size(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.limits.receive_buffer = buffer_size(v)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::daemon_options::{DaemonOptions, parse};

    fn p(args: &[&str]) -> Result<DaemonOptions, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map_err(|e| e.to_string())
    }

    #[test]
    fn limits_parse() {
        let o = p(&[
            "g",
            "cpu-time-limit=5",
            "cpu-priority=-5",
            "memory-limit=1000000000",
            "virtual-memory-limit=2000000000",
            "stack-size=524288",
            "send-buffer-size=65536",
            "receive-buffer-size=0",
        ])
        .unwrap();
        let l = &o.limits;
        assert_eq!(l.cpu_time, Some(5));
        assert_eq!(l.cpu_priority, -5);
        assert_eq!(l.memory, Some(1_000_000_000));
        assert_eq!(l.virtual_memory, Some(2_000_000_000));
        assert_eq!(l.stack_size, Some(524288));
        assert_eq!(l.send_buffer, Some(65536));
        assert_eq!(l.receive_buffer, None);
        let o = p(&["g", "cpu-time-limit=0", "memory-limit=0"]).unwrap();
        assert_eq!((o.limits.cpu_time, o.limits.memory), (None, None));
    }

    #[test]
    fn limit_errors_name_option_value_and_expectation() {
        for (arg, want) in [
            ("cpu-time-limit=-1", "must be at least 0"),
            ("cpu-time-limit=1.5", "not a number"),
            ("cpu-priority=20", "must be from -20 to 19"),
            ("memory-limit=-5", "must be at least 0"),
            ("virtual-memory-limit=lots", "not a number"),
            ("stack-size=0", "must be at least 1"),
            ("send-buffer-size=100", "must be at least 512 (or 0)"),
            ("receive-buffer-size=-1", "must be at least 512 (or 0)"),
        ] {
            let e = p(&["g", arg]).unwrap_err();
            let (key, value) = arg.split_once('=').unwrap();
            assert!(
                e.contains(&format!(
                    "WSGIDaemonProcess g: invalid value '{value}' for option '{key}'"
                )),
                "{e}"
            );
            assert!(e.contains(want), "{arg}: {e}");
            assert!(e.contains("; expected "), "{e}");
        }
    }
}
