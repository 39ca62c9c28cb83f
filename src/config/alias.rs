//! `WSGIScriptAlias` entries and the URL matching mod_alias (and mod_wsgi)
//! use: any run of slashes in the alias matches any run in the URL, and the
//! last alias component must end at a path boundary. `WSGIScriptAliasMatch`
//! entries match a regular expression anywhere in the URL, with Apache's own
//! engine (PCRE, as mod_wsgi), and substitute `$N` (and `&`) in the target,
//! as Apache's `ap_pregsub` does.

use crate::apache::pool::Pool;
use crate::apache::regex::{Captures, Regex, RegexError};

/// A `WSGIScriptAliasMatch` pattern (compared by its source). The directive
/// parser records the source; the directive callback compiles it into the
/// configuration pool ([`AliasRegex::compile`]); until then it matches nothing.
#[derive(Clone, Debug)]
pub struct AliasRegex {
    pattern: String,
    compiled: Option<Regex>,
}

impl PartialEq for AliasRegex {
    fn eq(&self, other: &AliasRegex) -> bool {
        self.pattern == other.pattern
    }
}

impl AliasRegex {
    /// The source form, not yet compiled.
    pub fn new(pattern: &str) -> AliasRegex {
        AliasRegex {
            pattern: pattern.to_string(),
            compiled: None,
        }
    }

    /// True once compiled.
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// Compiles the pattern into `pool` (a no-op when already compiled).
    pub fn compile(&mut self, pool: Pool) -> Result<(), RegexError> {
        if self.compiled.is_none() {
            self.compiled = Some(Regex::compile(pool, &self.pattern)?);
        }
        Ok(())
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
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
        match &self.regex {
            Some(re) => self.map_match(uri, &re.compiled?.captures(uri)?),
            None => self.map_prefix(uri),
        }
    }

    /// `map` for a `WSGIScriptAliasMatch` whose expression matched `uri` with `caps`.
    fn map_match(&self, uri: &[u8], caps: &Captures) -> Option<Vec<u8>> {
        let end = caps[0]?.1;
        let mut out = substitute(self.target.as_bytes(), uri, caps);
        if &uri[..end] == b"/" {
            out.extend_from_slice(uri);
        } else {
            out.extend_from_slice(&uri[end..]);
        }
        (end > 0).then_some(out)
    }

    /// `map` for a `WSGIScriptAlias` (URL-path prefix).
    fn map_prefix(&self, uri: &[u8]) -> Option<Vec<u8>> {
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
fn substitute(template: &[u8], subject: &[u8], caps: &Captures) -> Vec<u8> {
    let group = |n: usize| caps[n].map_or(&b""[..], |(s, e)| &subject[s..e]);
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
        assert_eq!(a.map_prefix(b"/x/y").unwrap(), b"/srv/app.wsgi/x/y");
        let b = alias("/sub", "/srv/app.wsgi");
        assert_eq!(b.map_prefix(b"/sub/x").unwrap(), b"/srv/app.wsgi/x");
        assert_eq!(b.map_prefix(b"/sub").unwrap(), b"/srv/app.wsgi");
        assert_eq!(b.map_prefix(b"/other"), None);
        let d = alias("/dir/", "/srv/scripts/");
        assert_eq!(
            d.map_prefix(b"/dir/a.wsgi/p").unwrap(),
            b"/srv/scripts/a.wsgi/p"
        );
    }

    #[test]
    fn regex_alias_maps_groups_and_rest() {
        // ^/app/([a-z]+) against /app/blog/post/1: $0 = 0..9, $1 = 5..9.
        let a = ScriptAlias {
            regex: Some(AliasRegex::new("^/app/([a-z]+)")),
            location: "^/app/([a-z]+)".into(),
            target: "/srv/$1.wsgi".into(),
            ..Default::default()
        };
        let mut caps: Captures = [None; crate::apache::regex::GROUPS];
        caps[0] = Some((0, 9));
        caps[1] = Some((5, 9));
        let uri = b"/app/blog/post/1";
        assert_eq!(a.map_match(uri, &caps).unwrap(), b"/srv/blog.wsgi/post/1");
        // A match of just "/" keeps the whole URL as the rest, as mod_wsgi.
        caps = [None; crate::apache::regex::GROUPS];
        caps[0] = Some((0, 1));
        assert_eq!(a.map_match(b"/x", &caps).unwrap(), b"/srv/.wsgi/x");
        // An empty match maps nothing.
        caps[0] = Some((0, 0));
        assert_eq!(a.map_match(b"/x", &caps), None);
    }

    #[test]
    fn substitution_as_ap_pregsub() {
        // "/x" matched by ^/(x)(y)?: $0 = "/x", $1 = "x", $2 took no part.
        let mut caps: Captures = [None; crate::apache::regex::GROUPS];
        caps[0] = Some((0, 2));
        caps[1] = Some((1, 2));
        assert_eq!(substitute(b"a$1-$2-&\\$1", b"/x", &caps), b"ax--/x$1");
        assert_eq!(substitute(b"/srv/$1.wsgi$", b"/x", &caps), b"/srv/x.wsgi$");
    }
}
