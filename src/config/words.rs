//! Splitting a directive's raw arguments into words the way mod_wsgi reads
//! them: whitespace separates words; a word that starts with `"` or `'` runs
//! to the matching quote (a backslash escapes it), as Apache's
//! `ap_getword_conf`; and in `name=value` options the value may itself be
//! quoted (`display-name='(wsgi: my site)'`), spaces included, as mod_wsgi's
//! option parser allows. Quotes are removed. Pure; no Apache calls.

/// Reads a quoted run starting after the opening `quote`; returns the text
/// and the index after the closing quote (or the end).
fn quoted(chars: &[char], mut i: usize, quote: char) -> (String, usize) {
    let mut out = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() && (chars[i + 1] == quote || chars[i + 1] == '\\') {
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == quote {
            return (out, i + 1);
        }
        out.push(c);
        i += 1;
    }
    (out, i)
}

/// Splits `line` into words.
pub fn split(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if chars[i] == '"' || chars[i] == '\'' {
            let (w, next) = quoted(&chars, i + 1, chars[i]);
            words.push(w);
            i = next;
            continue;
        }
        let mut word = String::new();
        while i < chars.len() && !chars[i].is_whitespace() {
            let c = chars[i];
            if c == '='
                && !word.contains('=')
                && i + 1 < chars.len()
                && (chars[i + 1] == '"' || chars[i + 1] == '\'')
            {
                word.push('=');
                let (v, next) = quoted(&chars, i + 2, chars[i + 1]);
                word.push_str(&v);
                i = next;
                continue;
            }
            word.push(c);
            i += 1;
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn plain_and_quoted_words() {
        assert_eq!(split("  a b\tc "), vec!["a", "b", "c"]);
        assert_eq!(
            split(r#"/ "/srv/my app.wsgi""#),
            vec!["/", "/srv/my app.wsgi"]
        );
        assert_eq!(split(r#"'it''s' "a \"q\"""#), vec!["it", "s", r#"a "q""#]);
        assert_eq!(split(""), Vec::<String>::new());
    }

    #[test]
    fn quoted_option_values() {
        assert_eq!(
            split("g display-name='(wsgi: my site)' home=\"/srv/a b\" threads=2"),
            vec![
                "g",
                "display-name=(wsgi: my site)",
                "home=/srv/a b",
                "threads=2"
            ]
        );
        assert_eq!(
            split("/ /a.wsgi process-group='localhost:8000' application-group=%{GLOBAL}"),
            vec![
                "/",
                "/a.wsgi",
                "process-group=localhost:8000",
                "application-group=%{GLOBAL}"
            ]
        );
        // A quote in the middle of a value is kept as is.
        assert_eq!(split("a=b'c"), vec!["a=b'c"]);
    }
}
