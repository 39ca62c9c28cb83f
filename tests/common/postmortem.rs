//! Post-mortem checks shared by the server guards (`Apache`, `ExpressServer`),
//! run after the server has stopped: fatal error-log lines (`:emerg]`,
//! `:alert]`, `:crit]`, `Segmentation fault`, `panicked`, AH00045/AH00046)
//! minus a per-test allow list, processes of the server left behind (killed
//! by PID and reported), and daemon socket files left in the socket
//! directory. Part of the test harness in `tests/common/`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use regex::Regex;

use super::process::{describe_pid, signal};

/// Error-log lines that fail a test unless allowed. Besides the fatal levels,
/// AH00045/AH00046 mean an Apache child ignored SIGTERM at stop (a module
/// hanging in shutdown), which is a defect too.
pub const FATAL_LOG_PATTERN: &str =
    r":emerg\]|:alert\]|:crit\]|Segmentation fault|panicked|AH00045|AH00046";

/// How long processes of a stopped server may take to go away.
pub const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// Lines of `log` matching the fatal pattern and no `allow` entry.
pub fn fatal_lines(log: &str, allow: &[Regex]) -> Vec<String> {
    let fatal = Regex::new(FATAL_LOG_PATTERN).unwrap();
    log.lines()
        .filter(|l| fatal.is_match(l) && !allow.iter().any(|a| a.is_match(l)))
        .map(str::to_string)
        .collect()
}

/// Compile an allow-list entry, panicking with the pattern if it is invalid.
pub fn allow_regex(regex: &str) -> Regex {
    Regex::new(regex).unwrap_or_else(|e| panic!("bad allow regex {regex:?}: {e}"))
}

/// Poll `find` (the server's live processes) for up to `grace`; whatever is
/// still there is described, SIGKILLed by PID and returned as a problem.
pub fn leftover_processes(find: impl Fn() -> Vec<i32>, grace: Duration) -> Option<String> {
    let deadline = Instant::now() + grace;
    let mut left = find();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = find();
    }
    if left.is_empty() {
        return None;
    }
    let desc: Vec<String> = left.iter().map(|p| describe_pid(*p)).collect();
    for p in &left {
        signal(*p, libc::SIGKILL);
    }
    Some(format!(
        "processes left after stop (SIGKILLed): {}",
        desc.join("; ")
    ))
}

/// Names of `*.sock` files in `dir` (none if it does not exist).
pub fn socket_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sock"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `Ok` if there are no problems, else all of them and the server root.
pub fn verdict(problems: Vec<String>, root: &Path) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(server root {})",
            problems.join("\n"),
            root.display()
        ))
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
