//! The auth options (`--host-access-script`, `--auth-user-script`,
//! `--auth-type`, `--auth-group-script`, `--auth-group`): resolved from the
//! command line, the modules they need, and the `<Location />` blocks pip's
//! mod_wsgi-express 6.1.1 writes for them (`WSGIAccessScript`; `AuthType`,
//! `Auth{Basic,Digest}Provider wsgi`, `WSGIAuthUserScript` and, with a group
//! script, `WSGIAuthGroupScript` and `Require wsgi-group` inside a
//! `<RequireAll>` with `Require valid-user`). The scripts run in the Apache
//! children (the module's `src/auth`), so they must be readable by the run
//! user (`scripts`, checked by `options::check_access`).

use crate::cli::ServerArgs;
use crate::httpd_conf::q;
use anyhow::{Result, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The resolved auth options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Auth {
    pub host_access_script: Option<PathBuf>,
    pub user_script: Option<PathBuf>,
    /// `Basic` or `Digest`.
    pub auth_type: String,
    pub group_script: Option<PathBuf>,
    pub group: String,
}

/// Resolves the options; `abs` makes a path absolute (as pip's `abspath`).
/// The options that only matter with `--auth-user-script` are refused
/// without it (pip's express writes nothing for them then).
pub fn resolve(
    args: &ServerArgs,
    matches: &ArgMatches,
    abs: &dyn Fn(&str) -> PathBuf,
) -> Result<Auth> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let auth_type = match args.auth_type.to_ascii_lowercase().as_str() {
        "basic" => "Basic",
        "digest" => "Digest",
        _ => bail!(
            "--auth-type must be Basic or Digest (got '{}')",
            args.auth_type
        ),
    };
    if args.auth_user_script.is_none() {
        for (id, flag) in [
            ("auth_type", "--auth-type"),
            ("auth_group_script", "--auth-group-script"),
            ("auth_group", "--auth-group"),
        ] {
            if given(id) {
                bail!("{flag} needs --auth-user-script (the user authentication it refines)");
            }
        }
    }
    if given("auth_group") && args.auth_group_script.is_none() {
        bail!("--auth-group needs --auth-group-script (the script that lists a user's groups)");
    }
    if args.auth_group.is_empty() {
        bail!("--auth-group must not be empty");
    }
    Ok(Auth {
        host_access_script: args.host_access_script.as_deref().map(abs),
        user_script: args.auth_user_script.as_deref().map(abs),
        auth_type: auth_type.to_string(),
        group_script: args.auth_group_script.as_deref().map(abs),
        group: args.auth_group.clone(),
    })
}

/// The Apache modules the options need beyond express's usual set.
pub fn modules(auth: &Auth) -> &'static [&'static str] {
    if auth.user_script.is_some() {
        &["auth_basic", "auth_digest", "authz_user"]
    } else {
        &[]
    }
}

/// The scripts, with what they are, for the run user's read check.
pub fn scripts(auth: &Auth) -> Vec<(&'static str, &Path)> {
    let mut out = Vec::new();
    if let Some(p) = &auth.host_access_script {
        out.push(("--host-access-script", p.as_path()));
    }
    if let Some(p) = &auth.user_script {
        out.push(("--auth-user-script", p.as_path()));
        if let Some(g) = &auth.group_script {
            out.push(("--auth-group-script", g.as_path()));
        }
    }
    out
}

/// The `<Location />` blocks; `realm` is pip's `AuthName` (`host:port`).
pub fn write(out: &mut String, auth: &Auth, realm: &str) {
    let qp = |p: &Path| q(p.to_string_lossy());
    if let Some(script) = &auth.host_access_script {
        let _ = writeln!(out, "<Location />");
        let _ = writeln!(out, "    WSGIAccessScript {}", qp(script));
        let _ = writeln!(out, "</Location>");
        let _ = writeln!(out);
    }
    let Some(script) = &auth.user_script else {
        return;
    };
    let kind = &auth.auth_type;
    let _ = writeln!(out, "<Location />");
    let _ = writeln!(out, "    AuthType {kind}");
    let _ = writeln!(out, "    AuthName {}", q(realm));
    let _ = writeln!(out, "    Auth{kind}Provider wsgi");
    let _ = writeln!(out, "    WSGIAuthUserScript {}", qp(script));
    if let Some(group_script) = &auth.group_script {
        let _ = writeln!(out, "    WSGIAuthGroupScript {}", qp(group_script));
    }
    let _ = writeln!(out, "    <RequireAll>");
    let _ = writeln!(out, "    Require valid-user");
    if auth.group_script.is_some() {
        let _ = writeln!(out, "    Require wsgi-group {}", q(&auth.group));
    }
    let _ = writeln!(out, "    </RequireAll>");
    let _ = writeln!(out, "</Location>");
    let _ = writeln!(out);
}
