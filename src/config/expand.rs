//! The `%{...}` forms mod_wsgi expands per request in process-group,
//! application-group and callable-object values: their check when the
//! configuration is read (so a malformed one fails `apachectl configtest`
//! instead of reaching a request) and their expansion ([`expand_group`],
//! [`expand_callable`]), which `handler::group` runs per request, without
//! the GIL, with the request's answers ([`Expansions`]). Pure functions, no
//! FFI (so the expansion is unit-tested and fuzzed without Apache).

use super::error::ConfigError;

/// Checks a process or application group name: a literal, or one of the
/// `%{...}` forms mod_wsgi expands per request.
pub fn check_group(name: &str, what: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::EmptyName {
            directive: name.to_string(),
            what,
        });
    }
    if let Some(rest) = value.strip_prefix("%{") {
        let ok = matches!(rest, "GLOBAL}" | "SERVER}" | "HOST}" | "RESOURCE}")
            || env_reference(value).is_some();
        if !ok {
            return Err(ConfigError::InvalidGroup {
                directive: name.to_string(),
                what,
                value: value.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks a callable object name: a literal, or `%{ENV:VARIABLE}` (the only
/// `%{...}` form mod_wsgi expands for it).
pub fn check_callable(name: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::EmptyName {
            directive: name.to_string(),
            what: "callable object",
        });
    }
    if value.starts_with("%{") && env_reference(value).is_none() {
        return Err(ConfigError::InvalidCallable {
            directive: name.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

/// The variable of a whole `%{ENV:VARIABLE}` value (non-empty, no braces).
pub fn env_reference(value: &str) -> Option<&str> {
    value
        .strip_prefix("%{ENV:")?
        .strip_suffix('}')
        .filter(|v| !v.is_empty() && !v.contains(['{', '}']))
}

/// What the `%{...}` forms stand for in one request (`handler::group`
/// answers from Apache's request record).
pub trait Expansions {
    /// `%{RESOURCE}`: `host[:port]|SCRIPT_NAME`.
    fn resource(&self) -> String;
    /// `%{SERVER}`: the server's name, with the port unless 80 or 443.
    fn server(&self) -> String;
    /// `%{HOST}`: the request's host (else the server's), port as above.
    fn host(&self) -> String;
    /// `%{ENV:var}`: the request note, else the environment variable of the
    /// request, else of the process; `None` if unset.
    fn env(&self, var: &str) -> Option<String>;
}

/// A process or application group value as mod_wsgi expands it: `%{GLOBAL}`
/// is "", `%{ENV:X}` whose value is itself a (non-ENV) `%{...}` form is
/// expanded once more, an unset `%{ENV:X}` is `default()`; a literal, or a
/// malformed `%{...}`, is taken as it is (never sliced).
pub fn expand_group(value: &str, x: &dyn Expansions, default: &dyn Fn() -> String) -> String {
    match value.strip_prefix('%') {
        None => value.to_string(),
        Some("{GLOBAL}") => String::new(),
        Some("{RESOURCE}") => x.resource(),
        Some("{SERVER}") => x.server(),
        Some("{HOST}") => x.host(),
        Some(_) => match env_reference(value) {
            // Not an ENV form, so this recursion is one level deep.
            Some(var) => match x.env(var) {
                Some(v) if v.starts_with('%') && !v.starts_with("%{ENV:") => {
                    expand_group(&v, x, default)
                }
                Some(v) => v,
                None => default(),
            },
            None => value.to_string(),
        },
    }
}

/// A callable object value: `%{ENV:X}` is X's value (`application` if
/// unset); anything else, a malformed `%{...}` included, is the name itself.
pub fn expand_callable(value: &str, x: &dyn Expansions) -> String {
    match env_reference(value) {
        Some(var) => x.env(var).unwrap_or_else(|| "application".to_string()),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request on `www.example.com:8080` with `A=%{SERVER}`, `B=%{ENV:A}`
    /// and `C=%{OTHER}` set.
    struct Req;

    impl Expansions for Req {
        fn resource(&self) -> String {
            "www.example.com:8080|/app".to_string()
        }
        fn server(&self) -> String {
            "www.example.com:8080".to_string()
        }
        fn host(&self) -> String {
            "alias.example.com:8080".to_string()
        }
        fn env(&self, var: &str) -> Option<String> {
            let v = match var {
                "A" => "%{SERVER}",
                "B" => "%{ENV:A}",
                "C" => "%{OTHER}",
                "P" => "plain",
                _ => return None,
            };
            Some(v.to_string())
        }
    }

    #[test]
    fn expansion() {
        let d = || "dflt".to_string();
        let e = |v| expand_group(v, &Req, &d);
        assert_eq!(e("literal"), "literal");
        assert_eq!(e("%{GLOBAL}"), "");
        assert_eq!(e("%{RESOURCE}"), "www.example.com:8080|/app");
        assert_eq!(e("%{SERVER}"), "www.example.com:8080");
        assert_eq!(e("%{HOST}"), "alias.example.com:8080");
        assert_eq!(e("%{ENV:P}"), "plain");
        assert_eq!(e("%{ENV:A}"), "www.example.com:8080");
        // An ENV value naming another ENV variable is not followed.
        assert_eq!(e("%{ENV:B}"), "%{ENV:A}");
        assert_eq!(e("%{ENV:C}"), "%{OTHER}");
        assert_eq!(e("%{ENV:UNSET}"), "dflt");
        for malformed in ["%{ENV:", "%{FOO", "%{", "%", "%{ENV:X}y"] {
            assert_eq!(e(malformed), malformed);
        }
        assert_eq!(expand_callable("%{ENV:P}", &Req), "plain");
        assert_eq!(expand_callable("%{ENV:UNSET}", &Req), "application");
        assert_eq!(expand_callable("%{ENV:A}", &Req), "%{SERVER}");
        assert_eq!(expand_callable("%{GLOBAL}", &Req), "%{GLOBAL}");
        assert_eq!(expand_callable("app", &Req), "app");
    }

    #[test]
    fn group_forms() {
        for ok in [
            "%{GLOBAL}",
            "%{SERVER}",
            "%{HOST}",
            "%{RESOURCE}",
            "%{ENV:X}",
            "literal",
        ] {
            assert!(check_group("D", "group", ok).is_ok(), "{ok}");
        }
        for bad in [
            "%{ENV:}",
            "%{OTHER}",
            "",
            "%{ENV:",
            "%{FOO",
            "%{",
            "%{ENV:X}y",
            "%{ENV:X}}",
        ] {
            assert!(check_group("D", "group", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_references() {
        assert_eq!(env_reference("%{ENV:A_B}"), Some("A_B"));
        for bad in [
            "%{ENV:",
            "%{ENV:}",
            "%{ENV:X",
            "%{ENV:X}y",
            "%{ENV:{X}}",
            "ENV:X",
        ] {
            assert_eq!(env_reference(bad), None, "{bad}");
        }
        assert!(check_callable("D", "myapp").is_ok());
        assert!(check_callable("D", "%{ENV:X}").is_ok());
        for bad in ["", "%{ENV:", "%{FOO", "%{GLOBAL}"] {
            assert!(check_callable("D", bad).is_err(), "{bad}");
        }
    }
}
