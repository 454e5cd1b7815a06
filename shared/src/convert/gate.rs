//! VAD gate: silero VAD's speech probability for each 32 ms chunk (16 kHz, 512 samples) opens
//! and closes a gate on the signal, which is delayed so that the gate can open before a voice
//! starts. The audio is the input delayed by `latency_samples` times one gain for all channels,
//! so the stage's latency is exactly that delay.
//!
//! The gain at key time τ (the envelope runs `LOOKAHEAD_S` ahead of the audio it is applied
//! to) comes from the chunk holding τ, whose probability is due `WORKER_ALLOWANCE_S` after the
//! chunk was complete. So the delay is: a chunk (32 ms) + the resampler's filter and feed + the
//! worker allowance (20 ms) + the lookahead (10 ms): 63.7 ms at 48 kHz. silero runs on the
//! inference pool (`rt::lookahead`); a late result, or no model at all, is replaced by a DSP
//! detector (energy over a tracked noise floor, weighted by voicing) computed here for every
//! chunk; late results are counted; offline rendering waits instead. `process` runs on the
//! audio thread: no allocation, lock or wait after `new` (except the offline wait).

use super::denoise::WORKER_ALLOWANCE_S;
use crate::rt::delay::DelayLine;
use crate::rt::lookahead::Lookahead;
use crate::rt::pool::Pool;
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType, WindowFunction};
use std::time::Duration;

/// silero VAD's rate and chunk.
pub const VAD_RATE: f64 = 16_000.0;
pub const CHUNK: usize = 512;
/// How far the envelope runs ahead of the audio: the longest attack plus the margin by which
/// the gate is open before the chunk that holds an onset (the chunk before may hold its first
/// milliseconds without being called speech).
pub const LOOKAHEAD_S: f64 = 0.010;
/// The longest attack the lookahead covers.
pub const MAX_ATTACK_S: f32 = 0.010;
/// silero's recommended hysteresis: a chunk closes the gate below threshold − 0.15.
const HYSTERESIS: f32 = 0.15;
const OFFLINE_WAIT: Duration = Duration::from_secs(10);

/// The loaded silero network (feature `neural`); without it an uninhabited type, so the gate
/// always uses its DSP detector.
#[cfg(feature = "neural")]
pub type VadModel = std::sync::Arc<crate::neural::vad::SileroVad>;
#[cfg(not(feature = "neural"))]
pub enum VadModel {}

/// The process-wide silero model from the models folder (one copy per process). Call off the
/// audio thread. The error says what is missing, for the editor.
#[cfg(feature = "neural")]
pub fn load_silero() -> Result<VadModel, String> {
    use crate::neural::vad::{FILE, SileroVad};
    let path = crate::assets::models_dir().join(FILE);
    crate::rt::pool::models::shared("silero_vad_16k", || SileroVad::load(&path)).map_err(|e| e.to_string())
}

/// Without the `neural` feature there is no model to load.
#[cfg(not(feature = "neural"))]
pub fn load_silero() -> Result<VadModel, String> {
    Err("this build has no neural models".to_owned())
}

/// Sinc length (input samples) for the detector's resampler: about 16 taps per output sample,
/// so its stopband holds at every rate.
fn sinc_len(sample_rate: f64) -> usize {
    ((16.0 * sample_rate / VAD_RATE).ceil() as usize).max(64).next_multiple_of(8)
}

/// Host samples fed to the detector's resampler at a time (~1 ms).
fn feed_len(sample_rate: f64) -> usize {
    (sample_rate / 1000.0).ceil() as usize
}

/// How the detector's timeline sits in host samples at `sample_rate`.
#[derive(Clone, Copy, Debug)]
struct Timing {
    /// Host samples per 16 kHz sample.
    ratio: f64,
    /// The resampler's delay in 16 kHz samples (rubato: half the sinc, in output samples).
    resampler_delay: f64,
    lookahead: usize,
    latency: usize,
}

impl Timing {
    fn new(sample_rate: f32) -> Self {
        let sr = sample_rate.max(1.0) as f64;
        let ratio = sr / VAD_RATE;
        let resampler_delay = (sinc_len(sr) as f64 / ratio / 2.0).floor();
        let lookahead = (LOOKAHEAD_S * sr).ceil() as usize;
        // A chunk is complete (and submitted) once the input reaches its end plus the
        // resampler's delay and feed; its result is due the worker allowance later.
        let chunk = (CHUNK as f64 * ratio).ceil() as usize;
        let resampler = (resampler_delay * ratio).ceil() as usize + feed_len(sr);
        let allowance = (WORKER_ALLOWANCE_S * sr).ceil() as usize;
        Self { ratio, resampler_delay, lookahead, latency: lookahead + chunk + resampler + allowance + 2 }
    }

    /// Key time (host samples) where chunk `k` starts.
    fn chunk_start(&self, k: u64) -> i64 {
        ((k as f64 * CHUNK as f64 - self.resampler_delay) * self.ratio).ceil() as i64
    }
}

/// The stage's latency at `sample_rate` (no allocation: callable on the audio thread).
pub fn latency_for(sample_rate: f32) -> usize {
    Timing::new(sample_rate).latency
}

/// The user's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Speech probability (0..1) at which the gate opens.
    pub threshold: f32,
    /// Attenuation when closed, in dB (negative; 0 = the gate does nothing).
    pub range_db: f32,
    pub attack_s: f32,
    pub hold_s: f32,
    /// Time to fall through the whole range, linear in dB.
    pub release_s: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { threshold: 0.5, range_db: -40.0, attack_s: 0.002, hold_s: 0.100, release_s: 0.150 }
    }
}

/// The DSP detector: a pseudo-probability per 16 kHz chunk from its energy over a tracked noise
/// floor (falls at once, rises 3 dB/s), weighted by voicing (the normalised autocorrelation's
/// peak between 50 and 500 Hz). Loud unvoiced sound counts too, less readily.
struct Detector {
    floor_db: f32,
}

impl Detector {
    const RISE_DB_PER_CHUNK: f32 = 3.0 * CHUNK as f32 / 16_000.0;

    fn new() -> Self {
        Self { floor_db: f32::INFINITY }
    }

    fn chunk(&mut self, x: &[f32; CHUNK]) -> f32 {
        let energy = x.iter().map(|v| v * v).sum::<f32>() / CHUNK as f32;
        let db = 10.0 * energy.max(1e-12).log10();
        self.floor_db = if db < self.floor_db { db } else { self.floor_db + Self::RISE_DB_PER_CHUNK };
        if db < -65.0 {
            return 0.0;
        }
        let snr = db - self.floor_db;
        let mut voicing = 0.0f32;
        for lag in 32..=320 {
            let (mut xy, mut xx, mut yy) = (0.0f32, 0.0f32, 0.0f32);
            for i in 0..CHUNK - lag {
                xy += x[i] * x[i + lag];
                xx += x[i] * x[i];
                yy += x[i + lag] * x[i + lag];
            }
            if xx > 0.0 && yy > 0.0 {
                voicing = voicing.max(xy / (xx * yy).sqrt());
            }
        }
        let clamp = |v: f32| v.clamp(0.0, 1.0);
        let loud = clamp((snr - 6.0) / 12.0);
        (loud * (0.4 + 0.6 * clamp((voicing - 0.3) / 0.4))).max(clamp((snr - 20.0) / 10.0))
    }
}

pub struct VadJob {
    pub reset: bool,
    pub samples: [f32; CHUNK],
}

/// The gate for one activation.
pub struct Gate {
    channels: usize,
    timing: Timing,
    settings: Settings,
    // Detection at 16 kHz.
    resampler: Async<f32>,
    feed: Vec<Vec<f32>>,
    feed_pos: usize,
    resampled: Vec<Vec<f32>>,
    chunk: [f32; CHUNK],
    chunk_pos: usize,
    detector: Detector,
    worker: Option<Lookahead<VadJob, f32>>,
    /// Per chunk since the reset (ring): the DSP detector's value and whether the pool refused it.
    fallback: Vec<f32>,
    refused: Vec<bool>,
    base: u64,
    submitted: u64,
    chunks: u64,
    reset_pending: bool,
    offline: bool,
    // The envelope, in key time.
    processed: u64,
    key_chunk: u64,
    next_start: i64,
    open: bool,
    env: f32,
    hold_left: usize,
    attack_step: f32,
    hold_samples: usize,
    release_coef: f32,
    floor: f32,
    delay: DelayLine,
    early: u64,
}

impl Gate {
    /// A gate on `channels` at `sample_rate`, with silero when `model` is given, on the
    /// process-wide pool. `offline`: wait for silero instead of falling back.
    pub fn new(channels: usize, sample_rate: f32, offline: bool, model: Option<VadModel>) -> Self {
        Self::with_pool(channels, sample_rate, offline, model, Pool::global())
    }

    pub fn with_pool(channels: usize, sample_rate: f32, offline: bool, model: Option<VadModel>, pool: &Pool) -> Self {
        let timing = Timing::new(sample_rate);
        let sr = sample_rate.max(1.0) as f64;
        let params = SincInterpolationParameters {
            sinc_len: sinc_len(sr),
            f_cutoff: None,
            oversampling_factor: 128,
            interpolation: SincInterpolationType::Linear,
            window: WindowFunction::BlackmanHarris2,
        };
        let feed = feed_len(sr);
        let resampler = Async::<f32>::new_sinc(VAD_RATE / sr, 1.0, &params, feed, 1, FixedAsync::Input).expect("detector resampler");
        debug_assert_eq!(resampler.output_delay() as f64, timing.resampler_delay);
        let out_max = resampler.output_frames_max();
        // Chunks between submission and use: the allowance plus the lookahead, in chunks.
        let in_flight = ((timing.latency as f64 / timing.ratio / CHUNK as f64).ceil() as usize + 2).max(4);
        let worker = model.map(|m| Self::silero_worker(m, pool, in_flight));
        let mut gate = Self {
            channels: channels.max(1),
            timing,
            settings: Settings::default(),
            resampler,
            feed: vec![vec![0.0; feed]],
            feed_pos: 0,
            resampled: vec![vec![0.0; out_max]],
            chunk: [0.0; CHUNK],
            chunk_pos: 0,
            detector: Detector::new(),
            worker,
            fallback: vec![0.0; in_flight + 2],
            refused: vec![false; in_flight + 2],
            base: 0,
            submitted: 0,
            chunks: 0,
            reset_pending: false,
            offline,
            processed: 0,
            key_chunk: 0,
            next_start: 0,
            open: false,
            env: 1.0,
            hold_left: 0,
            attack_step: 1.0,
            hold_samples: 0,
            release_coef: 0.0,
            floor: 1.0,
            delay: DelayLine::new(channels.max(1), timing.latency),
            early: 0,
        };
        gate.set(Settings::default());
        gate.reset();
        gate
    }

    #[cfg(feature = "neural")]
    fn silero_worker(model: VadModel, pool: &Pool, in_flight: usize) -> Lookahead<VadJob, f32> {
        use crate::neural::vad::VadStream;
        let mut stream = VadStream::new().ok();
        Lookahead::new(pool, CHUNK, in_flight as u64, move |job: VadJob| {
            if job.reset {
                stream = VadStream::new().ok();
            }
            stream.as_mut().and_then(|s| s.push(&model, &job.samples).ok()).unwrap_or(f32::NAN)
        })
    }

    #[cfg(not(feature = "neural"))]
    fn silero_worker(model: VadModel, _pool: &Pool, _in_flight: usize) -> Lookahead<VadJob, f32> {
        match model {}
    }

    pub fn latency_samples(&self) -> usize {
        self.timing.latency
    }

    /// True when silero decides (else the DSP detector does everything).
    pub fn uses_model(&self) -> bool {
        self.worker.is_some()
    }

    /// Chunks whose silero result was not back in time (the DSP detector decided them).
    pub fn late(&self) -> u64 {
        self.worker.as_ref().map_or(0, |w| w.late())
    }

    /// Chunks needed before they were complete: never, if the latency is right.
    pub fn early(&self) -> u64 {
        self.early
    }

    /// The gain applied to the newest output sample (linear).
    pub fn gain(&self) -> f32 {
        self.env
    }

    pub fn set(&mut self, s: Settings) {
        let sr = (self.timing.ratio * VAD_RATE) as f32;
        self.settings = s;
        self.floor = 10f32.powf(s.range_db.min(0.0) / 20.0);
        self.attack_step = (1.0 - self.floor) / (s.attack_s.clamp(0.0, MAX_ATTACK_S) * sr).max(1.0);
        self.hold_samples = (s.hold_s.max(0.0) * sr) as usize;
        // Linear in dB: the whole range in `release_s`.
        self.release_coef = 10f32.powf(s.range_db.min(0.0) / 20.0 / (s.release_s.max(0.001) * sr));
        self.env = self.env.clamp(self.floor, 1.0);
    }

    /// Gates a block in place (any length).
    pub fn process(&mut self, io: &mut [&mut [f32]]) {
        let frames = io.first().map_or(0, |c| c.len());
        let channels = self.channels.min(io.len());
        for i in 0..frames {
            let mono = io[..channels].iter().map(|c| c[i]).sum::<f32>() / channels as f32;
            self.detect(mono);
            let g = self.envelope();
            for (c, ch) in io[..channels].iter_mut().enumerate() {
                ch[i] = self.delay.tick(c, ch[i]) * g;
            }
            self.delay.advance();
        }
    }

    /// Feeds one host sample to the detector: resampled to 16 kHz, each full chunk analysed by
    /// the DSP detector and submitted to silero.
    fn detect(&mut self, x: f32) {
        self.feed[0][self.feed_pos] = x;
        self.feed_pos += 1;
        if self.feed_pos < self.feed[0].len() {
            return;
        }
        self.feed_pos = 0;
        let n_in = self.feed[0].len();
        let n_out = self.resampled[0].len();
        let produced = {
            let input = SequentialSliceOfVecs::new(&self.feed[..], 1, n_in).expect("feed buffer");
            let mut output = SequentialSliceOfVecs::new_mut(&mut self.resampled[..], 1, n_out).expect("resampled buffer");
            self.resampler.process_into_buffer(&input, &mut output, None).map_or(0, |(_, out)| out)
        };
        for k in 0..produced {
            self.chunk[self.chunk_pos] = self.resampled[0][k];
            self.chunk_pos += 1;
            if self.chunk_pos == CHUNK {
                self.chunk_pos = 0;
                let slot = (self.submitted % self.fallback.len() as u64) as usize;
                self.fallback[slot] = self.detector.chunk(&self.chunk);
                let reset = std::mem::take(&mut self.reset_pending);
                self.refused[slot] = match self.worker.as_mut() {
                    Some(w) => w.submit(VadJob { reset, samples: self.chunk }).is_err(),
                    None => true,
                };
                self.submitted += 1;
                self.chunks += 1;
            }
        }
    }

    /// The speech probability of chunk `k` (since the reset): silero's if it is back (offline:
    /// once it is), else the DSP detector's.
    fn probability(&mut self, k: u64) -> f32 {
        if k >= self.chunks {
            self.early += 1;
            return if self.open { 1.0 } else { 0.0 };
        }
        let n = self.base + k;
        let slot = (n % self.fallback.len() as u64) as usize;
        let dsp = self.fallback[slot];
        if self.refused[slot] {
            return dsp;
        }
        let Some(w) = self.worker.as_mut() else { return dsp };
        let p = if self.offline { w.take_wait(n, OFFLINE_WAIT, drop) } else { w.take(n, drop) };
        p.filter(|p| p.is_finite()).unwrap_or(dsp)
    }

    /// The envelope one sample on, at key time `processed − (latency − lookahead)`.
    fn envelope(&mut self) -> f32 {
        let key_time = self.processed as i64 - (self.timing.latency - self.timing.lookahead) as i64;
        self.processed += 1;
        if key_time >= self.next_start {
            let p = self.probability(self.key_chunk);
            self.key_chunk += 1;
            self.next_start = self.timing.chunk_start(self.key_chunk);
            let t = self.settings.threshold;
            self.open = if self.open { p >= (t - HYSTERESIS).max(0.0) } else { p >= t };
        }
        if self.open {
            self.hold_left = self.hold_samples;
            self.env = (self.env + self.attack_step).min(1.0);
        } else if self.hold_left > 0 {
            self.hold_left -= 1;
            if self.env < 1.0 {
                self.env = (self.env + self.attack_step).min(1.0);
            }
        } else {
            self.env = (self.env * self.release_coef).max(self.floor);
        }
        self.env
    }

    /// Clears the signal and the envelope (closed); silero starts from a fresh state.
    pub fn reset(&mut self) {
        self.resampler.reset();
        self.feed_pos = 0;
        self.chunk_pos = 0;
        self.detector = Detector::new();
        self.refused.fill(false);
        self.base = self.submitted;
        self.chunks = 0;
        self.reset_pending = true;
        self.processed = 0;
        self.key_chunk = 0;
        self.next_start = self.timing.chunk_start(0).max(0);
        self.open = false;
        self.hold_left = 0;
        self.env = self.floor;
        self.delay.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::synthetic::{Envelope, MALE_AH, track, voice};
    use crate::convert::testkit::rms_db;

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

    /// Noise at −50 dBFS, then a voice (A2 gliding up, −20 dBFS) from `onset_s` for 1 s, then
    /// noise again.
    fn material(sr: f64, onset_s: f64) -> (Vec<f32>, usize, usize) {
        let onset = (onset_s * sr) as usize;
        let f0 = track::glide(sr, 1.0, 110.0, 180.0);
        let v = voice(sr, &f0, &Envelope::new(&MALE_AH), 0.25);
        let n = onset + v.len() + (1.5 * sr) as usize;
        let mut x = noise(n, 11, 10f32.powf(-50.0 / 20.0));
        for (i, s) in v.iter().enumerate() {
            x[onset + i] += s;
        }
        (x, onset, onset + v.len())
    }

    /// Runs `x` through `g` sample by sample; returns the output and the gain per output sample.
    fn run(g: &mut Gate, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut y = x.to_vec();
        let mut gains = Vec::with_capacity(x.len());
        for s in y.iter_mut() {
            g.process(&mut [std::slice::from_mut(s)]);
            gains.push(g.gain());
        }
        (y, gains)
    }

    /// Range 0 dB: the gate is an exact delay of its reported latency, at every rate and block
    /// size (63.7 ms at 48 kHz).
    #[test]
    fn an_open_gate_is_an_exact_delay_of_its_latency() {
        let pool = Pool::new("gate-delay", 1);
        for sr in [8_000.0f32, 44_100.0, 48_000.0, 96_000.0, 384_000.0] {
            let mut g = Gate::with_pool(1, sr, false, None, &pool);
            g.set(Settings { range_db: 0.0, ..Settings::default() });
            let l = g.latency_samples();
            assert_eq!(l, latency_for(sr));
            eprintln!("gate {sr} Hz: latency {l} samples = {:.2} ms", 1000.0 * l as f32 / sr);
            let x = noise(l + (0.2 * sr) as usize, 5, 0.3);
            for block in [1usize, 777, 8192] {
                g.reset();
                let mut y = x.clone();
                for b in y.chunks_mut(block) {
                    g.process(&mut [b]);
                }
                assert!(y[..l].iter().all(|v| *v == 0.0));
                assert_eq!(&y[l..], &x[..x.len() - l], "{sr} Hz, block {block}");
            }
        }
    }

    /// The DSP detector alone (no model): noise-only stretches come out lowered by the range
    /// (−40 dB, within 1 dB), the voiced stretch within 0.5 dB of the input, and the gate is
    /// fully open (gain ≥ −0.1 dB) before the voice starts, wherever the onset falls in a chunk.
    /// At 44.1 and 48 kHz. No chunk is ever needed before it is complete.
    #[test]
    fn the_gate_attenuates_noise_by_its_range_and_opens_before_the_voice() {
        let pool = Pool::new("gate-dsp", 1);
        for sr in [48_000.0f32, 44_100.0] {
            for onset_s in [0.700, 0.7107, 0.7293] {
                let mut g = Gate::with_pool(1, sr, false, None, &pool);
                let l = g.latency_samples();
                let (mut x, on, off) = material(sr as f64, onset_s);
                x.extend(std::iter::repeat_n(0.0, l));
                let (y, gains) = run(&mut g, &x);
                // Gains are per output sample; output t carries input t − l.
                let open_at = (l..y.len()).find(|t| gains[*t] >= 10f32.powf(-0.1 / 20.0)).unwrap() - l;
                let lead_ms = (on as f64 - open_at as f64) * 1000.0 / sr as f64;
                let noise_in = rms_db(&x[(0.2 * sr) as usize..on - (0.1 * sr) as usize]);
                let noise_out = rms_db(&y[(0.2 * sr) as usize + l..on - (0.1 * sr) as usize + l]);
                let tail_in = rms_db(&x[off + (0.6 * sr) as usize..off + (1.4 * sr) as usize]);
                let tail_out = rms_db(&y[off + (0.6 * sr) as usize + l..off + (1.4 * sr) as usize + l]);
                let voiced_in = rms_db(&x[on..off]);
                let voiced_out = rms_db(&y[on + l..off + l]);
                eprintln!(
                    "gate {sr} Hz, onset {:.1} ms into its chunk: noise {:+.2} dB, tail {:+.2} dB, voice {:+.3} dB, fully open {lead_ms:.2} ms before the onset",
                    ((on as f64 / sr as f64 * 16_000.0) % 512.0) / 16.0,
                    noise_out - noise_in,
                    tail_out - tail_in,
                    voiced_out - voiced_in
                );
                assert!((noise_out - noise_in + 40.0).abs() < 1.0, "noise {:+.2} dB", noise_out - noise_in);
                assert!((tail_out - tail_in + 40.0).abs() < 1.0, "tail {:+.2} dB", tail_out - tail_in);
                assert!((voiced_out - voiced_in).abs() < 0.5, "voice {:+.3} dB", voiced_out - voiced_in);
                assert!(lead_ms > 0.0, "{sr} Hz: the gate opened {:.2} ms after the onset", -lead_ms);
                assert_eq!(g.early(), 0);
            }
        }
    }

    /// No clicks: the gain never moves by more than the attack's step per sample, and the
    /// release falls linearly in dB.
    #[test]
    fn the_gain_moves_smoothly() {
        let pool = Pool::new("gate-smooth", 1);
        let sr = 48_000.0f32;
        let mut g = Gate::with_pool(1, sr, false, None, &pool);
        let (x, _, _) = material(sr as f64, 0.7);
        let (_, gains) = run(&mut g, &x);
        let step = gains.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
        let attack = (1.0 - 0.01) / (0.002 * sr);
        eprintln!("gate gain: largest step {step:.5} per sample (attack step {attack:.5})");
        assert!(step <= attack * 1.001);
    }
}

/// The gate with silero (needs the model file: skipped without it unless VOIRS_REQUIRE_MODELS=1).
#[cfg(all(test, feature = "neural"))]
mod silero_tests {
    use super::*;
    use crate::convert::testkit::rms_db;

    fn model() -> Option<VadModel> {
        match load_silero() {
            Ok(m) => Some(m),
            Err(e) if std::env::var("VOIRS_REQUIRE_MODELS").as_deref() == Ok("1") => panic!("{e}"),
            Err(e) => {
                eprintln!("skipped: {e}");
                None
            }
        }
    }

    /// The LibriVox clip at `sr` after 1 s of noise at −55 dBFS, 1 s of noise after it.
    fn speech(sr: f32) -> Option<(Vec<f32>, usize)> {
        let path = crate::assets::models_dir().join("librivox-0870.wav");
        let clip = crate::clip::load(&path, sr).ok()?;
        let lead = sr as usize;
        let mut s = 3u64;
        let mut x: Vec<f32> = (0..lead + clip.left.len() + sr as usize)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                10f32.powf(-55.0 / 20.0) * ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * 3f32.sqrt()
            })
            .collect();
        for (i, v) in clip.left.iter().enumerate() {
            x[lead + i] += v;
        }
        Some((x, lead))
    }

    fn render(g: &mut Gate, x: &[f32], block: usize) -> Vec<f32> {
        let mut y = x.to_vec();
        for b in y.chunks_mut(block) {
            g.process(&mut [b]);
        }
        y
    }

    /// LibriVox read speech at 48 kHz after 1 s of noise at −55 dBFS: silero keeps the speech
    /// (level within 0.5 dB), lowers the noise-only lead-in by the range (−40 dB within 1 dB),
    /// and is fully open before the first word (its first sample above −30 dBFS).
    /// Measured: noise −40.00 dB, speech −0.002 dB, open 11.8 ms before the first word.
    #[test]
    fn silero_gates_noise_and_keeps_speech() {
        let Some(m) = model() else { return };
        let sr = 48_000.0f32;
        let Some((x, lead)) = speech(sr) else { return };
        let pool = Pool::new("gate-silero", 1);
        let mut g = Gate::with_pool(1, sr, true, Some(m), &pool);
        assert!(g.uses_model());
        let l = g.latency_samples();
        let y = render(&mut g, &x, 512);
        let onset = lead + x[lead..].iter().position(|v| v.abs() > 10f32.powf(-30.0 / 20.0)).unwrap();
        let speech_end = x.len() - sr as usize;
        let mut probe = Gate::with_pool(1, sr, true, load_silero().ok(), &pool);
        let mut gains = Vec::with_capacity(x.len());
        for v in &x {
            let mut s = [*v];
            probe.process(&mut [&mut s[..]]);
            gains.push(probe.gain());
        }
        let open_at = (l..x.len()).find(|t| gains[*t] >= 10f32.powf(-0.1 / 20.0)).unwrap() - l;
        let lead_ms = (onset as f64 - open_at as f64) * 1000.0 / sr as f64;
        let noise = rms_db(&y[l + (0.1 * sr) as usize..l + lead - (0.2 * sr) as usize]) - rms_db(&x[(0.1 * sr) as usize..lead - (0.2 * sr) as usize]);
        let kept = rms_db(&y[l + lead..l + speech_end]) - rms_db(&x[lead..speech_end]);
        eprintln!("silero gate 48 kHz: lead-in noise {noise:+.2} dB, speech {kept:+.3} dB, fully open {lead_ms:.1} ms before the first word, late {}", g.late());
        assert_eq!(g.late(), 0, "offline waits");
        assert!((noise + 40.0).abs() < 1.0, "noise {noise:+.2} dB");
        assert!(kept.abs() < 0.5, "speech {kept:+.3} dB");
        assert!(lead_ms > 0.0, "opened {:.1} ms after the first word", -lead_ms);
    }

    /// Offline (waiting) equals a real-time render in which every silero result came back in
    /// time, bit for bit; and the DSP detector alone decides differently somewhere. The
    /// real-time render lets the worker finish what each block submitted before the next block
    /// (as a fast enough machine would), so no result is late by construction, not by timing.
    #[test]
    fn offline_equals_real_time_with_every_result_on_time() {
        let Some(m) = model() else { return };
        let sr = 48_000.0f32;
        let Some((x, _)) = speech(sr) else { return };
        let x = &x[..(2.5 * sr) as usize];
        let pool = Pool::new("gate-offline", 1);
        let mut off = Gate::with_pool(1, sr, true, Some(m.clone()), &pool);
        let a = render(&mut off, x, 512);
        let mut rt = Gate::with_pool(1, sr, false, Some(m), &pool);
        let mut b = x.to_vec();
        for block in b.chunks_mut(512) {
            rt.process(&mut [block]);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while rt.worker.as_ref().unwrap().pending() > 0 {
                assert!(std::time::Instant::now() < deadline, "the silero worker stalled");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        eprintln!("silero gate in real time: {} late of {} chunks", rt.late(), rt.late() + rt.worker.as_ref().unwrap().on_time());
        assert_eq!(rt.late(), 0, "every result was back before the block that needed it");
        assert_eq!(a, b);
        let mut dsp_only = Gate::with_pool(1, sr, false, None, &pool);
        let c = render(&mut dsp_only, x, 512);
        assert!(!dsp_only.uses_model());
        assert_ne!(a, c, "silero and the DSP detector differ somewhere on real speech");
    }
}
