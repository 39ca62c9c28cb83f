//! Resolving the command line: `resolve` checks the values that clap cannot, derives
//! what needs the machine or other options (server root, the application and its
//! document root, the mount point, paths made absolute, log files, RequestReadTimeout,
//! the run user, the MPM sizing, HTTPS, the daemon group), then `assemble` puts the
//! derived values and the options copied as given into one [`Options`]. Defaults are
//! express's. Called by `main.rs`; writes nothing; no Python.

use crate::cli::ServerArgs;
use crate::entry;
use crate::https;
use crate::module;
use crate::options::{App, Daemon, Environment, Logging, Mode, Options};
use crate::proxy;
use crate::sizing::{self, Sizing};
use crate::users;
use crate::validation::{self, RunIdentity};
use anyhow::{Result, bail};
use clap::ArgMatches;
use std::path::{Path, PathBuf};

/// Paths given on the command line, made absolute and tidy (no `.` components or
/// trailing slash) against the working directory express was started in.
struct Paths<'a>(&'a Path);

impl Paths<'_> {
    fn abs(&self, p: &str) -> PathBuf {
        self.0.join(p).components().collect()
    }

    fn abs_string(&self, p: &str) -> String {
        self.abs(p).to_string_lossy().into_owned()
    }
}

/// Pairs up a two-value option's flat list (clap guarantees an even length).
fn pairs(values: &[String]) -> Vec<(String, String)> {
    values
        .chunks_exact(2)
        .map(|v| (v[0].clone(), v[1].clone()))
        .collect()
}

/// What `resolve` computed, before `assemble` adds the options taken as given.
struct Derived {
    devtools: crate::devtools::DevTools,
    services: Vec<crate::service::Service>,
    handler_scripts: Vec<(String, PathBuf)>,
    docs: Option<PathBuf>,
    mode: Mode,
    daemon: Option<Daemon>,
    server_root: PathBuf,
    host: String,
    listener_host: Option<String>,
    url: String,
    https: Option<https::Https>,
    app: App,
    document_root: PathBuf,
    mount_point: String,
    working_directory: PathBuf,
    python_paths: Vec<String>,
    log: Logging,
    request_read_timeout: String,
    map_head_to_get: String,
    user: String,
    group: String,
    run_as: RunIdentity,
    sizing: Sizing,
    process_name: String,
    proxy_mount_points: Vec<(String, String)>,
    proxy_virtual_hosts: Vec<(String, String)>,
    auth: crate::auth::Auth,
    monitoring: crate::monitoring::Monitoring,
    telemetry: crate::telemetry::Telemetry,
}

/// Resolves the options. `matches` are the subcommand's matches (to reject unimplemented
/// options given explicitly); `env` the machine facts.
pub fn resolve(args: &ServerArgs, matches: &ArgMatches, env: &Environment) -> Result<Options> {
    validation::reject_unimplemented(matches)?;
    check_values(args)?;
    let paths = Paths(&env.cwd);
    let listener_host = args.host.clone().filter(|h| !h.is_empty());
    let host = listener_host.clone().unwrap_or_else(|| "localhost".into());
    let server_root = match &args.server_root {
        Some(root) => paths.abs(root),
        None => PathBuf::from(format!(
            "{}/mod_wsgi-{host}:{}:{}",
            env.tmpdir, args.port, env.uid
        )),
    };
    let (app, document_root) = application(args, &paths, &server_root)?;
    let working_directory = args
        .working_directory
        .as_deref()
        .map(|p| paths.abs(p))
        .unwrap_or(env.cwd.clone());
    let (user, group, run_as) = users::run_identity(args, env.uid)?;
    let mpm = sizing::choose_mpm(&env.modules_directory, &args.server_mpm)?;
    let devtools = crate::devtools::resolve(args, &server_root, &|p: &str| paths.abs(p))?;
    let (mode, sizing) = mode_and_sizing(args, matches, mpm, &devtools)?;
    let url_host = args.server_name.clone().unwrap_or(host.clone());
    let proxy_mount_points = pairs(&args.proxy_mount_points);
    let proxy_virtual_hosts = pairs(&args.proxy_virtual_hosts);
    proxy::check(&proxy_mount_points, &proxy_virtual_hosts)?;
    let https = https::resolve(args, &|p: &str| paths.abs(p), &url_host)?;
    if args.reload_on_changes && app == App::Static {
        bail!("--reload-on-changes needs a WSGI application (not --application-type static)");
    }
    if devtools.wraps() && app == App::Static {
        bail!(
            "the debugger, profiler, coverage and recorder need a WSGI application (not --application-type static)"
        );
    }
    let url = if args.port == 80 {
        format!("http://{url_host}/")
    } else {
        format!("http://{url_host}:{}/", args.port)
    };
    let display_name = daemon_display_name(args, env, &host);
    let daemon = match mode {
        Mode::Daemon => Some(daemon(args, &paths, &host, &server_root, &display_name)?),
        Mode::Embedded => None,
    };
    let auth = crate::auth::resolve(args, matches, &|p: &str| paths.abs(p))?;
    let monitoring = crate::monitoring::resolve(args)?;
    let telemetry = crate::telemetry::resolve(
        args,
        matches,
        &server_root,
        mode == Mode::Embedded,
        &env.python_home,
    )?;
    let services = crate::service::resolve(args, &|p: &str| paths.abs(p))?;
    let handler_scripts = crate::resource::resolve(args, &|p: &str| paths.abs(p))?;
    let derived = Derived {
        devtools,
        services,
        handler_scripts,
        docs: crate::docs::resolve(args.enable_docs)?,
        mode,
        daemon,
        host,
        listener_host,
        url,
        https,
        app,
        document_root,
        mount_point: mount_point(args),
        python_paths: python_paths(args, &working_directory),
        working_directory,
        log: logging(args, env, &paths, &server_root),
        request_read_timeout: request_read_timeout(args),
        map_head_to_get: map_head_to_get(args)?,
        user,
        group,
        run_as,
        sizing,
        process_name: process_name(args, env, &display_name),
        proxy_mount_points,
        proxy_virtual_hosts,
        server_root,
        auth,
        monitoring,
        telemetry,
    };
    Ok(assemble(args, env, &paths, derived))
}

/// Whether the module's Python is a free-threaded build (`Py_GIL_DISABLED`).
pub const FREE_THREADED_BUILD: bool =
    matches!(env!("MOD_WSGI_PYTHON_GIL_DISABLED").as_bytes(), b"1");

/// The hosting mode and the MPM sizing: debug mode (`devtools.rs`) runs the application
/// in the one Apache process, as the original; the spare-worker options refine daemon
/// mode's sizing (`spare.rs`).
fn mode_and_sizing(
    args: &ServerArgs,
    matches: &ArgMatches,
    mpm: sizing::Mpm,
    devtools: &crate::devtools::DevTools,
) -> Result<(Mode, Sizing)> {
    // Debug mode runs the application in the one Apache process, as the original.
    let mode = if args.embedded_mode || devtools.debug_mode {
        Mode::Embedded
    } else {
        Mode::Daemon
    };
    validation::check_mode(matches, args.embedded_mode, devtools.debug_mode)?;
    crate::devtools::check_sizing(matches, devtools.debug_mode)?;
    let mut sizing = match mode {
        // Debug mode: one process with one thread, requests one at a time (as the original).
        _ if devtools.debug_mode => sizing::embedded(mpm, Some(1), 1, Some(1)),
        Mode::Embedded => sizing::embedded(mpm, args.processes, args.threads, args.max_clients),
        Mode::Daemon => sizing::daemon(mpm, args.processes, args.threads, args.max_clients),
    };
    let fixed = match mode {
        _ if devtools.debug_mode => Some("--debug-mode (or a debugging tool)"),
        Mode::Embedded => Some("--embedded-mode"),
        Mode::Daemon => None,
    };
    crate::spare::apply(args, &mut sizing, fixed)?;
    Ok((mode, sizing))
}

/// The values clap accepts but express refuses.
fn check_values(args: &ServerArgs) -> Result<()> {
    if args.free_threading && !FREE_THREADED_BUILD {
        // pip's mod_wsgi-express 6.1.1's words (its check of the Python it runs on;
        // ours is of the Python the module was built for).
        bail!(
            "--free-threading requires a Python build with free-threading support (PEP 703). \
             Rebuild Python with --disable-gil to use it."
        );
    }
    if args.switch_interval.is_some_and(|i| i <= 0.0) {
        bail!("--switch-interval must be a positive number of seconds");
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if args.processes == Some(0) {
        bail!("--processes must be at least 1");
    }
    if args.header_buffer_size != 0 && args.header_buffer_size < 8192 {
        bail!("--header-buffer-size must be 0 (the default) or at least 8192");
    }
    if args.response_buffer_size != 0 && args.response_buffer_size < 65536 {
        bail!("--response-buffer-size must be 0 (the default, 8 MB) or at least 65536");
    }
    for (name, size) in [
        ("--send-buffer-size", args.send_buffer_size),
        ("--receive-buffer-size", args.receive_buffer_size),
    ] {
        if size != 0 && size < 512 {
            bail!("{name} must be 0 (the system default) or at least 512");
        }
    }
    if args.socket_timeout == 0 || args.connect_timeout == 0 {
        bail!("--socket-timeout and --connect-timeout must be at least 1 second");
    }
    if args.daemon_backlog == 0 {
        bail!("--daemon-backlog must be at least 1");
    }
    Ok(())
}

/// The application from `--application-type` and the entry point, and the document
/// root (a static site's is its entry point or the working directory).
fn application(args: &ServerArgs, paths: &Paths<'_>, server_root: &Path) -> Result<(App, PathBuf)> {
    let entry = args.entry_point.clone().or_else(|| args.entry.clone());
    let mut document_root = args.document_root.as_deref().map(|p| paths.abs(p));
    let app = match (args.application_type.as_str(), entry) {
        ("static", entry) => {
            if document_root.is_none() {
                document_root = Some(
                    entry
                        .map(|e| paths.abs(&e))
                        .unwrap_or(paths.0.to_path_buf()),
                );
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
            let config = paths.abs(&entry);
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
            let path = paths.abs(&entry);
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
    Ok((
        app,
        document_root.unwrap_or_else(|| server_root.join("htdocs")),
    ))
}

/// `/`-prefixed, without a trailing slash (except `/` itself).
fn mount_point(args: &ServerArgs) -> String {
    let mut mount_point = args.mount_point.clone();
    if !mount_point.starts_with('/') {
        mount_point.insert(0, '/');
    }
    while mount_point.len() > 1 && mount_point.ends_with('/') {
        mount_point.pop();
    }
    mount_point
}

/// Embedded mode puts the working directory first on sys.path, as express does.
fn python_paths(args: &ServerArgs, working_directory: &Path) -> Vec<String> {
    let mut python_paths = args.python_paths.clone();
    let wd = working_directory.to_string_lossy().into_owned();
    if !python_paths.contains(&wd) {
        python_paths.insert(0, wd);
    }
    python_paths
}

/// Log files (express: --log-directory overrides --log-to-terminal, which overrides
/// --rotate-logs).
fn logging(args: &ServerArgs, env: &Environment, paths: &Paths<'_>, server_root: &Path) -> Logging {
    let to_terminal = args.log_to_terminal && args.log_directory.is_none();
    let directory = args
        .log_directory
        .as_deref()
        .map(|p| paths.abs(p))
        .unwrap_or(server_root.to_path_buf());
    let file = |terminal: &str, name: &str| {
        if to_terminal {
            terminal.to_string()
        } else {
            directory.join(name).to_string_lossy().into_owned()
        }
    };
    let (nickname, custom) = match args.access_log_format.as_deref() {
        None => ("common".to_string(), None),
        Some(f @ ("common" | "combined")) => (f.to_string(), None),
        Some(f) => ("custom".to_string(), Some(f.replace('"', "\\\""))),
    };
    Logging {
        level: args.log_level.clone(),
        error_log_file: file("/dev/stderr", &args.error_log_name),
        error_log_format: args
            .error_log_format
            .as_ref()
            .map(|f| f.replace('"', "\\\"")),
        access_log: args.access_log,
        access_log_file: file("/dev/stdout", &args.access_log_name),
        access_log_nickname: nickname,
        access_log_format: custom,
        startup_log_file: args
            .startup_log
            .then(|| file("/dev/stderr", &args.startup_log_name)),
        rotate_logs: args.rotate_logs && !to_terminal,
        max_log_size: args.max_log_size,
        rotatelogs: args
            .rotatelogs_executable
            .as_deref()
            .map(PathBuf::from)
            .unwrap_or(env.rotatelogs.clone()),
        directory,
    }
}

/// `RequestReadTimeout` from the header and body timeout options.
fn request_read_timeout(args: &ServerArgs) -> String {
    let mut out = String::new();
    if args.header_timeout > 0 {
        out += &format!("header={}", args.header_timeout);
        if args.header_max_timeout > 0 {
            out += &format!("-{}", args.header_max_timeout);
        }
        if args.header_min_rate > 0 {
            out += &format!(",MinRate={}", args.header_min_rate);
        }
    }
    if args.body_timeout > 0 {
        out += &format!(" body={}", args.body_timeout);
        if args.body_max_timeout > 0 {
            out += &format!("-{}", args.body_max_timeout);
        }
        if args.body_min_rate > 0 {
            out += &format!(",MinRate={}", args.body_min_rate);
        }
    }
    out
}

fn map_head_to_get(args: &ServerArgs) -> Result<String> {
    Ok(match args.map_head_to_get.to_ascii_lowercase().as_str() {
        "on" => "On",
        "off" => "Off",
        "auto" => "Auto",
        other => bail!("--map-head-to-get must be On, Off or Auto (got '{other}')"),
    }
    .to_string())
}

/// Express: `(wsgi:GROUP)` with --process-group, else `(wsgi:HOST:PORT:UID)`.
fn daemon_display_name(args: &ServerArgs, env: &Environment, host: &str) -> String {
    match args.process_group.as_deref().filter(|g| !g.is_empty()) {
        Some(group) => format!("(wsgi:{group})"),
        None => format!("(wsgi:{host}:{}:{})", args.port, env.uid),
    }
}

/// The Apache processes' name, padded to the daemons' display name (as express).
fn process_name(args: &ServerArgs, env: &Environment, display_name: &str) -> String {
    let httpd_name = env
        .httpd_executable
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "httpd".into());
    let name = args
        .process_name
        .clone()
        .unwrap_or_else(|| format!("{httpd_name} (mod_wsgi-express)"));
    format!("{name:<width$}", width = display_name.len())
}

/// The daemon process group of daemon mode.
fn daemon(
    args: &ServerArgs,
    paths: &Paths<'_>,
    host: &str,
    server_root: &Path,
    display_name: &str,
) -> Result<Daemon> {
    let name = args
        .process_group
        .clone()
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| format!("{host}:{}", args.port));
    if name.contains('%') || name.contains('/') {
        bail!("--process-group must be a plain name without '%' or '/' (got '{name}')");
    }
    Ok(Daemon {
        name,
        display_name: display_name.to_string(),
        processes: args.processes,
        threads: args.threads,
        maximum_requests: args.maximum_requests,
        python_paths: args
            .python_paths
            .iter()
            .map(|p| paths.abs_string(p))
            .collect(),
        listen_backlog: args.daemon_backlog,
        socket_timeout: args.socket_timeout,
        connect_timeout: args.connect_timeout,
        shutdown_timeout: args.shutdown_timeout,
        request_timeout: args.request_timeout,
        interrupt_timeout: args.interrupt_timeout,
        startup_timeout: args.startup_timeout,
        inactivity_timeout: args.inactivity_timeout,
        deadlock_timeout: args.deadlock_timeout,
        header_buffer_size: args.header_buffer_size,
        response_socket_timeout: args.response_socket_timeout,
        response_buffer_size: args.response_buffer_size,
        response_flush_delay: args.response_flush_delay,
        cpu_time_limit: args.cpu_time_limit,
        queue_timeout: args.queue_timeout,
        restart_interval: args.restart_interval,
        graceful_timeout: args.graceful_timeout,
        eviction_timeout: args.eviction_timeout,
        maximum_memory: args.maximum_memory.clone(),
        send_buffer_size: args.send_buffer_size,
        receive_buffer_size: args.receive_buffer_size,
        socket_prefix: args
            .socket_prefix
            .as_deref()
            .map(|p| paths.abs(p))
            .unwrap_or(server_root.to_path_buf())
            .join("wsgi"),
        disable_reloading: args.disable_reloading,
    })
}

/// `--url-alias` pairs with absolute targets, keeping a trailing slash (it matters to
/// Alias matching).
fn url_aliases(args: &ServerArgs, paths: &Paths<'_>) -> Vec<(String, String)> {
    pairs(&args.url_aliases)
        .into_iter()
        .map(|(url, target)| {
            let mut path = paths.abs_string(&target);
            if target.ends_with('/') && !path.ends_with('/') {
                path.push('/');
            }
            (url, path)
        })
        .collect()
}

/// `%{GLOBAL}` or the quoted group name, ready for the config.
fn application_group(args: &ServerArgs) -> String {
    match &args.application_group {
        Some(g) if !g.is_empty() => format!("'{g}'"),
        _ => "%{GLOBAL}".into(),
    }
}

/// `path` made absolute, or `default`.
fn abs_or(paths: &Paths<'_>, path: Option<&str>, default: PathBuf) -> PathBuf {
    path.map(|p| paths.abs(p)).unwrap_or(default)
}

/// The derived values and the options taken as given, as one [`Options`].
fn assemble(args: &ServerArgs, env: &Environment, paths: &Paths<'_>, d: Derived) -> Options {
    let root = &d.server_root;
    Options {
        command_line: std::env::args().collect(),
        port: args.port,
        server_name: args.server_name.clone(),
        server_aliases: args.server_aliases.clone(),
        allow_localhost: args.allow_localhost,
        callable_object: args.callable_object.clone(),
        application_group: application_group(args),
        python_eggs: abs_or(paths, args.python_eggs.as_deref(), root.join("python-eggs")),
        python_eggs_given: args.python_eggs.is_some(),
        python_warnings: args.python_warnings.clone(),
        python_home: env.python_home.clone(),
        module_source: env.module.clone(),
        module_path: root.join("mod_wsgi.so"),
        modules_directory: env.modules_directory.clone(),
        httpd_executable: env.httpd_executable.clone(),
        shell_executable: module::resolve_program(
            args.shell_executable.as_deref().unwrap_or("bash"),
        ),
        mime_types: abs_or(paths, args.mime_types.as_deref(), env.mime_types.clone()),
        pid_file: abs_or(paths, args.pid_file.as_deref(), root.join("httpd.pid")),
        httpd_conf: root.join("httpd.conf"),
        rewrite_rules: crate::rewrite::path(
            args.rewrite_rules.as_deref().map(|p| paths.abs(p)),
            root,
        ),
        directory_index: args.directory_index.clone(),
        directory_listing: args.directory_listing,
        allow_override: match args.allow_override.is_empty() {
            true => "None".into(),
            false => args.allow_override.join(" "),
        },
        url_aliases: url_aliases(args, paths),
        proxy_timeout: args.proxy_timeout.unwrap_or(args.socket_timeout),
        error_documents: pairs(&args.error_documents),
        setenv: pairs(&args.setenv_variables),
        passenv: args.passenv_variables.clone(),
        include_files: args.include_files.iter().map(|f| paths.abs(f)).collect(),
        envvars_script: args.envvars_script.as_deref().map(|p| paths.abs(p)),
        locale: (args.locale.clone().or(args.lang.clone())).unwrap_or(env.default_locale.clone()),
        socket_timeout: args.socket_timeout,
        keep_alive_timeout: args.keep_alive_timeout,
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
        error_override: args.error_override,
        trusted_proxy_headers: args.trusted_proxy_headers.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        ignore_activity: args.ignore_activity.clone(),
        switch_interval: args.switch_interval,
        free_threading: args.free_threading,
        reload_on_changes: args.reload_on_changes,
        setup_only: args.setup_only,
        mode: d.mode,
        daemon: d.daemon,
        host: d.host,
        listener_host: d.listener_host,
        url: d.url,
        https: d.https,
        app: d.app,
        document_root: d.document_root,
        mount_point: d.mount_point,
        working_directory: d.working_directory,
        python_paths: d.python_paths,
        log: d.log,
        request_read_timeout: d.request_read_timeout,
        map_head_to_get: d.map_head_to_get,
        user: d.user,
        group: d.group,
        run_as: d.run_as,
        sizing: d.sizing,
        process_name: d.process_name,
        proxy_mount_points: d.proxy_mount_points,
        proxy_virtual_hosts: d.proxy_virtual_hosts,
        server_root: d.server_root,
        auth: d.auth,
        monitoring: d.monitoring,
        telemetry: d.telemetry,
        devtools: d.devtools,
        services: d.services,
        handler_scripts: d.handler_scripts,
        docs: d.docs,
    }
}
