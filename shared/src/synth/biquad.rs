//! Second-order IIR sections (RBJ cookbook forms), transposed direct form II.
//! Called on the audio thread: no allocation.

#[derive(Debug, Clone, Copy, Default)]
pub struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    z1: f32,
    z2: f32,
}

impl Biquad {
    /// Band-pass with 0 dB peak gain at `freq_hz`, bandwidth `bw_hz` (−3 dB points).
    pub fn bandpass(sample_rate: f32, freq_hz: f32, bw_hz: f32) -> Self {
        let f = freq_hz.min(sample_rate * 0.45);
        let w0 = std::f32::consts::TAU * f / sample_rate;
        let q = (f / bw_hz).max(0.1);
        let alpha = w0.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        Self {
            b0: alpha / a0,
            b1: 0.0,
            b2: -alpha / a0,
            a1: -2.0 * w0.cos() / a0,
            a2: (1.0 - alpha) / a0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    /// Low-pass, unity gain at DC, resonance `q` (0.7071 for Butterworth).
    pub fn lowpass(sample_rate: f32, freq_hz: f32, q: f32) -> Self {
        let f = freq_hz.min(sample_rate * 0.45);
        let w0 = std::f32::consts::TAU * f / sample_rate;
        let alpha = w0.sin() / (2.0 * q);
        let c = w0.cos();
        let a0 = 1.0 + alpha;
        Self {
            b0: (1.0 - c) / 2.0 / a0,
            b1: (1.0 - c) / a0,
            b2: (1.0 - c) / 2.0 / a0,
            a1: -2.0 * c / a0,
            a2: (1.0 - alpha) / a0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    #[inline]
    pub fn process(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }

    pub fn reset(&mut self) {
        self.z1 = 0.0;
        self.z2 = 0.0;
    }

    /// Phase response (radians) at normalised angular frequency `w` (radians per sample).
    pub fn phase_at(&self, w: f64) -> f64 {
        let (c1, s1, c2, s2) = (w.cos(), -w.sin(), (2.0 * w).cos(), -(2.0 * w).sin());
        let (b0, b1, b2, a1, a2) = (self.b0 as f64, self.b1 as f64, self.b2 as f64, self.a1 as f64, self.a2 as f64);
        let num = (b1 * s1 + b2 * s2).atan2(b0 + b1 * c1 + b2 * c2);
        let den = (a1 * s1 + a2 * s2).atan2(1.0 + a1 * c1 + a2 * c2);
        num - den
    }

    /// Magnitude response at `freq_hz`.
    pub fn gain_at(&self, sample_rate: f32, freq_hz: f32) -> f32 {
        let w = std::f64::consts::TAU * freq_hz as f64 / sample_rate as f64;
        let (c1, s1, c2, s2) = (w.cos(), -w.sin(), (2.0 * w).cos(), -(2.0 * w).sin());
        let (b0, b1, b2, a1, a2) =
            (self.b0 as f64, self.b1 as f64, self.b2 as f64, self.a1 as f64, self.a2 as f64);
        let num = ((b0 + b1 * c1 + b2 * c2).powi(2) + (b1 * s1 + b2 * s2).powi(2)).sqrt();
        let den = ((1.0 + a1 * c1 + a2 * c2).powi(2) + (a1 * s1 + a2 * s2).powi(2)).sqrt();
        (num / den) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandpass_peaks_at_0_db_and_falls_3_db_at_band_edges() {
        let bp = Biquad::bandpass(48_000.0, 1000.0, 100.0);
        assert!((bp.gain_at(48_000.0, 1000.0) - 1.0).abs() < 1e-3);
        let edge = 20.0 * bp.gain_at(48_000.0, 1050.0).log10();
        assert!((edge + 3.0).abs() < 0.3, "{edge} dB");
    }

    #[test]
    fn lowpass_passes_dc_and_is_3_db_down_at_cutoff() {
        let lp = Biquad::lowpass(48_000.0, 4000.0, std::f32::consts::FRAC_1_SQRT_2);
        assert!((lp.gain_at(48_000.0, 1.0) - 1.0).abs() < 1e-3);
        let edge = 20.0 * lp.gain_at(48_000.0, 4000.0).log10();
        assert!((edge + 3.0).abs() < 0.1, "{edge} dB");
        assert!(20.0 * lp.gain_at(48_000.0, 16_000.0).log10() < -18.0);
    }
}
