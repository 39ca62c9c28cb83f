//! Typed configuration: the per-server (`ServerConfig`) and per-directory
//! (`DirConfig`) records Apache creates and merges through the module record
//! (the generic trampolines of `apache::config`), and the directive parser
//! the C shim's callback (`apache::directive::entry`) hands every `WSGI*`
//! directive to. No FFI here. "Unset" is `None`; merging keeps the more specific value when set.
//! Configuration is built in the Apache parent and is immutable once
//! `post_config` has run (children only read it).

pub mod alias;
pub mod auth;
pub mod compat;
pub mod daemon;
pub mod daemon_chroot;
pub mod daemon_graceful;
pub mod daemon_limits;
pub mod daemon_options;
pub mod daemon_relay;
pub mod directives;
pub mod dispatch;
pub mod error;
pub mod expand;
pub mod interpreter_options;
pub mod python;
pub mod script_scope;
pub mod server_metrics;
pub mod telemetry;
pub mod trusted_proxies;
pub mod words;

pub use alias::ScriptAlias;
pub use error::{ConfigError, HomeError, OptionValueError};
pub use python::PythonSettings;

/// Per-virtual-host configuration.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// `WSGIScriptAlias`/`WSGIScriptAliasMatch` entries, this host's first,
    /// then inherited ones.
    pub aliases: Vec<ScriptAlias>,
    /// Interpreter settings; only the main server's are used.
    pub python: PythonSettings,
    /// `WSGIRestrictEmbedded` (main server only).
    pub restrict_embedded: Option<bool>,
    /// `WSGIServerMetrics` (main server only).
    pub server_metrics: Option<bool>,
    /// `WSGITelemetryService`, `WSGISlowRequests`, `WSGITelemetryOptions`
    /// (main server only).
    pub telemetry: telemetry::TelemetryConfig,
    /// `WSGIImportScript` entries (main server and virtual hosts).
    pub import_scripts: Vec<ImportScript>,
    /// `WSGIDaemonProcess` groups and socket settings.
    pub daemon: daemon::DaemonServerConfig,
    /// A directive of this host runs a script in the Apache children
    /// (`WSGIDispatchScript`): Python starts there even with
    /// `WSGIRestrictEmbedded On`, as mod_wsgi's `wsgi_python_required`.
    pub python_in_children: bool,
}

/// `WSGIImportScript path process-group=... application-group=...`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportScript {
    pub script: String,
    pub process_group: String,
    pub application_group: String,
}

/// `WSGIHandlerScript name path [options]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandlerScript {
    pub name: String,
    pub script: String,
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub pass_authorization: Option<bool>,
}

/// `WSGIMapHEADToGET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadMode {
    Off,
    On,
    Auto,
}

/// Per-directory (and per-server default) configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirConfig {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
    /// `WSGIPassApacheRequest`: `apache.request_rec` in the embedded environ.
    pub pass_apache_request: Option<bool>,
    /// `WSGIIgnoreActivity`: requests here do not reset a daemon's
    /// inactivity-timeout.
    pub ignore_activity: Option<bool>,
    pub script_reloading: Option<bool>,
    pub chunked_request: Option<bool>,
    pub map_head_to_get: Option<HeadMode>,
    pub enable_sendfile: Option<bool>,
    /// `WSGIErrorOverride` (daemon mode): a 4xx/5xx from the application is
    /// replaced by Apache's error document.
    pub error_override: Option<bool>,
    /// `WSGIHandlerScript` entries here first, then inherited ones.
    pub handler_scripts: Vec<HandlerScript>,
    /// `WSGITrustedProxyHeaders`, as environ names (`HTTP_X_FORWARDED_FOR`).
    pub trusted_proxy_headers: Option<Vec<String>>,
    /// `WSGITrustedProxies`.
    pub trusted_proxies: Option<Vec<trusted_proxies::Subnet>>,
    /// `WSGIRestrictProcess`: the process groups requests here may select
    /// ("" is `%{GLOBAL}`, embedded mode).
    pub restrict_process: Option<Vec<String>>,
    /// `WSGIAccessScript`.
    pub access_script: Option<auth::AuthScript>,
    /// `WSGIAuthUserScript` (the `wsgi` authn provider).
    pub auth_user_script: Option<auth::AuthScript>,
    /// `WSGIAuthGroupScript` (the `wsgi-group` authz provider).
    pub auth_group_script: Option<auth::AuthScript>,
    /// `WSGIGroupAuthoritative` (no effect, as in mod_wsgi 6).
    pub group_authoritative: Option<bool>,
    /// `WSGIDispatchScript`.
    pub dispatch_script: Option<dispatch::DispatchScript>,
}

impl DirConfig {
    /// The more specific (`child`) value wins when set.
    pub fn merge(parent: &DirConfig, child: &DirConfig) -> DirConfig {
        fn pick<T: Clone>(p: &Option<T>, c: &Option<T>) -> Option<T> {
            c.clone().or_else(|| p.clone())
        }
        DirConfig {
            process_group: pick(&parent.process_group, &child.process_group),
            application_group: pick(&parent.application_group, &child.application_group),
            callable_object: pick(&parent.callable_object, &child.callable_object),
            pass_authorization: pick(&parent.pass_authorization, &child.pass_authorization),
            pass_apache_request: pick(&parent.pass_apache_request, &child.pass_apache_request),
            ignore_activity: pick(&parent.ignore_activity, &child.ignore_activity),
            script_reloading: pick(&parent.script_reloading, &child.script_reloading),
            chunked_request: pick(&parent.chunked_request, &child.chunked_request),
            map_head_to_get: pick(&parent.map_head_to_get, &child.map_head_to_get),
            enable_sendfile: pick(&parent.enable_sendfile, &child.enable_sendfile),
            error_override: pick(&parent.error_override, &child.error_override),
            trusted_proxy_headers: pick(
                &parent.trusted_proxy_headers,
                &child.trusted_proxy_headers,
            ),
            trusted_proxies: pick(&parent.trusted_proxies, &child.trusted_proxies),
            handler_scripts: child
                .handler_scripts
                .iter()
                .chain(&parent.handler_scripts)
                .cloned()
                .collect(),
            restrict_process: pick(&parent.restrict_process, &child.restrict_process),
            access_script: pick(&parent.access_script, &child.access_script),
            auth_user_script: pick(&parent.auth_user_script, &child.auth_user_script),
            auth_group_script: pick(&parent.auth_group_script, &child.auth_group_script),
            group_authoritative: pick(&parent.group_authoritative, &child.group_authoritative),
            dispatch_script: pick(&parent.dispatch_script, &child.dispatch_script),
        }
    }

    pub fn callable_object(&self) -> &str {
        self.callable_object.as_deref().unwrap_or("application")
    }
    pub fn script_reloading(&self) -> bool {
        self.script_reloading.unwrap_or(true)
    }
}

impl ServerConfig {
    pub fn merge(parent: &ServerConfig, child: &ServerConfig) -> ServerConfig {
        let mut aliases = child.aliases.clone();
        aliases.extend(parent.aliases.iter().cloned());
        ServerConfig {
            aliases,
            python: parent.python.clone(),
            restrict_embedded: parent.restrict_embedded,
            server_metrics: parent.server_metrics,
            telemetry: parent.telemetry.clone(),
            // Each host keeps its own; child_init walks every host.
            import_scripts: child.import_scripts.clone(),
            daemon: daemon::DaemonServerConfig::merge(&parent.daemon, &child.daemon),
            python_in_children: parent.python_in_children || child.python_in_children,
        }
    }
}

// ---- Module record slots (`apache::config` trampolines) -------------------

// SAFETY: the module record's create_server_config and merge_server_config
// (`apache::config::create_server::<ServerConfig>` and `merge`, named in
// lib.rs) are what fill this module's slot of a server's configuration
// vector, and both store a ServerConfig adopted by the configuration pool,
// the pool the server_rec lives in (directives only mutate it in place).
unsafe impl crate::apache::request::ServerSlot for ServerConfig {}

// SAFETY: likewise create_dir_config and merge_dir_config
// (`apache::config::create_dir::<DirConfig>` and `merge`) store only a
// DirConfig, adopted by the pool Apache passes: the configuration pool, or
// the request's pool for a merge made while serving it, both outliving the
// request.
unsafe impl crate::apache::request::DirSlot for DirConfig {}

impl crate::apache::config::Record for DirConfig {
    fn merge(parent: &DirConfig, child: &DirConfig) -> DirConfig {
        DirConfig::merge(parent, child)
    }
}

impl crate::apache::config::Record for ServerConfig {
    fn merge(parent: &ServerConfig, child: &ServerConfig) -> ServerConfig {
        ServerConfig::merge(parent, child)
    }
}
