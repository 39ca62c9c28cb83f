//! Per-request expansion of process-group, application-group and
//! callable-object values (`%{GLOBAL}`, `%{SERVER}`, `%{HOST}`,
//! `%{RESOURCE}`, `%{ENV:VAR}`), exactly as mod_wsgi computes them: the port
//! is appended unless it is 80 or 443, and `%{RESOURCE}` is
//! `host[:port]|SCRIPT_NAME`. Values are checked at configuration time
//! (`config::expand::check_group`/`check_callable`); a malformed `%{...}`
//! that got here anyway is taken literally, never sliced. Runs in the
//! handler, without the GIL. The expansion rules themselves are the pure
//! `config::expand::expand_group`/`expand_callable`; this file answers
//! their questions from the request.

use crate::apache::request::Request;
#[cfg(test)]
use crate::config::expand::env_reference;
use crate::config::expand::{Expansions, expand_callable, expand_group};
use crate::wsgi::environ::EnvironData;

fn with_port(host: &str, port: u16) -> String {
    if port != 80 && port != 443 {
        format!("{host}:{port}")
    } else {
        host.to_string()
    }
}

/// Collapses runs of '/' into one.
pub fn no2slash(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        if b == b'/' && out.last() == Some(&b'/') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Index in `uri` where `path_info` starts, matching from the end and
/// treating runs of slashes in `uri` as one (mod_wsgi's wsgi_find_path_info).
pub fn find_path_info(uri: &[u8], path_info: &[u8]) -> usize {
    let (mut i, mut j) = (uri.len(), path_info.len());
    while i > 0 && j > 0 {
        let (u, p) = (uri[i - 1], path_info[j - 1]);
        if u == b'/' && p == b'/' {
            while i > 0 && uri[i - 1] == b'/' {
                i -= 1;
            }
            while j > 0 && path_info[j - 1] == b'/' {
                j -= 1;
            }
        } else if u == p {
            i -= 1;
            j -= 1;
        } else {
            break;
        }
    }
    i
}

/// SCRIPT_NAME as mod_wsgi derives it: the URI without PATH_INFO, slashes collapsed.
pub fn script_name(r: &Request<'_>) -> Vec<u8> {
    let uri = r.uri_bytes();
    let name = match r.path_info() {
        Some(pi) if !pi.is_empty() => &uri[..find_path_info(uri, pi)],
        _ => uri,
    };
    no2slash(name)
}

/// `%{ENV:var}`: the request note, else the request's environment variable
/// (with `cgi`, also the CGI variables collected for it), else the process's.
fn env_value(r: &Request<'_>, var: &str, cgi: Option<&EnvironData>) -> Option<String> {
    r.notes()
        .get_str(var)
        .or_else(|| r.subprocess_env().get_str(var))
        .or_else(|| {
            cgi.and_then(|e| e.get(var))
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .or_else(|| std::env::var(var).ok())
}

fn resource(r: &Request<'_>) -> String {
    let host = r.server().hostname().into_owned();
    let mut name = String::from_utf8_lossy(&script_name(r)).into_owned();
    if !crate::python::script::case_sensitive() {
        name = name.to_lowercase();
    }
    format!("{}|{}", with_port(&host, r.server_port()), name)
}

/// The `%{...}` answers for one request (and, for values a dispatch script
/// returned, its collected CGI variables).
struct ForRequest<'r, 'a>(&'r Request<'a>, Option<&'r EnvironData>);

impl Expansions for ForRequest<'_, '_> {
    fn resource(&self) -> String {
        resource(self.0)
    }

    fn server(&self) -> String {
        with_port(&self.0.server().hostname(), self.0.server_port())
    }

    fn host(&self) -> String {
        let r = self.0;
        let host = r.hostname().filter(|h| !h.is_empty());
        let host = host.unwrap_or_else(|| r.server().hostname().into_owned());
        with_port(&host, r.server_port())
    }

    fn env(&self, var: &str) -> Option<String> {
        env_value(self.0, var, self.1)
    }
}

fn expand(r: &Request<'_>, value: &str, default: &dyn Fn() -> String) -> String {
    expand_group(value, &ForRequest(r, None), default)
}

/// The application group (interpreter name; "" is the main interpreter).
pub fn application_group(r: &Request<'_>, value: Option<&str>) -> String {
    match value {
        None => resource(r),
        Some(v) => expand(r, v, &|| v.to_string()),
    }
}

/// The process group ("" means embedded mode).
pub fn process_group(r: &Request<'_>, value: Option<&str>) -> String {
    match value {
        None => String::new(),
        Some(v) => expand(r, v, &|| v.to_string()),
    }
}

/// The `application-group=` of a `WSGIDispatchScript` or an auth script
/// as mod_wsgi's `wsgi_server_group` expands it: none is `%{GLOBAL}` (""), `%{SERVER}`
/// and `%{HOST}` are expanded, anything else is the name itself.
pub fn server_group(r: &Request<'_>, value: Option<&str>) -> String {
    let x = ForRequest(r, None);
    match value {
        None | Some("%{GLOBAL}") => String::new(),
        Some("%{SERVER}") => x.server(),
        Some("%{HOST}") => x.host(),
        Some(v) => v.to_string(),
    }
}

/// The values a `WSGIDispatchScript` returned (process group, application
/// group, callable), expanded as mod_wsgi does once it has built the
/// request's environment: `%{ENV:VAR}` also finds the CGI variables in
/// `cgi`, and a callable starting with `%` other than `%{ENV:VAR}` is
/// `application`. An unset `%{ENV:VAR}` group is taken literally, as a
/// configured one.
pub fn returned(
    r: &Request<'_>,
    cgi: &EnvironData,
    [pg, ag, co]: [Option<String>; 3],
) -> [Option<String>; 3] {
    let x = ForRequest(r, Some(cgi));
    let group = |v: String| expand_group(&v, &x, &|| v.clone());
    let callable = |v: String| {
        if v.starts_with('%') && crate::config::expand::env_reference(&v).is_none() {
            "application".to_string()
        } else {
            expand_callable(&v, &x)
        }
    };
    [pg.map(group), ag.map(group), co.map(callable)]
}

/// The callable object name.
pub fn callable_object(r: &Request<'_>, value: Option<&str>) -> String {
    match value {
        None => "application".to_string(),
        // A malformed `%{...}` is refused at configuration time; were one to
        // get here, it is a (missing) literal name, never a panic.
        Some(v) => expand_callable(v, &ForRequest(r, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_info_split() {
        assert_eq!(find_path_info(b"/app/x/y", b"/x/y"), 4);
        assert_eq!(find_path_info(b"/app//x/y", b"/x/y"), 4);
        assert_eq!(find_path_info(b"/x", b"/x"), 0);
        assert_eq!(no2slash(b"//a///b/"), b"/a/b/");
    }

    #[test]
    fn malformed_env_reference_is_literal() {
        for v in ["%{ENV:", "%{ENV:}", "%{ENV:X", "%{ENV", "%{"] {
            assert_eq!(env_reference(v), None, "{v}");
        }
        assert_eq!(env_reference("%{ENV:X}"), Some("X"));
    }
}
