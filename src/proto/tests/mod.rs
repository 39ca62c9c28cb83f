//! Cross-file tests of the WSGP codec: per-message round trips and decode errors
//! (`codec`), the state machine (`session`), the blocking and incremental readers
//! (`readers`), and property tests (`props`) over generated messages (`strategies`).

mod codec;
mod props;
mod readers;
mod session;
mod strategies;
