//! Resolved server options: turns the parsed `ServerArgs` plus facts about the machine
//! (`Environment`: uid, cwd, TMPDIR, Apache paths, the module, the run user) into one
//! `Options` value with absolute paths, defaults filled in exactly as mod_wsgi 6.0.5
//! express does, and derived values (URLs, log files, MPM sizing, RequestReadTimeout).
//! It writes nothing: `server_root.rs` writes, `httpd_conf.rs`/`apachectl.rs` render.
//! Called by `main.rs`; no Python.

use crate::cli::ServerArgs;
use crate::entry;
use crate::https::{self, Https};
use crate::module::{self, LocatedModule};
use crate::proxy;
use crate::sizing::{self, Sizing};
use crate::users;
use crate::validation::{self, RunIdentity};
use anyhow::{Context, Result, bail};
use clap::ArgMatches;
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
    /// `request-timeout=` (0 = off): a request running that long restarts the process.
    pub request_timeout: u32,
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
    pub python_home: String,
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
            python_home: module::python_home()?,
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
    pub python_home: String,
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
    pub switch_interval: Option<f64>,
    /// `--reload-on-changes`: the wrapper's monitor thread plus apachectl's watcher.
    pub reload_on_changes: bool,
    pub sizing: Sizing,
    pub setup_only: bool,
}

fn absolute(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// `path` made absolute against `cwd`, as a string.
fn abs_string(cwd: &Path, path: &str) -> String {
    cwd.join(path)
        .components()
        .collect::<PathBuf>()
        .to_string_lossy()
        .into_owned()
}

/// Pairs up a two-value option's flat list (clap guarantees an even length).
fn pairs(values: &[String]) -> Vec<(String, String)> {
    values
        .chunks_exact(2)
        .map(|v| (v[0].clone(), v[1].clone()))
        .collect()
}

/// Resolves the options. `matches` are the subcommand's matches (to reject unimplemented
/// options given explicitly); `env` the machine facts.
pub fn resolve(args: &ServerArgs, matches: &ArgMatches, env: &Environment) -> Result<Options> {
    validation::reject_unimplemented(matches)?;
    let cwd = &env.cwd;
    // Absolute and tidy (no `.` components or trailing slash), relative to the cwd.
    let abs = |p: &str| -> PathBuf { cwd.join(p).components().collect() };

    let listener_host = args.host.clone().filter(|h| !h.is_empty());
    let host = listener_host.clone().unwrap_or_else(|| "localhost".into());
    let server_root = match &args.server_root {
        Some(root) => abs(root),
        None => PathBuf::from(format!(
            "{}/mod_wsgi-{host}:{}:{}",
            env.tmpdir, args.port, env.uid
        )),
    };

    let entry = args.entry_point.clone().or_else(|| args.entry.clone());
    let mut document_root = args.document_root.as_deref().map(abs);
    let app = match (args.application_type.as_str(), entry) {
        ("static", entry) => {
            if document_root.is_none() {
                document_root = Some(entry.map(|e| abs(&e)).unwrap_or_else(|| cwd.clone()));
            }
            App::Static
        }
        ("module", Some(entry)) => {
            entry::check_module_name(&entry)?;
            App::Module {
                name: entry,
                wrapper: server_root.join(entry::WRAPPER),
            }
        }
        ("paste", Some(entry)) => {
            let config = abs(&entry);
            if !config.is_file() {
                bail!(
                    "Paste Deploy configuration {} does not exist or is not a file",
                    config.display()
                );
            }
            App::Paste {
                config,
                wrapper: server_root.join(entry::WRAPPER),
            }
        }
        (_, Some(entry)) => {
            let path = abs(&entry);
            if !path.is_file() {
                bail!(
                    "WSGI script {} does not exist or is not a file",
                    path.display()
                );
            }
            App::Script(path)
        }
        (_, None) => App::Default(server_root.join("default.wsgi")),
    };
    let document_root = document_root.unwrap_or_else(|| server_root.join("htdocs"));

    let mut mount_point = args.mount_point.clone();
    if !mount_point.starts_with('/') {
        mount_point.insert(0, '/');
    }
    while mount_point.len() > 1 && mount_point.ends_with('/') {
        mount_point.pop();
    }

    let working_directory = args
        .working_directory
        .as_deref()
        .map(abs)
        .unwrap_or(cwd.clone());
    // Embedded mode puts the working directory first on sys.path, as express does.
    let mut python_paths = args.python_paths.clone();
    let wd = working_directory.to_string_lossy().into_owned();
    if !python_paths.contains(&wd) {
        python_paths.insert(0, wd);
    }

    // Logging (express: --log-directory overrides --log-to-terminal, which overrides
    // --rotate-logs).
    let to_terminal = args.log_to_terminal && args.log_directory.is_none();
    let log_directory = args
        .log_directory
        .as_deref()
        .map(abs)
        .unwrap_or(server_root.clone());
    let (nickname, custom) = match args.access_log_format.as_deref() {
        None => ("common".to_string(), None),
        Some(f @ ("common" | "combined")) => (f.to_string(), None),
        Some(f) => ("custom".to_string(), Some(f.replace('"', "\\\""))),
    };
    let log = Logging {
        level: args.log_level.clone(),
        error_log_file: if to_terminal {
            "/dev/stderr".into()
        } else {
            log_directory
                .join(&args.error_log_name)
                .to_string_lossy()
                .into_owned()
        },
        error_log_format: args
            .error_log_format
            .as_ref()
            .map(|f| f.replace('"', "\\\"")),
        access_log: args.access_log,
        access_log_file: if to_terminal {
            "/dev/stdout".into()
        } else {
            log_directory
                .join(&args.access_log_name)
                .to_string_lossy()
                .into_owned()
        },
        access_log_nickname: nickname,
        access_log_format: custom,
        startup_log_file: args.startup_log.then(|| {
            if to_terminal {
                "/dev/stderr".into()
            } else {
                log_directory
                    .join(&args.startup_log_name)
                    .to_string_lossy()
                    .into_owned()
            }
        }),
        rotate_logs: args.rotate_logs && !to_terminal,
        max_log_size: args.max_log_size,
        rotatelogs: args
            .rotatelogs_executable
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or(env.rotatelogs.clone()),
        directory: log_directory,
    };

    let mut request_read_timeout = String::new();
    if args.header_timeout > 0 {
        request_read_timeout += &format!("header={}", args.header_timeout);
        if args.header_max_timeout > 0 {
            request_read_timeout += &format!("-{}", args.header_max_timeout);
        }
        if args.header_min_rate > 0 {
            request_read_timeout += &format!(",MinRate={}", args.header_min_rate);
        }
    }
    if args.body_timeout > 0 {
        request_read_timeout += &format!(" body={}", args.body_timeout);
        if args.body_max_timeout > 0 {
            request_read_timeout += &format!("-{}", args.body_max_timeout);
        }
        if args.body_min_rate > 0 {
            request_read_timeout += &format!(",MinRate={}", args.body_min_rate);
        }
    }

    let map_head_to_get = match args.map_head_to_get.to_ascii_lowercase().as_str() {
        "on" => "On",
        "off" => "Off",
        "auto" => "Auto",
        other => bail!("--map-head-to-get must be On, Off or Auto (got '{other}')"),
    }
    .to_string();
    if args.switch_interval.is_some_and(|i| i <= 0.0) {
        bail!("--switch-interval must be a positive number of seconds");
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if args.processes == Some(0) {
        bail!("--processes must be at least 1");
    }

    let (user, group, run_as) = users::run_identity(args, env.uid)?;
    let mpm = sizing::choose_mpm(&env.modules_directory, &args.server_mpm)?;
    let mode = if args.embedded_mode {
        Mode::Embedded
    } else {
        Mode::Daemon
    };
    validation::check_mode(matches, mode == Mode::Embedded)?;
    let sizing = match mode {
        Mode::Embedded => sizing::embedded(mpm, args.processes, args.threads, args.max_clients),
        Mode::Daemon => sizing::daemon(mpm, args.processes, args.threads, args.max_clients),
    };

    let url_host = args.server_name.clone().unwrap_or(host.clone());
    let proxy_mount_points = pairs(&args.proxy_mount_points);
    let proxy_virtual_hosts = pairs(&args.proxy_virtual_hosts);
    proxy::check(&proxy_mount_points, &proxy_virtual_hosts)?;
    let https = https::resolve(args, &|p: &str| abs(p), &url_host)?;
    if args.reload_on_changes && app == App::Static {
        bail!("--reload-on-changes needs a WSGI application (not --application-type static)");
    }
    let url = if args.port == 80 {
        format!("http://{url_host}/")
    } else {
        format!("http://{url_host}:{}/", args.port)
    };
    let httpd_name = env
        .httpd_executable
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "httpd".into());
    // Express: `(wsgi:GROUP)` with --process-group, else `(wsgi:HOST:PORT:UID)`.
    let daemon_name = match args.process_group.as_deref().filter(|g| !g.is_empty()) {
        Some(group) => format!("(wsgi:{group})"),
        None => format!("(wsgi:{host}:{}:{})", args.port, env.uid),
    };
    if args.header_buffer_size != 0 && args.header_buffer_size < 8192 {
        bail!("--header-buffer-size must be 0 (the default) or at least 8192");
    }
    if args.socket_timeout == 0 || args.connect_timeout == 0 {
        bail!("--socket-timeout and --connect-timeout must be at least 1 second");
    }
    if args.daemon_backlog == 0 {
        bail!("--daemon-backlog must be at least 1");
    }
    let daemon = (mode == Mode::Daemon).then(|| Daemon {
        name: args
            .process_group
            .clone()
            .filter(|g| !g.is_empty())
            .unwrap_or_else(|| format!("{host}:{}", args.port)),
        display_name: daemon_name.clone(),
        processes: args.processes,
        threads: args.threads,
        maximum_requests: args.maximum_requests,
        python_paths: args
            .python_paths
            .iter()
            .map(|p| abs_string(cwd, p))
            .collect(),
        listen_backlog: args.daemon_backlog,
        socket_timeout: args.socket_timeout,
        connect_timeout: args.connect_timeout,
        shutdown_timeout: args.shutdown_timeout,
        request_timeout: args.request_timeout,
        inactivity_timeout: args.inactivity_timeout,
        deadlock_timeout: args.deadlock_timeout,
        header_buffer_size: args.header_buffer_size,
        response_socket_timeout: args.response_socket_timeout,
        socket_prefix: args
            .socket_prefix
            .as_deref()
            .map(abs)
            .unwrap_or(server_root.clone())
            .join("wsgi"),
        disable_reloading: args.disable_reloading,
    });
    if let Some(d) = &daemon
        && (d.name.contains('%') || d.name.contains('/'))
    {
        bail!(
            "--process-group must be a plain name without '%' or '/' (got '{}')",
            d.name
        );
    }
    let process_name = args
        .process_name
        .clone()
        .unwrap_or_else(|| format!("{httpd_name} (mod_wsgi-express)"));
    let process_name = format!("{process_name:<width$}", width = daemon_name.len());

    Ok(Options {
        command_line: std::env::args().collect(),
        mode,
        daemon,
        host,
        listener_host,
        port: args.port,
        server_name: args.server_name.clone(),
        server_aliases: args.server_aliases.clone(),
        allow_localhost: args.allow_localhost,
        url,
        https,
        app,
        mount_point,
        callable_object: args.callable_object.clone(),
        application_group: match &args.application_group {
            Some(g) if !g.is_empty() => format!("'{g}'"),
            _ => "%{GLOBAL}".into(),
        },
        working_directory,
        python_paths,
        python_eggs: args
            .python_eggs
            .as_deref()
            .map(abs)
            .unwrap_or(server_root.join("python-eggs")),
        python_eggs_given: args.python_eggs.is_some(),
        python_warnings: args.python_warnings.clone(),
        python_home: env.python_home.clone(),
        module_source: env.module.clone(),
        module_path: server_root.join("mod_wsgi.so"),
        modules_directory: env.modules_directory.clone(),
        httpd_executable: env.httpd_executable.clone(),
        shell_executable: args
            .shell_executable
            .as_deref()
            .map(module::resolve_program)
            .unwrap_or_else(|| module::resolve_program("bash")),
        process_name,
        mime_types: args
            .mime_types
            .as_deref()
            .map(abs)
            .unwrap_or(env.mime_types.clone()),
        pid_file: args
            .pid_file
            .as_deref()
            .map(abs)
            .unwrap_or(server_root.join("httpd.pid")),
        httpd_conf: server_root.join("httpd.conf"),
        document_root,
        directory_index: args.directory_index.clone(),
        directory_listing: args.directory_listing,
        allow_override: if args.allow_override.is_empty() {
            "None".into()
        } else {
            args.allow_override.join(" ")
        },
        url_aliases: pairs(&args.url_aliases)
            .into_iter()
            .map(|(url, target)| {
                // Absolute, keeping a trailing slash (it matters to Alias matching).
                let mut path = abs(&target).to_string_lossy().into_owned();
                if target.ends_with('/') && !path.ends_with('/') {
                    path.push('/');
                }
                (url, path)
            })
            .collect(),
        proxy_mount_points,
        proxy_virtual_hosts,
        proxy_timeout: args.proxy_timeout.unwrap_or(args.socket_timeout),
        error_documents: pairs(&args.error_documents),
        setenv: pairs(&args.setenv_variables),
        passenv: args.passenv_variables.clone(),
        include_files: args.include_files.iter().map(|f| abs(f)).collect(),
        envvars_script: args.envvars_script.as_deref().map(abs),
        user,
        group,
        run_as,
        locale: args
            .locale
            .clone()
            .or(args.lang.clone())
            .unwrap_or(env.default_locale.clone()),
        log,
        socket_timeout: args.socket_timeout,
        keep_alive_timeout: args.keep_alive_timeout,
        request_read_timeout,
        limit_request_body: args.limit_request_body,
        server_backlog: args.server_backlog,
        http2: args.http2,
        compress_responses: args.compress_responses,
        server_status: args.server_status,
        server_metrics: args.server_metrics,
        enable_sendfile: args.enable_sendfile,
        chunked_request: args.chunked_request,
        with_cgi: args.with_cgi,
        cgid: env.modules_directory.join("mod_cgid.so").exists(),
        orphan_interpreter: args.orphan_interpreter,
        map_head_to_get,
        error_override: args.error_override,
        trusted_proxy_headers: args.trusted_proxy_headers.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        switch_interval: args.switch_interval,
        reload_on_changes: args.reload_on_changes,
        sizing,
        setup_only: args.setup_only,
        server_root,
    })
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
/// WSGI script and every directory above it, and in daemon mode the working directory
/// (the daemon's `home=`: a daemon that cannot change to it dies at start, again and
/// again); warns (on stderr) for static file paths.
pub fn check_access(opts: &Options) -> Result<()> {
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
                python_home: "/usr".into(),
                httpd_executable: "/usr/sbin/apache2".into(),
                rotatelogs: "/usr/bin/rotatelogs".into(),
                mime_types: "/etc/mime.types".into(),
                default_locale: "C.UTF-8".into(),
            };
            resolve(&args, &sub, &env)
        }

        pub fn options(&self, extra: &[&str]) -> Options {
            self.try_options(extra).unwrap()
        }
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
