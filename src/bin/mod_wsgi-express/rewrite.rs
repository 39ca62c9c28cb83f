//! `--rewrite-rules FILE`, as mod_wsgi-express: a file of mod_rewrite rules included
//! into the configuration with `RewriteEngine On`, by default `<server root>/rewrite.conf`,
//! created empty when missing and never overwritten, so rules added there survive
//! later runs. The original includes it inside the document root's `<Directory>`,
//! where its application is the fallback handler; here the application is mounted
//! with `WSGIScriptAlias` outside the document root, so the file is included at server
//! level, before express's own rules (virtual hosts inherit it): patterns match the
//! URL path with its leading slash (`^/?old$` matches in both). Called by `resolve.rs`,
//! `httpd_conf.rs` and `server_root.rs`.

use crate::httpd_conf::q;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The rules file: `--rewrite-rules` or `<server root>/rewrite.conf`.
pub fn path(given: Option<PathBuf>, server_root: &Path) -> PathBuf {
    given.unwrap_or_else(|| server_root.join("rewrite.conf"))
}

/// Creates the default (empty) file when missing; a file given must exist.
pub fn prepare(file: &Path, server_root: &Path) -> Result<()> {
    if file.is_file() {
        return Ok(());
    }
    if file != server_root.join("rewrite.conf") {
        anyhow::bail!("--rewrite-rules: {} is not a file", file.display());
    }
    std::fs::write(file, b"").with_context(|| format!("cannot create {}", file.display()))
}

/// `RewriteEngine On` and the `Include`.
pub fn write(out: &mut String, file: &Path) {
    let _ = writeln!(
        out,
        "# --rewrite-rules (mod_rewrite rules, server context)."
    );
    let _ = writeln!(out, "RewriteEngine On");
    let _ = writeln!(out, "Include {}", q(file.to_string_lossy()));
    let _ = writeln!(out);
}
