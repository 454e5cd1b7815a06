//! Pitch correction: the shift that brings the input's pitch to the nearest note of a key and
//! scale, reached at the retune speed, with humanise keeping the voice's own movement (vibrato,
//! scoops) around the note.
//!
//! Each update takes the tracker's newest estimate. The input pitch `p` (fractional MIDI note)
//! is low-passed with a time constant set by humanise (0 %: none, the whole movement is
//! corrected away; 100 %: 250 ms, so vibrato and fast inflections pass and only the note's centre
//! is pulled onto the scale). The target is the scale note nearest that centre, kept until the
//! centre is 0.1 semitone past the midpoint to a neighbour (no flip-flopping between two notes
//! on a note held in between). The correction `target − centre` is approached with
//! the retune time constant (0 ms: at once). Unvoiced, the correction holds.

/// Scales, as the semitones above the key that belong to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    #[default]
    Chromatic,
    Major,
    Minor,
    /// The key's note only (in every octave): a monotone.
    Root,
}

impl Scale {
    fn contains(self, degree: i32) -> bool {
        let d = degree.rem_euclid(12);
        match self {
            Scale::Chromatic => true,
            Scale::Major => [0, 2, 4, 5, 7, 9, 11].contains(&d),
            Scale::Minor => [0, 2, 3, 5, 7, 8, 10].contains(&d),
            Scale::Root => d == 0,
        }
    }
}

/// Largest humanise time constant (at 100 %).
const HUMANISE_MAX_S: f32 = 0.25;
/// How far (semitones) past the midpoint to a neighbouring note the centre must go before the
/// target changes.
const HYSTERESIS: f32 = 0.1;

pub struct Correction {
    sample_rate: f32,
    enabled: bool,
    key: i32,
    scale: Scale,
    retune_s: f32,
    humanise_s: f32,
    centre: Option<f32>,
    target: Option<i32>,
    correction: f32,
}

impl Correction {
    pub fn new(sample_rate: f32) -> Self {
        Self { sample_rate, enabled: false, key: 0, scale: Scale::Chromatic, retune_s: 0.05, humanise_s: 0.0, centre: None, target: None, correction: 0.0 }
    }

    /// `key` 0 = C … 11 = B; `retune_ms` ≥ 0; `humanise` 0..1.
    pub fn set(&mut self, enabled: bool, key: i32, scale: Scale, retune_ms: f32, humanise: f32) {
        if self.enabled && !enabled {
            self.reset();
        }
        self.enabled = enabled;
        self.key = key.rem_euclid(12);
        self.scale = scale;
        self.retune_s = (retune_ms / 1000.0).max(0.0);
        self.humanise_s = humanise.clamp(0.0, 1.0) * HUMANISE_MAX_S;
    }

    pub fn reset(&mut self) {
        self.centre = None;
        self.target = None;
        self.correction = 0.0;
    }

    /// The scale note nearest `pitch` (MIDI note number).
    pub fn nearest(&self, pitch: f32) -> i32 {
        let base = pitch.round() as i32;
        (0..=12)
            .flat_map(|d| [base - d, base + d])
            .filter(|n| self.scale.contains(n - self.key))
            .min_by(|a, b| (*a as f32 - pitch).abs().total_cmp(&(*b as f32 - pitch).abs()))
            .unwrap_or(base)
    }

    /// Advances by `samples` with the tracker's newest F0 (`None` when unvoiced); returns the
    /// correction in semitones (0 when off).
    pub fn update(&mut self, f0: Option<f32>, samples: usize) -> f32 {
        if !self.enabled {
            return 0.0;
        }
        let dt = samples as f32 / self.sample_rate;
        let Some(f0) = f0.filter(|f| *f > 0.0 && f.is_finite()) else {
            return self.correction;
        };
        let p = 69.0 + 12.0 * (f0 / 440.0).log2();
        let follow = |tau: f32| if tau <= 0.0 { 1.0 } else { 1.0 - (-dt / tau).exp() };
        let centre = match self.centre {
            Some(c) => c + (p - c) * follow(self.humanise_s),
            None => p,
        };
        self.centre = Some(centre);
        let target = match self.target {
            Some(t) if self.scale.contains(t - self.key) && (centre - t as f32).abs() < self.half_gap(t, centre) + HYSTERESIS => t,
            _ => self.nearest(centre),
        };
        self.target = Some(target);
        let wanted = target as f32 - centre;
        self.correction += (wanted - self.correction) * follow(self.retune_s);
        self.correction
    }

    /// Half the distance from note `t` to its scale neighbour on the side of `towards`.
    fn half_gap(&self, t: i32, towards: f32) -> f32 {
        let step = if towards >= t as f32 { 1 } else { -1 };
        let mut n = t + step;
        while !self.scale.contains(n - self.key) {
            n += step;
        }
        0.5 * (n - t).abs() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hz(note: f32) -> f32 {
        440.0 * 2f32.powf((note - 69.0) / 12.0)
    }

    #[test]
    fn nearest_notes_follow_key_and_scale() {
        let mut c = Correction::new(48_000.0);
        c.set(true, 0, Scale::Major, 0.0, 0.0);
        assert_eq!(c.nearest(61.2), 62, "C#4+20 in C major → D4");
        assert_eq!(c.nearest(60.8), 60, "C4+80 in C major → C4 (C# is not in the scale, C is nearer than D)");
        c.set(true, 9, Scale::Minor, 0.0, 0.0);
        assert_eq!(c.nearest(60.4), 60, "A minor has C");
        assert_eq!(c.nearest(61.6), 62, "A minor: C# → D");
        c.set(true, 0, Scale::Chromatic, 0.0, 0.0);
        assert_eq!(c.nearest(61.4), 61);
    }

    #[test]
    fn a_held_note_is_pulled_onto_the_scale_at_the_retune_speed() {
        let mut c = Correction::new(48_000.0);
        c.set(true, 0, Scale::Major, 50.0, 0.0);
        // A4 + 30 cents, held: the correction reaches −0.30 st; after 5 time constants within 1 %.
        let mut k = 0.0;
        for _ in 0..(0.25 * 48_000.0 / 64.0) as usize {
            k = c.update(Some(hz(69.3)), 64);
        }
        assert!((k + 0.3).abs() < 0.003, "correction {k}");
        // Unvoiced: holds.
        assert_eq!(c.update(None, 64), k);
    }

    #[test]
    fn humanise_keeps_vibrato_and_corrects_the_centre() {
        // A4 + 30 cents with ±25 cents of 5.5 Hz vibrato (it never crosses to A#4's side).
        for (humanise, want_depth) in [(0.0f32, 0.0f32), (1.0, 0.25)] {
            let mut c = Correction::new(48_000.0);
            c.set(true, 0, Scale::Chromatic, 0.0, humanise);
            let mut out = Vec::new();
            for i in 0..(2.0 * 48_000.0 / 64.0) as usize {
                let t = i as f32 * 64.0 / 48_000.0;
                let p = 69.3 + 0.25 * (std::f32::consts::TAU * 5.5 * t).sin();
                let k = c.update(Some(hz(p)), 64);
                if t > 1.0 {
                    out.push(p + k);
                }
            }
            let mean = out.iter().sum::<f32>() / out.len() as f32;
            let depth = out.iter().fold(0.0f32, |m, v| m.max((v - mean).abs()));
            eprintln!("humanise {humanise}: output centre {mean:.3}, vibrato depth {depth:.3} st");
            assert!((mean - 69.0).abs() < 0.03, "centre {mean}");
            assert!((depth - want_depth).abs() < 0.06, "depth {depth}");
        }
    }

    #[test]
    fn a_note_between_two_scale_notes_does_not_flip_flop() {
        let mut c = Correction::new(48_000.0);
        c.set(true, 0, Scale::Chromatic, 0.0, 0.0);
        let mut targets = std::collections::BTreeSet::new();
        for i in 0..2000 {
            let p = 69.5 + 0.05 * ((i as f32) * 0.37).sin();
            c.update(Some(hz(p)), 64);
            targets.insert(c.target.unwrap());
        }
        assert_eq!(targets.len(), 1, "{targets:?}");
    }
}
