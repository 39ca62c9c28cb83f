//! `--initial-workers`, `--minimum-spare-workers` and `--maximum-spare-workers`, as
//! mod_wsgi-express: fractions (0 to 1) of the Apache side's connection capacity that
//! set how many workers Apache starts with and keeps idle. Prefork: `StartServers`,
//! `MinSpareServers`, `MaxSpareServers` are that fraction of `MaxRequestWorkers` (at
//! least 1); worker/event: `StartServers` is the fraction of `ServerLimit` children
//! and the spare threads whole children's worth of threads (at least one child's).
//! The minimum follows `--initial-workers` when only that is given, as the original;
//! what is not given keeps the sizing of `sizing.rs`. Daemon mode only: in embedded
//! and debug mode the original ignores them, here they are refused. Called by
//! `resolve.rs`; no Python.

use crate::cli::ServerArgs;
use crate::sizing::{Mpm, Sizing};
use anyhow::{Result, bail};

/// Applies the options given to `s`; `fixed` names the mode that refuses them.
pub fn apply(args: &ServerArgs, s: &mut Sizing, fixed: Option<&str>) -> Result<()> {
    let given = [
        ("--initial-workers", args.initial_workers),
        ("--minimum-spare-workers", args.minimum_spare_workers),
        ("--maximum-spare-workers", args.maximum_spare_workers),
    ];
    for (flag, value) in given {
        let Some(v) = value else { continue };
        if let Some(mode) = fixed {
            bail!("{flag} sizes Apache for daemon mode: it cannot be used with {mode}");
        }
        if !(v.is_finite() && v > 0.0 && v <= 1.0) {
            bail!("{flag} must be a fraction of the maximum clients between 0 and 1 (got {v})");
        }
    }
    let initial = args.initial_workers;
    let min = args.minimum_spare_workers.or(initial);
    let max = args.maximum_spare_workers;
    let part = |f: f64, of: u32| ((f * of as f64) as u32).max(1);
    match s.mpm {
        Mpm::Prefork => {
            let cap = s.max_request_workers;
            if let Some(f) = initial {
                s.start_servers = part(f, cap);
            }
            if let Some(f) = min {
                s.min_spare = part(f, cap);
            }
            if let Some(f) = max {
                s.max_spare = part(f, cap);
            }
            s.max_spare = s.max_spare.max(s.min_spare + 1);
        }
        Mpm::Event | Mpm::Worker => {
            let (children, per) = (s.server_limit, s.threads_per_child);
            if let Some(f) = initial {
                s.start_servers = part(f, children);
            }
            if let Some(f) = min {
                s.min_spare = part(f, children) * per;
            }
            if let Some(f) = max {
                s.max_spare = part(f, children) * per;
            }
            s.max_spare = s.max_spare.max(s.min_spare + per);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::options::testing::Fixture;

    #[test]
    fn fractions_of_the_capacity_as_the_original() {
        let f = Fixture::new(&["prefork"]);
        let o = f.options(&["--max-clients", "20", "--initial-workers", "0.25"]);
        let s = &o.sizing;
        assert_eq!((s.start_servers, s.min_spare), (5, 5));
        let o = f.options(&[
            "--max-clients",
            "20",
            "--minimum-spare-workers",
            "0.1",
            "--maximum-spare-workers",
            "0.5",
        ]);
        assert_eq!((o.sizing.min_spare, o.sizing.max_spare), (2, 10));
        let f = Fixture::new(&["worker"]);
        let o = f.options(&["--max-clients", "400", "--initial-workers", "0.5"]);
        let s = &o.sizing;
        assert_eq!((s.server_limit, s.threads_per_child), (4, 100));
        assert_eq!((s.start_servers, s.min_spare), (2, 200));
        assert!(s.max_spare >= s.min_spare + 100);
    }

    #[test]
    fn refused_out_of_range_and_outside_daemon_mode() {
        let f = Fixture::new(&["event"]);
        for (words, expected) in [
            (
                &["--initial-workers", "1.5"][..],
                "between 0 and 1 (got 1.5)",
            ),
            (&["--maximum-spare-workers", "0"][..], "between 0 and 1"),
            (
                &["--initial-workers", "0.5", "--embedded-mode"][..],
                "cannot be used with --embedded-mode",
            ),
            (
                &["--minimum-spare-workers", "0.5", "--debug-mode"][..],
                "cannot be used with --debug-mode",
            ),
        ] {
            let err = f.try_options(words).unwrap_err().to_string();
            assert!(err.contains(expected), "{words:?}: {err}");
        }
    }
}
