//! Binaural rendering. Until the HRTF stage lands, a source is rendered at the centre of the
//! head: a mono input feeds both ears equally and a stereo input passes unchanged, with no
//! latency. The plugin's dry path, bypass and parameters already sit around this interface.

pub struct Binaural {
    in_channels: usize,
}

impl Binaural {
    pub fn new(in_channels: usize) -> Self {
        Self { in_channels }
    }

    /// Samples of delay the renderer adds.
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Renders in place: `io[..in_channels]` hold the input, all of `io` (two ears) the output.
    pub fn process(&mut self, io: &mut [&mut [f32]]) {
        if self.in_channels == 1 && io.len() >= 2 {
            let (left, rest) = io.split_at_mut(1);
            rest[0].copy_from_slice(left[0]);
        }
    }

    pub fn reset(&mut self) {}
}
