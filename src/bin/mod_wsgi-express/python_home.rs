//! The Python home express writes as `WSGIPythonHome`: `--python-home DIR`, else the
//! virtual environment this executable is installed in (`pip install` puts it in the
//! venv's `bin/`), else an activated venv (`$VIRTUAL_ENV`), else the prefix the module
//! was built for (`module::python_home`). A venv must have been made with the Python
//! version the module was built for (checked first, from its `pyvenv.cfg`, naming both
//! versions), and Apache's run user must be able to read it and its base Python
//! (`check_readable`, once the run user is known). Used by `options.rs` and the
//! module-* subcommands; no Python is run for a venv.

use crate::module;
use crate::validation::{self, RunIdentity};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The Python minor version the module (and this executable) was built for.
pub const BUILD_PYTHON_VERSION: &str = env!("MOD_WSGI_PYTHON_VERSION");

/// The chosen home and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonHome {
    pub path: String,
    /// `--python-home`, `$VIRTUAL_ENV`, ... (for messages).
    pub source: &'static str,
    /// `home =` of the venv's `pyvenv.cfg` (the base Python's bin directory).
    pub base: Option<PathBuf>,
}

/// Picks the home (see the file comment) and checks a venv's Python version.
pub fn select(explicit: Option<&str>) -> Result<PythonHome> {
    let exe_venv = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.join("pyvenv.cfg").is_file());
    let virtual_env = std::env::var("VIRTUAL_ENV").ok().filter(|v| !v.is_empty());
    let (path, source) = if let Some(dir) = explicit {
        let abs = std::path::absolute(dir).with_context(|| format!("bad --python-home {dir}"))?;
        (abs.to_string_lossy().into_owned(), "--python-home")
    } else if let Some(dir) = exe_venv {
        let text = dir.to_string_lossy().into_owned();
        (text, "the virtual environment of mod_wsgi-express")
    } else if let Some(dir) = virtual_env {
        (dir, "$VIRTUAL_ENV")
    } else {
        let home = module::python_home()?;
        return Ok(PythonHome {
            path: home,
            source: "the Python the module was built for",
            base: None,
        });
    };
    inspect(path, source)
}

/// Checks that `path` is a venv of the build Python version or a prefix with its
/// standard library.
fn inspect(path: String, source: &'static str) -> Result<PythonHome> {
    let dir = Path::new(&path);
    if !dir.is_dir() {
        bail!("Python home {path} (from {source}) is not a directory");
    }
    let cfg = dir.join("pyvenv.cfg");
    if !cfg.is_file() {
        let stdlib = dir.join(format!("lib/python{BUILD_PYTHON_VERSION}/os.py"));
        if !stdlib.is_file() {
            bail!(
                "Python home {path} (from {source}) is neither a virtual environment (no \
                 pyvenv.cfg) nor a Python {BUILD_PYTHON_VERSION} installation (no {}); the \
                 module was built for Python {BUILD_PYTHON_VERSION}",
                stdlib.display()
            );
        }
        return Ok(PythonHome {
            path,
            source,
            base: None,
        });
    }
    let text =
        std::fs::read_to_string(&cfg).with_context(|| format!("cannot read {}", cfg.display()))?;
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let version = value("version")
        .or_else(|| value("version_info"))
        .and_then(|v| minor_version(&v));
    match version {
        Some(v) if v == BUILD_PYTHON_VERSION => {}
        Some(v) => bail!(
            "the virtual environment {path} (from {source}) was made with Python {v}, but the \
             module and mod_wsgi-express were built for Python {BUILD_PYTHON_VERSION}: use a \
             venv made with Python {BUILD_PYTHON_VERSION} (python{BUILD_PYTHON_VERSION} -m venv \
             DIR), or `pip install` mod-wsgi-rs into this venv to build them for its Python"
        ),
        None => bail!(
            "the virtual environment {path} (from {source}): {} names no Python version",
            cfg.display()
        ),
    }
    Ok(PythonHome {
        path,
        source,
        base: value("home").map(PathBuf::from),
    })
}

/// "3.11.2" or "3.11.2.final.0" as "3.11".
fn minor_version(full: &str) -> Option<String> {
    let mut parts = full.split('.');
    Some(format!("{}.{}", parts.next()?, parts.next()?))
}

/// Refuses a home (and a venv's base Python) that the run user cannot read: Apache's
/// children would fail to start Python with "Could not find platform independent
/// libraries" or miss the venv's packages.
pub fn check_readable(who: &RunIdentity, home: &PythonHome) -> Result<()> {
    let what = format!("Python home (from {})", home.source);
    let dir = Path::new(&home.path);
    let site = dir.join(format!("lib/python{BUILD_PYTHON_VERSION}/site-packages"));
    let cfg = dir.join("pyvenv.cfg");
    let mut targets = vec![dir.to_path_buf()];
    targets.extend([cfg, site].into_iter().filter(|p| p.exists()));
    for target in &targets {
        validation::check_readable(who, target, &what)?;
    }
    if let Some(base) = &home.base {
        let what = format!("virtual environment {}: its base Python", home.path);
        validation::check_readable(who, base, &what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venv(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let cfg = format!("home = /usr/bin\nversion = {version}\n");
        std::fs::write(dir.path().join("pyvenv.cfg"), cfg).unwrap();
        dir
    }

    #[test]
    fn venv_of_the_build_version_is_accepted() {
        let dir = venv(&format!("{BUILD_PYTHON_VERSION}.1"));
        let path = dir.path().to_string_lossy().into_owned();
        let home = inspect(path.clone(), "--python-home").unwrap();
        assert_eq!(home.path, path);
        assert_eq!(home.base, Some(PathBuf::from("/usr/bin")));
    }

    #[test]
    fn venv_of_another_version_names_both() {
        let dir = venv("3.2.1");
        let path = dir.path().to_string_lossy().into_owned();
        let err = inspect(path, "$VIRTUAL_ENV").unwrap_err().to_string();
        assert!(err.contains("made with Python 3.2"), "{err}");
        assert!(
            err.contains(&format!("built for Python {BUILD_PYTHON_VERSION}")),
            "{err}"
        );
        assert!(err.contains("$VIRTUAL_ENV"), "{err}");
    }

    #[test]
    fn a_directory_without_python_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let err = inspect(path, "--python-home").unwrap_err().to_string();
        assert!(err.contains("neither a virtual environment"), "{err}");
        let err = inspect("/nonexistent/venv".into(), "--python-home").unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }
}
