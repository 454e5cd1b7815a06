//! What every host test needs: the bundle (or a failure that says how to build it), fresh
//! instances, test material, and the reference each plugin's output must equal.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;
use voirs_shared::clip::{self, ClipPlayer};
use voirs_shared::synth::vowel::{Envelope, VowelSynth};
use voirs_shared::wav::{self, Audio};
use voirs_tests::bundles::{PluginKind, PluginSpec};
use voirs_tests::render::{EventKind, Schedule, TimedEvent};
use voirs_tests::{Bundle, Instance, signal, state};

pub use voirs_tests::bundles::{CONVERTER, SINGER, SPATIALIZER, SPEECH_TRACK};

/// Generates one `#[test]` per plugin calling `check(spec)`, so a failure names the plugin and
/// one plugin's failure does not hide another's.
#[macro_export]
macro_rules! per_plugin {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[test]
            fn converter() { super::$check(super::common::CONVERTER) }
            #[test]
            fn singer() { super::$check(super::common::SINGER) }
            #[test]
            fn spatializer() { super::$check(super::common::SPATIALIZER) }
            #[test]
            fn speech_track() { super::$check(super::common::SPEECH_TRACK) }
        }
    )*};
}

/// The bundle under test; a missing bundle fails the test with the command that builds it.
pub fn bundle_path(spec: PluginSpec) -> PathBuf {
    spec.require_bundle().unwrap_or_else(|e| panic!("{e}"))
}

pub fn instance(spec: PluginSpec) -> Instance {
    let bundle = Bundle::load(bundle_path(spec)).unwrap_or_else(|e| panic!("{e}"));
    bundle.instantiate(spec.clap_id).unwrap_or_else(|e| panic!("{e}"))
}

/// A scratch directory unique to this test process and `tag`, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("voirs-host-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Test material for one render: audio in for effects, notes for instruments.
#[derive(Debug, Clone)]
pub struct Material {
    pub input: Option<Vec<Vec<f32>>>,
    pub events: Vec<TimedEvent>,
    pub frames: usize,
}

/// Notes with onsets on odd sample offsets, overlapping, with a retrigger and a release inside
/// the render, so block boundaries, voice allocation and sample-accurate timing all matter.
pub fn note_pattern(frames: usize) -> Vec<TimedEvent> {
    let f = |x: f64| (x * frames as f64) as u64;
    let mut ev = vec![
        TimedEvent::note_on(37, 57, 0.8),
        TimedEvent::note_on(f(0.1) + 3, 64, 0.5),
        TimedEvent::note_off(f(0.35) + 1, 57),
        TimedEvent::note_on(f(0.4) + 11, 69, 1.0),
        TimedEvent::note_on(f(0.55) + 5, 57, 0.25),
        TimedEvent::note_off(f(0.6) + 7, 64),
        TimedEvent::note_off(f(0.7) + 2, 69),
    ];
    ev.sort_by_key(|e| e.time);
    ev
}

pub fn material(spec: PluginSpec, in_channels: usize, frames: usize, seed: u64) -> Material {
    match spec.kind {
        PluginKind::Effect => Material { input: Some(signal::noise(in_channels, frames, 0.5, seed)), events: Vec::new(), frames },
        PluginKind::Instrument => Material { input: None, events: note_pattern(frames), frames },
    }
}

/// Renders `m` through an active instance.
pub fn render(p: &mut Instance, m: &Material, schedule: &Schedule) -> Vec<Vec<f32>> {
    p.render(m.input.as_deref(), m.frames, &m.events, schedule).unwrap_or_else(|e| panic!("{e}"))
}

/// A parameter's default in its own display units ("10.0 ms" → 10.0).
pub fn default_plain(p: &mut Instance, name: &str) -> f32 {
    let info = p.param(name).unwrap();
    let text = p.value_to_text(info.id, info.default).unwrap();
    text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} default {text:?}"))
}

/// Splits `frames` at event times and calls `apply` for events at a position, `run` for each
/// stretch between events: the way the plugins render between their note events.
fn drive<E>(engine: &mut E, frames: usize, events: &[TimedEvent], mut apply: impl FnMut(&mut E, &EventKind), mut run: impl FnMut(&mut E, usize, usize)) {
    let mut pos = 0;
    let mut i = 0;
    while pos < frames {
        while i < events.len() && events[i].time as usize <= pos {
            apply(engine, &events[i].kind);
            i += 1;
        }
        let end = events.get(i).map_or(frames, |e| (e.time as usize).min(frames));
        run(engine, pos, end);
        pos = end;
    }
}

/// The Singer at neutral settings is the reference vowel engine, rendered directly with the
/// Singer's default envelope, on both channels.
pub fn singer_reference(sample_rate: f32, envelope: Envelope, frames: usize, events: &[TimedEvent]) -> Vec<Vec<f32>> {
    let mut out = vec![0.0f32; frames];
    let mut synth = VowelSynth::new(sample_rate);
    drive(
        &mut synth,
        frames,
        events,
        |s, e| match *e {
            EventKind::NoteOn { key, velocity } => s.note_on(key, velocity as f32),
            EventKind::NoteOff { key, .. } => s.note_off(key),
            EventKind::Param { .. } => {}
        },
        |s, a, b| s.render_add(&mut out[a..b], envelope),
    );
    vec![out.clone(), out]
}

/// A stereo clip with different, seeded content per channel, written at `sample_rate`.
pub fn write_clip(dir: &std::path::Path, sample_rate: u32, seconds: f32, seed: u64) -> PathBuf {
    let frames = (sample_rate as f32 * seconds) as usize;
    let mut ch = signal::noise(2, frames, 0.4, seed);
    // A syllable-like envelope, so the clip's start and end are audible events.
    for c in &mut ch {
        for (i, s) in c.iter_mut().enumerate() {
            *s *= (std::f32::consts::PI * i as f32 / frames as f32).sin();
        }
    }
    let path = dir.join(format!("clip-{sample_rate}-{seed}.wav"));
    wav::write(&path, &Audio { sample_rate, channels: ch }).unwrap();
    path
}

/// Points a Speech Track instance at `clip` through its state, as a restored session would.
pub fn set_clip(p: &mut Instance, clip: &std::path::Path) {
    let mut doc = state::parse(&p.save_state().unwrap()).unwrap();
    state::set_field(&mut doc, "clip", &serde_json::Value::String(clip.display().to_string())).unwrap();
    p.load_state(&state::encode(&doc)).unwrap();
}

/// The Speech Track at neutral settings is the reference clip player, rendered directly.
pub fn speech_reference(clip_path: &std::path::Path, sample_rate: f32, frames: usize, events: &[TimedEvent]) -> Vec<Vec<f32>> {
    let clip = clip::load(clip_path, sample_rate).unwrap();
    let (mut l, mut r) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut player = ClipPlayer::new(sample_rate);
    drive(
        &mut player,
        frames,
        events,
        |p, e| match *e {
            EventKind::NoteOn { key, velocity } => p.note_on(key, velocity as f32),
            EventKind::NoteOff { key, .. } => p.note_off(key),
            EventKind::Param { .. } => {}
        },
        |p, a, b| p.render_add(Some(&clip), &mut l[a..b], &mut r[a..b]),
    );
    vec![l, r]
}

/// What an identity effect at neutral settings must output: each output channel is its input
/// channel (mono input feeds every output) delayed by exactly `latency` samples.
pub fn effect_reference(input: &[Vec<f32>], out_channels: usize, latency: usize) -> Vec<Vec<f32>> {
    (0..out_channels).map(|c| signal::delayed(&input[c.min(input.len() - 1)], latency)).collect()
}

/// Everything a neutral-settings render of `spec` must equal, bit for bit.
pub struct Neutral {
    pub instance: Instance,
    /// Speech Track clip location (kept alive while the instance uses it).
    pub scratch: Option<Scratch>,
    pub clip: Option<PathBuf>,
}

/// A fresh instance at neutral settings, ready to activate. The Speech Track gets a clip at
/// `sample_rate` (so no resampling is involved and its output is exact).
pub fn neutral(spec: PluginSpec, sample_rate: u32, tag: &str) -> Neutral {
    let mut p = instance(spec);
    if spec.package == SPEECH_TRACK.package {
        let scratch = Scratch::new(tag);
        let clip = write_clip(&scratch.0, sample_rate, 0.3, 5);
        set_clip(&mut p, &clip);
        Neutral { instance: p, scratch: Some(scratch), clip: Some(clip) }
    } else {
        Neutral { instance: p, scratch: None, clip: None }
    }
}

impl Neutral {
    /// The reference for material `m` at the active settings of this instance: what the
    /// plugin must output, delayed by the latency it reports.
    pub fn reference(&mut self, spec: PluginSpec, m: &Material) -> Vec<Vec<f32>> {
        let latency = self.instance.latency() as usize;
        self.undelayed_reference(spec, m).iter().map(|c| signal::delayed(c, latency)).collect()
    }

    /// The reference without the plugin's latency.
    pub fn undelayed_reference(&mut self, spec: PluginSpec, m: &Material) -> Vec<Vec<f32>> {
        let a = self.instance.activation().expect("activate before asking for the reference");
        let sr = a.sample_rate as f32;
        match spec.package {
            p if p == SINGER.package => {
                let env = Envelope {
                    attack_ms: default_plain(&mut self.instance, "Attack"),
                    release_ms: default_plain(&mut self.instance, "Release"),
                };
                singer_reference(sr, env, m.frames, &m.events)
            }
            p if p == SPEECH_TRACK.package => speech_reference(self.clip.as_ref().unwrap(), sr, m.frames, &m.events),
            _ => effect_reference(m.input.as_ref().unwrap(), a.out_channels, 0),
        }
    }
}

/// Asserts bit-exact equality with a readable report of the first difference.
pub fn assert_bits_equal(what: &str, got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len(), "{what}: channel count");
    if let Some((c, i)) = signal::first_bit_difference(got, want) {
        let lo = i.saturating_sub(2);
        let hi = (i + 3).min(got[c].len());
        panic!(
            "{what}: channel {c} differs first at frame {i}: got {:?}, want {:?} (max |diff| {:e})",
            &got[c][lo..hi],
            &want[c][lo..hi],
            signal::max_abs_diff(&got[c], &want[c])
        );
    }
}

pub fn assert_all_finite(what: &str, x: &[Vec<f32>]) {
    for (c, ch) in x.iter().enumerate() {
        if let Some(i) = signal::first_non_finite(ch) {
            panic!("{what}: channel {c} frame {i} is {}", ch[i]);
        }
    }
}

pub fn peak_all(x: &[Vec<f32>]) -> f32 {
    x.iter().map(|c| signal::peak(c)).fold(0.0, f32::max)
}

/// One `#[test]` per effect.
#[macro_export]
macro_rules! per_effect {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[test]
            fn converter() { super::$check(super::common::CONVERTER) }
            #[test]
            fn spatializer() { super::$check(super::common::SPATIALIZER) }
        }
    )*};
}

/// One `#[test]` per instrument.
#[macro_export]
macro_rules! per_instrument {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[test]
            fn singer() { super::$check(super::common::SINGER) }
            #[test]
            fn speech_track() { super::$check(super::common::SPEECH_TRACK) }
        }
    )*};
}

/// Where `y` sits between two signals, per sample: `w = (y - b) / (a - b)`, so 1 means "all
/// `a`", 0 "all `b`". Only where `a` and `b` differ by more than `min_gap` (elsewhere the ratio
/// says nothing). This measures a crossfade or gain change directly, whatever the signals are.
pub fn mix_position(y: &[f32], a: &[f32], b: &[f32], min_gap: f32) -> Vec<Option<f32>> {
    y.iter()
        .zip(a.iter().zip(b))
        .map(|(y, (a, b))| if (a - b).abs() > min_gap { Some((y - b) / (a - b)) } else { None })
        .collect()
}

/// Largest change of a mix position between neighbouring samples where both are known.
pub fn max_position_step(w: &[Option<f32>]) -> f32 {
    w.windows(2).fold(0.0f32, |m, p| match (p[0], p[1]) {
        (Some(x), Some(y)) => m.max((y - x).abs()),
        _ => m,
    })
}
