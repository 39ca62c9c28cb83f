//! `docs/error-codes.md` cannot drift from the code: every log id constant
//! of `src/apache/log_ids.rs` is used in `src/` and has one row in the doc,
//! every row that is not retired (level `–`) is a constant, no two rows or
//! constants share an id, and no file but the constants table spells an id
//! as a string literal (`"WSGIRSnnnn` or `[WSGIRSnnnn]`). Reads files only;
//! needs no Apache.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `WSGIRS` followed by four digits in `text`, with the character before it.
fn ids_in(text: &str) -> Vec<(Option<char>, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut before = None;
    while let Some(i) = rest.find("WSGIRS") {
        let prev = rest[..i]
            .chars()
            .next_back()
            .or(if i == 0 { before } else { None });
        let digits: String = rest[i + 6..].chars().take(4).collect();
        if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
            out.push((prev, format!("WSGIRS{digits}")));
        }
        before = Some('S');
        rest = &rest[i + 6..];
    }
    out
}

/// (constant name, id) from the constants table.
fn constants() -> Vec<(String, String)> {
    let text = fs::read_to_string(format!("{ROOT}/src/apache/log_ids.rs")).unwrap();
    text.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(": LogId = LogId(\"")?;
            let id = rest.strip_suffix("\");")?;
            Some((name.to_string(), id.to_string()))
        })
        .collect()
}

/// (id, level) of every row of the doc's table.
fn doc_rows() -> Vec<(String, String)> {
    let text = fs::read_to_string(format!("{ROOT}/docs/error-codes.md")).unwrap();
    text.lines()
        .filter_map(|l| {
            let mut cells = l.strip_prefix('|')?.split('|').map(str::trim);
            let id = cells.next()?;
            let level = cells.next()?;
            id.starts_with("WSGIRS")
                .then(|| (id.to_string(), level.to_string()))
        })
        .collect()
}

#[test]
fn constants_are_unique_and_used() {
    let consts = constants();
    assert!(consts.len() > 40, "constants not found: {consts:?}");
    let mut by_id = BTreeMap::new();
    for (name, id) in &consts {
        assert_eq!(ids_in(id).len(), 1, "{name}: malformed id {id}");
        if let Some(other) = by_id.insert(id.clone(), name.clone()) {
            panic!("{id} is both {other} and {name}");
        }
    }
    let mut files = Vec::new();
    rust_files(Path::new(&format!("{ROOT}/src")), &mut files);
    let others: String = files
        .iter()
        .filter(|p| !p.ends_with("apache/log_ids.rs"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for (name, id) in &consts {
        let used = others.match_indices(name.as_str()).any(|(i, _)| {
            let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let before = others[..i].chars().next_back().is_none_or(|c| !ident(c));
            let after = others[i + name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !ident(c));
            before && after
        });
        assert!(used, "{id} ({name}) is defined but never used in src/");
    }
}

#[test]
fn doc_lists_exactly_the_constants() {
    let defined: BTreeSet<String> = constants().into_iter().map(|(_, id)| id).collect();
    let rows = doc_rows();
    let mut seen = BTreeSet::new();
    for (id, level) in &rows {
        assert!(
            seen.insert(id.clone()),
            "docs/error-codes.md lists {id} twice"
        );
        let retired = level == "–";
        if retired {
            assert!(
                !defined.contains(id),
                "{id} is retired in docs/error-codes.md but still defined"
            );
        } else {
            assert!(
                defined.contains(id),
                "docs/error-codes.md lists {id}, which src/apache/log_ids.rs no longer defines"
            );
        }
    }
    for id in &defined {
        assert!(
            seen.contains(id),
            "{id} is missing from docs/error-codes.md"
        );
    }
}

#[test]
fn ids_are_spelled_only_in_the_constants() {
    let documented: BTreeSet<String> = doc_rows().into_iter().map(|(id, _)| id).collect();
    let mut files = Vec::new();
    rust_files(Path::new(&format!("{ROOT}/src")), &mut files);
    for path in files {
        if path.ends_with("apache/log_ids.rs") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let shown = path
            .strip_prefix(ROOT)
            .unwrap_or(&path)
            .display()
            .to_string();
        for (prev, id) in ids_in(&text) {
            // Prose may name an id (a comment's cross-reference); code may not.
            assert!(
                !matches!(prev, Some('"' | '[' | '\'')),
                "{shown}: {id} spelled as a literal; use its constant in src/apache/log_ids.rs"
            );
            assert!(
                documented.contains(&id),
                "{shown} mentions {id}, which docs/error-codes.md does not list"
            );
        }
    }
}
