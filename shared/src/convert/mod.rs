//! Voice conversion engine. Today: pitch shifting that keeps the formants and an independent
//! formant shift, linked across channels, in two modes: Live (TD-PSOLA, `psola`, 10 ms) and
//! Quality (phase vocoder, `vocoder`, ~43 ms). Reference-voice and correction stages are added
//! behind the same interface.

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

/// The converter's two ways of shifting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// TD-PSOLA with a 10 ms latency ([`psola::Psola`]): to hear yourself while performing.
    #[default]
    Live,
    /// Peak-locked phase vocoder with a ~43 ms latency ([`vocoder::PhaseVocoder`]): cleaner
    /// partials (a sine stays a sine), for mixing and rendering.
    Quality,
}

/// The engine's input-to-output delay at `sample_rate` in `mode` (what the plugin reports).
pub fn latency_for(sample_rate: f32, mode: Mode) -> usize {
    match mode {
        Mode::Live => psola::latency_for(sample_rate),
        Mode::Quality => vocoder::latency_for(sample_rate),
    }
}

/// The converter as the plugin owns it per activation: the mode is fixed for its lifetime (a
/// mode change is a new engine, and a new latency for the host).
pub struct ConverterEngine {
    mode: Mode,
    shifter: Box<dyn Shifter + Send>,
}

impl ConverterEngine {
    pub fn new(channels: usize, sample_rate: f32, mode: Mode) -> Self {
        let shifter: Box<dyn Shifter + Send> = match mode {
            Mode::Live => Box::new(psola::Psola::new(channels, sample_rate)),
            Mode::Quality => Box::new(vocoder::PhaseVocoder::new(channels, sample_rate)),
        };
        Self { mode, shifter }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Samples between an input sample and its converted output.
    pub fn latency_samples(&self) -> usize {
        self.shifter.latency_samples()
    }

    /// Pitch shift: whole semitones plus cents.
    pub fn set_pitch(&mut self, semitones: f32, cents: f32) {
        self.shifter.set_semitones(semitones + cents / 100.0);
    }

    /// Formant shift in semitones, independent of the pitch.
    pub fn set_formant(&mut self, semitones: f32) {
        self.shifter.set_formant_semitones(semitones);
    }

    /// Jumps to the current settings at once (after activation, before the first block).
    pub fn settle(&mut self) {
        self.shifter.settle();
    }

    /// Converts a block in place (any length).
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.shifter.process(channels);
    }

    pub fn reset(&mut self) {
        self.shifter.reset();
    }
}
