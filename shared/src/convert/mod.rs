//! Voice conversion engine. It works on fixed frames fed by [`Framer`](crate::rt::framer::Framer),
//! which gives the engine one frame of lookahead and the plugin its latency. Until the pitch,
//! formant and timbre stages land, each frame passes at unity: the plugin is already
//! latency-correct and the stages slot in behind this interface.

pub mod psola;

use crate::rt::framer::{FrameProcessor, Framer, frame_len_for};

/// Nominal analysis frame: ~10 ms, enough for pitch periods down to 100 Hz.
pub const FRAME_MS: f32 = 10.0;

pub struct Converter;

impl FrameProcessor for Converter {
    fn process_frame(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) {
        for (i, o) in input.iter().zip(output.iter_mut()) {
            o.copy_from_slice(i);
        }
    }
}

/// The converter with its framing: what the plugin owns per activation.
pub struct ConverterEngine {
    framer: Framer,
    converter: Converter,
}

impl ConverterEngine {
    pub fn new(channels: usize, sample_rate: f32) -> Self {
        Self { framer: Framer::new(channels, frame_len_for(sample_rate, FRAME_MS)), converter: Converter }
    }

    /// Samples between an input sample and its converted output.
    pub fn latency_samples(&self) -> usize {
        self.framer.latency_samples()
    }

    /// Converts a block in place (any length).
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.framer.process_block(channels, &mut self.converter);
    }

    pub fn reset(&mut self) {
        self.framer.reset();
    }
}
