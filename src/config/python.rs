//! Interpreter-wide settings from `WSGIPython*` and `WSGIDestroyInterpreter`,
//! and the validation of `WSGIPythonHome` users need most: a home that is not
//! a directory, or a virtual environment made from another Python version
//! than the one this module was built for, fails at configuration time
//! naming both versions (mod_wsgi only fails later, in every child, with
//! "No module named 'encodings'").

use super::error::HomeError;
use std::path::Path;

/// The Python minor version this module was built against (e.g. "3.11").
pub const BUILD_PYTHON_VERSION: &str = env!("MOD_WSGI_PYTHON_VERSION");
/// `sys.base_prefix` of the build Python.
pub const BUILD_PYTHON_PREFIX: &str = env!("MOD_WSGI_PYTHON_PREFIX");

/// `WSGIPythonHashSeed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashSeed {
    Random,
    Fixed(u32),
}

/// What `WSGIPythonHome` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Home {
    /// A virtual environment (has `pyvenv.cfg`): Python is started with
    /// `program_name = <home>/bin/python`, as mod_wsgi does.
    Venv(String),
    /// A Python installation prefix (`PyConfig.home`), possibly `prefix:exec_prefix`.
    Prefix(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PythonSettings {
    pub home: Option<Home>,
    pub path: Vec<String>,
    pub optimize: Option<u8>,
    pub dont_write_bytecode: Option<bool>,
    pub hash_seed: Option<HashSeed>,
    pub warnings: Vec<String>,
    pub destroy_interpreter: Option<bool>,
    /// `WSGIRestrictStdin`: `sys.stdin` raises OSError on use.
    pub restrict_stdin: Option<bool>,
    /// `WSGIRestrictStdout`: `sys.stdout` raises OSError on use.
    pub restrict_stdout: Option<bool>,
    /// `WSGIRestrictSignal` (default On): `signal.signal()` is ignored with a warning.
    pub restrict_signal: Option<bool>,
    /// `WSGICaseSensitivity` (default On here): Off lowercases script paths
    /// for module names and SCRIPT_NAME in `%{RESOURCE}`.
    pub case_sensitivity: Option<bool>,
    /// `WSGISwitchInterval` (Apache children) or `switch-interval=` (a
    /// daemon group): `sys.setswitchinterval` once Python has started.
    pub switch_interval: Option<f64>,
    /// `WSGIPerInterpreterGIL` (top level; `<WSGIInterpreterOptions>`
    /// sections override it per interpreter): sub-interpreters with their
    /// own GIL on Python 3.12 and later.
    pub per_interpreter_gil: Option<bool>,
    /// `WSGIPythonEggs` (Apache children) or `python-eggs=` (a daemon
    /// group): `PYTHON_EGG_CACHE` in the process's environment.
    pub python_eggs: Option<String>,
    /// `<WSGIInterpreterOptions>` sections, in configuration order.
    pub interpreter_options: Vec<super::interpreter_options::Block>,
    /// A daemon's `home=`: put first in `sys.path` after every other
    /// path entry, as mod_wsgi.
    pub front_dir: Option<String>,
}

impl PythonSettings {
    pub fn destroy_interpreter(&self) -> bool {
        self.destroy_interpreter.unwrap_or(true)
    }
}

/// Reads `version` (or `version_info`) from a venv's `pyvenv.cfg` as "X.Y".
fn venv_version(cfg: &str) -> Option<String> {
    cfg.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        let k = k.trim();
        if k != "version" && k != "version_info" {
            return None;
        }
        let mut parts = v.trim().split('.');
        Some(format!("{}.{}", parts.next()?, parts.next()?))
    })
}

/// Validates a `WSGIPythonHome` value against the build Python.
pub fn validate_home(value: &str) -> Result<Home, HomeError> {
    let prefix = value.split(':').next().unwrap_or(value);
    let dir = Path::new(prefix);
    let value_s = || value.to_string();
    if !dir.is_absolute() {
        return Err(HomeError::NotAbsolute { value: value_s() });
    }
    if !dir.is_dir() {
        return Err(HomeError::NotADirectory { value: value_s() });
    }
    let cfg = dir.join("pyvenv.cfg");
    if cfg.is_file() {
        let text = std::fs::read_to_string(&cfg).map_err(|e| HomeError::UnreadableVenv {
            value: value_s(),
            cfg: cfg.display().to_string(),
            reason: e.to_string(),
        })?;
        return match venv_version(&text) {
            Some(v) if v == BUILD_PYTHON_VERSION => Ok(Home::Venv(prefix.to_string())),
            Some(v) => Err(HomeError::VenvVersion {
                value: value_s(),
                prefix: prefix.to_string(),
                made_with: v,
            }),
            None => Ok(Home::Venv(prefix.to_string())),
        };
    }
    let stdlib = dir.join(format!("lib/python{BUILD_PYTHON_VERSION}"));
    if !stdlib.join("os.py").is_file() {
        let other = std::fs::read_dir(dir.join("lib"))
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.starts_with("python3."))
            .map(|n| n.trim_start_matches("python").to_string())
            .collect::<Vec<_>>();
        let found = if other.is_empty() {
            "no Python standard library".to_string()
        } else {
            format!("Python {}", other.join(", "))
        };
        return Err(HomeError::NoStdlib {
            value: value_s(),
            found,
            stdlib: stdlib.display().to_string(),
        });
    }
    Ok(Home::Prefix(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_venv_versions() {
        assert_eq!(
            venv_version("home = /usr/bin\nversion = 3.11.2\n"),
            Some("3.11".into())
        );
        assert_eq!(
            venv_version("version_info = 3.12.1.final.0\n"),
            Some("3.12".into())
        );
        assert_eq!(venv_version("home = /usr/bin\n"), None);
    }

    #[test]
    fn rejects_missing_and_relative_homes() {
        let e = validate_home("/nonexistent/python-home")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WSGIPythonHome '/nonexistent/python-home' is not a directory"),
            "{e}"
        );
        let e = validate_home("relative/home").unwrap_err().to_string();
        assert!(e.contains("not an absolute path"), "{e}");
    }

    #[test]
    fn rejects_venv_of_other_version() {
        let dir = std::env::temp_dir().join(format!("wsgi-venv-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pyvenv.cfg"), "home = /x/bin\nversion = 3.2.1\n").unwrap();
        let e = validate_home(dir.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("made with Python 3.2"), "{e}");
        assert!(
            e.contains(&format!("built for Python {BUILD_PYTHON_VERSION}")),
            "{e}"
        );
        std::fs::write(
            dir.join("pyvenv.cfg"),
            format!("home = /x/bin\nversion = {BUILD_PYTHON_VERSION}.0\n"),
        )
        .unwrap();
        assert_eq!(
            validate_home(dir.to_str().unwrap()),
            Ok(Home::Venv(dir.to_str().unwrap().to_string()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn accepts_the_build_prefix() {
        assert!(matches!(
            validate_home(BUILD_PYTHON_PREFIX),
            Ok(Home::Prefix(_))
        ));
    }
}
