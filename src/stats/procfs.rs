//! What the kernel says about a process, read from `/proc/PID/stat`
//! (readable by any user): whether it exists, whether it is stopped, its
//! CPU time and resident memory. Used when the endpoints are read and when
//! a slot of a dead owner is reclaimed.

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match stat(pid) {
        Some(s) => !matches!(s.state, 'Z' | 'X' | 'x'),
        None => {
            // SAFETY: kill(2) with signal 0 sends nothing; it checks the pid.
            let rc = unsafe { libc::kill(pid, 0) };
            rc == 0 || nix::errno::Errno::last() != nix::errno::Errno::ESRCH
        }
    }
}

/// A process's state letter, CPU time and resident size.
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub state: char,
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
}

impl Stat {
    /// Stopped by a signal or a tracer: it accepts nothing.
    pub fn stopped(&self) -> bool {
        matches!(self.state, 'T' | 't')
    }
}

/// `/proc/PID/stat`, parsed (None: no such process).
pub fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse(&text)
}

fn parse(text: &str) -> Option<Stat> {
    // The command name is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15, rss 24 (1-based).
    let state = f.first()?.chars().next()?;
    let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    // SAFETY: sysconf only reads system constants.
    let (tck, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let ticks = num(14)? + num(15)?;
    Some(Stat {
        state,
        cpu_seconds: ticks as f64 / tck.max(1) as f64,
        rss_bytes: num(24)? * page.max(1) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_name_with_spaces_and_parentheses() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 \
                    100 1000000 300 18446744073709551615";
        let s = parse(line).unwrap();
        assert_eq!(s.state, 'S');
        assert!(s.cpu_seconds > 0.0);
        assert!(s.rss_bytes >= 300);
    }

    #[test]
    fn reads_this_process() {
        let s = stat(std::process::id() as i32).unwrap();
        assert!(!s.stopped());
        assert!(s.rss_bytes > 0);
        assert!(alive(std::process::id() as i32));
    }
}
