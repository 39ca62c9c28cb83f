//! `wsgi.file_wrapper` (also `mod_wsgi.FileWrapper`): wraps a file-like
//! object so the server can send it efficiently. When the application
//! returns one whose `fileno()` is a regular file and nothing has been sent
//! yet, [`send`] hands the file descriptor to the host (an APR file bucket
//! in embedded mode, sendfile when `WSGIEnableSendfile On`), from the file's
//! current `tell()` offset, with `Content-Length` set to what remains (or
//! the application's own, smaller, `Content-Length`). Otherwise the wrapper
//! is iterated like any iterable, `read(blksize)` at a time.
//! Runs with the GIL held; the host call releases it.

use super::response::Response;
use crate::python::class::{self, Class, ClassId};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{CStr, c_void};
use std::os::fd::RawFd;

/// A `mod_wsgi.FileWrapper` (a per-interpreter class).
pub struct FileWrapper {
    filelike: class::Strong,
    blksize: usize,
}

impl Class for FileWrapper {
    const NAME: &'static CStr = c"mod_wsgi.FileWrapper";
    const ID: ClassId = ClassId::FileWrapper;
    const INSTANTIABLE: bool = true;
    fn slots() -> Vec<ffi::PyType_Slot> {
        let mut slots = vec![
            METHODS.slot(),
            GETSET.slot(),
            class::slot(
                ffi::Py_tp_new,
                pyo3::get_trampoline_function!(newfunc, new) as *mut c_void,
            ),
        ];
        slots.extend(class::iterator_slots!(iter, next));
        slots
    }
}

/// `FileWrapper(filelike, blksize=8192)`.
///
/// # Safety
/// Called by CPython as the type's `tp_new`.
unsafe fn new(
    py: Python<'_>,
    ty: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the call's own arguments.
    let [filelike, blksize] =
        unsafe { class::call_args(py, "FileWrapper", ["filelike", "blksize"], 1, args, kwargs) }?;
    let blksize: usize = match blksize {
        Some(b) => b.extract()?,
        None => 8192,
    };
    let value = FileWrapper {
        filelike: class::Strong::new(&filelike.expect("required")),
        blksize: blksize.max(1),
    };
    // SAFETY: CPython calls `tp_new` with the type it belongs to, which
    // allows no subclass.
    unsafe { class::new_instance(py, ty, value) }.map(Bound::into_ptr)
}

/// # Safety
/// Called by CPython with `slf` a `FileWrapper`.
unsafe fn iter(_py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: a new reference to `self`.
    unsafe { ffi::Py_INCREF(slf) };
    Ok(slf)
}

/// The file-like object and block size of `slf`.
///
/// # Safety
/// `slf` is a `FileWrapper` (a method's or slot's `self`).
unsafe fn parts<'py>(
    py: Python<'py>,
    slf: *mut ffi::PyObject,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    // SAFETY: the caller's contract.
    let w = unsafe { class::borrow::<FileWrapper>(slf) }?;
    Ok((w.filelike.bind(py), w.blksize))
}

/// # Safety
/// Called by CPython with `slf` a `FileWrapper`.
unsafe fn next(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract.
    let (filelike, blksize) = unsafe { parts(py, slf) }?;
    let data = filelike.call_method1("read", (blksize,))?;
    if data.is_truthy()? {
        Ok(data.into_ptr())
    } else {
        // The end, without an exception set.
        Ok(std::ptr::null_mut())
    }
}

/// # Safety
/// Called by CPython with `slf` a `FileWrapper` and the call's arguments.
unsafe fn close(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the call's own arguments.
    unsafe { class::fastcall_args::<0>(py, "close", [], 0, (args, nargs, kwnames)) }?;
    // SAFETY: the caller's contract.
    let (f, _) = unsafe { parts(py, slf) }?;
    if f.hasattr("close")? {
        f.call_method0("close")?;
    }
    class::none()
}

static METHODS: class::Methods<2> = class::Methods([
    class::method(
        c"close",
        pyo3::get_trampoline_function!(fastcall_cfunction_with_keywords, close),
    ),
    ffi::PyMethodDef::zeroed(),
]);

/// # Safety
/// Called by CPython with `slf` a `FileWrapper`.
unsafe fn filelike(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract.
    unsafe { parts(py, slf) }.map(|(f, _)| f.into_ptr())
}

/// # Safety
/// Called by CPython with `slf` a `FileWrapper`.
unsafe fn blksize(py: Python<'_>, slf: *mut ffi::PyObject) -> PyResult<*mut ffi::PyObject> {
    // SAFETY: the caller's contract.
    let (_, n) = unsafe { parts(py, slf) }?;
    Ok(n.into_pyobject(py)?.into_ptr())
}

unsafe extern "C" fn get_filelike(slf: *mut ffi::PyObject, _: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: CPython's getter call, passed on to pyo3's trampoline.
    unsafe { pyo3::get_trampoline_function!(unaryfunc, filelike)(slf) }
}

unsafe extern "C" fn get_blksize(slf: *mut ffi::PyObject, _: *mut c_void) -> *mut ffi::PyObject {
    // SAFETY: as above.
    unsafe { pyo3::get_trampoline_function!(unaryfunc, blksize)(slf) }
}

static GETSET: class::GetSet<3> = class::GetSet([
    class::getter(c"filelike", get_filelike),
    class::getter(c"blksize", get_blksize),
    class::GetSet::<3>::END,
]);

/// The regular file behind `filelike`: (fd, start offset, bytes left).
fn regular_file(py: Python<'_>, filelike: &Bound<'_, PyAny>) -> Option<(RawFd, u64, u64)> {
    let fd: RawFd = filelike.call_method0("fileno").ok()?.extract().ok()?;
    let offset: i64 = filelike.call_method0("tell").ok()?.extract().ok()?;
    let _ = py;
    // SAFETY: fstat on a descriptor the application owns; `st` is written by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
        return None;
    }
    let size = st.st_size as u64;
    let offset = u64::try_from(offset).ok()?;
    Some((fd, offset, size.saturating_sub(offset)))
}

/// Tries to send `result` as a file. Returns `Ok(true)` when the whole
/// response went out this way, `Ok(false)` when the caller must iterate.
pub fn send(py: Python<'_>, response: &Response, result: &Bound<'_, PyAny>) -> PyResult<bool> {
    let filelike = match class::downcast::<FileWrapper>(result)? {
        Some(wrapper) => wrapper.filelike.bind(py),
        None => return Ok(false),
    };
    if response.head_sent() || !response.head_set() {
        return Ok(false);
    }
    let filelike = &filelike;
    let Some((fd, offset, remaining)) = regular_file(py, filelike) else {
        return Ok(false);
    };
    let len = response.cap_length(remaining);
    if !response.send_file(py, fd, offset, len)? {
        return Ok(false);
    }
    // Leave the file positioned after what was sent, as reading it would.
    let _ = filelike.call_method1("seek", ((offset + len) as i64,));
    Ok(true)
}
