//! Daemon processes against a real Apache, as an attacker or an unlucky
//! operator would find them: after a SIGKILL of the Apache parent every
//! daemon process exits within a few seconds (PR_SET_PDEATHSIG) instead of
//! holding its socket; two daemon groups, each of whose daemons wipes the
//! other's secret after fork, both still serve, and (read from outside
//! through /proc/<pid>/mem) a daemon of one group holds no copy of the other
//! group's secret anywhere in its writable memory; and with a group's
//! secret in hand a forged connection still cannot make its daemon run a
//! script the configuration does not map to that group.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// The pids the parent logged as started daemon processes of `group`.
fn started_daemons(log: &str, group: &str) -> Vec<i32> {
    let tail = format!(" of group '{group}'");
    log.lines()
        .filter_map(|l| {
            let rest = l.split("started daemon process ").nth(1)?;
            let (pid, after) = rest.split_once(' ')?;
            after
                .trim_end()
                .starts_with(tail.trim_start())
                .then(|| pid.parse().ok())?
        })
        .collect()
}

#[test]
fn daemons_exit_when_the_apache_parent_is_killed() {
    ours_only!("finds the daemons through WSGIRS0406 log lines");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let mut apache = b
        .log_level("warn wsgi:info")
        .server("WSGIDaemonProcess orphan processes=2 threads=2")
        .server("WSGIProcessGroup orphan")
        .server(format!("WSGIScriptAlias /info \"{}\"", info.display()))
        .start();
    let r = apache.get("/info");
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let daemons = started_daemons(&apache.error_log(), "orphan");
    assert_eq!(daemons.len(), 2, "{}", apache.error_log());
    assert!(daemons.iter().all(|&p| pid_alive(p)), "{daemons:?}");
    let children: Vec<(i32, Option<u64>)> = apache
        .pids_of_children()
        .into_iter()
        .filter(|p| !daemons.contains(p))
        .map(|p| (p, start_time(p)))
        .collect();

    signal(apache.pid(), libc::SIGKILL);
    let killed = Instant::now();
    let mut left = daemons.clone();
    while !left.is_empty() && killed.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
        left.retain(|&p| pid_alive(p));
    }
    let desc: Vec<String> = left.iter().map(|&p| describe_pid(p)).collect();
    assert!(
        left.is_empty(),
        "daemons still running {:?} after the parent's SIGKILL: {desc:?}",
        killed.elapsed()
    );

    // Apache's own children are Apache's business, and stock httpd's event
    // children keep running without their parent: this test ends them (by
    // PID, the same processes it saw before the kill). The parent never
    // removed the sockets: this test does.
    let deadline = Instant::now() + Duration::from_secs(1);
    while children.iter().any(|&(p, _)| pid_alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &(p, started) in &children {
        if pid_alive(p) && start_time(p) == started {
            eprintln!(
                "ending Apache child left by the parent: {}",
                describe_pid(p)
            );
            signal(p, libc::SIGKILL);
        }
    }
    for e in std::fs::read_dir(apache.root().join("run"))
        .unwrap()
        .flatten()
    {
        if e.file_name().to_string_lossy().ends_with(".sock") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let log = apache.error_log();
    assert!(
        log.contains("stopping (SIGTERM)"),
        "the daemons did not stop as on a normal stop:\n{}",
        tail(&log, 30)
    );
    apache.stop().unwrap();
}

/// Apache with two daemon groups, `alpha` (`alpha_processes` processes) at
/// `/a` and `beta` (one process) at `/b`, both serving `daemon_info.wsgi`.
fn two_groups(alpha_processes: u32) -> Apache {
    two_groups_on(Apache::builder(Mpm::Event), alpha_processes).start()
}

/// `b` with the two groups of [`two_groups`] (and the socket prefix).
fn two_groups_on(b: ApacheBuilder, alpha_processes: u32) -> ApacheBuilder {
    let b = b.with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    b.log_level("warn wsgi:info")
        .server(format!(
            "WSGIDaemonProcess alpha processes={alpha_processes} threads=2"
        ))
        .server("WSGIDaemonProcess beta processes=1 threads=2")
        .server(format!(
            "WSGIScriptAlias /a \"{}\" process-group=alpha",
            info.display()
        ))
        .server(format!(
            "WSGIScriptAlias /b \"{}\" process-group=beta",
            info.display()
        ))
}

#[test]
fn two_groups_each_keeping_only_its_own_secret_both_serve() {
    ours_only!("WSGIRS daemon internals");
    let apache = two_groups(2);
    for _ in 0..4 {
        for (path, group) in [("/a", "alpha"), ("/b", "beta")] {
            let r = apache.get(path);
            assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
            assert_eq!(parse_kv(&r.text())["env_group"], group);
        }
    }
    // A graceful restart: the new daemons accept the new generation's
    // secret and each still wipes the other group's.
    apache.graceful();
    for (path, group) in [("/a", "alpha"), ("/b", "beta")] {
        let r = apache.get(path);
        assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
        assert_eq!(parse_kv(&r.text())["env_group"], group);
    }
}

/// Writable mappings of `pid` (start, end), from /proc/<pid>/maps.
fn writable_regions(pid: i32) -> Vec<(u64, u64)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            if !perms.starts_with("rw") || l.ends_with("[vvar]") {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .collect()
}

/// The bytes of `pid`'s mapping [start, end) (None if unreadable).
fn read_region(pid: i32, (start, end): (u64, u64)) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; (end - start) as usize];
    f.read_exact_at(&mut buf, start).ok()?;
    Some(buf)
}

/// 32-byte secrets of another group that `wiper` zeroed in its copy of the
/// registry: at the same address (fork keeps addresses) `holder` (a daemon
/// of that group) and `child` (an Apache child, which keeps every secret)
/// hold the same random-looking bytes and `wiper` holds zeros, amid the
/// same 16 bytes on each side (the rest of the registry entry; a random
/// buffer that `wiper` zeroed or freed as a whole is no match).
fn wiped_secrets(wiper: i32, holder: i32, child: i32) -> Vec<Vec<u8>> {
    let theirs = writable_regions(holder);
    let childs = writable_regions(child);
    let mut found = Vec::new();
    for region in writable_regions(wiper) {
        if !theirs.contains(&region) || !childs.contains(&region) {
            continue;
        }
        let (Some(w), Some(h), Some(c)) = (
            read_region(wiper, region),
            read_region(holder, region),
            read_region(child, region),
        ) else {
            continue;
        };
        let mut i = 16;
        while i + 48 <= w.len() {
            let hw = &h[i..i + 32];
            if w[i] == 0
                && h[i] != 0
                && w[i..i + 32].iter().all(|&b| b == 0)
                && hw == &c[i..i + 32]
                && random_looking(hw)
                && w[i - 16..i] == h[i - 16..i]
                && w[i + 32..i + 48] == h[i + 32..i + 48]
            {
                found.push(hw.to_vec());
                i += 32;
            } else {
                i += 1;
            }
        }
    }
    found
}

/// Like 32 bytes from /dev/urandom and unlike text or pointers: many
/// distinct values, some high bytes, few zeros (a real secret fails this
/// with a probability of about 1e-5).
fn random_looking(bytes: &[u8]) -> bool {
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[b as usize] = true);
    let distinct = seen.iter().filter(|&&s| s).count();
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    let zeros = bytes.iter().filter(|&&b| b == 0).count();
    distinct >= 20 && high >= 4 && zeros <= 3
}

/// Whether `needle` occurs anywhere in `pid`'s writable memory.
fn holds(pid: i32, needle: &[u8]) -> bool {
    writable_regions(pid)
        .into_iter()
        .filter_map(|r| read_region(pid, r))
        .any(|m| m.windows(needle.len()).any(|w| w == needle))
}

/// Where `needle` occurs in `pid`'s writable memory (for the failure message).
fn places(pid: i32, needle: &[u8]) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut out = Vec::new();
    for r in writable_regions(pid) {
        let Some(m) = read_region(pid, r) else {
            continue;
        };
        for (i, w) in m.windows(needle.len()).enumerate() {
            if w == needle {
                let line = maps
                    .lines()
                    .find(|l| l.starts_with(&format!("{:x}-", r.0)))
                    .unwrap_or("");
                out.push(format!("{:#x} in {line}", r.0 + i as u64));
            }
        }
    }
    out
}

#[test]
fn a_daemon_holds_no_copy_of_another_groups_secret() {
    ours_only!("finds the daemons through WSGIRS0406 log lines");
    let apache = two_groups(1);
    assert_eq!(apache.get("/a").status, 200, "{}", apache.error_log());
    assert_eq!(apache.get("/b").status, 200, "{}", apache.error_log());
    let log = apache.error_log();
    let (alpha, beta) = (
        started_daemons(&log, "alpha"),
        started_daemons(&log, "beta"),
    );
    assert_eq!((alpha.len(), beta.len()), (1, 1), "{log}");
    let (alpha, beta) = (alpha[0], beta[0]);
    let child = apache
        .pids_of_children()
        .into_iter()
        .find(|p| *p != alpha && *p != beta)
        .expect("an Apache child");
    if read_region(child, writable_regions(child)[0]).is_none() {
        eprintln!("skipped: /proc/<pid>/mem not readable here (CAP_SYS_PTRACE?)");
        return;
    }
    for (wiper, holder, name) in [(alpha, beta, "beta"), (beta, alpha, "alpha")] {
        let secrets = wiped_secrets(wiper, holder, child);
        assert!(
            !secrets.is_empty(),
            "no secret of group {name} found wiped in the other daemon (is the wipe after fork missing?)"
        );
        for s in &secrets {
            assert!(holds(holder, s), "sanity: {name}'s daemon holds its secret");
            assert!(
                !holds(wiper, s),
                "the other daemon still holds a copy of group {name}'s secret: {:?}\n(child: {:?})\n(holder: {:?})",
                places(wiper, s),
                places(child, s),
                places(holder, s)
            );
        }
    }
}

/// The one secret among `candidates` with which `group`'s daemon accepts a
/// forged request for a script it may run (`frame 129`, ACCEPT).
fn working_secret(sock: &Path, group: &str, candidates: &[Vec<u8>], script: &Path) -> Vec<u8> {
    let www = www_data();
    candidates
        .iter()
        .find(|s| forge(sock, group, Some(s), Some(script), www) == "frame 129")
        .unwrap_or_else(|| {
            panic!(
                "none of {} candidates is {group}'s secret",
                candidates.len()
            )
        })
        .clone()
}

fn www_data() -> (u32, u32) {
    let u = nix::unistd::User::from_name("www-data").unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

/// Group `id`'s socket under the ServerRoot (`<prefix>.<pid>.<gen>.<id>.sock`).
fn group_socket(root: &Path, id: u32) -> PathBuf {
    let tail = format!(".{id}.sock");
    std::fs::read_dir(root.join("run"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&tail))
        .unwrap_or_else(|| panic!("no socket of group {id}"))
}

/// Even with another group's secret in hand (read from memory here, as a
/// compromised application might try), a connection cannot make that
/// group's daemon run a file the configuration does not map to a WSGI
/// script, a path with `..`, or a script whose `<Directory>` has a
/// WSGIRestrictProcess that leaves the group out.
#[test]
fn a_stolen_secret_runs_no_script_outside_the_configuration() {
    ours_only!("WSGIRS daemon internals");
    let b = Apache::builder(Mpm::Event).with_socket_prefix();
    let info = b.app("daemon_info.wsgi");
    let marks = b.root().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = marks.join("ran");
    let evil = b.write_app(
        "evil/evil.wsgi",
        &format!(
            "def application(environ, start_response):\n    open({:?}, 'a').write('ran')\n    \
             start_response('200 OK', [])\n    return [b'']\n",
            marker.display().to_string()
        ),
    );
    let restricted = b.write_app(
        "restricted/app.wsgi",
        &std::fs::read_to_string(&info).unwrap(),
    );
    let apache = two_groups_on(b, 1)
        .server(format!(
            "WSGIScriptAlias /r \"{}\" process-group=alpha",
            restricted.display()
        ))
        .server(format!(
            "<Directory \"{}\">\n    WSGIRestrictProcess alpha\n</Directory>",
            restricted.parent().unwrap().display()
        ))
        .start();
    for path in ["/a", "/b", "/r"] {
        assert_eq!(
            apache.get(path).status,
            200,
            "{path}\n{}",
            apache.error_log()
        );
    }
    let log = apache.error_log();
    let (alpha, beta) = (
        started_daemons(&log, "alpha")[0],
        started_daemons(&log, "beta")[0],
    );
    let child = apache
        .pids_of_children()
        .into_iter()
        .find(|p| *p != alpha && *p != beta)
        .expect("an Apache child");
    if read_region(child, writable_regions(child)[0]).is_none() {
        eprintln!("skipped: /proc/<pid>/mem not readable here (CAP_SYS_PTRACE?)");
        return;
    }
    let sock = group_socket(apache.root(), 2);
    let secret = working_secret(&sock, "beta", &wiped_secrets(alpha, beta, child), &info);
    let www = www_data();
    let outside = evil
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("x/../evil/evil.wsgi");
    for (script, why) in [
        (evil.clone(), "is not a WSGI script the configuration maps"),
        (outside, "is not a plain absolute path"),
        (restricted.clone(), "WSGIRestrictProcess for"),
    ] {
        let got = forge(&sock, "beta", Some(&secret), Some(&script), www);
        assert_eq!(got, "frame 130", "{} was not refused", script.display());
        let log = apache.error_log();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("WSGIRS0460"))
            .unwrap_or_else(|| panic!("no WSGIRS0460 line:\n{}", tail(&log, 20)));
        assert!(line.contains(why) && line.contains("'beta'"), "{line}");
    }
    assert!(!marker.exists(), "a script outside the configuration ran");
}
