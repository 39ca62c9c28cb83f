//! `--metrics-url`/`--metrics-allow` and `--health-url`/`--health-allow`:
//! the module's `wsgi-metrics` and `wsgi-health` handlers at a URL each, open
//! to local clients (`Require local`) and to the hosts or networks the allow
//! options name (`Require ip`, which takes the same values, checked here so
//! a mistake is named before Apache starts). Resolved from the command line
//! by `resolve`, written into httpd.conf after the application's and the
//! auth options' sections (so their access rules do not apply to these
//! URLs) and shown in the start-up summary.

use crate::cli::ServerArgs;
use crate::httpd_conf::q;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// One endpoint: its URL path and who besides local clients may read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub allow: Vec<String>,
}

/// The endpoints asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Monitoring {
    pub metrics: Option<Endpoint>,
    pub health: Option<Endpoint>,
}

/// Resolves and checks the four options.
pub fn resolve(args: &ServerArgs) -> Result<Monitoring> {
    let metrics = endpoint(
        ("--metrics-url", args.metrics_url.as_deref()),
        ("--metrics-allow", &args.metrics_allow),
    )?;
    let health = endpoint(
        ("--health-url", args.health_url.as_deref()),
        ("--health-allow", &args.health_allow),
    )?;
    if let (Some(m), Some(h)) = (&metrics, &health)
        && m.url == h.url
    {
        bail!(
            "--metrics-url and --health-url must differ (both '{}')",
            m.url
        );
    }
    Ok(Monitoring { metrics, health })
}

fn endpoint(
    (url_flag, url): (&str, Option<&str>),
    (allow_flag, allow): (&str, &[String]),
) -> Result<Option<Endpoint>> {
    let Some(url) = url else {
        if let Some(first) = allow.first() {
            bail!("{allow_flag} '{first}' needs {url_flag}");
        }
        return Ok(None);
    };
    if !url.starts_with('/') || url.chars().any(|c| c.is_whitespace() || c == '"') {
        bail!(
            "{url_flag} must be a URL path starting with '/' without spaces or quotes (got '{url}')"
        );
    }
    for a in allow {
        if !is_ip_spec(a) {
            bail!(
                "{allow_flag} takes what Apache's 'Require ip' takes: an IP address, a partial \
                 IPv4 address (10.1), or a network as address/bits or address/netmask (got '{a}')"
            );
        }
    }
    Ok(Some(Endpoint {
        url: url.to_string(),
        allow: allow.to_vec(),
    }))
}

/// Whether `Require ip` accepts `s` (what `apr_ipsubnet_create` parses).
pub fn is_ip_spec(s: &str) -> bool {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        // A partial IPv4 address: one to three leading octets, no mask.
        let parts: Vec<&str> = addr.trim_end_matches('.').split('.').collect();
        return mask.is_none()
            && (1..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.parse::<u8>().is_ok());
    };
    match (mask, ip) {
        (None, _) => true,
        (Some(m), IpAddr::V4(_)) => {
            m.parse::<u8>().is_ok_and(|b| b <= 32) || m.parse::<Ipv4Addr>().is_ok()
        }
        (Some(m), IpAddr::V6(_)) => m.parse::<u8>().is_ok_and(|b| b <= 128),
    }
}

/// The `<Location>` blocks.
pub fn write(out: &mut String, m: &Monitoring) {
    let blocks = [(&m.metrics, "wsgi-metrics"), (&m.health, "wsgi-health")];
    for (endpoint, handler) in blocks {
        let Some(e) = endpoint else { continue };
        let _ = writeln!(out, "<Location {}>", q(&e.url));
        let _ = writeln!(out, "    SetHandler {handler}");
        let _ = writeln!(out, "    Require local");
        if !e.allow.is_empty() {
            let _ = writeln!(out, "    Require ip {}", e.allow.join(" "));
        }
        let _ = writeln!(out, "</Location>");
    }
}

/// The summary lines: (label, URL).
pub fn summary(m: &Monitoring, base_url: &str) -> Vec<(&'static str, String)> {
    let base = base_url.trim_end_matches('/');
    let mut lines = Vec::new();
    if let Some(e) = &m.metrics {
        lines.push(("Metrics URL", format!("{base}{}", e.url)));
    }
    if let Some(e) = &m.health {
        lines.push(("Health URL", format!("{base}{}", e.url)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_ip_values() {
        for ok in [
            "10.1.2.3",
            "10.1",
            "10.1.",
            "192.168.0.0/16",
            "10.0.0.0/255.0.0.0",
            "::1",
            "2001:db8::/32",
        ] {
            assert!(is_ip_spec(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "10.0.0.0/33",
            "10.1/8",
            "::1/129",
            "300.1",
            "1.2.3.4.5",
        ] {
            assert!(!is_ip_spec(bad), "{bad}");
        }
    }

    #[test]
    fn blocks_are_local_plus_the_allowed() {
        let m = Monitoring {
            metrics: Some(Endpoint {
                url: "/metrics".into(),
                allow: vec!["10.0.0.0/8".into(), "192.168.1.7".into()],
            }),
            health: Some(Endpoint {
                url: "/healthz".into(),
                allow: vec![],
            }),
        };
        let mut out = String::new();
        write(&mut out, &m);
        assert_eq!(
            out,
            "<Location \"/metrics\">\n    SetHandler wsgi-metrics\n    Require local\n    \
             Require ip 10.0.0.0/8 192.168.1.7\n</Location>\n<Location \"/healthz\">\n    \
             SetHandler wsgi-health\n    Require local\n</Location>\n"
        );
        assert_eq!(
            summary(&m, "http://localhost:8000/"),
            vec![
                ("Metrics URL", "http://localhost:8000/metrics".to_string()),
                ("Health URL", "http://localhost:8000/healthz".to_string())
            ]
        );
    }
}
