//! Reference-voice matching in the plugin: the measured profiles kept in the plugin state, the
//! shift they give, and the tap that feeds the learner and the similarity meter on the inference
//! pool. The engine side is `voirs_shared::convert::{reference, matching}`.
//!
//! The audio thread reads only atomics here (the matching shift) and hands fixed chunks of
//! input and output to a pool lane; chunks come back to it for reuse, so it never allocates or
//! frees. Profiles live behind locks that only the host's main thread, the editor and the
//! worker take.

use atomic_float::AtomicF32;
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::nice_warn;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use voirs_shared::convert::matching::{Learner, Learning, ReferenceVoice, SimilarityMeter};
use voirs_shared::convert::reference::{BANDS, VoiceProfile};
use voirs_shared::neural::speaker::{self, EMBEDDING, SpeakerEncoder};
use voirs_shared::rt::pool::{Lane, Pool, models};

/// A measured voice as saved in the session (the profile, never a path).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SavedProfile {
    /// What to call it in the editor (the reference's file name).
    #[serde(default)]
    pub name: String,
    pub f0_p10: f32,
    pub f0_median: f32,
    pub f0_p90: f32,
    /// Mean log envelope (dB) at `reference::band_hz(i)`, `BANDS` values.
    pub envelope_db: Vec<f32>,
    /// Voiced frames (20 ms each) the profile averages.
    pub frames: usize,
    /// Resemblyzer embedding (`EMBEDDING` values), empty when none was measured.
    #[serde(default)]
    pub embedding: Vec<f32>,
}

impl SavedProfile {
    pub fn new(name: &str, p: &VoiceProfile, embedding: Option<Vec<f32>>) -> Self {
        Self {
            name: name.to_owned(),
            f0_p10: p.f0_p10,
            f0_median: p.f0_median,
            f0_p90: p.f0_p90,
            envelope_db: p.envelope_db.to_vec(),
            frames: p.frames,
            embedding: embedding.unwrap_or_default(),
        }
    }

    /// The engine's profile, or `None` when the saved values cannot be one (a damaged or
    /// hand-edited session): the matching then stays off rather than shifting by garbage.
    pub fn profile(&self) -> Option<VoiceProfile> {
        let f0_ok = [self.f0_p10, self.f0_median, self.f0_p90].iter().all(|f| f.is_finite() && (20.0..=2000.0).contains(f));
        if !f0_ok || self.envelope_db.len() != BANDS || self.envelope_db.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut envelope_db = [0.0f32; BANDS];
        envelope_db.copy_from_slice(&self.envelope_db);
        Some(VoiceProfile { f0_p10: self.f0_p10, f0_median: self.f0_median, f0_p90: self.f0_p90, envelope_db, frames: self.frames })
    }

    fn embedding(&self) -> Option<&[f32]> {
        (self.embedding.len() == EMBEDDING && self.embedding.iter().all(|v| v.is_finite())).then_some(&self.embedding[..])
    }

    /// Seconds of voice measured.
    pub fn voice_s(&self) -> f32 {
        self.frames as f32 * 0.02
    }
}

/// Everything matching shares between the main thread, the editor, the worker and the audio
/// thread.
pub struct MatchState {
    reference: RwLock<Option<SavedProfile>>,
    input: RwLock<Option<SavedProfile>>,
    /// The full matching shift in semitones (the audio thread scales it by Match).
    pub pitch: AtomicF32,
    pub formant: AtomicF32,
    /// Both profiles are there and valid.
    pub active: AtomicBool,
    /// The reference has an embedding: the meter runs.
    pub meter_on: AtomicBool,
    /// Set by the editor's Learn button; cleared by the worker once the input is learned.
    pub learning: AtomicBool,
    /// Seconds of voice the learner has heard so far.
    pub learn_voice_s: AtomicF32,
    /// Latest meter reading (NaN: none yet).
    pub similarity_in: AtomicF32,
    pub similarity_out: AtomicF32,
    /// Bumped whenever the reference changes, so the worker rebuilds its meter.
    pub generation: AtomicU64,
    /// Audio the tap could not hand over (the lane was full): learning or metering skipped it.
    pub dropped_chunks: AtomicU64,
    /// One line for the editor about the last load.
    pub message: Mutex<String>,
}

impl Default for MatchState {
    fn default() -> Self {
        Self {
            reference: RwLock::new(None),
            input: RwLock::new(None),
            pitch: AtomicF32::new(0.0),
            formant: AtomicF32::new(0.0),
            active: AtomicBool::new(false),
            meter_on: AtomicBool::new(false),
            learning: AtomicBool::new(false),
            learn_voice_s: AtomicF32::new(0.0),
            similarity_in: AtomicF32::new(f32::NAN),
            similarity_out: AtomicF32::new(f32::NAN),
            generation: AtomicU64::new(0),
            dropped_chunks: AtomicU64::new(0),
            message: Mutex::new(String::new()),
        }
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().map(|g| g.clone()).unwrap_or_else(|e| e.into_inner().clone())
}

fn write<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut g) => *g = value,
        Err(e) => *e.into_inner() = value,
    }
}

impl MatchState {
    pub fn reference(&self) -> Option<SavedProfile> {
        read(&self.reference)
    }

    pub fn input(&self) -> Option<SavedProfile> {
        read(&self.input)
    }

    pub fn set_reference(&self, r: Option<SavedProfile>) {
        write(&self.reference, r);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.similarity_in.store(f32::NAN, Ordering::Relaxed);
        self.similarity_out.store(f32::NAN, Ordering::Relaxed);
        self.recompute();
    }

    pub fn set_input(&self, p: Option<SavedProfile>) {
        write(&self.input, p);
        self.recompute();
    }

    /// The shift from the two profiles (`VoiceProfile::shift_for`), published to the audio
    /// thread.
    fn recompute(&self) {
        let reference = self.reference();
        let input = self.input();
        self.meter_on.store(reference.as_ref().and_then(SavedProfile::embedding).is_some(), Ordering::Release);
        let shift = match (reference.and_then(|r| r.profile()), input.and_then(|p| p.profile())) {
            (Some(r), Some(i)) => Some(r.shift_for(&i)),
            _ => None,
        };
        let (pitch, formant) = shift.unwrap_or((0.0, 0.0));
        self.pitch.store(pitch.clamp(-24.0, 24.0), Ordering::Relaxed);
        self.formant.store(formant.clamp(-12.0, 12.0), Ordering::Relaxed);
        self.active.store(shift.is_some(), Ordering::Release);
    }

    /// The Resemblyzer encoder, shared by every instance (`None` when not installed).
    fn encoder() -> Option<Arc<SpeakerEncoder>> {
        let path = voirs_shared::assets::models_dir().join(speaker::FILE);
        if !path.is_file() {
            return None;
        }
        match models::shared("resemblyzer", || SpeakerEncoder::load(&path)) {
            Ok(e) => Some(e),
            Err(e) => {
                nice_warn!("speaker encoder: {e}");
                None
            }
        }
    }

    /// Loads a reference recording (off the audio thread: the background task).
    pub fn load_reference(&self, path: &Path) {
        let encoder = Self::encoder();
        let msg = match ReferenceVoice::load(path, encoder.as_deref()) {
            Ok(r) => {
                let meter = if r.embedding.is_some() { "" } else { " · similarity meter off (run `cargo xtask models`)" };
                let msg = format!("{} · {:.1} s, {:.1} s of voice{meter}", r.name, r.seconds, r.profile.frames as f32 * 0.02);
                self.set_reference(Some(SavedProfile::new(&r.name, &r.profile, r.embedding)));
                msg
            }
            Err(e) => {
                nice_warn!("{e}");
                e
            }
        };
        if let Ok(mut m) = self.message.lock() {
            *m = msg;
        }
    }
}

/// Which profile a persisted field holds.
#[derive(Clone, Copy)]
pub enum Which {
    Reference,
    Input,
}

/// A profile as a persisted field of the plugin state. Restoring a session sets the profile
/// and with it the shift, before audio runs.
pub struct ProfileField {
    pub state: Arc<MatchState>,
    pub which: Which,
}

impl<'a> PersistentField<'a, Option<SavedProfile>> for ProfileField {
    fn set(&self, new_value: Option<SavedProfile>) {
        match self.which {
            Which::Reference => self.state.set_reference(new_value),
            Which::Input => self.state.set_input(new_value),
        }
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Option<SavedProfile>) -> R,
    {
        let lock = match self.which {
            Which::Reference => &self.state.reference,
            Which::Input => &self.state.input,
        };
        match lock.read() {
            Ok(g) => f(&g),
            Err(e) => f(&e.into_inner()),
        }
    }
}

/// Chunk of mono input and the output made from it, passed to the worker and back.
pub struct Chunk {
    learn: bool,
    meter: bool,
    input: Box<[f32]>,
    output: Box<[f32]>,
    len: usize,
}

/// Chunks in flight at once.
const LANE_CAPACITY: usize = 8;
/// Audio per chunk.
const CHUNK_S: f32 = 0.1;

/// The audio thread's side: collects mono input and output into chunks and hands them to the
/// worker. Built in `activate`.
pub struct Tap {
    lane: Lane<Chunk, Chunk>,
    current: Chunk,
    spare: Vec<Chunk>,
    hop: usize,
    /// Where this block's samples start in `current`.
    block_start: usize,
    state: Arc<MatchState>,
}

impl Tap {
    pub fn new(state: Arc<MatchState>, sample_rate: f32, max_block: usize) -> Self {
        let hop = ((CHUNK_S * sample_rate) as usize).max(1);
        let chunk = || Chunk { learn: false, meter: false, input: vec![0.0; hop + max_block].into_boxed_slice(), output: vec![0.0; hop + max_block].into_boxed_slice(), len: 0 };
        let mut spare = Vec::with_capacity(LANE_CAPACITY + 2);
        for _ in 0..LANE_CAPACITY + 1 {
            spare.push(chunk());
        }
        let worker_state = state.clone();
        let mut learner = Learner::new(sample_rate);
        let mut meter: Option<(u64, Option<SimilarityMeter>)> = None;
        let lane = Pool::global().lane(LANE_CAPACITY, move |mut c: Chunk| {
            let s = &worker_state;
            if c.learn {
                match learner.push(&c.input[..c.len]) {
                    Learning::Listening { voice_s } => s.learn_voice_s.store(voice_s, Ordering::Relaxed),
                    Learning::Learned(p) => {
                        s.learn_voice_s.store(p.frames as f32 * 0.02, Ordering::Relaxed);
                        s.set_input(Some(SavedProfile::new("your voice", &p, None)));
                        s.learning.store(false, Ordering::Release);
                    }
                }
            } else if !learner.is_empty() {
                learner.reset();
            }
            if c.meter {
                let generation = s.generation.load(Ordering::Acquire);
                if meter.as_ref().is_none_or(|(g, _)| *g != generation) {
                    let reference = s.reference().and_then(|r| r.embedding().map(<[f32]>::to_vec));
                    let built = reference.and_then(|r| MatchState::encoder().map(|e| SimilarityMeter::new(sample_rate, e, r)));
                    meter = Some((generation, built));
                }
                if let Some((_, Some(m))) = meter.as_mut() {
                    if let Some(r) = m.push(&c.input[..c.len], &c.output[..c.len]) {
                        s.similarity_in.store(r.input, Ordering::Relaxed);
                        s.similarity_out.store(r.output, Ordering::Relaxed);
                    }
                }
            }
            c.len = 0;
            c
        });
        let current = spare.pop().expect("chunks");
        Self { lane, current, spare, hop, block_start: 0, state }
    }

    fn mono_into(dst: &mut [f32], io: &[&mut [f32]]) {
        let k = 1.0 / io.len().max(1) as f32;
        for (i, d) in dst.iter_mut().enumerate() {
            *d = io.iter().map(|c| c[i]).sum::<f32>() * k;
        }
    }

    /// Audio thread, before the shifter: whether this block is tapped, and its input.
    #[inline]
    pub fn input(&mut self, io: &[&mut [f32]]) -> bool {
        let learn = self.state.learning.load(Ordering::Acquire);
        let meter = self.state.meter_on.load(Ordering::Acquire);
        if !learn && !meter {
            return false;
        }
        let n = io.first().map_or(0, |c| c.len());
        if self.current.len + n > self.current.input.len() {
            // Only after refusals: the lane is full, this chunk's audio is skipped.
            self.current.len = 0;
        }
        self.current.learn = learn;
        self.current.meter = meter;
        self.block_start = self.current.len;
        Self::mono_into(&mut self.current.input[self.block_start..self.block_start + n], io);
        true
    }

    /// Audio thread, after the shifter: the output made from the block `input` took, and the
    /// hand-over once a chunk is full.
    #[inline]
    pub fn output(&mut self, io: &[&mut [f32]]) {
        let n = io.first().map_or(0, |c| c.len());
        let start = self.block_start;
        Self::mono_into(&mut self.current.output[start..start + n], io);
        self.current.len = start + n;
        while let Some(back) = self.lane.try_recv() {
            if self.spare.len() < self.spare.capacity() {
                self.spare.push(back);
            }
        }
        if self.current.len >= self.hop {
            if let Some(next) = self.spare.pop() {
                let full = std::mem::replace(&mut self.current, next);
                if let Err(full) = self.lane.try_submit(full) {
                    // Refused: keep the buffer, skip its audio.
                    let mut next = std::mem::replace(&mut self.current, full);
                    next.len = 0;
                    self.current.len = 0;
                    self.spare.push(next);
                    self.state.dropped_chunks.fetch_add(1, Ordering::Relaxed);
                }
            } else {
                self.current.len = 0;
                self.state.dropped_chunks.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
