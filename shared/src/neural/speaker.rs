//! Resemblyzer speaker encoder (GE2E d-vector, Resemblyzer 0.1.4) in candle: a 256-d,
//! L2-normalised embedding of who is speaking, compared with [`cosine`].
//!
//! Pipeline of `VoiceEncoder.embed_utterance(wav, rate = 1.3, min_coverage = 0.75)`:
//!
//! 1. **Partials** ([`partial_slices`]): the utterance is cut into 160-frame (1.6 s) partials
//!    starting every round(16000 / 1.3 / 160) = 77 frames (0.77 s). The last one is kept only if
//!    the audio covers at least 75 % of it (there is always at least one); the audio is
//!    zero-padded to its end.
//! 2. **Mel frames** ([`SpeakerEncoder::mel_frames`]): as `librosa.feature.melspectrogram` with
//!    n_fft 400 (25 ms), hop 160 (10 ms) and librosa ≥ 0.10 defaults: periodic Hann window,
//!    frame `t` centred on sample `160 t` with zeros outside the signal (`center=True`,
//!    `pad_mode="constant"`), power spectrum |X|², 40 triangular filters on the Slaney mel scale
//!    (linear below 1 kHz, logarithmic above) from 0 to 8 kHz with Slaney area normalisation.
//!    **No log**: the network takes linear mel power, so it is not gain-invariant.
//! 3. **Network** per partial (weights [`FILE`]): 3-layer LSTM (40 → 256 → 256 → 256, torch
//!    gate order i, f, g, o, `bias_ih + bias_hh`, zero initial state) → the last layer's final
//!    hidden state → linear 256 → 256 → ReLU → L2 normalisation.
//! 4. **Utterance embedding**: mean of the partial embeddings, L2-normalised. All components are
//!    ≥ 0 (ReLU), so cosines lie in [0, 1]; same-speaker utterances typically score above 0.8.
//!
//! Resemblyzer's `preprocess_wav` (volume normalisation to −30 dBFS and webrtcvad silence
//! trimming) is not part of this module: callers trim silence themselves before embedding.
//! Parity with a NumPy float64 re-implementation of the package is checked by
//! `shared/tests/resemblyzer.rs`.

use super::{ModelError, load_tensors, take};
use candle_core::{DType, Device, IndexOp, Tensor};
use realfft::{RealFftPlanner, RealToComplex};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// File name in the models folder.
pub const FILE: &str = "resemblyzer.safetensors";
/// The rate the model was trained at.
pub const SAMPLE_RATE: u32 = 16_000;
/// Mel bands per frame.
pub const MEL_CHANNELS: usize = 40;
/// Size of an embedding.
pub const EMBEDDING: usize = 256;
/// Samples between mel frames (10 ms).
pub const HOP: usize = 160;
/// Mel frames per partial utterance (1.6 s).
pub const PARTIAL_FRAMES: usize = 160;
/// Resemblyzer's default partials per second.
pub const RATE: f64 = 1.3;
/// Resemblyzer's default minimum coverage of the last partial.
pub const MIN_COVERAGE: f64 = 0.75;

const N_FFT: usize = 400;
const BINS: usize = N_FFT / 2 + 1;
const HIDDEN: usize = 256;
const LAYERS: usize = 3;

struct Layer {
    /// [input, 4 H], transposed from torch's [4 H, input].
    w_ih: Tensor,
    /// [H, 4 H].
    w_hh: Tensor,
    /// `bias_ih + bias_hh`, [4 H].
    bias: Tensor,
}

/// The loaded network and its mel front end; share one per process (`rt::pool::models::shared`).
pub struct SpeakerEncoder {
    layers: Vec<Layer>,
    /// [256, 256] transposed.
    linear_w: Tensor,
    linear_b: Tensor,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// [40][201] mel filterbank, row-major.
    mel_basis: Vec<f64>,
}

/// Hz → mel on the Slaney scale (200/3 Hz per mel below 1 kHz, 27 mels per factor 6.4 above).
fn hz_to_mel(f: f64) -> f64 {
    if f >= 1000.0 { 15.0 + (f / 1000.0).ln() / (6.4f64.ln() / 27.0) } else { f / (200.0 / 3.0) }
}

fn mel_to_hz(m: f64) -> f64 {
    if m >= 15.0 { 1000.0 * ((6.4f64.ln() / 27.0) * (m - 15.0)).exp() } else { m * (200.0 / 3.0) }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels=40)` (htk=False, norm="slaney").
fn mel_filterbank() -> Vec<f64> {
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(f64::from(SAMPLE_RATE) / 2.0));
    let edges: Vec<f64> = (0..MEL_CHANNELS + 2).map(|k| mel_to_hz(lo + (hi - lo) * k as f64 / (MEL_CHANNELS + 1) as f64)).collect();
    let mut fb = vec![0.0; MEL_CHANNELS * BINS];
    for m in 0..MEL_CHANNELS {
        let area = 2.0 / (edges[m + 2] - edges[m]);
        for b in 0..BINS {
            let f = b as f64 * f64::from(SAMPLE_RATE) / N_FFT as f64;
            let rising = (f - edges[m]) / (edges[m + 1] - edges[m]);
            let falling = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
            fb[m * BINS + b] = rising.min(falling).max(0.0) * area;
        }
    }
    fb
}

/// Where Resemblyzer's `compute_partial_slices` cuts an utterance of `n_samples`: mel-frame
/// ranges of `PARTIAL_FRAMES` each (sample range = frame range × `HOP`). The audio is zero-padded
/// to the end of the last one.
pub fn partial_slices(n_samples: usize, rate: f64, min_coverage: f64) -> Vec<Range<usize>> {
    assert!(min_coverage > 0.0 && min_coverage <= 1.0);
    let n_frames = (n_samples + 1).div_ceil(HOP);
    // numpy.round: half to even.
    let step = (f64::from(SAMPLE_RATE) / rate / HOP as f64).round_ties_even() as usize;
    assert!(step > 0 && step <= PARTIAL_FRAMES, "rate {rate} is out of range");
    let steps = (n_frames + step + 1).saturating_sub(PARTIAL_FRAMES).max(1);
    let mut slices: Vec<Range<usize>> = (0..steps).step_by(step).map(|s| s..s + PARTIAL_FRAMES).collect();
    let last = slices.last().unwrap().start * HOP;
    let coverage = (n_samples as f64 - last as f64) / (PARTIAL_FRAMES * HOP) as f64;
    if coverage < min_coverage && slices.len() > 1 {
        slices.pop();
    }
    slices
}

/// Cosine similarity; 0 when either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { (ab / (aa * bb).sqrt()) as f32 }
}

/// Divides by the L2 norm in place; a zero vector stays zero (Resemblyzer would give NaN).
fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x = (f64::from(*x) / norm) as f32);
    }
}

impl SpeakerEncoder {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut t = load_tensors(path)?;
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let input = if l == 0 { MEL_CHANNELS } else { HIDDEN };
            let w_ih = take(&mut t, path, &format!("lstm.weight_ih_l{l}"), Some(&[4 * HIDDEN, input]))?;
            let w_hh = take(&mut t, path, &format!("lstm.weight_hh_l{l}"), Some(&[4 * HIDDEN, HIDDEN]))?;
            let b_ih = take(&mut t, path, &format!("lstm.bias_ih_l{l}"), Some(&[4 * HIDDEN]))?;
            let b_hh = take(&mut t, path, &format!("lstm.bias_hh_l{l}"), Some(&[4 * HIDDEN]))?;
            layers.push(Layer { w_ih: w_ih.t()?.contiguous()?, w_hh: w_hh.t()?.contiguous()?, bias: (b_ih + b_hh)? });
        }
        let linear_w = take(&mut t, path, "linear.weight", Some(&[EMBEDDING, HIDDEN]))?.t()?.contiguous()?;
        let linear_b = take(&mut t, path, "linear.bias", Some(&[EMBEDDING]))?;
        // The remaining tensors (GE2E's similarity_weight/bias) are training-only.
        let window = (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()).collect();
        Ok(Self {
            layers,
            linear_w,
            linear_b,
            fft: RealFftPlanner::<f64>::new().plan_fft_forward(N_FFT),
            window,
            mel_basis: mel_filterbank(),
        })
    }

    /// Mel frames `frames` of `wav` (16 kHz), frame `t` centred on sample `HOP t`, zeros outside
    /// the signal, so frames past the end see the zero padding `embed_utterance` adds.
    fn mel_range(&self, wav: &[f32], frames: Range<usize>) -> Vec<[f32; MEL_CHANNELS]> {
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = [0.0f64; BINS];
        let mut out = Vec::with_capacity(frames.len());
        for t in frames {
            let start = (t * HOP) as isize - (N_FFT / 2) as isize;
            for (k, v) in input.iter_mut().enumerate() {
                let i = start + k as isize;
                let s = if i >= 0 && (i as usize) < wav.len() { f64::from(wav[i as usize]) } else { 0.0 };
                *v = s * self.window[k];
            }
            self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).expect("buffer sizes come from the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            let mut frame = [0.0f32; MEL_CHANNELS];
            for (m, v) in frame.iter_mut().enumerate() {
                *v = self.mel_basis[m * BINS..(m + 1) * BINS].iter().zip(&power).map(|(w, p)| w * p).sum::<f64>() as f32;
            }
            out.push(frame);
        }
        out
    }

    /// Resemblyzer's `audio.wav_to_mel_spectrogram`: `1 + len / 160` frames of 40 mel powers (no log).
    pub fn mel_frames(&self, wav: &[f32]) -> Vec<[f32; MEL_CHANNELS]> {
        self.mel_range(wav, 0..1 + wav.len() / HOP)
    }

    /// The network on a batch of partials, each `PARTIAL_FRAMES` mel frames: one L2-normalised
    /// embedding per partial.
    pub fn embed_mels(&self, partials: &[&[[f32; MEL_CHANNELS]]]) -> Result<Vec<[f32; EMBEDDING]>, ModelError> {
        let batch = partials.len();
        if batch == 0 {
            return Ok(Vec::new());
        }
        let frames = partials[0].len();
        assert!(frames > 0 && partials.iter().all(|p| p.len() == frames), "partials must have the same, non-zero length");
        let flat: Vec<f32> = partials.iter().flat_map(|p| p.iter().flatten().copied()).collect();
        let mut x = Tensor::from_vec(flat, (batch * frames, MEL_CHANNELS), &Device::Cpu)?;
        let mut h = Tensor::zeros((batch, HIDDEN), DType::F32, &Device::Cpu)?;
        for (l, layer) in self.layers.iter().enumerate() {
            // Input contributions of every step at once: [B, T, 4H].
            let pre = x.matmul(&layer.w_ih)?.broadcast_add(&layer.bias)?.reshape((batch, frames, 4 * HIDDEN))?;
            h = Tensor::zeros((batch, HIDDEN), DType::F32, &Device::Cpu)?;
            let mut c = h.clone();
            let last = l + 1 == self.layers.len();
            let mut outputs = Vec::with_capacity(if last { 0 } else { frames });
            for t in 0..frames {
                let gates = (pre.i((.., t, ..))? + h.matmul(&layer.w_hh)?)?;
                let sig = candle_nn::ops::sigmoid(&gates)?;
                let i = sig.narrow(1, 0, HIDDEN)?;
                let f = sig.narrow(1, HIDDEN, HIDDEN)?;
                let g = gates.narrow(1, 2 * HIDDEN, HIDDEN)?.tanh()?;
                let o = sig.narrow(1, 3 * HIDDEN, HIDDEN)?;
                c = ((f * &c)? + (i * g)?)?;
                h = (o * c.tanh()?)?;
                if !last {
                    outputs.push(h.clone());
                }
            }
            if !last {
                x = Tensor::stack(&outputs, 1)?.reshape((batch * frames, HIDDEN))?;
            }
        }
        let e = h.matmul(&self.linear_w)?.broadcast_add(&self.linear_b)?.relu()?;
        Ok(e.to_vec2::<f32>()?
            .into_iter()
            .map(|row| {
                let mut v = [0.0f32; EMBEDDING];
                v.copy_from_slice(&row);
                l2_normalise(&mut v);
                v
            })
            .collect())
    }

    /// The embeddings of the partials of a 16 kHz utterance (see [`partial_slices`]).
    pub fn embed_partials(&self, wav: &[f32], rate: f64, min_coverage: f64) -> Result<Vec<[f32; EMBEDDING]>, ModelError> {
        let slices = partial_slices(wav.len(), rate, min_coverage);
        // Only the frames the partials use; past the end the audio reads as zeros, which is
        // both the padding to the last partial and librosa's centre padding.
        let mel = self.mel_range(wav, 0..slices.last().unwrap().end);
        let partials: Vec<&[[f32; MEL_CHANNELS]]> = slices.iter().map(|s| &mel[s.clone()]).collect();
        self.embed_mels(&partials)
    }

    /// The utterance embedding of 16 kHz audio in [-1, 1] (Resemblyzer's `embed_utterance` with
    /// its defaults, without `preprocess_wav`): the L2-normalised mean of the partial embeddings.
    pub fn embed_utterance(&self, wav: &[f32]) -> Result<[f32; EMBEDDING], ModelError> {
        let partials = self.embed_partials(wav, RATE, MIN_COVERAGE)?;
        let mut mean = [0.0f32; EMBEDDING];
        for (k, m) in mean.iter_mut().enumerate() {
            *m = (partials.iter().map(|p| f64::from(p[k])).sum::<f64>() / partials.len() as f64) as f32;
        }
        l2_normalise(&mut mean);
        Ok(mean)
    }
}
