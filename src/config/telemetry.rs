//! The telemetry directives, as mod_wsgi 6 (main server only):
//! `WSGITelemetryService unix:/path [interval=N]` (where each process's
//! reporter sends its datagrams, every N seconds, N >= 0.5, default 1.0),
//! `WSGISlowRequests SECONDS` (report requests that took longer; 0: off) and
//! `WSGITelemetryOptions [+|-]Flag ... | None | All` (capture flags;
//! `CaptureUserAgent` is the only one). Pure parsers.

use super::directives::{Target, one};
use super::error::ConfigError;

/// `CaptureUserAgent`: slow-request records carry the User-Agent.
pub const CAPTURE_USER_AGENT: u32 = 1;
const ALL: u32 = CAPTURE_USER_AGENT;

/// The telemetry settings of the main server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TelemetryConfig {
    /// The UNIX datagram socket path (`unix:` stripped); None: off.
    pub service: Option<String>,
    /// `interval=` in seconds, when given (1.0 otherwise).
    pub interval: Option<f64>,
    /// `WSGISlowRequests` threshold in seconds.
    pub slow_requests: Option<f64>,
    /// `WSGITelemetryOptions` flags.
    pub options: u32,
}

impl TelemetryConfig {
    /// The reporting interval in seconds.
    pub fn interval(&self) -> f64 {
        self.interval.unwrap_or(1.0)
    }
}

fn bad(directive: &str, expected: &'static str, value: &str) -> ConfigError {
    ConfigError::BadValue {
        directive: directive.to_string(),
        expected,
        value: value.to_string(),
    }
}

/// `WSGITelemetryService unix:/path [interval=N]`.
pub fn service(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let (target, interval) = match args {
        [target] => (target, None),
        [target, interval] => (target, Some(interval)),
        _ => {
            return Err(ConfigError::MissingArguments {
                directive: name.to_string(),
                needs: "a target 'unix:/path' and optionally 'interval=SECONDS'",
                example: Some("unix:/var/run/mod_wsgi-telemetry.sock interval=1.0"),
            });
        }
    };
    let path = target
        .strip_prefix("unix:")
        .filter(|p| p.starts_with('/') && p.len() < 108)
        .ok_or_else(|| {
            bad(
                name,
                "a UNIX datagram socket 'unix:/absolute/path' (under 108 bytes); \
                 remote 'udp:host:port' targets are not supported",
                target,
            )
        })?;
    let interval = match interval {
        None => None,
        Some(word) => {
            let v = word
                .strip_prefix("interval=")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.5)
                .ok_or_else(|| bad(name, "'interval=SECONDS' with at least 0.5 seconds", word))?;
            Some(v)
        }
    };
    t.server.telemetry.service = Some(path.to_string());
    t.server.telemetry.interval = interval;
    Ok(())
}

/// `WSGISlowRequests SECONDS`.
pub fn slow_requests(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "the threshold in seconds")?;
    let seconds = v
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| bad(name, "a threshold in seconds (0: off)", v))?;
    // 0 turns slow-request records off, as in mod_wsgi.
    t.server.telemetry.slow_requests = (seconds > 0.0).then_some(seconds);
    Ok(())
}

/// `WSGITelemetryOptions [+|-]Flag ... | None | All`, as Apache's
/// `Options`: absolute names replace the set, `+`/`-` change it, the two
/// forms not mixed in one directive.
pub fn options(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "at least one flag",
            example: Some("+CaptureUserAgent"),
        });
    }
    let expected = "CaptureUserAgent, None or All, each optionally prefixed by + or - \
                    (the two forms not mixed)";
    let mut absolute = 0;
    let mut incremental = t.server.telemetry.options;
    let (mut seen_abs, mut seen_inc) = (false, false);
    for word in args {
        let (sign, flag) = match word.as_bytes().first() {
            Some(b'+') | Some(b'-') => (Some(word.starts_with('-')), &word[1..]),
            _ => (None, word.as_str()),
        };
        match sign {
            Some(_) => seen_inc = true,
            None => seen_abs = true,
        }
        if seen_abs && seen_inc {
            return Err(bad(name, expected, word));
        }
        let bits = if flag.eq_ignore_ascii_case("CaptureUserAgent") {
            CAPTURE_USER_AGENT
        } else if sign.is_none() && flag.eq_ignore_ascii_case("None") {
            absolute = 0;
            continue;
        } else if sign.is_none() && flag.eq_ignore_ascii_case("All") {
            absolute = ALL;
            continue;
        } else {
            return Err(bad(name, expected, word));
        };
        match sign {
            Some(true) => incremental &= !bits,
            Some(false) => incremental |= bits,
            None => absolute |= bits,
        }
    }
    t.server.telemetry.options = if seen_inc { incremental } else { absolute };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        f: fn(&mut Target<'_>, &str, &[String]) -> Result<(), ConfigError>,
        name: &str,
        lines: &[&[&str]],
    ) -> Result<TelemetryConfig, String> {
        let mut server = crate::config::ServerConfig::default();
        let mut dir = crate::config::DirConfig::default();
        let mut t = Target {
            server: &mut server,
            dir: &mut dir,
        };
        for args in lines {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            f(&mut t, name, &args).map_err(|e| e.to_string())?;
        }
        Ok(server.telemetry)
    }

    #[test]
    fn service_takes_a_unix_path_and_an_interval() {
        let c = run(service, "WSGITelemetryService", &[&["unix:/tmp/t.sock"]]).unwrap();
        assert_eq!(c.service.as_deref(), Some("/tmp/t.sock"));
        assert_eq!(c.interval(), 1.0);
        let c = run(
            service,
            "WSGITelemetryService",
            &[&["unix:/tmp/t.sock", "interval=0.5"]],
        )
        .unwrap();
        assert_eq!(c.interval(), 0.5);
        for bad in [
            &["udp:127.0.0.1:9000"][..],
            &["unix:relative"],
            &["unix:/t", "interval=0.1"],
            &["unix:/t", "every=1"],
            &[],
        ] {
            let e = run(service, "WSGITelemetryService", &[bad]).unwrap_err();
            assert!(e.starts_with("WSGITelemetryService"), "{e}");
        }
    }

    #[test]
    fn slow_requests_takes_positive_seconds() {
        let c = run(slow_requests, "WSGISlowRequests", &[&["2.5"]]).unwrap();
        assert_eq!(c.slow_requests, Some(2.5));
        let c = run(slow_requests, "WSGISlowRequests", &[&["2"], &["0"]]).unwrap();
        assert_eq!(c.slow_requests, None);
        for bad in [&["-1"][..], &["soon"], &["1", "2"]] {
            assert!(run(slow_requests, "WSGISlowRequests", &[bad]).is_err());
        }
    }

    #[test]
    fn options_are_apache_options_style() {
        let o = "WSGITelemetryOptions";
        assert_eq!(
            run(options, o, &[&["CaptureUserAgent"]]).unwrap().options,
            1
        );
        assert_eq!(
            run(options, o, &[&["All"], &["-CaptureUserAgent"]])
                .unwrap()
                .options,
            0
        );
        assert_eq!(
            run(options, o, &[&["+CaptureUserAgent"]]).unwrap().options,
            1
        );
        assert_eq!(run(options, o, &[&["All"], &["None"]]).unwrap().options, 0);
        let e = run(options, o, &[&["+CaptureUserAgent", "All"]]).unwrap_err();
        assert!(e.contains("got 'All'"), "{e}");
        assert!(run(options, o, &[&["CaptureCookies"]]).is_err());
        assert!(run(options, o, &[&["+None"]]).is_err());
        assert!(run(options, o, &[&[]]).is_err());
    }
}
