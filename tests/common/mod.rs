//! The one integration-test harness, used by every `tests/*.rs` file through
//! `#[macro_use] mod common;` (or `mod common;`). Two ways to get a real
//! Apache with the module under test (`MOD_WSGI_SO`, or the crate's own
//! `libmod_wsgi.so`): `ApacheBuilder` writes an `httpd.conf` into a fresh,
//! world-readable ServerRoot under `/tmp` and starts `/usr/sbin/apache2`;
//! `ExpressServer` runs `mod_wsgi-express` (or any command that ends up as
//! Apache's parent). Both guards stop their server by PID and then fail the
//! test on fatal lines in the error log (`:emerg]`, `:alert]`, `:crit]`,
//! `Segmentation fault`, `panicked`, minus a per-test allow list), on
//! processes left behind and on leaked daemon sockets. One HTTP/1.1 client
//! over raw `TcpStream` serves both (tests control `Expect`, chunking and
//! keep-alive).
//!
//! Layout, one file per noun: this file (module under test, MPMs, the
//! `per_mpm!`/`ours_only!` macros, file helpers), `builder.rs`
//! (`ApacheBuilder`, config generation, `apache2 -t`), `server.rs` (the
//! `Apache` guard, restarts), `express.rs` (the `ExpressServer` guard and
//! scratch directories), `postmortem.rs` (the checks both guards run),
//! `process.rs` (signal, /proc), `http.rs` (the client), `port.rs` (ports).
//! Environment: `MOD_WSGI_SO` picks the module; `MOD_WSGI_IS_REFERENCE=0|1`
//! overrides reference detection; `MOD_WSGI_TEST_KEEP=1` keeps ServerRoots;
//! `MOD_WSGI_PYTHON_HOME` adds a `WSGIPythonHome` to every generated config
//! (for a module whose built-in home Apache's user cannot read).
//!
//! Apache children run as `www-data`, so everything they read is copied under
//! the ServerRoot (mode 0755/0644), never left under `/root`. Nothing here
//! kills by name: only PIDs this harness spawned, or processes whose command
//! line names this test's unique server root or config path.
#![allow(dead_code, unused_macros)]

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod builder;
mod express;
mod forge;
mod http;
mod port;
mod postmortem;
mod process;
mod server;
mod users;

// Each test binary uses only part of the harness: the re-exports it leaves
// unused must not warn (as `dead_code` above does for items).
pub use builder::*;
#[allow(unused_imports)]
pub use express::*;
#[allow(unused_imports)]
pub use forge::forge;
pub use http::*;
pub use port::free_port;
#[allow(unused_imports)]
pub use postmortem::{FATAL_LOG_PATTERN, fatal_lines, tail};
#[allow(unused_imports)]
pub use process::*;
pub use server::*;
#[allow(unused_imports)]
pub use users::*;

/// Apache binary used for every test.
pub const APACHE_BIN: &str = "/usr/sbin/apache2";
/// Where Debian keeps loadable Apache modules (MPMs, mod_mime, ...).
pub const APACHE_MODULES: &str = "/usr/lib/apache2/modules";
/// How long to wait for Apache to start serving.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for the parent to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful stop (SIGWINCH) may take before SIGTERM.
const GRACEFUL_STOP_TIMEOUT: Duration = Duration::from_secs(3);
/// The same against the reference module, long enough for Apache's own
/// SIGTERM/SIGKILL escalation (about 10 s) on a child that hangs at exit.
const REFERENCE_STOP_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Module under test
// ---------------------------------------------------------------------------

/// Path of the mod_wsgi shared object under test: `$MOD_WSGI_SO`, else the
/// `libmod_wsgi.so` next to this test binary's profile dir (`target/debug`),
/// else `$CARGO_TARGET_DIR/debug`, else `<manifest>/target/debug`.
pub fn module_under_test() -> PathBuf {
    if let Some(p) = std::env::var_os("MOD_WSGI_SO") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/debug/deps/<test>-<hash> -> target/debug
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            candidates.push(profile.join("libmod_wsgi.so"));
        }
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(manifest.join(t).join("debug/libmod_wsgi.so"));
    }
    candidates.push(manifest.join("target/debug/libmod_wsgi.so"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| candidates.last().unwrap().clone())
}

/// True when the module under test is the C reference mod_wsgi rather than
/// ours. Decided by content (a Rust build always embeds `/rustc/` source paths),
/// so it stays right if ours is installed under the reference's path.
/// `MOD_WSGI_IS_REFERENCE=1|0` overrides.
pub fn is_reference() -> bool {
    static IS_REF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IS_REF.get_or_init(|| {
        match std::env::var("MOD_WSGI_IS_REFERENCE").as_deref() {
            Ok("1") => return true,
            Ok("0") => return false,
            _ => {}
        }
        let path = module_under_test();
        let bytes = fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read module under test {}: {e}", path.display()));
        !contains(&bytes, b"/rustc/")
    })
}

/// Early-return helper for behaviour only our module has. Prints why.
/// (Test files use `#[macro_use] mod common;`.)
macro_rules! ours_only {
    ($why:expr) => {
        if $crate::common::is_reference() {
            eprintln!(
                "skipped against the reference mod_wsgi (ours-only): {}",
                $why
            );
            return;
        }
    };
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------
// MPM
// ---------------------------------------------------------------------------

/// Apache multi-processing module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Worker,
    Prefork,
}

impl Mpm {
    pub const ALL: [Mpm; 3] = [Mpm::Event, Mpm::Worker, Mpm::Prefork];

    pub fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
            Mpm::Prefork => "prefork",
        }
    }

    /// Small default sizing so that many Apaches can run side by side.
    pub fn default_sizing(self) -> Vec<String> {
        let lines: &[&str] = match self {
            Mpm::Event | Mpm::Worker => &[
                "StartServers 1",
                "ServerLimit 4",
                "ThreadLimit 32",
                "ThreadsPerChild 25",
                "MinSpareThreads 5",
                "MaxSpareThreads 50",
                "MaxRequestWorkers 100",
                "MaxConnectionsPerChild 0",
            ],
            Mpm::Prefork => &[
                "StartServers 2",
                "MinSpareServers 1",
                "MaxSpareServers 4",
                "ServerLimit 50",
                "MaxRequestWorkers 50",
                "MaxConnectionsPerChild 0",
            ],
        };
        lines.iter().map(|s| s.to_string()).collect()
    }
}

impl fmt::Display for Mpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `per_mpm!(name, body_fn);` defines tests `name::event`, `name::worker`
/// and `name::prefork`, each calling `body_fn(Mpm::X)` (a fn in the same
/// module as the macro call).
macro_rules! per_mpm {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn event() {
                super::$body($crate::common::Mpm::Event)
            }
            #[test]
            fn worker() {
                super::$body($crate::common::Mpm::Worker)
            }
            #[test]
            fn prefork() {
                super::$body($crate::common::Mpm::Prefork)
            }
        }
    };
}

pub(crate) fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

/// Copy a file or directory tree, making it readable by everyone.
pub(crate) fn copy_tree(src: &Path, dst: &Path) {
    let meta = fs::metadata(src).unwrap_or_else(|e| panic!("stat {}: {e}", src.display()));
    if meta.is_dir() {
        fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
        set_mode(dst, 0o755);
        for entry in fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &dst.join(entry.file_name()));
        }
    } else {
        fs::copy(src, dst)
            .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
        set_mode(dst, 0o644);
    }
}

/// Directory holding the test apps (`tests/apps`).
pub fn apps_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apps")
}

pub fn write_file(path: &Path, contents: &str) {
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        fs::create_dir_all(parent).unwrap();
        set_mode(parent, 0o755);
    }
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    set_mode(path, 0o644);
}

pub(crate) fn open_append(p: &Path) -> fs::File {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
}

/// Run `f(i)` for `i in 0..n` on `n` threads at once; results in index order.
pub fn concurrently<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let f = f.clone();
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                f(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("request thread panicked"))
        .collect()
}

/// Parse `key=value` lines (as the test apps print them) into a map; panics
/// with the whole text if a line has no `=`.
pub fn parse_kv(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not a key=value line {l:?} in:\n{text}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}
