//! Unit tests of the auth options' part of the generated httpd.conf
//! (`auth.rs`): the `<Location />` blocks the reference mod_wsgi-express
//! writes, and the options refused without what they refine.

use super::tests::conf;
use crate::options::testing::Fixture;

/// The lines of the `<Location />` block that holds `needle`.
fn location_with(conf: &str, needle: &str) -> Vec<String> {
    let lines: Vec<&str> = conf.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} in:\n{conf}"));
    let start = (0..at).rev().find(|&i| lines[i] == "<Location />").unwrap();
    let end = (at..lines.len())
        .find(|&i| lines[i] == "</Location>")
        .unwrap();
    lines[start..=end]
        .iter()
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn auth_options_write_the_location_blocks_of_express() {
    let f = Fixture::new(&["event"]);
    let (users, groups, hosts) = (f.path("users.py"), f.path("groups.py"), f.path("hosts.py"));
    let c = conf(
        &f,
        &[
            "--auth-user-script",
            &users,
            "--auth-type",
            "digest",
            "--auth-group-script",
            &groups,
            "--auth-group",
            "admins",
            "--host-access-script",
            &hosts,
        ],
    );
    assert_eq!(
        location_with(&c, "WSGIAuthUserScript"),
        [
            "<Location />".to_string(),
            "AuthType Digest".into(),
            "AuthName \"localhost:8000\"".into(),
            "AuthDigestProvider wsgi".into(),
            format!("WSGIAuthUserScript \"{users}\""),
            format!("WSGIAuthGroupScript \"{groups}\""),
            "<RequireAll>".into(),
            "Require valid-user".into(),
            "Require wsgi-group \"admins\"".into(),
            "</RequireAll>".into(),
            "</Location>".into(),
        ]
    );
    assert_eq!(
        location_with(&c, "WSGIAccessScript"),
        [
            "<Location />".to_string(),
            format!("WSGIAccessScript \"{hosts}\""),
            "</Location>".into()
        ]
    );
    for m in ["auth_basic", "auth_digest", "authz_user"] {
        assert!(c.contains(&format!("LoadModule {m}_module ")), "{m}: {c}");
    }
    // Basic by default, no group check without a group script.
    let c = conf(&f, &["--auth-user-script", &users]);
    let block = location_with(&c, "WSGIAuthUserScript");
    assert!(
        block.contains(&"AuthBasicProvider wsgi".to_string()),
        "{block:?}"
    );
    assert!(
        !c.contains("wsgi-group") && !c.contains("WSGIAccessScript"),
        "{c}"
    );
    let c = conf(&f, &[]);
    assert!(
        !c.contains("WSGIAuthUserScript") && !c.contains("auth_basic"),
        "{c}"
    );
}

#[test]
fn auth_options_without_what_they_refine_are_refused() {
    let f = Fixture::new(&["event"]);
    let users = f.path("users.py");
    for (args, needle) in [
        (
            vec!["--auth-type", "Digest"],
            "--auth-type needs --auth-user-script",
        ),
        (
            vec!["--auth-group-script", "/g.py"],
            "--auth-group-script needs --auth-user-script",
        ),
        (
            vec!["--auth-user-script", &users, "--auth-group", "x"],
            "--auth-group needs --auth-group-script",
        ),
        (
            vec!["--auth-user-script", &users, "--auth-type", "NTLM"],
            "--auth-type must be Basic or Digest (got 'NTLM')",
        ),
    ] {
        let e = f.try_options(&args).unwrap_err().to_string();
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}
