//! Command-line surface of `mod_wsgi-express`: the clap derive definitions for every
//! subcommand and for the full start-server/setup-server option set of mod_wsgi 6.0.5
//! express, with the same names, value counts and defaults, so existing scripts parse.
//! Parsing is all this file does: which options are implemented is decided in
//! `validation.rs`, and their meaning in `options.rs`. Used only by `main.rs`; no Python.

use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// Generate and run a self-contained Apache httpd server for a WSGI application.
#[derive(Debug, Parser)]
#[command(name = "mod_wsgi-express", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the server root for an application, then run Apache in the foreground.
    StartServer(Box<ServerArgs>),
    /// Generate the server root for an application and print a summary; do not run Apache.
    SetupServer(Box<ServerArgs>),
    /// Print the LoadModule and WSGIPythonHome lines for a hand-written Apache config.
    ModuleConfig,
    /// Print the path of the mod_wsgi module that express would use.
    ModuleLocation,
    /// Copy the mod_wsgi module into Apache's modules directory and print the config lines.
    InstallModule(ModuleArgs),
}

/// Options of `module-location` and `install-module`.
#[derive(Debug, Args)]
pub struct ModuleArgs {
    /// Apache modules directory (install-module: where to copy the module to)
    /// [default: `apxs -q LIBEXECDIR`].
    #[arg(long, value_name = "DIRECTORY")]
    pub modules_directory: Option<PathBuf>,
}

/// Every option of mod_wsgi-express start-server / setup-server (mod_wsgi 6.0.5 names).
/// Two-value options (`--url-alias URL PATH`) are flat lists of pairs.
/// Options whose behaviour is not implemented yet are parsed so that the error can name
/// them; `validation::reject_unimplemented` refuses them when given.
#[derive(Debug, Args)]
#[command(next_line_help = false, args_override_self = true)]
pub struct ServerArgs {
    /// WSGI script file (or module / directory, per --application-type).
    #[arg(value_name = "ENTRY-POINT")]
    pub entry: Option<String>,

    // ----- Application entry -------------------------------------------------------
    /// Entry point type: script, module, paste or static.
    #[arg(long, default_value = "script", value_name = "TYPE")]
    pub application_type: String,
    /// Entry point (same as the positional argument; wins over it).
    #[arg(long, value_name = "FILE-PATH|MODULE")]
    pub entry_point: Option<String>,
    /// Application group (interpreter) name [default: %{GLOBAL}].
    #[arg(long, value_name = "NAME")]
    pub application_group: Option<String>,
    /// Daemon process group name [default: HOST:PORT].
    #[arg(long, value_name = "NAME")]
    pub process_group: Option<String>,
    /// Name of the WSGI callable in the script.
    #[arg(long, default_value = "application", value_name = "NAME")]
    pub callable_object: String,
    /// URL path at which the application is mounted.
    #[arg(long, default_value = "/", value_name = "URL-PATH")]
    pub mount_point: String,
    /// Working directory of the application [default: current directory].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub working_directory: Option<String>,
    /// Extra directory for the Python module search path (repeatable).
    #[arg(long = "python-path", value_name = "DIRECTORY-PATH", action = ArgAction::Append)]
    pub python_paths: Vec<String>,
    /// Python home (WSGIPythonHome): a virtual environment or Python prefix of the
    /// module's Python version [default: the venv of this executable, else $VIRTUAL_ENV,
    /// else the Python the module was built for]. Not a mod_wsgi-express option.
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub python_home: Option<String>,
    /// Directory for unpacking Python eggs [default: SERVER-ROOT/python-eggs].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub python_eggs: Option<String>,
    /// Python warnings filter entry, -W syntax (repeatable).
    #[arg(long, value_name = "SPEC", action = ArgAction::Append)]
    pub python_warnings: Vec<String>,
    /// Handler script for resources with an extension in the document root (repeatable).
    #[arg(long = "add-handler", num_args = 2, value_names = ["EXTENSION", "SCRIPT-PATH"], action = ArgAction::Append)]
    pub handler_scripts: Vec<String>,
    /// Enable CGI scripts (.cgi) in the document root.
    #[arg(long)]
    pub with_cgi: bool,
    #[arg(long, hide = true)]
    pub with_php5: bool,

    // ----- Server / listener -------------------------------------------------------
    /// Interface (IP address or name) to listen on [default: all interfaces].
    #[arg(long, value_name = "IP-ADDRESS")]
    pub host: Option<String>,
    /// Port to listen on.
    #[arg(long, default_value_t = 8000, value_name = "NUMBER")]
    pub port: u16,
    /// Enable HTTP/2 (mod_http2).
    #[arg(long)]
    pub http2: bool,
    /// Primary host name; a name-based virtual host is created (www. adds a redirect).
    #[arg(long, value_name = "HOSTNAME")]
    pub server_name: Option<String>,
    /// Secondary host name (repeatable, wildcards allowed).
    #[arg(long = "server-alias", value_name = "HOSTNAME", action = ArgAction::Append)]
    pub server_aliases: Vec<String>,
    /// Still allow access via localhost when --server-name is used.
    #[arg(long)]
    pub allow_localhost: bool,
    /// Listen backlog of the Apache listener socket.
    #[arg(long, default_value_t = 500, value_name = "NUMBER")]
    pub server_backlog: u32,
    /// Keep-alive timeout in seconds (0 disables keep-alive).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub keep_alive_timeout: u32,
    /// Maximum request body size in bytes.
    #[arg(long, default_value_t = 10485760, value_name = "NUMBER")]
    pub limit_request_body: u64,
    /// Compress common text responses (mod_deflate).
    #[arg(long)]
    pub compress_responses: bool,
    /// Preferred MPM (event, worker, prefork; repeatable) [default order: event worker prefork].
    #[arg(long = "server-mpm", value_name = "NAME", action = ArgAction::Append)]
    pub server_mpm: Vec<String>,
    /// Name of the Apache parent process [default: "apache2 (mod_wsgi-express)"].
    #[arg(long, value_name = "NAME")]
    pub process_name: Option<String>,
    /// PID file of the Apache parent [default: SERVER-ROOT/httpd.pid].
    #[arg(long, value_name = "FILE-PATH")]
    pub pid_file: Option<String>,
    /// Server root [default: ${TMPDIR:-/tmp}/mod_wsgi-HOST:PORT:UID].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub server_root: Option<String>,
    /// Extra Apache config file included at the end (repeatable).
    #[arg(long = "include-file", value_name = "FILE-PATH", action = ArgAction::Append)]
    pub include_files: Vec<String>,
    /// Rewrite rules file [default: SERVER-ROOT/rewrite.conf].
    #[arg(long, value_name = "FILE-PATH")]
    pub rewrite_rules: Option<String>,
    /// Shell script sourced by apachectl for extra environment [default: SERVER-ROOT/envvars].
    #[arg(long, value_name = "FILE-PATH")]
    pub envvars_script: Option<String>,
    /// Apache executable [default: $HTTPD, else apxs SBINDIR/PROGNAME].
    #[arg(long, value_name = "FILE-PATH")]
    pub httpd_executable: Option<String>,
    /// Apache modules directory [default: `apxs -q LIBEXECDIR`]; a path to a .so file
    /// instead names the mod_wsgi module to use.
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub modules_directory: Option<String>,
    /// MIME types file [default: /etc/mime.types].
    #[arg(long, value_name = "FILE-PATH")]
    pub mime_types: Option<String>,
    /// Shell used by the generated apachectl [default: bash].
    #[arg(long, value_name = "FILE-PATH")]
    pub shell_executable: Option<String>,
    /// Generate the server root and exit without starting Apache.
    #[arg(long)]
    pub setup_only: bool,

    // ----- Processes / threads -----------------------------------------------------
    /// Number of processes, or `auto`: one per CPU available to mod_wsgi-express
    /// [default: 1].
    #[arg(long, value_name = "NUMBER|auto", value_parser = parse_processes)]
    pub processes: Option<u32>,
    /// Request threads per process.
    #[arg(long, default_value_t = 5, value_name = "NUMBER")]
    pub threads: u32,
    /// Maximum simultaneous client connections.
    #[arg(long, value_name = "NUMBER")]
    pub max_clients: Option<u32>,
    /// Initial workers, fraction 0..1 of max clients.
    #[arg(long, value_name = "NUMBER")]
    pub initial_workers: Option<f64>,
    /// Minimum spare workers, fraction 0..1 of max clients.
    #[arg(long, value_name = "NUMBER")]
    pub minimum_spare_workers: Option<f64>,
    /// Maximum spare workers, fraction 0..1 of max clients.
    #[arg(long, value_name = "NUMBER")]
    pub maximum_spare_workers: Option<f64>,
    /// Run the application in the Apache child processes (embedded mode).
    #[arg(long)]
    pub embedded_mode: bool,
    /// User the Apache children run as when started as root.
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Group the Apache children run as when started as root.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Requests after which a process restarts (0 = never).
    #[arg(long, default_value_t = 0, value_name = "NUMBER")]
    pub maximum_requests: u32,
    /// Seconds between forced process restarts (0 = off).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub restart_interval: u32,
    /// CPU seconds after which a process restarts (0 = off).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub cpu_time_limit: u32,
    /// Python GIL switch interval in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub switch_interval: Option<f64>,
    /// Run Python without the GIL (free-threaded builds only).
    #[arg(long)]
    pub free_threading: bool,

    // ----- Timeouts ----------------------------------------------------------------
    /// Seconds allowed for the application to load in a daemon process.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub startup_timeout: u32,
    /// Seconds allowed for a daemon process to shut down.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub shutdown_timeout: u32,
    /// Grace period for requests when a daemon process restarts.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub graceful_timeout: u32,
    /// Grace period on a forced graceful restart (0 = graceful-timeout).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub eviction_timeout: u32,
    /// Resident memory (bytes, or with a K, M or G suffix) past which a
    /// daemon process recycles gracefully (mod_wsgi-rs only).
    #[arg(long, value_name = "SIZE")]
    pub maximum_memory: Option<String>,
    /// Seconds of a held GIL before the daemon process is restarted.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub deadlock_timeout: u32,
    /// Idle seconds before a daemon process restarts (0 = off).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub inactivity_timeout: u32,
    /// URL whose requests do not count as activity (repeatable).
    #[arg(long = "ignore-activity", value_name = "URL-PATH", action = ArgAction::Append)]
    pub ignore_activity: Vec<String>,
    /// Per-thread request time limit in daemon mode.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub request_timeout: u32,
    /// Seconds allowed for an injected RequestTimeout to unwind (0 = off).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub interrupt_timeout: u32,
    /// Seconds allowed to connect to a daemon process.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub connect_timeout: u32,
    /// Socket read/write timeout (also Apache's Timeout).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub socket_timeout: u32,
    /// ProxyTimeout for proxied backends [default: --socket-timeout].
    #[arg(long, value_name = "SECONDS")]
    pub proxy_timeout: Option<u32>,
    /// Seconds a request may wait for a daemon process.
    #[arg(long, default_value_t = 45, value_name = "SECONDS")]
    pub queue_timeout: u32,
    /// Seconds allowed to receive the request headers.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub header_timeout: u32,
    /// Hard limit for receiving the request headers.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub header_max_timeout: u32,
    /// Header bytes per second that extend the header timeout.
    #[arg(long, default_value_t = 500, value_name = "BYTES")]
    pub header_min_rate: u32,
    /// Seconds allowed to receive the request body.
    #[arg(long, default_value_t = 15, value_name = "SECONDS")]
    pub body_timeout: u32,
    /// Hard limit for receiving the request body (0 = none).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub body_max_timeout: u32,
    /// Body bytes per second that extend the body timeout.
    #[arg(long, default_value_t = 500, value_name = "BYTES")]
    pub body_min_rate: u32,
    /// Timeout writing the response to the client (0 = socket timeout).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub response_socket_timeout: u32,
    /// Milliseconds to wait for more daemon output before flushing.
    #[arg(long, default_value_t = 5, value_name = "MILLISECONDS")]
    pub response_flush_delay: u32,

    // ----- Daemon socket / buffers -------------------------------------------------
    /// Listen backlog of the daemon process sockets.
    #[arg(long, default_value_t = 100, value_name = "NUMBER")]
    pub daemon_backlog: u32,
    /// Send buffer size for daemon sockets (0 = system default).
    #[arg(long, default_value_t = 0, value_name = "NUMBER")]
    pub send_buffer_size: u32,
    /// Receive buffer size for daemon sockets (0 = system default).
    #[arg(long, default_value_t = 0, value_name = "NUMBER")]
    pub receive_buffer_size: u32,
    /// Buffer for daemon response headers (0 = 32768).
    #[arg(long, default_value_t = 0, value_name = "NUMBER")]
    pub header_buffer_size: u32,
    /// Response bytes passed on without a flush (0 = 8 MB).
    #[arg(long, default_value_t = 0, value_name = "NUMBER")]
    pub response_buffer_size: u32,
    /// Directory prefix of the daemon sockets [default: SERVER-ROOT/wsgi].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub socket_prefix: Option<String>,

    // ----- Static files / URL mapping ----------------------------------------------
    /// Document root for static files [default: SERVER-ROOT/htdocs].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub document_root: Option<String>,
    /// Directory index file served for directory URLs.
    #[arg(long, value_name = "FILE-NAME")]
    pub directory_index: Option<String>,
    /// Enable directory listings (mod_autoindex).
    #[arg(long)]
    pub directory_listing: bool,
    /// AllowOverride classes for .htaccess files (repeatable) [default: None].
    #[arg(long, value_name = "DIRECTIVE-TYPE", action = ArgAction::Append)]
    pub allow_override: Vec<String>,
    /// Map a sub URL to a static file or directory (repeatable).
    #[arg(long = "url-alias", num_args = 2, value_names = ["URL-PATH", "FILE-PATH|DIRECTORY-PATH"], action = ArgAction::Append)]
    pub url_aliases: Vec<String>,
    /// Map an HTTP error status to a sub URL (repeatable).
    #[arg(long = "error-document", num_args = 2, value_names = ["STATUS", "URL-PATH"], action = ArgAction::Append)]
    pub error_documents: Vec<String>,
    /// Let Apache error documents replace application error responses.
    #[arg(long)]
    pub error_override: bool,
    /// Proxy a sub URL to another server (repeatable).
    #[arg(long = "proxy-mount-point", alias = "proxy-url-alias", num_args = 2, value_names = ["URL-PATH", "URL"], action = ArgAction::Append)]
    pub proxy_mount_points: Vec<String>,
    /// Proxy a host name to another server (repeatable).
    #[arg(long = "proxy-virtual-host", num_args = 2, value_names = ["HOSTNAME", "URL"], action = ArgAction::Append)]
    pub proxy_virtual_hosts: Vec<String>,
    /// HEAD to GET mapping: Off, On or Auto.
    #[arg(long, default_value = "Auto", value_name = "OFF|ON|AUTO")]
    pub map_head_to_get: String,
    /// Accept chunked request bodies.
    #[arg(long)]
    pub chunked_request: bool,
    /// Enable sendfile() for static files and wsgi.file_wrapper.
    #[arg(long)]
    pub enable_sendfile: bool,

    // ----- Proxy trust -------------------------------------------------------------
    /// Trusted front-end proxy header (repeatable).
    #[arg(long = "trust-proxy-header", value_name = "HEADER-NAME", action = ArgAction::Append)]
    pub trusted_proxy_headers: Vec<String>,
    /// Trusted proxy IP address or subnet (repeatable).
    #[arg(long = "trust-proxy", value_name = "IP-ADDRESS/SUBNET", action = ArgAction::Append)]
    pub trusted_proxies: Vec<String>,

    // ----- HTTPS -------------------------------------------------------------------
    /// Port for HTTPS requests.
    #[arg(long, alias = "ssl-port", value_name = "NUMBER")]
    pub https_port: Option<u16>,
    /// SSL certificate file.
    #[arg(long, value_name = "FILE-PATH")]
    pub ssl_certificate_file: Option<String>,
    /// SSL private key file.
    #[arg(long, value_name = "FILE-PATH")]
    pub ssl_certificate_key_file: Option<String>,
    /// Common path of BASE.crt and BASE.key.
    #[arg(long, value_name = "FILE-PATH")]
    pub ssl_certificate: Option<String>,
    /// CA certificates for client authentication.
    #[arg(long, value_name = "FILE-PATH")]
    pub ssl_ca_certificate_file: Option<String>,
    /// Sub URL that requires a client certificate (repeatable).
    #[arg(long = "ssl-verify-client", value_name = "URL-PATH", action = ArgAction::Append)]
    pub ssl_verify_client_urls: Vec<String>,
    /// Certificate chain file.
    #[arg(long, value_name = "FILE-PATH")]
    pub ssl_certificate_chain_file: Option<String>,
    /// Pass the SSL variables in the WSGI environ.
    #[arg(long)]
    pub ssl_environment: bool,
    /// Redirect HTTP requests to HTTPS.
    #[arg(long)]
    pub https_only: bool,
    /// Strict-Transport-Security policy for --https-only.
    #[arg(long, value_name = "PARAMS")]
    pub hsts_policy: Option<String>,

    // ----- Auth --------------------------------------------------------------------
    /// Python script for host access checks.
    #[arg(long, value_name = "SCRIPT-PATH")]
    pub host_access_script: Option<String>,
    /// Python script for user authentication.
    #[arg(long, value_name = "SCRIPT-PATH")]
    pub auth_user_script: Option<String>,
    /// Authentication scheme: Basic or Digest.
    #[arg(long, default_value = "Basic", value_name = "TYPE")]
    pub auth_type: String,
    /// Python script for group authorization.
    #[arg(long, value_name = "SCRIPT-PATH")]
    pub auth_group_script: Option<String>,
    /// Group users must belong to with --auth-group-script.
    #[arg(long, default_value = "wsgi", value_name = "NAME")]
    pub auth_group: String,

    // ----- Environment / locale ----------------------------------------------------
    /// Add a name/value pair to every request's environ (repeatable).
    #[arg(long = "setenv", num_args = 2, value_names = ["KEY", "VALUE"], action = ArgAction::Append)]
    pub setenv_variables: Vec<String>,
    /// Pass a process environment variable into every request's environ (repeatable).
    #[arg(long = "passenv", value_name = "KEY", action = ArgAction::Append)]
    pub passenv_variables: Vec<String>,
    /// Locale (LANG/LC_ALL) for Apache and Python [default: current, C/POSIX -> UTF-8].
    #[arg(long, value_name = "NAME")]
    pub locale: Option<String>,
    #[arg(long, hide = true, value_name = "NAME")]
    pub lang: Option<String>,

    // ----- Logging -----------------------------------------------------------------
    /// Directory for log files [default: SERVER-ROOT].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub log_directory: Option<String>,
    /// Apache LogLevel.
    #[arg(long, default_value = "warn", value_name = "NAME")]
    pub log_level: String,
    /// Enable the access log.
    #[arg(long)]
    pub access_log: bool,
    /// Access log format: common, combined or a LogFormat string.
    #[arg(long, value_name = "FORMAT")]
    pub access_log_format: Option<String>,
    /// ErrorLogFormat string.
    #[arg(long, value_name = "FORMAT")]
    pub error_log_format: Option<String>,
    /// Error log file name in the log directory.
    #[arg(long, default_value = "error_log", value_name = "FILE-NAME")]
    pub error_log_name: String,
    /// Access log file name in the log directory.
    #[arg(long, default_value = "access_log", value_name = "FILE-NAME")]
    pub access_log_name: String,
    /// Enable the Apache startup log (httpd -E).
    #[arg(long)]
    pub startup_log: bool,
    /// Startup log file name in the log directory.
    #[arg(long, default_value = "startup_log", value_name = "FILE-NAME")]
    pub startup_log_name: String,
    /// Send logs to the terminal (stderr/stdout) unless --log-directory is given.
    #[arg(long)]
    pub log_to_terminal: bool,
    /// Rotate log files with rotatelogs.
    #[arg(long)]
    pub rotate_logs: bool,
    /// Log size in MB that triggers rotation.
    #[arg(long, default_value_t = 5, value_name = "MB")]
    pub max_log_size: u32,
    /// rotatelogs executable [default: from apxs SBINDIR].
    #[arg(long, value_name = "FILE-PATH")]
    pub rotatelogs_executable: Option<String>,
    #[arg(long, hide = true)]
    pub verbose_debugging: bool,

    // ----- Reloading ---------------------------------------------------------------
    /// Disable reloading of the application when its script changes.
    #[arg(long)]
    pub disable_reloading: bool,
    /// Restart the daemon processes when any loaded Python file changes.
    #[arg(long)]
    pub reload_on_changes: bool,

    // ----- Debugging / profiling ---------------------------------------------------
    /// Single process, embedded, stdin usable (for debuggers).
    #[arg(long)]
    pub debug_mode: bool,
    /// pdb post-mortem debugging of exceptions (debug mode).
    #[arg(long)]
    pub enable_debugger: bool,
    /// Enter pdb at startup (needs --enable-debugger).
    #[arg(long)]
    pub debugger_startup: bool,
    /// Coverage analysis (debug mode).
    #[arg(long)]
    pub enable_coverage: bool,
    /// Coverage output directory [default: SERVER-ROOT/htmlcov].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub coverage_directory: Option<String>,
    /// Code profiling (debug mode).
    #[arg(long)]
    pub enable_profiler: bool,
    /// Profiler output directory [default: SERVER-ROOT/pstats].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub profiler_directory: Option<String>,
    /// Request recording (debug mode).
    #[arg(long)]
    pub enable_recorder: bool,
    /// Recorder output directory [default: SERVER-ROOT/archive].
    #[arg(long, value_name = "DIRECTORY-PATH")]
    pub recorder_directory: Option<String>,
    /// Run Apache under gdb (debug mode).
    #[arg(long)]
    pub enable_gdb: bool,
    /// gdb executable.
    #[arg(long, default_value = "gdb", value_name = "FILE-PATH")]
    pub gdb_executable: String,

    // ----- Metrics / telemetry / status --------------------------------------------
    /// Make server metrics available to the application.
    #[arg(long)]
    pub server_metrics: bool,
    /// Enable /server-status (localhost only).
    #[arg(long)]
    pub server_status: bool,
    /// URL path of the OpenMetrics page (wsgi-metrics; local clients only).
    #[arg(long, value_name = "URL-PATH")]
    pub metrics_url: Option<String>,
    /// Host or network also allowed to read --metrics-url (as 'Require ip'; repeatable).
    #[arg(long, value_name = "IP-OR-NETWORK", action = ArgAction::Append)]
    pub metrics_allow: Vec<String>,
    /// URL path of the health check (wsgi-health; local clients only).
    #[arg(long, value_name = "URL-PATH")]
    pub health_url: Option<String>,
    /// Host or network also allowed to read --health-url (as 'Require ip'; repeatable).
    #[arg(long, value_name = "IP-OR-NETWORK", action = ArgAction::Append)]
    pub health_allow: Vec<String>,
    /// Telemetry target, unix:/path.
    #[arg(long, value_name = "TARGET")]
    pub telemetry_service: Option<String>,
    /// Bundle the telemetry ingester and web UI.
    #[arg(long)]
    pub enable_telemetry: bool,
    /// Port of the telemetry web UI.
    #[arg(long, default_value_t = 8888, value_name = "NUMBER")]
    pub telemetry_ui_port: u16,
    /// Telemetry sampling interval in seconds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub telemetry_interval: f64,
    /// WSGITelemetryOptions argument (repeatable).
    #[arg(long, value_name = "ARGS", action = ArgAction::Append)]
    pub telemetry_options: Vec<String>,
    /// Slow-request reporting threshold in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub slow_requests: Option<f64>,

    // ----- Service scripts ---------------------------------------------------------
    /// Run a Python script as a managed service daemon (repeatable).
    #[arg(long = "service-script", num_args = 2, value_names = ["SERVICE", "SCRIPT-PATH"], action = ArgAction::Append)]
    pub service_scripts: Vec<String>,
    /// User of a service daemon (repeatable).
    #[arg(long = "service-user", num_args = 2, value_names = ["SERVICE", "USERNAME"], action = ArgAction::Append)]
    pub service_users: Vec<String>,
    /// Group of a service daemon (repeatable).
    #[arg(long = "service-group", num_args = 2, value_names = ["SERVICE", "GROUP"], action = ArgAction::Append)]
    pub service_groups: Vec<String>,
    /// Separate log file of a service daemon (repeatable).
    #[arg(long = "service-log-file", num_args = 2, value_names = ["SERVICE", "FILE-NAME"], action = ArgAction::Append)]
    pub service_log_files: Vec<String>,

    // ----- Misc --------------------------------------------------------------------
    /// Skip destroying the Python interpreter at process exit.
    #[arg(long)]
    pub orphan_interpreter: bool,
    /// Serve the mod_wsgi documentation at /__wsgi__/docs.
    #[arg(long)]
    pub enable_docs: bool,
}

/// `--processes`: a number, or `auto` for the number of CPUs this process may run on
/// (`std::thread::available_parallelism`: the affinity mask and a cgroup CPU quota
/// count), at least 1. Ours only; mod_wsgi 6.1.1's express takes a number.
fn parse_processes(value: &str) -> Result<u32, String> {
    if value == "auto" {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        return Ok(u32::try_from(cpus).unwrap_or(u32::MAX));
    }
    value
        .parse::<u32>()
        .map_err(|_| format!("expected a number of processes or auto, got '{value}'"))
}
