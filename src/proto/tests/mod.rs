//! Cross-file tests of the WSGP codec: per-message round trips and decode errors
//! (`codec`), the state machine (`session`), the blocking and incremental readers
//! (`readers`), what a relay batches on (`batching`), property tests (`props`) over generated messages (`strategies`), and the
//! fuzz targets' seed frames (`fuzz_seeds`).

mod batching;
mod codec;
mod fuzz_seeds;
mod props;
mod readers;
mod session;
mod strategies;
