//! Clips placed on the timeline: audio loaded off the audio thread (from a file today, from the
//! speech renderer later), resampled to the host rate, and played from its start on each note.
//! `load` runs on a loader thread; `ClipPlayer` runs on the audio thread and never allocates.

use crate::wav::{self, WavError};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};
use std::path::{Path, PathBuf};

/// A stereo clip at the host's sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub sample_rate: f32,
    pub source: PathBuf,
}

#[derive(Debug)]
pub enum ClipError {
    Wav(WavError),
    Resample(String),
    TooLong { path: PathBuf, seconds: f32 },
}

impl std::fmt::Display for ClipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClipError::Wav(e) => write!(f, "{e}"),
            ClipError::Resample(e) => write!(f, "could not resample the clip: {e}"),
            ClipError::TooLong { path, seconds } => {
                write!(f, "{} is {seconds:.0} s long; clips are limited to {MAX_CLIP_S:.0} s", path.display())
            }
        }
    }
}

impl std::error::Error for ClipError {}

/// Longest clip accepted: ten minutes of speech is far beyond any line on a timeline.
pub const MAX_CLIP_S: f32 = 600.0;

/// Loads a WAV file as a stereo clip at `sample_rate` (mono is centred, more than two channels
/// keep the first two). Not for the audio thread.
pub fn load(path: &Path, sample_rate: f32) -> Result<Clip, ClipError> {
    let audio = wav::read(path).map_err(ClipError::Wav)?;
    let seconds = audio.frames() as f32 / audio.sample_rate as f32;
    if seconds > MAX_CLIP_S {
        return Err(ClipError::TooLong { path: path.to_owned(), seconds });
    }
    let left = audio.channels[0].clone();
    let right = audio.channels.get(1).cloned().unwrap_or_else(|| left.clone());
    let (left, right) = resample([left, right], audio.sample_rate, sample_rate.round() as u32)?;
    Ok(Clip { left, right, sample_rate, source: path.to_owned() })
}

fn resample(channels: [Vec<f32>; 2], from: u32, to: u32) -> Result<(Vec<f32>, Vec<f32>), ClipError> {
    let [l, r] = channels;
    if from == to || l.is_empty() {
        return Ok((l, r));
    }
    let err = |e: &dyn std::fmt::Display| ClipError::Resample(e.to_string());
    let frames = l.len();
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 2, FixedSync::Both).map_err(|e| err(&e))?;
    let input = [l, r];
    let needed = resampler.process_all_needed_output_len(frames);
    let mut output = vec![vec![0.0f32; needed]; 2];
    let produced = {
        let adapter_in = SequentialSliceOfVecs::new(&input[..], 2, frames).map_err(|e| err(&e))?;
        let mut adapter_out = SequentialSliceOfVecs::new_mut(&mut output[..], 2, needed).map_err(|e| err(&e))?;
        resampler.process_all_into_buffer(&adapter_in, &mut adapter_out, frames, None).map_err(|e| err(&e))?.1
    };
    let [mut l, mut r] = <[Vec<f32>; 2]>::try_from(output).expect("two channels");
    l.truncate(produced);
    r.truncate(produced);
    Ok((l, r))
}

/// Resamples mono audio from `from` Hz to `to` Hz (rubato's FFT resampler, whole buffer, the
/// resampler's delay removed). Not for the audio thread.
pub fn resample_mono(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to || x.is_empty() {
        return Ok(x.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Both).map_err(|e| err(&e))?;
    let input = [x.to_vec()];
    let needed = resampler.process_all_needed_output_len(x.len());
    let mut output = vec![vec![0.0f32; needed]];
    let produced = {
        let adapter_in = SequentialSliceOfVecs::new(&input[..], 1, x.len()).map_err(|e| err(&e))?;
        let mut adapter_out = SequentialSliceOfVecs::new_mut(&mut output[..], 1, needed).map_err(|e| err(&e))?;
        resampler.process_all_into_buffer(&adapter_in, &mut adapter_out, x.len(), None).map_err(|e| err(&e))?.1
    };
    let mut y = output.pop().expect("one channel");
    y.truncate(produced);
    Ok(y)
}

/// Overlapping notes play overlapping copies, up to this many.
pub const MAX_PLAYS: usize = 8;
/// Note-off fades the clip out over this time, like the end of a region with a short fade.
pub const RELEASE_MS: f32 = 20.0;

#[derive(Debug, Clone, Copy, Default)]
struct Play {
    key: u8,
    pos: usize,
    gain: f32,
    /// Per-sample gain decrement once released; 0 while held.
    release_step: f32,
    level: f32,
    active: bool,
    age: u64,
}

/// Plays a clip from its start for each note: allocation-free on the audio thread.
pub struct ClipPlayer {
    plays: [Play; MAX_PLAYS],
    release_step: f32,
    next_age: u64,
}

impl ClipPlayer {
    pub fn new(sample_rate: f32) -> Self {
        Self { plays: [Play::default(); MAX_PLAYS], release_step: 1.0 / (RELEASE_MS * 0.001 * sample_rate), next_age: 0 }
    }

    pub fn note_on(&mut self, key: u8, velocity: f32) {
        let idx = self.plays.iter().position(|p| !p.active).unwrap_or_else(|| {
            self.plays.iter().enumerate().min_by_key(|(_, p)| p.age).map_or(0, |(i, _)| i)
        });
        self.plays[idx] = Play { key, pos: 0, gain: velocity.clamp(0.0, 1.0), release_step: 0.0, level: 1.0, active: true, age: self.next_age };
        self.next_age += 1;
    }

    pub fn note_off(&mut self, key: u8) {
        let step = self.release_step;
        self.plays.iter_mut().filter(|p| p.active && p.key == key).for_each(|p| p.release_step = step);
    }

    pub fn release_all(&mut self) {
        let step = self.release_step;
        self.plays.iter_mut().filter(|p| p.active).for_each(|p| p.release_step = step);
    }

    pub fn active(&self) -> usize {
        self.plays.iter().filter(|p| p.active).count()
    }

    /// Adds the sounding plays of `clip` into `left`/`right`.
    pub fn render_add(&mut self, clip: Option<&Clip>, left: &mut [f32], right: &mut [f32]) {
        let Some(clip) = clip else {
            // No clip loaded: notes have nothing to play.
            self.plays.iter_mut().for_each(|p| p.active = false);
            return;
        };
        let len = clip.left.len();
        for p in self.plays.iter_mut().filter(|p| p.active) {
            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                if p.pos >= len {
                    p.active = false;
                    break;
                }
                if p.release_step > 0.0 {
                    p.level -= p.release_step;
                    if p.level <= 0.0 {
                        p.active = false;
                        break;
                    }
                }
                let g = p.gain * p.level;
                *l += clip.left[p.pos] * g;
                *r += clip.right[p.pos] * g;
                p.pos += 1;
            }
        }
    }

    pub fn reset(&mut self) {
        self.plays.iter_mut().for_each(|p| p.active = false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(sr: u32, hz: f32, seconds: f32) -> Vec<f32> {
        (0..(sr as f32 * seconds) as usize).map(|i| (std::f32::consts::TAU * hz * i as f32 / sr as f32).sin() * 0.5).collect()
    }

    fn zero_crossing_hz(x: &[f32], sr: f32) -> f32 {
        let crossings: Vec<usize> = (1..x.len()).filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0).collect();
        (crossings.len() - 1) as f32 * sr / (crossings[crossings.len() - 1] - crossings[0]) as f32
    }

    #[test]
    fn a_24_khz_clip_plays_at_the_same_pitch_and_length_at_48_khz() {
        let dir = std::env::temp_dir().join(format!("voirs-clip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("speech.wav");
        wav::write(&path, &wav::Audio { sample_rate: 24_000, channels: vec![tone(24_000, 440.0, 1.0)] }).unwrap();
        let clip = load(&path, 48_000.0).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!((clip.left.len() as i64 - 48_000).abs() <= 2, "{} frames", clip.left.len());
        assert_eq!(clip.left, clip.right, "mono is centred");
        let hz = zero_crossing_hz(&clip.left[2400..45_600], 48_000.0);
        assert!((1200.0 * (hz / 440.0).log2()).abs() < 1.0, "{hz} Hz");
    }

    #[test]
    fn note_plays_from_the_start_and_note_off_fades_in_20_ms() {
        let clip = Clip { left: vec![1.0; 10_000], right: vec![0.5; 10_000], sample_rate: 48_000.0, source: PathBuf::new() };
        let mut p = ClipPlayer::new(48_000.0);
        p.note_on(60, 1.0);
        let (mut l, mut r) = (vec![0.0; 100], vec![0.0; 100]);
        p.render_add(Some(&clip), &mut l, &mut r);
        assert!(l.iter().all(|v| *v == 1.0) && r.iter().all(|v| *v == 0.5));
        p.note_off(60);
        let (mut l, mut r) = (vec![0.0; 2000], vec![0.0; 2000]);
        p.render_add(Some(&clip), &mut l, &mut r);
        let silent_from = l.iter().position(|v| *v == 0.0).unwrap();
        assert!((959..=960).contains(&silent_from), "20 ms at 48 kHz is 960 samples, got {silent_from}");
        assert_eq!(p.active(), 0);
    }
}
