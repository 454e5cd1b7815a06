//! Spectral envelope by cepstral smoothing: the log-magnitude spectrum, low-passed along
//! frequency by keeping its first cepstral coefficients. With the cut-off below the F0's
//! rahmonic (quefrency = one period) the harmonics' fine structure goes and the formant shape
//! stays. Written on realfft (one inverse and one forward real FFT per estimate); allocation-free
//! after [`CepstralEnvelope::new`].

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Lowest log-magnitude considered, relative to the frame's peak: −100 dB, so the valleys between
/// harmonics and silent bands do not drag the envelope down without bound.
const FLOOR_DB: f32 = -100.0;

pub struct CepstralEnvelope {
    size: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    spec: Vec<Complex<f32>>,
    cep: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl CepstralEnvelope {
    /// For spectra of an FFT of `size` points (`size / 2 + 1` bins).
    pub fn new(size: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(size);
        let inv = planner.plan_fft_inverse(size);
        let scratch = vec![Complex::default(); fwd.get_scratch_len().max(inv.get_scratch_len())];
        Self { size, fwd, inv, spec: vec![Complex::default(); size / 2 + 1], cep: vec![0.0; size], scratch }
    }

    pub fn bins(&self) -> usize {
        self.size / 2 + 1
    }

    /// The natural-log envelope of the magnitudes `mag` (`bins()` values) into `log_env`, keeping
    /// quefrencies below `cutoff` samples (a half-Hann taper over the last quarter of them).
    /// For a voice, `cutoff` ≈ 0.6 × the period in samples. Plain cepstral smoothing runs
    /// between the harmonics and the valleys; `iterations` > 0 makes it the *true envelope*
    /// (Röbel & Rodet, DAFx 2005): the spectrum is raised to the envelope wherever it lies below
    /// it and smoothed again, so the envelope rests on the harmonic peaks.
    pub fn estimate(&mut self, mag: &[f32], cutoff: f32, iterations: usize, log_env: &mut [f32]) {
        let bins = self.bins();
        let peak = mag.iter().take(bins).fold(0.0f32, |a, m| a.max(*m));
        if peak <= 0.0 || !peak.is_finite() {
            log_env.iter_mut().take(bins).for_each(|v| *v = f32::NEG_INFINITY);
            return;
        }
        let floor = peak * 10f32.powf(FLOOR_DB / 20.0);
        for (s, m) in self.spec.iter_mut().zip(mag) {
            *s = Complex::new(m.max(floor).ln(), 0.0);
        }
        self.smooth(cutoff, log_env);
        for _ in 0..iterations {
            for ((s, m), e) in self.spec.iter_mut().zip(mag).zip(log_env.iter()) {
                *s = Complex::new(m.max(floor).ln().max(*e), 0.0);
            }
            self.smooth(cutoff, log_env);
        }
    }

    /// Cepstral low-pass of the log spectrum in `self.spec` into `log_env`.
    fn smooth(&mut self, cutoff: f32, log_env: &mut [f32]) {
        let bins = self.bins();
        self.spec[0].im = 0.0;
        self.spec[bins - 1].im = 0.0;
        // Real, even spectrum → real, even cepstrum (unnormalised: × size).
        self.inv.process_with_scratch(&mut self.spec, &mut self.cep, &mut self.scratch).expect("cepstrum sizes");
        let q = cutoff.clamp(1.0, (self.size / 2 - 1) as f32);
        let taper_from = 0.75 * q;
        let n = self.size;
        let scale = 1.0 / n as f32;
        for i in 0..n {
            let quefrency = i.min(n - i) as f32;
            let w = if quefrency <= taper_from {
                1.0
            } else if quefrency >= q {
                0.0
            } else {
                0.5 + 0.5 * (std::f32::consts::PI * (quefrency - taper_from) / (q - taper_from)).cos()
            };
            self.cep[i] *= w * scale;
        }
        self.fwd.process_with_scratch(&mut self.cep, &mut self.spec, &mut self.scratch).expect("envelope sizes");
        for (e, s) in log_env.iter_mut().zip(&self.spec) {
            *e = s.re;
        }
    }
}

/// Linear interpolation of `log_env` at fractional bin `bin` (clamped to the spectrum).
#[inline]
pub fn at_bin(log_env: &[f32], bin: f32) -> f32 {
    let last = log_env.len() - 1;
    let b = bin.clamp(0.0, last as f32);
    let i = (b as usize).min(last - 1);
    let f = b - i as f32;
    log_env[i] + (log_env[i + 1] - log_env[i]) * f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::synthetic::{Envelope, MALE_AH, voice};

    /// On a synthetic vowel the envelope follows the true formant curve at the harmonics (after
    /// removing the constant offset): plain smoothing within 3 dB, the true envelope within 1.
    #[test]
    fn follows_a_known_formant_envelope() {
        let sr = 48_000.0f64;
        let n = 2048;
        let size = 2 * n;
        let env = Envelope::new(&MALE_AH);
        for f0 in [100.0, 140.0, 200.0] {
            let x = voice(sr, &vec![f0; 8192], &env, 0.5);
            let mut planner = RealFftPlanner::<f32>::new();
            let fft = planner.plan_fft_forward(size);
            let mut frame = vec![0.0f32; size];
            for i in 0..n {
                let w = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n as f32).cos();
                frame[i] = w * x[4096 + i];
            }
            let mut spec = fft.make_output_vec();
            fft.process(&mut frame, &mut spec).unwrap();
            let mag: Vec<f32> = spec.iter().map(|c| c.norm()).collect();
            let mut ce = CepstralEnvelope::new(size);
            let mut log_env = vec![0.0; ce.bins()];
            for (iterations, limit) in [(0, 3.0), (8, 1.0)] {
                ce.estimate(&mag, 0.6 * (sr / f0) as f32, iterations, &mut log_env);
                let to_db = 20.0 / std::f64::consts::LN_10;
                let diffs: Vec<f64> = (1..)
                    .map(|h| h as f64 * f0)
                    .take_while(|hz| *hz < 4000.0)
                    .map(|hz| at_bin(&log_env, (hz * size as f64 / sr) as f32) as f64 * to_db - env.gain_db(hz))
                    .collect();
                let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
                let dev = diffs.iter().map(|d| (d - mean).abs()).sum::<f64>() / diffs.len() as f64;
                eprintln!("cepstral envelope, {iterations} iterations, F0 {f0} Hz: mean |dB| from the true envelope at the harmonics {dev:.2}");
                assert!(dev < limit, "F0 {f0}, {iterations} iterations: envelope off by {dev:.2} dB");
            }
        }
    }
}
