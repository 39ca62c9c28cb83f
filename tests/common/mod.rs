//! Integration-test harness: starts a real `/usr/sbin/apache2` with a generated
//! `httpd.conf` in a fresh, world-readable ServerRoot under `/tmp`, loads the
//! module under test (`MOD_WSGI_SO`, or the crate's own `libmod_wsgi.so`), and
//! stops it by PID through an RAII guard that then fails the test on fatal lines
//! in the error log (`:emerg]`, `:alert]`, `:crit]`, `Segmentation fault`,
//! `panicked`, minus a per-test allow list), on processes left behind and on
//! leaked daemon sockets. Also: a small HTTP/1.1 client over raw `TcpStream`
//! (so tests control `Expect`, chunking and keep-alive), `apache2 -t` config
//! tests, and helpers to copy apps from `tests/apps/` into the ServerRoot.
//!
//! Layout: this file (module under test, MPMs, `ApacheBuilder`, config
//! generation, `apache2 -t`), `server.rs` (the `Apache` guard, graceful
//! restart, post-mortem checks, /proc helpers), `http.rs` (the client).
//! Environment: `MOD_WSGI_SO` picks the module; `MOD_WSGI_IS_REFERENCE=0|1`
//! overrides reference detection; `MOD_WSGI_TEST_KEEP=1` keeps ServerRoots.
//!
//! Used by every `tests/*.rs` file through `#[macro_use] mod common;`. Apache children run
//! as `www-data`, so everything they read is copied under the ServerRoot
//! (mode 0755/0644), never left under `/root`. Nothing here kills by name:
//! only PIDs this harness spawned, or processes whose command line names this
//! test's unique config path.
#![allow(dead_code, unused_macros)]

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use regex::Regex;

mod http;
mod port;
mod server;
pub use port::free_port;

pub use http::*;
pub use server::*;

/// Apache binary used for every test.
pub const APACHE_BIN: &str = "/usr/sbin/apache2";
/// Where Debian keeps loadable Apache modules (MPMs, mod_mime, ...).
pub const APACHE_MODULES: &str = "/usr/lib/apache2/modules";
/// How long to wait for Apache to start serving.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the parent to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful stop (SIGWINCH) may take before SIGTERM.
const GRACEFUL_STOP_TIMEOUT: Duration = Duration::from_secs(3);
/// The same against the reference module, long enough for Apache's own
/// SIGTERM/SIGKILL escalation (about 10 s) on a child that hangs at exit.
const REFERENCE_STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Error-log lines that fail a test unless allowed. Besides the fatal levels,
/// AH00045/AH00046 mean an Apache child ignored SIGTERM at stop (a module
/// hanging in shutdown), which is a defect too.
const FATAL_LOG_PATTERN: &str =
    r":emerg\]|:alert\]|:crit\]|Segmentation fault|panicked|AH00045|AH00046";

static SERVER_COUNTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------
// Module under test
// ---------------------------------------------------------------------------

/// Path of the mod_wsgi shared object under test: `$MOD_WSGI_SO`, else the
/// `libmod_wsgi.so` next to this test binary's profile dir (`target/debug`),
/// else `$CARGO_TARGET_DIR/debug`, else `<manifest>/target/debug`.
pub fn module_under_test() -> PathBuf {
    if let Some(p) = std::env::var_os("MOD_WSGI_SO") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/debug/deps/<test>-<hash> -> target/debug
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            candidates.push(profile.join("libmod_wsgi.so"));
        }
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(manifest.join(t).join("debug/libmod_wsgi.so"));
    }
    candidates.push(manifest.join("target/debug/libmod_wsgi.so"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| candidates.last().unwrap().clone())
}

/// True when the module under test is the C reference mod_wsgi rather than
/// ours. Decided by content (a Rust build always embeds `/rustc/` source paths),
/// so it stays right if ours is installed under the reference's path.
/// `MOD_WSGI_IS_REFERENCE=1|0` overrides.
pub fn is_reference() -> bool {
    static IS_REF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IS_REF.get_or_init(|| {
        match std::env::var("MOD_WSGI_IS_REFERENCE").as_deref() {
            Ok("1") => return true,
            Ok("0") => return false,
            _ => {}
        }
        let path = module_under_test();
        let bytes = fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read module under test {}: {e}", path.display()));
        !contains(&bytes, b"/rustc/")
    })
}

/// Early-return helper for behaviour only our module has. Prints why.
/// (Test files use `#[macro_use] mod common;`.)
macro_rules! ours_only {
    ($why:expr) => {
        if $crate::common::is_reference() {
            eprintln!(
                "skipped against the reference mod_wsgi (ours-only): {}",
                $why
            );
            return;
        }
    };
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// MPM
// ---------------------------------------------------------------------------

/// Apache multi-processing module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Worker,
    Prefork,
}

impl Mpm {
    pub const ALL: [Mpm; 3] = [Mpm::Event, Mpm::Worker, Mpm::Prefork];

    pub fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
            Mpm::Prefork => "prefork",
        }
    }

    /// Small default sizing so that many Apaches can run side by side.
    pub fn default_sizing(self) -> Vec<String> {
        let lines: &[&str] = match self {
            Mpm::Event | Mpm::Worker => &[
                "StartServers 1",
                "ServerLimit 4",
                "ThreadLimit 32",
                "ThreadsPerChild 25",
                "MinSpareThreads 5",
                "MaxSpareThreads 50",
                "MaxRequestWorkers 100",
                "MaxConnectionsPerChild 0",
            ],
            Mpm::Prefork => &[
                "StartServers 2",
                "MinSpareServers 1",
                "MaxSpareServers 4",
                "ServerLimit 50",
                "MaxRequestWorkers 50",
                "MaxConnectionsPerChild 0",
            ],
        };
        lines.iter().map(|s| s.to_string()).collect()
    }
}

impl fmt::Display for Mpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `per_mpm!(name, body_fn);` defines tests `name::event`, `name::worker`
/// and `name::prefork`, each calling `body_fn(Mpm::X)` (a fn in the same
/// module as the macro call).
macro_rules! per_mpm {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn event() {
                super::$body($crate::common::Mpm::Event)
            }
            #[test]
            fn worker() {
                super::$body($crate::common::Mpm::Worker)
            }
            #[test]
            fn prefork() {
                super::$body($crate::common::Mpm::Prefork)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------

/// Prepares a ServerRoot and config; `start()` runs Apache.
pub struct ApacheBuilder {
    root: PathBuf,
    mpm: Mpm,
    mpm_sizing: Vec<String>,
    global: Vec<String>,
    server: Vec<String>,
    log_level: String,
    allow: Vec<String>,
    socket_prefix: bool,
    reference_workarounds: bool,
    env: Vec<(String, String)>,
    /// Set once a started `Apache` owns the ServerRoot.
    handed_over: bool,
}

impl Drop for ApacheBuilder {
    /// A builder that never became a running server (config tests, failed
    /// starts) removes its ServerRoot, unless `MOD_WSGI_TEST_KEEP` is set.
    fn drop(&mut self) {
        if !self.handed_over && std::env::var_os("MOD_WSGI_TEST_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// A ServerRoot in `/tmp` named after the current test thread.
fn fresh_root() -> PathBuf {
    let thread = std::thread::current();
    let name: String = thread
        .name()
        .unwrap_or("anon")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name: String = name
        .chars()
        .rev()
        .take(48)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let n = SERVER_COUNTER.fetch_add(1, Ordering::SeqCst);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let root = PathBuf::from(format!(
        "/tmp/mwrs-{}-{}-{}-{:x}",
        name,
        std::process::id(),
        n,
        stamp
    ));
    for sub in ["", "apps", "logs", "run", "htdocs", "modules"] {
        let d = root.join(sub);
        fs::create_dir_all(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
        set_mode(&d, 0o755);
    }
    root
}

fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

/// Copy a file or directory tree, making it readable by everyone.
fn copy_tree(src: &Path, dst: &Path) {
    let meta = fs::metadata(src).unwrap_or_else(|e| panic!("stat {}: {e}", src.display()));
    if meta.is_dir() {
        fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
        set_mode(dst, 0o755);
        for entry in fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &dst.join(entry.file_name()));
        }
    } else {
        fs::copy(src, dst)
            .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
        set_mode(dst, 0o644);
    }
}

/// Directory holding the test apps (`tests/apps`).
pub fn apps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apps")
}

impl ApacheBuilder {
    pub fn new(mpm: Mpm) -> Self {
        let root = fresh_root();
        let module = module_under_test();
        assert!(
            module.is_file(),
            "module under test {} does not exist: build the crate (cargo build) or set MOD_WSGI_SO",
            module.display()
        );
        let dst = root.join("modules/mod_wsgi.so");
        fs::copy(&module, &dst).unwrap_or_else(|e| panic!("copy module {}: {e}", module.display()));
        set_mode(&dst, 0o755);
        ApacheBuilder {
            root,
            mpm,
            mpm_sizing: mpm.default_sizing(),
            global: Vec::new(),
            server: Vec::new(),
            log_level: "warn".to_string(),
            allow: Vec::new(),
            socket_prefix: false,
            reference_workarounds: true,
            env: Vec::new(),
            handed_over: false,
        }
    }

    /// The ServerRoot (exists already; apps can be written before start).
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn mpm(&self) -> Mpm {
        self.mpm
    }

    /// Copy `tests/apps/<name>` (file or directory) into `<root>/apps/<name>`
    /// and return the copy's path.
    pub fn app(&self, name: &str) -> PathBuf {
        let src = apps_dir().join(name);
        let dst = self.root.join("apps").join(name);
        copy_tree(&src, &dst);
        dst
    }

    /// Write `source` to `<root>/apps/<rel>` (mode 0644) and return its path.
    pub fn write_app(&self, rel: &str, source: &str) -> PathBuf {
        let dst = self.root.join("apps").join(rel);
        write_file(&dst, source);
        dst
    }

    /// A line at server-config level, before the main-server lines, after
    /// LoadModule wsgi_module (so WSGIPython* directives go here).
    pub fn global(mut self, line: impl Into<String>) -> Self {
        self.global.push(line.into());
        self
    }

    /// A line at the end of the main server config (WSGIScriptAlias etc.).
    pub fn server(mut self, line: impl Into<String>) -> Self {
        self.server.push(line.into());
        self
    }

    /// `LogLevel` value, e.g. `"warn"` (default) or `"warn wsgi:info"`.
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_string();
        self
    }

    /// Replace the MPM sizing lines (StartServers, ThreadsPerChild, ...).
    pub fn mpm_sizing<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.mpm_sizing = lines.into_iter().map(Into::into).collect();
        self
    }

    /// Allow error-log lines matching `regex` even if they look fatal.
    pub fn allow_log(mut self, regex: &str) -> Self {
        Regex::new(regex).unwrap_or_else(|e| panic!("bad allow regex {regex:?}: {e}"));
        self.allow.push(regex.to_string());
        self
    }

    /// Put daemon sockets in `<root>/run/wsgi*` (`WSGISocketPrefix`), so that
    /// leaked `*.sock` files are detected after stop.
    pub fn with_socket_prefix(mut self) -> Self {
        self.socket_prefix = true;
        self
    }

    /// Set an environment variable for Apache (on top of the clean base
    /// environment, see `apache_command`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// `apache2` with a clean environment like Debian's apachectl/envvars
    /// gives it: PATH and LANG=C, plus RUST_BACKTRACE if set, plus `env()`.
    /// (The test runner's own environment, e.g. PYTHONDONTWRITEBYTECODE,
    /// must not leak into the server under test.)
    fn apache_command(&self) -> Command {
        let mut cmd = Command::new(APACHE_BIN);
        cmd.env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C");
        if let Some(v) = std::env::var_os("RUST_BACKTRACE") {
            cmd.env("RUST_BACKTRACE", v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Turn off the config the harness adds only when running against the
    /// reference module (see `render`).
    pub fn without_reference_workarounds(mut self) -> Self {
        self.reference_workarounds = false;
        self
    }

    pub fn conf_path(&self) -> PathBuf {
        self.root.join("httpd.conf")
    }

    /// Generate the config for `port`.
    pub fn render(&self, port: u16) -> String {
        let r = self.root.display();
        let m = APACHE_MODULES;
        let mut c = String::new();
        let mut line = |s: &str| {
            c.push_str(s);
            c.push('\n');
        };
        line(&format!(
            "# generated by tests/common/mod.rs for MPM {}",
            self.mpm
        ));
        line(&format!("ServerRoot \"{r}\""));
        line(&format!("Listen 127.0.0.1:{port}"));
        line(&format!("ServerName 127.0.0.1:{port}"));
        line("ServerAdmin test@example.invalid");
        line(&format!("PidFile \"{r}/run/httpd.pid\""));
        line(&format!("DefaultRuntimeDir \"{r}/run\""));
        line(&format!("Mutex file:{r}/run default"));
        line(&format!("ErrorLog \"{r}/logs/error_log\""));
        line(&format!("LogLevel {}", self.log_level));
        line("User www-data");
        line("Group www-data");
        line("Timeout 60");
        line("KeepAlive On");
        line("KeepAliveTimeout 5");
        line(&format!(
            "LoadModule mpm_{0}_module {m}/mod_mpm_{0}.so",
            self.mpm.name()
        ));
        for module in ["authz_core", "mime", "alias", "dir", "env"] {
            line(&format!("LoadModule {module}_module {m}/mod_{module}.so"));
        }
        line(&format!(
            "LoadModule wsgi_module \"{r}/modules/mod_wsgi.so\""
        ));
        line(&format!("<IfModule mpm_{}_module>", self.mpm.name()));
        for s in &self.mpm_sizing {
            line(&format!("    {s}"));
        }
        line("</IfModule>");
        line("TypesConfig /etc/mime.types");
        line("LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b pid=%P tid=%{tid}P %D\" harness");
        line(&format!("CustomLog \"{r}/logs/access_log\" harness"));
        line(&format!("DocumentRoot \"{r}/htdocs\""));
        line("<Directory />");
        line("    AllowOverride None");
        line("    Require all denied");
        line("</Directory>");
        line(&format!("<Directory \"{r}\">"));
        line("    Require all granted");
        line("</Directory>");
        if self.socket_prefix {
            line(&format!("WSGISocketPrefix \"{r}/run/wsgi\""));
        }
        if self.reference_workarounds && is_reference() {
            // mod_wsgi 4.9.4 + Python >= 3.9.8: a threaded-MPM child that has
            // served a request hangs in Py_Finalize (threading._shutdown waits
            // for idle request thread states; mod_wsgi #730, #799), so every
            // stop takes Apache's full 10 s SIGTERM/SIGKILL escalation. Our
            // module must stop cleanly without this.
            line("WSGIDestroyInterpreter Off");
        }
        line("# --- global lines from the test ---");
        for s in &self.global {
            line(s);
        }
        line("# --- server lines from the test ---");
        for s in &self.server {
            line(s);
        }
        c
    }

    fn write_conf(&self, port: u16) -> PathBuf {
        let conf = self.conf_path();
        write_file(&conf, &self.render(port));
        conf
    }

    /// Run `apache2 -t -f <conf>` on the generated config.
    pub fn config_test(&self) -> ConfigTest {
        let conf = self.write_conf(free_port());
        let out = self
            .apache_command()
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {APACHE_BIN} -t: {e}"));
        let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stdout));
        ConfigTest {
            status: out.status,
            output,
            conf: self.render(0),
        }
    }

    /// Start Apache; panics with the error log if it does not come up.
    pub fn start(self) -> Apache {
        match self.try_start() {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start Apache; `Err` carries a description plus the error log.
    /// Retries with a fresh port if the chosen one was taken in between.
    pub fn try_start(mut self) -> Result<Apache, StartError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port();
            let conf = self.write_conf(port);
            let log = self.root.join("logs/error_log");
            let _ = fs::remove_file(&log);
            // Each attempt judges only its own stderr.
            let _ = fs::remove_file(self.root.join("logs/stderr"));
            let mut cmd = self.apache_command();
            cmd.arg("-f")
                .arg(&conf)
                .arg("-DFOREGROUND")
                .stdin(Stdio::null())
                .stdout(Stdio::from(open_append(&self.root.join("logs/stdout"))))
                .stderr(Stdio::from(open_append(&self.root.join("logs/stderr"))));
            // Own process group: Apache signals its whole group on shutdown
            // (prefork's killpg), which must not reach the test runner.
            cmd.process_group(0);
            // If the test process dies without running Drop (killed by a CI
            // timeout), take Apache down with it. PDEATHSIG fires when the
            // *thread* that spawned it exits: keep the guard on that thread.
            // SAFETY: the hook only calls prctl(2), which is async-signal-safe
            // and touches no memory shared with the parent.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {APACHE_BIN}: {e}"));
            let pid = child.id() as i32;
            let mut apache = Apache {
                root: self.root.clone(),
                conf: conf.clone(),
                port,
                pid,
                child: Some(child),
                allow: self.allow.iter().map(|r| Regex::new(r).unwrap()).collect(),
                mpm: self.mpm,
                stopped: false,
                stop_result: None,
                owns_root: false,
            };
            match apache.wait_ready(START_TIMEOUT) {
                Ok(()) => {
                    apache.owns_root = true;
                    self.handed_over = true;
                    return Ok(apache);
                }
                Err(reason) => {
                    let log = apache.error_log();
                    let stderr =
                        fs::read_to_string(self.root.join("logs/stderr")).unwrap_or_default();
                    let exited = apache.child_exited();
                    let _ = apache.stop_inner();
                    // Checked here; the guard's Drop must not judge it again.
                    apache.stopped = true;
                    apache.stop_result = Some(Ok(()));
                    // The port from bind-to-0 can be taken again before
                    // Apache binds it (a client socket of another test gets
                    // it as its ephemeral port); httpd reports that on stderr
                    // because the error log is not open yet.
                    let port_taken = log.contains("Address already in use")
                        || stderr.contains("Address already in use");
                    if exited && port_taken && attempt < 4 {
                        continue;
                    }
                    return Err(StartError {
                        reason,
                        error_log: log,
                        stderr,
                        root: self.root.clone(),
                        conf: self.render(port),
                    });
                }
            }
        }
    }
}

/// Why Apache did not start.
#[derive(Debug)]
pub struct StartError {
    pub reason: String,
    pub error_log: String,
    pub stderr: String,
    pub root: PathBuf,
    pub conf: String,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Apache did not start: {}\n(server root {})\n--- stderr ---\n{}\n--- error_log ---\n{}\n--- httpd.conf ---\n{}",
            self.reason,
            self.root.display(),
            self.stderr,
            self.error_log,
            self.conf
        )
    }
}

/// Result of `apache2 -t`.
#[derive(Debug)]
pub struct ConfigTest {
    pub status: ExitStatus,
    /// stderr followed by stdout.
    pub output: String,
    /// The config that was tested (port shown as 0).
    pub conf: String,
}

impl ConfigTest {
    pub fn ok(&self) -> bool {
        self.status.success()
    }
}

pub fn write_file(path: &Path, contents: &str) {
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        fs::create_dir_all(parent).unwrap();
        set_mode(parent, 0o755);
    }
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    set_mode(path, 0o644);
}

fn open_append(p: &Path) -> fs::File {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
}

/// Run `f(i)` for `i in 0..n` on `n` threads at once; results in index order.
pub fn concurrently<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = f.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("request thread panicked"))
        .collect()
}

/// Parse `key=value` lines (as the test apps print them) into a map; panics
/// with the whole text if a line has no `=`.
pub fn parse_kv(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not a key=value line {l:?} in:\n{text}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}
