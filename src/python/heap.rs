//! The C heap of a process that runs Python: glibc's malloc tuning applied
//! before any thread starts. glibc raises its mmap threshold each time a
//! large block served by `mmap` is freed (up to 32 MiB), so after a few
//! 1 MiB bodies every later large buffer comes from the per-thread arenas,
//! where a mix of sizes fragments them and the process grows for as long as
//! it serves (issue 16's soak: ~2 MiB per 100,000 requests). Setting the
//! threshold explicitly, to glibc's own starting value, turns that dynamic
//! raise off: large buffers always go back to the system when freed. An
//! operator's own setting (`MALLOC_MMAP_THRESHOLD_` or the
//! `glibc.malloc.mmap_threshold` tunable) wins.

/// glibc's initial mmap threshold (`DEFAULT_MMAP_THRESHOLD_MIN`), kept fixed.
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Whether the environment already sets the mmap threshold, in which case
/// glibc has applied it and it is left alone.
fn operator_sets_threshold(env: impl Fn(&str) -> Option<String>) -> bool {
    env("MALLOC_MMAP_THRESHOLD_").is_some()
        || env("GLIBC_TUNABLES").is_some_and(|t| t.contains("glibc.malloc.mmap_threshold"))
}

/// Fixes the mmap threshold of this process (see the module comment).
/// Called by `configure_process`, before the process starts any thread.
pub fn fix_mmap_threshold() {
    if operator_sets_threshold(|k| std::env::var(k).ok()) {
        return;
    }
    apply(MMAP_THRESHOLD);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply(bytes: usize) {
    let value = i32::try_from(bytes).unwrap_or(i32::MAX);
    // SAFETY: mallopt only updates glibc's malloc parameters; it takes
    // malloc's own lock and is safe to call at any time.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, value) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply(_bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::operator_sets_threshold;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_operators_setting_wins() {
        assert!(!operator_sets_threshold(env(&[])));
        assert!(operator_sets_threshold(env(&[(
            "MALLOC_MMAP_THRESHOLD_",
            "65536"
        )])));
        assert!(operator_sets_threshold(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576"
        )])));
        assert!(!operator_sets_threshold(env(&[(
            "GLIBC_TUNABLES",
            "glibc.malloc.arena_max=2"
        )])));
    }
}
