//! Layered configuration of `start-server` / `setup-server`: every long option can also
//! come from the environment variable `MOD_WSGI_EXPRESS_<OPTION>` (upper case, dashes as
//! underscores) or from the project's `[tool.mod_wsgi-express]` table (`project.rs`).
//! The layers become arguments placed before the real command line, lowest first, and an
//! option given on a higher layer drops it from the lower ones: the command line wins
//! over the environment, which wins over the project. A variable holding several values
//! (a repeatable option, or one taking two values) is split like a shell would (`shlex`).
//! `--help` names each option's variable. The prefix is distinct from the `MOD_WSGI_*`
//! variables the generated `apachectl` exports. Used by `main.rs`; no Python.

use anyhow::{Result, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory};
use std::ffi::OsString;
use std::path::Path;

/// Prefix of the variables read for express options.
pub const PREFIX: &str = "MOD_WSGI_EXPRESS_";

/// The subcommands whose options are layered.
pub const LAYERED: [&str; 2] = ["start-server", "setup-server"];

/// One option from a lower layer: its long name and its values (none for a flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub long: String,
    pub values: Vec<String>,
    /// Where it came from, for error messages ("MOD_WSGI_EXPRESS_PORT", "pyproject.toml").
    pub origin: String,
}

/// `MOD_WSGI_EXPRESS_<OPTION>` for a long option name.
pub fn var_name(long: &str) -> String {
    format!("{PREFIX}{}", long.to_ascii_uppercase().replace('-', "_"))
}

/// Adds `[env: MOD_WSGI_EXPRESS_X]` to the help of every long option of the layered
/// subcommands.
pub fn annotate(cmd: Command) -> Command {
    let mut cmd = cmd;
    for name in LAYERED {
        cmd = cmd.mut_subcommand(name, |sub| {
            sub.mut_args(|arg| {
                let Some(long) = arg.get_long().filter(|l| is_option(l)) else {
                    return arg;
                };
                let var = var_name(long);
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                arg.help(format!("{help} [env: {var}]").trim_start().to_string())
            })
        });
    }
    cmd
}

/// Whether a long name is a server option (not clap's `--help` / `--version`).
fn is_option(long: &str) -> bool {
    !matches!(long, "help" | "version")
}

/// Whether the option takes no value (a switch).
fn is_flag(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
}

/// The settings taken from `MOD_WSGI_EXPRESS_*` variables (`lookup` reads one).
pub fn from_env(sub: &Command, lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    for arg in sub.get_arguments() {
        let Some(long) = arg.get_long().filter(|l| is_option(l)) else {
            continue;
        };
        let var = var_name(long);
        let Some(raw) = lookup(&var) else { continue };
        let values = if is_flag(arg) {
            match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => vec![],
                "" | "0" | "false" | "no" | "off" => continue,
                _ => bail!(
                    "{var}={raw}: --{long} is a switch; expected 1/true/yes/on or 0/false/no/off"
                ),
            }
        } else if takes_several(arg) {
            match shlex::split(&raw) {
                Some(words) => words,
                None => bail!(
                    "{var}={raw}: unbalanced quotes (values are shell-quoted and space-separated)"
                ),
            }
        } else {
            vec![raw]
        };
        out.push(Setting {
            long: long.to_string(),
            values,
            origin: var,
        });
    }
    Ok(out)
}

/// Whether the option repeats or takes more than one value.
fn takes_several(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1)
}

/// Values per occurrence of the option (2 for `--url-alias URL PATH`).
fn per_occurrence(arg: &Arg) -> usize {
    arg.get_num_args().map_or(1, |n| n.min_values().max(1))
}

/// The arguments for `settings`, dropping those whose option `given` says is set higher.
pub fn to_args(
    sub: &Command,
    settings: &[Setting],
    given: &dyn Fn(&str) -> bool,
) -> Result<Vec<OsString>> {
    let mut out = Vec::new();
    for s in settings {
        let Some(arg) = sub
            .get_arguments()
            .find(|a| a.get_long() == Some(s.long.as_str()) && is_option(&s.long))
        else {
            bail!("{}: unknown option --{}", s.origin, s.long);
        };
        if given(arg.get_id().as_str()) {
            continue;
        }
        if is_flag(arg) {
            out.push(OsString::from(format!("--{}", s.long)));
            continue;
        }
        let n = per_occurrence(arg);
        if s.values.is_empty() || s.values.len() % n != 0 {
            bail!(
                "{}: --{} takes {n} value(s) per use, got {}",
                s.origin,
                s.long,
                s.values.len()
            );
        }
        if s.values.len() > n && !matches!(arg.get_action(), ArgAction::Append) {
            bail!("{}: --{} takes one value", s.origin, s.long);
        }
        for chunk in s.values.chunks(n) {
            if n == 1 {
                out.push(OsString::from(format!("--{}={}", s.long, chunk[0])));
            } else {
                out.push(OsString::from(format!("--{}", s.long)));
                out.extend(chunk.iter().map(OsString::from));
            }
        }
    }
    Ok(out)
}

/// The argument vector with the lower layers inserted after the subcommand name:
/// `project` (lowest), then `env`, then the original arguments. `matches` are those of
/// the subcommand parsed from the original arguments alone; `expand` is applied to the
/// inserted arguments.
pub fn layer(
    sub: &Command,
    matches: &ArgMatches,
    args: &[OsString],
    env: &[Setting],
    project: &[Setting],
    expand: &dyn Fn(OsString) -> OsString,
) -> Result<Vec<OsString>> {
    let given = |id: &str| {
        matches.try_get_raw(id).is_ok()
            && matches.value_source(id) == Some(ValueSource::CommandLine)
    };
    // The positional entry point counts as --entry-point, which would win over it.
    let on_command_line = |id: &str| given(id) || (id == "entry_point" && given("entry"));
    let env_ids: Vec<String> = env
        .iter()
        .filter_map(|s| {
            sub.get_arguments()
                .find(|a| a.get_long() == Some(s.long.as_str()))
                .map(|a| a.get_id().to_string())
        })
        .collect();
    let from_env = to_args(sub, env, &on_command_line)?;
    let from_project = to_args(sub, project, &|id: &str| {
        on_command_line(id) || env_ids.iter().any(|e| e == id)
    })?;
    let split = args.len().min(2);
    let mut out: Vec<OsString> = args[..split].to_vec();
    out.extend(from_project.into_iter().map(expand));
    out.extend(from_env.into_iter().map(expand));
    out.extend_from_slice(&args[split..]);
    Ok(out)
}

/// Parses the arguments with the layers of a layered subcommand: the project's
/// `pyproject.toml`, the `MOD_WSGI_EXPRESS_*` variables, and, when no layer names an
/// entry point or application type, the application `discovery.rs` finds in the
/// project directory `dir` (announced on stdout). `expand` is applied to the layers'
/// arguments (`$VAR` expansion, as for the command line's). Usage errors exit as clap does.
pub fn parse(
    args: Vec<OsString>,
    dir: &Path,
    expand: impl Fn(OsString) -> OsString,
) -> Result<ArgMatches> {
    let mut cmd = annotate(crate::cli::Cli::command());
    cmd.build();
    let first = cmd
        .clone()
        .try_get_matches_from(&args)
        .unwrap_or_else(|e| e.exit());
    let Some((name, sub_matches)) = first.subcommand().filter(|(n, _)| LAYERED.contains(n)) else {
        return Ok(first);
    };
    let sub = cmd.find_subcommand(name).expect("subcommand").clone();
    let env = from_env(&sub, |v| std::env::var(v).ok())?;
    let project = crate::project::settings(dir)?;
    let layered = layer(&sub, sub_matches, &args, &env, &project, &expand)?;
    let matches = cmd
        .clone()
        .try_get_matches_from(&layered)
        .unwrap_or_else(|e| e.exit());
    let m = matches.subcommand().expect("subcommand").1;
    let chosen = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    if chosen("entry") || chosen("entry_point") || chosen("application_type") {
        return Ok(matches);
    }
    let settings = std::env::var("DJANGO_SETTINGS_MODULE").ok();
    let Some(found) = crate::discovery::discover(dir, settings.as_deref())? else {
        return Ok(matches);
    };
    println!(
        "mod_wsgi-express: no entry point given; using {}",
        found.description
    );
    let mut with_app: Vec<OsString> = layered[..2].to_vec();
    with_app.extend(found.args.iter().map(OsString::from));
    with_app.extend_from_slice(&layered[2..]);
    Ok(cmd
        .try_get_matches_from(with_app)
        .unwrap_or_else(|e| e.exit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub() -> Command {
        let mut cmd = crate::cli::Cli::command();
        cmd.build();
        cmd.find_subcommand("start-server").unwrap().clone()
    }

    fn env_of(pairs: &[(&str, &str)]) -> Vec<Setting> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_env(&sub(), |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn variable_names() {
        assert_eq!(var_name("url-alias"), "MOD_WSGI_EXPRESS_URL_ALIAS");
        assert_eq!(var_name("port"), "MOD_WSGI_EXPRESS_PORT");
    }

    #[test]
    fn lists_are_shell_split_and_flags_parsed() {
        let s = env_of(&[
            ("MOD_WSGI_EXPRESS_URL_ALIAS", "'/a b' /srv/x /c /d"),
            ("MOD_WSGI_EXPRESS_ACCESS_LOG", "yes"),
            ("MOD_WSGI_EXPRESS_HTTP2", "0"),
            ("MOD_WSGI_EXPRESS_PORT", "9000"),
        ]);
        let args = to_args(&sub(), &s, &|_| false).unwrap();
        let args: Vec<String> = args.into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--port=9000",
                "--url-alias",
                "/a b",
                "/srv/x",
                "--url-alias",
                "/c",
                "/d",
                "--access-log"
            ]
        );
    }

    #[test]
    fn odd_pair_and_bad_switch_are_errors() {
        let s = env_of(&[("MOD_WSGI_EXPRESS_URL_ALIAS", "/a")]);
        let e = to_args(&sub(), &s, &|_| false).unwrap_err().to_string();
        assert!(
            e.contains("MOD_WSGI_EXPRESS_URL_ALIAS") && e.contains("2 value"),
            "{e}"
        );
        let e = from_env(&sub(), |n| {
            (n == "MOD_WSGI_EXPRESS_ACCESS_LOG").then(|| "maybe".into())
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("--access-log is a switch"), "{e}");
    }

    #[test]
    fn help_names_the_variable() {
        let mut cmd = annotate(crate::cli::Cli::command());
        let help = cmd
            .find_subcommand_mut("start-server")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("[env: MOD_WSGI_EXPRESS_PORT]"), "{help}");
        assert!(help.contains("[env: MOD_WSGI_EXPRESS_URL_ALIAS]"));
        assert!(!help.contains("MOD_WSGI_EXPRESS_HELP") && !help.contains("EXPRESS_VERSION"));
    }

    #[test]
    fn prefix_is_not_used_by_the_generated_root() {
        let fixture = crate::options::testing::Fixture::new(&["event"]);
        let script = crate::apachectl::render(&fixture.options(&[]));
        assert!(!script.contains(PREFIX));
    }
}
