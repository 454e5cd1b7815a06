//! g2p-en: English grapheme-to-phoneme conversion with the GRU encoder–decoder of Park & Kim's
//! `g2p_en` 2.1.0 (Apache-2.0), the network that package runs for words missing from CMUdict
//! (`G2p.predict`). Output is ARPAbet with stress digits (`K AE1 T`), exactly the package's.
//!
//! Network (weights `g2p_en.safetensors`, the package's `checkpoint20.npz` tensor for tensor):
//! * input: one id per character (Unicode code point) of the word followed by `</s>`; `a`–`z`
//!   have their own ids, every other character (capitals included: `predict` does not
//!   lower-case, the package's text front end does that before) is `<unk>`;
//! * encoder: grapheme embedding (29 × 256) → GRU (256) from a zero state;
//! * decoder: a GRU (256) started from the encoder's last state, fed the embedding (74 × 256) of
//!   `<s>` and then of its own previous prediction; after each step a linear layer (74 × 256)
//!   gives the phoneme logits and the argmax (first one on a tie) is the prediction; greedy,
//!   stopping at `</s>` or after [`MAX_STEPS`] phonemes.
//!
//! Both GRUs are PyTorch's cell, as the package's own NumPy code writes it, rows of the weight
//! matrices in gate order r, z, n:
//! ```text
//! r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//! z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//! The input side only ever sees one of 29 (encoder) or 74 (decoder) embeddings, so `load`
//! precomputes `W_i· x + b_i·` (plus `b_h·` for r and z) for every symbol as one candle matmul
//! (in f64, rounded once to f32); a step is then a row of that table, one 1 × 256 by 256 × 768
//! candle matmul for the hidden side, the gate arithmetic as tensor ops, and in the decoder the
//! 256 × 74 output layer. Weights are read through candle's safetensors loader.

use crate::neural::{ModelError, load_tensors};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// File name in the models folder.
pub const FILE: &str = "g2p_en.safetensors";

/// Input symbols: `<pad>`, `<unk>`, `</s>`, then `a`–`z`.
pub const GRAPHEMES: [&str; 29] = [
    "<pad>", "<unk>", "</s>", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
    "w", "x", "y", "z",
];

/// Output symbols in the model's order: four specials, then ARPAbet with stress digits (note
/// the package's list has a bare `UW` next to `UW0`–`UW2`).
pub const PHONEMES: [&str; 74] = [
    "<pad>", "<unk>", "<s>", "</s>", "AA0", "AA1", "AA2", "AE0", "AE1", "AE2", "AH0", "AH1", "AH2", "AO0", "AO1", "AO2", "AW0", "AW1", "AW2",
    "AY0", "AY1", "AY2", "B", "CH", "D", "DH", "EH0", "EH1", "EH2", "ER0", "ER1", "ER2", "EY0", "EY1", "EY2", "F", "G", "HH", "IH0", "IH1",
    "IH2", "IY0", "IY1", "IY2", "JH", "K", "L", "M", "N", "NG", "OW0", "OW1", "OW2", "OY0", "OY1", "OY2", "P", "R", "S", "SH", "T", "TH",
    "UH0", "UH1", "UH2", "UW", "UW0", "UW1", "UW2", "V", "W", "Y", "Z", "ZH",
];

/// Most phonemes one word can get (the package's decode loop length).
pub const MAX_STEPS: usize = 20;

const HIDDEN: usize = 256;
const EMBED: usize = 256;
const GATES: usize = 3 * HIDDEN;
const UNK: usize = 1;
const END_OF_WORD: usize = 2; // `</s>` among the graphemes
const START: usize = 2; // `<s>` among the phonemes
const END: usize = 3; // `</s>` among the phonemes

/// One GRU with its input side folded into a per-symbol table.
struct Gru {
    /// `[symbols, 3H]`: `W_ih e + b_ih`, with `b_hh` added to the r and z parts.
    input: Tensor,
    /// `[H, 3H]`: `W_hh` transposed, so a step is `h · w_hh_t`.
    w_hh_t: Tensor,
    /// `[1, H]`: `b_hn`, the part of `b_hh` that stays inside `r ⊙ (…)`.
    b_hn: Tensor,
}

impl Gru {
    /// One step from symbol `sym` and state `h` (`[1, H]`); returns the new state.
    fn step(&self, sym: usize, h: &Tensor) -> candle_core::Result<Tensor> {
        let gi = self.input.narrow(0, sym, 1)?;
        let gh = h.matmul(&self.w_hh_t)?;
        let rz = candle_nn::ops::sigmoid(&(gi.narrow(1, 0, 2 * HIDDEN)? + gh.narrow(1, 0, 2 * HIDDEN)?)?)?;
        let r = rz.narrow(1, 0, HIDDEN)?;
        let z = rz.narrow(1, HIDDEN, HIDDEN)?;
        let n = (gi.narrow(1, 2 * HIDDEN, HIDDEN)? + (r * (gh.narrow(1, 2 * HIDDEN, HIDDEN)? + &self.b_hn)?)?)?.tanh()?;
        (z.affine(-1.0, 1.0)? * n)? + (z * h)?
    }
}

/// The loaded g2p-en network; immutable, so one copy can serve every thread.
pub struct G2pEn {
    encoder: Gru,
    decoder: Gru,
    /// `[H, 74]`: the output layer transposed.
    fc_w_t: Tensor,
    /// `[1, 74]`.
    fc_b: Tensor,
}

fn take(t: &mut HashMap<String, Tensor>, path: &Path, name: &str, shape: &[usize]) -> Result<Tensor, ModelError> {
    crate::neural::take(t, path, name, Some(shape))
}

fn gru(t: &mut HashMap<String, Tensor>, path: &Path, prefix: &str, symbols: usize) -> Result<Gru, ModelError> {
    let emb = take(t, path, &format!("{prefix}_emb"), &[symbols, EMBED])?;
    let w_ih = take(t, path, &format!("{prefix}_w_ih"), &[GATES, EMBED])?;
    let w_hh = take(t, path, &format!("{prefix}_w_hh"), &[GATES, HIDDEN])?;
    let b_ih = take(t, path, &format!("{prefix}_b_ih"), &[GATES])?;
    let b_hh = take(t, path, &format!("{prefix}_b_hh"), &[GATES])?;
    // The table is summed in f64 and rounded once; b_hh joins it for the r and z gates only.
    let b_hh_rz = Tensor::cat(&[b_hh.narrow(0, 0, 2 * HIDDEN)?, Tensor::zeros(HIDDEN, DType::F32, &Device::Cpu)?], 0)?;
    let bias = (b_ih.to_dtype(DType::F64)? + b_hh_rz.to_dtype(DType::F64)?)?.unsqueeze(0)?;
    let input = emb.to_dtype(DType::F64)?.matmul(&w_ih.to_dtype(DType::F64)?.t()?)?.broadcast_add(&bias)?.to_dtype(DType::F32)?;
    Ok(Gru {
        input,
        w_hh_t: w_hh.t()?.contiguous()?,
        b_hn: b_hh.narrow(0, 2 * HIDDEN, HIDDEN)?.unsqueeze(0)?.contiguous()?,
    })
}

impl G2pEn {
    /// Loads `g2p_en.safetensors` and precomputes the input tables.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut t = load_tensors(path)?;
        Ok(Self {
            encoder: gru(&mut t, path, "enc", GRAPHEMES.len())?,
            decoder: gru(&mut t, path, "dec", PHONEMES.len())?,
            fc_w_t: take(&mut t, path, "fc_w", &[PHONEMES.len(), HIDDEN])?.t()?.contiguous()?,
            fc_b: take(&mut t, path, "fc_b", &[PHONEMES.len()])?.unsqueeze(0)?,
        })
    }

    /// The pronunciation of one word, as g2p_en's `predict` gives it: ARPAbet phonemes with
    /// stress digits, at most [`MAX_STEPS`]. Pass the word lower-cased (as g2p_en's front end
    /// does): any character other than `a`–`z` is read as `<unk>`.
    pub fn predict(&self, word: &str) -> Vec<&'static str> {
        self.run(word, |_| {}).expect("g2p-en: CPU tensor ops on shapes fixed at load")
    }

    /// The decoder's logits (74, in [`PHONEMES`] order) for the first `steps` greedy steps of
    /// `word` (fewer if the word ends sooner; the step that predicts `</s>` counts); for
    /// checking the port against a reference.
    pub fn logits(&self, word: &str, steps: usize) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        self.run(word, |logits| {
            if out.len() < steps {
                out.push(logits.to_vec());
            }
        })
        .expect("g2p-en: CPU tensor ops on shapes fixed at load");
        out
    }

    /// Encodes `word`, decodes greedily and returns the phonemes; `on_step` sees every
    /// decoder step's logits.
    fn run(&self, word: &str, mut on_step: impl FnMut(&[f32])) -> candle_core::Result<Vec<&'static str>> {
        let mut h = Tensor::zeros((1, HIDDEN), DType::F32, &Device::Cpu)?;
        let ids = word
            .chars()
            .map(|c| if c.is_ascii_lowercase() { 3 + (c as usize - 'a' as usize) } else { UNK })
            .chain(std::iter::once(END_OF_WORD));
        for id in ids {
            h = self.encoder.step(id, &h)?;
        }
        let mut out = Vec::new();
        let mut prev = START;
        for _ in 0..MAX_STEPS {
            h = self.decoder.step(prev, &h)?;
            let logits = h.matmul(&self.fc_w_t)?.broadcast_add(&self.fc_b)?.squeeze(0)?;
            let logits: Vec<f32> = logits.to_vec1()?;
            on_step(&logits);
            // The first maximum, as numpy's argmax.
            let best = (1..logits.len()).fold(0, |best, k| if logits[k] > logits[best] { k } else { best });
            if best == END {
                break;
            }
            out.push(PHONEMES[best]);
            prev = best;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_have_the_packages_special_ids() {
        assert_eq!(GRAPHEMES[UNK], "<unk>");
        assert_eq!(GRAPHEMES[END_OF_WORD], "</s>");
        assert_eq!(GRAPHEMES[3], "a");
        assert_eq!(GRAPHEMES[28], "z");
        assert_eq!(PHONEMES[START], "<s>");
        assert_eq!(PHONEMES[END], "</s>");
        assert_eq!(PHONEMES[PHONEMES.len() - 1], "ZH");
    }

    #[test]
    fn a_missing_file_says_so() {
        let err = G2pEn::load(Path::new("/nonexistent/g2p_en.safetensors")).err().unwrap();
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    }
}
