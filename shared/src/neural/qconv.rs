//! 1-d convolution in 8-bit integers, the way onnxruntime runs a dynamically quantised ONNX
//! graph's `DynamicQuantizeLinear → ConvInteger → Cast → Mul(x_scale · w_scale)`.
//!
//! The activation is quantised per tensor to `u8` with a zero point (onnxruntime's
//! `DynamicQuantizeLinear`: range widened to include 0, scale = range / 255, round half to
//! even), the weight is the model's own `u8` kernel minus its zero point, and the products are
//! summed in `i32`, which is exact. So the result does not depend on the order of the sums or
//! on the instruction set: the AVX-512 VNNI kernel and the portable one give the same bits, and
//! both give onnxruntime's integers for the same quantised input.
//!
//! Kernel: `vpdpbusd` multiplies 4 unsigned bytes by 4 signed bytes and adds the 4 products to
//! an `i32` lane. The input is packed as `[channel / 4][padded time][4]`, so 16 consecutive
//! output times read one 64-byte vector for each group of 4 channels and each kernel tap (no
//! im2col copy); a tap's dilation is just an offset into that vector's start. The weights are
//! packed so that each output channel's 4 bytes for that group and tap are broadcast from
//! memory. A tile is 8 output channels × 48 times in 24 accumulators.
//!
//! `vpdpbusd` needs signed weights; a kernel value `w − zp` lies in −255..=255, so each output
//! channel stores `w − zp − c` with an offset `c` that brings it into −128..=127, and adds
//! `c · Σx` back per output time (one cheap pass over the channel sums).

/// Output channels per tile.
const R: usize = 8;
/// 16-lane vectors of output times per tile.
const V: usize = 3;
/// Output times per tile.
const TT: usize = 16 * V;

/// A quantised 1-d convolution: `[cin, t] → [cout, t]`, stride 1, symmetric zero padding.
pub struct QConv1d {
    cin: usize,
    cout: usize,
    k: usize,
    dilation: usize,
    padding: usize,
    /// The kernel's scale (one per tensor).
    w_scale: f32,
    /// `w − zp − offset[co]` as `[cout / R][k][cin / 4][R][4]`.
    packed: Vec<i8>,
    /// Per output channel: the offset taken out of its weights.
    offset: Vec<i32>,
    /// Per output channel: Σ (w − zp) over its inputs and taps.
    wsum: Vec<i32>,
    bias: Option<Vec<f32>>,
}

thread_local! {
    /// Per thread: the packed input and the integer sums of the last call, reused.
    static SCRATCH: std::cell::Cell<(Vec<u8>, Vec<i32>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// What the portable path and the VNNI path share: the quantised, packed input.
struct Packed {
    /// `[cin / 4][tp][4]`, padding filled with the zero point.
    x: Vec<u8>,
    tp: usize,
    /// Σ over channels of the packed input at each padded time.
    colsum: Vec<i32>,
    zp: i32,
    scale: f32,
}

impl QConv1d {
    /// `w_int` `[cout, cin, k]`: the kernel as integers `w − zp` (each output channel's values
    /// spanning at most 255, as a `u8` kernel does). `None` when the shape does not fit the
    /// kernel's tiling (output channels not a multiple of 8) or the values do not fit.
    pub fn new(w_int: &[i32], dims: [usize; 3], w_scale: f32, bias: Option<Vec<f32>>, padding: usize, dilation: usize) -> Option<Self> {
        let [cout, cin, k] = dims;
        if cout % R != 0 || w_int.len() != cout * cin * k || k == 0 || dilation == 0 {
            return None;
        }
        if bias.as_ref().is_some_and(|b| b.len() != cout) {
            return None;
        }
        let mut offset = vec![0i32; cout];
        let mut wsum = vec![0i32; cout];
        for co in 0..cout {
            let row = &w_int[co * cin * k..(co + 1) * cin * k];
            let (mut lo, mut hi) = row.iter().fold((i32::MAX, i32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            if cin % 4 != 0 {
                // The zero weights that fill the last group must fit too.
                (lo, hi) = (lo.min(0), hi.max(0));
            }
            if hi - lo > 255 {
                return None;
            }
            offset[co] = if lo >= -128 && hi <= 127 { 0 } else { lo + 128 };
            wsum[co] = row.iter().sum();
        }
        // Input channels are taken 4 at a time; a last partial group is filled with zero weights
        // (their products vanish, and the offset's correction counts them on both sides).
        let groups = cin.div_ceil(4);
        let mut packed = vec![0i8; cout * groups * 4 * k];
        let mut i = 0;
        for cb in 0..cout / R {
            for tap in 0..k {
                for g in 0..groups {
                    for r in 0..R {
                        let co = cb * R + r;
                        for j in 0..4 {
                            let ci = 4 * g + j;
                            let w = if ci < cin { w_int[(co * cin + ci) * k + tap] } else { 0 };
                            packed[i] = (w - offset[co]) as i8;
                            i += 1;
                        }
                    }
                }
            }
        }
        Some(Self { cin, cout, k, dilation, padding, w_scale, packed, offset, wsum, bias })
    }

    pub fn channels(&self) -> (usize, usize) {
        (self.cin, self.cout)
    }

    /// `x` `[cin, t]` → `[cout, t_out]` with `t_out = t + 2·padding − dilation·(k − 1)`,
    /// written into the input's allocation once the input is quantised. The working buffers are
    /// kept per thread between calls: at the generator's sizes (megabytes) fresh allocations
    /// come from the kernel as zeroed pages every time, and that cost more than a sixth of the
    /// whole synthesis.
    pub fn forward(&self, x: Vec<f32>, t: usize) -> Vec<f32> {
        self.forward_with(x, t, vnni_available())
    }

    fn forward_with(&self, mut x: Vec<f32>, t: usize, vnni: bool) -> Vec<f32> {
        assert_eq!(x.len(), self.cin * t, "input is not [cin, t]");
        let span = self.dilation * (self.k - 1);
        let t_out = (t + 2 * self.padding).saturating_sub(span);
        if t_out == 0 {
            return Vec::new();
        }
        let tiles = t_out.div_ceil(TT);
        let (mut pbuf, mut acc) = SCRATCH.with(|s| s.take());
        let p = self.pack(&x, t, tiles * TT + span, std::mem::take(&mut pbuf));
        let width = tiles * TT;
        acc.clear();
        acc.resize(self.cout * width, 0);
        // Output channel blocks are independent: split them over the inference threads. The sums
        // are exact, so the result does not depend on the split.
        let block = |(cb, a): (usize, &mut [i32])| {
            #[cfg(target_arch = "x86_64")]
            if vnni {
                // SAFETY: `vnni_available()` checked the CPU features the kernel is compiled for.
                unsafe { self.accumulate_vnni(&p, cb, tiles, a) };
                return;
            }
            let _ = vnni;
            self.accumulate_portable(&p, cb, width, a);
        };
        if parallel() && self.cout > R {
            use rayon::prelude::*;
            acc.par_chunks_mut(R * width).enumerate().for_each(block);
        } else {
            acc.chunks_mut(R * width).enumerate().for_each(block);
        }
        // Σx under each output's window, for the offsets.
        let mut sx = vec![0i32; t_out];
        for (ti, s) in sx.iter_mut().enumerate() {
            *s = (0..self.k).map(|tap| p.colsum[ti + tap * self.dilation]).sum();
        }
        let scale = p.scale * self.w_scale;
        let mut out = std::mem::take(&mut x);
        out.clear();
        out.resize(self.cout * t_out, 0.0);
        let wide = avx512();
        let row = |(co, o): (usize, &mut [f32])| {
            let (off, zw) = (self.offset[co], p.zp * self.wsum[co]);
            let b = self.bias.as_ref().map_or(0.0, |b| b[co]);
            let a = &acc[co * width..co * width + t_out];
            #[cfg(target_arch = "x86_64")]
            if wide {
                // SAFETY: `avx512()` checked the CPU.
                unsafe { finish_row_avx512(a, &sx, off, zw, scale, b, o) };
                return;
            }
            let _ = wide;
            finish_row(a, &sx, off, zw, scale, b, o);
        };
        if parallel() {
            use rayon::prelude::*;
            out.par_chunks_mut(t_out).enumerate().for_each(row);
        } else {
            out.chunks_mut(t_out).enumerate().for_each(row);
        }
        SCRATCH.with(|s| s.set((p.x, acc)));
        out
    }

    /// Quantises `x` (onnxruntime's `DynamicQuantizeLinear`) into the packed layout, `tp`
    /// padded times per channel group.
    fn pack(&self, x: &[f32], t: usize, tp: usize, mut packed: Vec<u8>) -> Packed {
        let (scale, zp) = dynamic_quant_params(x);
        let groups = self.cin.div_ceil(4);
        packed.clear();
        packed.resize(groups * tp * 4, zp as u8);
        let zpf = zp as f32;
        let (cin, padding) = (self.cin, self.padding);
        let wide = avx512();
        let group = |(g, dst): (usize, &mut [u8])| {
            let body = &mut dst[padding * 4..(padding + t) * 4];
            if 4 * g + 4 <= cin {
                let src = |j: usize| &x[(4 * g + j) * t..(4 * g + j + 1) * t];
                let s4 = [src(0), src(1), src(2), src(3)];
                #[cfg(target_arch = "x86_64")]
                if wide {
                    // SAFETY: `avx512()` checked the CPU.
                    unsafe { quantise4_avx512(s4, scale, zpf, body) };
                    return;
                }
                let _ = wide;
                quantise4(s4, scale, zpf, body);
            } else {
                for ci in 4 * g..cin {
                    for (px, &v) in body.chunks_exact_mut(4).zip(&x[ci * t..(ci + 1) * t]) {
                        px[ci - 4 * g] = quantise(v, scale, zpf);
                    }
                }
            }
        };
        if parallel() {
            use rayon::prelude::*;
            packed.par_chunks_mut(tp * 4).enumerate().for_each(group);
        } else {
            packed.chunks_mut(tp * 4).enumerate().for_each(group);
        }
        const SUM_CHUNK: usize = 4096;
        let mut colsum = vec![0i32; tp];
        let sums = |(i, cs): (usize, &mut [i32])| {
            for dst in packed.chunks_exact(tp * 4) {
                for (s, px) in cs.iter_mut().zip(dst[i * 4 * SUM_CHUNK..].chunks_exact(4)) {
                    *s += px[0] as i32 + px[1] as i32 + px[2] as i32 + px[3] as i32;
                }
            }
        };
        if parallel() {
            use rayon::prelude::*;
            colsum.par_chunks_mut(SUM_CHUNK).enumerate().for_each(sums);
        } else {
            colsum.chunks_mut(SUM_CHUNK).enumerate().for_each(sums);
        }
        Packed { x: packed, tp, colsum, zp, scale }
    }

    /// Output channels `cb·R .. cb·R + R` into `acc` (`R` rows of `width`).
    fn accumulate_portable(&self, p: &Packed, cb: usize, width: usize, acc: &mut [i32]) {
        let groups = self.cin.div_ceil(4);
        let block = self.k * groups * R * 4;
        let mut w = self.packed[cb * block..(cb + 1) * block].chunks_exact(R * 4);
        for tap in 0..self.k {
            for g in 0..groups {
                let wr = w.next().expect("packed weights cover every tile");
                let xs = &p.x[(g * p.tp + tap * self.dilation) * 4..];
                for (r, row) in acc.chunks_exact_mut(width).enumerate() {
                    let wv = &wr[r * 4..r * 4 + 4];
                    for (ti, a) in row.iter_mut().enumerate() {
                        let xv = &xs[ti * 4..ti * 4 + 4];
                        *a += (0..4).map(|j| xv[j] as i32 * wv[j] as i32).sum::<i32>();
                    }
                }
            }
        }
    }

    /// As [`QConv1d::accumulate_portable`], 8 × 48 outputs at a time with `vpdpbusd`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn accumulate_vnni(&self, p: &Packed, cb: usize, tiles: usize, acc: &mut [i32]) {
        use std::arch::x86_64::*;
        let groups = self.cin.div_ceil(4);
        let width = tiles * TT;
        let block = self.k * groups * R * 4;
        let wb = &self.packed[cb * block..(cb + 1) * block];
        assert!(acc.len() == R * width && p.x.len() >= groups * p.tp * 4);
        for tile in 0..tiles {
            let t0 = tile * TT;
            let mut a = [[_mm512_setzero_si512(); V]; R];
            let mut wp = wb.as_ptr();
            for tap in 0..self.k {
                for g in 0..groups {
                    // SAFETY: the packed input holds `tiles · TT + span` times per group, so 3
                    // vectors from `t0 + tap · dilation` stay inside it; `wp` walks `block`
                    // bytes, exactly this block's weights.
                    unsafe {
                        let xp = p.x.as_ptr().add((g * p.tp + t0 + tap * self.dilation) * 4);
                        let x0 = _mm512_loadu_si512(xp as *const _);
                        let x1 = _mm512_loadu_si512(xp.add(64) as *const _);
                        let x2 = _mm512_loadu_si512(xp.add(128) as *const _);
                        for (r, ar) in a.iter_mut().enumerate() {
                            let w = _mm512_set1_epi32((wp.add(4 * r) as *const i32).read_unaligned());
                            ar[0] = _mm512_dpbusd_epi32(ar[0], x0, w);
                            ar[1] = _mm512_dpbusd_epi32(ar[1], x1, w);
                            ar[2] = _mm512_dpbusd_epi32(ar[2], x2, w);
                        }
                        wp = wp.add(R * 4);
                    }
                }
            }
            for (r, ar) in a.iter().enumerate() {
                for (v, av) in ar.iter().enumerate() {
                    // SAFETY: `acc` is `R · width` long and `t0 + 48 ≤ width`.
                    unsafe { _mm512_storeu_si512(acc.as_mut_ptr().add(r * width + t0 + 16 * v) as *mut _, *av) };
                }
            }
        }
    }
}

/// One output channel: the integer sums corrected for the weight offset and the input's zero
/// point, then rescaled as onnxruntime's `Cast → Mul(x_scale · w_scale)`, plus the bias.
#[inline(always)]
fn finish_row(acc: &[i32], sx: &[i32], off: i32, zw: i32, scale: f32, bias: f32, out: &mut [f32]) {
    for ((o, &v), &s) in out.iter_mut().zip(acc).zip(sx) {
        // Σ (x − x_zp)(w − w_zp) = Σ x·(w − w_zp − c) + c·Σx − x_zp·Σ(w − w_zp).
        let y = v.wrapping_add(off.wrapping_mul(s)).wrapping_sub(zw);
        *o = y as f32 * scale + bias;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn finish_row_avx512(acc: &[i32], sx: &[i32], off: i32, zw: i32, scale: f32, bias: f32, out: &mut [f32]) {
    finish_row(acc, sx, off, zw, scale, bias, out)
}

/// One value to `u8` as `QuantizeLinear` does: divided by the scale, rounded half to even,
/// moved by the zero point, saturated.
#[inline(always)]
fn quantise(v: f32, scale: f32, zpf: f32) -> u8 {
    (round_half_even(v / scale) + zpf).clamp(0.0, 255.0) as u8
}

/// Four channels quantised and interleaved into `[time][4]`.
#[inline(always)]
fn quantise4(src: [&[f32]; 4], scale: f32, zpf: f32, body: &mut [u8]) {
    let q = |v: f32| quantise(v, scale, zpf);
    let [s0, s1, s2, s3] = src;
    for (i, px) in body.chunks_exact_mut(4).enumerate() {
        px.copy_from_slice(&[q(s0[i]), q(s1[i]), q(s2[i]), q(s3[i])]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantise4_avx512(src: [&[f32]; 4], scale: f32, zpf: f32, body: &mut [u8]) {
    quantise4(src, scale, zpf, body)
}

/// Whether the AVX-512 builds of the plain loops can run (same operations, same bits).
pub(crate) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether to split work over rayon's threads (one thread: no hand-off at all).
fn parallel() -> bool {
    rayon::current_num_threads() > 1
}

/// `v.round_ties_even()` for |v| < 2²² (the quantiser's range; also used for range reduction),
/// without a library call: adding
/// and taking away 1.5 · 2²³ leaves the float rounded to an integer in the default rounding mode,
/// half to even, as `rintf` and the CPU's convert instructions do.
#[inline(always)]
pub(crate) fn round_half_even(v: f32) -> f32 {
    const M: f32 = 12_582_912.0;
    (v + M) - M
}

/// onnxruntime's `DynamicQuantizeLinear` parameters for `u8`: the range widened to include 0,
/// scale = range / 255, zero point = round(−min / scale) (half to even), clamped to 0..=255.
pub fn dynamic_quant_params(x: &[f32]) -> (f32, i32) {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: `avx512()` checked the CPU.
        return unsafe { dynamic_quant_params_avx512(x) };
    }
    dynamic_quant_params_plain(x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dynamic_quant_params_avx512(x: &[f32]) -> (f32, i32) {
    dynamic_quant_params_plain(x)
}

#[inline(always)]
fn dynamic_quant_params_plain(x: &[f32]) -> (f32, i32) {
    // 16 running minima and maxima (starting at 0, so the range includes it), so it vectorises;
    // NaN is passed over, as by `f32::min`.
    let (mut lo16, mut hi16) = ([0f32; 16], [0f32; 16]);
    let mut chunks = x.chunks_exact(16);
    for ch in &mut chunks {
        for j in 0..16 {
            lo16[j] = if ch[j] < lo16[j] { ch[j] } else { lo16[j] };
            hi16[j] = if ch[j] > hi16[j] { ch[j] } else { hi16[j] };
        }
    }
    for (j, &v) in chunks.remainder().iter().enumerate() {
        lo16[j] = if v < lo16[j] { v } else { lo16[j] };
        hi16[j] = if v > hi16[j] { v } else { hi16[j] };
    }
    let lo = lo16.iter().fold(0f32, |a, &b| a.min(b));
    let hi = hi16.iter().fold(0f32, |a, &b| a.max(b));
    let scale = if hi == lo { 1.0 } else { (hi - lo) / 255.0 };
    let zp = round_half_even((0.0 - lo / scale).clamp(0.0, 255.0)) as i32;
    (scale, zp)
}

/// True when this CPU runs the AVX-512 VNNI kernel.
pub fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vnni"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence.
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// A `u8` kernel with zero point `zp`, as integers `w − zp`.
    fn kernel(n: usize, zp: i32, seed: u64) -> Vec<i32> {
        noise(n, seed).iter().map(|v| ((v * 0.5 + 0.5) * 255.0).round() as i32 - zp).collect()
    }

    /// Σ (x_q − x_zp)(w − w_zp) written out directly, then scaled as onnxruntime does.
    fn reference(c: &QConv1d, w_int: &[i32], x: &[f32], t: usize) -> Vec<f32> {
        let (scale, zp) = dynamic_quant_params(x);
        let q: Vec<i32> = x.iter().map(|&v| ((v / scale).round_ties_even() + zp as f32).clamp(0.0, 255.0) as i32 - zp).collect();
        let t_out = t + 2 * c.padding - c.dilation * (c.k - 1);
        let mut out = vec![0f32; c.cout * t_out];
        for co in 0..c.cout {
            for to in 0..t_out {
                let mut s = 0i32;
                for ci in 0..c.cin {
                    for tap in 0..c.k {
                        let ti = (to + tap * c.dilation) as isize - c.padding as isize;
                        if ti >= 0 && (ti as usize) < t {
                            s += q[ci * t + ti as usize] * w_int[(co * c.cin + ci) * c.k + tap];
                        }
                    }
                }
                out[co * t_out + to] = s as f32 * (scale * c.w_scale) + c.bias.as_ref().map_or(0.0, |b| b[co]);
            }
        }
        out
    }

    #[test]
    fn integer_convolution_equals_the_sum_written_out() {
        // Zero points that make w − zp overflow a signed byte on either side, odd lengths, a
        // tile's remainder, dilation and padding as the generator's blocks use them.
        for (cin, cout, k, d, t, zp, seed) in [(8, 8, 3, 1, 5, 70, 1), (16, 16, 7, 3, 61, 200, 2), (12, 24, 11, 5, 130, 10, 3), (4, 8, 1, 1, 48, 128, 4), (10, 8, 3, 1, 50, 60, 5), (1090 % 8 + 1, 16, 3, 1, 97, 250, 6)] {
            let w = kernel(cout * cin * k, zp, seed);
            let bias = noise(cout, seed + 10);
            let c = QConv1d::new(&w, [cout, cin, k], 0.0123, Some(bias), d * (k - 1) / 2, d).expect("fits the tiling");
            let x: Vec<f32> = noise(cin * t, seed + 20).iter().map(|v| v * 3.0 + 0.7).collect();
            let want = reference(&c, &w, &x, t);
            let portable = c.forward_with(x.clone(), t, false);
            assert_eq!(portable, want, "portable path, cin {cin} k {k} d {d} t {t}");
            if vnni_available() {
                assert_eq!(c.forward_with(x.clone(), t, true), want, "VNNI path, cin {cin} k {k} d {d} t {t}");
            }
        }
    }

    #[test]
    fn rounding_is_half_to_even_over_the_quantiser_range() {
        for v in [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 254.5, -254.5, 0.49999997, 1.0000001, 3.7, -3.7, 0.0, -0.0, 255.0] {
            assert_eq!(round_half_even(v), v.round_ties_even(), "{v}");
        }
        let mut v = -300.0f32;
        while v < 300.0 {
            assert_eq!(round_half_even(v), v.round_ties_even(), "{v}");
            v += 0.013;
        }
    }

    #[test]
    fn quantisation_parameters_follow_onnxruntime() {
        // Range widened to include 0; zero point rounds half to even.
        assert_eq!(dynamic_quant_params(&[1.0, 2.0]), (2.0 / 255.0, 0));
        assert_eq!(dynamic_quant_params(&[-2.0, -1.0]), (2.0 / 255.0, 255));
        let (s, zp) = dynamic_quant_params(&[-1.0, 1.55]);
        assert_eq!(s, 2.55 / 255.0);
        assert_eq!(zp, (1.0f32 / s).round_ties_even() as i32);
    }
}
