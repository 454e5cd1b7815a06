//! Reference-voice matching around the audio thread: what the Voice Converter does with a
//! recording of a target voice, and with the performer's own voice, off the audio thread.
//!
//! - [`ReferenceVoice::load`] reads a WAV of the target voice and measures its profile
//!   ([`VoiceProfile`]: pitch range and average true envelope) and, when the speaker encoder is
//!   available, its Resemblyzer embedding. The plugin keeps both in its state, not the path.
//! - [`Learner`] listens to the performer: input audio arrives in chunks (from the audio thread
//!   through an inference-pool lane) and, once [`LEARN_VOICE_S`] seconds of voice have been
//!   heard, it returns the input's profile. Matching then takes the pitch and formant shift
//!   from the two profiles (`VoiceProfile::shift_for`); both are fixed until the user learns or
//!   loads again, so a render depends on the saved state only, never on a worker's timing.
//! - [`SimilarityMeter`] (with the `neural` feature) keeps the last [`METER_WINDOW_S`] seconds of
//!   input and output, resampled to 16 kHz with silence dropped, and every [`METER_EVERY_S`]
//!   seconds gives the Resemblyzer cosine of each against the reference: how close the voice was
//!   before and is after conversion. It only feeds the editor.

use super::reference::VoiceProfile;
#[cfg(feature = "neural")]
use crate::clip::resample_mono;
use std::path::Path;

/// Seconds of voice (voiced frames) the learner waits for.
pub const LEARN_VOICE_S: f32 = 8.0;
/// Longest stretch the learner keeps: past it, it measures what it has.
pub const LEARN_MAX_S: f32 = 60.0;
/// The learner re-measures after this much new audio (for its progress readout).
const LEARN_STEP_S: f32 = 1.0;
/// Length of the windows the meter embeds.
pub const METER_WINDOW_S: f32 = 3.0;
/// How often the meter gives a new reading.
pub const METER_EVERY_S: f32 = 1.5;
/// Least voice (after dropping silence) a meter window needs: one Resemblyzer partial.
pub const METER_MIN_VOICE_S: f32 = 1.6;
/// Longest reference file read.
pub const REFERENCE_MAX_S: f32 = 300.0;
/// The speaker encoder's rate.
#[cfg(feature = "neural")]
const EMBED_RATE: u32 = 16_000;

/// A target voice as measured from a recording.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceVoice {
    /// The file's name, for display.
    pub name: String,
    pub profile: VoiceProfile,
    /// Resemblyzer embedding of its voiced audio (`None` when the encoder is not installed).
    pub embedding: Option<Vec<f32>>,
    /// Seconds of audio read.
    pub seconds: f32,
}

/// The mean of a file's channels.
fn mono(channels: &[Vec<f32>]) -> Vec<f32> {
    let n = channels.iter().map(Vec::len).min().unwrap_or(0);
    let k = channels.len().max(1) as f32;
    (0..n).map(|i| channels.iter().map(|c| c[i]).sum::<f32>() / k).collect()
}

/// 16 kHz audio with its silent 10 ms frames dropped: frames whose RMS is under −55 dBFS or more
/// than 40 dB below the loudest frame (what Resemblyzer's own preprocessing trims with a VAD).
pub fn voiced_16k(x: &[f32]) -> Vec<f32> {
    const FRAME: usize = 160;
    let rms: Vec<f32> = x.chunks(FRAME).map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt()).collect();
    let loudest = rms.iter().copied().fold(0.0f32, f32::max);
    let floor = (loudest * 0.01).max(10f32.powf(-55.0 / 20.0));
    x.chunks(FRAME).zip(&rms).filter(|(_, r)| **r >= floor).flat_map(|(c, _)| c.iter().copied()).collect()
}

impl ReferenceVoice {
    /// Reads and measures `path` (any rate, channels mixed); `encoder` adds the embedding.
    #[cfg(feature = "neural")]
    pub fn load(path: &Path, encoder: Option<&crate::neural::speaker::SpeakerEncoder>) -> Result<Self, String> {
        let mut r = Self::load_profile(path)?;
        if let Some(enc) = encoder {
            let audio = crate::wav::read(path).map_err(|e| e.to_string())?;
            let x = resample_mono(&mono(&audio.channels), audio.sample_rate, EMBED_RATE)?;
            let voiced = voiced_16k(&x);
            r.embedding = Some(enc.embed_utterance(&voiced).map_err(|e| e.to_string())?.to_vec());
        }
        Ok(r)
    }

    /// Reads and measures `path` without an embedding.
    pub fn load_profile(path: &Path) -> Result<Self, String> {
        let audio = crate::wav::read(path).map_err(|e| e.to_string())?;
        let seconds = audio.frames() as f32 / audio.sample_rate as f32;
        if seconds > REFERENCE_MAX_S {
            return Err(format!("{} is {seconds:.0} s long; a reference is at most {REFERENCE_MAX_S:.0} s", path.display()));
        }
        let x = mono(&audio.channels);
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let profile = VoiceProfile::measure(audio.sample_rate as f32, &x).ok_or_else(|| format!("{name}: under 0.5 s of voice heard; choose a recording of the voice speaking or singing"))?;
        Ok(Self { name, profile, embedding: None, seconds })
    }
}

/// Where learning stands after a chunk.
#[derive(Clone, Debug, PartialEq)]
pub enum Learning {
    /// Seconds of voice heard so far (of `LEARN_VOICE_S`).
    Listening { voice_s: f32 },
    /// Done: the input's profile.
    Learned(VoiceProfile),
}

/// Measures the performer's voice from chunks of input. Runs on a worker thread.
pub struct Learner {
    sample_rate: f32,
    audio: Vec<f32>,
    since_measure: usize,
    voice_s: f32,
}

impl Learner {
    pub fn new(sample_rate: f32) -> Self {
        Self { sample_rate, audio: Vec::new(), since_measure: 0, voice_s: 0.0 }
    }

    /// Forgets what it heard (learning stopped or restarted).
    pub fn reset(&mut self) {
        self.audio = Vec::new();
        self.since_measure = 0;
        self.voice_s = 0.0;
    }

    pub fn is_empty(&self) -> bool {
        self.audio.is_empty()
    }

    /// Adds `chunk` (mono input); measures once a second of new audio.
    pub fn push(&mut self, chunk: &[f32]) -> Learning {
        self.audio.extend_from_slice(chunk);
        self.since_measure += chunk.len();
        let full = self.audio.len() as f32 >= LEARN_MAX_S * self.sample_rate;
        if (self.since_measure as f32) < LEARN_STEP_S * self.sample_rate && !full {
            return Learning::Listening { voice_s: self.voice_s };
        }
        self.since_measure = 0;
        match VoiceProfile::measure(self.sample_rate, &self.audio) {
            // One envelope frame per 20 ms of voice.
            Some(p) => {
                self.voice_s = p.frames as f32 * 0.02;
                if self.voice_s >= LEARN_VOICE_S || full {
                    self.reset();
                    return Learning::Learned(p);
                }
            }
            None if full => self.reset(),
            None => {}
        }
        Learning::Listening { voice_s: self.voice_s }
    }
}

/// A meter reading: Resemblyzer cosine against the reference, before and after conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Similarity {
    pub input: f32,
    pub output: f32,
}

/// Off-thread similarity meter (see the module doc).
#[cfg(feature = "neural")]
pub struct SimilarityMeter {
    sample_rate: f32,
    encoder: std::sync::Arc<crate::neural::speaker::SpeakerEncoder>,
    reference: Vec<f32>,
    pending: [Vec<f32>; 2],
    window: [Vec<f32>; 2],
}

#[cfg(feature = "neural")]
impl SimilarityMeter {
    /// Input and output arrive at `sample_rate`; `reference` is the target's embedding.
    pub fn new(sample_rate: f32, encoder: std::sync::Arc<crate::neural::speaker::SpeakerEncoder>, reference: Vec<f32>) -> Self {
        Self { sample_rate, encoder, reference, pending: [Vec::new(), Vec::new()], window: [Vec::new(), Vec::new()] }
    }

    /// Adds a chunk of input and the output made from it; a new reading every
    /// `METER_EVERY_S` seconds once the windows hold enough voice.
    pub fn push(&mut self, input: &[f32], output: &[f32]) -> Option<Similarity> {
        self.pending[0].extend_from_slice(input);
        self.pending[1].extend_from_slice(output);
        if (self.pending[0].len() as f32) < METER_EVERY_S * self.sample_rate {
            return None;
        }
        let keep = (METER_WINDOW_S * EMBED_RATE as f32) as usize;
        for (p, w) in self.pending.iter_mut().zip(self.window.iter_mut()) {
            let x = resample_mono(p, self.sample_rate.round() as u32, EMBED_RATE).ok()?;
            p.clear();
            w.extend_from_slice(&x);
            if w.len() > keep {
                w.drain(..w.len() - keep);
            }
        }
        let mut cos = [0.0f32; 2];
        for (c, w) in cos.iter_mut().zip(&self.window) {
            let voiced = voiced_16k(w);
            if (voiced.len() as f32) < METER_MIN_VOICE_S * EMBED_RATE as f32 {
                return None;
            }
            let e = self.encoder.embed_utterance(&voiced).ok()?;
            *c = crate::neural::speaker::cosine(&e, &self.reference);
        }
        Some(Similarity { input: cos[0], output: cos[1] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::synthetic::{Envelope, MALE_AH, track, voice};

    fn write(path: &Path, sr: u32, x: &[f32]) {
        crate::wav::write(path, &crate::wav::Audio { sample_rate: sr, channels: vec![x.to_vec(), x.to_vec()] }).unwrap();
    }

    /// The learner returns the same profile as measuring the whole take at once, after
    /// `LEARN_VOICE_S` of voice, whatever the chunking; silence before the voice only delays it.
    #[test]
    fn learning_gives_the_profile_of_what_was_heard() {
        let sr = 48_000.0f64;
        let mut x = vec![0.0f32; 2 * sr as usize];
        x.extend(voice(sr, &track::vibrato(sr, 9.5, 130.0, 30.0, 5.0), &Envelope::new(&MALE_AH), 0.3));
        let mut l = Learner::new(sr as f32);
        let mut learned = None;
        let mut heard = 0;
        for c in x.chunks(4800) {
            heard += c.len();
            if let Learning::Learned(p) = l.push(c) {
                learned = Some(p);
                break;
            }
        }
        let p = learned.expect("learned within the take");
        let direct = VoiceProfile::measure(sr as f32, &x[..heard]).unwrap();
        eprintln!("learned after {:.1} s: median {:.1} Hz, {} frames", heard as f64 / sr, p.f0_median, p.frames);
        assert_eq!(p, direct);
        assert!((1200.0 * (p.f0_median / 130.0).log2()).abs() < 10.0, "median {}", p.f0_median);
        assert!(heard as f64 / sr <= 2.0 + LEARN_VOICE_S as f64 + 1.5, "took {} s", heard as f64 / sr);
        assert!(l.is_empty());
    }

    /// A reference file at another rate and in stereo measures like the same voice at 48 kHz:
    /// median F0 within 5 cents and envelopes within 1.5 dB RMS.
    #[test]
    fn a_reference_file_is_measured_at_its_own_rate() {
        let dir = std::env::temp_dir().join(format!("voirs-ref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut profiles = Vec::new();
        for sr in [22_050u32, 48_000] {
            let x = voice(sr as f64, &track::vibrato(sr as f64, 3.0, 210.0, 30.0, 5.0), &Envelope::new(&MALE_AH), 0.3);
            let path = dir.join(format!("ref{sr}.wav"));
            write(&path, sr, &x);
            let r = ReferenceVoice::load_profile(&path).unwrap();
            assert_eq!(r.name, format!("ref{sr}.wav"));
            assert!((r.seconds - 3.0).abs() < 0.01);
            profiles.push(r.profile);
        }
        let cents = 1200.0 * (profiles[0].f0_median / profiles[1].f0_median).log2();
        let dist = profiles[0].envelope_distance(&profiles[1], 0.0);
        eprintln!("22.05 vs 48 kHz reference: median F0 {cents:+.2} cents, envelope {dist:.2} dB");
        assert!(cents.abs() < 5.0 && dist < 1.5, "{cents} cents, {dist} dB");
        let silent = dir.join("silent.wav");
        write(&silent, 48_000, &vec![0.0; 48_000]);
        assert!(ReferenceVoice::load_profile(&silent).unwrap_err().contains("under 0.5 s of voice"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn silence_is_dropped_before_embedding() {
        let mut x = vec![0.0f32; 16_000];
        x.extend((0..16_000).map(|i| 0.1 * (i as f32 * 0.05).sin()));
        x.extend(vec![1e-4f32; 8_000]);
        assert_eq!(voiced_16k(&x).len(), 16_000);
    }
}
