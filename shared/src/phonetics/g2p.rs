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
//! precomputes `W_i· x + b_i·` (plus `b_h·` for r and z) for every symbol; a step is then one
//! 768 × 256 matrix–vector product (plus the 74 × 256 output layer in the decoder), done in
//! plain f32 loops, which for matrices this small beats per-step candle ops. Weights are read
//! through candle's safetensors loader.

use crate::neural::{ModelError, load_tensors};
use candle_core::Tensor;
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
    /// `[symbols][3H]`: `W_ih e + b_ih`, with `b_hh` added to the r and z parts.
    input: Vec<f32>,
    /// `[3H][H]`, row-major.
    w_hh: Vec<f32>,
    /// `b_hn`, the part of `b_hh` that stays inside `r ⊙ (…)`.
    b_hn: Vec<f32>,
}

impl Gru {
    /// One step from symbol `sym` and state `h` (updated in place).
    fn step(&self, sym: usize, h: &mut [f32; HIDDEN], gh: &mut [f32; GATES]) {
        for (g, row) in gh.iter_mut().zip(self.w_hh.chunks_exact(HIDDEN)) {
            *g = dot(row, h);
        }
        let gi = &self.input[sym * GATES..(sym + 1) * GATES];
        for j in 0..HIDDEN {
            let r = sigmoid(gi[j] + gh[j]);
            let z = sigmoid(gi[HIDDEN + j] + gh[HIDDEN + j]);
            let n = (gi[2 * HIDDEN + j] + r * (gh[2 * HIDDEN + j] + self.b_hn[j])).tanh();
            h[j] = (1.0 - z) * n + z * h[j];
        }
    }
}

/// The loaded g2p-en network; immutable, so one copy can serve every thread.
pub struct G2pEn {
    encoder: Gru,
    decoder: Gru,
    /// `[74][H]`, row-major.
    fc_w: Vec<f32>,
    fc_b: Vec<f32>,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Dot product in 8 independent lanes (vectorises; the lanes are summed at the end).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

fn take(t: &mut HashMap<String, Tensor>, path: &Path, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
    Ok(crate::neural::take(t, path, name, Some(shape))?.flatten_all()?.to_vec1::<f32>()?)
}

fn gru(t: &mut HashMap<String, Tensor>, path: &Path, prefix: &str, symbols: usize) -> Result<Gru, ModelError> {
    let emb = take(t, path, &format!("{prefix}_emb"), &[symbols, EMBED])?;
    let w_ih = take(t, path, &format!("{prefix}_w_ih"), &[GATES, EMBED])?;
    let w_hh = take(t, path, &format!("{prefix}_w_hh"), &[GATES, HIDDEN])?;
    let b_ih = take(t, path, &format!("{prefix}_b_ih"), &[GATES])?;
    let b_hh = take(t, path, &format!("{prefix}_b_hh"), &[GATES])?;
    // The table is summed in f64 and rounded once.
    let mut input = Vec::with_capacity(symbols * GATES);
    for e in emb.chunks_exact(EMBED) {
        for (j, row) in w_ih.chunks_exact(EMBED).enumerate() {
            let mut s = b_ih[j] as f64 + row.iter().zip(e).map(|(w, x)| *w as f64 * *x as f64).sum::<f64>();
            if j < 2 * HIDDEN {
                s += b_hh[j] as f64;
            }
            input.push(s as f32);
        }
    }
    Ok(Gru { input, w_hh, b_hn: b_hh[2 * HIDDEN..].to_vec() })
}

impl G2pEn {
    /// Loads `g2p_en.safetensors` and precomputes the input tables.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let mut t = load_tensors(path)?;
        Ok(Self {
            encoder: gru(&mut t, path, "enc", GRAPHEMES.len())?,
            decoder: gru(&mut t, path, "dec", PHONEMES.len())?,
            fc_w: take(&mut t, path, "fc_w", &[PHONEMES.len(), HIDDEN])?,
            fc_b: take(&mut t, path, "fc_b", &[PHONEMES.len()])?,
        })
    }

    /// The pronunciation of one word, as g2p_en's `predict` gives it: ARPAbet phonemes with
    /// stress digits, at most [`MAX_STEPS`]. Pass the word lower-cased (as g2p_en's front end
    /// does): any character other than `a`–`z` is read as `<unk>`.
    pub fn predict(&self, word: &str) -> Vec<&'static str> {
        self.run(word, |_| {})
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
        });
        out
    }

    /// Encodes `word`, decodes greedily and returns the phonemes; `on_step` sees every
    /// decoder step's logits.
    fn run(&self, word: &str, mut on_step: impl FnMut(&[f32])) -> Vec<&'static str> {
        let mut h = [0.0f32; HIDDEN];
        let mut gh = [0.0f32; GATES];
        let ids = word
            .chars()
            .map(|c| if c.is_ascii_lowercase() { 3 + (c as usize - 'a' as usize) } else { UNK })
            .chain(std::iter::once(END_OF_WORD));
        for id in ids {
            self.encoder.step(id, &mut h, &mut gh);
        }
        let mut out = Vec::new();
        let mut logits = [0.0f32; PHONEMES.len()];
        let mut prev = START;
        for _ in 0..MAX_STEPS {
            self.decoder.step(prev, &mut h, &mut gh);
            for (k, (l, row)) in logits.iter_mut().zip(self.fc_w.chunks_exact(HIDDEN)).enumerate() {
                *l = dot(row, &h) + self.fc_b[k];
            }
            on_step(&logits);
            // The first maximum, as numpy's argmax.
            let best = (1..logits.len()).fold(0, |best, k| if logits[k] > logits[best] { k } else { best });
            if best == END {
                break;
            }
            out.push(PHONEMES[best]);
            prev = best;
        }
        out
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
    fn dot_sums_every_lane() {
        let a: Vec<f32> = (0..HIDDEN).map(|k| k as f32).collect();
        let b = vec![1.0f32; HIDDEN];
        assert_eq!(dot(&a, &b), (HIDDEN * (HIDDEN - 1) / 2) as f32);
    }

    #[test]
    fn a_missing_file_says_so() {
        let err = G2pEn::load(Path::new("/nonexistent/g2p_en.safetensors")).err().unwrap();
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
    }
}
