//! HTTPS for mod_wsgi-express: resolves `--https-port` (alias `--ssl-port`) with
//! `--ssl-certificate-file`/`--ssl-certificate-key-file` (or `--ssl-certificate BASE` for
//! BASE.crt/BASE.key), `--ssl-certificate-chain-file`, `--ssl-ca-certificate-file` with
//! `--ssl-verify-client`, `--ssl-environment`, `--https-only` and `--hsts-policy`, and
//! renders their httpd.conf pieces: mod_ssl and the shmcb session
//! cache, a second `Listen`, the TLS virtual host(s) (a catch-all plus the named vhost when
//! `--server-name` is given, as express does; one default vhost otherwise), and the
//! `--https-only` redirect of plain HTTP requests. The TLS vhosts inherit the server-level
//! application mount and static-file rules (`RewriteOptions Inherit`), so the same app is
//! served on both ports and sees `wsgi.url_scheme == "https"` through mod_ssl. Called by
//! `options.rs` (resolution) and `httpd_conf.rs` (rendering); no Python.

use crate::cli::ServerArgs;
use crate::httpd_conf::q;
use crate::options::Options;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Resolved HTTPS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Https {
    pub port: u16,
    pub certificate_file: PathBuf,
    pub key_file: PathBuf,
    pub chain_file: Option<PathBuf>,
    /// `--ssl-ca-certificate-file`: CA for client certificates.
    pub ca_file: Option<PathBuf>,
    /// URLs that require a client certificate (`--ssl-verify-client`, else `/`).
    pub verify_client_urls: Vec<String>,
    pub ssl_environment: bool,
    pub https_only: bool,
    pub hsts_policy: Option<String>,
    /// `https://HOST[:PORT]/`.
    pub url: String,
}

/// Resolves the HTTPS options; `abs` makes a path absolute against the current directory
/// and `url_host` is the name used in URLs (`--server-name` or the listener host).
pub fn resolve(
    args: &ServerArgs,
    abs: &dyn Fn(&str) -> PathBuf,
    url_host: &str,
) -> Result<Option<Https>> {
    let mut cert = args.ssl_certificate_file.as_deref().map(abs);
    let mut key = args.ssl_certificate_key_file.as_deref().map(abs);
    if let Some(base) = &args.ssl_certificate {
        cert = Some(abs(&format!("{base}.crt")));
        key = Some(abs(&format!("{base}.key")));
    }
    let chain = args.ssl_certificate_chain_file.as_deref().map(abs);
    let ca = args.ssl_ca_certificate_file.as_deref().map(abs);
    if ca.is_none() && !args.ssl_verify_client_urls.is_empty() {
        bail!("--ssl-verify-client needs --ssl-ca-certificate-file");
    }
    let Some(port) = args.https_port else {
        if cert.is_some() || key.is_some() || chain.is_some() || ca.is_some() {
            bail!("--https-port must be specified when SSL certificate options are provided");
        }
        for (given, flag) in [
            (args.https_only, "--https-only"),
            (args.ssl_environment, "--ssl-environment"),
            (args.hsts_policy.is_some(), "--hsts-policy"),
        ] {
            if given {
                bail!("{flag} needs --https-port");
            }
        }
        return Ok(None);
    };
    if port == args.port {
        bail!("--https-port {port} is also the HTTP --port");
    }
    let (Some(certificate_file), Some(key_file)) = (cert, key) else {
        bail!(
            "--https-port needs --ssl-certificate-file and --ssl-certificate-key-file \
             (or --ssl-certificate BASE for BASE.crt and BASE.key)"
        );
    };
    for (path, what) in [
        (Some(&certificate_file), "SSL certificate file"),
        (Some(&key_file), "SSL certificate key file"),
        (chain.as_ref(), "SSL certificate chain file"),
        (ca.as_ref(), "SSL CA certificate file"),
    ] {
        if let Some(path) = path.filter(|p| !p.is_file()) {
            bail!("{what} {} does not exist or is not a file", path.display());
        }
    }
    let url = if port == 443 {
        format!("https://{url_host}/")
    } else {
        format!("https://{url_host}:{port}/")
    };
    Ok(Some(Https {
        port,
        certificate_file,
        key_file,
        chain_file: chain,
        verify_client_urls: if ca.is_none() {
            Vec::new()
        } else if args.ssl_verify_client_urls.is_empty() {
            vec!["/".into()]
        } else {
            args.ssl_verify_client_urls.clone()
        },
        ca_file: ca,
        ssl_environment: args.ssl_environment,
        https_only: args.https_only,
        hsts_policy: args.hsts_policy.clone(),
        url,
    }))
}

fn qp(path: &Path) -> String {
    q(path.to_string_lossy())
}

/// Modules HTTPS needs (loaded only if not already loaded).
pub fn modules(opts: &Options) -> &'static [&'static str] {
    if opts.https.is_some() {
        &["ssl", "socache_shmcb"]
    } else {
        &[]
    }
}

/// The HTTPS `Listen` line and the session cache (global section).
pub fn write_listen(out: &mut String, opts: &Options) {
    let Some(https) = &opts.https else {
        return;
    };
    let port = https.port;
    let _ = match &opts.listener_host {
        Some(host) if host.contains(':') => writeln!(out, "Listen [{host}]:{port} https"),
        Some(host) => writeln!(out, "Listen {host}:{port} https"),
        None => writeln!(out, "Listen {port} https"),
    };
    let cache = opts.server_root.join("ssl_scache");
    let _ = writeln!(
        out,
        "SSLSessionCache {}",
        q(format!("shmcb:{}(512000)", cache.display()))
    );
    let _ = writeln!(out, "SSLSessionCacheTimeout 300");
    let _ = writeln!(out);
}

fn write_tls(out: &mut String, https: &Https) {
    let _ = writeln!(out, "SSLEngine On");
    let _ = writeln!(out, "SSLCertificateFile {}", qp(&https.certificate_file));
    let _ = writeln!(out, "SSLCertificateKeyFile {}", qp(&https.key_file));
    if let Some(chain) = &https.chain_file {
        let _ = writeln!(out, "SSLCertificateChainFile {}", qp(chain));
    }
    if let Some(ca) = &https.ca_file {
        // Required per URL below (express: the whole site unless --ssl-verify-client).
        let _ = writeln!(out, "SSLCACertificateFile {}", qp(ca));
        let _ = writeln!(out, "SSLVerifyClient none");
    }
}

/// `--ssl-ca-certificate-file`: the URLs that require a verified client certificate
/// on HTTPS (plain HTTP requests are not affected, as with express).
pub fn write_verify_client(out: &mut String, opts: &Options) {
    let Some(https) = &opts.https else {
        return;
    };
    let mut urls = https.verify_client_urls.clone();
    urls.sort_by(|a, b| b.cmp(a));
    for url in urls {
        let _ = writeln!(out, "<Location {}>", q(&url));
        let _ = writeln!(out, "SSLVerifyClient require");
        let _ = writeln!(out, "SSLVerifyDepth 1");
        let _ = writeln!(out, "</Location>");
    }
}

/// The TLS virtual hosts. With `--server-name`: a catch-all refusing other names (local
/// clients allowed with `--allow-localhost`), the named vhost, and a redirect vhost for
/// the parent domain of a `www.` name, as express writes them; without: one default vhost.
pub fn write_virtual_hosts(out: &mut String, opts: &Options) {
    let Some(https) = &opts.https else {
        return;
    };
    let port = https.port;
    if opts.server_name.is_some() {
        let _ = writeln!(out, "<VirtualHost _default_:{port}>");
        let _ = writeln!(out, "ServerName _wsgi_");
        let _ = writeln!(out, "<Location />");
        let rule = if opts.allow_localhost {
            "Require local"
        } else {
            "Require all denied"
        };
        let _ = writeln!(out, "{rule}");
        let _ = writeln!(out, "</Location>");
        write_tls(out, https);
        let _ = writeln!(out, "</VirtualHost>");
        let _ = writeln!(out, "<VirtualHost *:{port}>");
    } else {
        let _ = writeln!(out, "<VirtualHost _default_:{port}>");
    }
    if let Some(name) = &opts.server_name {
        let _ = writeln!(out, "ServerName {name}");
        if !opts.server_aliases.is_empty() {
            let _ = writeln!(out, "ServerAlias {}", opts.server_aliases.join(" "));
        }
    }
    write_tls(out, https);
    if let Some(policy) = &https.hsts_policy {
        let _ = writeln!(
            out,
            "Header always set Strict-Transport-Security {}",
            q(policy)
        );
    }
    if https.ssl_environment {
        let _ = writeln!(out, "SSLOptions +StdEnvVars");
    }
    // The application mount and static-file rules are server-level.
    let _ = writeln!(out, "RewriteEngine On");
    let _ = writeln!(out, "RewriteOptions Inherit");
    let _ = writeln!(out, "</VirtualHost>");
    if let Some(parent) = opts.server_name.as_deref().and_then(parent_domain) {
        let _ = writeln!(out, "<VirtualHost *:{port}>");
        let _ = writeln!(out, "ServerName {parent}");
        let _ = writeln!(out, "Redirect permanent / {}", https.url);
        write_tls(out, https);
        let _ = writeln!(out, "</VirtualHost>");
    }
    let _ = writeln!(out);
}

/// The parent domain of a `www.` server name.
pub fn parent_domain(name: &str) -> Option<&str> {
    name.strip_prefix("www.")
        .or_else(|| name.strip_prefix("WWW."))
}

/// `--https-only`: a server-level rule, before the application's rules, sending every
/// plain HTTP request to the same URL on the HTTPS port (the HTTP vhosts inherit it).
pub fn write_redirect(out: &mut String, opts: &Options) {
    let Some(https) = opts.https.as_ref().filter(|h| h.https_only) else {
        return;
    };
    let host = opts
        .server_name
        .clone()
        .unwrap_or_else(|| "%{SERVER_NAME}".into());
    let port = if https.port == 443 {
        String::new()
    } else {
        format!(":{}", https.port)
    };
    let _ = writeln!(out, "RewriteEngine On");
    let _ = writeln!(out, "RewriteCond %{{HTTPS}} !=on");
    let _ = writeln!(
        out,
        "RewriteRule \"^\" \"https://{host}{port}%{{REQUEST_URI}}\" [R=302,L]"
    );
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use crate::httpd_conf::render;
    use crate::options::testing::Fixture;

    fn fixture_with_cert() -> (Fixture, String, String) {
        let f = Fixture::new(&["event"]);
        std::fs::write(f.dir.path().join("site.crt"), "").unwrap();
        std::fs::write(f.dir.path().join("site.key"), "").unwrap();
        let (c, k) = (f.path("site.crt"), f.path("site.key"));
        (f, c, k)
    }

    #[test]
    fn certificate_options_need_the_https_port_and_vice_versa() {
        let (f, c, k) = fixture_with_cert();
        let err = f.try_options(&["--ssl-certificate-file", &c]).unwrap_err();
        assert!(err.to_string().contains("--https-port must be specified"));
        let err = f.try_options(&["--https-port", "8443"]).unwrap_err();
        assert!(err.to_string().contains("--ssl-certificate-file"));
        assert!(f.try_options(&["--https-only"]).is_err());
        assert!(f.try_options(&["--hsts-policy", "max-age=1"]).is_err());
        let missing = f.path("missing.crt");
        let args = ["--https-port", "8443", "--ssl-certificate-file", &missing];
        let err = f
            .try_options(&[&args[..], &["--ssl-certificate-key-file", &k]].concat())
            .unwrap_err();
        assert!(err.to_string().contains("missing.crt"), "{err}");
        let base = f.path("site");
        let o = f
            .options(&["--ssl-port", "443", "--ssl-certificate", &base])
            .https
            .unwrap();
        assert_eq!(o.certificate_file.to_string_lossy(), c);
        assert_eq!(o.key_file.to_string_lossy(), k);
        assert_eq!(o.url, "https://localhost/");
    }

    #[test]
    fn tls_vhost_redirect_and_hsts_are_written() {
        let (f, c, k) = fixture_with_cert();
        let conf = render(&f.options(&[
            "--https-port",
            "8443",
            "--ssl-certificate-file",
            &c,
            "--ssl-certificate-key-file",
            &k,
            "--https-only",
            "--hsts-policy",
            "max-age=60",
            "--ssl-environment",
        ]));
        let at = |l: &str| {
            conf.lines()
                .position(|x| x == l)
                .unwrap_or_else(|| panic!("{l} missing:\n{conf}"))
        };
        assert!(conf.contains("LoadModule ssl_module"));
        at("Listen 8443 https");
        at("<VirtualHost _default_:8443>");
        at(&format!("SSLCertificateFile \"{c}\""));
        at("Header always set Strict-Transport-Security \"max-age=60\"");
        at("SSLOptions +StdEnvVars");
        let redirect =
            at("RewriteRule \"^\" \"https://%{SERVER_NAME}:8443%{REQUEST_URI}\" [R=302,L]");
        assert!(redirect < at("RewriteRule \"^/(.*)$\" \"%{DOCUMENT_ROOT}/$1\" [L]"));
        // With --server-name: named redirect target, and the www parent goes to https.
        let conf = render(&f.options(&[
            "--https-port",
            "443",
            "--ssl-certificate-file",
            &c,
            "--ssl-certificate-key-file",
            &k,
            "--https-only",
            "--server-name",
            "www.example.com",
            "--port",
            "80",
        ]));
        for line in [
            "RewriteRule \"^\" \"https://www.example.com%{REQUEST_URI}\" [R=302,L]",
            "Redirect permanent / https://www.example.com/",
            "<VirtualHost _default_:443>",
            "<VirtualHost *:443>",
            "ServerName _wsgi_",
        ] {
            assert!(conf.lines().any(|l| l == line), "{line} missing:\n{conf}");
        }
        assert!(!conf.contains("http://www.example.com"), "{conf}");
    }
}
