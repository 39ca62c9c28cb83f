//! `mod_wsgi-express`: generates a self-contained Apache server root for a WSGI
//! application and runs Apache in the foreground, as mod_wsgi 6.0.5's express does.
//! This file expands `$VAR` in the arguments, parses them (`cli.rs`, with the layers of
//! `environment.rs`), dispatches the subcommands and turns every error into one line on
//! stderr with exit status 2.
//! Module map: `cli` (clap definitions), `environment` (`MOD_WSGI_EXPRESS_*` and
//! pyproject.toml layers), `project` (pyproject.toml, build/deploy hooks), `discovery`
//! (the project's application when no entry point is given), `validation` (unimplemented options, file
//! access of the run user), `options` (resolution), `sizing` (MPM choice and numbers),
//! `entry` (module/paste wrapper script), `https` (TLS options and vhosts), `proxy`
//! (reverse proxying), `module` (finding the module, Apache, Python prefix),
//! `python_home` (`--python-home`, the executable's venv, `$VIRTUAL_ENV`: version and
//! access checks),
//! `httpd_conf` / `apachectl` (rendering), `support` (directives the module knows),
//! `server_root` (writing), `summary`, `users` (run identity), `run` (Apache as a child,
//! signals: SIGTERM drains).
//! Self-contained: it does not link the mod_wsgi library crate and never loads Python.

mod apachectl;
mod auth;
mod cli;
mod devtools;
mod discovery;
mod docs;
mod entry;
mod environment;
mod httpd_conf;
mod https;
mod module;
mod monitoring;
mod options;
mod project;
mod proxy;
mod python_home;
mod resolve;
mod resource;
mod rewrite;
mod run;
mod server_root;
mod service;
mod sizing;
mod spare;
mod summary;
mod support;
mod telemetry;
mod users;
mod validation;

use anyhow::{Context, Result};
use clap::FromArgMatches;
use cli::{Cli, Command, ModuleArgs};
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os()
        .enumerate()
        .map(|(i, a)| if i == 0 { a } else { expand_vars(a) })
        .collect();
    // Usage errors exit with status 2, --help/--version with 0 (clap).
    let matches = match std::env::current_dir()
        .map_err(anyhow::Error::from)
        .and_then(|dir| environment::parse(args, &dir, expand_vars))
    {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    match dispatch(cli.command, &sub) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

/// Reports `e` as one line on stderr; exit status 2.
fn fail(e: &anyhow::Error) -> ExitCode {
    let msg = format!("{e:#}").replace('\n', " ");
    eprintln!("mod_wsgi-express: error: {msg}");
    ExitCode::from(2)
}

fn dispatch(command: Command, matches: &clap::ArgMatches) -> Result<ExitCode> {
    match command {
        Command::StartServer(args) => server(&args, matches, false),
        Command::SetupServer(args) => server(&args, matches, true),
        Command::ModuleConfig => {
            let located = module::locate_module(None, &module::apache_modules_directory())?;
            println!("LoadModule wsgi_module \"{}\"", located.path.display());
            println!("WSGIPythonHome \"{}\"", python_home::select(None)?.path);
            Ok(ExitCode::SUCCESS)
        }
        Command::ModuleLocation => {
            let located = module::locate_module(None, &module::apache_modules_directory())?;
            println!("{}", located.path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::InstallModule(args) => install_module(&args),
    }
}

fn server(args: &cli::ServerArgs, matches: &clap::ArgMatches, setup: bool) -> Result<ExitCode> {
    validation::reject_unimplemented(matches)?;
    let env = options::Environment::detect(args)?;
    let opts = resolve::resolve(args, matches, &env)?;
    options::check_access(&opts)?;
    support::check_module(&httpd_conf::render(&opts), &opts.module_source.path)?;
    server_root::prepare(&opts)?;
    print!("{}", summary::render(&opts, setup || opts.setup_only));
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let project_dir = std::env::current_dir().context("cannot read the current directory")?;
    if setup || opts.setup_only {
        project::run_hook(&project_dir, "build")?;
        return Ok(ExitCode::SUCCESS);
    }
    project::run_hook(&project_dir, "deploy")?;
    std::env::set_current_dir(&opts.working_directory).with_context(|| {
        format!(
            "cannot change to working directory {}",
            opts.working_directory.display()
        )
    })?;
    run::start(&opts.server_root, opts.devtools.debug_mode)
}

/// Copies the module into Apache's modules directory as `mod_wsgi.so`.
fn install_module(args: &ModuleArgs) -> Result<ExitCode> {
    let dir = args
        .modules_directory
        .clone()
        .unwrap_or_else(module::apache_modules_directory);
    let target = std::path::absolute(dir.join("mod_wsgi.so"))?;
    let source =
        module::locate_module(None, Path::new("/nonexistent")).context("nothing to install")?;
    if source.path != target {
        let tmp = target.with_extension(format!("so.tmp.{}", std::process::id()));
        std::fs::copy(&source.path, &tmp).with_context(|| {
            format!("cannot copy {} to {}", source.path.display(), tmp.display())
        })?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot install {}", target.display()))?;
    }
    println!("LoadModule wsgi_module \"{}\"", target.display());
    println!("WSGIPythonHome \"{}\"", python_home::select(None)?.path);
    Ok(ExitCode::SUCCESS)
}

/// Expands `$NAME` and `${NAME}` from the environment, leaving unknown names as they
/// are (Python's `os.path.expandvars`, which express applies to every argument).
fn expand_vars(arg: OsString) -> OsString {
    expand_with(arg, |name| std::env::var(name).ok())
}

/// `expand_vars` with the variable lookup passed in (tests use a fixed table).
fn expand_with(arg: OsString, lookup: impl Fn(&str) -> Option<String>) -> OsString {
    let Some(text) = arg.to_str() else {
        return arg;
    };
    if !text.contains('$') {
        return arg;
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match lookup(name) {
            Some(value) if !name.is_empty() => {
                out.push_str(&value);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    OsString::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_known_variables_only() {
        let lookup = |name: &str| (name == "MWE_TEST_VAR").then(|| "/srv".to_string());
        let e = |s: &str| {
            expand_with(OsString::from(s), lookup)
                .into_string()
                .unwrap()
        };
        assert_eq!(e("$MWE_TEST_VAR/app.wsgi"), "/srv/app.wsgi");
        assert_eq!(e("${MWE_TEST_VAR}x"), "/srvx");
        assert_eq!(e("$MWE_UNSET_VAR/a"), "$MWE_UNSET_VAR/a");
        assert_eq!(e("cost$"), "cost$");
        assert_eq!(e("${unterminated"), "${unterminated");
    }
}
