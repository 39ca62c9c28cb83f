//! Unit tests of `interpreter_options.rs`: the opening line, the routing of
//! directives written inside, and mod_wsgi's resolution rules.

use super::*;

fn words(s: &str) -> Vec<String> {
    crate::config::words::split(s)
}

fn block(pg: Option<&str>, ag: Option<&str>) -> Block {
    Block {
        process_group: pg.map(str::to_string),
        application_group: ag.map(str::to_string),
        ..Block::default()
    }
}

#[test]
fn opening_line() {
    assert_eq!(strip_close("process-group=a>"), Ok("process-group=a"));
    assert_eq!(strip_close(">"), Ok(""));
    assert_eq!(strip_close("process-group=a"), Err(SectionError::NotClosed));
    let b = parse_selectors(&words("process-group=d1 application-group=%{GLOBAL}")).unwrap();
    assert_eq!(b.process_group.as_deref(), Some("d1"));
    assert_eq!(b.application_group.as_deref(), Some(""));
    assert_eq!(parse_selectors(&[]).unwrap(), Block::default());
    let e = parse_selectors(&words("foo=bar")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<WSGIInterpreterOptions>: unknown selector 'foo', expected process-group or application-group"
    );
    let e = parse_selectors(&words("foo")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("<WSGIInterpreterOptions>: argument 'foo' is not of the form key=value")
    );
    let e = parse_selectors(&words("process-group=a process-group=b")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<WSGIInterpreterOptions>: process-group given more than once"
    );
}

#[test]
fn directives_inside_go_to_the_last_block() {
    let mut s = ServerConfig::default();
    s.python.interpreter_options.push(Block::default());
    s.python.interpreter_options.push(block(Some("d"), None));
    apply_inside(&mut s, "WSGISwitchInterval", &words("0.002")).unwrap();
    apply_inside(&mut s, "WSGIPythonPath", &words("/a:/b")).unwrap();
    apply_inside(&mut s, "wsgirestrictstdout", &words("On")).unwrap();
    apply_inside(&mut s, "WSGIRestrictStdin", &words("off")).unwrap();
    apply_inside(&mut s, "WSGIRestrictSignal", &words("Off")).unwrap();
    apply_inside(&mut s, "WSGIPerInterpreterGIL", &words("Off")).unwrap();
    apply_inside(&mut s, "WSGIFreeThreading", &words("Off")).unwrap();
    let b = &s.python.interpreter_options[1];
    assert_eq!(b.switch_interval, Some(0.002));
    assert_eq!(b.python_path, vec!["/a", "/b"]);
    assert_eq!(
        (b.restrict_stdin, b.restrict_stdout, b.restrict_signal),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!(
        (b.per_interpreter_gil, b.free_threading),
        (Some(false), Some(false))
    );
    assert_eq!(s.python.interpreter_options[0], Block::default());
    // Top-level values untouched.
    assert_eq!(s.python.switch_interval, None);
    assert!(s.python.path.is_empty());
    // The directive's own checks, and only the permitted directives.
    let e = apply_inside(&mut s, "WSGISwitchInterval", &words("0")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "WSGISwitchInterval must be a positive number of seconds (got '0')"
    );
    let e = apply_inside(&mut s, "WSGIPythonHome", &words("/usr")).unwrap_err();
    assert!(e.to_string().starts_with("WSGIPythonHome is not allowed inside <WSGIInterpreterOptions>; expected one of: WSGIPerInterpreterGIL"));
    assert!(check_child("ServerAdmin").is_err() && check_child("wsgipythonpath").is_ok());
}

#[test]
fn most_specific_wins_and_later_breaks_ties() {
    let mut any = block(None, None);
    any.restrict_stdout = Some(true);
    any.switch_interval = Some(0.1);
    let mut pg = block(Some("d"), None);
    pg.restrict_stdout = Some(false);
    let mut both = block(Some("d"), Some("app1"));
    both.restrict_stdout = Some(true);
    let mut ag = block(None, Some("app1"));
    ag.switch_interval = Some(0.2);
    let mut ag_later = block(None, Some("app1"));
    ag_later.switch_interval = Some(0.3);
    let blocks = [both, ag, pg, any, ag_later];
    let r = resolve(&blocks, "d", "app1");
    assert_eq!(r.restrict_stdout, Some(true));
    assert_eq!(r.switch_interval, Some((0.3, true)));
    let r = resolve(&blocks, "d", "app2");
    assert_eq!(r.restrict_stdout, Some(false));
    assert_eq!(r.switch_interval, Some((0.1, false)));
    let r = resolve(&blocks, "", "");
    assert_eq!(r.restrict_stdout, Some(true));
    assert_eq!(r.restrict_stdin, None);
    assert_eq!(resolve(&[], "d", "x"), Resolved::default());
}

#[test]
fn global_selectors_match_embedded_mode_and_the_main_interpreter() {
    let mut embedded = block(Some(""), None);
    embedded.restrict_signal = Some(false);
    let mut main = block(None, Some(""));
    main.per_interpreter_gil = Some(true);
    let blocks = [embedded, main];
    assert_eq!(resolve(&blocks, "", "x").restrict_signal, Some(false));
    assert_eq!(resolve(&blocks, "d", "x").restrict_signal, None);
    assert_eq!(resolve(&blocks, "d", "").per_interpreter_gil, Some(true));
    assert_eq!(resolve(&blocks, "d", "x").per_interpreter_gil, None);
}

#[test]
fn python_path_layers_least_specific_first() {
    let mut both = block(Some("d"), Some("a"));
    both.python_path = vec!["/both".into()];
    let mut any1 = block(None, None);
    any1.python_path = vec!["/any1".into()];
    let mut pg = block(Some("d"), None);
    pg.python_path = vec!["/pg1".into(), "/pg2".into()];
    let mut any2 = block(None, None);
    any2.python_path = vec!["/any2".into()];
    let blocks = [both, any1, pg, any2];
    let r = resolve(&blocks, "d", "a");
    assert_eq!(
        r.python_path_layers,
        vec![
            vec!["/any1"],
            vec!["/any2"],
            vec!["/pg1", "/pg2"],
            vec!["/both"]
        ]
    );
    assert_eq!(
        resolve(&blocks, "", "a").python_path_layers,
        vec![vec!["/any1"], vec!["/any2"]]
    );
}
