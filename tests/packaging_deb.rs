//! The Debian package (scripts/build-deb.sh, packaging/debian/): lintian finds no
//! error; `dpkg -i` installs it beside Debian's mod_wsgi; with Debian's `wsgi` enabled
//! the postinst leaves `wsgi_rs` disabled and `a2enmod wsgi_rs` is refused (the .load
//! file's `# Conflicts: wsgi`); with `wsgi` disabled, `a2enmod wsgi_rs` enables it,
//! `apache2ctl configtest` passes, an Apache whose config includes
//! `/etc/apache2/mods-enabled/wsgi_rs.load` serves an app through the installed module,
//! and `/usr/bin/mod_wsgi-express` finds that module and serves an app; `dpkg --purge`
//! leaves none of the package's files, links or a2enmod state behind. A second install
//! (`apt-get install ./<deb>`, as the README says) with `wsgi` disabled is enabled by the
//! postinst itself, and purged as cleanly.
//!
//! It changes the system (dpkg, /etc/apache2), so it runs only as root, under an
//! exclusive lock, and a guard purges the package and restores Debian's `wsgi` module
//! state (and removes the policy-rc.d it may add so that the maintainer scripts never
//! start the system Apache) even when the test fails. The .deb is `$MOD_WSGI_DEB`, else
//! built with scripts/build-deb.sh (an up-to-date release build is reused).

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PKG: &str = "libapache2-mod-wsgi-rs";
const MODULE: &str = "/usr/lib/apache2/modules/mod_wsgi_rs.so";
const LOAD: &str = "/etc/apache2/mods-available/wsgi_rs.load";
const ENABLED_LOAD: &str = "/etc/apache2/mods-enabled/wsgi_rs.load";
const EXPRESS: &str = "/usr/bin/mod_wsgi-express";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";
const MODULE_STATE: &str = "/var/lib/apache2/module";
/// Taken by every test that changes /etc/apache2 or the system's packages.
const SYSTEM_LOCK: &str = "/run/lock/mod_wsgi-rs-system-apache.lock";

/// The app: which mod_wsgi module file this process has mapped.
const APP: &str = r#"
def application(environ, start_response):
    with open("/proc/self/maps") as f:
        maps = f.read()
    names = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in maps.splitlines()
                    if "mod_wsgi" in line})
    body = ("deb|" + ",".join(names)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"#;

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_remove("MOD_WSGI_MODULE")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn module_enabled(name: &str) -> bool {
    run("/usr/sbin/a2query", &["-q", "-m", name])
        .status
        .success()
}

fn installed() -> bool {
    let out = run("dpkg-query", &["-W", "-f=${Status}", PKG]);
    String::from_utf8_lossy(&out.stdout).contains("installed")
}

/// a2enmod's state markers for `name` (enabled_by_maint/NAME, disabled_by_admin/NAME, ...).
fn markers(name: &str) -> Vec<PathBuf> {
    let Ok(dirs) = std::fs::read_dir(MODULE_STATE) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = dirs
        .filter_map(|d| d.ok())
        .map(|d| d.path().join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
}

/// Purges the package and puts Debian's `wsgi` module back as it was, on drop.
struct SystemGuard {
    _lock: nix::fcntl::Flock<std::fs::File>,
    wsgi_enabled: bool,
    wsgi_markers: Vec<PathBuf>,
    made_policy: bool,
}

impl SystemGuard {
    fn take() -> SystemGuard {
        let file = std::fs::File::create(SYSTEM_LOCK).unwrap();
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| e)
            .unwrap();
        assert!(
            !installed(),
            "{PKG} is installed already: this test installs and purges it"
        );
        // The maintainer scripts restart the system Apache through invoke-rc.d;
        // a policy-rc.d that denies every action keeps it from being started.
        let made_policy = !Path::new(POLICY_RC_D).exists();
        if made_policy {
            std::fs::write(
                POLICY_RC_D,
                "#!/bin/sh\n# mod_wsgi-rs test: no service actions\nexit 101\n",
            )
            .unwrap();
            std::fs::set_permissions(POLICY_RC_D, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        SystemGuard {
            _lock: lock,
            wsgi_enabled: module_enabled("wsgi"),
            wsgi_markers: markers("wsgi"),
            made_policy,
        }
    }

    fn restore(&self) {
        if installed() {
            let _ = run("dpkg", &["--purge", PKG]);
        }
        match (self.wsgi_enabled, module_enabled("wsgi")) {
            (true, false) => drop(run("a2enmod", &["-q", "wsgi"])),
            (false, true) => drop(run("a2dismod", &["-q", "wsgi"])),
            _ => {}
        }
        for marker in markers("wsgi") {
            let _ = std::fs::remove_file(marker);
        }
        for marker in &self.wsgi_markers {
            let _ = std::fs::write(marker, "");
        }
        if self.made_policy {
            let _ = std::fs::remove_file(POLICY_RC_D);
        }
    }
}

impl Drop for SystemGuard {
    fn drop(&mut self) {
        self.restore();
    }
}

/// The .deb: `$MOD_WSGI_DEB`, else the last line of scripts/build-deb.sh.
fn deb_path() -> String {
    if let Some(deb) = std::env::var("MOD_WSGI_DEB").ok().filter(|d| !d.is_empty()) {
        return deb;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-deb.sh");
    let out = run("bash", &[&path_str(&script)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build-deb.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        deb.ends_with(".deb") && Path::new(&deb).is_file(),
        "{stdout}"
    );
    deb
}

fn check_lintian(deb: &str) {
    let out = run("lintian", &["--fail-on", "error", deb]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !text.lines().any(|l| l.starts_with("E: ")),
        "lintian errors:\n{text}"
    );
    assert!(
        out.status.success(),
        "lintian: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs the .deb with `dpkg -i` or `apt-get install ./x.deb` (the README's way);
/// returns every path it holds (`dpkg -L`) and the installer's output.
fn install(deb: &str, with_apt: bool) -> (Vec<PathBuf>, String) {
    let output = if with_apt {
        run_ok(
            "apt-get",
            &["install", "-y", "-q", "--no-install-recommends", deb],
        )
    } else {
        run_ok("dpkg", &["-i", deb])
    };
    let files = run_ok("dpkg", &["-L", PKG]);
    let paths: Vec<PathBuf> = files
        .lines()
        .filter(|l| l.starts_with('/') && *l != "/.")
        .map(PathBuf::from)
        .collect();
    for path in [MODULE, LOAD, EXPRESS] {
        assert!(
            paths.contains(&PathBuf::from(path)),
            "{path} not in dpkg -L"
        );
        assert!(Path::new(path).is_file(), "{path} not installed");
    }
    (paths, output)
}

/// Purges the package; checks that none of its own files or a2enmod state remain
/// (directories shared with other packages, such as /usr/bin, stay).
fn purge_and_check(paths: &[PathBuf]) {
    run_ok("dpkg", &["--purge", PKG]);
    assert!(!installed());
    for path in paths {
        if path.is_dir() && run("dpkg", &["-S", &path_str(path)]).status.success() {
            continue;
        }
        assert!(!path.exists(), "{} left behind", path.display());
    }
    assert!(
        std::fs::symlink_metadata(ENABLED_LOAD).is_err(),
        "{ENABLED_LOAD} left behind"
    );
    assert_eq!(
        markers("wsgi_rs"),
        Vec::<PathBuf>::new(),
        "a2enmod state left behind"
    );
    let info = std::fs::read_dir("/var/lib/dpkg/info").unwrap();
    let left: Vec<_> = info
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{PKG}."))
        })
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Apache with a config of its own that includes the enabled .load file; serves the app.
fn serve_through_enabled_load(dir: &Path) {
    std::fs::write(dir.join("app.wsgi"), APP).unwrap();
    let port = free_port();
    let root = path_str(dir);
    let conf = format!(
        "ServerRoot \"{root}\"\nServerName localhost\nListen 127.0.0.1:{port}\n\
         PidFile \"{root}/httpd.pid\"\nDefaultRuntimeDir \"{root}\"\n\
         ErrorLog \"{root}/error_log\"\nLogLevel warn\nUser www-data\nGroup www-data\n\
         LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so\n\
         LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so\n\
         Include {ENABLED_LOAD}\n\
         WSGIScriptAlias / \"{root}/app.wsgi\"\n\
         <Directory \"{root}\">\n    Require all granted\n</Directory>\n"
    );
    std::fs::write(dir.join("httpd.conf"), conf).unwrap();
    open_up(dir);
    let conf = path_str(&dir.join("httpd.conf"));
    let mut server =
        ExpressServer::spawn(APACHE_BIN, &["-f", &conf, "-DFOREGROUND"], &[], dir, dir);
    server.wait_listening(port);
    let r = get_localhost(port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    assert_eq!(r.text(), "deb|mod_wsgi_rs.so");
    server.stop_with(libc::SIGTERM);
    server.finish().unwrap();
}

/// /usr/bin/mod_wsgi-express (no $MOD_WSGI_MODULE) uses the installed module.
fn express_uses_installed_module(dir: &Path) {
    let location = run_ok(EXPRESS, &["module-location"]);
    assert_eq!(location.trim_end(), MODULE);
    let config = run_ok(EXPRESS, &["module-config"]);
    assert!(
        config.starts_with(&format!("LoadModule wsgi_module \"{MODULE}\"\n")),
        "{config}"
    );
    std::fs::write(dir.join("app.wsgi"), APP).unwrap();
    open_up(dir);
    let root = dir.join("express-root");
    let port = free_port();
    let args = [
        "start-server",
        &path_str(&dir.join("app.wsgi")),
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--server-root",
        &path_str(&root),
    ];
    let mut server = ExpressServer::spawn(EXPRESS, &args, &[("MOD_WSGI_MODULE", "")], dir, &root);
    server.wait_listening(port);
    let r = get_localhost(port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    // express loads its copy of the module from the server root.
    assert_eq!(r.text(), "deb|mod_wsgi.so");
    let copy = std::fs::read(root.join("mod_wsgi.so")).unwrap();
    assert!(
        copy == std::fs::read(MODULE).unwrap(),
        "server root's module is not {MODULE}"
    );
    server.interrupt_and_wait();
    server.finish().unwrap();
}

/// `a2enmod wsgi_rs` is refused while Debian's `wsgi` is enabled.
fn conflict_is_refused() {
    if !module_enabled("wsgi") {
        run_ok("a2enmod", &["-q", "wsgi"]);
    }
    let out = run("a2enmod", &["wsgi_rs"]);
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a2enmod wsgi_rs succeeded beside wsgi: {text}"
    );
    assert!(
        text.contains("Module wsgi is enabled - cannot proceed due to conflicts"),
        "{text}"
    );
    assert!(std::fs::symlink_metadata(ENABLED_LOAD).is_err());
    run_ok("a2dismod", &["-q", "wsgi"]);
}

#[test]
fn deb_installs_beside_debian_mod_wsgi_enables_serves_and_purges_cleanly() {
    if !nix::unistd::Uid::current().is_root() {
        eprintln!("skipped: installing a .deb needs root");
        return;
    }
    assert!(
        Path::new("/etc/apache2/mods-available/wsgi.load").exists(),
        "Debian's mod_wsgi is required (apt-get install libapache2-mod-wsgi-py3)"
    );
    let deb = deb_path();
    check_lintian(&deb);
    let guard = SystemGuard::take();

    // Debian's wsgi enabled: the postinst leaves wsgi_rs disabled, a2enmod refuses it.
    if !module_enabled("wsgi") {
        run_ok("a2enmod", &["-q", "wsgi"]);
    }
    let (paths, output) = install(&deb, false);
    assert!(output.contains("wsgi_rs is left disabled"), "{output}");
    assert!(!module_enabled("wsgi_rs"));
    conflict_is_refused();

    // wsgi disabled: the admin enables wsgi_rs; Apache and express serve through it.
    run_ok("a2enmod", &["-q", "wsgi_rs"]);
    let link = std::fs::read_link(ENABLED_LOAD).unwrap();
    assert_eq!(link, Path::new("../mods-available/wsgi_rs.load"));
    let configtest = run_ok("apache2ctl", &["configtest"]);
    assert!(configtest.contains("Syntax OK"), "{configtest}");
    let dir = scratch();
    serve_through_enabled_load(dir.path());
    express_uses_installed_module(dir.path());
    purge_and_check(&paths);

    // wsgi disabled at install: the postinst enables wsgi_rs (apache2_invoke).
    let (paths, _) = install(&deb, true);
    assert!(module_enabled("wsgi_rs"));
    let state = markers("wsgi_rs");
    assert!(
        state.len() == 1 && state[0].ends_with("enabled_by_maint/wsgi_rs"),
        "{state:?}"
    );
    purge_and_check(&paths);
    guard.restore();
    assert_eq!(module_enabled("wsgi"), guard.wsgi_enabled);
    assert_eq!(markers("wsgi"), guard.wsgi_markers);
}
