//! Environ keys as Python strings, made once per (thread, interpreter) and
//! reused by every environ the thread builds: an interned string with its
//! hash already computed instead of a new string (allocated, hashed and
//! freed again) per key and request, about 400 instructions each. Kept in
//! the thread state's dict, so they go with the thread state and never
//! cross interpreters. At most [`MAX`] keys are kept (a request's header
//! names are keys too, and clients choose them); past that, keys are made
//! per use as before. GIL held.

use pyo3::prelude::*;
use pyo3::types::PyString;
use rustc_hash::FxHashMap;

/// Key of the cache in the thread state's dict.
const KEY: &str = "mod_wsgi.environ_keys";

/// Most keys kept per thread and interpreter.
const MAX: usize = 512;

/// One thread's environ keys in one interpreter.
#[pyclass(module = "mod_wsgi", name = "_EnvironKeys")]
pub struct Keys {
    /// Fx hashing: the names are short and a SipHash of each was most of
    /// the lookup.
    strings: FxHashMap<Box<str>, Py<PyString>>,
}

impl Keys {
    /// This thread's keys in the current interpreter, made on first use.
    pub fn of_thread(py: Python<'_>) -> PyResult<Bound<'_, Keys>> {
        let dict = super::dict::thread_dict(py)?;
        let key = PyString::new(py, KEY);
        if let Some(found) = dict.get_item(&key)? {
            if let Ok(k) = found.cast_into::<Keys>() {
                return Ok(k);
            }
        }
        let k = Bound::new(
            py,
            Keys {
                strings: FxHashMap::with_capacity_and_hasher(64, Default::default()),
            },
        )?;
        dict.set_item(key, &k)?;
        Ok(k)
    }

    /// `name` as a Python string: the kept one, or a new one (kept while
    /// there is room).
    pub fn get<'py>(&mut self, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
        if let Some(s) = self.strings.get(name) {
            return s.bind(py).clone();
        }
        let s = PyString::intern(py, name);
        if self.strings.len() < MAX {
            self.strings.insert(name.into(), s.clone().unbind());
        }
        s
    }
}
