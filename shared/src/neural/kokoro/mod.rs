//! Kokoro-82M v1.0 text-to-speech (hexgrad, 2025; StyleTTS 2 + iSTFTNet) in candle: phoneme
//! ids and a 256-value style vector in, 24 kHz audio out.
//!
//! Weights: `kokoro-v1.0.safetensors`, the int8 ONNX export folded to float32 by `cargo xtask
//! models` (tensors are found through the node that consumes them, see `weights.rs`). The
//! network follows the export, which is what the parity fixture runs:
//!  * PL-BERT (ALBERT, 12 passes of one shared layer, 768 wide, 12 heads) → linear 512;
//!  * prosody predictor: three (bidirectional LSTM → AdaLayerNorm) layers on [text, style],
//!    a BiLSTM + linear 50 whose summed sigmoids are the per-phoneme durations in frames
//!    (divided by the speed, rounded half to even, at least 1); the features expanded to frames
//!    feed a shared BiLSTM and two AdaIN residual stacks giving F0 (Hz) and energy at twice the
//!    frame rate;
//!  * text encoder: embedding → 3 × (conv 5, LayerNorm, LeakyReLU) → BiLSTM, expanded to frames;
//!  * decoder (`decoder.rs`): AdaIN residual blocks, iSTFTNet generator (×10, ×6 upsampling,
//!    then a 20-point iSTFT with hop 5): 600 samples per frame, 24 kHz.
//! The style's first 128 values condition the decoder, the last 128 the prosody predictor.
//!
//! Arithmetic ([`Arithmetic`]): by default the generator's residual-block convolutions (89 % of
//! the work in float) run as the int8 export runs them in onnxruntime, activations quantised to
//! 8 bits per tensor and integer products (`qconv`), on CPUs with AVX-512 VNNI; elsewhere, or on
//! request, everything is float32 with the dequantised weights.
//!
//! Deterministic: no random draw anywhere (the export's harmonic source has none), so the same
//! input gives bit-identical audio run after run on one machine.
//!
//! Inference allocates (candle): run it on a worker, never on the audio thread.

mod decoder;
mod layers;
mod weights;
pub mod stream;

use super::{ModelError, load_tensors};
use candle_core::{D, Device, IndexOp, Tensor};
use layers::{AdainResBlk, Conv, Linear, Lstm, leaky_relu, norm_last};
use std::collections::HashMap;
use std::path::Path;
use weights::Weights;

type Result<T> = std::result::Result<T, ModelError>;

/// Output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;
/// Audio samples per duration frame (F0 and energy have two values per frame).
pub const SAMPLES_PER_FRAME: usize = 2 * decoder::SAMPLES_PER_F0;
/// Width of a style vector.
pub const STYLE_DIM: usize = 256;
/// Most phonemes one call takes (512 positions minus the two boundary tokens).
pub const MAX_PHONEMES: usize = 510;
/// A convolution that runs in 8 bits whenever any does.
const INT8_PROBE: &str = "ConvInteger /decoder/decoder/generator/resblocks.0/convs1.0/Conv_quant";
/// File names in the models folder.
pub const MODEL_FILE: &str = "kokoro-v1.0.safetensors";
pub const VOCAB_FILE: &str = "kokoro-vocab.json";
pub const VOICES_FILE: &str = "kokoro-voices-en.safetensors";

/// A style vector (256 values): one row of a voice, or a blend.
#[derive(Clone, Debug, PartialEq)]
pub struct Style(pub Vec<f32>);

impl Style {
    /// `(1 − t)·a + t·b`.
    pub fn blend(a: &Style, b: &Style, t: f32) -> Style {
        Style(a.0.iter().zip(&b.0).map(|(x, y)| (1.0 - t) * x + t * y).collect())
    }
}

/// Kokoro's phoneme alphabet (`kokoro-vocab.json`): one id per character.
pub struct Vocab {
    ids: HashMap<char, u32>,
}

impl Vocab {
    pub fn load(path: &Path) -> Result<Self> {
        let format = |reason: String| ModelError::Format { path: path.to_owned(), reason };
        let text = std::fs::read_to_string(path).map_err(|_| ModelError::Missing { path: path.to_owned() })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        let map = v.get("vocab").and_then(|m| m.as_object()).ok_or_else(|| format("no `vocab` object".into()))?;
        let mut ids = HashMap::new();
        for (k, id) in map {
            let mut chars = k.chars();
            if let (Some(c), None, Some(id)) = (chars.next(), chars.next(), id.as_u64()) {
                ids.insert(c, id as u32);
            }
        }
        Ok(Self { ids })
    }

    /// Ids of a phoneme string. Characters outside the alphabet are returned as the error.
    pub fn encode(&self, phonemes: &str) -> std::result::Result<Vec<u32>, Vec<char>> {
        let unknown: Vec<char> = phonemes.chars().filter(|c| !self.ids.contains_key(c)).collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        Ok(phonemes.chars().map(|c| self.ids[&c]).collect())
    }
}

/// The voice pack: per voice a `[510, 256]` table whose row `n` is the style for an input of
/// `n` phonemes (as kokoro-js chooses it).
pub struct Voices {
    voices: HashMap<String, Vec<f32>>,
}

impl Voices {
    pub fn load(path: &Path) -> Result<Self> {
        let mut voices = HashMap::new();
        for (name, t) in load_tensors(path)? {
            if t.elem_count() % STYLE_DIM != 0 {
                return Err(ModelError::Format { path: path.to_owned(), reason: format!("voice {name} is not a table of 256-value rows") });
            }
            voices.insert(name, t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1()?);
        }
        Ok(Self { voices })
    }

    pub fn names(&self) -> Vec<&str> {
        let mut n: Vec<&str> = self.voices.keys().map(String::as_str).collect();
        n.sort_unstable();
        n
    }

    /// The style of `voice` for an input of `phonemes` phonemes.
    pub fn style(&self, voice: &str, phonemes: usize) -> Option<Style> {
        let table = self.voices.get(voice)?;
        let rows = table.len() / STYLE_DIM;
        let row = phonemes.min(rows - 1);
        Some(Style(table[row * STYLE_DIM..(row + 1) * STYLE_DIM].to_vec()))
    }
}

/// What the caller may set; everything left `None` is predicted.
#[derive(Clone, Debug)]
pub struct Options {
    /// Speaking rate: predicted durations are divided by it.
    pub speed: f32,
    /// Multiplies the predicted F0 curve (not a curve given in `f0`).
    pub pitch_scale: f32,
    /// Frames per token, boundary tokens included (`phonemes + 2` values, each ≥ 1).
    pub durations: Option<Vec<u32>>,
    /// F0 in Hz, two values per frame (`2 · Σ durations`); ≤ 10 Hz is unvoiced.
    pub f0: Option<Vec<f32>>,
    /// Energy curve, two values per frame.
    pub energy: Option<Vec<f32>>,
}

impl Default for Options {
    fn default() -> Self {
        Self { speed: 1.0, pitch_scale: 1.0, durations: None, f0: None, energy: None }
    }
}

/// A rendered utterance with the prosody that made it.
#[derive(Clone, Debug)]
pub struct Speech {
    /// 24 kHz mono, `SAMPLES_PER_FRAME · Σ durations` samples.
    pub audio: Vec<f32>,
    /// Frames per token, boundary tokens included.
    pub durations: Vec<u32>,
    /// Durations before rounding (Σ sigmoids / speed), boundary tokens included.
    pub durations_raw: Vec<f32>,
    /// F0 (Hz) and energy as used, two values per frame.
    pub f0: Vec<f32>,
    pub energy: Vec<f32>,
}

/// How the generator's convolutions compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arithmetic {
    /// As onnxruntime runs the int8 export: 8-bit activations and integer products in the
    /// generator's residual blocks, where the CPU has AVX-512 VNNI and the model file records its
    /// weight scales; float32 otherwise.
    #[default]
    Int8,
    /// Float32 throughout, with the dequantised weights.
    Float,
}

pub struct Kokoro {
    albert: Albert,
    bert_encoder: Linear,
    duration_encoder: DurationEncoder,
    duration_lstm: Lstm,
    duration_proj: Linear,
    shared_lstm: Lstm,
    f0_blocks: Vec<AdainResBlk>,
    n_blocks: Vec<AdainResBlk>,
    f0_proj: Conv,
    n_proj: Conv,
    text_encoder: TextEncoder,
    decoder: decoder::Decoder,
    device: Device,
    arithmetic: Arithmetic,
}

/// Per-token features from one pass of the encoders.
struct Encoded {
    /// Prosody features `[T, 640]`.
    d: Tensor,
    /// Text features `[512, T]`.
    t_en: Tensor,
    durations_raw: Vec<f32>,
}

impl Kokoro {
    /// Loads the model with [`Arithmetic::Int8`] where it can run.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, Arithmetic::default())
    }

    pub fn load_with(path: &Path, arithmetic: Arithmetic) -> Result<Self> {
        let mut wt = Weights::load(path)?;
        wt.int8 = arithmetic == Arithmetic::Int8;
        let prosody_stack = |name: &str| -> Result<Vec<AdainResBlk>> {
            Ok(vec![
                AdainResBlk::load(&wt, &format!("/encoder/{name}.0"), &format!("encoder.predictor.{name}.0"), 512, 512, false)?,
                AdainResBlk::load(&wt, &format!("/encoder/{name}.1"), &format!("encoder.predictor.{name}.1"), 512, 256, true)?,
                AdainResBlk::load(&wt, &format!("/encoder/{name}.2"), &format!("encoder.predictor.{name}.2"), 256, 256, false)?,
            ])
        };
        let proj = |name: &str| -> Result<Conv> {
            Conv::new(
                wt.named(&format!("encoder.predictor.{name}.weight"), Some(&[1, 256, 1]))?,
                Some(wt.named(&format!("encoder.predictor.{name}.bias"), Some(&[1]))?),
                0,
                1,
                1,
            )
        };
        Ok(Self {
            albert: Albert::load(&wt)?,
            bert_encoder: Linear::new(
                wt.used_by("MatMulInteger /encoder/bert_encoder/MatMul_quant", |d| d == [768, 512])?,
                Some(wt.named("encoder.bert_encoder.bias", Some(&[512]))?),
            ),
            duration_encoder: DurationEncoder::load(&wt)?,
            duration_lstm: Lstm::load(&wt, "/encoder/predictor/lstm")?,
            duration_proj: Linear::new(
                wt.used_by("MatMulInteger /encoder/predictor/duration_proj/linear_layer/MatMul_quant", |d| d == [512, 50])?,
                Some(wt.named("encoder.predictor.duration_proj.linear_layer.bias", Some(&[50]))?),
            ),
            shared_lstm: Lstm::load(&wt, "/encoder/shared")?,
            f0_blocks: prosody_stack("F0")?,
            n_blocks: prosody_stack("N")?,
            f0_proj: proj("F0_proj")?,
            n_proj: proj("N_proj")?,
            text_encoder: TextEncoder::load(&wt)?,
            decoder: decoder::Decoder::load(&wt)?,
            device: Device::Cpu,
            arithmetic: if wt.int8 && wt.kernel_int(INT8_PROBE)?.is_some() { Arithmetic::Int8 } else { Arithmetic::Float },
        })
    }

    /// The arithmetic in effect: [`Arithmetic::Float`] when int8 was asked for but this CPU or
    /// model file cannot run it.
    pub fn arithmetic(&self) -> Arithmetic {
        self.arithmetic
    }

    /// Renders phoneme ids (without boundary tokens) in `style`.
    pub fn synthesize(&self, phonemes: &[u32], style: &Style, opts: &Options) -> Result<Speech> {
        let tokens = self.tokens(phonemes)?;
        let (s_dec, s_pred) = self.style_halves(style)?;
        let enc = self.encode(&tokens, &s_pred, opts.speed)?;
        let durations = match &opts.durations {
            Some(d) => {
                if d.len() != tokens.len() || d.contains(&0) {
                    return Err(bad(format!("{} durations (each ≥ 1) are needed for {} tokens", tokens.len(), tokens.len())));
                }
                d.clone()
            }
            None => round_durations(&enc.durations_raw),
        };
        let frames: usize = durations.iter().map(|&d| d as usize).sum();
        let idx = Tensor::from_vec(
            durations.iter().enumerate().flat_map(|(i, &d)| std::iter::repeat_n(i as u32, d as usize)).collect::<Vec<u32>>(),
            frames,
            &self.device,
        )?;
        let (f0, energy) = match (&opts.f0, &opts.energy) {
            (Some(f), Some(n)) => (f.clone(), n.clone()),
            _ => {
                let (mut f, n) = self.prosody(&enc.d, &idx, &s_pred)?;
                if opts.f0.is_none() {
                    f.iter_mut().for_each(|v| *v *= opts.pitch_scale);
                }
                (opts.f0.clone().unwrap_or(f), opts.energy.clone().unwrap_or(n))
            }
        };
        if f0.len() != 2 * frames || energy.len() != 2 * frames {
            return Err(bad(format!("F0 and energy need {} values (2 per frame), got {} and {}", 2 * frames, f0.len(), energy.len())));
        }
        let asr = enc.t_en.index_select(&idx, 1)?.unsqueeze(0)?;
        let audio = self.decoder.forward(&asr, &f0, &energy, &s_dec)?;
        Ok(Speech { audio, durations, durations_raw: enc.durations_raw, f0, energy })
    }

    fn tokens(&self, phonemes: &[u32]) -> Result<Vec<u32>> {
        if phonemes.len() > MAX_PHONEMES {
            return Err(bad(format!("{} phonemes; Kokoro takes at most {MAX_PHONEMES} per call", phonemes.len())));
        }
        if let Some(&p) = phonemes.iter().find(|&&p| p as usize >= VOCAB_SIZE) {
            return Err(bad(format!("phoneme id {p} is outside the vocabulary (< {VOCAB_SIZE})")));
        }
        let mut t = Vec::with_capacity(phonemes.len() + 2);
        t.push(0);
        t.extend_from_slice(phonemes);
        t.push(0);
        Ok(t)
    }

    fn style_halves(&self, style: &Style) -> Result<(Tensor, Tensor)> {
        if style.0.len() != STYLE_DIM {
            return Err(bad(format!("a style has {STYLE_DIM} values, got {}", style.0.len())));
        }
        let s = Tensor::from_slice(&style.0, (1, STYLE_DIM), &self.device)?;
        Ok((s.narrow(1, 0, 128)?, s.narrow(1, 128, 128)?))
    }

    fn encode(&self, tokens: &[u32], s_pred: &Tensor, speed: f32) -> Result<Encoded> {
        let ids = Tensor::from_slice(tokens, tokens.len(), &self.device)?;
        let bert = self.albert.forward(&ids)?;
        let d_en = self.bert_encoder.forward(&bert)?; // [T, 512]
        let d = self.duration_encoder.forward(&d_en, s_pred)?; // [T, 640]
        let x = self.duration_lstm.forward(&d)?;
        let logits = self.duration_proj.forward(&x)?; // [T, 50]
        let raw: Vec<f32> = candle_nn::ops::sigmoid(&logits)?.sum(D::Minus1)?.to_vec1()?;
        let durations_raw = raw.into_iter().map(|v| v / speed).collect();
        let t_en = self.text_encoder.forward(&ids)?;
        Ok(Encoded { d, t_en, durations_raw })
    }

    /// F0 and energy (two values per frame) for features expanded to frames by `idx`.
    fn prosody(&self, d: &Tensor, idx: &Tensor, s: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
        let en = d.index_select(idx, 0)?; // [F, 640]
        let x = self.shared_lstm.forward(&en)?.t()?.unsqueeze(0)?.contiguous()?; // [1, 512, F]
        let run = |blocks: &[AdainResBlk], proj: &Conv| -> Result<Vec<f32>> {
            let mut y = x.clone();
            for b in blocks {
                y = b.forward(&y, s)?;
            }
            Ok(proj.forward(&y)?.flatten_all()?.to_vec1()?)
        };
        Ok((run(&self.f0_blocks, &self.f0_proj)?, run(&self.n_blocks, &self.n_proj)?))
    }
}

/// Rounds half to even (as the export's `Round`), at least one frame.
pub fn round_durations(raw: &[f32]) -> Vec<u32> {
    raw.iter().map(|v| v.round_ties_even().max(1.0) as u32).collect()
}

const VOCAB_SIZE: usize = 178;

fn bad(reason: String) -> ModelError {
    ModelError::Run(candle_core::Error::Msg(reason))
}

/// ALBERT as PL-BERT uses it: embeddings 128 → 768, one transformer layer applied 12 times.
struct Albert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_ln: (Tensor, Tensor),
    mapping_in: Linear,
    q: Linear,
    k: Linear,
    v: Linear,
    dense: Linear,
    attn_ln: (Tensor, Tensor),
    ffn: Linear,
    ffn_out: Linear,
    full_ln: (Tensor, Tensor),
}

const BERT_LN_EPS: f64 = 1e-12;
const HEADS: usize = 12;

impl Albert {
    fn load(wt: &Weights) -> Result<Self> {
        let e = "encoder.bert.embeddings";
        let l = "encoder.bert.encoder.albert_layer_groups.0.albert_layers.0";
        let n = "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0";
        let mm = |node: &str, shape: [usize; 2]| wt.used_by(&format!("MatMulInteger {node}/MatMul_quant"), |d| d == shape);
        let ln = |p: &str, dim: usize| -> Result<(Tensor, Tensor)> {
            Ok((wt.named(&format!("{p}.weight"), Some(&[dim]))?, wt.named(&format!("{p}.bias"), Some(&[dim]))?))
        };
        let lin = |node: &str, sd: &str, shape: [usize; 2]| -> Result<Linear> {
            Ok(Linear::new(mm(node, shape)?, Some(wt.named(&format!("{sd}.bias"), Some(&[shape[1]]))?)))
        };
        Ok(Self {
            word: wt.named(&format!("{e}.word_embeddings.weight"), Some(&[VOCAB_SIZE, 128]))?,
            position: wt.named(&format!("{e}.position_embeddings.weight"), Some(&[512, 128]))?,
            token_type: wt.named(&format!("{e}.token_type_embeddings.weight"), Some(&[2, 128]))?.i(0..1)?,
            emb_ln: ln(&format!("{e}.LayerNorm"), 128)?,
            mapping_in: lin("/encoder/bert/encoder/embedding_hidden_mapping_in", "encoder.bert.encoder.embedding_hidden_mapping_in", [128, 768])?,
            q: lin(&format!("{n}/attention/query"), &format!("{l}.attention.query"), [768, 768])?,
            k: lin(&format!("{n}/attention/key"), &format!("{l}.attention.key"), [768, 768])?,
            v: lin(&format!("{n}/attention/value"), &format!("{l}.attention.value"), [768, 768])?,
            dense: lin(&format!("{n}/attention/dense"), &format!("{l}.attention.dense"), [768, 768])?,
            attn_ln: ln(&format!("{l}.attention.LayerNorm"), 768)?,
            ffn: lin(&format!("{n}/ffn"), &format!("{l}.ffn"), [768, 2048])?,
            ffn_out: lin(&format!("{n}/ffn_output"), &format!("{l}.ffn_output"), [2048, 768])?,
            full_ln: ln(&format!("{l}.full_layer_layer_norm"), 768)?,
        })
    }

    /// `ids` `[T]` → `[T, 768]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let t = ids.dim(0)?;
        let emb = (self.word.index_select(ids, 0)? + self.position.narrow(0, 0, t)?)?.broadcast_add(&self.token_type)?;
        let mut x = self.mapping_in.forward(&layer_norm(&emb, &self.emb_ln, BERT_LN_EPS)?)?;
        let hd = 768 / HEADS;
        for _ in 0..12 {
            let heads = |y: Tensor| -> Result<Tensor> { Ok(y.reshape((t, HEADS, hd))?.transpose(0, 1)?.contiguous()?) };
            let q = heads(self.q.forward(&x)?)?;
            let k = heads(self.k.forward(&x)?)?;
            let v = heads(self.v.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
            let ctx = candle_nn::ops::softmax_last_dim(&scores)?.matmul(&v)?; // [H, T, hd]
            let ctx = ctx.transpose(0, 1)?.contiguous()?.reshape((t, 768))?;
            let a = layer_norm(&(&x + self.dense.forward(&ctx)?)?, &self.attn_ln, BERT_LN_EPS)?;
            let f = self.ffn_out.forward(&self.ffn.forward(&a)?.gelu()?)?;
            x = layer_norm(&(f + &a)?, &self.full_ln, BERT_LN_EPS)?;
        }
        Ok(x)
    }
}

fn layer_norm(x: &Tensor, (g, b): &(Tensor, Tensor), eps: f64) -> Result<Tensor> {
    Ok(norm_last(x, eps)?.broadcast_mul(g)?.broadcast_add(b)?)
}

/// The prosody predictor's text encoder: 3 × (BiLSTM on [x, s] → AdaLayerNorm), output [x, s].
struct DurationEncoder {
    lstms: Vec<Lstm>,
    norms: Vec<Linear>,
}

impl DurationEncoder {
    fn load(wt: &Weights) -> Result<Self> {
        let mut lstms = Vec::new();
        let mut norms = Vec::new();
        for i in 0..3 {
            lstms.push(Lstm::load(wt, &format!("/encoder/predictor/text_encoder/lstms.{}", 2 * i))?);
            let p = format!("encoder.predictor.text_encoder.lstms.{}.fc", 2 * i + 1);
            norms.push(Linear::new(
                wt.named(&format!("{p}.weight"), Some(&[128, 1024]))?,
                Some(wt.named(&format!("{p}.bias"), Some(&[1024]))?),
            ));
        }
        Ok(Self { lstms, norms })
    }

    /// `x` `[T, 512]`, `s` `[1, 128]` → `[T, 640]`.
    fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let t = x.dim(0)?;
        let s_t = s.broadcast_as((t, 128))?;
        let mut x = Tensor::cat(&[x, &s_t], 1)?;
        for (lstm, fc) in self.lstms.iter().zip(&self.norms) {
            let y = lstm.forward(&x)?;
            let h = fc.forward(s)?;
            let gamma = (h.narrow(1, 0, 512)? + 1.0)?;
            let beta = h.narrow(1, 512, 512)?;
            let y = norm_last(&y, 1e-5)?.broadcast_mul(&gamma)?.broadcast_add(&beta)?;
            x = Tensor::cat(&[&y, &s_t], 1)?;
        }
        Ok(x)
    }
}

/// Embedding → 3 × (conv 5, LayerNorm, LeakyReLU 0.2) → BiLSTM.
struct TextEncoder {
    embedding: Tensor,
    convs: Vec<(Conv, (Tensor, Tensor))>,
    lstm: Lstm,
}

impl TextEncoder {
    fn load(wt: &Weights) -> Result<Self> {
        let mut convs = Vec::new();
        for i in 0..3 {
            let w = wt.kernel(&format!("ConvInteger /encoder/text_encoder/cnn.{i}/cnn.{i}.0/Conv_quant"))?;
            let b = wt.named(&format!("encoder.text_encoder.cnn.{i}.0.bias"), Some(&[512]))?;
            let g = wt.named(&format!("encoder.text_encoder.cnn.{i}.1.gamma"), Some(&[512]))?;
            let beta = wt.named(&format!("encoder.text_encoder.cnn.{i}.1.beta"), Some(&[512]))?;
            convs.push((Conv::same(w, Some(b), 1)?, (g, beta)));
        }
        Ok(Self {
            embedding: wt.named("encoder.text_encoder.embedding.weight", Some(&[VOCAB_SIZE, 512]))?,
            convs,
            lstm: Lstm::load(wt, "/encoder/text_encoder/lstm")?,
        })
    }

    /// `ids` `[T]` → `[512, T]`.
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut x = self.embedding.index_select(ids, 0)?.t()?.unsqueeze(0)?.contiguous()?; // [1, 512, T]
        for (conv, ln) in &self.convs {
            let y = conv.forward(&x)?.squeeze(0)?.t()?; // [T, 512]
            let y = leaky_relu(&layer_norm(&y, ln, 1e-5)?, 0.2)?;
            x = y.t()?.unsqueeze(0)?.contiguous()?;
        }
        let x = x.squeeze(0)?.t()?.contiguous()?; // [T, 512]
        Ok(self.lstm.forward(&x)?.t()?.contiguous()?)
    }
}
