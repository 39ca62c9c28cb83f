//! The `%{...}` forms: the configuration-time checks
//! (`config::expand::check_group`, `check_callable`, `env_reference`) and the
//! per-request expansion (`expand_group`, `expand_callable`) on an arbitrary
//! value, with arbitrary answers for `%{RESOURCE}`, `%{SERVER}`, `%{HOST}`
//! and `%{ENV:...}` variables. Input: NUL-separated fields, the value first,
//! then resource, server, host and `NAME=value` environment entries. Never
//! panics, never recurses more than once, and the result is always one of
//! the value itself, "", one of the answers, an environment value, its
//! one-step expansion, or the default.
#![no_main]

use std::cell::Cell;

use libfuzzer_sys::fuzz_target;
use mod_wsgi::config::expand::*;

struct Answers<'a> {
    resource: &'a str,
    server: &'a str,
    host: &'a str,
    env: Vec<(&'a str, &'a str)>,
    env_calls: Cell<u32>,
}

impl Expansions for Answers<'_> {
    fn resource(&self) -> String {
        self.resource.to_string()
    }
    fn server(&self) -> String {
        self.server.to_string()
    }
    fn host(&self) -> String {
        self.host.to_string()
    }
    fn env(&self, var: &str) -> Option<String> {
        self.env_calls.set(self.env_calls.get() + 1);
        self.env
            .iter()
            .find(|(k, _)| *k == var)
            .map(|(_, v)| v.to_string())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\0');
    let value = fields.next().unwrap_or("");
    let mut x = Answers {
        resource: fields.next().unwrap_or("h|/"),
        server: fields.next().unwrap_or("h"),
        host: fields.next().unwrap_or("h"),
        env: Vec::new(),
        env_calls: Cell::new(0),
    };
    x.env = fields.filter_map(|f| f.split_once('=')).collect();

    let group_ok = check_group("WSGIProcessGroup", "process group", value).is_ok();
    let callable_ok = check_callable("WSGICallableObject", value).is_ok();
    let var = env_reference(value);
    if let Some(v) = var {
        assert!(!v.is_empty() && !v.contains(['{', '}']));
        assert_eq!(format!("%{{ENV:{v}}}"), value);
        assert!(group_ok && callable_ok);
    }
    if !value.is_empty() && !value.starts_with("%{") {
        assert!(group_ok && callable_ok, "a literal is refused");
    }

    let got = expand_group(value, &x, &|| "DEFAULT".to_string());
    assert!(x.env_calls.get() <= 1, "more than one ENV lookup");
    let answers = [value, "", x.resource, x.server, x.host, "DEFAULT"];
    let env_value = var.and_then(|v| x.env(v));
    let ok = answers.contains(&got.as_str())
        || env_value.as_deref() == Some(got.as_str())
        || env_value
            .as_ref()
            .is_some_and(|e| e.starts_with('%') && answers[1..5].contains(&got.as_str()));
    assert!(ok, "{value:?} expanded to {got:?}");
    if !value.starts_with('%') {
        assert_eq!(got, value);
    }

    let callable = expand_callable(value, &x);
    match env_value {
        _ if var.is_none() => assert_eq!(callable, value),
        Some(e) => assert_eq!(callable, e),
        None => assert_eq!(callable, "application"),
    }
});
