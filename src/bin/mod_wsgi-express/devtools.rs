//! The developer tools of mod_wsgi-express, as pip's 6.1.1 provides them: `--debug-mode`
//! (one Apache process in the foreground, `httpd -DONE_PROCESS`, the application in
//! it, embedded, with the terminal as its stdin), and, each implying debug mode,
//! `--enable-debugger` (pdb post-mortem on the terminal when the application raises;
//! `--debugger-startup` enters pdb when the application is loaded), `--enable-profiler`
//! (cProfile over the whole process, a `<usec>-<pid>.pstats` file at exit),
//! `--enable-coverage` (coverage.py over the whole process, an HTML report at exit),
//! `--enable-recorder` (every request's environ, body, response head and body and
//! exceptions into files named `<usec>-<pid>-<n>.*`) and `--enable-gdb` (apachectl
//! runs httpd under gdb). The Python parts are prepended/appended to the generated
//! wrapper `handler.wsgi` (`entry.rs`), which then mounts every application. Resolved
//! by `resolve.rs`, written by `entry.rs`, `apachectl.rs` and `server_root.rs`.

use crate::cli::ServerArgs;
use crate::entry::py_str;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The resolved developer tools; all off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevTools {
    /// `--debug-mode`, or implied by any tool below.
    pub debug_mode: bool,
    /// `--enable-debugger`: Some(startup) where startup is `--debugger-startup`.
    pub debugger: Option<bool>,
    /// `--enable-coverage`: the HTML report's directory.
    pub coverage: Option<PathBuf>,
    /// `--enable-profiler`: where the `.pstats` files go.
    pub profiler: Option<PathBuf>,
    /// `--enable-recorder`: where the recorded requests go.
    pub recorder: Option<PathBuf>,
    /// `--enable-gdb`: the gdb executable.
    pub gdb: Option<String>,
}

impl DevTools {
    /// True when the application must be mounted through the wrapper.
    pub fn wraps(&self) -> bool {
        self.debugger.is_some()
            || self.coverage.is_some()
            || self.profiler.is_some()
            || self.recorder.is_some()
    }

    /// The output directories express creates before starting.
    pub fn directories(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.coverage, &self.profiler, &self.recorder]
            .into_iter()
            .flatten()
    }
}

/// Resolves the options; `abs` makes a path absolute against the current directory.
pub fn resolve(
    args: &ServerArgs,
    server_root: &Path,
    abs: &dyn Fn(&str) -> PathBuf,
) -> Result<DevTools> {
    if args.debugger_startup && !args.enable_debugger {
        bail!("--debugger-startup requires --enable-debugger");
    }
    for (given, enabled, flag, needs) in [
        (
            args.coverage_directory.is_some(),
            args.enable_coverage,
            "--coverage-directory",
            "--enable-coverage",
        ),
        (
            args.profiler_directory.is_some(),
            args.enable_profiler,
            "--profiler-directory",
            "--enable-profiler",
        ),
        (
            args.recorder_directory.is_some(),
            args.enable_recorder,
            "--recorder-directory",
            "--enable-recorder",
        ),
    ] {
        if given && !enabled {
            bail!("{flag} does nothing without {needs}");
        }
    }
    let dir = |enabled: bool, given: &Option<String>, default: &str| {
        enabled.then(|| match given {
            Some(p) => abs(p),
            None => server_root.join(default),
        })
    };
    let tools = DevTools {
        debug_mode: false,
        debugger: args.enable_debugger.then_some(args.debugger_startup),
        coverage: dir(args.enable_coverage, &args.coverage_directory, "htmlcov"),
        profiler: dir(args.enable_profiler, &args.profiler_directory, "pstats"),
        recorder: dir(args.enable_recorder, &args.recorder_directory, "archive"),
        gdb: args.enable_gdb.then(|| args.gdb_executable.clone()),
    };
    let debug_mode = args.debug_mode || tools.wraps() || tools.gdb.is_some();
    if debug_mode && args.reload_on_changes {
        bail!(
            "--reload-on-changes cannot be used with --debug-mode (or a debugging tool): \
             the single debug process is not restarted"
        );
    }
    Ok(DevTools {
        debug_mode,
        ..tools
    })
}

/// The summary lines of the tools' outputs, with the original's labels.
pub fn summary(t: &DevTools) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(dir) = &t.coverage {
        lines.push((
            "Coverage Output",
            dir.join("index.html").display().to_string(),
        ));
    }
    if let Some(dir) = &t.profiler {
        lines.push(("Profiler Output", dir.display().to_string()));
    }
    if let Some(dir) = &t.recorder {
        lines.push(("Recorder Output", dir.display().to_string()));
    }
    lines
}

/// Debug mode serves one request at a time in one process: the sizing options would do
/// nothing, so they are refused.
pub fn check_sizing(matches: &clap::ArgMatches, debug_mode: bool) -> Result<()> {
    use clap::parser::ValueSource;
    if !debug_mode {
        return Ok(());
    }
    for (id, flag) in [
        ("processes", "--processes"),
        ("threads", "--threads"),
        ("max_clients", "--max-clients"),
    ] {
        if matches.value_source(id) == Some(ValueSource::CommandLine) {
            bail!(
                "{flag} cannot be used with --debug-mode (or a debugging tool): \
                 debug mode serves one request at a time in one process"
            );
        }
    }
    Ok(())
}

/// Creates the output directories, writable by the run user (the one debug process
/// runs as it when express is started as root).
pub fn prepare(t: &DevTools, owner: (nix::unistd::Uid, nix::unistd::Gid)) -> Result<()> {
    for dir in t.directories() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if nix::unistd::Uid::current().is_root() {
            nix::unistd::chown(dir, Some(owner.0), Some(owner.1))
                .with_context(|| format!("cannot chown {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Python run before the application is loaded: starts the coverage and the profiler,
/// so that the import of the application is measured too.
pub fn prologue(t: &DevTools) -> String {
    let mut s = String::new();
    if !t.wraps() {
        return s;
    }
    let _ = writeln!(s, "# mod_wsgi-express debugging tools (debug mode).");
    let _ = writeln!(s, "import atexit as _atexit");
    let _ = writeln!(s, "import os as _os");
    let _ = writeln!(s, "import time as _time");
    if let Some(dir) = &t.coverage {
        let _ = write!(
            s,
            "from coverage import Coverage as _Coverage\n\
             _coverage = _Coverage(data_file={data})\n\
             _coverage.start()\n\n\
             def _coverage_report():\n    \
                 _coverage.stop()\n    \
                 _coverage.save()\n    \
                 _coverage.html_report(directory={dir})\n\n\
             _atexit.register(_coverage_report)\n",
            data = py_str(&dir.join(".coverage").to_string_lossy()),
            dir = py_str(&dir.to_string_lossy()),
        );
    }
    if let Some(dir) = &t.profiler {
        let _ = write!(
            s,
            "import cProfile as _cProfile\n\
             _profiler = _cProfile.Profile()\n\
             _profiler.enable()\n\n\
             def _profiler_dump():\n    \
                 _profiler.disable()\n    \
                 _name = '%d-%d.pstats' % (int(_time.time() * 1000000), _os.getpid())\n    \
                 _profiler.dump_stats(_os.path.join({dir}, _name))\n\n\
             _atexit.register(_profiler_dump)\n",
            dir = py_str(&dir.to_string_lossy()),
        );
    }
    s.push('\n');
    s
}

/// The variables the original's handler sets in debug mode, exported by apachectl
/// so that the application sees them (`MOD_WSGI_DEBUG_MODE` and one per tool).
pub fn environment(t: &DevTools) -> Vec<&'static str> {
    if !t.debug_mode {
        return Vec::new();
    }
    let mut names = vec!["MOD_WSGI_DEBUG_MODE"];
    for (on, name) in [
        (t.debugger.is_some(), "MOD_WSGI_DEBUGGER_ENABLED"),
        (t.coverage.is_some(), "MOD_WSGI_COVERAGE_ENABLED"),
        (t.profiler.is_some(), "MOD_WSGI_PROFILER_ENABLED"),
        (t.recorder.is_some(), "MOD_WSGI_RECORDER_ENABLED"),
        (t.gdb.is_some(), "MOD_WSGI_GDB_ENABLED"),
    ] {
        if on {
            names.push(name);
        }
    }
    names
}

/// Python run after the application is bound to `callable`: wraps it in the recorder
/// and then the debugger (the debugger outermost, as the original).
pub fn epilogue(t: &DevTools, callable: &str) -> String {
    let mut s = String::new();
    let name = py_str(callable);
    if let Some(dir) = &t.recorder {
        s.push_str(RECORDER);
        let _ = writeln!(
            s,
            "globals()[{name}] = _Recorder(globals()[{name}], {})",
            py_str(&dir.to_string_lossy())
        );
    }
    if let Some(startup) = t.debugger {
        s.push_str(DEBUGGER);
        let _ = writeln!(
            s,
            "globals()[{name}] = _PostMortem(globals()[{name}], {})",
            if startup { "True" } else { "False" }
        );
    }
    s
}

/// The post-mortem debugger: pdb on the terminal Apache was started from (fd 0 and 1,
/// which `--debug-mode` keeps: sys.stdout is Apache's error log under mod_wsgi).
const DEBUGGER: &str = r#"

import pdb as _pdb
import sys as _sys


class _PostMortem:
    def __init__(self, application, startup):
        self.application = application
        self.stdin = _os.fdopen(_os.dup(0), "r")
        self.stdout = _os.fdopen(_os.dup(1), "w")
        if startup:
            self.debugger().set_trace(_sys._getframe().f_back)

    def debugger(self):
        return _pdb.Pdb(stdin=self.stdin, stdout=self.stdout)

    def post_mortem(self):
        debugger = self.debugger()
        debugger.reset()
        debugger.interaction(None, _sys.exc_info()[2])

    def __call__(self, environ, start_response):
        try:
            result = self.application(environ, start_response)
        except Exception:
            self.post_mortem()
            raise
        return self.iterate(result)

    def iterate(self, result):
        try:
            for item in result:
                yield item
        except Exception:
            self.post_mortem()
            raise
        finally:
            try:
                if hasattr(result, "close"):
                    result.close()
            except Exception:
                self.post_mortem()
                raise

"#;

/// The request recorder: one set of files per request.
const RECORDER: &str = r#"

import pprint as _pprint
import threading as _threading
import traceback as _traceback


class _Recorder:
    def __init__(self, application, directory):
        self.application = application
        self.directory = directory
        self.lock = _threading.Lock()
        self.count = 0

    def __call__(self, environ, start_response):
        with self.lock:
            self.count += 1
            count = self.count
        key = "%d-%d-%d" % (int(_time.time() * 1000000), _os.getpid(), count)
        path = lambda suffix: _os.path.join(self.directory, key + suffix)
        with open(path(".iheaders"), "w") as fp:
            _pprint.pprint(environ, stream=fp)
        body = open(path(".icontent"), "w+b")
        while True:
            data = environ["wsgi.input"].read(8192)
            if not data:
                break
            body.write(data)
        body.flush()
        body.seek(0)
        environ["wsgi.input"] = body
        oheaders = open(path(".oheaders"), "w")
        ocontent = open(path(".ocontent"), "wb")

        def recording_start_response(status, headers, *args):
            _pprint.pprint((status, headers) + args, stream=oheaders)
            oheaders.flush()
            write = start_response(status, headers, *args)

            def recording_write(data):
                ocontent.write(data)
                return write(data)

            return recording_write

        def record_exception(suffix):
            with open(path(suffix), "w") as fp:
                _traceback.print_exc(file=fp)

        try:
            try:
                result = self.application(environ, recording_start_response)
            except BaseException:
                record_exception(".oaexcept")
                raise
            try:
                for data in result:
                    ocontent.write(data)
                    yield data
            except BaseException:
                record_exception(".orexcept")
                raise
            finally:
                try:
                    if hasattr(result, "close"):
                        result.close()
                except BaseException:
                    record_exception(".ofexcept")
                    raise
        finally:
            oheaders.close()
            ocontent.close()
            body.close()

"#;

/// `--enable-gdb`: apachectl's start/stop/restart line when gdb is enabled: the httpd
/// command line goes into `<root>/gdb.cmds` as gdb's `run` and gdb is run on httpd.
pub fn gdb_start(gdb: &str, server_root: &Path, httpd: &str, args: &str) -> String {
    let cmds = crate::apachectl::sh(server_root.join("gdb.cmds").to_string_lossy());
    format!(
        "    echo \"run {args} -k $*\" > {cmds}\n    exec {} -x {cmds} {httpd}\n",
        crate::apachectl::sh(gdb)
    )
}

#[cfg(test)]
#[path = "devtools_tests.rs"]
mod tests;
