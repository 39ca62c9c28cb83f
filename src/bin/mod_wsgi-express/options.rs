//! Resolved server options: turns the parsed `ServerArgs` plus facts about the machine
//! (`Environment`: uid, cwd, TMPDIR, Apache paths, the module, the run user) into one
//! `Options` value with absolute paths, defaults filled in exactly as mod_wsgi 6.0.5
//! express does, and derived values (URLs, log files, MPM sizing, RequestReadTimeout).
//! The resolving itself is `resolve.rs`. It writes nothing: `server_root.rs` writes,
//! `httpd_conf.rs`/`apachectl.rs` render. Called by `main.rs`; no Python.

use crate::cli::ServerArgs;
use crate::https::Https;
use crate::module::{self, LocatedModule};
use crate::python_home::{self, PythonHome};
use crate::sizing::Sizing;
use crate::validation::{self, RunIdentity};
use anyhow::{Context, Result};
use nix::unistd::Uid;
use std::path::{Path, PathBuf};

/// How the application is hosted: in one `WSGIDaemonProcess` group (the express
/// default) or, with `--embedded-mode`, inside Apache's worker threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Daemon,
    Embedded,
}

/// The `WSGIDaemonProcess` group of daemon mode (express outline item 4). Only the
/// options the module implements and enforces are carried; the values are express's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Daemon {
    /// Group name: `--process-group` or `HOST:PORT`.
    pub name: String,
    /// `display-name`: `(wsgi:HOST:PORT:UID)`.
    pub display_name: String,
    /// `processes=`, only when `--processes` was given (it makes `wsgi.multiprocess`
    /// True, as in the original).
    pub processes: Option<u32>,
    pub threads: u32,
    pub maximum_requests: u32,
    /// `python-path=`: the `--python-path` directories (the working directory is
    /// `home=`, which the module puts first on `sys.path`).
    pub python_paths: Vec<String>,
    pub listen_backlog: u32,
    pub socket_timeout: u32,
    pub connect_timeout: u32,
    pub shutdown_timeout: u32,
    /// `request-timeout=` (0 = off): per thread, scaled by `1 + ln(threads)`
    /// as mod_wsgi 6; interrupts the thread (interrupt-timeout) or restarts the process.
    pub request_timeout: u32,
    /// `interrupt-timeout=` (0 = off): seconds a thread interrupted by
    /// `mod_wsgi.RequestTimeout` has to unwind before the process restarts.
    pub interrupt_timeout: u32,
    /// `startup-timeout=` (0 = off): seconds the first request may wait for
    /// the WSGI script to load before the process restarts.
    pub startup_timeout: u32,
    /// `inactivity-timeout=` (0 = off): a process idle that long restarts.
    pub inactivity_timeout: u32,
    /// `deadlock-timeout=`: a process whose GIL is held that long restarts.
    pub deadlock_timeout: u32,
    /// `header-buffer-size=`, 0 = the module's default (written only with
    /// `--processes`, as the original does).
    pub header_buffer_size: u32,
    /// `response-socket-timeout=` (0 = socket-timeout): timeout of writes to
    /// the client while a daemon response is relayed.
    pub response_socket_timeout: u32,
    /// `response-buffer-size=` (0 = the module's default, 8 MiB): the
    /// relay's runaway guard, a flush after that many unflushed bytes.
    pub response_buffer_size: u32,
    /// `response-flush-delay=` milliseconds the relay waits for more
    /// daemon output before flushing (0: flush at once).
    pub response_flush_delay: u32,
    /// `restart-interval=` (0 = off): seconds after which a daemon process restarts.
    pub restart_interval: u32,
    /// `queue-timeout=` (0 = off): seconds a request may wait for a daemon worker.
    pub queue_timeout: u32,
    /// `cpu-time-limit=` (0 = off): CPU seconds after which a process restarts.
    pub cpu_time_limit: u32,
    /// `graceful-timeout=`: how long a restarting daemon process keeps serving
    /// while its requests finish (0 = stop at once).
    pub graceful_timeout: u32,
    /// `eviction-timeout=`: the same for SIGUSR1 to a daemon (0 = graceful-timeout).
    pub eviction_timeout: u32,
    /// `maximum-memory=` (ours; written only when given): the resident
    /// memory past which a daemon process recycles gracefully.
    pub maximum_memory: Option<String>,
    /// `send-buffer-size=` / `receive-buffer-size=` of the daemon socket (0 =
    /// the system default).
    pub send_buffer_size: u32,
    pub receive_buffer_size: u32,
    /// `WSGISocketPrefix`: `<--socket-prefix directory>/wsgi` (as express) or `<root>/wsgi`.
    pub socket_prefix: PathBuf,
    /// `--disable-reloading`: `WSGIScriptReloading Off` (daemon mode reloads a changed
    /// script by default, as the original).
    pub disable_reloading: bool,
}

/// What is mounted at `--mount-point`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum App {
    /// A WSGI script file (`--application-type script`).
    Script(PathBuf),
    /// No entry point: the generated `default.wsgi` in the server root.
    Default(PathBuf),
    /// `--application-type module`: a dotted module name, imported by the generated
    /// wrapper `handler.wsgi` (in the server root).
    Module { name: String, wrapper: PathBuf },
    /// `--application-type paste`: a Paste Deploy `.ini` file, loaded by the wrapper.
    Paste { config: PathBuf, wrapper: PathBuf },
    /// `--application-type static`: only the document root is served.
    Static,
}

/// Facts about the machine, gathered once by `Environment::detect` (tests fake them).
#[derive(Clone, Debug)]
pub struct Environment {
    pub uid: Uid,
    pub cwd: PathBuf,
    /// `$TMPDIR` or /tmp, without a trailing slash.
    pub tmpdir: String,
    pub modules_directory: PathBuf,
    pub module: LocatedModule,
    pub python_home: PythonHome,
    pub httpd_executable: PathBuf,
    pub rotatelogs: PathBuf,
    pub mime_types: PathBuf,
    pub default_locale: String,
}

impl Environment {
    /// Looks everything up for real (apxs, the module, /usr/bin/python3, locale -a).
    pub fn detect(args: &ServerArgs) -> Result<Environment> {
        let explicit = args.modules_directory.as_deref().map(Path::new);
        // --modules-directory naming a file selects the module; a directory keeps its
        // mod_wsgi-express meaning (Apache's modules directory, where the MPMs are).
        let (explicit_module, modules_directory) = match explicit {
            Some(p) if p.is_file() => (Some(p), module::apache_modules_directory()),
            Some(p) => (None, absolute(p)?),
            None => (None, module::apache_modules_directory()),
        };
        let module = module::locate_module(explicit_module, &modules_directory)?;
        Ok(Environment {
            uid: Uid::current(),
            cwd: std::env::current_dir().context("cannot read the current directory")?,
            tmpdir: std::env::var("TMPDIR")
                .ok()
                .filter(|t| !t.is_empty())
                .map(|t| t.trim_end_matches('/').to_string())
                .unwrap_or_else(|| "/tmp".into()),
            modules_directory,
            module,
            python_home: python_home::select(args.python_home.as_deref())?,
            httpd_executable: module::httpd_executable(args.httpd_executable.as_deref()),
            rotatelogs: module::rotatelogs_executable(),
            mime_types: module::mime_types_file(),
            default_locale: default_locale(),
        })
    }
}

/// Log file settings.
#[derive(Clone, Debug)]
pub struct Logging {
    pub directory: PathBuf,
    pub level: String,
    pub error_log_file: String,
    pub error_log_format: Option<String>,
    pub access_log: bool,
    pub access_log_file: String,
    /// `common`, `combined` or `custom`.
    pub access_log_nickname: String,
    /// The LogFormat string of `custom`, quotes escaped.
    pub access_log_format: Option<String>,
    pub startup_log_file: Option<String>,
    pub rotate_logs: bool,
    pub max_log_size: u32,
    pub rotatelogs: PathBuf,
}

/// Everything the generators need, resolved.
#[derive(Clone, Debug)]
pub struct Options {
    pub command_line: Vec<String>,
    pub mode: Mode,
    /// The daemon process group (daemon mode only).
    pub daemon: Option<Daemon>,
    pub server_root: PathBuf,
    /// Listener host: `--host` or `localhost` (names the server and the URL).
    pub host: String,
    /// `--host` as given (Listen on it), or None to listen on all interfaces.
    pub listener_host: Option<String>,
    pub port: u16,
    pub server_name: Option<String>,
    pub server_aliases: Vec<String>,
    pub allow_localhost: bool,
    pub url: String,
    /// `--https-port` and the certificate options (`https.rs`).
    pub https: Option<Https>,
    pub app: App,
    pub mount_point: String,
    pub callable_object: String,
    /// `%{GLOBAL}` or a quoted group name, ready for the config.
    pub application_group: String,
    pub working_directory: PathBuf,
    pub python_paths: Vec<String>,
    pub python_eggs: PathBuf,
    /// `--python-eggs` was given: write `WSGIPythonEggs` (express only passes it to the
    /// daemon processes, so embedded mode needs the directive to honour it).
    pub python_eggs_given: bool,
    pub python_warnings: Vec<String>,
    /// `WSGIPythonHome` (`python_home.rs`).
    pub python_home: PythonHome,
    pub module_source: LocatedModule,
    /// Where the module is copied to, and loaded from: `<server root>/mod_wsgi.so`.
    pub module_path: PathBuf,
    pub modules_directory: PathBuf,
    pub httpd_executable: PathBuf,
    pub shell_executable: PathBuf,
    pub process_name: String,
    pub mime_types: PathBuf,
    pub pid_file: PathBuf,
    pub httpd_conf: PathBuf,
    pub document_root: PathBuf,
    pub directory_index: Option<String>,
    pub directory_listing: bool,
    pub allow_override: String,
    pub url_aliases: Vec<(String, String)>,
    /// `--proxy-mount-point` / `--proxy-virtual-host` pairs and `ProxyTimeout` (`proxy.rs`).
    pub proxy_mount_points: Vec<(String, String)>,
    pub proxy_virtual_hosts: Vec<(String, String)>,
    pub proxy_timeout: u32,
    pub error_documents: Vec<(String, String)>,
    pub setenv: Vec<(String, String)>,
    pub passenv: Vec<String>,
    pub include_files: Vec<PathBuf>,
    pub envvars_script: Option<PathBuf>,
    pub user: String,
    pub group: String,
    pub run_as: RunIdentity,
    pub locale: String,
    pub log: Logging,
    pub socket_timeout: u32,
    pub keep_alive_timeout: u32,
    pub request_read_timeout: String,
    pub limit_request_body: u64,
    pub server_backlog: u32,
    pub http2: bool,
    pub compress_responses: bool,
    pub server_status: bool,
    pub server_metrics: bool,
    pub enable_sendfile: bool,
    pub chunked_request: bool,
    pub with_cgi: bool,
    pub cgid: bool,
    pub orphan_interpreter: bool,
    pub map_head_to_get: String,
    /// `--error-override`: `WSGIErrorOverride On` (daemon mode only, as the module).
    pub error_override: bool,
    pub trusted_proxy_headers: Vec<String>,
    pub trusted_proxies: Vec<String>,
    /// `--ignore-activity URL-PATH`: locations with `WSGIIgnoreActivity On`.
    pub ignore_activity: Vec<String>,
    /// The auth script options (`auth.rs`).
    pub auth: crate::auth::Auth,
    /// `--metrics-url`, `--health-url` and their allow lists.
    pub monitoring: crate::monitoring::Monitoring,
    /// The telemetry options (`telemetry.rs`).
    pub telemetry: crate::telemetry::Telemetry,
    /// `--debug-mode` and the debugging tools (`devtools.rs`).
    pub devtools: crate::devtools::DevTools,
    /// `--service-script` daemons (`service.rs`).
    pub services: Vec<crate::service::Service>,
    /// `--add-handler` pairs (extension with its dot, script), `resource.rs`.
    pub handler_scripts: Vec<(String, PathBuf)>,
    /// `--rewrite-rules` or `<server root>/rewrite.conf` (`rewrite.rs`).
    pub rewrite_rules: PathBuf,
    /// `--enable-docs`: the documentation directory served (`docs.rs`).
    pub docs: Option<PathBuf>,
    pub switch_interval: Option<f64>,
    /// `--free-threading`: `WSGIFreeThreading On` (a free-threaded build only).
    pub free_threading: bool,
    /// `--reload-on-changes`: the wrapper's monitor thread plus apachectl's watcher.
    pub reload_on_changes: bool,
    pub sizing: Sizing,
    pub setup_only: bool,
}

fn absolute(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Locale for LANG/LC_ALL: the environment's, with C/POSIX (or none) replaced by
/// en_US.UTF-8 when installed, else C.UTF-8 (express does the same).
fn default_locale() -> String {
    let current = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty());
    match current {
        Some(l) if !matches!(l.to_ascii_uppercase().as_str(), "C" | "POSIX") => l,
        _ => {
            let installed = std::process::Command::new("locale")
                .arg("-a")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let has_en_us = installed.lines().any(|l| {
                l.eq_ignore_ascii_case("en_US.utf8") || l.eq_ignore_ascii_case("en_US.UTF-8")
            });
            if has_en_us { "en_US.UTF-8" } else { "C.UTF-8" }.into()
        }
    }
}

/// Refuses to go on when the run user could not read what Apache's children need: the
/// Python home (`python_home::check_readable`), the WSGI script and every directory
/// above it, and in daemon mode the working directory
/// (the daemon's `home=`: a daemon that cannot change to it dies at start, again and
/// again); warns (on stderr) for static file paths.
pub fn check_access(opts: &Options) -> Result<()> {
    python_home::check_readable(&opts.run_as, &opts.python_home)?;
    if opts.daemon.is_some() {
        validation::check_readable(
            &opts.run_as,
            &opts.working_directory,
            "working directory (the daemon processes' home; see --working-directory)",
        )?;
    }
    match &opts.app {
        App::Script(path) => validation::check_readable(&opts.run_as, path, "WSGI script")?,
        App::Paste { config, .. } => {
            validation::check_readable(&opts.run_as, config, "Paste Deploy configuration")?
        }
        _ => {}
    }
    for (what, path) in crate::auth::scripts(&opts.auth) {
        validation::check_readable(&opts.run_as, path, what)?;
    }
    let mut statics: Vec<(&str, PathBuf)> = vec![("document root", opts.document_root.clone())];
    for (_, target) in &opts.url_aliases {
        statics.push(("--url-alias target", PathBuf::from(target)));
    }
    for (what, path) in statics {
        if !path.exists() {
            continue;
        }
        if let Err(e) = validation::check_readable(&opts.run_as, &path, what) {
            eprintln!("mod_wsgi-express: warning: {e:#}");
        }
    }
    Ok(())
}

#[cfg(test)]
pub mod testing {
    //! Builds `Options` from command-line words against a fake machine, for the unit
    //! tests of the generators.
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// A scratch directory with fake MPM modules, a WSGI script `app.wsgi`, and the
    /// options for `setup-server <dir>/app.wsgi --server-root <dir>/root ARGS...`.
    pub struct Fixture {
        pub dir: tempfile::TempDir,
    }

    impl Fixture {
        pub fn new(mpms: &[&str]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("modules")).unwrap();
            for mpm in mpms {
                std::fs::write(dir.path().join(format!("modules/mod_mpm_{mpm}.so")), "").unwrap();
            }
            std::fs::write(dir.path().join("app.wsgi"), "application = None\n").unwrap();
            Fixture { dir }
        }

        pub fn path(&self, rel: &str) -> String {
            self.dir.path().join(rel).to_string_lossy().into_owned()
        }

        pub fn try_options(&self, extra: &[&str]) -> Result<Options> {
            let app = self.path("app.wsgi");
            let root = self.path("root");
            let mut words = vec![app.as_str(), "--server-root", &root];
            words.extend_from_slice(extra);
            self.resolve_words(&words)
        }

        /// Resolves `setup-server WORDS...` as given.
        pub fn resolve_words(&self, words: &[&str]) -> Result<Options> {
            let mut all = vec!["mod_wsgi-express", "setup-server"];
            all.extend_from_slice(words);
            let matches = crate::cli::Cli::command().try_get_matches_from(all)?;
            let sub = matches.subcommand().unwrap().1.clone();
            let args = crate::cli::ServerArgs::from_arg_matches(&sub)?;
            let env = Environment {
                uid: Uid::current(),
                cwd: self.dir.path().to_path_buf(),
                tmpdir: "/tmp".into(),
                modules_directory: self.dir.path().join("modules"),
                module: LocatedModule {
                    path: self.dir.path().join("libmod_wsgi.so"),
                    source: "test",
                },
                python_home: PythonHome {
                    path: "/usr".into(),
                    source: "test",
                    base: None,
                },
                httpd_executable: "/usr/sbin/apache2".into(),
                rotatelogs: "/usr/bin/rotatelogs".into(),
                mime_types: "/etc/mime.types".into(),
                default_locale: "C.UTF-8".into(),
            };
            crate::resolve::resolve(&args, &sub, &env)
        }

        pub fn options(&self, extra: &[&str]) -> Options {
            self.try_options(extra).unwrap()
        }
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
