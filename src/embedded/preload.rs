//! `WSGIImportScript` in embedded mode: at child start, right after Python
//! is initialised, every script whose `process-group` is `%{GLOBAL}` is
//! loaded into its application group's interpreter (as the module mod_wsgi
//! names it, so the first request finds it loaded). Scripts for a daemon
//! group are left to that group. Failures are logged; the child keeps going.
//! Called from `child_init` without the GIL.

use crate::apache::log::{self, Level};
use crate::apache::request::Server;
use crate::config::ServerConfig;
use crate::python::{interp, script};

/// Whether any host imports a script into the Apache children.
pub fn any(main: Server) -> bool {
    scripts(main).next().is_some()
}

fn scripts(main: Server) -> impl Iterator<Item = (Server, crate::config::ImportScript)> {
    main.distinct_configs::<ServerConfig>()
        .into_iter()
        .flat_map(|(s, c)| {
            c.import_scripts
                .clone()
                .into_iter()
                .filter(|i| i.process_group == "%{GLOBAL}")
                .map(move |i| (s, i))
        })
}

/// Loads every embedded `WSGIImportScript`.
pub fn run(main: Server) {
    for (server, import) in scripts(main) {
        let group = if import.application_group == "%{GLOBAL}" {
            ""
        } else {
            import.application_group.as_str()
        };
        let interp = match interp::for_group(group) {
            Ok(i) => i,
            Err(msg) => {
                log::server(Level::Err, Some(server), &format!("[WSGIRS0114] {msg}"));
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
                    "[WSGIRS0304] Failed to import WSGIImportScript '{}' into application group \
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
