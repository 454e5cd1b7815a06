//! Building blocks shared by Kokoro's encoder, prosody predictor and decoder. Sequences are
//! `[1, channels, time]` for convolutions and `[time, channels]` for LSTMs and linear layers.

use super::super::ModelError;
use super::weights::{IntKernel, Weights};
use crate::neural::qconv::{self, QConv1d, round_half_even};
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
    /// The same convolution in 8-bit integers, as onnxruntime runs it, when the weights allow.
    q: Option<QConv1d>,
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
        Ok(Self { w, b, padding, stride, dilation, q: None })
    }

    /// Runs this convolution in 8-bit integers (onnxruntime's `DynamicQuantizeLinear →
    /// ConvInteger`) when `int` holds its integer kernel and the shape fits the kernel.
    pub fn with_int8(mut self, int: Option<IntKernel>) -> Result<Self> {
        if let Some(IntKernel { w, dims, scale }) = int
            && self.stride == 1
        {
            let bias = match &self.b {
                Some(b) => Some(b.flatten_all()?.to_vec1()?),
                None => None,
            };
            self.q = QConv1d::new(&w, dims, scale, bias, self.padding, self.dilation);
        }
        Ok(self)
    }

    /// "Same" convolution of odd kernel `k` with dilation `d`.
    pub fn same(w: Tensor, b: Option<Tensor>, dilation: usize) -> Result<Self> {
        let k = w.dim(2)?;
        Self::new(w, b, dilation * (k - 1) / 2, 1, dilation)
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(q) = &self.q {
            let (_, cin, t) = x.dims3()?;
            let y = q.forward(x.flatten_all()?.to_vec1()?, t);
            let cout = q.channels().1;
            debug_assert_eq!(cin, q.channels().0);
            let t_out = y.len() / cout;
            return Ok(Tensor::from_vec(y, (1, cout, t_out), x.device())?);
        }
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
        // The decoder's blocks (1,024 wide at up to 160 frames a second) run in 8 bits when the
        // generator does; the prosody predictor's stay float, so F0 and energy are the float
        // graph's.
        let int = |name: &str| -> Result<Option<IntKernel>> {
            if node.starts_with("/decoder/") { wt.kernel_int(&format!("ConvInteger {node}/{name}/Conv_quant")) } else { Ok(None) }
        };
        Ok(Self {
            norm1: AdaIn::load(wt, &format!("{sd}.norm1"), dim_in)?,
            norm2: AdaIn::load(wt, &format!("{sd}.norm2"), dim_out)?,
            conv1: Conv::same(conv("conv1")?, Some(bias("conv1")?), 1)?.with_int8(int("conv1")?)?,
            conv2: Conv::same(conv("conv2")?, Some(bias("conv2")?), 1)?.with_int8(int("conv2")?)?,
            conv1x1: if dim_in != dim_out { Some(Conv::same(conv("conv1x1")?, None, 1)?.with_int8(int("conv1x1")?)?) } else { None },
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
///
/// The generator runs these at up to 4,800 frames a second of audio, so the block works on
/// plain `[C, T]` buffers: AdaIN and Snake are one pass ([`adain_snake_in_place`]) instead of a dozen
/// tensor ops each allocating a tensor, and the convolutions take the buffer as it is.
pub(crate) struct AdaInResBlock1 {
    rounds: Vec<Round>,
}

struct Round {
    n1: AdaIn,
    n2: AdaIn,
    /// Snake's α and 1/α per channel.
    a1: (Vec<f32>, Vec<f32>),
    a2: (Vec<f32>, Vec<f32>),
    c1: Conv,
    c2: Conv,
}

impl AdaInResBlock1 {
    pub fn load(wt: &Weights, node: &str, sd: &str, channels: usize) -> Result<Self> {
        let mut rounds = Vec::new();
        for (j, dil) in [1usize, 3, 5].into_iter().enumerate() {
            let conv = |name: &str, d: usize| -> Result<Conv> {
                let consumer = format!("ConvInteger {node}/{name}.{j}/Conv_quant");
                let b = wt.named(&format!("{sd}.{name}.{j}.bias"), Some(&[channels]))?;
                Conv::same(wt.kernel(&consumer)?, Some(b), d)?.with_int8(wt.kernel_int(&consumer)?)
            };
            let alpha = |name: &str| -> Result<(Vec<f32>, Vec<f32>)> {
                let a = wt.named(&format!("{sd}.{name}.{j}"), Some(&[1, channels, 1]))?;
                Ok((a.flatten_all()?.to_vec1()?, a.recip()?.flatten_all()?.to_vec1()?))
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
        let (_, c, t) = x.dims3()?;
        let mut x: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let dev = s.device();
        // One working buffer for the block: AdaIN+Snake run in place and the convolutions write
        // into their input's allocation.
        let mut xt = x.clone();
        for r in &self.rounds {
            let (g, b) = r.n1.gamma_beta(s)?;
            xt.copy_from_slice(&x);
            adain_snake_in_place(&mut xt, t, &g, &b, &r.a1);
            xt = r.c1.forward_same(xt, c, t, dev)?;
            let (g, b) = r.n2.gamma_beta(s)?;
            adain_snake_in_place(&mut xt, t, &g, &b, &r.a2);
            xt = r.c2.forward_same(xt, c, t, dev)?;
            for (a, h) in x.iter_mut().zip(&xt) {
                *a += h;
            }
        }
        Ok(Tensor::from_vec(x, (1, c, t), dev)?)
    }
}

impl Conv {
    /// A "same" convolution (`cin` = `cout` = `c`, length kept) on a `[c, t]` buffer.
    fn forward_same(&self, x: Vec<f32>, c: usize, t: usize, dev: &candle_core::Device) -> Result<Vec<f32>> {
        let y = match &self.q {
            Some(q) => q.forward(x, t),
            None => self.forward(&Tensor::from_vec(x, (1, c, t), dev)?)?.flatten_all()?.to_vec1()?,
        };
        debug_assert_eq!(y.len(), c * t);
        Ok(y)
    }
}

impl AdaIn {
    /// `(1 + γ(s), β(s))` per channel.
    fn gamma_beta(&self, s: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
        let h: Vec<f32> = self.fc.forward(s)?.flatten_all()?.to_vec1()?;
        let (g, b) = h.split_at(self.channels);
        Ok((g.iter().map(|v| v + 1.0).collect(), b.to_vec()))
    }
}

/// [`adain_snake_in_place`] into a new buffer.
#[cfg(test)]
pub(crate) fn adain_snake(x: &[f32], t: usize, gamma: &[f32], beta: &[f32], alpha: &(Vec<f32>, Vec<f32>)) -> Vec<f32> {
    let mut out = x.to_vec();
    adain_snake_in_place(&mut out, t, gamma, beta, alpha);
    out
}

/// AdaIN (instance norm over time, ε = 1e-5, then `γ·x + β`) and Snake (`x + sin²(αx)/α`) of a
/// `[C, T]` buffer, in place, channel by channel. Written so the compiler vectorises it (lane-wise partial
/// sums, a branch-free sine); the AVX-512 build of the same code gives the same bits, since it
/// uses the same operations in the same order.
pub(crate) fn adain_snake_in_place(x: &mut [f32], t: usize, gamma: &[f32], beta: &[f32], (alpha, inv): &(Vec<f32>, Vec<f32>)) {
    #[cfg(target_arch = "x86_64")]
    let avx512 = qconv::avx512();
    let row = |(c, row): (usize, &mut [f32])| {
        let p = (gamma[c], beta[c], alpha[c], inv[c]);
        #[cfg(target_arch = "x86_64")]
        if avx512 {
            // SAFETY: `qconv::avx512()` checked the CPU.
            unsafe { adain_snake_row_avx512(row, p) };
            return;
        }
        adain_snake_row(row, p);
    };
    if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        x.par_chunks_mut(t).enumerate().for_each(row);
    } else {
        x.chunks_mut(t).enumerate().for_each(row);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn adain_snake_row_avx512(row: &mut [f32], p: (f32, f32, f32, f32)) {
    adain_snake_row(row, p)
}

/// One channel, in place: `p` = (1 + γ, β, α, 1/α). The statistics are taken first, then each
/// value depends only on itself.
#[inline(always)]
fn adain_snake_row(row: &mut [f32], (g, b, a, ia): (f32, f32, f32, f32)) {
    let t = row.len();
    let mean = lane_sum(row, |v| v) / t as f32;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / t as f32;
    let inv_std = 1.0 / (var + 1e-5).sqrt();
    // Largest |αx| as bits: for non-negative floats the bit patterns order as the values (NaN
    // above infinity), and an integer maximum vectorises where a float one does not.
    let mut far = 0u32;
    for v in row.iter() {
        let z = ((v - mean) * inv_std * g + b) * a;
        far = far.max(z.abs().to_bits());
    }
    if far >= SIN_SQUARED_RANGE.to_bits() {
        // Beyond the fast reduction's range (never in practice), or NaN: the library sine.
        for v in row.iter_mut() {
            let n = (*v - mean) * inv_std * g + b;
            let s = (n * a).sin();
            *v = n + s * s * ia;
        }
        return;
    }
    for v in row.iter_mut() {
        let n = (*v - mean) * inv_std * g + b;
        *v = n + sin_squared(n * a) * ia;
    }
}

/// Σ f(v) with 16 partial sums, so it vectorises and its order is fixed.
#[inline(always)]
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 16];
    let mut chunks = row.chunks_exact(16);
    for ch in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(ch) {
            *a += f(v);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    acc.iter().sum()
}

/// |z| below which [`sin_squared`] is accurate to a few ulp.
const SIN_SQUARED_RANGE: f32 = 8192.0;

/// sin²(z) for |z| < 8192 without a library call: sin² has period π, so `z` is reduced to
/// `r ∈ [−π/2, π/2]` (π split in three for the reduction, Cody–Waite) and sin(r) is its Taylor
/// series to r¹³ (truncation below 1e-9 there).
#[inline(always)]
pub(crate) fn sin_squared(z: f32) -> f32 {
    const P1: f32 = 3.140625;
    const P2: f32 = 9.675_026e-4;
    const P3: f32 = 1.509_958e-7;
    let k = round_half_even(z * std::f32::consts::FRAC_1_PI);
    let r = ((z - k * P1) - k * P2) - k * P3;
    let r2 = r * r;
    let p = 1.0 / 6_227_020_800.0;
    let p = p * r2 - 1.0 / 39_916_800.0;
    let p = p * r2 + 1.0 / 362_880.0;
    let p = p * r2 - 1.0 / 5_040.0;
    let p = p * r2 + 1.0 / 120.0;
    let p = p * r2 - 1.0 / 6.0;
    let s = r + r * r2 * p;
    s * s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_squared_matches_the_library_sine() {
        let mut worst = 0f32;
        let mut z = -SIN_SQUARED_RANGE + 0.37;
        while z < SIN_SQUARED_RANGE {
            let want = {
                let s = (z as f64).sin();
                (s * s) as f32
            };
            worst = worst.max((sin_squared(z) - want).abs());
            z += if z.abs() < 20.0 { 0.0007 } else { 0.61 };
        }
        // The reduction's error grows with |z|: k·π to f32 precision.
        assert!(worst < 2e-6, "worst absolute error {worst:e}");
    }

    #[test]
    fn adain_snake_equals_the_tensor_ops() {
        let (c, t) = (3, 1000);
        let x: Vec<f32> = (0..c * t).map(|i| ((i * 7919) % 1000) as f32 / 300.0 - 1.3).collect();
        let gamma = vec![1.2f32, 0.7, 1.0];
        let beta = vec![0.1f32, -0.3, 0.0];
        let alpha = (vec![0.9f32, 3.0, 12.0], vec![1.0 / 0.9f32, 1.0 / 3.0, 1.0 / 12.0]);
        let got = adain_snake(&x, t, &gamma, &beta, &alpha);
        let dev = candle_core::Device::Cpu;
        let xt = Tensor::from_vec(x.clone(), (1, c, t), &dev).unwrap();
        let g = Tensor::from_vec(gamma, (1, c, 1), &dev).unwrap();
        let b = Tensor::from_vec(beta, (1, c, 1), &dev).unwrap();
        let a = Tensor::from_vec(alpha.0.clone(), (1, c, 1), &dev).unwrap();
        let ia = Tensor::from_vec(alpha.1.clone(), (1, c, 1), &dev).unwrap();
        let n = norm_last(&xt, 1e-5).unwrap().broadcast_mul(&g).unwrap().broadcast_add(&b).unwrap();
        let want: Vec<f32> = (&n + n.broadcast_mul(&a).unwrap().sin().unwrap().sqr().unwrap().broadcast_mul(&ia).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 2e-5, "worst {worst:e}");
    }
}
