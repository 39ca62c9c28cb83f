//! Environ keys as Python strings, made once per (thread, interpreter) and
//! reused by every environ the thread builds: an interned string with its
//! hash already computed instead of a new string (allocated, hashed and
//! freed again) per key and request, about 400 instructions each. Kept in
//! the thread state's dict, so they go with the thread state and never
//! cross interpreters. At most [`MAX`] keys are kept (a request's header
//! names are keys too, and clients choose them); past that, keys are made
//! per use as before. GIL held.

use super::class::{self, Class, ClassId};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;
use rustc_hash::FxHashMap;
use std::cell::RefMut;
use std::ffi::CStr;

/// Key of the cache in the thread state's dict.
const KEY: &str = "mod_wsgi.environ_keys";

/// Most keys kept per thread and interpreter.
const MAX: usize = 512;

/// One thread's environ keys in one interpreter.
/// An instance of a per-interpreter class (`class`), kept in the thread
/// state's dict.
pub struct Keys {
    /// Fx hashing: the names are short and a SipHash of each was most of
    /// the lookup.
    strings: FxHashMap<Box<str>, Py<PyString>>,
}

impl Class for Keys {
    const NAME: &'static CStr = c"mod_wsgi._EnvironKeys";
    const ID: ClassId = ClassId::EnvironKeys;
    fn slots() -> Vec<ffi::PyType_Slot> {
        Vec::new()
    }
}

impl Keys {
    /// This thread's keys in the current interpreter (a `Keys`), made on
    /// first use; [`Keys::borrow`] gives the value.
    pub fn of_thread(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let dict = super::dict::thread_dict(py)?;
        let key = PyString::new(py, KEY);
        if let Some(found) = dict.get_item(&key)? {
            if class::downcast::<Keys>(&found)?.is_some() {
                return Ok(found);
            }
        }
        let k = class::new(
            py,
            Keys {
                strings: FxHashMap::with_capacity_and_hasher(64, Default::default()),
            },
        )?;
        dict.set_item(key, &k)?;
        Ok(k)
    }

    /// The value of `keys` (from [`Keys::of_thread`]), mutably borrowed.
    pub fn borrow<'a>(keys: &'a Bound<'_, PyAny>) -> PyResult<RefMut<'a, Keys>> {
        class::downcast::<Keys>(keys)?
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("not a mod_wsgi._EnvironKeys"))
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
