//! Turns host blocks of any size (1..8192 samples, varying) into fixed-size frames for engines
//! that work frame by frame (spectral analysis, neural chunks). The price is a latency of exactly
//! one frame, which the plugin reports to the host. Called on the audio thread: no allocation
//! after `new`.

/// An engine that transforms one fixed-size multi-channel frame.
pub trait FrameProcessor {
    /// `input[c]` and `output[c]` have the framer's frame length.
    fn process_frame(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]);
}

/// Fixed-frame adapter with a latency of `frame_len` samples.
#[derive(Debug, Clone)]
pub struct Framer {
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    pos: usize,
}

impl Framer {
    pub fn new(channels: usize, frame_len: usize) -> Self {
        assert!(frame_len > 0, "frame length must be positive");
        Self {
            input: vec![vec![0.0; frame_len]; channels],
            output: vec![vec![0.0; frame_len]; channels],
            pos: 0,
        }
    }

    pub fn frame_len(&self) -> usize {
        self.input.first().map_or(0, |c| c.len())
    }

    /// The delay this adds between input and output, in samples.
    pub fn latency_samples(&self) -> usize {
        self.frame_len()
    }

    /// Processes a block in place: `channels[c]` all have the same length, any length.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]], engine: &mut impl FrameProcessor) {
        let frames = channels.first().map_or(0, |c| c.len());
        let frame_len = self.frame_len();
        let mut i = 0;
        while i < frames {
            // Copy as much as fits before the next frame boundary in one go.
            let n = (frame_len - self.pos).min(frames - i);
            for (c, ch) in channels.iter_mut().enumerate() {
                let seg = &mut ch[i..i + n];
                self.input[c][self.pos..self.pos + n].copy_from_slice(seg);
                seg.copy_from_slice(&self.output[c][self.pos..self.pos + n]);
            }
            self.pos += n;
            i += n;
            if self.pos == frame_len {
                engine.process_frame(&self.input, &mut self.output);
                self.pos = 0;
            }
        }
    }

    pub fn reset(&mut self) {
        for c in self.input.iter_mut().chain(self.output.iter_mut()) {
            c.fill(0.0);
        }
        self.pos = 0;
    }
}

/// The frame length used for a nominal frame duration at a sample rate: the power of two
/// nearest to `frame_ms`, so FFT-based engines get fast sizes at every rate.
pub fn frame_len_for(sample_rate: f32, frame_ms: f32) -> usize {
    let exact = (sample_rate * frame_ms * 0.001).max(1.0);
    let lower = 1usize << (exact.log2().floor() as u32);
    let upper = lower * 2;
    if exact - lower as f32 <= upper as f32 - exact { lower } else { upper }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Identity;
    impl FrameProcessor for Identity {
        fn process_frame(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) {
            for (i, o) in input.iter().zip(output.iter_mut()) {
                o.copy_from_slice(i);
            }
        }
    }

    #[test]
    fn identity_frames_delay_by_exactly_one_frame_for_any_block_sizes() {
        let input: Vec<f32> = (0..5000).map(|i| (i as f32 * 0.37).sin()).collect();
        for sizes in [&[1usize][..], &[17], &[64, 3, 4096], &[8192]] {
            let mut f = Framer::new(1, 256);
            let mut x = input.clone();
            let mut start = 0;
            for size in sizes.iter().cycle() {
                if start >= x.len() {
                    break;
                }
                let end = (start + size).min(x.len());
                f.process_block(&mut [&mut x[start..end]], &mut Identity);
                start = end;
            }
            assert!(x[..256].iter().all(|v| *v == 0.0));
            assert_eq!(&x[256..], &input[..input.len() - 256], "sizes {sizes:?}");
        }
    }

    #[test]
    fn frame_length_is_nearest_power_of_two() {
        assert_eq!(frame_len_for(48_000.0, 10.0), 512);
        assert_eq!(frame_len_for(44_100.0, 10.0), 512);
        assert_eq!(frame_len_for(96_000.0, 10.0), 1024);
        assert_eq!(frame_len_for(8_000.0, 10.0), 64);
        assert_eq!(frame_len_for(384_000.0, 10.0), 4096);
    }
}
