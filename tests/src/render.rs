//! Block schedules, timed events, and one-call renders (load → configure → activate → render).

use crate::error::Result;
use crate::host::{Bundle, Instance};
use clack_extensions::render::RenderMode;
use std::path::PathBuf;

/// How a host cuts the timeline into `process` calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every block has this many frames (the last may be shorter).
    Fixed(usize),
    /// Block sizes taken from this list in turn, repeating.
    Cycle(Vec<usize>),
}

impl Schedule {
    /// An endless iterator of block sizes.
    pub fn sizes(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match self {
            Schedule::Fixed(n) => Box::new(std::iter::repeat(*n)),
            Schedule::Cycle(v) => Box::new(v.iter().copied().cycle()),
        }
    }

    pub fn max_block(&self) -> usize {
        match self {
            Schedule::Fixed(n) => *n,
            Schedule::Cycle(v) => v.iter().copied().max().unwrap_or(1),
        }
    }

    pub fn min_block(&self) -> usize {
        match self {
            Schedule::Fixed(n) => *n,
            Schedule::Cycle(v) => v.iter().copied().min().unwrap_or(1),
        }
    }

    /// A varying schedule like a DAW's around loop points and automation splits: tiny, odd,
    /// power-of-two and large blocks mixed.
    pub fn varying() -> Self {
        Schedule::Cycle(vec![1, 17, 64, 3, 512, 4096, 100, 2, 1024, 333])
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// Velocity 0..1.
    NoteOn { key: u8, velocity: f64 },
    NoteOff { key: u8, velocity: f64 },
    /// A parameter value in CLAP units (normalised for nice-plug plugins).
    Param { id: u32, value: f64 },
}

/// An event at a sample time: absolute in a render, block-relative in `Instance::process`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedEvent {
    pub time: u64,
    /// MIDI channel 0..15 for notes.
    pub channel: u8,
    pub kind: EventKind,
}

impl TimedEvent {
    pub fn note_on(time: u64, key: u8, velocity: f64) -> Self {
        Self { time, channel: 0, kind: EventKind::NoteOn { key, velocity } }
    }
    pub fn note_off(time: u64, key: u8) -> Self {
        Self { time, channel: 0, kind: EventKind::NoteOff { key, velocity: 0.0 } }
    }
    pub fn param(time: u64, id: u32, value: f64) -> Self {
        Self { time, channel: 0, kind: EventKind::Param { id, value } }
    }
}

/// Everything a one-call render needs.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    pub bundle: PathBuf,
    /// Plugin id; `None` takes the bundle's first plugin.
    pub plugin_id: Option<String>,
    pub sample_rate: f64,
    pub schedule: Schedule,
    pub mode: RenderMode,
    /// Main input/output channel counts to select, if not the default layout.
    pub layout: Option<(u32, u32)>,
    /// State bytes (as saved by the plugin) to load before anything else.
    pub state: Option<Vec<u8>>,
    /// Parameters by name or string id, with display text ("-6 dB"), set before activation.
    pub params_text: Vec<(String, String)>,
}

impl RenderSettings {
    pub fn new(bundle: impl Into<PathBuf>, sample_rate: f64, schedule: Schedule) -> Self {
        Self {
            bundle: bundle.into(),
            plugin_id: None,
            sample_rate,
            schedule,
            mode: RenderMode::Realtime,
            layout: None,
            state: None,
            params_text: Vec::new(),
        }
    }

    /// A fresh, configured, active instance (the bundle stays loaded for the process's life).
    pub fn instantiate(&self) -> Result<Instance> {
        let bundle = Bundle::load(&self.bundle)?;
        let mut p = match &self.plugin_id {
            Some(id) => bundle.instantiate(id)?,
            None => bundle.instantiate_first()?,
        };
        if let Some((i, o)) = self.layout {
            p.select_layout(i, o)?;
        }
        if let Some(s) = &self.state {
            p.load_state(s)?;
        }
        for (name, text) in &self.params_text {
            p.set_param_text_by_name(name, text)?;
        }
        if p.has_extension("render") {
            p.set_render_mode(self.mode)?;
        }
        // The last block of a render may be shorter than the schedule says: the true minimum is 1.
        p.activate(self.sample_rate, 1, self.schedule.max_block() as u32)?;
        Ok(p)
    }
}

/// The output of a one-call render, with what the plugin reported.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub output: Vec<Vec<f32>>,
    pub latency: u32,
}

/// Loads, configures, activates and renders in one go.
pub fn render_once(
    settings: &RenderSettings,
    input: Option<&[Vec<f32>]>,
    frames: usize,
    events: &[TimedEvent],
) -> Result<Rendered> {
    let mut p = settings.instantiate()?;
    let latency = p.latency();
    let output = p.render(input, frames, events, &settings.schedule)?;
    Ok(Rendered { output, latency })
}
