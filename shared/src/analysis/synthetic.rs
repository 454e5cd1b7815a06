//! Voiced test signals with known answers: a harmonic source whose F0 follows a given track
//! sample by sample, shaped by a known spectral envelope (a source tilt times vowel formant
//! resonances). Every harmonic's amplitude is the envelope at its own frequency, so both the
//! F0 at every sample and the envelope are exact: the tests of the pitch tracker and the
//! converter measure against them. Not for the audio thread (allocates).

/// One formant resonance.
#[derive(Clone, Copy, Debug)]
pub struct Formant {
    pub freq: f64,
    pub bandwidth: f64,
}

/// Adult male /ɑ/ (Hillenbrand et al. 1995 F1/F2; F3–F4 typical), bandwidths typical of speech.
pub const MALE_AH: [Formant; 4] = [
    Formant { freq: 768.0, bandwidth: 80.0 },
    Formant { freq: 1333.0, bandwidth: 90.0 },
    Formant { freq: 2522.0, bandwidth: 120.0 },
    Formant { freq: 3500.0, bandwidth: 200.0 },
];

/// Adult female /i/ (Hillenbrand et al. 1995 F1/F2; F3–F4 typical).
pub const FEMALE_EE: [Formant; 4] = [
    Formant { freq: 437.0, bandwidth: 60.0 },
    Formant { freq: 2761.0, bandwidth: 100.0 },
    Formant { freq: 3372.0, bandwidth: 150.0 },
    Formant { freq: 4200.0, bandwidth: 200.0 },
];

/// A spectral envelope: a −12 dB/octave glottal tilt above 100 Hz times the formants' two-pole
/// resonances (each unity at DC), normalised to 0 dB at its maximum over 50 Hz–8 kHz.
#[derive(Clone, Debug)]
pub struct Envelope {
    formants: Vec<Formant>,
    norm: f64,
}

impl Envelope {
    pub fn new(formants: &[Formant]) -> Self {
        let mut e = Self { formants: formants.to_vec(), norm: 1.0 };
        let peak = (0..800).map(|k| e.gain(50.0 + k as f64 * 10.0)).fold(0.0, f64::max);
        e.norm = 1.0 / peak;
        e
    }

    /// Linear gain at `hz`.
    pub fn gain(&self, hz: f64) -> f64 {
        let tilt = 1.0 / (1.0 + (hz / 100.0).powi(2));
        let mut g = tilt;
        for f in &self.formants {
            // |H| of a two-pole resonance with unity DC gain: F² / |F² − f² + j f B|.
            let num = f.freq * f.freq;
            let re = f.freq * f.freq - hz * hz;
            let im = hz * f.bandwidth;
            g *= num / (re * re + im * im).sqrt();
        }
        g * self.norm
    }

    pub fn gain_db(&self, hz: f64) -> f64 {
        20.0 * self.gain(hz).max(1e-12).log10()
    }
}

/// F0 tracks, one value (Hz) per sample.
pub mod track {
    /// Exponential glide from `from` to `to` Hz.
    pub fn glide(sample_rate: f64, seconds: f64, from: f64, to: f64) -> Vec<f64> {
        let n = (seconds * sample_rate) as usize;
        (0..n).map(|i| from * (to / from).powf(i as f64 / n.max(1) as f64)).collect()
    }

    /// Sinusoidal vibrato of ± `depth_cents` at `rate_hz` around `centre`.
    pub fn vibrato(sample_rate: f64, seconds: f64, centre: f64, depth_cents: f64, rate_hz: f64) -> Vec<f64> {
        let n = (seconds * sample_rate) as usize;
        (0..n)
            .map(|i| centre * 2f64.powf(depth_cents / 1200.0 * (std::f64::consts::TAU * rate_hz * i as f64 / sample_rate).sin()))
            .collect()
    }

    /// Jitter: a new random F0 offset (uniform within ± `percent` %) each period, joined
    /// smoothly over the period (cosine interpolation), so the track is known at every sample.
    pub fn jitter(sample_rate: f64, seconds: f64, centre: f64, percent: f64, seed: u64) -> Vec<f64> {
        let n = (seconds * sample_rate) as usize;
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut rand = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut out = Vec::with_capacity(n);
        let (mut a, mut b) = (centre, centre * (1.0 + percent / 100.0 * rand()));
        let mut pos = 0.0;
        for _ in 0..n {
            let f = a + (b - a) * 0.5 * (1.0 - (std::f64::consts::PI * pos).cos());
            out.push(f);
            pos += f / sample_rate;
            if pos >= 1.0 {
                pos -= 1.0;
                a = b;
                b = centre * (1.0 + percent / 100.0 * rand());
            }
        }
        out
    }
}

/// The true F0 of the cycle centred at sample `at` of a voice whose F0 track is `ratio` ×
/// `f0`: 1 / the time its phase takes to advance one cycle there (None near the ends). What a
/// period tracker can measure: where the F0 moves within a cycle (jitter), the F0 at one
/// sample differs from the cycle's, by up to 5 cents on 1 % jitter an octave down.
pub fn cycle_f0(f0: &[f64], sample_rate: f64, at: f64, ratio: f64) -> Option<f64> {
    // Cycles between at − p/2 and at + p/2, each sample's F0 holding over [i, i + 1) as in
    // [`voice`].
    let cycles = |p: f64| -> Option<f64> {
        let (a, b) = (at - 0.5 * p, at + 0.5 * p);
        if !(a >= 0.0 && b < f0.len() as f64 - 1.0) {
            return None;
        }
        let (ia, ib) = (a.floor() as usize, b.floor() as usize);
        let sum = if ia == ib {
            f0[ia] * (b - a)
        } else {
            f0[ia] * ((ia + 1) as f64 - a) + f0[ia + 1..ib].iter().sum::<f64>() + f0[ib] * (b - ib as f64)
        };
        Some(sum * ratio / sample_rate)
    };
    let i = at.round();
    if !(i >= 0.0 && (i as usize) < f0.len()) || f0[i as usize] <= 0.0 {
        return None;
    }
    let mut p = sample_rate / (ratio * f0[i as usize]);
    for _ in 0..5 {
        p /= cycles(p)?;
    }
    Some(sample_rate / p)
}

/// The harmonic voice for an F0 track: harmonics up to 0.45 × the sample rate, each at the
/// envelope's gain for its current frequency (amplitudes updated every 16 samples), scaled so
/// the peak is about `peak`.
pub fn voice(sample_rate: f64, f0: &[f64], envelope: &Envelope, peak: f32) -> Vec<f32> {
    let max_h = (0.45 * sample_rate / f0.iter().cloned().fold(f64::INFINITY, f64::min)).floor() as usize;
    let mut amps = vec![0.0f64; max_h + 1];
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(f0.len());
    for (i, &f) in f0.iter().enumerate() {
        if i % 16 == 0 {
            for (h, a) in amps.iter_mut().enumerate().skip(1) {
                let hz = h as f64 * f;
                *a = if hz < 0.45 * sample_rate { envelope.gain(hz) } else { 0.0 };
            }
        }
        let mut s = 0.0;
        for (h, a) in amps.iter().enumerate().skip(1) {
            if *a != 0.0 {
                s += a * (h as f64 * phase).sin();
            }
        }
        out.push(s);
        phase = (phase + std::f64::consts::TAU * f / sample_rate) % (std::f64::consts::TAU * 1e6);
    }
    let max = out.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    out.iter().map(|v| (v / max * peak as f64) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_peaks_near_the_formants() {
        let e = Envelope::new(&MALE_AH);
        // A local maximum within 3 % of each formant, and no other between 200 Hz and 5 kHz.
        let g: Vec<f64> = (200..5000).map(|hz| e.gain_db(hz as f64)).collect();
        let peaks: Vec<f64> = (1..g.len() - 1).filter(|&i| g[i] > g[i - 1] && g[i] >= g[i + 1]).map(|i| 200.0 + i as f64).collect();
        assert_eq!(peaks.len(), MALE_AH.len(), "{peaks:?}");
        for (p, f) in peaks.iter().zip(&MALE_AH) {
            assert!((p / f.freq - 1.0).abs() < 0.03, "peak {p} Hz for formant {} Hz", f.freq);
        }
    }

    #[test]
    fn tracks_hit_their_targets() {
        let g = track::glide(16_000.0, 1.0, 100.0, 200.0);
        assert_eq!(g[0], 100.0);
        assert!((g[g.len() - 1] - 200.0).abs() < 0.1);
        let v = track::vibrato(16_000.0, 1.0, 200.0, 50.0, 5.0);
        let max = v.iter().cloned().fold(0.0, f64::max);
        assert!((1200.0 * (max / 200.0).log2() - 50.0).abs() < 0.1);
        let j = track::jitter(16_000.0, 1.0, 150.0, 1.0, 3);
        assert!(j.iter().all(|f| (f / 150.0 - 1.0).abs() <= 0.0101));
    }
}
