//! The environ an auth script's function receives (mod_wsgi's
//! `Auth_environ`): the request's variables (`handler::cgi::collect_auth`),
//! `apache.version`, `mod_wsgi.version` and a `wsgi.errors` that logs in the
//! request's context while the hook runs (afterwards, in the server's).

use crate::apache::log::{self, Level};
use crate::apache::request::Request;
use crate::python::logstream::{LogStream, RequestLog, Sink, text_wrapper};
use crate::wsgi::environ::{EnvironData, latin1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::sync::{Arc, Mutex};

/// `wsgi.errors` of an auth call: the request while the hook runs.
pub struct HookLog {
    /// The `request_rec` address; `None` once the hook has returned.
    request: Mutex<Option<usize>>,
}

impl HookLog {
    pub fn new(r: &Request<'_>) -> Arc<HookLog> {
        Arc::new(HookLog {
            request: Mutex::new(Some(r.as_ptr() as usize)),
        })
    }

    /// Called before the hook returns: later writes go to the server's log.
    pub fn expire(&self) {
        *self.request.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl RequestLog for HookLog {
    fn log_lines(&self, level: Level, lines: &[String]) -> bool {
        let guard = self.request.lock().unwrap_or_else(|e| e.into_inner());
        let Some(addr) = *guard else {
            return false;
        };
        // SAFETY: the address is the live request of the hook running on
        // this thread (a script's function runs synchronously in the hook;
        // `expire` is called before the hook returns).
        let r = unsafe { Request::from_ptr(addr as *mut crate::apache::sys::request_rec) };
        for l in lines {
            log::request(level, &r, l);
        }
        true
    }
}

/// Builds the environ dict from `data`, with `log` as `wsgi.errors`.
pub fn build<'py>(
    py: Python<'py>,
    data: &EnvironData,
    log: &Arc<HookLog>,
) -> PyResult<Bound<'py, PyDict>> {
    let env = PyDict::new(py);
    for (k, v) in data.vars.iter() {
        env.set_item(PyString::new(py, k), latin1(py, v)?)?;
    }
    crate::wsgi::environ::set_versions(&env)?;
    let sink = Sink::Request(log.clone() as Arc<dyn RequestLog>);
    let errors = text_wrapper(py, LogStream::new(sink, Level::Err))?;
    env.set_item("wsgi.errors", errors)?;
    Ok(env)
}
