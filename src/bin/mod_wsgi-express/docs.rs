//! `--enable-docs`, as mod_wsgi-express: the documentation is served at
//! `/__wsgi__/docs/`. The original serves the HTML pages of its Python package; this
//! express serves mod_wsgi-rs's own documentation, the Markdown pages of `docs/`,
//! from where it is installed (`<prefix>/share/doc/libapache2-mod-wsgi-rs/docs`
//! beside the executable's `bin`, gzipped as the Debian package ships them) or from
//! the source tree express was built in. Pages go out as `text/markdown` (with
//! `Content-Encoding: gzip` for `.md.gz`), directories as listings (mod_autoindex).
//! Without an installed copy the option is refused, naming where it looked.
//! Resolved by `resolve.rs`, rendered by `httpd_conf.rs`; no Python.

use crate::httpd_conf::q;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The URL the documentation is served at.
pub const URL: &str = "/__wsgi__/docs";

/// Where the documentation may be: installed beside the executable, or the source tree.
fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(prefix) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        out.push(prefix.join("share/doc/libapache2-mod-wsgi-rs/docs"));
    }
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"));
    out
}

/// The documentation directory for `--enable-docs`, or None without it.
pub fn resolve(enable: bool) -> Result<Option<PathBuf>> {
    if !enable {
        return Ok(None);
    }
    let looked = candidates();
    if let Some(dir) = looked.iter().find(|d| d.is_dir()) {
        return Ok(Some(dir.clone()));
    }
    let names: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "--enable-docs: the mod_wsgi-rs documentation is not installed (looked in {})",
        names.join(", ")
    )
}

/// The alias and its directory.
pub fn write(out: &mut String, dir: Option<&Path>) {
    let Some(dir) = dir else {
        return;
    };
    let path = q(dir.to_string_lossy());
    let _ = writeln!(out, "Alias {URL} {path}");
    let _ = writeln!(out, "<Directory {path}>");
    let _ = writeln!(out, "    Options +Indexes");
    let _ = writeln!(out, "    DirectoryIndex README.md README.md.gz");
    let _ = writeln!(out, "    AddType \"text/markdown; charset=utf-8\" .md");
    let _ = writeln!(out, "    AddEncoding gzip .gz");
    let _ = writeln!(out, "    Require all granted");
    let _ = writeln!(out, "</Directory>");
    let _ = writeln!(out);
}
