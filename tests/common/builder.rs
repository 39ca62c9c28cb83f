//! `ApacheBuilder`: a fresh, world-readable ServerRoot under `/tmp` named after
//! the test, the generated `httpd.conf` (MPM, sizing, the module under test,
//! the test's own global and server lines), `apache2 -t` config tests, and
//! `start()`, which hands a running server to the `Apache` guard (retrying on
//! a port taken in between). Part of the test harness in `tests/common/`.

use std::fmt;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use regex::Regex;

use super::{
    APACHE_BIN, APACHE_MODULES, Apache, Mpm, START_TIMEOUT, apps_dir, copy_tree, free_port,
    is_reference, module_under_test, open_append, set_mode, write_file,
};

static SERVER_COUNTER: AtomicUsize = AtomicUsize::new(0);

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
        if let Some(home) = std::env::var_os("MOD_WSGI_PYTHON_HOME") {
            // A module whose built-in Python home Apache's user cannot read
            // (pip's mod_wsgi built with a pyenv Python under /root).
            line(&format!(
                "WSGIPythonHome \"{}\"",
                Path::new(&home).display()
            ));
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
