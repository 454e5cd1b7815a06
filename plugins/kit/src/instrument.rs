//! The process loop of the instruments: note events applied at their exact sample offsets,
//! the engine rendered between them, then output gain, the bypass fade and the output meter.
//! Called on the audio thread: no allocation after `new`.

use crate::Status;
use nice_plug::midi::Key;
use nice_plug::prelude::{Buffer, BufferConfig, FloatParam, NoteEvent, Plugin, ProcessContext};
use std::ops::Range;
use std::sync::atomic::Ordering;
use voirs_shared::rt::fade::Bypass;
use voirs_shared::rt::meter::block_peak;

/// A note-driven engine rendering into the instrument's stereo scratch buffers.
pub trait NoteEngine {
    fn note_on(&mut self, key: u8, velocity: f32);
    fn note_off(&mut self, key: u8);
    fn release_all(&mut self);
    /// Adds samples `range` of the block into `left` and `right`.
    fn render(&mut self, left: &mut [f32], right: &mut [f32]);
    /// Notes sounding, for the editor.
    fn voices(&self) -> usize;
}

pub struct InstrumentOut {
    left: Vec<f32>,
    right: Vec<f32>,
    gain: Vec<f32>,
    bypass: Bypass,
    sample_rate: f32,
}

impl InstrumentOut {
    pub fn new(config: &BufferConfig, bypassed: bool, status: &Status) -> Self {
        let max_block = config.max_buffer_size as usize;
        status.latency_samples.store(0, Ordering::Relaxed);
        status.sample_rate.store(config.sample_rate, Ordering::Relaxed);
        Self {
            left: vec![0.0; max_block],
            right: vec![0.0; max_block],
            gain: vec![1.0; max_block],
            bypass: Bypass::new(config.sample_rate, bypassed),
            sample_rate: config.sample_rate,
        }
    }

    /// Runs one block of `engine` driven by the host's note events.
    pub fn process<P: Plugin<SysExMessage = ()>>(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<P>,
        engine: &mut impl NoteEngine,
        out_gain: &FloatParam,
        bypassed: bool,
        status: &Status,
    ) {
        let n = buffer.samples();
        self.left[..n].fill(0.0);
        self.right[..n].fill(0.0);
        let mut pos = 0;
        let mut next = context.next_event();
        while pos < n {
            while let Some(ev) = next {
                if ev.timing() as usize > pos {
                    break;
                }
                apply(engine, ev);
                next = context.next_event();
            }
            let end = next.map_or(n, |ev| (ev.timing() as usize).min(n));
            render_range(engine, &mut self.left, &mut self.right, pos..end);
            pos = end;
        }
        while let Some(ev) = next {
            apply(engine, ev);
            next = context.next_event();
        }
        out_gain.smoothed.next_block(&mut self.gain[..n], n);
        // Bypassing an instrument fades it out; voices keep running so un-bypass is seamless.
        self.bypass.set_bypassed(bypassed);
        let io = buffer.as_slice();
        for i in 0..n {
            let g = self.bypass.next_wet_gain() * self.gain[i];
            io[0][i] = self.left[i] * g;
            io[1][i] = self.right[i] * g;
        }
        status.voices.store(engine.voices() as u32, Ordering::Relaxed);
        status.output.update(block_peak(&io[0][..n]).max(block_peak(&io[1][..n])), n as f32 / self.sample_rate);
    }

    pub fn reset(&mut self, bypassed: bool) {
        self.bypass.reset(bypassed);
    }
}

fn render_range(engine: &mut impl NoteEngine, left: &mut [f32], right: &mut [f32], range: Range<usize>) {
    if !range.is_empty() {
        engine.render(&mut left[range.clone()], &mut right[range]);
    }
}

fn apply(engine: &mut impl NoteEngine, event: NoteEvent<()>) {
    match event {
        NoteEvent::NoteOn { key: Key::Number(k), velocity, .. } => engine.note_on(k, velocity),
        NoteEvent::NoteOff { key: Key::Number(k), .. } | NoteEvent::Choke { key: Key::Number(k), .. } => engine.note_off(k),
        // A wildcard key addresses every sounding note.
        NoteEvent::NoteOff { key: Key::Wildcard, .. } | NoteEvent::Choke { key: Key::Wildcard, .. } => engine.release_all(),
        _ => {}
    }
}
