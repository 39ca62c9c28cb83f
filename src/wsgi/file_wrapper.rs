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
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use std::os::fd::RawFd;

#[pyclass(module = "mod_wsgi", name = "FileWrapper")]
pub struct FileWrapper {
    #[pyo3(get)]
    filelike: Py<PyAny>,
    #[pyo3(get)]
    blksize: usize,
}

#[pymethods]
impl FileWrapper {
    #[new]
    #[pyo3(signature = (filelike, blksize = 8192))]
    fn new(filelike: Py<PyAny>, blksize: usize) -> FileWrapper {
        FileWrapper {
            filelike,
            blksize: blksize.max(1),
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let data = self
            .filelike
            .bind(py)
            .call_method1("read", (self.blksize,))?;
        if data.is_truthy()? {
            Ok(data.unbind())
        } else {
            Err(PyStopIteration::new_err(()))
        }
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let f = self.filelike.bind(py);
        if f.hasattr("close")? {
            f.call_method0("close")?;
        }
        Ok(())
    }
}

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
    let Ok(wrapper) = result.cast::<FileWrapper>() else {
        return Ok(false);
    };
    if response.head_sent() || !response.head_set() {
        return Ok(false);
    }
    let filelike = wrapper.borrow().filelike.clone_ref(py);
    let filelike = filelike.bind(py);
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
