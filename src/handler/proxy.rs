//! `WSGITrustedProxyHeaders` and `WSGITrustedProxies`: rewriting the
//! environ from headers a front-end proxy sets, exactly as mod_wsgi 6 does
//! (wsgi_environ.c, wsgi_process_proxy_headers). Each trusted header belongs
//! to a category (client address, host, server, port, script name, scheme);
//! when the peer is a trusted proxy (or no proxies are listed) the first
//! header with a value in each category is applied, and every other synonym
//! of a trusted category is deleted so spoofed values cannot reach the app.
//! `X-Forwarded-For` is walked right to left past the trusted proxies.
//! Pure functions over [`EnvironData`]; called from `cgi::collect` without
//! the GIL.

use crate::config::trusted_proxies::Subnet;
use crate::wsgi::environ::EnvironData;
use std::net::IpAddr;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Category {
    Client,
    Host,
    Server,
    Port,
    ScriptName,
    Scheme,
}

#[derive(Clone, Copy)]
enum Apply {
    ForwardedFor,
    Verbatim(&'static str),
    ScriptName,
    SchemeString,
    SchemeBool,
}

const REGISTRY: &[(&str, Category, Apply)] = &[
    (
        "HTTP_X_FORWARDED_FOR",
        Category::Client,
        Apply::ForwardedFor,
    ),
    (
        "HTTP_X_CLIENT_IP",
        Category::Client,
        Apply::Verbatim("REMOTE_ADDR"),
    ),
    (
        "HTTP_X_REAL_IP",
        Category::Client,
        Apply::Verbatim("REMOTE_ADDR"),
    ),
    (
        "HTTP_X_FORWARDED_HOST",
        Category::Host,
        Apply::Verbatim("HTTP_HOST"),
    ),
    ("HTTP_X_HOST", Category::Host, Apply::Verbatim("HTTP_HOST")),
    (
        "HTTP_X_FORWARDED_SERVER",
        Category::Server,
        Apply::Verbatim("SERVER_NAME"),
    ),
    (
        "HTTP_X_FORWARDED_PORT",
        Category::Port,
        Apply::Verbatim("SERVER_PORT"),
    ),
    (
        "HTTP_X_SCRIPT_NAME",
        Category::ScriptName,
        Apply::ScriptName,
    ),
    (
        "HTTP_X_FORWARDED_SCRIPT_NAME",
        Category::ScriptName,
        Apply::ScriptName,
    ),
    (
        "HTTP_X_FORWARDED_PROTO",
        Category::Scheme,
        Apply::SchemeString,
    ),
    (
        "HTTP_X_FORWARDED_SCHEME",
        Category::Scheme,
        Apply::SchemeString,
    ),
    ("HTTP_X_SCHEME", Category::Scheme, Apply::SchemeString),
    (
        "HTTP_X_FORWARDED_HTTPS",
        Category::Scheme,
        Apply::SchemeBool,
    ),
    ("HTTP_X_FORWARDED_SSL", Category::Scheme, Apply::SchemeBool),
    ("HTTP_X_HTTPS", Category::Scheme, Apply::SchemeBool),
];

fn trusted(ip: &str, proxies: &[Subnet]) -> Option<bool> {
    let ip: IpAddr = ip.trim().parse().ok()?;
    Some(proxies.iter().any(|p| p.contains(&ip)))
}

fn forwarded_for(env: &mut EnvironData, proxies: Option<&[Subnet]>, value: &str) {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let Some(proxies) = proxies else {
        // No proxy list: the first (left-most) element is the client.
        if let Some(first) = items.first() {
            env.set("REMOTE_ADDR", first);
        }
        return;
    };
    if items.is_empty() {
        return;
    }
    // Right to left over trusted proxies; stop at the first untrusted or
    // invalid address.
    let mut first = None;
    for i in (0..items.len()).rev() {
        match trusted(items[i], proxies) {
            Some(true) => first = Some(i),
            _ => break,
        }
    }
    match first {
        Some(f) => {
            let i = f.saturating_sub(1);
            env.set("REMOTE_ADDR", items[i]);
            env.set("HTTP_X_FORWARDED_FOR", items[i..].join(", "));
        }
        None => {
            let last = items[items.len() - 1];
            env.set("REMOTE_ADDR", last);
            env.set("HTTP_X_FORWARDED_FOR", last);
        }
    }
}

/// Applies the trusted headers to `env`. Returns true when a scheme header
/// decided `HTTPS` (then mod_ssl's view must not override it).
pub fn apply(env: &mut EnvironData, headers: &[String], proxies: Option<&[Subnet]>) -> bool {
    let peer_trusted = match proxies {
        None => true,
        Some(p) => env
            .get("REMOTE_ADDR")
            .and_then(|ip| trusted(&String::from_utf8_lossy(ip), p))
            .unwrap_or(false),
    };
    let mut matched: Vec<Category> = Vec::new();
    let mut kept: Vec<(Category, &'static str)> = Vec::new();
    for name in headers {
        let Some(&(entry, category, how)) = REGISTRY.iter().find(|(n, _, _)| *n == name) else {
            continue;
        };
        if !matched.contains(&category) {
            matched.push(category);
        }
        if !peer_trusted {
            continue;
        }
        let Some(value) = env
            .get(entry)
            .map(|v| String::from_utf8_lossy(v).into_owned())
        else {
            continue;
        };
        match how {
            Apply::ForwardedFor => forwarded_for(env, proxies, &value),
            Apply::Verbatim(key) => env.set(key, &value),
            Apply::ScriptName => {
                env.set("mod_wsgi.mount_point", &value);
                env.set("SCRIPT_NAME", &value);
            }
            Apply::SchemeString => {
                if value.eq_ignore_ascii_case("https") {
                    env.set("HTTPS", "1");
                } else if value.eq_ignore_ascii_case("http") {
                    env.remove("HTTPS");
                }
            }
            Apply::SchemeBool => {
                let v = value.to_ascii_lowercase();
                if matches!(v.as_str(), "on" | "true" | "1") {
                    env.set("HTTPS", "1");
                } else if matches!(v.as_str(), "off" | "false" | "0") {
                    env.remove("HTTPS");
                }
            }
        }
        kept.retain(|(c, _)| *c != category);
        kept.push((category, entry));
    }
    for category in &matched {
        let keep = kept.iter().find(|(c, _)| c == category).map(|(_, n)| *n);
        for (name, c, _) in REGISTRY {
            if c == category && Some(*name) != keep {
                env.remove(name);
            }
        }
    }
    kept.iter().any(|(c, _)| *c == Category::Scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::trusted_proxies::header_env_name;

    fn env(pairs: &[(&str, &str)]) -> EnvironData {
        let mut e = EnvironData::default();
        for (k, v) in pairs {
            e.set(k, v);
        }
        e
    }
    fn get(e: &EnvironData, k: &str) -> Option<String> {
        e.get(k).map(|v| String::from_utf8_lossy(v).into_owned())
    }
    fn names(h: &[&str]) -> Vec<String> {
        h.iter().map(|h| header_env_name(h)).collect()
    }

    #[test]
    fn subnets() {
        let s = Subnet::parse("10.0.0.0/8").unwrap();
        assert!(s.contains(&"10.1.2.3".parse().unwrap()));
        assert!(!s.contains(&"11.1.2.3".parse().unwrap()));
        assert!(
            Subnet::parse("127.0.0.1")
                .unwrap()
                .contains(&"127.0.0.1".parse().unwrap())
        );
        assert!(
            Subnet::parse("::1")
                .unwrap()
                .contains(&"::1".parse().unwrap())
        );
        assert!(
            Subnet::parse("0.0.0.0/0")
                .unwrap()
                .contains(&"1.2.3.4".parse().unwrap())
        );
        assert!(Subnet::parse("10.0.0.0/33").is_err());
        assert!(Subnet::parse("proxy.example").is_err());
    }

    #[test]
    fn forwarded_for_without_proxy_list_takes_first() {
        let mut e = env(&[
            ("REMOTE_ADDR", "127.0.0.1"),
            ("HTTP_X_FORWARDED_FOR", " , 1.1.1.1, 2.2.2.2"),
        ]);
        apply(&mut e, &names(&["X-Forwarded-For"]), None);
        assert_eq!(get(&e, "REMOTE_ADDR").unwrap(), "1.1.1.1");
        assert_eq!(
            get(&e, "HTTP_X_FORWARDED_FOR").unwrap(),
            " , 1.1.1.1, 2.2.2.2"
        );
    }

    #[test]
    fn forwarded_for_walks_right_to_left() {
        let proxies = vec![
            Subnet::parse("127.0.0.1").unwrap(),
            Subnet::parse("10.0.0.0/8").unwrap(),
        ];
        let mut e = env(&[
            ("REMOTE_ADDR", "127.0.0.1"),
            (
                "HTTP_X_FORWARDED_FOR",
                "6.6.6.6, 1.1.1.1, 10.0.0.2, 10.0.0.1",
            ),
            ("HTTP_X_REAL_IP", "9.9.9.9"),
        ]);
        apply(&mut e, &names(&["X-Forwarded-For"]), Some(&proxies));
        assert_eq!(get(&e, "REMOTE_ADDR").unwrap(), "1.1.1.1");
        assert_eq!(
            get(&e, "HTTP_X_FORWARDED_FOR").unwrap(),
            "1.1.1.1, 10.0.0.2, 10.0.0.1"
        );
        assert_eq!(get(&e, "HTTP_X_REAL_IP"), None, "synonym removed");
        // Nothing trusted in the list: the last element.
        let mut e = env(&[
            ("REMOTE_ADDR", "127.0.0.1"),
            ("HTTP_X_FORWARDED_FOR", "1.1.1.1, 2.2.2.2"),
        ]);
        apply(&mut e, &names(&["X-Forwarded-For"]), Some(&proxies));
        assert_eq!(get(&e, "REMOTE_ADDR").unwrap(), "2.2.2.2");
        assert_eq!(get(&e, "HTTP_X_FORWARDED_FOR").unwrap(), "2.2.2.2");
    }

    #[test]
    fn untrusted_peer_applies_nothing_but_strips_synonyms() {
        let proxies = vec![Subnet::parse("10.0.0.1").unwrap()];
        let mut e = env(&[
            ("REMOTE_ADDR", "127.0.0.1"),
            ("HTTP_X_FORWARDED_PROTO", "https"),
            ("HTTP_X_FORWARDED_SSL", "on"),
            ("HTTP_X_FORWARDED_HOST", "evil"),
        ]);
        let scheme = apply(
            &mut e,
            &names(&["X-Forwarded-Proto", "X-Forwarded-Host"]),
            Some(&proxies),
        );
        assert!(!scheme);
        assert_eq!(get(&e, "HTTPS"), None);
        assert_eq!(get(&e, "HTTP_X_FORWARDED_PROTO"), None);
        assert_eq!(get(&e, "HTTP_X_FORWARDED_SSL"), None);
        assert_eq!(get(&e, "HTTP_X_FORWARDED_HOST"), None);
        assert_eq!(get(&e, "REMOTE_ADDR").unwrap(), "127.0.0.1");
    }

    #[test]
    fn trusted_scheme_host_port_script_name() {
        let mut e = env(&[
            ("REMOTE_ADDR", "127.0.0.1"),
            ("SCRIPT_NAME", "/app"),
            ("HTTP_X_FORWARDED_PROTO", "https"),
            ("HTTP_X_FORWARDED_HOST", "www.example.com"),
            ("HTTP_X_HOST", "spoofed"),
            ("HTTP_X_FORWARDED_PORT", "8443"),
            ("HTTP_X_SCRIPT_NAME", "/mount"),
        ]);
        let scheme = apply(
            &mut e,
            &names(&[
                "X-Forwarded-Proto",
                "X-Forwarded-Host",
                "X-Forwarded-Port",
                "X-Script-Name",
            ]),
            None,
        );
        assert!(scheme);
        assert_eq!(get(&e, "HTTPS").unwrap(), "1");
        assert_eq!(get(&e, "HTTP_HOST").unwrap(), "www.example.com");
        assert_eq!(get(&e, "HTTP_X_HOST"), None);
        assert_eq!(get(&e, "HTTP_X_FORWARDED_HOST").unwrap(), "www.example.com");
        assert_eq!(get(&e, "SERVER_PORT").unwrap(), "8443");
        assert_eq!(get(&e, "SCRIPT_NAME").unwrap(), "/mount");
        assert_eq!(get(&e, "mod_wsgi.mount_point").unwrap(), "/mount");
    }
}
