//! The auth script directives, as mod_wsgi 6 parses them (`wsgi_config.c`):
//! `WSGIAccessScript`, `WSGIAuthUserScript` and `WSGIAuthGroupScript`
//! (`path [application-group=NAME]`, in `<Directory>`/`<Location>` or
//! `.htaccess` with `AllowOverride AuthConfig`) and `WSGIGroupAuthoritative`
//! (On/Off, parsed and kept, with no effect in mod_wsgi 6 either: Apache's
//! `Require` containers decide how authorization providers combine). A
//! configured script makes Python start in each Apache child even under
//! `WSGIRestrictEmbedded On` (the scripts run there, as mod_wsgi's do).

use super::directives::{Target, on_off};
use super::error::ConfigError;
use std::sync::atomic::{AtomicBool, Ordering};

/// One auth script: its file and the application group (interpreter) it
/// runs in (`None`: `%{GLOBAL}`, the main interpreter, as mod_wsgi).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthScript {
    pub script: String,
    pub application_group: Option<String>,
}

/// Set once the configuration names an auth script (as mod_wsgi's
/// `wsgi_python_required`).
static PYTHON_REQUIRED: AtomicBool = AtomicBool::new(false);

/// Whether the configuration names an auth script, so the Apache children
/// need Python whatever `WSGIRestrictEmbedded` says.
pub fn python_required() -> bool {
    PYTHON_REQUIRED.load(Ordering::Relaxed)
}

/// `path [application-group=NAME]`; `what` names the script in errors as
/// mod_wsgi's messages do (`access`, `auth user`, `auth group`).
fn parse(name: &str, args: &[String], what: &'static str) -> Result<AuthScript, ConfigError> {
    let Some((script, opts)) = args.split_first().filter(|(s, _)| !s.is_empty()) else {
        return Err(ConfigError::MissingArguments {
            directive: name.to_string(),
            needs: match what {
                "access" => "the location of the access script",
                "auth user" => "the location of the auth user script",
                _ => "the location of the auth group script",
            },
            example: None,
        });
    };
    let mut out = AuthScript {
        script: script.clone(),
        application_group: None,
    };
    for opt in opts {
        let Some((key, value)) = opt.split_once('=') else {
            return Err(ConfigError::OptionForm {
                directive: name.to_string(),
                option: opt.clone(),
                expected: "application-group=".to_string(),
            });
        };
        if key != "application-group" {
            return Err(ConfigError::UnknownOption {
                directive: name.to_string(),
                option: opt.clone(),
                expected: "application-group=".to_string(),
            });
        }
        if value.is_empty() {
            return Err(ConfigError::EmptyName {
                directive: name.to_string(),
                what: "application group",
            });
        }
        out.application_group = Some(value.to_string());
    }
    PYTHON_REQUIRED.store(true, Ordering::Relaxed);
    Ok(out)
}

pub(super) fn access_script(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    t.dir.access_script = Some(parse(name, args, "access")?);
    Ok(())
}

pub(super) fn auth_user_script(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    t.dir.auth_user_script = Some(parse(name, args, "auth user")?);
    Ok(())
}

pub(super) fn auth_group_script(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    t.dir.auth_group_script = Some(parse(name, args, "auth group")?);
    Ok(())
}

pub(super) fn group_authoritative(
    t: &mut Target<'_>,
    name: &str,
    args: &[String],
) -> Result<(), ConfigError> {
    t.dir.group_authoritative = Some(on_off(name, args)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DirConfig, ServerConfig};

    fn run(f: super::super::directives::Parser, args: &[&str]) -> Result<DirConfig, String> {
        let (mut s, mut d) = (ServerConfig::default(), DirConfig::default());
        let words: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        f(
            &mut Target {
                server: &mut s,
                dir: &mut d,
            },
            "WSGIAuthUserScript",
            &words,
        )
        .map_err(|e| e.to_string())?;
        Ok(d)
    }

    #[test]
    fn script_and_group() {
        let d = run(auth_user_script, &["/a.py"]).unwrap();
        assert_eq!(d.auth_user_script.unwrap().application_group, None);
        let d = run(access_script, &["/a.py", "application-group=%{GLOBAL}"]).unwrap();
        let a = d.access_script.unwrap();
        assert_eq!(a.script, "/a.py");
        assert_eq!(a.application_group.as_deref(), Some("%{GLOBAL}"));
        assert!(run(auth_group_script, &[]).is_err());
        assert!(run(auth_group_script, &["/a.py", "process-group=x"]).is_err());
        assert!(run(auth_group_script, &["/a.py", "application-group="]).is_err());
        assert!(run(auth_group_script, &["/a.py", "x"]).is_err());
        assert_eq!(
            run(group_authoritative, &["off"])
                .unwrap()
                .group_authoritative,
            Some(false)
        );
        assert!(run(group_authoritative, &["maybe"]).is_err());
    }
}
