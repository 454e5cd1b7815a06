//! Denoise: RNNoise (the `nnnoiseless` port) on 480-sample frames at 48 kHz, each channel on its
//! own, mixed into the signal by an amount with the dry part delayed to match. Other host rates
//! go to 48 kHz and back through rubato's FFT resamplers in fixed chunks.
//!
//! RNNoise runs on the inference pool (`rt::pool`, through `rt::lookahead`), not on the audio
//! thread: nnnoiseless plans its FFTs and scratch buffers lazily in thread-locals (easyfft), so
//! its first frame on any thread allocates, and hosts may call `process` from several threads.
//! A frame's result is due `WORKER_ALLOWANCE_S` after the frame is complete; a late one is
//! replaced by the unprocessed frame (counted), offline rendering waits for it instead.
//! `process` runs on the audio thread: no allocation, lock or wait after `new` (except the
//! offline wait).
//!
//! Latency, in host samples, exactly: one host chunk (the chunk is complete before it is
//! resampled) + both resamplers' linear-phase filter delays + RNNoise's own frame (its output is
//! the frame before its input) + the worker allowance + a pad at 48 kHz that makes the total a
//! whole number of host samples. 40 ms at 48 kHz (1920 samples), 56.7 ms at 44.1 kHz (2499).

use crate::rt::delay::DelayLine;
use crate::rt::lookahead::Lookahead;
use crate::rt::pool::Pool;
use nnnoiseless::DenoiseState;
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};
use std::time::Duration;

/// RNNoise's rate and frame.
pub const RATE: usize = 48_000;
pub const FRAME: usize = 480;
/// Channels denoised (the converter is mono or stereo).
pub const MAX_CHANNELS: usize = 2;
/// Time a frame's result may take on the pool before it is due: results submitted in one host
/// callback can only be collected in a later one, so this covers host blocks up to 960 samples
/// at 48 kHz with the worker's ~0.1 ms per frame to spare.
pub const WORKER_ALLOWANCE_S: f64 = 0.020;
/// Longest 48 kHz chunk a rate may need; rates needing more (not a multiple of 25 Hz) are not
/// supported and the stage passes the signal through with no latency.
const MAX_CHUNK_48K: usize = 3840;
/// How long offline rendering waits for one frame before giving up on the worker.
const OFFLINE_WAIT: Duration = Duration::from_secs(10);
/// RNNoise takes samples on the 16-bit scale.
const PCM_SCALE: f32 = 32768.0;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// How the host rate goes to 48 kHz and back: host chunks of `host_chunk` samples are
/// `chunk_48k` samples at 48 kHz (a whole number of RNNoise frames); each resampler works in
/// FFT blocks of `sub_host` ↔ `sub_48k` samples, both even so that the filter delay (half a
/// block) is a whole number of samples on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub host_chunk: usize,
    pub chunk_48k: usize,
    /// Resampler FFT block on the host side (0: the host runs at 48 kHz, no resampling).
    pub sub_host: usize,
    pub sub_48k: usize,
    /// Delay at 48 kHz that makes the total a whole number of host samples.
    pub pad_48k: usize,
    /// Chunks between a chunk's submission and the moment its result is due.
    pub due_chunks: usize,
}

impl Plan {
    /// The plan for `sample_rate`, or `None` when the rate is not a multiple of 25 Hz.
    pub fn for_rate(sample_rate: f32) -> Option<Plan> {
        let sr = sample_rate.round() as usize;
        if sr == 0 || (sample_rate - sr as f32).abs() > 1e-3 {
            return None;
        }
        let g = gcd(sr, RATE);
        let (a, b) = (sr / g, RATE / g);
        let lcm = |x: usize, y: usize| x / gcd(x, y) * y;
        let (chunk_48k, sub_48k) = if sr == RATE {
            (FRAME, 0)
        } else {
            // Even multiples k of the smallest block pair: the smallest chunk first, then the
            // block nearest 200 samples at 48 kHz (longer blocks filter better, shorter ones
            // delay less; 160..320 passes speech to 18 kHz and more).
            (1..=MAX_CHUNK_48K / b / 2)
                .map(|h| 2 * h)
                .map(|k| (lcm(FRAME, k * b), k * b))
                .filter(|(m, _)| *m <= MAX_CHUNK_48K)
                .min_by_key(|(m, sub)| (*m, sub.abs_diff(200), *sub))?
        };
        let host_chunk = chunk_48k * a / b;
        let sub_host = sub_48k * a / b;
        let pad_48k = (b - FRAME % b) % b;
        let allowance = (WORKER_ALLOWANCE_S * RATE as f64).round() as usize;
        let due_chunks = allowance.div_ceil(chunk_48k);
        Some(Plan { host_chunk, chunk_48k, sub_host, sub_48k, pad_48k, due_chunks })
    }

    /// Input-to-output delay in host samples (exact: the 48 kHz part is a multiple of the 48 kHz
    /// side of the smallest block pair).
    pub fn latency_samples(&self) -> usize {
        let at_48k = FRAME + self.due_chunks * self.chunk_48k + self.pad_48k;
        self.host_chunk + self.sub_host + at_48k * self.host_chunk / self.chunk_48k
    }

    fn frames_per_chunk(&self) -> usize {
        self.chunk_48k / FRAME
    }
}

/// The stage's latency at `sample_rate` (0 where it cannot run).
pub fn latency_for(sample_rate: f32) -> usize {
    Plan::for_rate(sample_rate).map_or(0, |p| p.latency_samples())
}

/// One RNNoise frame per channel, carried by value through the pool's rings.
#[derive(Clone, Copy)]
pub struct Frames {
    pub data: [[f32; FRAME]; MAX_CHANNELS],
}

impl Default for Frames {
    fn default() -> Self {
        Self { data: [[0.0; FRAME]; MAX_CHANNELS] }
    }
}

/// A job for the worker: a frame per channel, and whether to start from a fresh state (after a
/// host reset).
pub struct Job {
    pub reset: bool,
    pub frames: Frames,
}

/// What the worker does with a frame: RNNoise, or a stand-in in tests. Must behave like RNNoise
/// in time: its output is the frame before its input.
pub type Kernel = Box<dyn FnMut(Job) -> Frames + Send>;

/// RNNoise on every channel; runs on a pool thread (allocates its FFT plans there).
pub fn rnnoise_kernel(channels: usize) -> Kernel {
    let mut states: Vec<Box<DenoiseState<'static>>> = (0..channels).map(|_| DenoiseState::new()).collect();
    Box::new(move |job: Job| {
        if job.reset {
            states.iter_mut().for_each(|s| *s = DenoiseState::new());
        }
        let mut out = Frames::default();
        let mut x = [0.0f32; FRAME];
        for (c, s) in states.iter_mut().enumerate() {
            for (x, v) in x.iter_mut().zip(&job.frames.data[c]) {
                *x = v * PCM_SCALE;
            }
            s.process_frame(&mut out.data[c], &x);
            for v in out.data[c].iter_mut() {
                *v = if v.is_finite() { *v / PCM_SCALE } else { 0.0 };
            }
        }
        out
    })
}

/// The denoise stage for one activation.
pub struct Denoise {
    plan: Option<Plan>,
    channels: usize,
    up: Option<Fft<f32>>,
    down: Option<Fft<f32>>,
    host_in: Vec<Vec<f32>>,
    host_out: Vec<Vec<f32>>,
    pos: usize,
    in_48k: Vec<Vec<f32>>,
    out_48k: Vec<Vec<f32>>,
    pad: DelayLine,
    /// The last frames submitted, for the fallback (RNNoise's output is the frame before).
    history: Vec<Frames>,
    refused: Vec<bool>,
    worker: Lookahead<Job, Frames>,
    /// Frame numbers: `base` is the first frame since the last reset, `submitted` counts all.
    base: u64,
    submitted: u64,
    chunks: u64,
    reset_pending: bool,
    offline: bool,
    dry: DelayLine,
    amount: f32,
    amount_now: f32,
    amount_step: f32,
}

impl Denoise {
    /// RNNoise on the process-wide pool. `offline`: wait for the worker instead of falling back.
    pub fn new(channels: usize, sample_rate: f32, offline: bool) -> Self {
        Self::with_kernel(channels, sample_rate, offline, Pool::global(), rnnoise_kernel(channels.clamp(1, MAX_CHANNELS)))
    }

    /// The stage with any frame kernel on any pool (tests measure the chain with a kernel whose
    /// delay is known exactly).
    pub fn with_kernel(channels: usize, sample_rate: f32, offline: bool, pool: &Pool, mut kernel: Kernel) -> Self {
        let channels = channels.clamp(1, MAX_CHANNELS);
        let plan = Plan::for_rate(sample_rate);
        let p = plan.unwrap_or(Plan { host_chunk: 1, chunk_48k: FRAME, sub_host: 0, sub_48k: 0, pad_48k: 0, due_chunks: 1 });
        let make = |from: usize, to: usize, chunk: usize, sub: usize| {
            Fft::<f32>::new_custom(from, to, chunk, chunk / sub, channels, WindowFunction::BlackmanHarris2, FixedSync::Input).expect("resampler for a planned rate")
        };
        let sr = sample_rate.round() as usize;
        let (up, down) = if plan.is_some() && p.sub_host > 0 {
            (Some(make(sr, RATE, p.host_chunk, p.sub_host)), Some(make(RATE, sr, p.chunk_48k, p.sub_48k)))
        } else {
            (None, None)
        };
        if let (Some(u), Some(d)) = (&up, &down) {
            debug_assert_eq!((u.output_frames_next(), d.output_frames_next()), (p.chunk_48k, p.host_chunk));
            debug_assert_eq!(2 * u.output_delay(), p.sub_48k);
        }
        let frames_in_flight = (p.due_chunks + 1) * p.frames_per_chunk();
        let history_len = frames_in_flight + 2;
        Self {
            plan,
            channels,
            up,
            down,
            host_in: vec![vec![0.0; p.host_chunk]; channels],
            host_out: vec![vec![0.0; p.host_chunk]; channels],
            pos: 0,
            in_48k: vec![vec![0.0; p.chunk_48k]; channels],
            out_48k: vec![vec![0.0; p.chunk_48k]; channels],
            pad: DelayLine::new(channels, p.pad_48k),
            history: vec![Frames::default(); history_len],
            refused: vec![false; history_len],
            worker: Lookahead::new(pool, FRAME, frames_in_flight as u64, move |job: Job| kernel(job)),
            base: 0,
            submitted: 0,
            chunks: 0,
            reset_pending: false,
            offline,
            dry: DelayLine::new(channels, plan.map_or(0, |p| p.latency_samples())),
            amount: 1.0,
            amount_now: 1.0,
            amount_step: 1.0 / (0.02 * sample_rate.max(1.0)),
        }
    }

    /// False at rates that are not a multiple of 25 Hz: the stage passes the signal unchanged.
    pub fn available(&self) -> bool {
        self.plan.is_some()
    }

    pub fn latency_samples(&self) -> usize {
        self.plan.map_or(0, |p| p.latency_samples())
    }

    /// How much of the denoised signal replaces the (aligned) input, 0..1; glides over 20 ms.
    pub fn set_amount(&mut self, amount: f32) {
        self.amount = amount.clamp(0.0, 1.0);
    }

    /// Jumps to the current amount at once.
    pub fn settle(&mut self) {
        self.amount_now = self.amount;
    }

    /// Frames whose result was not back in time (the unprocessed frame played instead).
    pub fn late(&self) -> u64 {
        self.worker.late()
    }

    /// Denoises a block in place (any length; channels beyond the stage's are left alone).
    pub fn process(&mut self, io: &mut [&mut [f32]]) {
        let Some(plan) = self.plan else { return };
        let frames = io.first().map_or(0, |c| c.len());
        let channels = self.channels.min(io.len());
        let mut i = 0;
        while i < frames {
            let n = (plan.host_chunk - self.pos).min(frames - i);
            for k in 0..n {
                // The amount glides toward its target; the dry part is the input delayed by the
                // wet path's latency, so every mix of the two is aligned.
                let a = if self.amount_now < self.amount {
                    (self.amount_now + self.amount_step).min(self.amount)
                } else {
                    (self.amount_now - self.amount_step).max(self.amount)
                };
                self.amount_now = a;
                for c in 0..channels {
                    let x = io[c][i + k];
                    self.host_in[c][self.pos + k] = x;
                    let dry = self.dry.tick(c, x);
                    let wet = self.host_out[c][self.pos + k];
                    io[c][i + k] = dry + a * (wet - dry);
                }
                self.dry.advance();
            }
            self.pos += n;
            i += n;
            if self.pos == plan.host_chunk {
                self.pos = 0;
                self.run_chunk(plan);
            }
        }
    }

    /// A full host chunk is in `host_in`: to 48 kHz, its frames to the worker, the results due
    /// now back to the host rate in `host_out`.
    fn run_chunk(&mut self, plan: Plan) {
        let ch = self.channels;
        match self.up.as_mut() {
            Some(up) => {
                let input = SequentialSliceOfVecs::new(&self.host_in[..], ch, plan.host_chunk).expect("host chunk buffers");
                let mut output = SequentialSliceOfVecs::new_mut(&mut self.in_48k[..], ch, plan.chunk_48k).expect("48 kHz buffers");
                let _ = up.process_into_buffer(&input, &mut output, None);
            }
            None => {
                for (o, i) in self.in_48k.iter_mut().zip(&self.host_in) {
                    o.copy_from_slice(i);
                }
            }
        }
        let per_chunk = plan.frames_per_chunk();
        let slots = self.history.len() as u64;
        for f in 0..per_chunk {
            let mut frames = Frames::default();
            for c in 0..ch {
                frames.data[c].copy_from_slice(&self.in_48k[c][f * FRAME..(f + 1) * FRAME]);
            }
            let n = self.submitted;
            let slot = (n % slots) as usize;
            self.history[slot] = frames;
            let reset = std::mem::take(&mut self.reset_pending);
            self.refused[slot] = self.worker.submit(Job { reset, frames }).is_err();
            self.submitted += 1;
        }
        // The chunk submitted `due_chunks` chunks ago is due now.
        let due = self.chunks as i64 - plan.due_chunks as i64;
        self.chunks += 1;
        for f in 0..per_chunk {
            let span = f * FRAME..(f + 1) * FRAME;
            if due < 0 {
                self.out_48k.iter_mut().for_each(|o| o[span.clone()].fill(0.0));
                continue;
            }
            let n = self.base + due as u64 * per_chunk as u64 + f as u64;
            let slot = (n % slots) as usize;
            let result = if self.refused[slot] {
                self.worker.take(n, drop)
            } else if self.offline {
                self.worker.take_wait(n, OFFLINE_WAIT, drop)
            } else {
                self.worker.take(n, drop)
            };
            match result {
                Some(r) => {
                    for c in 0..ch {
                        self.out_48k[c][span.clone()].copy_from_slice(&r.data[c]);
                    }
                }
                None => {
                    // RNNoise's output for frame n is frame n − 1: play that one unprocessed.
                    let prev = if n > self.base { Some(&self.history[((n - 1) % slots) as usize]) } else { None };
                    for c in 0..ch {
                        match prev {
                            Some(p) => self.out_48k[c][span.clone()].copy_from_slice(&p.data[c]),
                            None => self.out_48k[c][span.clone()].fill(0.0),
                        }
                    }
                }
            }
        }
        if self.pad.delay_samples() > 0 {
            let mut parts: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (p, o) in parts.iter_mut().zip(self.out_48k.iter_mut()) {
                *p = &mut o[..];
            }
            self.pad.process_block(&mut parts[..ch]);
        }
        match self.down.as_mut() {
            Some(down) => {
                let input = SequentialSliceOfVecs::new(&self.out_48k[..], ch, plan.chunk_48k).expect("48 kHz buffers");
                let mut output = SequentialSliceOfVecs::new_mut(&mut self.host_out[..], ch, plan.host_chunk).expect("host chunk buffers");
                let _ = down.process_into_buffer(&input, &mut output, None);
            }
            None => {
                for (o, i) in self.host_out.iter_mut().zip(&self.out_48k) {
                    o.copy_from_slice(i);
                }
            }
        }
    }

    /// Clears the signal state; the worker starts from a fresh RNNoise state with the next frame.
    pub fn reset(&mut self) {
        for b in self.host_in.iter_mut().chain(self.host_out.iter_mut()).chain(self.in_48k.iter_mut()).chain(self.out_48k.iter_mut()) {
            b.fill(0.0);
        }
        self.pos = 0;
        self.pad.reset();
        self.dry.reset();
        if let Some(u) = self.up.as_mut() {
            u.reset();
        }
        if let Some(d) = self.down.as_mut() {
            d.reset();
        }
        self.refused.fill(false);
        self.base = self.submitted;
        self.chunks = 0;
        self.reset_pending = true;
        self.amount_now = self.amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::synthetic::{Envelope, MALE_AH, track, voice};
    use crate::convert::testkit::rms_db;

    /// A kernel with RNNoise's timing and no processing: its output is the frame before.
    fn one_frame_delay() -> Kernel {
        let mut prev = Frames::default();
        Box::new(move |job: Job| {
            if job.reset {
                prev = Frames::default();
            }
            std::mem::replace(&mut prev, job.frames)
        })
    }

    fn run(d: &mut Denoise, x: &[f32], block: usize) -> Vec<f32> {
        let mut y = x.to_vec();
        for b in y.chunks_mut(block) {
            d.process(&mut [b]);
        }
        y
    }

    fn noise(n: usize, seed: u64, level: f32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                level * ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 3f32.sqrt()
            })
            .collect()
    }

    /// 40 ms at 48 kHz, 45 ms at 8/16/32 kHz, 56.7 ms at 44.1 kHz, 43.3 ms at 88.2 kHz and up
    /// (22.05 and 11.025 kHz need long chunks: 107 and 200 ms).
    /// Amount 0: the output is the input delayed by the latency, bit for bit (the dry path is
    /// aligned with the wet one).
    #[test]
    fn amount_zero_is_the_aligned_input() {
        let pool = Pool::new("denoise-dry", 1);
        let mut d = Denoise::with_kernel(1, 44_100.0, true, &pool, one_frame_delay());
        d.set_amount(0.0);
        d.settle();
        let x = noise(20_000, 3, 0.3);
        let y = run(&mut d, &x, 333);
        let l = d.latency_samples();
        assert!(y[..l].iter().all(|v| *v == 0.0));
        assert_eq!(&y[l..], &x[..x.len() - l]);
    }

    #[test]
    fn plans_are_exact_and_short_at_the_usual_rates() {
        for (sr, want) in [(8_000.0, 360), (16_000.0, 720), (32_000.0, 1440), (44_100.0, 2499), (48_000.0, 1920), (88_200.0, 3822), (96_000.0, 4160), (192_000.0, 8320), (384_000.0, 16_640)] {
            let p = Plan::for_rate(sr).unwrap();
            eprintln!("denoise plan {sr} Hz: {p:?}, latency {} samples = {:.2} ms", p.latency_samples(), 1000.0 * p.latency_samples() as f32 / sr);
            assert_eq!(p.latency_samples(), want, "{sr} Hz");
            assert!(p.latency_samples() as f32 / sr <= 0.060, "{sr} Hz: over 60 ms");
            assert_eq!(p.sub_48k % 2, 0);
            assert_eq!(p.sub_host % 2, 0);
        }
        assert!(Plan::for_rate(44_101.0).is_none(), "a rate with no short exact plan is refused");
    }

    /// With a kernel that only delays by one frame (RNNoise's timing), an impulse comes out at
    /// exactly the reported latency, at 8, 44.1, 48, 96 and 384 kHz and any block size; the
    /// worker answers on time offline.
    #[test]
    fn the_chain_delays_by_exactly_its_latency_at_every_rate() {
        let pool = Pool::new("denoise-test", 1);
        for sr in [8_000.0f32, 22_050.0, 44_100.0, 48_000.0, 96_000.0, 384_000.0] {
            for block in [1usize, 256, 4096] {
                if sr > 96_000.0 && block == 1 {
                    continue;
                }
                let mut d = Denoise::with_kernel(1, sr, true, &pool, one_frame_delay());
                let latency = d.latency_samples();
                let n = latency + (0.1 * sr) as usize;
                let at = (0.03 * sr) as usize;
                let mut x = vec![0.0f32; n];
                x[at] = 1.0;
                let y = run(&mut d, &x, block);
                let (peak_at, peak) = y.iter().enumerate().fold((0, 0.0f32), |m, (i, v)| if v.abs() > m.1 { (i, v.abs()) } else { m });
                if block == 256 {
                    eprintln!("denoise chain {sr} Hz: latency {latency} samples ({:.2} ms), impulse peak {peak:.3} at +{}", 1000.0 * latency as f32 / sr, peak_at - at);
                }
                assert_eq!(peak_at - at, latency, "{sr} Hz, block {block}");
                // Band-limited to 48 kHz on the way: the impulse keeps its share of the band.
                assert!(peak > 0.4 * (48_000.0 / sr).min(1.0), "{sr} Hz: peak {peak}");
                assert_eq!(d.late(), 0);
            }
        }
    }

    /// Stationary white noise 10 dB under a gliding synthetic voice (A2–A3): RNNoise at 100 %
    /// lowers the noise-only stretch by at least 12 dB while the voiced stretch's level changes
    /// by less than 1 dB against the clean voice; at 44.1 and 48 kHz. Measured: 24.3 dB lower
    /// at 48 kHz, 16.1 dB at 44.1 kHz; the voice within 0.06 dB. The output's cross-correlation
    /// with the clean voice peaks at the reported latency, or one sample before (RNNoise's input
    /// high-pass; measured 1919 for 1920 at 48 kHz).
    #[test]
    fn rnnoise_lowers_stationary_noise_and_keeps_the_voice() {
        for sr in [48_000.0f32, 44_100.0] {
            let sr64 = sr as f64;
            let n_noise = sr as usize;
            let f0 = track::glide(sr64, 2.0, 110.0, 220.0);
            let clean = voice(sr64, &f0, &Envelope::new(&MALE_AH), 0.3);
            let mut x = vec![0.0f32; n_noise];
            x.extend_from_slice(&clean);
            let noise_level = 10f32.powf((rms_db(&clean) as f32 - 10.0) / 20.0);
            let nz = noise(x.len(), 7, noise_level);
            for (v, z) in x.iter_mut().zip(&nz) {
                *v += z;
            }
            let mut d = Denoise::new(1, sr, true);
            let l = d.latency_samples();
            x.extend(std::iter::repeat_n(0.0, l));
            let y = run(&mut d, &x, 512);
            let noise_in = rms_db(&x[n_noise / 2..n_noise]);
            let noise_out = rms_db(&y[n_noise / 2 + l..n_noise + l]);
            let voiced = n_noise + (0.5 * sr) as usize..n_noise + clean.len();
            let voice_out = rms_db(&y[voiced.start + l..voiced.end + l]);
            let voice_clean = rms_db(&clean[voiced.start - n_noise..voiced.end - n_noise]);
            eprintln!("denoise {sr} Hz: noise {noise_in:.1} → {noise_out:.1} dB ({:.1} dB lower), voice {voice_clean:.2} dB clean → {voice_out:.2} dB ({:+.2} dB), late {}", noise_in - noise_out, voice_out - voice_clean, d.late());
            assert!(noise_in - noise_out >= 12.0, "{sr} Hz: noise only {:.1} dB lower", noise_in - noise_out);
            assert!((voice_out - voice_clean).abs() < 1.0, "{sr} Hz: voice level {:+.2} dB", voice_out - voice_clean);
            let xcorr = |lag: usize| (voiced.start..voiced.end - 200).map(|i| (x[i] as f64) * (y[i + lag] as f64)).sum::<f64>();
            let best = (l - 100..l + 100).max_by(|a, b| xcorr(*a).total_cmp(&xcorr(*b))).unwrap();
            eprintln!("denoise {sr} Hz: cross-correlation peak at {best} samples, {l} reported");
            // RNNoise high-passes its input (a DC blocker), which leads the low harmonics' phase
            // a little: the voice's correlation peak may sit one sample early.
            assert!(best.abs_diff(l) <= 1, "{sr} Hz: the voice comes out {best} samples late, {l} reported");
        }
    }
}
