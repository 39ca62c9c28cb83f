//! The WSGI core, shared by every host (embedded Apache requests and daemon
//! workers): the environ (`environ`), `wsgi.input` (`input`),
//! `start_response` and `write()` (`start_response`, `response`), the
//! variables it is built from (`vars`), and the
//! call of the application with iteration and `close()` (`app`). A host
//! differs only in where the body comes from and where the response goes,
//! which is the [`host::Host`] trait.

pub mod app;
pub mod environ;
pub mod file_wrapper;
pub mod host;
pub mod input;
pub mod request;
pub mod response;
pub mod start_response;
pub mod vars;

pub use app::{Outcome, call_application};
pub use host::{Exchange, Head, Host, HostError, Taken};
