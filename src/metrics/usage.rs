//! What the kernel says about this process and thread: CPU times
//! (`getrusage`) and resident memory (current from `/proc/self/statm`,
//! peak from `ru_maxrss`), for the metric dicts and telemetry records.

/// User and system CPU seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub user: f64,
    pub system: f64,
}

fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out-pointer for the call.
    (unsafe { libc::getrusage(who, &mut ru) } == 0).then_some(ru)
}

fn seconds(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

fn cpu_of(who: libc::c_int) -> Option<Cpu> {
    rusage(who).map(|ru| Cpu {
        user: seconds(ru.ru_utime),
        system: seconds(ru.ru_stime),
    })
}

/// CPU used by the whole process so far.
pub fn process_cpu() -> Cpu {
    cpu_of(libc::RUSAGE_SELF).unwrap_or_default()
}

/// CPU used by the calling thread so far (None where unsupported).
pub fn thread_cpu() -> Option<Cpu> {
    cpu_of(libc::RUSAGE_THREAD)
}

/// Peak resident memory in bytes.
pub fn max_rss() -> i64 {
    rusage(libc::RUSAGE_SELF)
        .map(|ru| ru.ru_maxrss * 1024)
        .unwrap_or(0)
}

/// Current resident memory in bytes.
pub fn current_rss() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as i64
}

/// Microseconds since the epoch.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
