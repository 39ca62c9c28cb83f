//! The gate of `mod_wsgi.server_metrics()`, configured as mod_wsgi does:
//! `WSGIServerMetrics On|Off` (main server only) for the Apache children,
//! and `server-metrics=on|off` on each `WSGIDaemonProcess` for that group's
//! daemons. The two are independent: the directive is not a default for
//! daemon groups. Both default to off.

use super::daemon_options::DaemonOptions;
use super::directives::{Target, on_off};
use super::error::{ConfigError, OptionValueError};

/// `WSGIServerMetrics On|Off`.
pub fn directive(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.server_metrics = Some(on_off(name, args)?);
    Ok(())
}

/// `server-metrics=on|off` of `WSGIDaemonProcess` (any case, as mod_wsgi).
pub fn daemon_option(o: &mut DaemonOptions, v: &str) -> Result<(), OptionValueError> {
    o.server_metrics = if v.eq_ignore_ascii_case("on") {
        true
    } else if v.eq_ignore_ascii_case("off") {
        false
    } else {
        return Err(OptionValueError::Bound("must be On or Off"));
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::daemon_options::parse;

    fn p(args: &[&str]) -> Result<DaemonOptions, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map_err(|e| e.to_string())
    }

    #[test]
    fn daemon_flag_defaults_off_and_takes_on_off_in_any_case() {
        assert!(!p(&["g"]).unwrap().server_metrics);
        assert!(p(&["g", "server-metrics=On"]).unwrap().server_metrics);
        assert!(p(&["g", "server-metrics=on"]).unwrap().server_metrics);
        assert!(!p(&["g", "server-metrics=OFF"]).unwrap().server_metrics);
        let e = p(&["g", "server-metrics=yes"]).unwrap_err();
        assert!(
            e.contains("invalid value 'yes' for option 'server-metrics'"),
            "{e}"
        );
        assert!(p(&["g", "server-metrics="]).is_err());
    }

    #[test]
    fn directive_is_on_off() {
        let mut server = crate::config::ServerConfig::default();
        let mut dir = crate::config::DirConfig::default();
        let mut t = Target {
            server: &mut server,
            dir: &mut dir,
        };
        let on = ["On".to_string()];
        directive(&mut t, "WSGIServerMetrics", &on).unwrap();
        assert_eq!(t.server.server_metrics, Some(true));
        let e = directive(&mut t, "WSGIServerMetrics", &["maybe".to_string()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("WSGIServerMetrics must be one of: Off | On"),
            "{e}"
        );
        assert!(crate::config::directives::is_global_only(
            "WSGIServerMetrics"
        ));
    }
}
