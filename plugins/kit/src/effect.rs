//! The process loop around an effect's wet path, shared by the effects: NaN guard and delayed
//! dry copy (`DryWet`), input and output meters, output gain and the bypass crossfade. Called
//! on the audio thread: no allocation after `new`.

use crate::Status;
use nice_plug::prelude::{AudioIOLayout, Buffer, BufferConfig, FloatParam};
use std::sync::atomic::Ordering;
use voirs_shared::rt::drywet::DryWet;
use voirs_shared::rt::meter::block_peak;

pub struct EffectIo {
    dry_wet: DryWet,
    gain: Vec<f32>,
    wet: Vec<f32>,
    in_channels: usize,
    sample_rate: f32,
}

impl EffectIo {
    /// For the activated `layout`, with the wet path's `latency_samples`; also tells `status`.
    pub fn new(layout: &AudioIOLayout, config: &BufferConfig, latency_samples: usize, bypassed: bool, status: &Status) -> Self {
        let in_channels = layout.main_input_channels.map_or(0, |c| c.get()) as usize;
        let out_channels = layout.main_output_channels.map_or(0, |c| c.get()) as usize;
        let max_block = config.max_buffer_size as usize;
        status.latency_samples.store(latency_samples as u32, Ordering::Relaxed);
        status.sample_rate.store(config.sample_rate, Ordering::Relaxed);
        Self {
            dry_wet: DryWet::new(in_channels, out_channels, max_block, latency_samples, config.sample_rate, bypassed),
            gain: vec![1.0; max_block],
            wet: vec![1.0; max_block],
            in_channels,
            sample_rate: config.sample_rate,
        }
    }

    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Runs one block: `wet` transforms the sanitised input in place into the wet output.
    pub fn process(&mut self, buffer: &mut Buffer, out_gain: &FloatParam, bypassed: bool, status: &Status, wet: impl FnOnce(&mut [&mut [f32]])) {
        self.process_mixed(buffer, out_gain, None, bypassed, status, wet)
    }

    /// As `process`, with a dry/wet `mix` (0–1, smoothed): the output is the wet signal times
    /// `mix` plus the latency-aligned dry signal times `1 − mix`, then the output gain. At 1
    /// it is exactly `process`.
    pub fn process_mixed(&mut self, buffer: &mut Buffer, out_gain: &FloatParam, mix: Option<&FloatParam>, bypassed: bool, status: &Status, wet: impl FnOnce(&mut [&mut [f32]])) {
        let n = buffer.samples();
        let io = buffer.as_slice();
        let replaced = self.dry_wet.capture(io);
        if replaced > 0 {
            status.nonfinite_replaced.fetch_add(replaced as u64, Ordering::Relaxed);
        }
        let block_s = n as f32 / self.sample_rate;
        status.input.update(io.iter().take(self.in_channels).map(|c| block_peak(c)).fold(0.0, f32::max), block_s);
        wet(io);
        out_gain.smoothed.next_block(&mut self.gain[..n], n);
        match mix {
            Some(m) => {
                m.smoothed.next_block(&mut self.wet[..n], n);
                self.dry_wet.mix_blend(io, &self.gain[..n], &self.wet[..n], bypassed);
            }
            None => self.dry_wet.mix(io, &self.gain[..n], bypassed),
        }
        status.output.update(io.iter().map(|c| block_peak(c)).fold(0.0, f32::max), block_s);
    }

    pub fn reset(&mut self, bypassed: bool) {
        self.dry_wet.reset(bypassed);
    }
}
