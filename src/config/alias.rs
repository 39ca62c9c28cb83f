//! `WSGIScriptAlias` entries and the URL matching mod_alias (and mod_wsgi)
//! use: any run of slashes in the alias matches any run in the URL, and the
//! last alias component must end at a path boundary.

/// One `WSGIScriptAlias URL-path target [options]`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScriptAlias {
    pub location: String,
    pub target: String,
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub callable_object: Option<String>,
    pub pass_authorization: Option<bool>,
}

/// Number of bytes of `uri` matched by `alias`, or `None`.
pub fn alias_matches(uri: &[u8], alias: &[u8]) -> Option<usize> {
    let (mut a, mut u) = (0usize, 0usize);
    while a < alias.len() {
        if alias[a] == b'/' {
            if uri.get(u) != Some(&b'/') {
                return None;
            }
            while alias.get(a) == Some(&b'/') {
                a += 1;
            }
            while uri.get(u) == Some(&b'/') {
                u += 1;
            }
        } else {
            if uri.get(u) != Some(&alias[a]) {
                return None;
            }
            a += 1;
            u += 1;
        }
    }
    if alias.last() != Some(&b'/') && u < uri.len() && uri[u] != b'/' {
        return None;
    }
    (u > 0).then_some(u)
}

impl ScriptAlias {
    /// The file name the URL maps to (`target` plus the unmatched rest), as
    /// mod_wsgi computes it, or `None` when this alias does not match.
    pub fn map(&self, uri: &[u8]) -> Option<Vec<u8>> {
        let n = alias_matches(uri, self.location.as_bytes())?;
        let mut out = self.target.as_bytes().to_vec();
        if self.location == "/" {
            out.extend_from_slice(uri);
        } else {
            out.extend_from_slice(&uri[n..]);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(loc: &str, target: &str) -> ScriptAlias {
        ScriptAlias {
            location: loc.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    #[test]
    fn matches_like_mod_alias() {
        assert_eq!(alias_matches(b"/app", b"/app"), Some(4));
        assert_eq!(alias_matches(b"/app/x", b"/app"), Some(4));
        assert_eq!(alias_matches(b"/apple", b"/app"), None);
        assert_eq!(alias_matches(b"//app//x", b"/app"), Some(5));
        assert_eq!(alias_matches(b"/", b"/"), Some(1));
        assert_eq!(alias_matches(b"/x/y", b"/"), Some(1));
        assert_eq!(alias_matches(b"", b"/"), None);
        assert_eq!(alias_matches(b"/ap", b"/app"), None);
    }

    #[test]
    fn maps_to_target_plus_rest() {
        let a = alias("/", "/srv/app.wsgi");
        assert_eq!(a.map(b"/x/y").unwrap(), b"/srv/app.wsgi/x/y");
        let b = alias("/sub", "/srv/app.wsgi");
        assert_eq!(b.map(b"/sub/x").unwrap(), b"/srv/app.wsgi/x");
        assert_eq!(b.map(b"/sub").unwrap(), b"/srv/app.wsgi");
        assert_eq!(b.map(b"/other"), None);
        let d = alias("/dir/", "/srv/scripts/");
        assert_eq!(d.map(b"/dir/a.wsgi/p").unwrap(), b"/srv/scripts/a.wsgi/p");
    }
}
