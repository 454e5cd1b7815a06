//! Silero VAD v5 (16 kHz) in candle: the probability that a 32 ms chunk contains speech.
//! Streaming: each 512-sample chunk is analysed with the 64 samples before it and the LSTM
//! state carried from the previous chunk, exactly as the reference runtime does.
//!
//! Network (weights `silero_vad_16k.safetensors`): reflect-pad 64 → learned STFT (conv 258×256,
//! stride 128) → magnitude of 129 bins → four conv+ReLU layers (strides 1, 2, 2, 1) → LSTM cell
//! (128) → ReLU → 1×1 conv → sigmoid.

use super::{ModelError, load_tensors, take};
use candle_core::{D, Device, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Module};
use std::path::Path;

/// Samples per analysed chunk at 16 kHz.
pub const CHUNK: usize = 512;
/// Samples of the previous chunk the model sees in front of each chunk.
pub const CONTEXT: usize = 64;
/// The rate the model was trained at.
pub const SAMPLE_RATE: u32 = 16_000;
/// File name in the models folder.
pub const FILE: &str = "silero_vad_16k.safetensors";

const HIDDEN: usize = 128;
const BINS: usize = 129;
const REFLECT_PAD: usize = 64;

/// The loaded network; share one per process (`rt::pool::models::shared`).
pub struct SileroVad {
    stft: Tensor,
    convs: [Conv1d; 4],
    w_ih: Tensor,
    w_hh: Tensor,
    bias: Tensor,
    head: Conv1d,
}

impl SileroVad {
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut t = load_tensors(path)?;
        let conv = |t: &mut std::collections::HashMap<String, Tensor>, name: &str, stride: usize, padding: usize| -> Result<Conv1d, ModelError> {
            let w = take(t, path, &format!("{name}.weight"), None)?;
            let b = take(t, path, &format!("{name}.bias"), None)?;
            Ok(Conv1d::new(w, Some(b), Conv1dConfig { padding, stride, ..Default::default() }))
        };
        let convs = [conv(&mut t, "conv1", 1, 1)?, conv(&mut t, "conv2", 2, 1)?, conv(&mut t, "conv3", 2, 1)?, conv(&mut t, "conv4", 1, 1)?];
        let head = conv(&mut t, "final_conv", 1, 0)?;
        let bias = (take(&mut t, path, "lstm_cell.bias_ih", None)? + take(&mut t, path, "lstm_cell.bias_hh", None)?)?;
        Ok(Self {
            stft: take(&mut t, path, "stft_conv.weight", None)?,
            convs,
            w_ih: take(&mut t, path, "lstm_cell.weight_ih", None)?.t()?,
            w_hh: take(&mut t, path, "lstm_cell.weight_hh", None)?.t()?,
            bias,
            head,
        })
    }

    /// One step: `window` is the 64 context samples followed by the 512-sample chunk; `h`, `c`
    /// the LSTM state [1, 128]. Returns the speech probability and the new state.
    pub fn step(&self, window: &[f32], h: &Tensor, c: &Tensor) -> Result<(f32, Tensor, Tensor), ModelError> {
        debug_assert_eq!(window.len(), CONTEXT + CHUNK);
        // Reflect padding on the right, as the reference (no edge repeat).
        let n = window.len();
        let mut padded = Vec::with_capacity(n + REFLECT_PAD);
        padded.extend_from_slice(window);
        padded.extend((0..REFLECT_PAD).map(|k| window[n - 2 - k]));
        let x = Tensor::from_vec(padded, (1, 1, n + REFLECT_PAD), &Device::Cpu)?;
        let spec = x.conv1d(&self.stft, 0, 128, 1, 1)?;
        let re = spec.narrow(1, 0, BINS)?;
        let im = spec.narrow(1, BINS, BINS)?;
        let mut y = (re.sqr()? + im.sqr()?)?.sqrt()?;
        for conv in &self.convs {
            y = conv.forward(&y)?.relu()?;
        }
        let x = y.squeeze(D::Minus1)?; // [1, 128]
        let gates = (x.matmul(&self.w_ih)? + h.matmul(&self.w_hh)?)?.broadcast_add(&self.bias)?;
        let i = candle_nn::ops::sigmoid(&gates.narrow(1, 0, HIDDEN)?)?;
        let f = candle_nn::ops::sigmoid(&gates.narrow(1, HIDDEN, HIDDEN)?)?;
        let g = gates.narrow(1, 2 * HIDDEN, HIDDEN)?.tanh()?;
        let o = candle_nn::ops::sigmoid(&gates.narrow(1, 3 * HIDDEN, HIDDEN)?)?;
        let c_new = ((f * c)? + (i * g)?)?;
        let h_new = (o * c_new.tanh()?)?;
        let p = candle_nn::ops::sigmoid(&self.head.forward(&h_new.relu()?.unsqueeze(D::Minus1)?)?)?;
        let p = p.flatten_all()?.mean_all()?.to_scalar::<f32>()?;
        Ok((p, h_new, c_new))
    }
}

/// A stream of 16 kHz audio in 512-sample chunks, state carried across chunks.
pub struct VadStream {
    window: Vec<f32>,
    h: Tensor,
    c: Tensor,
}

impl VadStream {
    pub fn new() -> Result<Self, ModelError> {
        let zeros = Tensor::zeros((1, HIDDEN), candle_core::DType::F32, &Device::Cpu)?;
        Ok(Self { window: vec![0.0; CONTEXT + CHUNK], h: zeros.clone(), c: zeros })
    }

    /// Speech probability of the next 512-sample chunk.
    pub fn push(&mut self, model: &SileroVad, chunk: &[f32]) -> Result<f32, ModelError> {
        assert_eq!(chunk.len(), CHUNK, "silero VAD takes {CHUNK}-sample chunks at 16 kHz");
        // The context is the tail of the previous window.
        self.window.copy_within(CHUNK.., 0);
        self.window[CONTEXT..].copy_from_slice(chunk);
        let (p, h, c) = model.step(&self.window, &self.h, &self.c)?;
        self.h = h;
        self.c = c;
        Ok(p)
    }
}
