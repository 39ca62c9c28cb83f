//! `WSGIRestrictStdin`, `WSGIRestrictStdout` and `WSGIRestrictSignal` for
//! one interpreter, as mod_wsgi applies them: a restricted `sys.stdin` or
//! `sys.stdout` raises `OSError` on any use, and with signal restriction
//! (the default) `signal.signal()` registers nothing, logs a warning (its id
//! passed in as `log_id`) with
//! the caller's stack to the error log and returns the current handler, so
//! applications cannot take Apache's signals away from it.
//! Called from `init::setup_interpreter` with the GIL held.

use crate::apache::log_ids::SIGNAL_RESTRICTED;
use pyo3::prelude::*;
use pyo3::types::PyDict;

const CODE: &std::ffi::CStr = c"
import sys, signal

class Restricted:
    '''A standard stream an application may not use under mod_wsgi.'''
    __module__ = 'mod_wsgi'
    def __init__(self, name):
        object.__setattr__(self, '_name', name)
    def __getattr__(self, attr):
        raise OSError('%s access restricted by mod_wsgi' % self._name)
    def __iter__(self):
        raise OSError('%s access restricted by mod_wsgi' % self._name)

if restrict_stdin:
    sys.stdin = Restricted('sys.stdin')
if restrict_stdout:
    sys.stdout = Restricted('sys.stdout')
if restrict_signal:
    def _mod_wsgi_signal(signalnum, handler, _getsignal=signal.getsignal):
        sys.stderr.write(log_id + ' Callback registration for signal %d ignored '
                         '(WSGIRestrictSignal On).\\n' % signalnum)
        import traceback  # only here: it pulls in re, tokenize, ... (memory per process)
        sys.stderr.writelines(traceback.format_stack()[:-1])
        sys.stderr.flush()
        return _getsignal(signalnum)
    signal.signal = _mod_wsgi_signal
";

/// Applies the restrictions to the current interpreter.
pub fn install(py: Python<'_>, stdin: bool, stdout: bool, signal: bool) -> PyResult<()> {
    let globals = PyDict::new(py);
    globals.set_item("restrict_stdin", stdin)?;
    globals.set_item("restrict_stdout", stdout)?;
    globals.set_item("log_id", SIGNAL_RESTRICTED.to_string())?;
    globals.set_item("restrict_signal", signal)?;
    py.run(CODE, Some(&globals), None)
}
