//! Kokoro's decoder: StyleTTS 2's AdaIN decoder followed by the iSTFTNet generator with its
//! harmonic-plus-noise source, as the v1.0 ONNX export computes them.
//!
//! Source as exported: the PyTorch model's random initial phases and additive noise are absent
//! from the ONNX graph (no random op), so the harmonic source is deterministic: nine harmonics
//! of the F0 curve, phases accumulated at the F0 frame rate and interpolated linearly to the
//! sample rate, zero where F0 ≤ 10 Hz, mixed by a linear layer and tanh. Its STFT (n_fft 20,
//! hop 5, periodic Hann, reflect-padded by 10) gives magnitude and phase; the generator ends in
//! 11 log-magnitudes and 11 phase logits, inverted by the exporter's transposed-convolution iSTFT.

use super::super::ModelError;
use super::layers::{AdaInResBlock1, AdainResBlk, Conv, leaky_relu};
use super::weights::Weights;
use candle_core::{Device, Tensor};

type Result<T> = std::result::Result<T, ModelError>;

/// Audio samples per F0 value (F0 runs at twice the duration-frame rate).
pub(crate) const SAMPLES_PER_F0: usize = 300;
const SAMPLE_RATE: f32 = 24_000.0;
const N_FFT: usize = 20;
const HOP: usize = 5;
const BINS: usize = N_FFT / 2 + 1;

pub(crate) struct Decoder {
    f0_conv: Conv,
    n_conv: Conv,
    asr_res: Conv,
    encode: AdainResBlk,
    decode: Vec<AdainResBlk>,
    generator: Generator,
}

impl Decoder {
    pub fn load(wt: &Weights) -> Result<Self> {
        let node = "/decoder/decoder";
        let sd = "decoder.decoder";
        let small = |name: &str, stride: usize| -> Result<Conv> {
            let w = wt.kernel(&format!("ConvInteger {node}/{name}/Conv_quant"))?;
            let b = wt.named(&format!("{sd}.{name}.bias"), Some(&[1]))?;
            Conv::new(w, Some(b), 1, stride, 1)
        };
        let mut decode = Vec::new();
        for i in 0..4 {
            let out = if i == 3 { 512 } else { 1024 };
            decode.push(AdainResBlk::load(wt, &format!("{node}/decode.{i}"), &format!("{sd}.decode.{i}"), 1090, out, i == 3)?);
        }
        Ok(Self {
            f0_conv: small("F0_conv", 2)?,
            n_conv: small("N_conv", 2)?,
            asr_res: Conv::new(
                wt.kernel(&format!("ConvInteger {node}/asr_res/asr_res.0/Conv_quant"))?,
                Some(wt.named(&format!("{sd}.asr_res.0.bias"), Some(&[64]))?),
                0,
                1,
                1,
            )?,
            encode: AdainResBlk::load(wt, &format!("{node}/encode"), &format!("{sd}.encode"), 514, 1024, false)?,
            decode,
            generator: Generator::load(wt)?,
        })
    }

    /// `asr` `[1, 512, F]` (text features per frame), `f0`/`energy` of length 2F, `s` `[1, 128]`.
    pub fn forward(&self, asr: &Tensor, f0: &[f32], energy: &[f32], s: &Tensor) -> Result<Vec<f32>> {
        let dev = asr.device();
        let f0_t = Tensor::from_slice(f0, (1, 1, f0.len()), dev)?;
        let n_t = Tensor::from_slice(energy, (1, 1, energy.len()), dev)?;
        let f0_d = self.f0_conv.forward(&f0_t)?;
        let n_d = self.n_conv.forward(&n_t)?;
        let mut x = self.encode.forward(&Tensor::cat(&[asr, &f0_d, &n_d], 1)?, s)?;
        let asr_res = self.asr_res.forward(asr)?;
        for block in &self.decode {
            x = block.forward(&Tensor::cat(&[&x, &asr_res, &f0_d, &n_d], 1)?, s)?;
        }
        self.generator.forward(&x, s, f0)
    }
}

struct Generator {
    harmonic_w: Vec<f32>,
    harmonic_b: f32,
    window: Vec<f32>,
    noise_convs: [Conv; 2],
    noise_res: [AdaInResBlock1; 2],
    ups: [(Tensor, Tensor); 2],
    resblocks: Vec<AdaInResBlock1>,
    conv_post: Conv,
    inverse_basis: Tensor,
    window_sum: Vec<f32>,
}

impl Generator {
    fn load(wt: &Weights) -> Result<Self> {
        let node = "/decoder/decoder/generator";
        let sd = "decoder.decoder.generator";
        let harmonic_w = wt.used_by(&format!("MatMul {node}/m_source/l_linear/MatMul"), |d| d == [9, 1])?.flatten_all()?.to_vec1()?;
        let harmonic_b = wt.named(&format!("{sd}.m_source.l_linear.bias"), Some(&[1]))?.to_vec1::<f32>()?[0];
        let window = wt.named(&format!("{node}/Constant_17_output_0"), Some(&[N_FFT]))?.to_vec1()?;
        let noise_conv = |i: usize, padding: usize, stride: usize| -> Result<Conv> {
            Conv::new(
                wt.named(&format!("{sd}.noise_convs.{i}.weight"), None)?,
                Some(wt.named(&format!("{sd}.noise_convs.{i}.bias"), None)?),
                padding,
                stride,
                1,
            )
        };
        let ups = |i: usize| -> Result<(Tensor, Tensor)> {
            let w = wt.kernel(&format!("ConvTranspose {node}/ups.{i}/ConvTranspose"))?;
            let b = wt.named(&format!("{sd}.ups.{i}.bias"), None)?;
            let n = b.elem_count();
            Ok((w, b.reshape((1, n, 1))?))
        };
        let mut resblocks = Vec::new();
        for i in 0..6 {
            let ch = if i < 3 { 256 } else { 128 };
            resblocks.push(AdaInResBlock1::load(wt, &format!("{node}/resblocks.{i}"), &format!("{sd}.resblocks.{i}"), ch)?);
        }
        Ok(Self {
            harmonic_w,
            harmonic_b,
            window,
            // stride 6 = the second upsampling rate; kernel 12, padding (6 + 1) / 2.
            noise_convs: [noise_conv(0, 3, 6)?, noise_conv(1, 0, 1)?],
            noise_res: [
                AdaInResBlock1::load(wt, &format!("{node}/noise_res.0"), &format!("{sd}.noise_res.0"), 256)?,
                AdaInResBlock1::load(wt, &format!("{node}/noise_res.1"), &format!("{sd}.noise_res.1"), 128)?,
            ],
            ups: [ups(0)?, ups(1)?],
            resblocks,
            conv_post: Conv::same(
                wt.kernel(&format!("Conv {node}/conv_post/Conv"))?,
                Some(wt.named(&format!("{sd}.conv_post.bias"), Some(&[22]))?),
                1,
            )?,
            inverse_basis: wt.named(&format!("{sd}.stft.istft.stft.inverse_basis"), Some(&[22, 1, N_FFT]))?,
            window_sum: wt.named(&format!("{sd}.stft.istft.stft.window_sum"), Some(&[N_FFT]))?.to_vec1()?,
        })
    }

    /// The harmonic source at 24 kHz for an F0 curve (one value per 300 samples).
    fn source(&self, f0: &[f32]) -> Vec<f32> {
        let frames = f0.len();
        let n = frames * SAMPLES_PER_F0;
        let mut mix = vec![0f32; n];
        let mut phase_lo = vec![0f32; frames];
        for (h, &w) in self.harmonic_w.iter().enumerate() {
            let mult = (h + 1) as f32;
            let mut acc = 0f32;
            for (p, &f) in phase_lo.iter_mut().zip(f0) {
                let v = f * mult / SAMPLE_RATE;
                acc += v - v.floor();
                *p = acc * 2.0 * std::f32::consts::PI * SAMPLES_PER_F0 as f32;
            }
            // Linear interpolation ×300 with half-pixel centres, clamped at both ends.
            for (j, m) in mix.iter_mut().enumerate() {
                let fj = f0[j / SAMPLES_PER_F0];
                if fj <= 10.0 {
                    continue;
                }
                let x = ((j as f32 + 0.5) / SAMPLES_PER_F0 as f32 - 0.5).clamp(0.0, (frames - 1) as f32);
                let i0 = x.floor() as usize;
                let i1 = (i0 + 1).min(frames - 1);
                let t = x - i0 as f32;
                let phase = phase_lo[i0] * (1.0 - t) + phase_lo[i1] * t;
                *m += phase.sin() * 0.1 * w;
            }
        }
        mix.iter().map(|m| (m + self.harmonic_b).tanh()).collect()
    }

    /// STFT of the source as 11 magnitudes then 11 phases per frame: `[1, 22, n / 5 + 1]`.
    ///
    /// Between voiced stretches the source is constant, so all bins but the first two have a
    /// magnitude of pure rounding noise, yet the network reads their phase. The transform
    /// therefore reproduces onnxruntime's arithmetic for a 20-point DFT (Bluestein's chirp-z
    /// with 64-point radix-2 FFTs in float32, see [`Bluestein`]) so that those phases come out
    /// as in the reference.
    fn source_spectrum(&self, src: &[f32], dev: &Device) -> Result<Tensor> {
        let n = src.len();
        let pad = N_FFT / 2;
        let at = |k: usize| -> f32 {
            let mut i = k as isize - pad as isize;
            if i < 0 {
                i = -i;
            }
            if i >= n as isize {
                i = 2 * (n as isize - 1) - i;
            }
            src[i as usize]
        };
        let frames = n / HOP + 1;
        let dft = Bluestein::new(N_FFT);
        let mut out = vec![0f32; 2 * BINS * frames];
        let mut frame = [0f32; N_FFT];
        let mut spec = [C::default(); BINS];
        for f in 0..frames {
            for (m, x) in frame.iter_mut().enumerate() {
                *x = at(f * HOP + m);
            }
            dft.forward(&frame, &self.window, &mut spec);
            for (k, c) in spec.iter().enumerate() {
                let (re, im) = (c.re, c.im);
                out[k * frames + f] = (re * re + im * im).sqrt();
                // The exporter's atan2: atan(im / re), moved by ±π when re < 0.
                let a = (im / re).atan();
                let phase = if a.is_nan() {
                    0.0
                } else if re < 0.0 {
                    if im > 0.0 { a + std::f32::consts::PI } else { a - std::f32::consts::PI }
                } else {
                    a
                };
                out[(BINS + k) * frames + f] = phase;
            }
        }
        Ok(Tensor::from_vec(out, (1, 2 * BINS, frames), dev)?)
    }

    fn forward(&self, x: &Tensor, s: &Tensor, f0: &[f32]) -> Result<Vec<f32>> {
        let dev = x.device();
        let har = self.source_spectrum(&self.source(f0), dev)?;
        let mut x = x.clone();
        let conv_t = [(5usize, 10usize), (3, 6)]; // (padding, stride)
        for i in 0..2 {
            x = leaky_relu(&x, 0.1)?;
            let x_source = self.noise_res[i].forward(&self.noise_convs[i].forward(&har)?, s)?;
            let (w, b) = &self.ups[i];
            // Unpadded transposed convolution, then the padding cropped from both ends: the same
            // result, and candle's fast (col2im) path only takes padding 0.
            let (pad, stride) = conv_t[i];
            let full = x.conv_transpose1d(w, 0, 0, stride, 1, 1)?;
            let len = full.dim(2)? - 2 * pad;
            x = full.narrow(2, pad, len)?.broadcast_add(b)?;
            if i == 1 {
                // ReflectionPad1d((1, 0)).
                x = Tensor::cat(&[&x.narrow(2, 1, 1)?, &x], 2)?;
            }
            x = (x + x_source)?;
            let mut xs = self.resblocks[3 * i].forward(&x, s)?;
            for j in 1..3 {
                xs = (xs + self.resblocks[3 * i + j].forward(&x, s)?)?;
            }
            x = (xs / 3.0)?;
        }
        x = leaky_relu(&x, 0.01)?;
        x = self.conv_post.forward(&x)?;
        let mag = x.narrow(1, 0, BINS)?.exp()?;
        let phase = x.narrow(1, BINS, BINS)?.sin()?;
        let spec = Tensor::cat(&[mag.mul(&phase.cos()?)?, mag.mul(&phase.sin()?)?], 1)?;
        let y: Vec<f32> = spec.conv_transpose1d(&self.inverse_basis, 0, 0, HOP, 1, 1)?.flatten_all()?.to_vec1()?;
        // The exporter's normalisation: only the first n_fft samples are divided by the window
        // sum it traced; everything is scaled by 4; n_fft / 2 samples are cut at each end.
        let len = y.len();
        let out = (N_FFT / 2..len - N_FFT / 2)
            .map(|i| {
                let v = if i < N_FFT && self.window_sum[i] > f32::MIN_POSITIVE { y[i] / self.window_sum[i] } else { y[i] };
                v * 4.0
            })
            .collect();
        Ok(out)
    }
}

/// float32 complex number with the textbook product (no fused multiply-add), as C++'s
/// `std::complex<float>` computes it.
#[derive(Clone, Copy, Default, Debug)]
struct C {
    re: f32,
    im: f32,
}

impl C {
    fn new(re: f32, im: f32) -> Self {
        Self { re, im }
    }
    fn mul(self, o: C) -> C {
        C::new(self.re * o.re - self.im * o.im, self.re * o.im + self.im * o.re)
    }
    fn add(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }
}

/// A DFT of a non-power-of-two length computed the way onnxruntime's CPU `STFT` does: Bluestein's
/// chirp-z transform over radix-2 FFTs of the next power of two ≥ 2N − 1, in float32, with its
/// twiddle table (built once, forward) reused by the inverse FFT.
struct Bluestein {
    n: usize,
    m: usize,
    bits: u32,
    /// Twiddles in bit-reversed order.
    v: Vec<C>,
    chirp: Vec<C>,
    b_fft: Vec<C>,
}

impl Bluestein {
    fn new(n: usize) -> Self {
        let m = (2 * n - 1).next_power_of_two();
        let bits = m.trailing_zeros();
        let pi = std::f32::consts::PI;
        let av = -1.0f32 * (2.0 * pi) / m as f32;
        let mut v = vec![C::default(); m];
        for i in 0..m {
            let angle = i as f32 * av;
            v[bit_reverse(i, bits)] = C::new(angle.cos(), angle.sin());
        }
        let mut chirp = vec![C::default(); m];
        let mut b = vec![C::default(); m];
        for k in 0..n {
            let e = -1.0f32 * pi * k as f32 * k as f32 / n as f32;
            chirp[k] = C::new(e.cos(), e.sin());
            b[k] = C::new(chirp[k].re, -chirp[k].im);
        }
        for k in m - n + 1..m {
            b[k] = b[m - k];
        }
        let mut s = Self { n, m, bits, v, chirp, b_fft: Vec::new() };
        s.b_fft = s.fft(&b, false);
        s
    }

    fn fft(&self, x: &[C], inverse: bool) -> Vec<C> {
        let m = self.m;
        let mut y: Vec<C> = (0..m).map(|i| x[bit_reverse(i, self.bits)]).collect();
        let mut size = 2;
        let mut sig = 0;
        while size <= m {
            let mid = size / 2;
            sig += 1;
            for k in 0..mid {
                let w1 = self.v[bit_reverse(k, sig)];
                let w2 = self.v[bit_reverse(mid + k, sig)];
                for j in (0..m).step_by(size) {
                    let (e, o) = (y[k + j], y[k + j + mid]);
                    y[k + j] = e.add(w1.mul(o));
                    y[k + j + mid] = e.add(w2.mul(o));
                }
            }
            size <<= 1;
        }
        if inverse {
            for c in &mut y {
                *c = C::new(c.re / m as f32, c.im / m as f32);
            }
        }
        y
    }

    /// The first `out.len()` bins of the DFT of `x · window`.
    fn forward(&self, x: &[f32], window: &[f32], out: &mut [C]) {
        let mut a = vec![C::default(); self.m];
        for k in 0..self.n {
            let xw = C::new(x[k] * window[k], 0.0);
            a[k] = xw.mul(self.chirp[k]);
        }
        let mut fa = self.fft(&a, false);
        for (f, b) in fa.iter_mut().zip(&self.b_fft) {
            *f = f.mul(*b);
        }
        let c = self.fft(&fa, true);
        for (i, o) in out.iter_mut().enumerate() {
            let ci = if i == 0 { c[0] } else { c[self.m - i] };
            let r = ci.mul(self.chirp[i]);
            *o = C::new(r.re * 1.0, r.im * 1.0);
        }
    }
}

fn bit_reverse(i: usize, bits: u32) -> usize {
    if bits == 0 { 0 } else { (i as u32).reverse_bits() as usize >> (32 - bits) }
}

