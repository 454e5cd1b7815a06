//! What the audio thread tells the editor: levels, reported latency, sample rate and how many
//! non-finite input samples were replaced. Atomics only: the audio thread never waits.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use voirs_shared::rt::meter::PeakMeter;

#[derive(Debug, Default)]
pub struct Status {
    pub input: PeakMeter,
    pub output: PeakMeter,
    pub latency_samples: AtomicU32,
    pub sample_rate: AtomicF32,
    pub nonfinite_replaced: AtomicU64,
    /// Voices sounding (instruments), for the editor.
    pub voices: AtomicU32,
}

impl Status {
    pub fn latency_ms(&self) -> f32 {
        let sr = self.sample_rate.load(Ordering::Relaxed);
        if sr > 0.0 { self.latency_samples.load(Ordering::Relaxed) as f32 * 1000.0 / sr } else { 0.0 }
    }
}
