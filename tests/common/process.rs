//! Process helpers over `/proc` and kill(2): signal a PID, list processes by
//! command line or ancestry, tell a live process from a zombie or a reused
//! PID. Nothing here signals by name: callers pass PIDs they spawned or found
//! through their own unique server root. Part of the test harness in
//! `tests/common/`.

use std::fs;

/// Send `sig` to `pid` (kill(2)). Refuses PIDs 0, 1 and negative ones (no
/// process groups, no init).
pub fn signal(pid: i32, sig: i32) {
    assert!(pid > 1, "refusing to signal pid {pid}");
    // SAFETY: plain kill(2) on a positive PID we spawned or identified.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Every PID in /proc.
pub fn list_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// Fields of /proc/<pid>/stat after the `(comm)` field (state is field 0).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...; comm may contain spaces/parens.
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

pub fn parent_pid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Start time of `pid` in clock ticks since boot: with the PID, it names one
/// process even if the PID is reused later.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

pub fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

pub fn describe_pid(pid: i32) -> String {
    format!(
        "pid {pid} ppid {:?}: {}",
        parent_pid(pid),
        cmdline(pid).trim()
    )
}

/// Live (non-zombie) processes whose command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    list_pids()
        .into_iter()
        .filter(|&p| p != me && pid_alive(p) && cmdline(p).contains(needle))
        .collect()
}

/// `pid` and every live process descended from it, parents first.
pub fn descendants(pid: i32) -> Vec<i32> {
    let table: Vec<(i32, Option<i32>)> = list_pids()
        .into_iter()
        .filter(|&p| pid_alive(p))
        .map(|p| (p, parent_pid(p)))
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            table
                .iter()
                .filter(|(_, pp)| *pp == Some(parent))
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found
}

/// True if `pid` is a live process (not a zombie).
pub fn pid_alive(pid: i32) -> bool {
    match stat_fields(pid) {
        Some(f) => f.first().is_some_and(|state| state != "Z"),
        None => false,
    }
}
