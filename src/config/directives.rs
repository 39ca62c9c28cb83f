//! The `WSGI*` directives: one table of (name, parser, needs-main-server),
//! pure parsers over already-split words (unit-tested without Apache), and
//! the parser `apache::directive::entry` (the shim's callback) calls. Every error
//! names the directive, the bad value and what is expected, so
//! `apachectl configtest` points straight at the mistake.

use super::alias::ScriptAlias;
use super::compat;
use super::error::ConfigError;
use super::expand::{check_callable, check_group};
use super::interpreter_options;
use super::python::{HashSeed, validate_home};
use super::{DirConfig, HandlerScript, HeadMode, ImportScript, ServerConfig};
use crate::apache::directive::Cmd;
use crate::apache::pool::Pool;

/// Where a parser writes: the server record and the directory (or per-server
/// default) record the directive appears in.
pub struct Target<'a> {
    pub server: &'a mut ServerConfig,
    pub dir: &'a mut DirConfig,
}

pub(super) type Parser = fn(&mut Target<'_>, &str, &[String]) -> Result<(), ConfigError>;

/// (name, parser, allowed only in the main server config).
const DIRECTIVES: &[(&str, Parser, bool)] = &[
    ("WSGIScriptAlias", script_alias, false),
    ("WSGIScriptAliasMatch", script_alias_match, false),
    ("WSGIChunkedRequest", chunked_request, false),
    ("WSGIMapHEADToGET", map_head_to_get, false),
    ("WSGIEnableSendfile", enable_sendfile, false),
    ("WSGIErrorOverride", error_override, false),
    ("WSGIHandlerScript", handler_script, false),
    ("WSGIImportScript", import_script, false),
    ("WSGITrustedProxyHeaders", trusted_proxy_headers, false),
    ("WSGITrustedProxies", trusted_proxies, false),
    ("WSGIRestrictEmbedded", restrict_embedded, true),
    ("WSGICaseSensitivity", case_sensitivity, true),
    ("WSGIRestrictStdin", restrict_stdin, true),
    ("WSGIRestrictStdout", restrict_stdout, true),
    ("WSGIRestrictSignal", restrict_signal, true),
    ("WSGIProcessGroup", process_group, false),
    ("WSGIApplicationGroup", application_group, false),
    ("WSGICallableObject", callable_object, false),
    ("WSGIPassAuthorization", pass_authorization, false),
    ("WSGIPassApacheRequest", pass_apache_request, false),
    ("WSGIIgnoreActivity", ignore_activity, false),
    ("WSGIScriptReloading", script_reloading, false),
    ("WSGIPythonHome", python_home, true),
    ("WSGIPythonPath", python_path, true),
    ("WSGIPythonOptimize", python_optimize, true),
    ("WSGIDontWriteBytecode", dont_write_bytecode, true),
    ("WSGIPythonHashSeed", python_hash_seed, true),
    ("WSGIPythonWarnings", python_warnings, true),
    ("WSGIDestroyInterpreter", destroy_interpreter, true),
    ("WSGIVerboseDebugging", compat::verbose_debugging, true),
    ("WSGIAcceptMutex", compat::accept_mutex, true),
    ("WSGISwitchInterval", compat::switch_interval, true),
    ("WSGIPythonEggs", compat::python_eggs, true),
    ("WSGIPerInterpreterGIL", compat::per_interpreter_gil, true),
    ("WSGIFreeThreading", compat::free_threading, true),
    ("WSGIServerMetrics", super::server_metrics::directive, true),
    ("WSGITelemetryService", super::telemetry::service, true),
    ("WSGISlowRequests", super::telemetry::slow_requests, true),
    ("WSGITelemetryOptions", super::telemetry::options, true),
    (
        super::interpreter_options::SECTION,
        interpreter_options_section,
        true,
    ),
    ("WSGIAccessScript", super::auth::access_script, false),
    ("WSGIAuthUserScript", super::auth::auth_user_script, false),
    ("WSGIAuthGroupScript", super::auth::auth_group_script, false),
    (
        "WSGIGroupAuthoritative",
        super::auth::group_authoritative,
        false,
    ),
    ("WSGIDispatchScript", super::dispatch::directive, false),
    (
        "WSGIDaemonProcess",
        super::daemon::directive_daemon_process,
        false,
    ),
    (
        "WSGIRestrictProcess",
        super::daemon::directive_restrict_process,
        false,
    ),
    (
        "WSGISocketPrefix",
        super::daemon::directive_socket_prefix,
        true,
    ),
    (
        "WSGISocketRotation",
        super::daemon::directive_socket_rotation,
        true,
    ),
];

/// Parses one directive. `in_main_server` is false inside `<VirtualHost>`.
pub fn apply(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let (_, parser, _) = DIRECTIVES
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .ok_or_else(|| ConfigError::UnknownDirective {
            directive: name.to_string(),
        })?;
    parser(t, name, args)
}

/// Whether `name` may only appear outside `<VirtualHost>` and directory sections.
pub fn is_global_only(name: &str) -> bool {
    DIRECTIVES
        .iter()
        .any(|(n, _, g)| *g && n.eq_ignore_ascii_case(name))
}

pub(super) fn one<'a>(
    name: &str,
    args: &'a [String],
    expected: &'static str,
) -> Result<&'a str, ConfigError> {
    match args {
        [one] => Ok(one),
        _ => Err(ConfigError::OneArgument {
            directive: name.to_string(),
            expected,
            got: args.to_vec(),
        }),
    }
}

pub(super) fn on_off(name: &str, args: &[String]) -> Result<bool, ConfigError> {
    let v = one(name, args, "On or Off")?;
    if v.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(ConfigError::NotOneOf {
            directive: name.to_string(),
            choices: "Off | On",
            value: v.to_string(),
        })
    }
}

/// The `name=value` options of WSGIScriptAlias(Match)/WSGIHandlerScript.
#[derive(Default)]
struct Options {
    process_group: Option<String>,
    application_group: Option<String>,
    callable_object: Option<String>,
    pass_authorization: Option<bool>,
}

fn parse_options(name: &str, opts: &[String], allowed: &[&str]) -> Result<Options, ConfigError> {
    let mut out = Options::default();
    let expected = allowed
        .iter()
        .map(|a| format!("{a}="))
        .collect::<Vec<_>>()
        .join(", ");
    for opt in opts {
        let Some((key, value)) = opt.split_once('=') else {
            return Err(ConfigError::OptionForm {
                directive: name.to_string(),
                option: opt.clone(),
                expected,
            });
        };
        if !allowed.contains(&key) {
            return Err(ConfigError::UnknownOption {
                directive: name.to_string(),
                option: opt.clone(),
                expected,
            });
        }
        match key {
            "process-group" => {
                check_group(name, "process group", value)?;
                out.process_group = Some(value.to_string());
            }
            "application-group" => {
                check_group(name, "application group", value)?;
                out.application_group = Some(value.to_string());
            }
            "callable-object" => {
                check_callable(&format!("{name} callable-object="), value)?;
                out.callable_object = Some(value.to_string());
            }
            _ => {
                out.pass_authorization = Some(on_off(
                    &format!("{name} pass-authorization"),
                    &[value.to_string()],
                )?)
            }
        }
    }
    Ok(out)
}

const ALIAS_OPTIONS: &[&str] = &[
    "process-group",
    "application-group",
    "callable-object",
    "pass-authorization",
];

fn add_alias(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
    regex: Option<super::alias::AliasRegex>,
) -> Result<(), ConfigError> {
    let o = parse_options(name, &args[2..], ALIAS_OPTIONS)?;
    // As mod_wsgi: a script whose process group and application group are both static
    // (a name or %{GLOBAL}) is preloaded when its process starts, like WSGIImportScript;
    // not a directory target, nor a WSGIScriptAliasMatch target with `$` substitutions.
    let static_group = |g: &str| !g.contains("%{") || g == "%{GLOBAL}";
    if let (Some(pg), Some(ag)) = (&o.process_group, &o.application_group)
        && static_group(pg)
        && static_group(ag)
        && !args[1].ends_with('/')
        && !(regex.is_some() && args[1].contains('$'))
    {
        t.server.import_scripts.push(ImportScript {
            script: args[1].clone(),
            process_group: pg.clone(),
            application_group: ag.clone(),
        });
    }
    t.server.aliases.push(ScriptAlias {
        regex,
        location: args[0].clone(),
        target: args[1].clone(),
        process_group: o.process_group,
        application_group: o.application_group,
        callable_object: o.callable_object,
        pass_authorization: o.pass_authorization,
    });
    Ok(())
}

fn script_alias(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.len() < 2 {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "at least two arguments: a URL path and the WSGI script (or directory) it \
                    maps to",
            example: Some("/ /srv/app/app.wsgi"),
        });
    }
    add_alias(t, name, args, None)
}

fn script_alias_match(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.len() < 2 {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "at least two arguments: a regular expression matched against the URL and \
                    the WSGI script it maps to ($1..$9 substituted)",
            example: Some("^/([^/]+) /srv/apps/$1.wsgi"),
        });
    }
    // Compiled by `directive` into the configuration pool (Apache's engine).
    add_alias(t, name, args, Some(super::alias::AliasRegex::new(&args[0])))
}

fn chunked_request(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.chunked_request = Some(on_off(name, args)?);
    Ok(())
}

fn enable_sendfile(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.enable_sendfile = Some(on_off(name, args)?);
    Ok(())
}

fn error_override(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.error_override = Some(on_off(name, args)?);
    Ok(())
}

fn map_head_to_get(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "Off, On or Auto")?;
    let mode = if v.eq_ignore_ascii_case("off") {
        HeadMode::Off
    } else if v.eq_ignore_ascii_case("on") {
        HeadMode::On
    } else if v.eq_ignore_ascii_case("auto") {
        HeadMode::Auto
    } else {
        return Err(ConfigError::NotOneOf {
            directive: name.to_string(),
            choices: "Off | On | Auto",
            value: v.to_string(),
        });
    };
    t.dir.map_head_to_get = Some(mode);
    Ok(())
}

fn handler_script(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.len() < 2 {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "at least two arguments: a handler name and the script defining \
                    handle_request(environ, start_response)",
            example: Some("my-handler /srv/handler.wsgi"),
        });
    }
    let o = parse_options(
        name,
        &args[2..],
        &["process-group", "application-group", "pass-authorization"],
    )?;
    t.dir.handler_scripts.push(HandlerScript {
        name: args[0].clone(),
        script: args[1].clone(),
        process_group: o.process_group,
        application_group: o.application_group,
        pass_authorization: o.pass_authorization,
    });
    Ok(())
}

fn import_script(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "a script path and the process-group= and application-group= options",
            example: Some("/srv/app.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}"),
        });
    }
    let o = parse_options(name, &args[1..], &["process-group", "application-group"])?;
    let (Some(pg), Some(ag)) = (o.process_group, o.application_group) else {
        return Err(ConfigError::ImportScriptGroups {
            directive: name.to_string(),
            script: args[0].clone(),
        });
    };
    for (what, v) in [("process-group", &pg), ("application-group", &ag)] {
        if v.starts_with("%{") && v != "%{GLOBAL}" {
            return Err(ConfigError::ImportScriptDynamicGroup {
                directive: name.to_string(),
                option: what,
                value: v.clone(),
            });
        }
    }
    t.server.import_scripts.push(ImportScript {
        script: args[0].clone(),
        process_group: pg,
        application_group: ag,
    });
    Ok(())
}

fn trusted_proxy_headers(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "one or more header names",
            example: Some("X-Forwarded-For X-Forwarded-Proto"),
        });
    }
    let list = t.dir.trusted_proxy_headers.get_or_insert_with(Vec::new);
    list.extend(
        args.iter()
            .map(|h| super::trusted_proxies::header_env_name(h)),
    );
    Ok(())
}

fn trusted_proxies(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    if args.is_empty() {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "one or more IP addresses or subnets",
            example: Some("10.0.0.0/8"),
        });
    }
    let mut parsed = Vec::new();
    for a in args {
        parsed.push(super::trusted_proxies::Subnet::parse(a).map_err(|source| {
            ConfigError::TrustedProxy {
                directive: name.to_string(),
                source,
            }
        })?);
    }
    t.dir
        .trusted_proxies
        .get_or_insert_with(Vec::new)
        .extend(parsed);
    Ok(())
}

fn restrict_embedded(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.restrict_embedded = Some(on_off(name, args)?);
    Ok(())
}

fn case_sensitivity(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.case_sensitivity = Some(on_off(name, args)?);
    Ok(())
}

fn restrict_stdin(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.restrict_stdin = Some(on_off(name, args)?);
    Ok(())
}

fn restrict_stdout(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.restrict_stdout = Some(on_off(name, args)?);
    Ok(())
}

fn restrict_signal(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.restrict_signal = Some(on_off(name, args)?);
    Ok(())
}

fn process_group(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(
        name,
        args,
        "the name of a WSGIDaemonProcess group or %{GLOBAL}",
    )?;
    check_group(name, "process group", v)?;
    t.dir.process_group = Some(v.to_string());
    Ok(())
}

fn application_group(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "an application group name or %{GLOBAL}")?;
    check_group(name, "application group", v)?;
    t.dir.application_group = Some(v.to_string());
    Ok(())
}

fn callable_object(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "the name of the WSGI callable in the script")?;
    check_callable(name, v)?;
    t.dir.callable_object = Some(v.to_string());
    Ok(())
}

fn pass_apache_request(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.pass_apache_request = Some(on_off(name, args)?);
    Ok(())
}

fn ignore_activity(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.ignore_activity = Some(on_off(name, args)?);
    Ok(())
}

fn pass_authorization(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.pass_authorization = Some(on_off(name, args)?);
    Ok(())
}

fn script_reloading(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.dir.script_reloading = Some(on_off(name, args)?);
    Ok(())
}

fn python_home(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(
        name,
        args,
        "the sys.prefix of a Python installation or virtual environment",
    )?;
    t.server.python.home = Some(validate_home(v)?);
    Ok(())
}

fn python_path(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "a colon-separated list of directories")?;
    t.server.python.path = v
        .split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    Ok(())
}

fn python_optimize(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "0, 1 or 2")?;
    match v.parse::<u8>() {
        Ok(n @ 0..=2) => {
            t.server.python.optimize = Some(n);
            Ok(())
        }
        _ => Err(ConfigError::BadValue {
            directive: name.to_string(),
            expected: "0, 1 or 2",
            value: v.to_string(),
        }),
    }
}

fn dont_write_bytecode(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.dont_write_bytecode = Some(on_off(name, args)?);
    Ok(())
}

fn python_hash_seed(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(name, args, "\"random\" or an integer from 0 to 4294967295")?;
    let seed = if v == "random" {
        HashSeed::Random
    } else {
        HashSeed::Fixed(v.parse::<u32>().map_err(|_| ConfigError::BadValue {
            directive: name.to_string(),
            expected: "\"random\" or an integer from 0 to 4294967295",
            value: v.to_string(),
        })?)
    };
    t.server.python.hash_seed = Some(seed);
    Ok(())
}

fn python_warnings(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let v = one(
        name,
        args,
        "a warning filter in the -W syntax, e.g. ignore::DeprecationWarning",
    )?;
    t.server.python.warnings.push(v.to_string());
    Ok(())
}

/// `<WSGIInterpreterOptions [process-group=NAME] [application-group=NAME]>`
/// (its words, the closing `>` already removed): a new block, which the
/// directives inside it (read next) fill in.
fn interpreter_options_section(
    t: &mut Target<'_>,
    _name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    let block = super::interpreter_options::parse_selectors(args)?;
    t.server.python.interpreter_options.push(block);
    Ok(())
}

fn destroy_interpreter(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    t.server.python.destroy_interpreter = Some(on_off(name, args)?);
    Ok(())
}

// ---- The directive callback's parser -------------------------------------

/// Compiles the `WSGIScriptAliasMatch` pattern just added (Apache's regex
/// engine needs the live configuration pool, so this is not in the parser).
fn compile_patterns(server: &mut ServerConfig, name: &str, pool: Pool) -> Result<(), ConfigError> {
    for alias in &mut server.aliases {
        if let Some(re) = &mut alias.regex
            && !re.is_compiled()
        {
            re.compile(pool).map_err(|e| ConfigError::BadRegex {
                directive: name.to_string(),
                pattern: re.pattern().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    Ok(())
}

/// Parses directive `cmd` with the rest of its line `args`.
fn parse_line(
    cmd: &Cmd<'_>,
    args: &str,
    server: &mut ServerConfig,
    dir: &mut DirConfig,
) -> Result<(), ConfigError> {
    let name = cmd.name().into_owned();
    if is_global_only(&name) {
        cmd.check_global_only()
            .map_err(|e| ConfigError::NotInMainServer {
                apache: e.to_string(),
            })?;
    }
    let section = name.eq_ignore_ascii_case(interpreter_options::SECTION);
    let args = if section {
        interpreter_options::strip_close(args)?
    } else {
        args
    };
    let words = super::words::split(args);
    if section {
        for child in cmd.child_names() {
            interpreter_options::check_child(&child)?;
        }
    }
    if cmd
        .enclosing_section()
        .is_some_and(|s| s.eq_ignore_ascii_case(interpreter_options::SECTION))
    {
        let block = interpreter_options::apply_inside(server, &name, &words)?;
        compat::notice_inside(cmd, &name, &words, block);
        return Ok(());
    }
    apply(&mut Target { server, dir }, &name, &words)?;
    compat::notice(cmd, &name, &words);
    if name.eq_ignore_ascii_case("WSGISocketPrefix")
        && let Some(prefix) = &server.daemon.socket_prefix
    {
        let prefix = crate::apache::process::server_root_relative(cmd.pool(), prefix);
        super::daemon::check_socket_directory(&name, &prefix)?;
    }
    compile_patterns(server, &name, cmd.pool())
}

/// This module's directives, for `apache::directive::entry` (the shim's
/// callback for every directive in its command table).
pub struct Directives;

impl crate::apache::directive::Directives for Directives {
    type Server = ServerConfig;
    type Dir = DirConfig;

    fn directive(
        cmd: &Cmd<'_>,
        args: &str,
        server: &mut ServerConfig,
        dir: &mut DirConfig,
    ) -> Result<(), String> {
        // The border: Apache wants the message as a string.
        parse_line(cmd, args, server, dir).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
#[path = "directives_tests.rs"]
mod tests;
