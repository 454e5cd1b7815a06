//! Building blocks shared by Kokoro's encoder, prosody predictor and decoder. Sequences are
//! `[1, channels, time]` for convolutions and `[time, channels]` for LSTMs and linear layers.

use super::super::ModelError;
use super::weights::Weights;
use candle_core::{D, Tensor};

type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn leaky_relu(x: &Tensor, slope: f64) -> Result<Tensor> {
    // max(x, slope·x) for 0 < slope < 1.
    Ok(x.maximum(&x.affine(slope, 0.0)?)?)
}

/// Normalises over the last dimension (no affine part).
pub(crate) fn norm_last(x: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(xc.broadcast_div(&(var + eps)?.sqrt()?)?)
}

/// A linear layer stored as ONNX MatMul weights `[in, out]` plus bias.
pub(crate) struct Linear {
    w: Tensor,
    b: Option<Tensor>,
}

impl Linear {
    pub fn new(w: Tensor, b: Option<Tensor>) -> Self {
        Self { w, b }
    }

    /// `x`: `[rows, in]` → `[rows, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.matmul(&self.w)?;
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// 1-d convolution with symmetric zero padding.
pub(crate) struct Conv {
    w: Tensor,
    b: Option<Tensor>,
    padding: usize,
    stride: usize,
    dilation: usize,
}

impl Conv {
    pub fn new(w: Tensor, b: Option<Tensor>, padding: usize, stride: usize, dilation: usize) -> Result<Self> {
        let b = match b {
            Some(b) => {
                let n = b.elem_count();
                Some(b.reshape((1, n, 1))?)
            }
            None => None,
        };
        Ok(Self { w, b, padding, stride, dilation })
    }

    /// "Same" convolution of odd kernel `k` with dilation `d`.
    pub fn same(w: Tensor, b: Option<Tensor>, dilation: usize) -> Result<Self> {
        let k = w.dim(2)?;
        Self::new(w, b, dilation * (k - 1) / 2, 1, dilation)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.conv1d(&self.w, self.padding, self.stride, self.dilation, 1)?;
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// Bidirectional single-layer LSTM in ONNX layout (gates i, o, f, c; `W` `[2, in, 4H]`,
/// `R` `[2, H, 4H]`, `B` `[2, 8H]` = input bias then recurrent bias). Zero initial state.
pub(crate) struct Lstm {
    w: [Tensor; 2],
    b: [Tensor; 2],
    r: [Vec<f32>; 2],
    hidden: usize,
}

impl Lstm {
    pub fn load(wt: &Weights, node: &str) -> Result<Self> {
        let consumer = format!("DynamicQuantizeLSTM {node}/LSTM_quant");
        let hidden = 256;
        let b = wt.used_by(&consumer, |d| d.len() == 2 && d[0] == 2 && d[1] == 8 * hidden)?;
        let r = wt.used_by(&consumer, |d| d.len() == 3 && d[1] == hidden && d[2] == 4 * hidden)?;
        let w = wt.used_by(&consumer, |d| d.len() == 3 && d[1] != hidden && d[1] != 1 && d[2] == 4 * hidden)?;
        let dir = |t: &Tensor, i: usize| t.get(i);
        let bias = |i: usize| -> Result<Tensor> {
            let bi = dir(&b, i)?;
            Ok((bi.narrow(0, 0, 4 * hidden)? + bi.narrow(0, 4 * hidden, 4 * hidden)?)?)
        };
        Ok(Self {
            w: [dir(&w, 0)?, dir(&w, 1)?],
            b: [bias(0)?, bias(1)?],
            r: [dir(&r, 0)?.flatten_all()?.to_vec1()?, dir(&r, 1)?.flatten_all()?.to_vec1()?],
            hidden,
        })
    }

    /// `x`: `[T, in]` → `[T, 2H]` (forward outputs, then backward outputs).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t_len = x.dim(0)?;
        let h_n = self.hidden;
        let g_n = 4 * h_n;
        let mut out = vec![0f32; t_len * 2 * h_n];
        for dir in 0..2 {
            let xw: Vec<f32> = x.matmul(&self.w[dir])?.broadcast_add(&self.b[dir])?.flatten_all()?.to_vec1()?;
            let r = &self.r[dir];
            let mut h = vec![0f32; h_n];
            let mut c = vec![0f32; h_n];
            let mut g = vec![0f32; g_n];
            for step in 0..t_len {
                let t = if dir == 0 { step } else { t_len - 1 - step };
                g.copy_from_slice(&xw[t * g_n..(t + 1) * g_n]);
                for (k, &hk) in h.iter().enumerate() {
                    if hk != 0.0 {
                        let row = &r[k * g_n..(k + 1) * g_n];
                        for (gj, &rj) in g.iter_mut().zip(row) {
                            *gj += hk * rj;
                        }
                    }
                }
                let o_row = &mut out[t * 2 * h_n + dir * h_n..t * 2 * h_n + (dir + 1) * h_n];
                for j in 0..h_n {
                    let i = sigmoid(g[j]);
                    let o = sigmoid(g[h_n + j]);
                    let f = sigmoid(g[2 * h_n + j]);
                    let cc = g[3 * h_n + j].tanh();
                    c[j] = f * c[j] + i * cc;
                    h[j] = o * c[j].tanh();
                    o_row[j] = h[j];
                }
            }
        }
        Ok(Tensor::from_vec(out, (t_len, 2 * h_n), x.device())?)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Style-conditioned instance norm: `(1 + γ(s))·IN(x) + β(s)`, ε = 1e-5, statistics over time.
pub(crate) struct AdaIn {
    fc: Linear,
    channels: usize,
}

impl AdaIn {
    pub fn load(wt: &Weights, sd: &str, channels: usize) -> Result<Self> {
        let w = wt.named(&format!("{sd}.fc.weight"), Some(&[128, 2 * channels]))?;
        let b = wt.named(&format!("{sd}.fc.bias"), Some(&[2 * channels]))?;
        Ok(Self { fc: Linear::new(w, Some(b)), channels })
    }

    /// `x` `[1, C, T]`, `s` `[1, 128]`.
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let h = self.fc.forward(s)?; // [1, 2C]
        let gamma = (h.narrow(1, 0, self.channels)?.reshape((1, self.channels, 1))? + 1.0)?;
        let beta = h.narrow(1, self.channels, self.channels)?.reshape((1, self.channels, 1))?;
        Ok(norm_last(x, 1e-5)?.broadcast_mul(&gamma)?.broadcast_add(&beta)?)
    }
}

/// StyleTTS 2's `AdainResBlk1d`: AdaIN → LeakyReLU 0.2 → (depthwise transposed-conv ×2
/// upsampling) → conv 3 → AdaIN → LeakyReLU → conv 3, plus a shortcut (nearest ×2, 1×1 conv when
/// the width changes), summed and divided by √2.
pub(crate) struct AdainResBlk {
    norm1: AdaIn,
    norm2: AdaIn,
    conv1: Conv,
    conv2: Conv,
    conv1x1: Option<Conv>,
    /// Depthwise `ConvTranspose1d(k 3, stride 2, padding 1, output padding 1)`: taps
    /// `[1, C, 1]` ×3 and bias `[1, C, 1]`.
    pool: Option<([Tensor; 3], Tensor)>,
}

impl AdainResBlk {
    /// `node`: the ONNX node path (`/encoder/F0.1`); `sd`: the state-dict prefix.
    pub fn load(wt: &Weights, node: &str, sd: &str, dim_in: usize, dim_out: usize, upsample: bool) -> Result<Self> {
        let conv = |name: &str| wt.kernel(&format!("ConvInteger {node}/{name}/Conv_quant"));
        let bias = |name: &str| wt.named(&format!("{sd}.{name}.bias"), None);
        let pool = if upsample {
            let w = wt.kernel(&format!("ConvTranspose {node}/pool/ConvTranspose"))?; // [C, 1, 3]
            let tap = |k: usize| -> Result<Tensor> { Ok(w.narrow(2, k, 1)?.reshape((1, dim_in, 1))?) };
            Some(([tap(0)?, tap(1)?, tap(2)?], bias("pool")?.reshape((1, dim_in, 1))?))
        } else {
            None
        };
        Ok(Self {
            norm1: AdaIn::load(wt, &format!("{sd}.norm1"), dim_in)?,
            norm2: AdaIn::load(wt, &format!("{sd}.norm2"), dim_out)?,
            conv1: Conv::same(conv("conv1")?, Some(bias("conv1")?), 1)?,
            conv2: Conv::same(conv("conv2")?, Some(bias("conv2")?), 1)?,
            conv1x1: if dim_in != dim_out { Some(Conv::same(conv("conv1x1")?, None, 1)?) } else { None },
            pool,
        })
    }

    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let mut r = leaky_relu(&self.norm1.forward(x, s)?, 0.2)?;
        if let Some((w, b)) = &self.pool {
            r = depthwise_up2(&r, w, b)?;
        }
        r = self.conv1.forward(&r)?;
        r = leaky_relu(&self.norm2.forward(&r, s)?, 0.2)?;
        r = self.conv2.forward(&r)?;
        let mut sc = if self.pool.is_some() { nearest_up2(x)? } else { x.clone() };
        if let Some(c) = &self.conv1x1 {
            sc = c.forward(&sc)?;
        }
        Ok(((r + sc)? / std::f64::consts::SQRT_2)?)
    }
}

/// `y[2i] = w1·x[i]`, `y[2i+1] = w2·x[i] + w0·x[i+1]` (+ bias): the depthwise transposed
/// convolution (kernel 3, stride 2, padding 1, output padding 1).
fn depthwise_up2(x: &Tensor, w: &[Tensor; 3], b: &Tensor) -> Result<Tensor> {
    let (n, c, t) = x.dims3()?;
    let next = Tensor::cat(&[x.narrow(2, 1, t - 1)?, x.narrow(2, 0, 1)?.zeros_like()?], 2)?;
    let even = x.broadcast_mul(&w[1])?;
    let odd = (x.broadcast_mul(&w[2])? + next.broadcast_mul(&w[0])?)?;
    let y = Tensor::stack(&[even, odd], 3)?.reshape((n, c, 2 * t))?;
    Ok(y.broadcast_add(b)?)
}

/// Nearest-neighbour ×2 along time.
pub(crate) fn nearest_up2(x: &Tensor) -> Result<Tensor> {
    let (n, c, t) = x.dims3()?;
    Ok(x.unsqueeze(3)?.broadcast_as((n, c, t, 2))?.reshape((n, c, 2 * t))?)
}

/// iSTFTNet's `AdaINResBlock1`: three rounds of AdaIN → Snake → dilated conv → AdaIN → Snake →
/// conv, each added back to its input. Snake: `x + sin²(αx)/α`.
pub(crate) struct AdaInResBlock1 {
    rounds: Vec<Round>,
}

struct Round {
    n1: AdaIn,
    n2: AdaIn,
    a1: (Tensor, Tensor),
    a2: (Tensor, Tensor),
    c1: Conv,
    c2: Conv,
}

impl AdaInResBlock1 {
    pub fn load(wt: &Weights, node: &str, sd: &str, channels: usize) -> Result<Self> {
        let mut rounds = Vec::new();
        for (j, dil) in [1usize, 3, 5].into_iter().enumerate() {
            let conv = |name: &str, d: usize| -> Result<Conv> {
                let w = wt.kernel(&format!("ConvInteger {node}/{name}.{j}/Conv_quant"))?;
                let b = wt.named(&format!("{sd}.{name}.{j}.bias"), Some(&[channels]))?;
                Conv::same(w, Some(b), d)
            };
            let alpha = |name: &str| -> Result<(Tensor, Tensor)> {
                let a = wt.named(&format!("{sd}.{name}.{j}"), Some(&[1, channels, 1]))?;
                let inv = a.recip()?;
                Ok((a, inv))
            };
            rounds.push(Round {
                n1: AdaIn::load(wt, &format!("{sd}.adain1.{j}"), channels)?,
                n2: AdaIn::load(wt, &format!("{sd}.adain2.{j}"), channels)?,
                a1: alpha("alpha1")?,
                a2: alpha("alpha2")?,
                c1: conv("convs1", dil)?,
                c2: conv("convs2", 1)?,
            });
        }
        Ok(Self { rounds })
    }

    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for r in &self.rounds {
            let mut xt = snake(&r.n1.forward(&x, s)?, &r.a1)?;
            xt = r.c1.forward(&xt)?;
            xt = snake(&r.n2.forward(&xt, s)?, &r.a2)?;
            xt = r.c2.forward(&xt)?;
            x = (xt + x)?;
        }
        Ok(x)
    }
}

fn snake(x: &Tensor, (a, inv): &(Tensor, Tensor)) -> Result<Tensor> {
    Ok((x + x.broadcast_mul(a)?.sin()?.sqr()?.broadcast_mul(inv)?)?)
}
