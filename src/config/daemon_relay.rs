//! The response relay options of `WSGIDaemonProcess` ([`ResponseRelay`]):
//! `response-flush-delay` (how long the Apache child waits for more of a
//! daemon's response before flushing what it passed downstream, 5 ms by
//! default) and `response-buffer-size` (the runaway guard: a flush after
//! that many unflushed bytes, 8 MiB by default), with mod_wsgi 6.0.2's
//! parsing rules and messages. Pure parsing, used by the option table of
//! `config::daemon_options`; `handler::relay` applies them.

use super::daemon_options::DaemonOptions;
use super::error::OptionValueError;
use std::time::Duration;

/// mod_wsgi's default (and the value of `response-buffer-size=0`).
pub const DEFAULT_BUFFER_SIZE: u64 = 8 * 1024 * 1024;

/// mod_wsgi's default `response-flush-delay`, in milliseconds.
pub const DEFAULT_FLUSH_DELAY_MS: u64 = 5;

/// How the Apache child relays a daemon's response body downstream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResponseRelay {
    /// When the daemon socket runs dry, wait this long for more before
    /// passing a FLUSH (zero: flush at once).
    pub flush_delay: Duration,
    /// Pass a FLUSH once more than this many bytes went downstream since
    /// the last one.
    pub buffer_size: u64,
}

impl Default for ResponseRelay {
    fn default() -> Self {
        ResponseRelay {
            flush_delay: Duration::from_millis(DEFAULT_FLUSH_DELAY_MS),
            buffer_size: DEFAULT_BUFFER_SIZE,
        }
    }
}

fn integer(v: &str) -> Result<i64, OptionValueError> {
    v.parse::<i64>().map_err(|_| OptionValueError::NotANumber)
}

/// `response-buffer-size=N`: as mod_wsgi, at least 65536, or 0 for the default.
pub fn response_buffer_size(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n = integer(v)?;
    if n != 0 && !(65536..=i64::from(i32::MAX)).contains(&n) {
        return Err(OptionValueError::Bound(
            "Response buffer size must be >= 65536 bytes, or 0 for default.",
        ));
    }
    o.relay.buffer_size = if n == 0 {
        DEFAULT_BUFFER_SIZE
    } else {
        n as u64
    };
    Ok(())
}

/// `response-flush-delay=MS`: milliseconds >= 0 (0 disables the delay).
pub fn response_flush_delay(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    let n = integer(v)?;
    if !(0..=i64::from(i32::MAX)).contains(&n) {
        return Err(OptionValueError::Bound(
            "Invalid response flush delay for WSGI daemon process.",
        ));
    }
    o.relay.flush_delay = Duration::from_millis(n as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<DaemonOptions, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        super::super::daemon_options::parse(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_mod_wsgi_6_0_2s() {
        let o = p(&["g"]).unwrap();
        assert_eq!(o.relay.flush_delay, Duration::from_millis(5));
        assert_eq!(o.relay.buffer_size, 8_388_608);
    }

    #[test]
    fn response_buffer_size_bounds() {
        let o = p(&["g", "response-buffer-size=65536"]).unwrap();
        assert_eq!(o.relay.buffer_size, 65536);
        let o = p(&["g", "response-buffer-size=0"]).unwrap();
        assert_eq!(o.relay.buffer_size, DEFAULT_BUFFER_SIZE);
        for bad in ["65535", "1", "-1"] {
            let e = p(&["g", &format!("response-buffer-size={bad}")]).unwrap_err();
            assert!(
                e.contains("Response buffer size must be >= 65536 bytes, or 0 for default."),
                "{e}"
            );
        }
        assert!(p(&["g", "response-buffer-size="]).is_err());
        assert!(p(&["g", "response-buffer-size=big"]).is_err());
    }

    #[test]
    fn response_flush_delay_in_milliseconds() {
        let o = p(&["g", "response-flush-delay=250"]).unwrap();
        assert_eq!(o.relay.flush_delay, Duration::from_millis(250));
        let o = p(&["g", "response-flush-delay=0"]).unwrap();
        assert_eq!(o.relay.flush_delay, Duration::ZERO);
        let e = p(&["g", "response-flush-delay=-1"]).unwrap_err();
        assert!(
            e.contains("Invalid response flush delay for WSGI daemon process."),
            "{e}"
        );
        assert!(p(&["g", "response-flush-delay="]).is_err());
    }
}
