//! The `WSGIDaemonProcess` option parser as Apache's directive callback
//! drives it: each input line is split into words (`config::words::split`)
//! and applied as one `WSGIDaemonProcess` directive
//! (`config::directives::apply`), so values, duplicates, unknown and removed
//! options, user and group names and repeated group names are all reached.
//! Never panics; an accepted group has the name written first, and its
//! derived values (display name, timeouts, socket owner) are computable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mod_wsgi::config::directives::{Target, apply};
use mod_wsgi::config::words::split;
use mod_wsgi::config::{DirConfig, ServerConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut server = ServerConfig::default();
    let mut dir = DirConfig::default();
    for line in text.lines().take(64) {
        let words = split(line);
        let before = server.daemon.groups.len();
        let ok = apply(
            &mut Target {
                server: &mut server,
                dir: &mut dir,
            },
            "WSGIDaemonProcess",
            &words,
        )
        .is_ok();
        assert_eq!(server.daemon.groups.len(), before + usize::from(ok));
        if ok {
            let g = server.daemon.groups.last().unwrap();
            assert_eq!(&g.name, &words[0]);
            assert!((1..=1000).contains(&g.processes));
            let _ = (g.display_name(), g.client_write_timeout(), g.socket_uid(33));
            let _ = (g.multiprocess(), format!("{g:?}"));
        }
    }
});
