//! VoiRS shared engine crate: DSP, synthesis, state handling and the real-time plumbing that
//! every plugin, the offline renderer and the benchmarks use. It never depends on the plugin
//! framework, so every engine here is testable as a plain library.

pub mod analysis;
pub mod assets;
pub mod clip;
pub mod convert;
#[cfg(feature = "neural")]
pub mod neural;
pub mod phonetics;
pub mod rt;
pub mod spatial;
pub mod synth;
pub mod wav;
