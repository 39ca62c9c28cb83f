//! The project directory (the current directory) of `start-server` / `setup-server`:
//! the options in its `pyproject.toml` (`[tool.mod_wsgi-express]`, keys named as the long
//! options, the lowest layer of `environment.rs`) and its hooks, the executables
//! `.mod_wsgi-express/build` (run by `setup-server` after the server root is written, as
//! in an image build) and `.mod_wsgi-express/deploy` (run by `start-server` before Apache
//! starts, e.g. database migrations), run in the project directory; a failing hook stops
//! the command, its output having gone to ours. Used by `main.rs`; no Python.

use crate::environment::Setting;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The table holding the options in `pyproject.toml`.
pub const TABLE: &str = "mod_wsgi-express";

/// The settings of `<dir>/pyproject.toml`'s `[tool.mod_wsgi-express]` (none without it).
pub fn settings(dir: &Path) -> Result<Vec<Setting>> {
    let path = dir.join("pyproject.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    parse(&text, &path.display().to_string())
}

/// The settings of the `[tool.mod_wsgi-express]` table of a `pyproject.toml` text.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Setting>> {
    let doc: toml::Table = text
        .parse()
        .with_context(|| format!("{origin} is not valid TOML"))?;
    let Some(table) = doc.get("tool").and_then(|t| t.get(TABLE)) else {
        return Ok(Vec::new());
    };
    let Some(table) = table.as_table() else {
        bail!("{origin}: [tool.{TABLE}] must be a table");
    };
    let mut out = Vec::new();
    for (key, value) in table {
        let origin = format!("{origin} [tool.{TABLE}] {key}");
        let values = match value {
            toml::Value::Boolean(false) => continue,
            toml::Value::Boolean(true) => vec![],
            toml::Value::Array(items) => {
                let mut flat = Vec::new();
                for item in items {
                    match item {
                        toml::Value::Array(pair) => {
                            for v in pair {
                                flat.push(scalar(v, &origin)?);
                            }
                        }
                        v => flat.push(scalar(v, &origin)?),
                    }
                }
                flat
            }
            v => vec![scalar(v, &origin)?],
        };
        out.push(Setting {
            long: key.replace('_', "-"),
            values,
            origin,
        });
    }
    Ok(out)
}

fn scalar(value: &toml::Value, origin: &str) -> Result<String> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        other => bail!("{origin}: expected a string or a number, got {other}"),
    })
}

/// A project hook that exists: `<dir>/.mod_wsgi-express/<name>`.
pub fn hook(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = dir.join(".mod_wsgi-express").join(name);
    path.is_file().then_some(path)
}

/// Runs the hook `name` if the project has one, in `dir`, with our stdout and stderr;
/// fails if it cannot run or exits unsuccessfully.
pub fn run_hook(dir: &Path, name: &str) -> Result<()> {
    let Some(path) = hook(dir, name) else {
        return Ok(());
    };
    println!(
        "mod_wsgi-express: running the {name} hook {}",
        path.display()
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let status = Command::new(&path)
        .current_dir(dir)
        .status()
        .with_context(|| format!("cannot run the {name} hook {}", path.display()))?;
    if !status.success() {
        bail!(
            "the {name} hook {} failed ({status}); its output is above",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_values_become_settings() {
        let text = r#"
[project]
name = "x"
[tool.mod_wsgi-express]
port = 8123
access-log = true
http2 = false
python_path = ["/a", "/b"]
url-alias = [["/s", "/srv/s"], ["/m", "/srv/m"]]
"#;
        let s = parse(text, "pyproject.toml").unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.long.as_str()).collect();
        assert_eq!(names, ["access-log", "port", "python-path", "url-alias"]);
        assert!(s[0].values.is_empty());
        assert_eq!(s[1].values, ["8123"]);
        assert_eq!(s[2].values, ["/a", "/b"]);
        assert_eq!(s[3].values, ["/s", "/srv/s", "/m", "/srv/m"]);
    }

    #[test]
    fn no_table_and_bad_values() {
        assert!(parse("[project]\nname='x'\n", "p").unwrap().is_empty());
        let e = parse("[tool.mod_wsgi-express]\nport = {a=1}\n", "p")
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");
        assert!(parse("[tool", "p").is_err());
    }

    #[test]
    fn failing_hook_stops() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        run_hook(dir.path(), "deploy").unwrap();
        std::fs::create_dir(dir.path().join(".mod_wsgi-express")).unwrap();
        let hook = dir.path().join(".mod_wsgi-express/deploy");
        std::fs::write(&hook, "#!/bin/sh\npwd > ran\nexit 3\n").unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = run_hook(dir.path(), "deploy").unwrap_err().to_string();
        assert!(e.contains("deploy hook") && e.contains('3'), "{e}");
        let ran = std::fs::read_to_string(dir.path().join("ran")).unwrap();
        assert_eq!(
            ran.trim(),
            dir.path().canonicalize().unwrap().to_str().unwrap()
        );
    }
}
