//! `WSGIScriptAlias` entries and the URL matching mod_alias (and mod_wsgi)
//! use: any run of slashes in the alias matches any run in the URL, and the
//! last alias component must end at a path boundary. `WSGIScriptAliasMatch`
//! entries match a regular expression anywhere in the URL and substitute
//! `$N` (and `&`) in the target, as Apache's `ap_pregsub` does.

/// A compiled `WSGIScriptAliasMatch` pattern (compared by its source).
#[derive(Clone, Debug)]
pub struct AliasRegex(pub regex::bytes::Regex);

impl PartialEq for AliasRegex {
    fn eq(&self, other: &AliasRegex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// One `WSGIScriptAlias URL-path target [options]` (or the `Match` form,
/// with `regex` set and `location` holding the pattern).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ScriptAlias {
    pub regex: Option<AliasRegex>,
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
        if let Some(re) = &self.regex {
            let caps = re.0.captures(uri)?;
            let end = caps.get(0)?.end();
            let mut out = substitute(self.target.as_bytes(), &caps);
            if &uri[..end] == b"/" {
                out.extend_from_slice(uri);
            } else {
                out.extend_from_slice(&uri[end..]);
            }
            return (end > 0).then_some(out);
        }
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

/// `ap_pregsub`: `$0`..`$9` and `&` become the groups (empty when a group
/// did not take part); a backslash quotes the next `$`, `&` or backslash.
fn substitute(template: &[u8], caps: &regex::bytes::Captures<'_>) -> Vec<u8> {
    let group = |n: usize| caps.get(n).map_or(&b""[..], |m| m.as_bytes());
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        match c {
            b'&' => out.extend_from_slice(group(0)),
            b'$' if template.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.extend_from_slice(group((template[i + 1] - b'0') as usize));
                i += 1;
            }
            b'\\' if matches!(template.get(i + 1), Some(b'$' | b'&' | b'\\')) => {
                out.push(template[i + 1]);
                i += 1;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
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

    #[test]
    fn regex_alias_substitutes_groups() {
        let a = ScriptAlias {
            regex: Some(AliasRegex(
                regex::bytes::Regex::new("^/app/([a-z]+)").unwrap(),
            )),
            location: "^/app/([a-z]+)".into(),
            target: "/srv/$1.wsgi".into(),
            ..Default::default()
        };
        assert_eq!(
            a.map(b"/app/blog/post/1").unwrap(),
            b"/srv/blog.wsgi/post/1"
        );
        assert_eq!(a.map(b"/app/shop").unwrap(), b"/srv/shop.wsgi");
        assert_eq!(a.map(b"/other"), None);
        let re = regex::bytes::Regex::new("^/(x)(y)?").unwrap();
        let caps = re.captures(b"/x").unwrap();
        assert_eq!(substitute(b"a$1-$2-&\\$1", &caps), b"ax--/x$1");
    }
}
