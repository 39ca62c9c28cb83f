//! `WSGIDispatchScript path [application-group=NAME]` (server config,
//! virtual host, `<Directory>`, `<Location>`, `<Files>`; not `.htaccess`,
//! as mod_wsgi registers it): the script whose optional `process_group`,
//! `application_group` and `callable_object` functions the Apache child
//! calls per request (`handler::dispatch`). As mod_wsgi, the option value
//! may be any non-empty name; only `%{GLOBAL}` (the default), `%{SERVER}`
//! and `%{HOST}` are expanded for it, anything else names an interpreter
//! literally. Seeing the directive means Python must start in the Apache
//! children even under `WSGIRestrictEmbedded On` (mod_wsgi's
//! `wsgi_python_required`). Pure parsing, no FFI.

use super::directives::Target;
use super::error::ConfigError;

/// One `WSGIDispatchScript`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DispatchScript {
    pub script: String,
    /// `application-group=`, unexpanded; `None` is `%{GLOBAL}`.
    pub application_group: Option<String>,
}

/// Parses `WSGIDispatchScript` into the directory (or server default) record.
pub fn directive(t: &mut Target<'_>, name: &str, args: &[String]) -> Result<(), ConfigError> {
    let Some((script, options)) = args.split_first().filter(|(s, _)| !s.is_empty()) else {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: "the location of the dispatch script",
            example: Some("/srv/dispatch.py application-group=%{GLOBAL}"),
        });
    };
    let mut application_group = None;
    for opt in options {
        let expected = "application-group=".to_string();
        let Some((key, value)) = opt.split_once('=') else {
            return Err(ConfigError::OptionForm {
                directive: name.to_string(),
                option: opt.clone(),
                expected,
            });
        };
        if key != "application-group" {
            return Err(ConfigError::UnknownOption {
                directive: name.to_string(),
                option: opt.clone(),
                expected,
            });
        }
        if value.is_empty() {
            return Err(ConfigError::EmptyName {
                directive: name.to_string(),
                what: "application group",
            });
        }
        application_group = Some(value.to_string());
    }
    t.dir.dispatch_script = Some(DispatchScript {
        script: script.clone(),
        application_group,
    });
    t.server.python_in_children = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DirConfig, ServerConfig};

    fn parse(args: &[&str]) -> Result<(DirConfig, ServerConfig), ConfigError> {
        let (mut server, mut dir) = (ServerConfig::default(), DirConfig::default());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut t = Target {
            server: &mut server,
            dir: &mut dir,
        };
        directive(&mut t, "WSGIDispatchScript", &args)?;
        Ok((dir, server))
    }

    #[test]
    fn script_and_group() {
        let (d, s) = parse(&["/srv/d.py", "application-group=%{RESOURCE}"]).unwrap();
        let ds = d.dispatch_script.unwrap();
        assert_eq!(ds.script, "/srv/d.py");
        // Any non-empty name, as mod_wsgi (taken literally when not expanded).
        assert_eq!(ds.application_group.as_deref(), Some("%{RESOURCE}"));
        assert!(s.python_in_children);
        let (d, _) = parse(&["/srv/d.py"]).unwrap();
        assert_eq!(d.dispatch_script.unwrap().application_group, None);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse(&[]),
            Err(ConfigError::MissingArguments { .. })
        ));
        assert!(matches!(
            parse(&["/d.py", "process-group=x"]),
            Err(ConfigError::UnknownOption { .. })
        ));
        assert!(matches!(
            parse(&["/d.py", "application-group="]),
            Err(ConfigError::EmptyName { .. })
        ));
        assert!(matches!(
            parse(&["/d.py", "junk"]),
            Err(ConfigError::OptionForm { .. })
        ));
    }
}
