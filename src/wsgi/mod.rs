//! The WSGI core, shared by every host (embedded Apache requests and daemon
//! workers): the environ (`environ`), `wsgi.input` (`input`),
//! `start_response` and `write()` (`start_response`, `response`), the
//! request events (`events`), the
//! variables it is built from (`vars`), and the
//! call of the application with iteration and `close()` (`app`). A host
//! differs only in where the body comes from and where the response goes,
//! which is the [`host::Host`] trait.

pub mod app;
pub mod environ;
pub mod events;
pub mod file_wrapper;
pub mod host;
pub mod input;
pub mod metered;
pub mod request;
pub mod response;
pub mod start_response;
pub mod vars;

pub use app::{Outcome, call_application};

use crate::python::class;
use pyo3::prelude::*;
use pyo3::types::PyModule;

/// What the core adds to every interpreter: its Python types,
/// `mod_wsgi.FileWrapper` and the metrics functions (`crate::metrics`)
/// (handed to `python::init::initialize`).
pub const PYTHON_EXTENSION: crate::python::init::Extension = crate::python::init::Extension {
    classes: &[
        class::maker::<input::Input>(),
        class::maker::<start_response::StartResponse>(),
        class::maker::<start_response::Write>(),
        class::maker::<file_wrapper::FileWrapper>(),
    ],
    module_attrs,
};

fn module_attrs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let types = class::Types::current(m.py())?;
    m.add(
        "FileWrapper",
        types.class(m.py(), class::ClassId::FileWrapper),
    )?;
    crate::metrics::python::add(m)
}
pub use host::{Exchange, Head, Host, HostError, Taken, latin1};
