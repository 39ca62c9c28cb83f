//! Which script files the configuration can hand to a daemon process, and
//! which process groups `WSGIRestrictProcess` allows for them: what a daemon
//! checks before it runs the script a connection names (defence in depth
//! behind the per-group secret). Built once per generation in the Apache
//! parent from Apache's configuration tree (`apache::conftree`): the
//! targets of `WSGIScriptAlias` (a file or a directory), the fixed part of
//! `WSGIScriptAliasMatch` targets, `WSGIHandlerScript` and
//! `WSGIImportScript` files, the `<Directory>` of any directive that names
//! the `wsgi-script` handler (`AddHandler`, `SetHandler`, `AddType`,
//! `RewriteRule [H=]`, ...) and of any `AllowOverride` that lets `.htaccess`
//! files name it. A handler named outside a `<Directory>` (server level,
//! `<Location>`, a regular expression) maps any file, and the check then
//! only refuses paths that are not plain absolute paths. Pure data: no FFI.

use super::directives::{Target, apply};
use super::{DirConfig, ServerConfig, words};
use crate::apache::conftree::{ConfLine, Section};

/// The handler names mod_wsgi serves (`r->handler`, or the content type
/// when no handler is set).
const HANDLERS: [&str; 2] = ["wsgi-script", "application/x-httpd-wsgi"];

/// What the configuration maps to WSGI scripts, and where
/// `WSGIRestrictProcess` applies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScriptScope {
    /// Script files named exactly.
    files: Vec<String>,
    /// Directories (ending in `/`) whose files may be scripts.
    dirs: Vec<String>,
    /// Where the configuration maps any file (`file:line` of the first
    /// directive that does), if it does.
    anywhere: Option<String>,
    /// `WSGIRestrictProcess` lists by directory (ending in `/`).
    restrictions: Vec<(String, Vec<String>)>,
}

/// Why a daemon refuses a script path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRefusal {
    #[error("'{0}' is not a plain absolute path")]
    NotPlain(String),
    #[error("'{0}' is not a WSGI script the configuration maps")]
    Unmapped(String),
    #[error("WSGIRestrictProcess for '{dir}' does not allow process group '{group}'")]
    Restricted { dir: String, group: String },
}

/// `dir` as a prefix ending in `/`.
fn as_dir(dir: &str) -> String {
    let mut d = dir.trim_end_matches('/').to_string();
    d.push('/');
    d
}

/// The fixed leading directory of a path that may hold wildcards or
/// substitutions (`/srv/*/app`, `/srv/$1.wsgi`): up to the last `/` before
/// the first such character.
fn fixed_dir(path: &str) -> String {
    let end = path
        .find(['*', '?', '[', '$', '&', '\\'])
        .unwrap_or(path.len());
    match path[..end].rfind('/') {
        Some(i) => path[..=i].to_string(),
        None => "/".to_string(),
    }
}

/// The directory a `<Directory>` section covers, or `None` when the
/// directive is not inside a plain `<Directory>` (server level,
/// `<Location>`, `<DirectoryMatch>`, `<Directory ~ ...>`).
fn directory_of(sections: &[Section]) -> Option<String> {
    let s = sections.iter().find(|s| {
        !matches!(
            s.name.as_str(),
            "Files" | "FilesMatch" | "If" | "ElseIf" | "Else"
        )
    })?;
    if !s.name.eq_ignore_ascii_case("Directory") || s.arg.starts_with('~') {
        return None;
    }
    let arg = s.arg.trim_matches('"');
    arg.starts_with('/').then(|| fixed_dir(&as_dir(arg)))
}

/// Whether an `AllowOverride`/`AllowOverrideList` line lets `.htaccess`
/// files set a handler.
fn overrides_handlers(line: &ConfLine) -> bool {
    let args = line.args.to_ascii_lowercase();
    let words: Vec<&str> = args.split_whitespace().collect();
    if line.directive.eq_ignore_ascii_case("AllowOverride") {
        return words.iter().any(|w| *w == "all" || *w == "fileinfo");
    }
    if line.directive.eq_ignore_ascii_case("AllowOverrideList") {
        return words.iter().any(|w| {
            matches!(
                *w,
                "addhandler" | "sethandler" | "addtype" | "forcetype" | "rewriterule"
            )
        });
    }
    false
}

/// A WSGI directive parsed as Apache's callback parses it.
fn parse(line: &ConfLine) -> Option<(ServerConfig, DirConfig)> {
    let (mut server, mut dir) = (ServerConfig::default(), DirConfig::default());
    let mut t = Target {
        server: &mut server,
        dir: &mut dir,
    };
    apply(&mut t, &line.directive, &words::split(&line.args)).ok()?;
    Some((server, dir))
}

impl ScriptScope {
    /// The scope of a configuration, from its lines.
    pub fn of(lines: &[ConfLine]) -> ScriptScope {
        let mut scope = ScriptScope::default();
        for line in lines {
            scope.add(line);
        }
        scope
    }

    fn add(&mut self, line: &ConfLine) {
        let name = line.directive.as_str();
        if name.len() > 4 && name[..4].eq_ignore_ascii_case("WSGI") {
            return self.add_wsgi(line);
        }
        let lower = line.args.to_ascii_lowercase();
        let names_handler = HANDLERS.iter().any(|h| lower.contains(h));
        if names_handler || overrides_handlers(line) {
            match directory_of(&line.sections) {
                Some(dir) => self.dirs.push(dir),
                None => {
                    self.anywhere.get_or_insert_with(|| line.origin.clone());
                }
            }
        }
    }

    fn add_wsgi(&mut self, line: &ConfLine) {
        let Some((server, dir)) = parse(line) else {
            return;
        };
        for alias in &server.aliases {
            if alias.regex.is_some() {
                self.dirs.push(fixed_dir(&alias.target));
            } else {
                self.files.push(alias.target.clone());
                self.dirs.push(as_dir(&alias.target));
            }
        }
        self.files
            .extend(server.import_scripts.iter().map(|i| i.script.clone()));
        self.files
            .extend(dir.handler_scripts.iter().map(|h| h.script.clone()));
        if let Some(groups) = dir.restrict_process {
            // Outside a <Directory> (a <Location>) the path cannot tell.
            let at = if line.sections.is_empty() {
                Some("/".to_string())
            } else {
                directory_of(&line.sections)
            };
            if let Some(at) = at {
                self.restrictions.push((at, groups));
            }
        }
    }

    /// Whether a daemon of process group `group` may run script `path`.
    pub fn check(&self, path: &str, group: &str) -> Result<(), ScopeRefusal> {
        let plain = path.starts_with('/')
            && !path.contains('\0')
            && !path.split('/').any(|c| c == "." || c == "..");
        if !plain {
            return Err(ScopeRefusal::NotPlain(path.to_string()));
        }
        let mapped = self.anywhere.is_some()
            || self.files.iter().any(|f| f == path)
            || self.dirs.iter().any(|d| path.starts_with(d.as_str()));
        if !mapped {
            return Err(ScopeRefusal::Unmapped(path.to_string()));
        }
        // The deepest restriction around the path decides, as Apache's
        // merge of nested <Directory> sections does.
        let deepest = self
            .restrictions
            .iter()
            .filter(|(dir, _)| path.starts_with(dir.as_str()))
            .max_by_key(|(dir, _)| dir.len());
        match deepest {
            Some((dir, groups)) if !groups.iter().any(|g| g == group) => {
                Err(ScopeRefusal::Restricted {
                    dir: dir.clone(),
                    group: group.to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "script_scope_tests.rs"]
mod tests;
