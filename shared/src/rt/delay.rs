//! Multi-channel fixed delay line: the dry path of every effect goes through one, delayed by
//! exactly the wet path's latency. Called on the audio thread: no allocation after `new`.

/// A delay of a fixed number of samples per channel, implemented as a circular buffer.
#[derive(Debug, Clone)]
pub struct DelayLine {
    buffers: Vec<Vec<f32>>,
    delay_samples: usize,
    write_pos: usize,
}

impl DelayLine {
    /// A delay of `delay_samples` samples for `channels` channels, initially silent.
    pub fn new(channels: usize, delay_samples: usize) -> Self {
        Self {
            buffers: vec![vec![0.0; delay_samples.max(1)]; channels],
            delay_samples,
            write_pos: 0,
        }
    }

    pub fn delay_samples(&self) -> usize {
        self.delay_samples
    }

    pub fn channels(&self) -> usize {
        self.buffers.len()
    }

    /// Pushes one sample on `channel` and returns the sample from `delay_samples` ago. All
    /// channels must be ticked once per frame, then [`DelayLine::advance`] called.
    #[inline]
    pub fn tick(&mut self, channel: usize, input: f32) -> f32 {
        if self.delay_samples == 0 {
            return input;
        }
        let buf = &mut self.buffers[channel];
        let out = buf[self.write_pos];
        buf[self.write_pos] = input;
        out
    }

    /// Moves to the next frame after every channel was ticked.
    #[inline]
    pub fn advance(&mut self) {
        if self.delay_samples != 0 {
            self.write_pos += 1;
            if self.write_pos == self.delay_samples {
                self.write_pos = 0;
            }
        }
    }

    /// Delays a block in place; `channels[c]` all have the same length.
    pub fn process_block(&mut self, channels: &mut [&mut [f32]]) {
        let frames = channels.first().map_or(0, |c| c.len());
        for i in 0..frames {
            for (c, ch) in channels.iter_mut().enumerate() {
                ch[i] = self.tick(c, ch[i]);
            }
            self.advance();
        }
    }

    /// Clears the delayed audio (silence comes out for the next `delay_samples` samples).
    pub fn reset(&mut self) {
        for b in &mut self.buffers {
            b.fill(0.0);
        }
        self.write_pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impulse_comes_out_exactly_delay_samples_later() {
        for delay in [0usize, 1, 7, 512] {
            let mut d = DelayLine::new(2, delay);
            let mut l = vec![0.0f32; 1000];
            let mut r = vec![0.0f32; 1000];
            l[3] = 1.0;
            r[5] = -0.5;
            d.process_block(&mut [&mut l, &mut r]);
            let pos = |x: &[f32]| x.iter().position(|v| *v != 0.0).unwrap();
            assert_eq!(pos(&l), 3 + delay);
            assert_eq!(pos(&r), 5 + delay);
            assert_eq!(r[5 + delay], -0.5);
        }
    }

    #[test]
    fn block_size_does_not_change_the_result() {
        let input: Vec<f32> = (0..3000).map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5).collect();
        let mut whole = input.clone();
        DelayLine::new(1, 333).process_block(&mut [&mut whole]);
        let mut d = DelayLine::new(1, 333);
        let mut pieces = input.clone();
        let mut start = 0;
        for size in [1usize, 17, 64, 500, 4096].iter().cycle() {
            if start >= pieces.len() {
                break;
            }
            let end = (start + size).min(pieces.len());
            d.process_block(&mut [&mut pieces[start..end]]);
            start = end;
        }
        assert_eq!(whole, pieces);
    }
}
