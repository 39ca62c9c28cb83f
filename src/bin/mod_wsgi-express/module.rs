//! Finding things outside the server root: the mod_wsgi module `.so` to copy in, Apache's
//! modules directory and executable (`apxs -q`, falling back to Debian's paths), the
//! Python prefix the module was built for (for `WSGIPythonHome`), rotatelogs and the
//! MIME types file. Used by `options.rs` and the module-* subcommands; no Python is
//! loaded here (the prefix comes from a build-time variable or a `python3` subprocess).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the module to use (a path to the `.so`).
pub const MODULE_ENV: &str = "MOD_WSGI_MODULE";

/// Runs `apxs -q NAME`; `None` when apxs is missing or prints nothing.
pub fn apxs_query(name: &str) -> Option<String> {
    let apxs = std::env::var("APXS").unwrap_or_else(|_| "apxs".into());
    let out = Command::new(apxs).args(["-q", name]).output().ok()?;
    let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// Apache's modules directory (`apxs -q LIBEXECDIR`, else Debian's).
pub fn apache_modules_directory() -> PathBuf {
    apxs_query("LIBEXECDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/apache2/modules"))
}

/// The Apache executable: `--httpd-executable`, else `$HTTPD`, else apxs
/// SBINDIR/PROGNAME (then BINDIR), else `/usr/sbin/apache2` or `httpd` on PATH.
pub fn httpd_executable(explicit: Option<&str>) -> PathBuf {
    if let Some(env) = std::env::var("HTTPD").ok().filter(|e| !e.is_empty()) {
        return resolve_program(&env);
    }
    if let Some(path) = explicit {
        return resolve_program(path);
    }
    let progname = apxs_query("PROGNAME").unwrap_or_else(|| "apache2".into());
    for dir in ["SBINDIR", "BINDIR"] {
        if let Some(dir) = apxs_query(dir) {
            let candidate = Path::new(&dir).join(&progname);
            if candidate.exists() {
                return candidate;
            }
        }
    }
    for candidate in ["/usr/sbin/apache2", "/usr/sbin/httpd"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    resolve_program("httpd")
}

/// `rotatelogs` next to Apache (apxs SBINDIR, then BINDIR), else bare `rotatelogs`.
pub fn rotatelogs_executable() -> PathBuf {
    for dir in ["SBINDIR", "BINDIR"] {
        if let Some(dir) = apxs_query(dir) {
            let candidate = Path::new(&dir).join("rotatelogs");
            if candidate.exists() {
                return candidate;
            }
        }
    }
    PathBuf::from("rotatelogs")
}

/// First existing MIME types file, as Python's `mimetypes.knownfiles` order, else /dev/null.
pub fn mime_types_file() -> PathBuf {
    [
        "/etc/mime.types",
        "/etc/httpd/mime.types",
        "/etc/httpd/conf/mime.types",
        "/etc/apache/mime.types",
        "/etc/apache2/mime.types",
        "/usr/local/etc/httpd/conf/mime.types",
        "/usr/local/lib/netscape/mime.types",
        "/usr/local/etc/mime.types",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .unwrap_or_else(|| PathBuf::from("/dev/null"))
}

/// An absolute path for `program`: unchanged if it contains a slash, else found on PATH
/// (plus /usr/sbin, where Apache lives), else returned bare for the shell to resolve.
pub fn resolve_program(program: &str) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/bin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| PathBuf::from(program))
}

/// Where the module came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocatedModule {
    pub path: PathBuf,
    pub source: &'static str,
}

/// Finds the mod_wsgi module to load, in order:
/// 1. `explicit` (`--modules-directory` given as a path to a `.so` file),
/// 2. `$MOD_WSGI_MODULE`,
/// 3. `libmod_wsgi.so` (or `mod_wsgi.so`) next to this executable (a cargo build puts
///    `target/*/mod_wsgi-express` beside `target/*/libmod_wsgi.so`),
/// 4. the module `pip install` put in site-packages: `mod_wsgi_rs/mod_wsgi*.so` under
///    `<exe>/../lib/pythonX.Y/{site,dist}-packages` (`pip_installed_module`),
/// 5. `mod_wsgi_rs.so` (as the Debian package installs it), then `mod_wsgi.so`, in
///    Apache's modules directory (`modules_dir`).
pub fn locate_module(explicit: Option<&Path>, modules_dir: &Path) -> Result<LocatedModule> {
    if let Some(path) = explicit {
        return existing(path, "--modules-directory");
    }
    if let Some(env) = std::env::var_os(MODULE_ENV).filter(|v| !v.is_empty()) {
        return existing(Path::new(&env), "$MOD_WSGI_MODULE");
    }
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe.as_deref().and_then(Path::parent) {
        for name in ["libmod_wsgi.so", "mod_wsgi.so"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(LocatedModule {
                    path: candidate,
                    source: "next to mod_wsgi-express",
                });
            }
        }
    }
    if let Some(path) = exe.as_deref().and_then(pip_installed_module) {
        return Ok(LocatedModule {
            path,
            source: "installed by pip beside mod_wsgi-express",
        });
    }
    // The Debian package's name first: Debian's own mod_wsgi may be mod_wsgi.so.
    for name in ["mod_wsgi_rs.so", "mod_wsgi.so"] {
        let candidate = modules_dir.join(name);
        if candidate.is_file() {
            return Ok(LocatedModule {
                path: candidate,
                source: "Apache modules directory",
            });
        }
    }
    let candidate = modules_dir.join("mod_wsgi.so");
    bail!(
        "cannot find the mod_wsgi module: set {MODULE_ENV}=/path/to/mod_wsgi.so, pass \
         --modules-directory /path/to/mod_wsgi.so, put libmod_wsgi.so next to this \
         executable, or install it as {}",
        candidate.display()
    )
}

/// `mod_wsgi_rs/mod_wsgi<EXT_SUFFIX>` in the site-packages beside `<prefix>/bin/<exe>`
/// (setup.py installs the module there, for the Python version it was built for).
fn pip_installed_module(exe: &Path) -> Option<PathBuf> {
    let prefix = exe.parent()?.parent()?;
    let version = env!("MOD_WSGI_PYTHON_VERSION");
    ["site-packages", "dist-packages"].iter().find_map(|site| {
        let dir = prefix.join(format!("lib/python{version}/{site}/mod_wsgi_rs"));
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("mod_wsgi.") && name.ends_with(".so") && p.is_file()
            })
            .collect();
        found.sort();
        found.pop()
    })
}

fn existing(path: &Path, source: &'static str) -> Result<LocatedModule> {
    if !path.is_file() {
        bail!(
            "mod_wsgi module {} (from {source}) is not a file",
            path.display()
        );
    }
    let path =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(LocatedModule { path, source })
}

/// Prefix of the Python the module was built for (`WSGIPythonHome`): the build-time
/// `MOD_WSGI_PYTHON_HOME` if the build set it, else `sys.prefix` of /usr/bin/python3.
pub fn python_home() -> Result<String> {
    if let Some(home) = option_env!("MOD_WSGI_PYTHON_HOME").filter(|h| !h.is_empty()) {
        return Ok(home.to_string());
    }
    let out = Command::new("/usr/bin/python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .context("cannot run /usr/bin/python3 to find the Python prefix")?;
    let prefix = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || prefix.is_empty() {
        bail!("/usr/bin/python3 did not report sys.prefix");
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_module_must_exist() {
        let err = locate_module(Some(Path::new("/nonexistent/mod_wsgi.so")), Path::new("/x"));
        assert!(err.unwrap_err().to_string().contains("is not a file"));
        let dir = tempfile::tempdir().unwrap();
        let so = dir.path().join("mod_wsgi.so");
        std::fs::write(&so, "").unwrap();
        let found = locate_module(Some(&so), Path::new("/x")).unwrap();
        assert_eq!(found.path, so);
    }

    #[test]
    fn resolve_program_keeps_paths() {
        assert_eq!(resolve_program("/bin/sh"), PathBuf::from("/bin/sh"));
        assert!(resolve_program("sh").is_absolute());
    }
}
