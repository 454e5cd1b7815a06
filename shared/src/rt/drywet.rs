//! The frame around every effect's wet path: NaN guard on the input, a dry copy delayed by the
//! wet path's latency, output gain on the wet signal, and a bypass crossfade to the delayed dry
//! signal, so bypass never clicks and never changes the latency. Called on the audio thread:
//! no allocation after `new`.

use super::delay::DelayLine;
use super::fade::Bypass;
use super::sanitize::sanitize_block;

/// Channels a dry path carries (stereo plugins today; room for surround beds).
pub const MAX_CHANNELS: usize = 8;

pub struct DryWet {
    dry: Vec<Vec<f32>>,
    delay: DelayLine,
    bypass: Bypass,
    in_channels: usize,
}

impl DryWet {
    /// `out_channels` dry channels (mono input feeds every output channel), blocks up to
    /// `max_block` samples, dry delayed by `latency_samples`.
    pub fn new(in_channels: usize, out_channels: usize, max_block: usize, latency_samples: usize, sample_rate: f32, bypassed: bool) -> Self {
        assert!(out_channels <= MAX_CHANNELS, "at most {MAX_CHANNELS} channels");
        Self {
            dry: vec![vec![0.0; max_block]; out_channels],
            delay: DelayLine::new(out_channels, latency_samples),
            bypass: Bypass::new(sample_rate, bypassed),
            in_channels: in_channels.max(1),
        }
    }

    pub fn max_block(&self) -> usize {
        self.dry.first().map_or(0, |c| c.len())
    }

    /// Sanitises the input channels in place (returns how many samples were non-finite) and
    /// keeps a delayed dry copy of them. `io[c]` for `c < in_channels` hold the input.
    pub fn capture(&mut self, io: &mut [&mut [f32]]) -> usize {
        let n = io.first().map_or(0, |c| c.len());
        debug_assert!(n <= self.max_block());
        let mut replaced = 0;
        for ch in io.iter_mut().take(self.in_channels) {
            replaced += sanitize_block(ch);
        }
        for (c, dry) in self.dry.iter_mut().enumerate() {
            dry[..n].copy_from_slice(&io[c.min(self.in_channels - 1)][..n]);
        }
        let mut dry: [&mut [f32]; MAX_CHANNELS] = Default::default();
        let channels = self.dry.len();
        for (slot, buf) in dry.iter_mut().zip(self.dry.iter_mut()) {
            *slot = &mut buf[..n];
        }
        self.delay.process_block(&mut dry[..channels]);
        replaced
    }

    /// Applies per-sample output `gain` to the wet signal in `io` and crossfades to the delayed
    /// dry signal as bypass demands.
    pub fn mix(&mut self, io: &mut [&mut [f32]], gain: &[f32], bypassed: bool) {
        self.bypass.set_bypassed(bypassed);
        let n = io.first().map_or(0, |c| c.len());
        for i in 0..n {
            let g = self.bypass.next_wet_gain();
            for (ch, dry) in io.iter_mut().zip(&self.dry) {
                ch[i] = Bypass::mix(g, ch[i] * gain[i], dry[i]);
            }
        }
    }

    /// As `mix`, blending the delayed dry signal into the wet one first: `wet[i]` (0–1) of
    /// wet, `1 − wet[i]` of dry, then `gain`. With `wet` at 1 it equals `mix` bit for bit.
    pub fn mix_blend(&mut self, io: &mut [&mut [f32]], gain: &[f32], wet: &[f32], bypassed: bool) {
        self.bypass.set_bypassed(bypassed);
        let n = io.first().map_or(0, |c| c.len());
        for i in 0..n {
            let g = self.bypass.next_wet_gain();
            let w = wet[i].clamp(0.0, 1.0);
            for (ch, dry) in io.iter_mut().zip(&self.dry) {
                let blended = if w >= 1.0 { ch[i] } else { ch[i] * w + dry[i] * (1.0 - w) };
                ch[i] = Bypass::mix(g, blended * gain[i], dry[i]);
            }
        }
    }

    pub fn reset(&mut self, bypassed: bool) {
        self.delay.reset();
        self.bypass.reset(bypassed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypassed_output_is_the_input_delayed_by_the_latency() {
        let mut dw = DryWet::new(1, 2, 64, 10, 48_000.0, true);
        let mut l: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let mut r = vec![0.0; 64];
        dw.capture(&mut [&mut l, &mut r]);
        // Wet path: something else entirely.
        l.fill(100.0);
        r.fill(100.0);
        dw.mix(&mut [&mut l, &mut r], &[1.0; 64], true);
        assert_eq!(l[10..], (0..54).map(|i| i as f32).collect::<Vec<_>>()[..]);
        assert_eq!(l, r, "mono input feeds both outputs");
    }

    #[test]
    fn non_finite_input_is_counted_and_silenced() {
        let mut dw = DryWet::new(2, 2, 8, 0, 48_000.0, false);
        let mut l = [1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let mut r = [f32::INFINITY; 8];
        assert_eq!(dw.capture(&mut [&mut l, &mut r]), 9);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()));
    }

    #[test]
    fn mix_blend_weighs_wet_against_the_delayed_dry_and_is_exact_at_full_wet() {
        let input: Vec<f32> = (0..64).map(|i| (i as f32 * 0.3).sin()).collect();
        let run = |wet: Option<f32>, path: f32| {
            let mut dw = DryWet::new(1, 1, 64, 5, 48_000.0, false);
            let mut x = input.clone();
            dw.capture(&mut [&mut x]);
            x.fill(path);
            match wet {
                Some(w) => dw.mix_blend(&mut [&mut x], &[2.0; 64], &[w; 64], false),
                None => dw.mix(&mut [&mut x], &[2.0; 64], false),
            }
            x
        };
        assert_eq!(run(Some(1.0), 0.25), run(None, 0.25), "full wet is `mix`");
        // Half wet with the wet path at 0.25 is `mix` of (0.25 + dry) / 2.
        let half = run(Some(0.5), 0.25);
        let full = run(None, 0.25);
        let dry_only = run(Some(0.0), 0.0);
        for i in 0..64 {
            let want = 0.5 * full[i] + 0.5 * dry_only[i];
            assert!((half[i] - want).abs() < 1e-6, "sample {i}: {} vs {want}", half[i]);
        }
        assert!(dry_only[10] != 0.0);
    }
}
