//! Test signals with known content, and the measurements the host tests assert on.

/// A small deterministic generator (xorshift64*): the same seed gives the same signal on every
/// machine, with no dependency on a random-number crate's version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Zero is a fixed point of xorshift; mix the seed so every seed is usable.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    pub fn bipolar(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Seeded white noise at `amplitude` peak, planar.
pub fn noise(channels: usize, frames: usize, amplitude: f32, seed: u64) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| {
            let mut r = Rng::new(seed.wrapping_add(c as u64 * 7919));
            (0..frames).map(|_| r.bipolar() * amplitude).collect()
        })
        .collect()
}

/// A unit impulse at `at` on every channel.
pub fn impulse(channels: usize, frames: usize, at: usize) -> Vec<Vec<f32>> {
    let mut x = vec![vec![0.0; frames]; channels];
    for c in &mut x {
        c[at] = 1.0;
    }
    x
}

pub fn sine(frames: usize, hz: f32, sample_rate: f32, amplitude: f32) -> Vec<f32> {
    (0..frames)
        .map(|i| amplitude * (std::f64::consts::TAU * hz as f64 * i as f64 / sample_rate as f64).sin() as f32)
        .collect()
}

/// `x` delayed by `delay` samples (zeros shifted in), same length.
pub fn delayed(x: &[f32], delay: usize) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    if delay < x.len() {
        y[delay..].copy_from_slice(&x[..x.len() - delay]);
    }
    y
}

pub fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

pub fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

/// Largest |a - b| (NaN anywhere counts as infinite difference).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared signals differ in length");
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| {
        let d = (x - y).abs();
        if d.is_nan() { f32::INFINITY } else { m.max(d) }
    })
}

/// Amplitude in dB relative to full scale (1.0); −∞ for 0.
pub fn dbfs(amplitude: f32) -> f64 {
    20.0 * (amplitude as f64).log10()
}

/// Index of the first sample with |x| > threshold.
pub fn first_above(x: &[f32], threshold: f32) -> Option<usize> {
    x.iter().position(|v| v.abs() > threshold)
}

/// Index of the first non-finite sample.
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| !v.is_finite())
}

/// Largest sample-to-sample step |x[i+1] - x[i]|.
pub fn max_step(x: &[f32]) -> f32 {
    x.windows(2).fold(0.0f32, |m, w| m.max((w[1] - w[0]).abs()))
}

/// The lag (0..=max_lag) at which `y` best matches `x` delayed, by cross-correlation.
pub fn best_lag(x: &[f32], y: &[f32], max_lag: usize) -> usize {
    let mut best = (0usize, f64::MIN);
    for lag in 0..=max_lag.min(y.len().saturating_sub(1)) {
        let c: f64 = x.iter().zip(&y[lag..]).map(|(a, b)| *a as f64 * *b as f64).sum();
        if c > best.1 {
            best = (lag, c);
        }
    }
    best.0
}

/// Bit-exact equality of two planar signals (NaN == NaN when the bits match).
pub fn bits_equal(a: &[Vec<f32>], b: &[Vec<f32>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()))
}

/// Where two planar signals first differ in bits: (channel, frame).
pub fn first_bit_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> Option<(usize, usize)> {
    for (c, (x, y)) in a.iter().zip(b).enumerate() {
        if let Some(i) = x.iter().zip(y).position(|(p, q)| p.to_bits() != q.to_bits()) {
            return Some((c, i));
        }
        if x.len() != y.len() {
            return Some((c, x.len().min(y.len())));
        }
    }
    None
}
