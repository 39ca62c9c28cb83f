//! The `%{...}` forms mod_wsgi expands per request in process-group,
//! application-group and callable-object values, checked when the
//! configuration is read (so a malformed one fails `apachectl configtest`
//! instead of reaching a request), and the parse of `%{ENV:VARIABLE}` that
//! the request-time expansion (`handler::group`, without the GIL) shares.
//! Pure functions, no FFI.

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

#[cfg(test)]
mod tests {
    use super::*;

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
