//! Packaging and virtual environments (README "Install"): `pip install <project>`
//! into a venv of the system Python builds the module and `mod_wsgi-express` for it
//! (setup.py, setuptools-rust, cargo profile `pip`, `CARGO_TARGET_DIR=target/pip` so
//! later runs reuse the compiled crates) and that express serves an application from
//! the venv (`sys.prefix` the venv, a package installed only there, a `.pth` file);
//! `module-config` and `install-module` name the venv's module and home. The cargo-built
//! express uses an activated venv (`VIRTUAL_ENV`) or `--python-home` the same way, and
//! refuses a venv of another Python version (naming both) or one Apache's user cannot
//! read (naming the path). The sdist holds every file the build compiled. Needs network
//! to PyPI for pip's isolated build (setuptools, setuptools-rust) and `build`. Real
//! Apache, loopback ports only.

#[macro_use]
mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Reports what the application's Python sees.
const PROBE: &str = "import sys\n\
import venvonly\n\
def application(environ, start_response):\n    \
    import pthmod\n    \
    body = '|'.join([sys.prefix, sys.base_prefix, venvonly.VALUE, pthmod.VALUE]).encode()\n    \
    start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
    return [body]\n";

/// Writes a pure-Python wheel of `venvonly` (no network, no build backend).
const MAKE_WHEEL: &str = "import sys, zipfile\n\
files = {\n    \
    'venvonly/__init__.py': 'VALUE = \"venv-only package\"\\n',\n    \
    'venvonly-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: venvonly\\nVersion: 1.0\\n',\n    \
    'venvonly-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',\n\
}\n\
files['venvonly-1.0.dist-info/RECORD'] = ''.join(n + ',,\\n' for n in list(files) + ['venvonly-1.0.dist-info/RECORD'])\n\
with zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
    [z.writestr(n, t) for n, t in files.items()]\n";

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `python -m venv` at `dir` (with pip unless `without_pip`), readable by everyone.
fn make_venv(python: &Path, dir: &Path, without_pip: bool) {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "venv"]);
    if without_pip {
        cmd.arg("--without-pip");
    }
    run(cmd.arg(dir));
}

fn site_packages(venv: &Path) -> PathBuf {
    let lib = venv.join("lib");
    let dir = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir());
    dir.unwrap_or_else(|| panic!("no site-packages under {}", lib.display()))
}

/// Installs `venvonly` with the venv's pip and a `.pth` file naming a directory with
/// `pthmod`; checks the system Python sees neither (so the probe proves the venv is used).
fn populate(venv: &Path, dir: &Path) {
    let wheel = dir.join("venvonly-1.0-py3-none-any.whl");
    run(Command::new(venv.join("bin/python")).args(["-c", MAKE_WHEEL, &path_str(&wheel)]));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "-q",
        "--no-index",
        "--disable-pip-version-check",
        &path_str(&wheel),
    ]));
    let pth_dir = dir.join("pth-dir");
    write_file(&pth_dir.join("pthmod.py"), "VALUE = 'from .pth'\n");
    write_file(
        &site_packages(venv).join("mwrs_test.pth"),
        &format!("{}\n", pth_dir.display()),
    );
    write_file(&dir.join("probe.wsgi"), PROBE);
    open_up(dir);
    let system = Command::new("/usr/bin/python3")
        .args(["-c", "import venvonly"])
        .current_dir("/")
        .output()
        .unwrap();
    assert!(
        !system.status.success(),
        "venvonly importable outside the venv"
    );
}

/// `start-server probe.wsgi` with `program` and `extra` arguments/environment; returns
/// the probe's answer and the summary express printed.
fn serve(program: &str, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let root = dir.join("root");
    let port = free_port();
    let (port_s, root_s, app) = (
        port.to_string(),
        path_str(&root),
        path_str(&dir.join("probe.wsgi")),
    );
    let mut args = start_server_args(&app, &port_s, &root_s);
    args.extend_from_slice(extra);
    let mut server = ExpressServer::spawn(program, &args, env, dir, &root);
    server.wait_listening(port);
    let r = get_localhost(port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    server.interrupt_and_wait();
    let summary = std::fs::read_to_string(&server.output).unwrap();
    (r.text(), summary)
}

fn expected_probe(venv: &Path) -> String {
    format!(
        "{}|/usr|venv-only package|from .pth",
        venv.canonicalize().unwrap().display()
    )
}

/// `Major.minor` of a Python.
fn version_of(python: &Path) -> String {
    let out =
        run(Command::new(python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The sdist (`python -m build --sdist`) holds every project file the pip build just
/// compiled (cargo's dep-info of the module and of mod_wsgi-express), the build script
/// and its C shim, and the benchmarks Cargo.toml names (cargo refuses a manifest whose
/// targets are missing).
fn check_sdist(venv: &Path, dir: &Path, target: &Path) {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quiet = ["-q", "--disable-pip-version-check"];
    run(Command::new(venv.join("bin/pip"))
        .arg("install")
        .args(quiet)
        .arg("build"));
    let out_dir = dir.join("sdist");
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "build", "--sdist", "-o", &path_str(&out_dir)])
        .arg(project));
    let tarball = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let listing = run(Command::new("tar").arg("tzf").arg(&tarball));
    let members: std::collections::BTreeSet<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|l| l.split_once('/').map(|(_, rest)| rest.to_string()))
        .collect();
    let mut needed: Vec<String> = ["build.rs", "Cargo.toml", "Cargo.lock", "setup.py"]
        .iter()
        .chain(&["pyproject.toml", "apxs/shim.c", "apxs/shim.h"])
        .chain(&["benches/environ.rs", "benches/proto_codec.rs"])
        .map(|s| s.to_string())
        .collect();
    for dep_info in ["libmod_wsgi.d", "mod_wsgi-express.d"] {
        let text = std::fs::read_to_string(target.join("pip").join(dep_info)).unwrap();
        let files = text.split_whitespace().filter_map(|w| {
            let rel = Path::new(w.trim_end_matches(':'))
                .strip_prefix(project)
                .ok()?;
            (!rel.starts_with("target")).then(|| path_str(rel))
        });
        needed.extend(files);
    }
    let missing: Vec<&String> = needed.iter().filter(|f| !members.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "{} lacks {missing:?}",
        tarball.display()
    );
}

#[test]
fn pip_installed_express_serves_from_its_venv() {
    apache_and_module();
    let dir = scratch();
    let venv = dir.path().join("venv");
    make_venv(Path::new("/usr/bin/python3"), &venv, false);
    populate(&venv, dir.path());
    let project = env!("CARGO_MANIFEST_DIR");
    let target = Path::new(project).join("target/pip");
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", project])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("PYO3_PYTHON")
        .env_remove("VIRTUAL_ENV"));
    open_up(&venv);
    check_sdist(&venv, dir.path(), &target);
    let express = venv.join("bin/mod_wsgi-express");
    let module_dir = site_packages(&venv).join("mod_wsgi_rs");
    let module = std::fs::read_dir(&module_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "so"))
        .expect("pip installed the module in site-packages/mod_wsgi_rs");

    // The express of the venv, with nothing pointing it at a module or a venv.
    let env = [("MOD_WSGI_MODULE", ""), ("VIRTUAL_ENV", "")];
    let (body, summary) = serve(&path_str(&express), dir.path(), &[], &env);
    assert_eq!(body, expected_probe(&venv));
    assert!(summary.contains(&path_str(&module)), "{summary}");

    let config = run(Command::new(&express)
        .arg("module-config")
        .env("MOD_WSGI_MODULE", "")
        .env_remove("VIRTUAL_ENV"));
    let expected = format!(
        "LoadModule wsgi_module \"{}\"\nWSGIPythonHome \"{}\"\n",
        module.display(),
        venv.display()
    );
    assert_eq!(String::from_utf8_lossy(&config.stdout), expected);

    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    let installed = run(Command::new(&express)
        .args(["install-module", "--modules-directory", &path_str(&modules)])
        .env("MOD_WSGI_MODULE", "")
        .env_remove("VIRTUAL_ENV"));
    let copy = modules.join("mod_wsgi.so");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&module).unwrap()
    );
    let expected = format!(
        "LoadModule wsgi_module \"{}\"\nWSGIPythonHome \"{}\"\n",
        copy.display(),
        venv.display()
    );
    assert_eq!(String::from_utf8_lossy(&installed.stdout), expected);
}

#[test]
fn cargo_express_uses_an_activated_venv_or_python_home() {
    apache_and_module();
    let dir = scratch();
    let venv = dir.path().join("venv");
    make_venv(Path::new("/usr/bin/python3"), &venv, false);
    populate(&venv, dir.path());
    let path = format!("{}/bin:{}", venv.display(), std::env::var("PATH").unwrap());
    let activated = [("VIRTUAL_ENV", path_str(&venv)), ("PATH", path)];
    let activated: Vec<(&str, &str)> = activated.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (body, _) = serve(EXPRESS_EXE, dir.path(), &[], &activated);
    assert_eq!(body, expected_probe(&venv));

    // In the Apache children (WSGIPythonHome read by the module's embedded Python).
    let venv_s = path_str(&venv);
    let explicit = ["--python-home", venv_s.as_str(), "--embedded-mode"];
    let (body, _) = serve(EXPRESS_EXE, dir.path(), &explicit, &[("VIRTUAL_ENV", "")]);
    assert_eq!(body, expected_probe(&venv));
}

/// A Python other than the system one's minor version: pyenv's, /usr/local's, ...
fn other_python(system_version: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for root in [std::env::var("HOME").unwrap_or_default(), "/root".into()] {
        let versions = Path::new(&root).join(".pyenv/versions");
        if let Ok(entries) = std::fs::read_dir(versions) {
            candidates.extend(entries.flatten().map(|e| e.path().join("bin/python3")));
        }
    }
    for minor in 8..20 {
        candidates.push(PathBuf::from(format!("/usr/bin/python3.{minor}")));
        candidates.push(PathBuf::from(format!("/usr/local/bin/python3.{minor}")));
    }
    candidates.sort();
    candidates.into_iter().filter(|p| p.is_file()).find(|p| {
        // Python 3.3 and later have the venv module.
        let v = version_of(p);
        let minor = v.strip_prefix("3.").and_then(|m| m.parse::<u32>().ok());
        v != system_version && minor.is_some_and(|m| m >= 3)
    })
}

/// `setup-server` with the cargo-built express; returns its stderr, asserting failure.
fn refused(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    write_file(&dir.join("probe.wsgi"), PROBE);
    let root = dir.join("root");
    let out = Command::new(EXPRESS_EXE)
        .args(["setup-server", &path_str(&dir.join("probe.wsgi"))])
        .args(["--server-root", &path_str(&root)])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!root.join("httpd.conf").exists(), "{stderr}");
    stderr
}

#[test]
fn venv_of_another_python_version_is_refused() {
    let system = version_of(Path::new("/usr/bin/python3"));
    let other = other_python(&system).unwrap_or_else(|| {
        panic!(
            "this test needs a Python other than {system} (pyenv under ~/.pyenv/versions, \
             or /usr/bin/python3.N)"
        )
    });
    let other_version = version_of(&other);
    let dir = scratch();
    let venv = dir.path().join("venv");
    make_venv(&other, &venv, true);
    let venv_s = path_str(&venv);
    for (extra, env) in [
        (vec![], vec![("VIRTUAL_ENV", venv_s.as_str())]),
        (vec!["--python-home", venv_s.as_str()], vec![]),
    ] {
        let err = refused(dir.path(), &extra, &env);
        assert!(
            err.contains(&format!("made with Python {other_version}")),
            "{err}"
        );
        assert!(err.contains(&format!("built for Python {system}")), "{err}");
        assert!(err.contains(&venv_s), "{err}");
    }
}

#[test]
fn venv_the_apache_user_cannot_read_is_refused() {
    assert!(
        nix::unistd::Uid::current().is_root(),
        "this test runs express as root (Apache's children as www-data)"
    );
    // A venv in a private (0700) directory, as under a home directory.
    let private = tempfile::tempdir().unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o700);
    std::fs::set_permissions(private.path(), mode).unwrap();
    let venv = private.path().join("venv");
    make_venv(Path::new("/usr/bin/python3"), &venv, true);
    let dir = scratch();
    let err = refused(dir.path(), &[], &[("VIRTUAL_ENV", &path_str(&venv))]);
    assert!(err.contains("not usable by user 'www-data'"), "{err}");
    assert!(
        err.contains(&format!("{} is not searchable", private.path().display())),
        "{err}"
    );

    // A venv in a readable place whose base Python is not (pyenv's under /root).
    let system = version_of(Path::new("/usr/bin/python3"));
    let pyenv = Path::new("/root/.pyenv/versions");
    let same = std::fs::read_dir(pyenv)
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{system}."))
        });
    if let Some(entry) = same {
        let venv = dir.path().join("pyenv-venv");
        make_venv(&entry.path().join("bin/python3"), &venv, true);
        open_up(dir.path());
        let err = refused(dir.path(), &["--python-home", &path_str(&venv)], &[]);
        assert!(err.contains(": its base Python /root/"), "{err}");
        assert!(err.contains("/root is not searchable"), "{err}");
    }
}

#[test]
fn pip_version_is_the_crate_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let line = format!("version = \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        pyproject.lines().any(|l| l == line),
        "pyproject.toml lacks {line}"
    );
    assert!(pyproject.contains("name = \"mod-wsgi-rs\""));
}
