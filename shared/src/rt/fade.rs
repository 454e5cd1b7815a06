//! Click-free switching: a linear gain ramp used for bypass (wet ↔ latency-matched dry) and for
//! muting instruments. Called on the audio thread: no allocation.

/// A gain that moves linearly towards its target over a fixed time.
#[derive(Debug, Clone)]
pub struct Ramp {
    current: f32,
    target: f32,
    step: f32,
    ramp_samples: f32,
}

impl Ramp {
    /// Starts settled at `value`; later changes take `ramp_ms` at `sample_rate`.
    pub fn new(value: f32, ramp_ms: f32, sample_rate: f32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            ramp_samples: (ramp_ms * 0.001 * sample_rate).max(1.0),
        }
    }

    /// Sets the target; the ramp runs from the current value.
    #[inline]
    pub fn set_target(&mut self, target: f32) {
        if target != self.target {
            self.target = target;
            self.step = (target - self.current) / self.ramp_samples;
        }
    }

    /// Jumps to `value` with no ramp (used by `reset`).
    pub fn settle(&mut self, value: f32) {
        self.current = value;
        self.target = value;
        self.step = 0.0;
    }

    #[inline]
    pub fn next(&mut self) -> f32 {
        if self.current != self.target {
            self.current += self.step;
            if (self.step > 0.0 && self.current >= self.target)
                || (self.step < 0.0 && self.current <= self.target)
            {
                self.current = self.target;
            }
        }
        self.current
    }

    pub fn current(&self) -> f32 {
        self.current
    }

    pub fn is_settled(&self) -> bool {
        self.current == self.target
    }
}

/// Bypass crossfader: `mix(wet, dry)` returns wet when active and the (already delayed) dry
/// signal when bypassed, crossfading over the ramp time so switching never clicks.
#[derive(Debug, Clone)]
pub struct Bypass {
    wet_gain: Ramp,
}

/// Bypass crossfade time; long enough to hide the switch, short enough to feel immediate.
pub const BYPASS_FADE_MS: f32 = 10.0;

impl Bypass {
    pub fn new(sample_rate: f32, bypassed: bool) -> Self {
        Self { wet_gain: Ramp::new(if bypassed { 0.0 } else { 1.0 }, BYPASS_FADE_MS, sample_rate) }
    }

    #[inline]
    pub fn set_bypassed(&mut self, bypassed: bool) {
        self.wet_gain.set_target(if bypassed { 0.0 } else { 1.0 });
    }

    /// Advances one frame and returns the wet gain for it (dry gain is `1 - wet`).
    #[inline]
    pub fn next_wet_gain(&mut self) -> f32 {
        self.wet_gain.next()
    }

    #[inline]
    pub fn mix(wet_gain: f32, wet: f32, dry: f32) -> f32 {
        dry + wet_gain * (wet - dry)
    }

    /// True once fully bypassed: the wet path need not be computed for mixing.
    pub fn is_fully_bypassed(&self) -> bool {
        self.wet_gain.is_settled() && self.wet_gain.current() == 0.0
    }

    pub fn reset(&mut self, bypassed: bool) {
        self.wet_gain.settle(if bypassed { 0.0 } else { 1.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypass_fade_takes_10_ms_and_steps_at_most_one_ramp_increment() {
        let sr = 48_000.0;
        let mut b = Bypass::new(sr, false);
        b.set_bypassed(true);
        let gains: Vec<f32> = (0..1000).map(|_| b.next_wet_gain()).collect();
        let done = gains.iter().position(|g| *g == 0.0).unwrap();
        assert_eq!(done, 479, "10 ms at 48 kHz = 480 samples");
        let max_step = gains.windows(2).map(|w| (w[0] - w[1]).abs()).fold(0.0, f32::max);
        assert!(max_step <= 1.0 / 480.0 + 1e-6, "step {max_step}");
        assert!(b.is_fully_bypassed());
    }

    #[test]
    fn mix_of_equal_signals_is_identity_throughout_the_fade() {
        let mut b = Bypass::new(44_100.0, false);
        b.set_bypassed(true);
        for i in 0..1000 {
            let x = (i as f32 * 0.01).sin();
            let g = b.next_wet_gain();
            assert!((Bypass::mix(g, x, x) - x).abs() < 1e-7);
        }
    }
}
