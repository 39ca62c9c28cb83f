//! Finding the application of a project directory when `start-server` / `setup-server`
//! are given no entry point, as warpdrive did, trying in order: a Django project
//! (`manage.py`, its `DJANGO_SETTINGS_MODULE`, the settings' `WSGI_APPLICATION`); a
//! script `wsgi.py`, `app.wsgi` or `application.wsgi` that defines `application`; `app.py`
//! defining `app` or `application`; a single Paste Deploy `.ini`. A file that defines
//! neither is not a candidate. Two candidates of the same
//! rank are an error naming both. Files are read as text (express never runs Python).
//! The result is the options that select it. Used by `main.rs`.

use anyhow::{Result, bail};
use std::path::Path;

/// The application found: the options selecting it and what to tell the user.
#[derive(Debug, PartialEq)]
pub struct Found {
    pub args: Vec<String>,
    pub description: String,
}

/// The application of the project in `dir`, if one is found. `settings_env` is
/// `$DJANGO_SETTINGS_MODULE`, which wins over manage.py's default as in Django.
pub fn discover(dir: &Path, settings_env: Option<&str>) -> Result<Option<Found>> {
    if dir.join("manage.py").is_file() {
        return django(dir, settings_env).map(Some);
    }
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    let scripts: Vec<&str> = ["wsgi.py", "app.wsgi", "application.wsgi"]
        .into_iter()
        .filter(|f| read(f).is_some_and(|t| defines(&t, "application")))
        .collect();
    if let Some(script) = single(&scripts)? {
        return Ok(Some(script_app(dir, script, "application")));
    }
    if let Some(text) = read("app.py") {
        let callable = ["app", "application"]
            .into_iter()
            .find(|name| defines(&text, name));
        if let Some(callable) = callable {
            return Ok(Some(script_app(dir, "app.py", callable)));
        }
    }
    let mut inis: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".ini") && is_paste(&dir.join(n)))
                .collect()
        })
        .unwrap_or_default();
    inis.sort();
    let inis: Vec<&str> = inis.iter().map(String::as_str).collect();
    if let Some(ini) = single(&inis)? {
        return Ok(Some(Found {
            args: vec!["--application-type=paste".into(), path_arg(dir, ini)],
            description: format!("the Paste Deploy configuration {ini}"),
        }));
    }
    Ok(None)
}

/// The one candidate of a rank; an error naming them when there are several.
fn single<'a>(candidates: &[&'a str]) -> Result<Option<&'a str>> {
    match candidates {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        several => bail!(
            "cannot choose the application: {} are all candidates; give the entry point",
            several.join(" and ")
        ),
    }
}

fn path_arg(dir: &Path, file: &str) -> String {
    format!("--entry-point={}", dir.join(file).display())
}

fn script_app(dir: &Path, file: &str, callable: &str) -> Found {
    Found {
        args: vec![
            "--application-type=script".into(),
            path_arg(dir, file),
            format!("--callable-object={callable}"),
        ],
        description: format!("the WSGI script {file} (callable '{callable}')"),
    }
}

/// Whether `text` binds `name` at top level (assignment, def, class or import).
fn defines(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        let bound = |rest: &str| {
            rest.strip_prefix(name)
                .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        };
        if bound(line) {
            let after = line[name.len()..].trim_start();
            return after.starts_with('=') && !after.starts_with("==") || after.starts_with(':');
        }
        ["def ", "class "]
            .iter()
            .any(|kw| line.strip_prefix(kw).is_some_and(bound))
            || (line.starts_with("from ")
                && line.contains(" import ")
                && line
                    .split(" import ")
                    .nth(1)
                    .is_some_and(|names| names.split([',', ' ']).any(|n| n == name)))
    })
}

/// Whether an `.ini` file is a Paste Deploy configuration (has an app, pipeline or
/// composite section), so that `tox.ini` or `pytest.ini` are not taken for one.
fn is_paste(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| {
        t.lines().map(str::trim).any(|l| {
            ["[app:", "[pipeline:", "[composite:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
    })
}

/// The Django project's WSGI application, from manage.py and its settings module.
fn django(dir: &Path, settings_env: Option<&str>) -> Result<Found> {
    let manage = std::fs::read_to_string(dir.join("manage.py")).unwrap_or_default();
    let settings = match settings_env.filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => match string_after(&manage, "DJANGO_SETTINGS_MODULE") {
            Some(s) => s,
            None => bail!("manage.py does not name DJANGO_SETTINGS_MODULE; give the entry point"),
        },
    };
    let rel = settings.replace('.', "/");
    let file = [format!("{rel}.py"), format!("{rel}/__init__.py")]
        .into_iter()
        .find(|f| dir.join(f).is_file());
    let Some(file) = file else {
        bail!(
            "the Django settings module {settings} is not a file in {}",
            dir.display()
        );
    };
    let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
    let app = text
        .lines()
        .filter(|l| l.starts_with("WSGI_APPLICATION"))
        .find_map(|l| string_after(l, "WSGI_APPLICATION"));
    let Some(app) = app else {
        bail!("{file} does not set WSGI_APPLICATION; give the entry point");
    };
    let Some((module, callable)) = app.rsplit_once('.') else {
        bail!("{file}: WSGI_APPLICATION '{app}' is not MODULE.CALLABLE");
    };
    Ok(Found {
        args: vec![
            "--application-type=module".into(),
            format!("--entry-point={module}"),
            format!("--callable-object={callable}"),
        ],
        description: format!(
            "the Django project of manage.py: settings {settings}, WSGI_APPLICATION {app}"
        ),
    })
}

/// The first quoted string after `key` in `text` (`key = 'x'`, `key', "x"`).
fn string_after(text: &str, key: &str) -> Option<String> {
    let (_, rest) = text.split_once(key)?;
    let rest = rest.trim_start_matches(['\'', '"']);
    let start = rest.find(['\'', '"'])?;
    let quote = rest[start..].chars().next()?;
    let body = &rest[start + 1..];
    let end = body.find(quote)?;
    Some(body[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn django_through_manage_py() {
        let dir = dir_with(&[
            (
                "manage.py",
                "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
            ),
            (
                "mysite/settings.py",
                "WSGI_APPLICATION = 'mysite.wsgi.application'\n",
            ),
            ("app.py", "app = 1\n"),
        ]);
        let found = discover(dir.path(), None).unwrap().unwrap();
        assert_eq!(
            found.args,
            [
                "--application-type=module",
                "--entry-point=mysite.wsgi",
                "--callable-object=application"
            ]
        );
        let e = discover(dir.path(), Some("other.settings")).unwrap_err();
        assert!(e.to_string().contains("other.settings"));
    }

    #[test]
    fn scripts_then_app_py_then_paste() {
        let dir = dir_with(&[("app.py", "from flask import Flask\napp = Flask(__name__)\n")]);
        let found = discover(dir.path(), None).unwrap().unwrap();
        assert!(found.args.contains(&"--callable-object=app".to_string()));
        std::fs::write(dir.path().join("app.wsgi"), "application = None\n").unwrap();
        let found = discover(dir.path(), None).unwrap().unwrap();
        assert!(found.description.contains("app.wsgi"), "{found:?}");
        std::fs::write(dir.path().join("application.wsgi"), "app = 1\n").unwrap();
        let found = discover(dir.path(), None).unwrap().unwrap();
        assert!(found.description.contains("app.wsgi"), "{found:?}");
        std::fs::write(dir.path().join("wsgi.py"), "def application(e, s): pass\n").unwrap();
        let e = discover(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("wsgi.py and app.wsgi"), "{e}");
        let dir = dir_with(&[
            ("tox.ini", "[tox]\n"),
            ("prod.ini", "[app:main]\nuse = egg:x\n"),
        ]);
        let found = discover(dir.path(), None).unwrap().unwrap();
        assert!(found.args[1].ends_with("prod.ini"), "{found:?}");
        std::fs::write(dir.path().join("dev.ini"), "[pipeline:main]\n").unwrap();
        let e = discover(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("dev.ini and prod.ini"), "{e}");
        assert_eq!(discover(dir_with(&[]).path(), None).unwrap(), None);
        let neither = dir_with(&[("app.py", "import os\n"), ("wsgi.py", "app = 1\n")]);
        assert_eq!(discover(neither.path(), None).unwrap(), None);
    }

    #[test]
    fn top_level_bindings() {
        assert!(defines("def application(e, s):\n", "application"));
        assert!(defines("application = make()\n", "application"));
        assert!(defines("from x import app, other\n", "app"));
        assert!(!defines("    app = 1\napplication2 = 3\napp == 2\n", "app"));
    }
}
