//! Real-time plumbing: everything here that is called on the audio thread is allocation-free,
//! lock-free and wait-free once `prepare`d. Allocation happens in constructors and `prepare`.

pub mod delay;
pub mod drywet;
pub mod fade;
pub mod lookahead;
pub mod framer;
pub mod meter;
pub mod pool;
pub mod sanitize;
pub mod swap;
pub mod trace;

/// Largest block a host may hand a plugin in one `process` call that we plan buffers for.
pub const MAX_BLOCK: usize = 8192;
