//! The errors of configuration parsing: [`ConfigError`] (a directive or a
//! `WSGIDaemonProcess` option that cannot be accepted), [`HomeError`] (a
//! `WSGIPythonHome`/`python-home=` value that does not fit the build
//! Python) and [`OptionValueError`] (why one `WSGIDaemonProcess` value is
//! bad). Their `Display` is the message `apachectl configtest` prints, word
//! for word; the directive callback (`directives::Directives`) turns it into
//! the string Apache reports. Pure data, no FFI.

use super::daemon_options::OPTIONS;
use super::python::{BUILD_PYTHON_PREFIX, BUILD_PYTHON_VERSION};

const D: &str = "WSGIDaemonProcess";

/// A directive line that cannot be accepted. Every variant names the
/// directive (as written) and, where there is one, the bad value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A mod_wsgi feature this build's Python has but this version of
    /// mod_wsgi-rs does not implement yet: refused rather than ignored.
    #[error(
        "{directive} On: {feature} is not implemented by this version of mod_wsgi-rs \
         (built with Python {python}); use {directive} Off or leave the directive out"
    )]
    FeatureNotImplemented {
        directive: String,
        feature: &'static str,
        python: &'static str,
    },
    /// Not in this module's directive table.
    #[error("{directive}: not a directive of this module")]
    UnknownDirective { directive: String },
    /// A one-argument directive without exactly one argument (`got`: the
    /// arguments given when there were several, listed in the message).
    #[error("{directive} takes one argument, {expected}{}", listed(.got))]
    OneArgument {
        directive: String,
        expected: &'static str,
        got: Vec<String>,
    },
    /// Too few arguments: what the directive `needs`, with an example line.
    #[error("{directive} requires {needs}{}", example_line(.directive, .example))]
    MissingArguments {
        directive: String,
        needs: &'static str,
        example: Option<&'static str>,
    },
    /// A value not among `choices` (e.g. `Off | On`).
    #[error("{directive} must be one of: {choices} (got '{value}')")]
    NotOneOf {
        directive: String,
        choices: &'static str,
        value: String,
    },
    /// A value of the wrong form (`expected`: e.g. `0, 1 or 2`).
    #[error("{directive} must be {expected} (got '{value}')")]
    BadValue {
        directive: String,
        expected: &'static str,
        value: String,
    },
    /// A `name=value` option without `=`; `expected` lists the options.
    #[error(
        "{directive}: invalid option '{option}'; options have the form name=value ({expected})"
    )]
    OptionForm {
        directive: String,
        option: String,
        expected: String,
    },
    /// A `name=value` option the directive does not take.
    #[error("{directive}: unknown option '{option}'; expected one of {expected}")]
    UnknownOption {
        directive: String,
        option: String,
        expected: String,
    },
    /// An empty group or callable name (`what`: e.g. `process group`).
    #[error("{directive}: empty {what} name")]
    EmptyName {
        directive: String,
        what: &'static str,
    },
    /// A process or application group that is neither a name nor a `%{...}` form.
    #[error(
        "{directive}: invalid {what} '{value}'; expected a name, %{{GLOBAL}}, %{{SERVER}}, \
         %{{HOST}}, %{{RESOURCE}} or %{{ENV:VARIABLE}}"
    )]
    InvalidGroup {
        directive: String,
        what: &'static str,
        value: String,
    },
    /// A callable object that is neither a name nor `%{ENV:VARIABLE}`.
    #[error(
        "{directive}: invalid callable object '{value}'; expected the name of the WSGI callable \
         in the script or %{{ENV:VARIABLE}}"
    )]
    InvalidCallable { directive: String, value: String },
    /// `WSGIImportScript` without both group options.
    #[error("{directive} {script}: both process-group= and application-group= are required")]
    ImportScriptGroups { directive: String, script: String },
    /// `WSGIImportScript` with a group only known per request.
    #[error(
        "{directive}: {option}={value} cannot be used, the group must be known at start-up \
         (a name or %{{GLOBAL}})"
    )]
    ImportScriptDynamicGroup {
        directive: String,
        option: &'static str,
        value: String,
    },
    /// A `WSGITrustedProxies` value that is not an address or subnet.
    #[error("{directive}: {source}")]
    TrustedProxy {
        directive: String,
        source: super::trusted_proxies::BadSubnet,
    },
    /// A `WSGIScriptAliasMatch` pattern Apache's engine refuses.
    #[error(
        "{directive}: '{pattern}' is not a valid regular expression (PCRE syntax, as Apache's \
         other *Match directives): {reason}"
    )]
    BadRegex {
        directive: String,
        pattern: String,
        reason: String,
    },
    /// A `WSGISocketPrefix` whose directory other users can write.
    #[error(
        "{directive}: the directory of the daemon sockets, '{dir}', can be written by other \
         users (mode {mode:04o}): anyone could plant a socket or a link there; use a directory \
         only root and the Apache user can write (for example run/wsgi under ServerRoot, or \
         /var/run/wsgi), or remove the write permission of others (chmod o-w '{dir}')"
    )]
    SocketDirectoryWritable {
        directive: String,
        dir: String,
        mode: u32,
    },
    /// A main-server-only directive elsewhere (`apache`: Apache's message).
    #[error("{apache}: it configures the Python interpreter of the whole server")]
    NotInMainServer { apache: String },
    /// A `WSGIPythonHome` value that does not fit the build Python.
    #[error(transparent)]
    PythonHome(#[from] HomeError),
    /// A mistake in a `<WSGIInterpreterOptions>` section.
    #[error(transparent)]
    InterpreterOptions(#[from] super::interpreter_options::SectionError),
    /// A `WSGIDaemonProcess` group name with `%` or `/` (or empty).
    #[error("{D}: invalid process group name '{group}'; expected a plain name without '%' or '/'")]
    GroupName { group: String },
    /// A `WSGIDaemonProcess` option without `=`.
    #[error("{D} {group}: invalid option '{option}'; options have the form key=value")]
    DaemonOptionForm { group: String, option: String },
    /// A `WSGIDaemonProcess` option given twice.
    #[error("{D} {group}: option '{key}' given twice")]
    DuplicateOption { group: String, key: String },
    /// A `WSGIDaemonProcess` option value that cannot be accepted.
    #[error(
        "{D} {group}: invalid value '{value}' for option '{key}': {reason}; expected {expected}"
    )]
    OptionValue {
        group: String,
        key: String,
        value: String,
        reason: OptionValueError,
        expected: &'static str,
    },
    /// `script-user=` and `script-group=` together (mod_wsgi refuses it too).
    #[error("{D} {group}: Only one of script-user and script-group allowed.")]
    ScriptUserAndGroup { group: String },
    /// A `WSGIDaemonProcess` option mod_wsgi 6.0 removed (New Relic).
    #[error(
        "{D} {group}: Invalid option to WSGI daemon process definition: '{key}' was removed \
         in mod_wsgi 6.0 (with its New Relic agent integration)"
    )]
    RemovedOption { group: String, key: String },
    /// A `WSGIDaemonProcess` option nobody knows.
    #[error(
        "{D} {group}: unknown option '{key}'; expected one of: {}",
        option_names()
    )]
    UnknownDaemonOption { group: String, key: String },
    /// A second `WSGIDaemonProcess` with the name of one in the same server record.
    #[error("{D}: name '{group}' duplicates a previous WSGIDaemonProcess definition")]
    DuplicateGroup { group: String },
}

/// Why a `WSGIDaemonProcess` option's value is bad (the middle of
/// [`ConfigError::OptionValue`]'s message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionValueError {
    #[error("not a number")]
    NotANumber,
    #[error("not an octal number")]
    NotOctal,
    #[error("out of range")]
    OutOfRange,
    /// Outside the option's bounds (the text says which, e.g. `must be at least 1`).
    #[error("{0}")]
    Bound(&'static str),
    #[error("no such user")]
    NoSuchUser,
    #[error("no such group")]
    NoSuchGroup,
    #[error("daemon processes must not run as root")]
    Root,
    #[error("not an absolute path")]
    NotAbsolute,
    #[error("empty, or a %{{...}} form other than %{{GROUP}}")]
    DisplayName,
    /// Boxed: the error is built once, and keeps `ConfigError` small.
    #[error(transparent)]
    PythonHome(Box<HomeError>),
}

impl From<HomeError> for OptionValueError {
    fn from(e: HomeError) -> Self {
        OptionValueError::PythonHome(Box::new(e))
    }
}

/// A `WSGIPythonHome` (or `python-home=`) value that does not fit the
/// Python this module was built for; `value` is the value as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HomeError {
    #[error(
        "WSGIPythonHome '{value}' is not an absolute path; expected the sys.prefix of a \
         Python {BUILD_PYTHON_VERSION} installation or virtual environment"
    )]
    NotAbsolute { value: String },
    #[error(
        "WSGIPythonHome '{value}' is not a directory (it does not exist or cannot be \
         accessed); expected the sys.prefix of a Python {BUILD_PYTHON_VERSION} installation \
         or virtual environment, as printed by `python -c 'import sys; print(sys.prefix)'`"
    )]
    NotADirectory { value: String },
    /// `pyvenv.cfg` exists but cannot be read (`reason`: the OS error).
    #[error("WSGIPythonHome '{value}': cannot read {cfg}: {reason}")]
    UnreadableVenv {
        value: String,
        cfg: String,
        reason: String,
    },
    /// A virtual environment of another Python version (`made_with`).
    #[error(
        "WSGIPythonHome '{value}' is a virtual environment made with Python {made_with}, but \
         this mod_wsgi was built for Python {BUILD_PYTHON_VERSION}; recreate the venv \
         with Python {BUILD_PYTHON_VERSION} (e.g. {BUILD_PYTHON_PREFIX}/bin/python{BUILD_PYTHON_VERSION} \
         -m venv {prefix}) or build mod_wsgi for Python {made_with}"
    )]
    VenvVersion {
        value: String,
        prefix: String,
        made_with: String,
    },
    /// No standard library of the build Python under `lib/` (`found`: what is there).
    #[error(
        "WSGIPythonHome '{value}' has {found} under lib/, but this mod_wsgi was built for \
         Python {BUILD_PYTHON_VERSION} (it needs {stdlib}/os.py); point it at a Python \
         {BUILD_PYTHON_VERSION} prefix or virtual environment, not at site-packages"
    )]
    NoStdlib {
        value: String,
        found: String,
        stdlib: String,
    },
}

/// `; got N arguments: a b` when several arguments were given.
fn listed(got: &[String]) -> String {
    if got.len() > 1 {
        format!("; got {} arguments: {}", got.len(), got.join(" "))
    } else {
        String::new()
    }
}

/// `, e.g. `DIRECTIVE EXAMPLE`` when there is an example.
fn example_line(directive: &str, example: &Option<&'static str>) -> String {
    example
        .map(|e| format!(", e.g. `{directive} {e}`"))
        .unwrap_or_default()
}

/// The `WSGIDaemonProcess` option names, comma-separated.
fn option_names() -> String {
    OPTIONS
        .iter()
        .map(|(k, _, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}
