//! Python stack dumps of every thread of the process, for the daemon's
//! timers (request-timeout, interrupt-timeout, deadlock-timeout) to log
//! before they interrupt or restart anything. The lines are mod_wsgi 6's:
//! `Thread ID executing file "F", line N, in NAME`, then one
//! `called from file "F", line N, in NAME,` per caller, the last ending
//! with `.`; innermost frame first. `mark` adds a note after the thread id
//! (the daemon marks the stuck thread and names the worker of each thread).
//!
//! [`with_gil`] reads `sys._current_frames()` (every interpreter's running
//! threads) with the GIL held, as mod_wsgi does. When the GIL cannot be
//! taken (deadlock-timeout), [`without_gil`] asks CPython's own fault
//! handler dumper (`_Py_DumpTracebackThreads`, which reads the thread
//! states without the GIL, as `faulthandler` does from its watchdog thread)
//! for each interpreter, looked up at run time so a Python without it only
//! loses the dump.

use super::interp;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, FromRawFd};

/// A note to print after a thread's id ("" for none).
pub type Mark<'a> = &'a dyn Fn(u64) -> String;

/// One frame: file, line, function.
type Frame = (String, i64, String);

/// The lines for one thread's frames, innermost first.
fn thread_lines(ident: u64, mark: Mark<'_>, frames: &[Frame], out: &mut Vec<String>) {
    let last = frames.len().saturating_sub(1);
    for (i, (file, line, name)) in frames.iter().enumerate() {
        out.push(if i == 0 {
            format!(
                "Thread {ident}{} executing file \"{file}\", line {line}, in {name}",
                mark(ident)
            )
        } else {
            let end = if i == last { '.' } else { ',' };
            format!("called from file \"{file}\", line {line}, in {name}{end}")
        });
    }
}

/// The stacks of every thread running Python code, read with the GIL held
/// (in any interpreter: `sys._current_frames()` covers them all).
pub fn with_gil(py: Python<'_>, mark: Mark<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let frames = py
        .import("sys")
        .and_then(|sys| sys.call_method0("_current_frames"))
        .and_then(|d| d.cast_into::<PyDict>().map_err(PyErr::from));
    let frames = match frames {
        Ok(f) => f,
        Err(e) => {
            out.push(format!(
                "cannot read the threads' frames: {}",
                super::describe(py, &e)
            ));
            super::discard(py, e);
            return out;
        }
    };
    for (ident, frame) in frames.iter() {
        let ident: u64 = ident.extract().unwrap_or(0);
        let mut stack: Vec<Frame> = Vec::new();
        let mut f = Some(frame);
        while let Some(cur) = f.filter(|c| !c.is_none()) {
            let code = cur.getattr("f_code").ok();
            let get = |what: &str| {
                code.as_ref()
                    .and_then(|c| c.getattr(what).ok())
                    .and_then(|v| v.extract::<String>().ok())
                    .unwrap_or_else(|| "<unknown>".into())
            };
            let line = cur
                .getattr("f_lineno")
                .and_then(|l| l.extract::<i64>())
                .unwrap_or(0);
            stack.push((get("co_filename"), line, get("co_name")));
            f = cur.getattr("f_back").ok();
        }
        thread_lines(ident, mark, &stack, &mut out);
    }
    out
}

type DumpFn = unsafe extern "C" fn(
    libc::c_int,
    *mut pyo3::ffi::PyInterpreterState,
    *mut pyo3::ffi::PyThreadState,
) -> *const libc::c_char;

/// CPython's `_Py_DumpTracebackThreads`, if this Python exports it.
fn dump_fn() -> Option<DumpFn> {
    // SAFETY: dlsym with a NUL-terminated name; the default scope includes
    // libpython, loaded with this module.
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_Py_DumpTracebackThreads".as_ptr()) };
    // SAFETY: the symbol has this signature in every CPython that exports it
    // (3.10 to 3.13).
    (!f.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, DumpFn>(f) })
}

/// The stacks of every thread of every interpreter, read without the GIL
/// (whoever holds it keeps it); a line saying why when this Python cannot.
pub fn without_gil(mark: Mark<'_>) -> Vec<String> {
    let Some(dump) = dump_fn() else {
        return vec!["this Python does not export _Py_DumpTracebackThreads: no stacks".into()];
    };
    // SAFETY: a plain memfd_create call with a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"wsgi-stacks".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return vec![format!(
            "cannot dump the stacks: {}",
            std::io::Error::last_os_error()
        )];
    }
    // SAFETY: `fd` was just created and is owned by this File only.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    for i in interp::all() {
        // SAFETY: the interpreter is live for the process's life; the dumper
        // only reads thread states and writes to `fd`, as faulthandler does
        // from a thread without the GIL; a NULL current state marks none.
        unsafe { dump(file.as_raw_fd(), i.as_ptr(), std::ptr::null_mut()) };
    }
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    from_faulthandler(&text, mark)
}

/// Rewrites faulthandler's dump (`Thread 0x7f.. (most recent call first):`,
/// `  File "F", line N in NAME`) in mod_wsgi's lines.
fn from_faulthandler(text: &str, mark: Mark<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut thread: Option<(u64, Vec<Frame>)> = None;
    let flush = |t: Option<(u64, Vec<Frame>)>, out: &mut Vec<String>| {
        if let Some((ident, frames)) = t {
            if frames.is_empty() {
                out.push(format!("Thread {ident}{} has no Python frame", mark(ident)));
            }
            thread_lines(ident, mark, &frames, out);
        }
    };
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l
            .strip_prefix("Thread 0x")
            .or_else(|| l.strip_prefix("Current thread 0x"))
        {
            flush(thread.take(), &mut out);
            let hex = rest.split_whitespace().next().unwrap_or("");
            thread = Some((u64::from_str_radix(hex, 16).unwrap_or(0), Vec::new()));
        } else if let (Some(rest), Some((_, frames))) = (l.strip_prefix("File \""), thread.as_mut())
        {
            // `F", line N in NAME`
            let (file, tail) = rest.rsplit_once("\", line ").unwrap_or((rest, ""));
            let (n, name) = tail.split_once(" in ").unwrap_or((tail, "<unknown>"));
            frames.push((file.into(), n.trim().parse().unwrap_or(0), name.into()));
        }
    }
    flush(thread.take(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faulthandler_dumps_become_mod_wsgi_lines() {
        let text = "Thread 0x00007f0000000010 (most recent call first):\n  \
                    File \"/a.py\", line 3 in inner\n  File \"/a.py\", line 9 in outer\n\n\
                    Current thread 0x0000000000000020 (most recent call first):\n  <no Python frame>\n";
        let mark = |id: u64| {
            if id == 16 {
                " (stuck)".to_string()
            } else {
                String::new()
            }
        };
        assert_eq!(
            from_faulthandler(text, &mark),
            [
                "Thread 139637976727568 executing file \"/a.py\", line 3, in inner",
                "called from file \"/a.py\", line 9, in outer.",
                "Thread 32 has no Python frame",
            ]
        );
    }
}
