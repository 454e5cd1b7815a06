//! Voice conversion engine. Today: pitch shifting that keeps the formants and an independent
//! formant shift, linked across channels, in two modes: Live (TD-PSOLA, `psola`, 10 ms) and
//! Quality (phase vocoder, `vocoder`, ~43 ms). Reference-voice and correction stages are added
//! behind the same interface. Denoise (`denoise`) and the VAD gate (`gate`) are stages of their
//! own that the plugin runs before the engine, each with its own latency.

pub mod correct;
pub mod matching;
pub mod denoise;
pub mod gate;
pub mod psola;
pub mod reference;
pub mod splice;
/// Measurements the shifters' tests share (also used by the host tests).
#[doc(hidden)]
pub mod testkit;
pub mod vocoder;
pub mod whisper;

/// What becomes of the voice's source after the shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Voice {
    #[default]
    Normal,
    /// Noise through the voice's envelope (no pitch), after the shift and formant moves.
    Whisper,
    /// A monotone on the key's note: pitch correction to that note alone, at once, no humanise.
    Robot,
}

/// The pitch ratio and formant factor a shifter is asked for (both shifters keep one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Targets {
    pub ratio: f64,
    pub alpha: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self { ratio: 1.0, alpha: 1.0 }
    }
}

impl Targets {
    /// Pitch shift in semitones, clamped to ±36.
    pub fn set_semitones(&mut self, semitones: f32) {
        self.ratio = 2f64.powf(semitones.clamp(-36.0, 36.0) as f64 / 12.0);
    }

    /// Formant shift in semitones, clamped to ±24: the spectral envelope moves by
    /// 2^(semitones/12) while the F0 stays where the pitch puts it.
    pub fn set_formant_semitones(&mut self, semitones: f32) {
        self.alpha = 2f64.powf(semitones.clamp(-24.0, 24.0) as f64 / 12.0);
    }

    /// Anything other than the identity asked.
    pub fn shifting(&self) -> bool {
        self.ratio != 1.0 || self.alpha != 1.0
    }
}

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
    /// The pitch tracker's newest estimate of the input.
    fn input_estimate(&self) -> crate::analysis::pitch::Estimate;
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
            fn input_estimate(&self) -> crate::analysis::pitch::Estimate {
                <$t>::input_estimate(self)
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

/// The gender/age macro as a pitch and formant shift (semitones). `gender` −1 (darker, more male)
/// … +1 (brighter, more female): ±10 semitones of pitch and ±3 of formants, the typical distance
/// between adult male and female voices (F0 ~ 2×, vocal-tract length ~ 1.2×). `age` −1 (child)
/// … +1 (elderly): a child's voice sits ~6 semitones higher with formants ~4 higher (a shorter
/// tract); an elderly one ~2 lower with formants ~1 lower. Both add to the pitch and formant
/// controls.
pub fn character_shift(gender: f32, age: f32) -> (f32, f32) {
    let g = gender.clamp(-1.0, 1.0);
    let a = age.clamp(-1.0, 1.0);
    let (age_pitch, age_formant) = if a < 0.0 { (-6.0 * a, -4.0 * a) } else { (-2.0 * a, -1.0 * a) };
    (10.0 * g + age_pitch, 3.0 * g + age_formant)
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
    correction: correct::Correction,
    /// The pitch control (semitones), before correction.
    manual: f32,
    /// Correction applied at the last update (semitones), for the editor.
    applied: f32,
    voice: Voice,
    whisper: whisper::Whisper,
    /// The correction settings the user chose (Robot overrides them while it is on).
    correction_settings: (bool, i32, correct::Scale, f32, f32),
}

/// Pitch correction is updated this often (samples) inside a block.
const CORRECTION_STEP: usize = 64;

impl ConverterEngine {
    pub fn new(channels: usize, sample_rate: f32, mode: Mode) -> Self {
        let shifter: Box<dyn Shifter + Send> = match mode {
            Mode::Live => Box::new(psola::Psola::new(channels, sample_rate)),
            Mode::Quality => Box::new(vocoder::PhaseVocoder::new(channels, sample_rate)),
        };
        Self {
            mode,
            shifter,
            correction: correct::Correction::new(sample_rate),
            manual: 0.0,
            applied: 0.0,
            voice: Voice::Normal,
            whisper: whisper::Whisper::new(channels, sample_rate),
            correction_settings: (false, 0, correct::Scale::Chromatic, 50.0, 0.0),
        }
    }

    /// Normal, whisper or robot.
    pub fn set_voice(&mut self, voice: Voice) {
        if voice != self.voice {
            self.voice = voice;
            self.whisper.reset();
            self.apply_correction();
        }
    }

    fn apply_correction(&mut self) {
        let (enabled, key, scale, retune, humanise) = self.correction_settings;
        if self.voice == Voice::Robot {
            self.correction.set(true, key, correct::Scale::Root, 0.0, 0.0);
        } else {
            self.correction.set(enabled, key, scale, retune, humanise);
        }
    }

    /// Pitch correction: on/off, key (0 = C … 11 = B), scale, retune time (ms), humanise (0..1).
    pub fn set_correction(&mut self, enabled: bool, key: i32, scale: correct::Scale, retune_ms: f32, humanise: f32) {
        self.correction_settings = (enabled, key, scale, retune_ms, humanise);
        self.apply_correction();
    }

    /// The whole shift now applied (semitones): the pitch control plus the correction.
    pub fn shift_semitones(&self) -> f32 {
        self.manual + self.applied
    }

    /// The correction (semitones) currently added to the pitch control.
    pub fn correction_semitones(&self) -> f32 {
        self.applied
    }

    /// The tracker's newest estimate of the input's pitch.
    pub fn input_estimate(&self) -> crate::analysis::pitch::Estimate {
        self.shifter.input_estimate()
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
        self.manual = semitones + cents / 100.0;
        self.shifter.set_semitones(self.manual + self.applied);
    }

    /// Formant shift in semitones, independent of the pitch.
    pub fn set_formant(&mut self, semitones: f32) {
        self.shifter.set_formant_semitones(semitones);
    }

    /// Jumps to the current settings at once (after activation, before the first block).
    pub fn settle(&mut self) {
        self.shifter.settle();
    }

    /// Converts a block in place (any length); with correction on, in steps of 64 samples,
    /// each taking the correction from the tracker's newest estimate.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let frames = channels.first().map_or(0, |c| c.len());
        let mut start = 0;
        while start < frames {
            let len = CORRECTION_STEP.min(frames - start);
            let e = self.shifter.input_estimate();
            self.applied = self.correction.update(e.voiced.then_some(e.f0), len);
            self.shifter.set_semitones(self.manual + self.applied);
            let mut parts: [&mut [f32]; 8] = Default::default();
            let n = channels.len().min(8);
            for (part, ch) in parts.iter_mut().zip(channels.iter_mut()) {
                *part = &mut ch[start..start + len];
            }
            self.shifter.process(&mut parts[..n]);
            if self.voice == Voice::Whisper {
                self.whisper.process(&mut parts[..n]);
            }
            start += len;
        }
    }

    pub fn reset(&mut self) {
        self.shifter.reset();
        self.whisper.reset();
        self.correction.reset();
        self.applied = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::pitch::PitchTracker;
    use crate::analysis::synthetic::{Envelope, MALE_AH, voice};

    /// Sustained notes sung off the scale (A3 +30 cents, C4 −40 cents, E4 +20 cents) come out
    /// within 5 cents of A3, C4 and E4 (median |cents| over each note after its first 150 ms,
    /// humanise 0); a D4 sung 45 cents sharp with ±20 cents of vibrato, with humanise 100 %,
    /// keeps its vibrato and its centre (median signed cents) lands within 5 cents of D4. Both
    /// modes.
    #[test]
    fn pitch_correction_lands_sustained_notes_on_the_scale() {
        let sr = 48_000.0f64;
        let per = sr as usize;
        for (humanise, notes, signed) in [
            (0.0f32, vec![(57.3f64, 0.0f64, 57), (59.6, 0.0, 60), (64.2, 0.0, 64)], false),
            (1.0, vec![(62.45, 0.2, 62)], true),
        ] {
            let f0: Vec<f64> = (0..notes.len() * per)
                .map(|i| {
                    let (p, vib, _) = notes[i / per];
                    let t = i as f64 / sr;
                    440.0 * 2f64.powf((p + vib * (std::f64::consts::TAU * 5.5 * t).sin() - 69.0) / 12.0)
                })
                .collect();
            let x = voice(sr, &f0, &Envelope::new(&MALE_AH), 0.5);
            for mode in [Mode::Live, Mode::Quality] {
                let mut e = ConverterEngine::new(1, sr as f32, mode);
                e.set_correction(true, 0, correct::Scale::Major, 20.0, humanise);
                e.settle();
                let latency = e.latency_samples();
                let mut y = x.clone();
                for block in y.chunks_mut(512) {
                    e.process(&mut [block]);
                }
                let est = PitchTracker::analyse(sr as f32, &y, 60.0, 1000.0);
                for (k, (sung, _, want)) in notes.iter().enumerate() {
                    let (from, to) = ((k * per + latency) as f64 + 0.15 * sr, ((k + 1) * per + latency) as f64);
                    let target = 440.0 * 2f64.powf((*want as f64 - 69.0) / 12.0);
                    let mut cents: Vec<f64> = est
                        .iter()
                        .filter(|(at, e)| e.voiced && *at >= from && *at < to)
                        .map(|(_, e)| 1200.0 * (e.f0 as f64 / target).log2())
                        .map(|c| if signed { c } else { c.abs() })
                        .collect();
                    cents.sort_by(f64::total_cmp);
                    let median = cents[cents.len() / 2];
                    let spread = cents[cents.len() * 9 / 10] - cents[cents.len() / 10];
                    eprintln!("correction {mode:?}, humanise {humanise}: note {want} sung {:+.0} cents off → {median:+.2} cents (10–90 % spread {spread:.1})", (sung - *want as f64) * 100.0);
                    assert!(median.abs() <= 5.0, "{mode:?}, note {want}: {median:.2} cents off");
                    if signed {
                        assert!(spread > 20.0, "{mode:?}: humanise kept the vibrato (spread {spread:.1} cents)");
                    }
                }
            }
        }
    }

    fn octave_bands_db(x: &[f32], sr: f64) -> Vec<f64> {
        [250.0f64, 500.0, 1000.0, 2000.0, 4000.0]
            .iter()
            .map(|fc| {
                let (lo, hi) = (fc / 2f64.sqrt(), fc * 2f64.sqrt());
                // Power in the band from single-bin DFTs every 10 Hz.
                let mut p = 0.0;
                let mut hz = lo;
                while hz < hi {
                    p += 10f64.powf(testkit::level_at(x, sr, hz) / 10.0);
                    hz += 10.0;
                }
                10.0 * p.log10()
            })
            .collect()
    }

    /// Whisper: the output has no pitch (the tracker hears a period in under 10 % of it) and
    /// keeps the voice's envelope (octave bands 250 Hz – 4 kHz within 50 dB of the strongest:
    /// within 6 dB of the input's after removing the mean) and level (within 3 dB).
    #[test]
    fn whisper_keeps_the_envelope_and_loses_the_pitch() {
        let sr = 48_000.0f64;
        let x = voice(sr, &crate::analysis::synthetic::track::glide(sr, 1.0, 110.0, 220.0), &Envelope::new(&MALE_AH), 0.5);
        let mut e = ConverterEngine::new(1, sr as f32, Mode::Live);
        e.set_voice(Voice::Whisper);
        e.settle();
        let mut y = x.clone();
        for block in y.chunks_mut(512) {
            e.process(&mut [block]);
        }
        let est = PitchTracker::analyse(sr as f32, &y[4800..], 60.0, 1000.0);
        let voiced = est.iter().filter(|(_, e)| e.voiced).count() as f64 / est.len() as f64;
        let (bi, bo) = (octave_bands_db(&x[4800..14_400], sr), octave_bands_db(&y[4800..14_400], sr));
        // Bands where the voice has something (within 50 dB of its strongest band; the synthetic
        // envelope puts 4 kHz ~90 dB down, under any predictor's floor).
        let top = bi.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let d: Vec<f64> = bi.iter().zip(&bo).filter(|(i, _)| **i > top - 50.0).map(|(i, o)| o - i).collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let level = testkit::rms_db(&y[4800..]) - testkit::rms_db(&x[4800..]);
        eprintln!("whisper: voiced {:.1} % of estimates, octave bands vs input {d:+.1?} dB (mean {mean:+.1}), level {level:+.2} dB", 100.0 * voiced);
        assert!(voiced < 0.10, "whisper still has a pitch in {:.0} % of it", 100.0 * voiced);
        assert!(d.iter().all(|v| (v - mean).abs() < 6.0), "envelope: {d:+.1?} dB");
        assert!(level.abs() < 3.0, "level {level:+.2} dB");
    }

    /// Robot: a voice drifting like speech (A2 up two semitones over a second), key A, comes out
    /// a monotone on A (median 5 cents or less from the nearest A), in both modes. (On a voice
    /// gliding an octave a second the tracker's lag leaves ~20 cents in Live mode.)
    #[test]
    fn robot_is_a_monotone_on_the_key() {
        let sr = 48_000.0f64;
        let x = voice(sr, &crate::analysis::synthetic::track::glide(sr, 1.0, 110.0, 123.5), &Envelope::new(&MALE_AH), 0.5);
        for mode in [Mode::Live, Mode::Quality] {
            let mut e = ConverterEngine::new(1, sr as f32, mode);
            e.set_correction(false, 9, correct::Scale::Chromatic, 50.0, 0.0);
            e.set_voice(Voice::Robot);
            e.settle();
            let mut y = x.clone();
            for block in y.chunks_mut(512) {
                e.process(&mut [block]);
            }
            let est = PitchTracker::analyse(sr as f32, &y, 60.0, 1000.0);
            let mut cents: Vec<f64> = est
                .iter()
                .filter(|(at, e)| e.voiced && *at > 0.15 * sr)
                .map(|(_, e)| {
                    let m = 1200.0 * (e.f0 as f64 / 110.0).log2();
                    (m - 1200.0 * (m / 1200.0).round()).abs()
                })
                .collect();
            cents.sort_by(f64::total_cmp);
            let median = cents[cents.len() / 2];
            eprintln!("robot {mode:?}: {median:.2} cents from the nearest A");
            assert!(median <= 5.0, "{mode:?}: {median:.2} cents from A");
        }
    }
}
