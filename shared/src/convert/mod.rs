//! Voice conversion engine. Today: pitch shifting that keeps the formants and an independent
//! formant shift (TD-PSOLA, `psola`), linked across channels, with a constant 10 ms latency.
//! Reference-voice and correction stages are added behind the same interface.

pub mod psola;
#[cfg(test)]
mod testkit;
pub mod vocoder;

/// What both shifters (Live: [`psola::Psola`], Quality: [`vocoder::PhaseVocoder`]) offer.
pub trait Shifter {
    /// Input-to-output delay in samples (constant).
    fn latency_samples(&self) -> usize;
    /// Pitch shift in semitones.
    fn set_semitones(&mut self, semitones: f32);
    /// Formant shift in semitones, independent of the pitch.
    fn set_formant_semitones(&mut self, semitones: f32);
    /// Jumps to the current settings at once.
    fn settle(&mut self);
    fn reset(&mut self);
    /// Shifts a block in place (any length).
    fn process(&mut self, channels: &mut [&mut [f32]]);
}

macro_rules! impl_shifter {
    ($t:ty) => {
        impl Shifter for $t {
            fn latency_samples(&self) -> usize {
                <$t>::latency_samples(self)
            }
            fn set_semitones(&mut self, semitones: f32) {
                <$t>::set_semitones(self, semitones)
            }
            fn set_formant_semitones(&mut self, semitones: f32) {
                <$t>::set_formant_semitones(self, semitones)
            }
            fn settle(&mut self) {
                <$t>::settle(self)
            }
            fn reset(&mut self) {
                <$t>::reset(self)
            }
            fn process(&mut self, channels: &mut [&mut [f32]]) {
                <$t>::process(self, channels)
            }
        }
    };
}
impl_shifter!(psola::Psola);
impl_shifter!(vocoder::PhaseVocoder);

use psola::Psola;

/// The engine's input-to-output delay at `sample_rate` (what the plugin reports).
pub fn latency_for(sample_rate: f32) -> usize {
    psola::latency_for(sample_rate)
}

/// The converter as the plugin owns it per activation.
pub struct ConverterEngine {
    psola: Psola,
}

impl ConverterEngine {
    pub fn new(channels: usize, sample_rate: f32) -> Self {
        Self { psola: Psola::new(channels, sample_rate) }
    }

    /// Samples between an input sample and its converted output.
    pub fn latency_samples(&self) -> usize {
        self.psola.latency_samples()
    }

    /// Pitch shift: whole semitones plus cents. Glides to a new value over ~10 ms.
    pub fn set_pitch(&mut self, semitones: f32, cents: f32) {
        self.psola.set_semitones(semitones + cents / 100.0);
    }

    /// Formant shift in semitones, independent of the pitch.
    pub fn set_formant(&mut self, semitones: f32) {
        self.psola.set_formant_semitones(semitones);
    }

    /// Jumps to the current settings at once (after activation, before the first block).
    pub fn settle(&mut self) {
        self.psola.settle();
    }

    /// Converts a block in place (any length).
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.psola.process(channels);
    }

    pub fn reset(&mut self) {
        self.psola.reset();
    }
}
