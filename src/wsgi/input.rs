//! `wsgi.input`: the request body as a file-like object with `read([n])`,
//! `readline([n])`, `readlines([hint])`, iteration and `close()`, returning
//! `b''` at the end. Every read releases the GIL while the host blocks.
//! Host errors (client gone, body too large) raise `OSError`. Buffers grow
//! with the bytes that arrive, never to the declared `Content-Length` up
//! front.

use super::host::{Exchange, HostError};
use crate::python::class::{self, Class, ClassId, Fast};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::sync::Arc;

const CHUNK: usize = 64 * 1024;
/// Reads at least this large bypass the look-ahead buffer.
const DIRECT_MIN: usize = 16 * 1024;

pub struct Input {
    exchange: Arc<Exchange>,
    /// Bytes read from the host but not yet returned (readline look-ahead).
    pending: Vec<u8>,
    eof: bool,
    /// Body bytes not yet read from the host, when the request declared a
    /// `Content-Length` (not for chunked bodies).
    remaining: Option<u64>,
    /// Reads, bytes and time taken from the host (`request_finished`).
    stats: super::events::Io,
}

impl Input {
    pub fn new(exchange: Arc<Exchange>) -> Input {
        Input {
            exchange,
            pending: Vec::new(),
            eof: false,
            remaining: None,
            stats: super::events::Io::default(),
        }
    }

    /// What was read from the host so far.
    pub fn stats(&self) -> super::events::Io {
        self.stats
    }

    /// Starts timing a host read when someone subscribed to events.
    fn timer() -> Option<std::time::Instant> {
        crate::python::events::any_subscriber().then(std::time::Instant::now)
    }

    fn timed(&mut self, t: Option<std::time::Instant>) {
        if let Some(t) = t {
            self.stats.seconds += t.elapsed().as_secs_f64();
        }
    }

    /// The request's declared body length (`CONTENT_LENGTH`), which lets
    /// large reads go straight into the returned bytes object.
    pub fn with_length(mut self, length: Option<u64>) -> Input {
        self.remaining = length;
        self
    }

    fn consumed(&mut self, n: usize) {
        // Reads that returned data (not the one that finds the end).
        if n > 0 {
            self.stats.reads += 1;
        }
        self.stats.bytes += n as u64;
        if let Some(r) = self.remaining.as_mut() {
            *r = r.saturating_sub(n as u64);
        }
    }

    /// Reads up to `want` bytes from the host into a new bytes object,
    /// looping until `want` bytes or the end of the body, with the GIL
    /// released once for the whole read. Requires `pending` to be empty.
    fn read_direct(&mut self, py: Python<'_>, want: usize) -> PyResult<Py<PyBytes>> {
        if want > CHUNK {
            return self.read_growing(py, want);
        }
        let exchange = self.exchange.clone();
        let mut got = 0usize;
        let mut eof = false;
        // Small reads go straight into the result (one copy fewer than
        // through `pending`).
        let t = Self::timer();
        // SAFETY: with NULL data CPython allocates `want` bytes and leaves
        // them uninitialised; the result is a new reference or NULL.
        let raw =
            unsafe { ffi::PyBytes_FromStringAndSize(std::ptr::null(), want as ffi::Py_ssize_t) };
        // SAFETY: `raw` is a new reference (or NULL with an exception set).
        let bytes = unsafe { Bound::from_owned_ptr_or_err(py, raw) }?;
        // SAFETY: `raw` is a bytes object of `want` bytes that nobody else
        // has seen yet (so it is filled without the GIL); `bytes` keeps it
        // alive past the last use of the slice. Not zeroed first: the host
        // writes the bytes it counts, and only those are read below.
        let buf = unsafe {
            std::slice::from_raw_parts_mut(
                ffi::PyBytes_AsString(raw).cast::<MaybeUninit<u8>>(),
                want,
            )
        };
        let r = py.detach(|| read_into(&exchange, buf, &mut got, &mut eof));
        self.timed(t);
        // Bytes already taken from the host are consumed even on error.
        self.consumed(got);
        r?;
        if eof {
            self.eof = true;
        }
        if got == want {
            return Ok(bytes.cast_into::<PyBytes>()?.unbind());
        }
        // SAFETY: the host initialised the first `got` bytes.
        let read =
            unsafe { std::slice::from_raw_parts(ffi::PyBytes_AsString(raw).cast::<u8>(), got) };
        Ok(PyBytes::new(py, read).unbind())
    }

    /// A large read (`read()` or `read(CONTENT_LENGTH)`): the buffer grows
    /// with the bytes that arrive (doubling from [`CHUNK`]), never to the
    /// declared length up front, so a client that declares a huge body and
    /// sends little costs what it sent (as with mod_wsgi); one copy into
    /// the result at the end.
    fn read_growing(&mut self, py: Python<'_>, want: usize) -> PyResult<Py<PyBytes>> {
        let exchange = self.exchange.clone();
        let mut buf: Vec<u8> = Vec::new();
        let mut got = 0usize;
        let mut eof = false;
        let t = Self::timer();
        let r = py.detach(|| {
            while got < want && !eof {
                let len = got.max(CHUNK / 2).saturating_mul(2).min(want);
                buf.reserve_exact(len - got);
                let spare = &mut buf.spare_capacity_mut()[..len - got];
                let mut n = 0;
                let r = read_into(&exchange, spare, &mut n, &mut eof);
                // SAFETY: the host initialised the first `n` bytes of the
                // spare capacity, which directly follow the `got` bytes.
                unsafe { buf.set_len(got + n) };
                got += n;
                r?;
            }
            Ok::<(), HostError>(())
        });
        self.timed(t);
        // Bytes already taken from the host are consumed even on error.
        self.consumed(got);
        r?;
        if eof {
            self.eof = true;
        }
        Ok(PyBytes::new(py, &buf[..got]).unbind())
    }

    /// Reads up to `want` more bytes from the host into `pending`; false at EOF.
    fn fill(&mut self, py: Python<'_>, want: usize) -> PyResult<bool> {
        if self.eof {
            return Ok(false);
        }
        let start = self.pending.len();
        self.pending.reserve(want);
        let exchange = &self.exchange;
        let buf = &mut self.pending.spare_capacity_mut()[..want];
        let t = Self::timer();
        let got = py.detach(|| exchange.with_host(|h| h.read_uninit(buf, &mut 0)));
        self.timed(t);
        let n = match got {
            Ok(Ok(n)) => n,
            Ok(Err(e)) | Err(e) => return Err(e.into()),
        };
        // SAFETY: the host initialised the first `n` bytes of the spare
        // capacity, which directly follow the `start` bytes.
        unsafe { self.pending.set_len(start + n) };
        self.consumed(n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn take(&mut self, py: Python<'_>, n: usize) -> Py<PyBytes> {
        let n = n.min(self.pending.len());
        let out = PyBytes::new(py, &self.pending[..n]).unbind();
        self.pending.drain(..n);
        out
    }

    fn read_line(&mut self, py: Python<'_>, limit: Option<usize>) -> PyResult<Py<PyBytes>> {
        let mut scanned = 0;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.pending[scanned..]) {
                let end = scanned + i + 1;
                return Ok(self.take(py, limit.map_or(end, |l| l.min(end))));
            }
            scanned = self.pending.len();
            if let Some(l) = limit {
                if scanned >= l {
                    return Ok(self.take(py, l));
                }
            }
            if !self.fill(py, 8192)? {
                return Ok(self.take(py, self.pending.len()));
            }
        }
    }
}

/// Fills `buf` from `*got` on until it is full or the body ends (`*eof`).
/// Call with the GIL released.
fn read_into(
    exchange: &Exchange,
    buf: &mut [MaybeUninit<u8>],
    got: &mut usize,
    eof: &mut bool,
) -> Result<(), HostError> {
    // How far `buf` is initialised (by a host that zeroes it before reading).
    let mut zeroed = *got;
    while *got < buf.len() {
        let mut z = zeroed.saturating_sub(*got);
        let n = exchange.with_host(|h| h.read_uninit(&mut buf[*got..], &mut z))??;
        zeroed = *got + z;
        if n == 0 {
            *eof = true;
            break;
        }
        *got += n;
    }
    Ok(())
}

fn size_arg(size: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    match size {
        None => Ok(None),
        Some(s) if s.is_none() => Ok(None),
        Some(s) => {
            let n: i64 = s.extract()?;
            Ok((n >= 0).then_some(n as usize))
        }
    }
}

impl Input {
    fn read(&mut self, py: Python<'_>, size: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyBytes>> {
        let size = size_arg(size)?;
        // Large reads with a known body length go straight into the result.
        if self.pending.is_empty()
            && !self.eof
            && let Some(left) = self.remaining
        {
            let left = usize::try_from(left).unwrap_or(usize::MAX);
            let want = size.map_or(left, |n| n.min(left));
            if want >= DIRECT_MIN {
                return self.read_direct(py, want);
            }
        }
        match size {
            None => {
                while self.fill(py, CHUNK)? {}
                Ok(self.take(py, self.pending.len()))
            }
            Some(n) => {
                while self.pending.len() < n {
                    let want = (n - self.pending.len()).min(CHUNK);
                    if !self.fill(py, want)? {
                        break;
                    }
                }
                Ok(self.take(py, n))
            }
        }
    }

    fn readlines(
        &mut self,
        py: Python<'_>,
        hint: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyList>> {
        let hint = size_arg(hint)?.filter(|&h| h > 0);
        let list = PyList::empty(py);
        let mut total = 0;
        loop {
            let line = self.read_line(py, None)?;
            let len = line.bind(py).as_bytes().len();
            if len == 0 {
                break;
            }
            list.append(line)?;
            total += len;
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(list.unbind())
    }
}

/// What `obj` (the request's `wsgi.input`) read from the host so far.
pub fn stats_of(obj: &Bound<'_, PyAny>) -> super::events::Io {
    match class::downcast::<Input>(obj) {
        Ok(Some(input)) => input.stats(),
        Ok(None) => super::events::Io::default(),
        Err(e) => {
            crate::python::discard(obj.py(), e);
            super::events::Io::default()
        }
    }
}

impl Class for Input {
    const NAME: &'static CStr = c"mod_wsgi.Input";
    const ID: ClassId = ClassId::Input;
    fn slots() -> Vec<ffi::PyType_Slot> {
        let mut slots = vec![METHODS.slot()];
        slots.extend(class::iterator_slots!(iter, next));
        slots
    }
}

/// A fastcall method of `Input`: `$f(input, py, first argument)`.
macro_rules! input_method {
    ($name:literal, $arg:literal, $f:expr) => {{
        /// # Safety
        /// Called by CPython with `slf` an `Input` and the call's arguments.
        unsafe fn shim(
            py: Python<'_>,
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> PyResult<*mut ffi::PyObject> {
            let call: Fast = (args, nargs, kwnames);
            // SAFETY: the call's own arguments.
            let [arg] = unsafe { class::fastcall_args(py, $name, [$arg], 0, call) }?;
            // SAFETY: `slf` is the method's `self`, an `Input`.
            let mut input = unsafe { class::borrow::<Input>(slf) }?;
            $f(&mut *input, py, arg.as_ref())
        }
        class::method(
            // SAFETY: a literal without NUL but the terminator.
            unsafe { CStr::from_bytes_with_nul_unchecked(concat!($name, "\0").as_bytes()) },
            pyo3::get_trampoline_function!(fastcall_cfunction_with_keywords, shim),
        )
    }};
}

static METHODS: class::Methods<5> = class::Methods([
    input_method!("read", "size", |i: &mut Input, py, a| i
        .read(py, a)
        .map(Py::into_ptr)),
    input_method!("readline", "size", |i: &mut Input, py, a| size_arg(a)
        .and_then(|limit| i.read_line(py, limit))
        .map(Py::into_ptr)),
    input_method!("readlines", "hint", |i: &mut Input, py, a| i
        .readlines(py, a)
        .map(Py::into_ptr)),
    input_method!(
        "close",
        "unused",
        |_: &mut Input, _py, a: Option<&Bound<'_, PyAny>>| {
            match a {
                Some(_) => Err(pyo3::exceptions::PyTypeError::new_err(
                    "close() takes no arguments",
                )),
                None => class::none(),
            }
        }
    ),
    ffi::PyMethodDef::zeroed(),
]);

/// # Safety
/// Called by CPython with `slf` an `Input`.
unsafe fn iter(_py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: a new reference to `self`.
    unsafe { ffi::Py_INCREF(slf) };
    Ok(slf)
}

/// # Safety
/// Called by CPython with `slf` an `Input`.
unsafe fn next(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract.
    let mut input = unsafe { class::borrow::<Input>(slf) }?;
    let line = input.read_line(py, None)?;
    if line.bind(py).as_bytes().is_empty() {
        // The end, without an exception set.
        return Ok(std::ptr::null_mut());
    }
    Ok(line.into_ptr())
}
