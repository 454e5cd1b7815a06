//! Measurements the shifters' tests share: shifting a signal through any [`Shifter`], levels,
//! harmonic levels against an envelope model, and the output-F0 error against a known track.

use super::Shifter;
use crate::analysis::pitch::PitchTracker;
use crate::analysis::synthetic::{Envelope, Formant, cycle_f0, voice};
use realfft::RealFftPlanner;
use std::f64::consts::TAU;

/// Runs `input` through `s` (pitch `semitones`, formant `formant`) in blocks of 256; returns the
/// output and the latency.
pub fn run(s: &mut dyn Shifter, input: &[f32], semitones: f32, formant: f32) -> (Vec<f32>, usize) {
    s.set_semitones(semitones);
    s.set_formant_semitones(formant);
    s.settle();
    let mut out = input.to_vec();
    for block in out.chunks_mut(256) {
        s.process(&mut [block]);
    }
    (out, s.latency_samples())
}

pub fn rms_db(x: &[f32]) -> f64 {
    10.0 * (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).log10()
}

/// Amplitude (dB) of the component at `hz` over `x` (single-bin DFT with a Hann window).
pub fn level_at(x: &[f32], sr: f64, hz: f64) -> f64 {
    let n = x.len();
    let (mut re, mut im, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
    for (i, v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
        let ph = std::f64::consts::TAU * hz * i as f64 / sr;
        re += w * *v as f64 * ph.cos();
        im -= w * *v as f64 * ph.sin();
        wsum += w;
    }
    20.0 * (2.0 * (re * re + im * im).sqrt() / wsum).max(1e-12).log10()
}

/// Mean |dB| difference between the levels of the harmonics of `fo` (up to `max_hz`) in `seg`
/// and an envelope model, after removing the mean offset (levels are relative). Harmonics where
/// the model is more than 80 dB under its largest value are left out: no real voice has that
/// range, and the synthetic envelopes fall that far.
pub fn envelope_deviation(seg: &[f32], sr: f64, fo: f64, max_hz: f64, model: &dyn Fn(f64) -> f64) -> f64 {
    let all: Vec<f64> = (1..).map(|h| h as f64 * fo).take_while(|hz| *hz < max_hz).collect();
    let top = all.iter().map(|hz| model(*hz)).fold(f64::NEG_INFINITY, f64::max);
    let hs: Vec<f64> = all.into_iter().filter(|hz| model(*hz) > top - 80.0).collect();
    let diffs: Vec<f64> = hs.iter().map(|hz| level_at(seg, sr, *hz) - model(*hz)).collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    diffs.iter().map(|d| (d - mean).abs()).sum::<f64>() / diffs.len() as f64
}

/// Median |cents| between the output's tracked F0 and the input's true F0 × the ratio, over
/// voiced estimates after the first 100 ms.
pub fn shift_error(s: &mut dyn Shifter, sr: f64, f0: &[f64], formants: &[Formant], n: f32) -> f64 {
    shift_error_with_formant(s, sr, f0, formants, n, 0.0)
}

/// [`shift_error`] with the formants shifted by `formant` semitones.
pub fn shift_error_with_formant(s: &mut dyn Shifter, sr: f64, f0: &[f64], formants: &[Formant], n: f32, formant: f32) -> f64 {
    median(signed_errors(s, sr, f0, formants, n, formant).into_iter().map(f64::abs).collect())
}

/// The median signed error (cents, + sharp) of [`shift_error_with_formant`]: whether the
/// output runs sharp or flat overall, which on a glide a median |error| near the tracker's
/// own floor hides.
pub fn shift_bias_with_formant(s: &mut dyn Shifter, sr: f64, f0: &[f64], formants: &[Formant], n: f32, formant: f32) -> f64 {
    median(signed_errors(s, sr, f0, formants, n, formant))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Cents between the output's tracked F0 and the input's true F0 × the ratio, per voiced
/// estimate after the first 100 ms: each against the true F0 of the cycle it measured
/// ([`cycle_f0`]), one latency earlier.
fn signed_errors(s: &mut dyn Shifter, sr: f64, f0: &[f64], formants: &[Formant], n: f32, formant: f32) -> Vec<f64> {
    let x = voice(sr, f0, &Envelope::new(formants), 0.5);
    let (y, latency) = run(s, &x, n, formant);
    let est = PitchTracker::analyse(sr as f32, &y, 60.0, 2000.0);
    let ratio = 2f64.powf(n as f64 / 12.0);
    est.iter()
        .filter(|(at, e)| e.voiced && *at > 0.1 * sr)
        .filter_map(|(at, e)| Some(1200.0 * (e.f0 as f64 / cycle_f0(f0, sr, *at - latency as f64, ratio)?).log2()))
        .collect()
}

/// Energy of `x` outside `lo..hi` Hz relative to inside, per 4096-sample frame (4-term
/// Blackman-Harris window, sidelobes under −92 dB), the band widened by the window's main
/// lobe; `band(t)` gives the band for the frame starting at sample `t`. Returns the worst
/// and the median frame (dB).
pub fn out_of_band_db(x: &[f32], sr: f64, band: &dyn Fn(usize) -> (f64, f64)) -> (f64, f64) {
    let n = 4096;
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let p = TAU * i as f64 / n as f64;
            0.35875 - 0.48829 * p.cos() + 0.14128 * (2.0 * p).cos() - 0.01168 * (3.0 * p).cos()
        })
        .collect();
    let lobe = 4.5 * sr / n as f64;
    let mut ratios = Vec::new();
    for t in (0..x.len().saturating_sub(n)).step_by(n / 2) {
        let mut frame: Vec<f64> = (0..n).map(|i| x[t + i] as f64 * w[i]).collect();
        let mut spec = fft.make_output_vec();
        fft.process(&mut frame, &mut spec).unwrap();
        let (lo, hi) = band(t);
        let (mut inside, mut outside) = (0.0, 0.0);
        for (k, c) in spec.iter().enumerate() {
            let hz = k as f64 * sr / n as f64;
            if hz >= lo - lobe && hz <= hi + lobe { inside += c.norm_sqr() } else { outside += c.norm_sqr() }
        }
        ratios.push(10.0 * (outside / inside.max(1e-30)).log10());
    }
    let worst = ratios.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    ratios.sort_by(f64::total_cmp);
    (worst, ratios[ratios.len() / 2])
}

/// The pitch automation the shifters' swept-sine tests send: 0 → +12 → −12 → 0 semitones over
/// `len` samples, in semitones at sample `t`.
pub fn sweep_semitones(t: usize, len: usize) -> f64 {
    let u = t as f64 / len as f64;
    if u < 0.25 { 48.0 * u } else if u < 0.75 { 12.0 - 48.0 * (u - 0.25) } else { -12.0 + 48.0 * (u - 0.75) }
}

/// Where a sine at `f` Hz swept by [`sweep_semitones`] (sent every 64 samples) may sound in the
/// 4096-sample frame starting at `t`: every shift set from `lookback` samples before the frame
/// to its end, widened by a quarter tone each side.
pub fn swept_band(f: f64, t: usize, lookback: usize, len: usize) -> (f64, f64) {
    let quarter_tone = 2f64.powf(0.5 / 12.0);
    let from = t.saturating_sub(lookback);
    let (lo, hi) = (from..(t + 4096).min(len)).step_by(64).map(|t| sweep_semitones(t, len)).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| (a.min(s), b.max(s)));
    (f * 2f64.powf(lo / 12.0) / quarter_tone, f * 2f64.powf(hi / 12.0) * quarter_tone)
}

/// `x` (a sine at `f` Hz) through `s` with the pitch swept by [`sweep_semitones`], set every 64
/// samples (and the formant with it when `formant_follows`): the energy outside the band the
/// shifted sine may sound in, from sample `skip` on, each frame's band spanning the shifts set
/// from `lookback` samples before it ([`swept_band`]). Returns the worst and the median frame
/// (dB, [`out_of_band_db`]).
pub fn swept_sine_out_of_band(s: &mut dyn Shifter, x: &[f32], sr: f64, f: f64, formant_follows: bool, skip: usize, lookback: usize) -> (f64, f64) {
    let len = x.len();
    let mut y = x.to_vec();
    for (b, block) in y.chunks_mut(64).enumerate() {
        let n = sweep_semitones(b * 64, len) as f32;
        s.set_semitones(n);
        if formant_follows {
            s.set_formant_semitones(n);
        }
        s.process(&mut [block]);
    }
    out_of_band_db(&y[skip..], sr, &|t| swept_band(f, t + skip, lookback, len))
}

/// `len` samples of white noise, uniform in ±0.25, from a fixed linear congruential sequence
/// (the same every run).
pub fn white_noise(len: usize) -> Vec<f32> {
    let mut state = 99u32;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.5
        })
        .collect()
}

/// Energy outside a quarter tone either side of `g` Hz in `y` from `from` on (worst and median
/// frame, dB, [`out_of_band_db`]): a sine held at one shift.
pub fn held_sine_out_of_band(y: &[f32], from: usize, sr: f64, g: f64) -> (f64, f64) {
    let quarter_tone = 2f64.powf(0.5 / 12.0);
    out_of_band_db(&y[from..], sr, &|_| (g / quarter_tone, g * quarter_tone))
}

