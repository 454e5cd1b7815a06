//! Level metering shared between the audio thread (writer) and the editor (reader) through an
//! atomic float: no lock the audio thread could wait on.

use atomic_float::AtomicF32;
use std::sync::atomic::Ordering;

/// Peak level with a fixed release, published once per block.
#[derive(Debug)]
pub struct PeakMeter {
    level: AtomicF32,
}

/// Peak meter fall-off: 20 dB in 1.5 s, the usual PPM-like release.
pub const METER_RELEASE_DB_PER_S: f32 = 20.0 / 1.5;

impl Default for PeakMeter {
    fn default() -> Self {
        Self { level: AtomicF32::new(0.0) }
    }
}

impl PeakMeter {
    /// Audio thread: folds a block's peak into the meter, applying release for `block_s` seconds.
    #[inline]
    pub fn update(&self, block_peak: f32, block_s: f32) {
        let old = self.level.load(Ordering::Relaxed);
        let release = 10f32.powf(-METER_RELEASE_DB_PER_S * block_s / 20.0);
        let peak = if block_peak.is_finite() { block_peak.abs() } else { 0.0 };
        self.level.store(peak.max(old * release), Ordering::Relaxed);
    }

    /// Editor: the current level, linear.
    pub fn level(&self) -> f32 {
        self.level.load(Ordering::Relaxed)
    }

    /// Editor: the current level in dBFS (−∞ reads as −120).
    pub fn level_db(&self) -> f32 {
        let l = self.level();
        if l > 1e-6 { 20.0 * l.log10() } else { -120.0 }
    }
}

/// Peak of a block (non-finite samples ignored).
#[inline]
pub fn block_peak(samples: &[f32]) -> f32 {
    samples.iter().filter(|s| s.is_finite()).fold(0.0f32, |m, s| m.max(s.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_20_db_in_1_5_s() {
        let m = PeakMeter::default();
        m.update(1.0, 0.0);
        for _ in 0..150 {
            m.update(0.0, 0.01);
        }
        assert!((m.level_db() + 20.0).abs() < 0.01, "{}", m.level_db());
    }
}
