//! Reverse proxying for mod_wsgi-express: `--proxy-mount-point URL TARGET` (alias
//! `--proxy-url-alias`) forwards a sub-URL, and `--proxy-virtual-host HOST TARGET` a whole
//! host name, to another HTTP server through mod_proxy / mod_proxy_http (WebSocket
//! upgrades allowed), with `ProxyTimeout` from `--proxy-timeout` (default the socket
//! timeout). As in express, the backend gets `X-Forwarded-Port`, `X-Forwarded-Scheme`
//! (https only) and, for mount points, `X-Forwarded-Prefix`; a mount point without its
//! trailing slash redirects to it. A proxied host needs a default virtual host first
//! (`write_default_vhost`), or it would take every request for the port. Called by
//! `options.rs` (checks) and `httpd_conf.rs` (rendering); no Python.

use crate::httpd_conf::q;
use crate::options::Options;
use anyhow::{Result, bail};
use std::fmt::Write as _;

/// Checks the mount points and targets (flat pairs as clap gives them).
pub fn check(mount_points: &[(String, String)], hosts: &[(String, String)]) -> Result<()> {
    for (url, target) in mount_points {
        if !url.starts_with('/') || url == "/" {
            bail!("--proxy-mount-point URL must be a sub-URL starting with / (got '{url}')");
        }
        check_target(target, "--proxy-mount-point")?;
    }
    for (host, target) in hosts {
        if host.is_empty() || host.contains(['/', ' ']) {
            bail!("--proxy-virtual-host needs a host name (got '{host}')");
        }
        check_target(target, "--proxy-virtual-host")?;
    }
    Ok(())
}

fn check_target(target: &str, flag: &str) -> Result<()> {
    let lower = target.to_ascii_lowercase();
    let known = ["http://", "https://", "ws://", "wss://", "unix:"];
    if !known.iter().any(|scheme| lower.starts_with(scheme)) {
        bail!("{flag} target must be an http(s)://, ws(s):// or unix: URL (got '{target}')");
    }
    Ok(())
}

fn any(opts: &Options) -> bool {
    !opts.proxy_mount_points.is_empty() || !opts.proxy_virtual_hosts.is_empty()
}

/// Modules proxying needs (loaded only if not already loaded).
pub fn modules(opts: &Options) -> &'static [&'static str] {
    if any(opts) {
        &["proxy", "proxy_http"]
    } else {
        &[]
    }
}

/// With proxied host names and no `--server-name` (whose catch-all vhost comes first),
/// an empty default vhost keeps every other name on the main server's configuration.
pub fn write_default_vhost(out: &mut String, opts: &Options) {
    if opts.proxy_virtual_hosts.is_empty() || opts.server_name.is_some() {
        return;
    }
    let _ = writeln!(out, "<VirtualHost _default_:{}>", opts.port);
    let _ = writeln!(out, "RewriteEngine On");
    let _ = writeln!(out, "RewriteOptions Inherit");
    let _ = writeln!(out, "</VirtualHost>");
    let _ = writeln!(out);
}

const SCHEME_HEADER: &str = "RewriteCond %{HTTPS} on\n\
RewriteRule .* - [E=URL_SCHEME:https,NE]\n\
RequestHeader set X-Forwarded-Scheme %{URL_SCHEME}e env=URL_SCHEME\n";

/// `ProxyTimeout`, the mount points (longest first) and the proxied virtual hosts.
pub fn write_proxies(out: &mut String, opts: &Options) {
    if !any(opts) {
        return;
    }
    let _ = writeln!(out, "ProxyTimeout {}", opts.proxy_timeout);
    let mut mounts = opts.proxy_mount_points.clone();
    mounts.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| b.0.cmp(&a.0)));
    for (url, target) in &mounts {
        let prefix = url.trim_end_matches('/');
        let target = target.trim_end_matches('/');
        let (from, to) = (format!("{prefix}/"), format!("{target}/"));
        let _ = writeln!(out, "ProxyPass {} {} upgrade=websocket", q(&from), q(&to));
        let _ = writeln!(out, "ProxyPassReverse {} {}", q(&from), q(&to));
        let _ = writeln!(out, "<Location {}>", q(&from));
        let _ = writeln!(out, "RewriteEngine On");
        let _ = writeln!(out, "RewriteRule .* - [E=SERVER_PORT:%{{SERVER_PORT}},NE]");
        let _ = writeln!(out, "RequestHeader set X-Forwarded-Port %{{SERVER_PORT}}e");
        let _ = write!(out, "{SCHEME_HEADER}");
        let _ = writeln!(out, "RequestHeader set X-Forwarded-Prefix {}", q(prefix));
        let _ = writeln!(out, "</Location>");
        let _ = writeln!(out, "<LocationMatch {}>", q(format!("^{prefix}$")));
        let _ = writeln!(out, "RewriteEngine On");
        let _ = writeln!(
            out,
            "RewriteRule .* %{{REQUEST_SCHEME}}://%{{HTTP_HOST}}%{{REQUEST_URI}}/ [R=302,L]"
        );
        let _ = writeln!(out, "</LocationMatch>");
    }
    for (host, target) in &opts.proxy_virtual_hosts {
        // `ProxyPass /` needs the slash on the target too (express leaves it to the user).
        let target = &format!("{}/", target.trim_end_matches('/'));
        let _ = writeln!(out, "<VirtualHost *:{}>", opts.port);
        let _ = writeln!(out, "ServerName {host}");
        let _ = writeln!(out, "ProxyPass / {} upgrade=websocket", q(target));
        let _ = writeln!(out, "ProxyPassReverse / {}", q(target));
        let _ = writeln!(out, "RequestHeader set X-Forwarded-Port {}", opts.port);
        let _ = writeln!(out, "RewriteEngine On");
        let _ = write!(out, "{SCHEME_HEADER}");
        let _ = writeln!(out, "</VirtualHost>");
    }
}

#[cfg(test)]
mod tests {
    use crate::httpd_conf::render;
    use crate::options::testing::Fixture;

    #[test]
    fn mount_points_and_hosts_are_written() {
        let f = Fixture::new(&["event"]);
        let o = f.options(&[
            "--proxy-mount-point",
            "/api",
            "http://127.0.0.1:9000/v1/",
            "--proxy-url-alias",
            "/api/admin/",
            "http://127.0.0.1:9001",
            "--proxy-virtual-host",
            "backend.test",
            "http://127.0.0.1:9002/",
            "--proxy-timeout",
            "7",
        ]);
        let c = render(&o);
        let at = |l: &str| {
            c.lines()
                .position(|x| x == l)
                .unwrap_or_else(|| panic!("{l} missing:\n{c}"))
        };
        assert!(c.contains("LoadModule proxy_http_module"));
        at("ProxyTimeout 7");
        let admin = at("ProxyPass \"/api/admin/\" \"http://127.0.0.1:9001/\" upgrade=websocket");
        let api = at("ProxyPass \"/api/\" \"http://127.0.0.1:9000/v1/\" upgrade=websocket");
        assert!(admin < api, "longest first");
        at("RequestHeader set X-Forwarded-Prefix \"/api\"");
        at("<LocationMatch \"^/api$\">");
        let default = at("<VirtualHost _default_:8000>");
        assert!(default < at("ServerName backend.test"));
        let o = f.options(&[]);
        assert!(!render(&o).contains("Proxy"));
    }

    #[test]
    fn bad_mount_points_and_targets_are_refused() {
        let f = Fixture::new(&["event"]);
        for args in [
            ["--proxy-mount-point", "api", "http://x/"],
            ["--proxy-mount-point", "/", "http://x/"],
            ["--proxy-mount-point", "/api", "x:9000"],
            ["--proxy-virtual-host", "a/b", "http://x/"],
        ] {
            assert!(f.try_options(&args).is_err(), "{args:?}");
        }
    }
}
