//! `WSGIImportScript` (and `WSGIScriptAlias` with static `process-group` and
//! `application-group`, as mod_wsgi): at process start, right after Python
//! is initialised, every script of this process group is loaded into its
//! application group's interpreter (as the module mod_wsgi names it, so the
//! first request finds it loaded): `%{GLOBAL}` in the Apache children
//! (`run`, from `child_init`), a daemon group's name in its daemons
//! (`run_group`, from `daemon::process`, before the workers start).
//! Failures are logged; the process keeps going. Called without the GIL.

use crate::apache::log::{self, Level};
use crate::apache::log_ids::IMPORT_SCRIPT_FAILED;
use crate::apache::request::Server;
use crate::config::ServerConfig;
use crate::python::{interp, script};

/// Whether any host imports a script into the Apache children.
pub fn any(main: Server) -> bool {
    scripts(main).next().is_some()
}

fn scripts(main: Server) -> impl Iterator<Item = (Server, crate::config::ImportScript)> {
    scripts_of(main, "%{GLOBAL}")
}

fn scripts_of(
    main: Server,
    process_group: &str,
) -> impl Iterator<Item = (Server, crate::config::ImportScript)> {
    let mut seen = std::collections::HashSet::new();
    main.distinct_configs::<ServerConfig>()
        .into_iter()
        .flat_map(|(s, c)| c.import_scripts.clone().into_iter().map(move |i| (s, i)))
        .filter(move |(_, i)| i.process_group == process_group)
        // A script listed twice (an alias inherited by virtual hosts) loads once.
        .filter(move |(_, i)| seen.insert((i.script.clone(), i.application_group.clone())))
        .collect::<Vec<_>>()
        .into_iter()
}

/// Loads every embedded `WSGIImportScript`.
pub fn run(main: Server) {
    run_group(main, "%{GLOBAL}")
}

/// Loads every script preloaded into `process_group` (a daemon group's name, or
/// `%{GLOBAL}` for the Apache children).
pub fn run_group(main: Server, process_group: &str) {
    for (server, import) in scripts_of(main, process_group) {
        let group = if import.application_group == "%{GLOBAL}" {
            ""
        } else {
            import.application_group.as_str()
        };
        let interp = match interp::for_group(group) {
            Ok(i) => i,
            Err(e) => {
                log::server(Level::Err, Some(server), &format!("{} {e}", e.log_id()));
                continue;
            }
        };
        let failure = interp::run(interp, |py| {
            script::load(py, &import.script, None, None)
                .err()
                .map(|e| crate::python::format_exception(py, &e))
        });
        if let Some(lines) = failure {
            log::server(
                Level::Err,
                Some(server),
                &format!(
                    "{IMPORT_SCRIPT_FAILED} Failed to import WSGIImportScript '{}' into application group \
                     '{}'.",
                    import.script, import.application_group
                ),
            );
            for l in lines {
                log::server(Level::Err, Some(server), &l);
            }
        }
    }
}
