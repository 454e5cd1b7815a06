//! Low-latency DSP pitch tracker: YIN (de Cheveigné & Kawahara, 2002) on a decimated copy of the
//! input, streaming, with the difference function computed through FFTs (realfft) so its cost
//! does not grow with the longest period. Written here rather than taken from a crate because
//! the converter needs it allocation-free on the audio thread at any sample rate, with a known
//! analysis delay and sub-sample period precision.
//!
//! The input is low-passed (two Butterworth sections at min(4 kHz, rate/4)) and decimated by
//! ⌊rate / 16 kHz⌋, so the analysis runs at 16–32 kHz whatever the host rate (8 kHz runs
//! undecimated). Every ~2.5 ms YIN compares the newest W = τmax decimated samples (τmax = one
//! period at `fmin`) with the same stretch one lag earlier: squared difference function,
//! cumulative-mean normalisation, the first dip under the threshold (0.12) followed to its
//! minimum, parabolic interpolation of the raw difference. The samples used are the newest
//! W + period, so an estimate describes the audio (W + period) / 2 before now
//! ([`Estimate::lag`]): the tracker looks back, never ahead.
//!
//! The period is refined on the newest two periods, and the instant it belongs to is the
//! slope-energy centroid of the compared pairs ([`Estimate::centre`]), not the window's middle:
//! on a moving pitch a period measured at the pulses is the period there. Timed so, on 48 kHz
//! synthetic voices the median error against each cycle's true F0 is 0.03 cents on a 60 → 120
//! Hz glide, 0.03 on a 5.5 Hz ±50 cent vibrato and 0.20 on 1 % jitter (timed at the window's
//! middle and against the F0 at that sample: 2.76, 0.41 and 1.80).

use crate::synth::biquad::Biquad;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// One pitch estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Fundamental frequency in Hz (the last voiced value when `voiced` is false, 0 before any).
    pub f0: f32,
    /// Period in host samples (matches `f0`).
    pub period: f32,
    /// 1 − the normalised difference at the chosen lag: near 1 for clean periodic sound.
    pub confidence: f32,
    pub voiced: bool,
    /// Host samples between the newest input and the middle of the audio this estimate
    /// describes: (window + period) / 2 plus the anti-alias filter's group delay. Steady from
    /// one estimate to the next: what a stream of estimates is interpolated along.
    pub lag: f32,
    /// Host samples between the newest input and the instant the measured period belongs to:
    /// where in the window the comparison weighs most (a voice's pulses), plus the filter's
    /// delay. Moves within the window with the pulses; on a moving pitch it is where the
    /// estimate is exact ([`PitchTracker::analyse`] times each estimate there).
    pub centre: f32,
}

impl Estimate {
    const NONE: Estimate = Estimate { f0: 0.0, period: 0.0, confidence: 0.0, voiced: false, lag: 0.0, centre: 0.0 };
}

const THRESHOLD: f64 = 0.12;
/// Normalised difference above which a frame is unvoiced.
const VOICING: f64 = 0.3;
/// Normalised difference up to which an ongoing voice stays voiced.
const VOICING_HOLD: f64 = 0.5;
/// Mean square below which the window is silence (−80 dBFS).
const SILENCE: f64 = 1e-8;

pub struct PitchTracker {
    sample_rate: f32,
    decim: usize,
    phase: usize,
    lp: [Biquad; 2],
    tau_min: usize,
    tau_max: usize,
    win: usize,
    len: usize,
    ring: Vec<f64>,
    write: usize,
    filled: usize,
    hop: usize,
    countdown: usize,
    n: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    ifft: Arc<dyn ComplexToReal<f64>>,
    frame: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    sa: Vec<Complex<f64>>,
    sb: Vec<Complex<f64>>,
    scratch_fwd: Vec<Complex<f64>>,
    scratch_inv: Vec<Complex<f64>>,
    prefix: Vec<f64>,
    d: Vec<f64>,
    latest: Estimate,
    filter_delay: f32,
}

impl PitchTracker {
    /// A tracker for F0 in `fmin..fmax` Hz. Allocates; everything after this does not.
    pub fn new(sample_rate: f32, fmin: f32, fmax: f32) -> Self {
        assert!(fmin > 0.0 && fmax > fmin);
        let decim = ((sample_rate / 16_000.0).floor() as usize).max(1);
        let rate = sample_rate as f64 / decim as f64;
        let cutoff = (4000.0f32).min(rate as f32 / 4.0);
        let q1 = 0.541_196_1; // 4th-order Butterworth: Q of its two sections
        let q2 = 1.306_563;
        let tau_max = (rate / fmin as f64).ceil() as usize + 1;
        let tau_min = ((rate / fmax as f64).floor() as usize).max(2);
        let win = tau_max;
        let len = win + tau_max + 2;
        let n = (len + win).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let ifft = planner.plan_fft_inverse(n);
        let mut t = Self {
            sample_rate,
            decim,
            phase: 0,
            lp: [Biquad::lowpass(sample_rate, cutoff, q1), Biquad::lowpass(sample_rate, cutoff, q2)],
            tau_min,
            tau_max,
            win,
            len,
            ring: vec![0.0; len],
            write: 0,
            filled: 0,
            hop: ((0.0025 * rate).round() as usize).max(1),
            countdown: 0,
            n,
            a: fft.make_input_vec(),
            b: fft.make_input_vec(),
            sa: fft.make_output_vec(),
            sb: fft.make_output_vec(),
            scratch_fwd: fft.make_scratch_vec(),
            scratch_inv: ifft.make_scratch_vec(),
            fft,
            ifft,
            frame: vec![0.0; len],
            prefix: vec![0.0; len + 1],
            d: vec![0.0; tau_max + 2],
            latest: Estimate::NONE,
            filter_delay: 0.0,
        };
        t.filter_delay = t.group_delay();
        t
    }

    /// The longest [`Estimate::lag`]: (W + τmax) / 2 plus the filter delay, host samples.
    pub fn max_lag(&self) -> f32 {
        (self.win + self.tau_max) as f32 / 2.0 * self.decim as f32 + self.filter_delay
    }

    fn group_delay(&self) -> f32 {
        // Group delay at DC of the two sections: Σ (1/(π f_c)) · 1/(2Q)-ish; measured numerically.
        let f = 50.0f64;
        let w = std::f64::consts::TAU * f / self.sample_rate as f64;
        let dw = 1e-4;
        let phase = |w: f64| {
            let mut p = 0.0;
            for s in &self.lp {
                p += s.phase_at(w);
            }
            p
        };
        (-(phase(w + dw) - phase(w - dw)) / (2.0 * dw)) as f32
    }

    /// Host samples between estimates (~2.5 ms).
    pub fn hop_samples(&self) -> usize {
        self.hop * self.decim
    }

    pub fn latest(&self) -> Estimate {
        self.latest
    }

    pub fn reset(&mut self) {
        self.lp.iter_mut().for_each(Biquad::reset);
        self.ring.iter_mut().for_each(|v| *v = 0.0);
        self.phase = 0;
        self.write = 0;
        self.filled = 0;
        self.countdown = 0;
        self.latest = Estimate::NONE;
    }

    /// Feeds one host sample; true when this sample completed a new estimate.
    #[inline]
    pub fn push(&mut self, x: f32) -> bool {
        let x = if x.is_finite() { x } else { 0.0 };
        let y0 = self.lp[0].process(x);
        let y = self.lp[1].process(y0);
        self.phase += 1;
        if self.phase < self.decim {
            return false;
        }
        self.phase = 0;
        self.ring[self.write] = y as f64;
        self.write = (self.write + 1) % self.len;
        self.filled = (self.filled + 1).min(self.len);
        if self.countdown > 0 {
            self.countdown -= 1;
            return false;
        }
        self.countdown = self.hop - 1;
        if self.filled < self.len {
            return false;
        }
        self.estimate();
        true
    }

    fn estimate(&mut self) {
        let (len, win, n) = (self.len, self.win, self.n);
        // Newest first: the window W is the newest audio, the lags reach back from it.
        for i in 0..len {
            self.frame[i] = self.ring[(self.write + len - 1 - i) % len];
        }
        let x = &self.frame;
        self.prefix[0] = 0.0;
        for (i, v) in x.iter().enumerate() {
            self.prefix[i + 1] = self.prefix[i] + v * v;
        }
        let e1 = self.prefix[win];
        if self.prefix[len] / (len as f64) < SILENCE {
            self.latest = Estimate { voiced: false, confidence: 0.0, lag: self.max_lag(), centre: self.max_lag(), ..self.latest };
            return;
        }
        // acf(τ) = Σ_{j<W} x_j x_{j+τ}: circular cross-correlation of the first W samples with
        // the frame, padded so that no positive lag wraps.
        self.a[..win].copy_from_slice(&x[..win]);
        self.a[win..].iter_mut().for_each(|v| *v = 0.0);
        self.b[..len].copy_from_slice(x);
        self.b[len..].iter_mut().for_each(|v| *v = 0.0);
        self.fft.process_with_scratch(&mut self.a, &mut self.sa, &mut self.scratch_fwd).expect("sizes from the plan");
        self.fft.process_with_scratch(&mut self.b, &mut self.sb, &mut self.scratch_fwd).expect("sizes from the plan");
        for (a, b) in self.sa.iter_mut().zip(&self.sb) {
            *a = a.conj() * b;
        }
        self.ifft.process_with_scratch(&mut self.sa, &mut self.a, &mut self.scratch_inv).expect("sizes from the plan");
        let scale = 1.0 / n as f64;
        let tmax = self.tau_max;
        for tau in 0..=tmax + 1 {
            let e2 = self.prefix[tau + win] - self.prefix[tau];
            self.d[tau] = (e1 + e2 - 2.0 * self.a[tau] * scale).max(0.0);
        }
        // Cumulative-mean normalised difference, evaluated on the fly.
        let mut sum = 0.0;
        let mut chosen = None;
        let mut best = (f64::INFINITY, self.tau_min);
        let cmnd = |d: f64, tau: usize, sum: f64| if sum > 0.0 { d * tau as f64 / sum } else { 1.0 };
        let mut tau = 1;
        while tau <= tmax {
            sum += self.d[tau];
            if tau >= self.tau_min {
                let c = cmnd(self.d[tau], tau, sum);
                if c < best.0 {
                    best = (c, tau);
                }
                if c < THRESHOLD {
                    // Follow the dip to its minimum.
                    let (mut t, mut s, mut cur) = (tau, sum, c);
                    while t < tmax {
                        let s2 = s + self.d[t + 1];
                        let c2 = cmnd(self.d[t + 1], t + 1, s2);
                        if c2 >= cur {
                            break;
                        }
                        t += 1;
                        s = s2;
                        cur = c2;
                    }
                    chosen = Some((cur, t));
                    break;
                }
            }
            tau += 1;
        }
        let (c, t) = chosen.unwrap_or(best);
        // Refine on the newest period only: the difference over a window of one coarse period,
        // at lags around it. Same precision on clean voices, and the estimate then describes
        // the newest two periods (lag = one period) instead of the whole analysis window.
        let short = t.min(self.tau_max);
        let lo = t.saturating_sub(2).max(1);
        let hi = (t + 2).min(self.tau_max + 1);
        let dshort = |tau: usize| -> f64 { (0..short).map(|j| (x[j] - x[j + tau]).powi(2)).sum() };
        let mut best_tau = t;
        let mut best_d = f64::INFINITY;
        for tau in lo..=hi {
            let d = dshort(tau);
            if d < best_d {
                best_d = d;
                best_tau = tau;
            }
        }
        let t = best_tau.clamp(lo.max(1) + 1, hi.max(lo + 2) - 1).clamp(1, self.tau_max);
        let (dm, d0, dp) = (dshort(t - 1), dshort(t), dshort(t + 1));
        let den = dm - 2.0 * d0 + dp;
        let delta = if den > 0.0 { (0.5 * (dm - dp) / den).clamp(-1.0, 1.0) } else { 0.0 };
        let period = (t as f64 + delta) * self.decim as f64;
        // Hysteresis: a voice already heard stays voiced through breathier periods (up to
        // VOICING_HOLD) as long as its period carries on (within 15 %); a new voice must be
        // clearly periodic (VOICING) to start.
        let continues = self.latest.voiced && self.latest.period > 0.0 && (period as f32 / self.latest.period - 1.0).abs() < 0.15;
        let voiced = c < VOICING || (continues && c < VOICING_HOLD);
        // The time the period belongs to: each pair of samples one period apart spans its own
        // interval, and the difference's minimum is decided where the waveform changes fastest
        // (a voice's pulses), so the estimate describes the slope-energy centroid of the pairs'
        // midpoints, not the window's middle. On a glide the two differ by up to half a period
        // of pitch movement: timed at the middle, the tracker read a 60 → 120 Hz glide 2.76
        // cents off (median), nearly all of it this scatter.
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let half = (t as f64 + delta) / 2.0;
        for j in 1..short {
            let w = (x[j + 1] - x[j - 1]).powi(2) + (x[j + t + 1] - x[j + t - 1]).powi(2);
            num += w * (j as f64 + half);
            den += w;
        }
        let middle = (short as f64 + period / self.decim as f64) / 2.0;
        let lag = (middle * self.decim as f64) as f32 + self.filter_delay;
        let centre = ((if den > 0.0 { num / den } else { middle }) * self.decim as f64) as f32 + self.filter_delay;
        let confidence = (1.0 - c).clamp(0.0, 1.0) as f32;
        self.latest = if voiced || self.latest.f0 == 0.0 {
            Estimate { f0: (self.sample_rate as f64 / period) as f32, period: period as f32, confidence, voiced, lag, centre }
        } else {
            Estimate { voiced: false, confidence, lag, centre, ..self.latest }
        };
    }

    /// Offline: every estimate over `audio`, each with the host sample index it describes.
    pub fn analyse(sample_rate: f32, audio: &[f32], fmin: f32, fmax: f32) -> Vec<(f64, Estimate)> {
        let mut t = PitchTracker::new(sample_rate, fmin, fmax);
        let mut out = Vec::new();
        for (i, &x) in audio.iter().enumerate() {
            if t.push(x) {
                let e = t.latest();
                out.push((i as f64 - e.centre as f64, e));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::synthetic::{Envelope, FEMALE_EE, MALE_AH, cycle_f0, track, voice};

    fn cents(a: f64, b: f64) -> f64 {
        1200.0 * (a / b).log2()
    }

    /// Median and 95th-percentile |error| in cents of the voiced estimates against the true F0
    /// of the cycle each estimate measured; also the fraction voiced.
    fn errors(sr: f64, f0: &[f64], formants: &[crate::analysis::synthetic::Formant]) -> (f64, f64, f64) {
        let x = voice(sr, f0, &Envelope::new(formants), 0.5);
        let est = PitchTracker::analyse(sr as f32, &x, 60.0, 1000.0);
        let mut errs = Vec::new();
        let mut voiced = 0;
        let total = est.len();
        for (at, e) in &est {
            let Some(truth) = cycle_f0(f0, sr, *at, 1.0).filter(|_| *at >= 0.05 * sr) else { continue };
            if e.voiced {
                voiced += 1;
                errs.push(cents(e.f0 as f64, truth));
            }
        }
        errs.sort_by(f64::total_cmp);
        eprintln!("   signed median {:.2}", errs[errs.len() / 2]);
        let mut errs: Vec<f64> = errs.iter().map(|e| e.abs()).collect();
        errs.sort_by(f64::total_cmp);
        let pct = |p: f64| errs[((errs.len() - 1) as f64 * p) as usize];
        (pct(0.5), pct(0.95), voiced as f64 / total as f64)
    }

    #[test]
    fn steady_tones_at_every_rate_within_1_5_cents() {
        let mut worst = (0.0f64, String::new());
        for sr in [8_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            for f in [82.0, 110.0, 220.0, 440.0, 880.0f64] {
                if f * 4.0 > sr / 2.0 {
                    continue;
                }
                let track = vec![f; (0.4 * sr) as usize];
                let (median, p95, voiced) = errors(sr, &track, &MALE_AH);
                if median > worst.0 {
                    worst = (median, format!("{sr} Hz rate, {f} Hz: median {median:.3}, p95 {p95:.3} cents"));
                }
                assert!(median <= 1.5 && p95 <= 3.0, "{sr} Hz rate, {f} Hz: median {median:.3}, p95 {p95:.3} cents");
                assert!(voiced > 0.6, "{sr} Hz, {f} Hz: voiced {voiced}");
            }
        }
        eprintln!("YIN steady tones, worst case: {}", worst.1);
    }

    #[test]
    fn glides_vibrato_and_jitter_are_followed() {
        let sr = 48_000.0;
        type Case<'a> = (&'a str, Vec<f64>, &'a [crate::analysis::synthetic::Formant], f64, f64);
        let cases: [Case; 5] = [
            ("glide 100→200 Hz / 1 s", track::glide(sr, 1.0, 100.0, 200.0), &MALE_AH, 0.2, 0.5),
            ("glide 60→120 Hz / 1 s", track::glide(sr, 1.0, 60.0, 120.0), &MALE_AH, 0.2, 0.5),
            ("glide 400→200 Hz / 1 s", track::glide(sr, 1.0, 400.0, 200.0), &FEMALE_EE, 0.2, 0.5),
            ("vibrato 220 Hz ±50 c 5.5 Hz", track::vibrato(sr, 1.0, 220.0, 50.0, 5.5), &FEMALE_EE, 0.2, 0.5),
            ("jitter 130 Hz ±1 %", track::jitter(sr, 1.0, 130.0, 1.0, 7), &MALE_AH, 1.0, 5.0),
        ];
        for (name, f0, formants, max_median, max_p95) in cases {
            let (median, p95, voiced) = errors(sr, &f0, formants);
            eprintln!("YIN {name}: median {median:.2} cents, p95 {p95:.2}, voiced {:.0} %", voiced * 100.0);
            assert!(median <= max_median && p95 <= max_p95, "{name}: median {median:.2}, p95 {p95:.2} cents");
            assert!(voiced > 0.9, "{name}: voiced {voiced}");
        }
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let mut t = PitchTracker::new(48_000.0, 60.0, 1000.0);
        let mut state = 12345u32;
        let mut voiced = 0;
        let mut count = 0;
        for i in 0..48_000 {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            let x = if i < 24_000 { ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.5 } else { 0.0 };
            if t.push(x) {
                count += 1;
                voiced += t.latest().voiced as usize;
            }
        }
        assert!(count > 300);
        assert!((voiced as f64) < 0.05 * count as f64, "{voiced} of {count} noise/silence frames voiced");
        assert!(!t.latest().voiced);
    }

    #[test]
    fn nan_input_keeps_estimates_finite() {
        let mut t = PitchTracker::new(44_100.0, 60.0, 1000.0);
        for i in 0..10_000 {
            t.push(if i % 100 == 0 { f32::NAN } else { (i as f32 * 0.05).sin() });
        }
        assert!(t.latest().f0.is_finite());
    }
}
