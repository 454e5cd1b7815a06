//! Polyphonic vowel synthesiser: PolyBLEP sawtooth (a glottal-like source with a −6 dB/octave
//! spectrum) through three parallel formant band-passes tuned to /ɑ/, with a linear
//! attack/release envelope per voice. Called on the audio thread: no allocation after `new`.

use super::biquad::Biquad;

/// Formants of /ɑ/ for an adult male voice (Hillenbrand et al. 1995 F1/F2; F3 typical), with
/// bandwidths and relative levels of a natural vowel.
const FORMANTS: [(f32, f32, f32); 3] = [(768.0, 90.0, 1.0), (1333.0, 110.0, 0.5), (2522.0, 160.0, 0.18)];

/// Voices that can sound at once; further notes steal the oldest voice.
pub const MAX_VOICES: usize = 16;

#[derive(Debug, Clone)]
struct Voice {
    note: u8,
    /// Monotonic start order, for stealing the oldest voice.
    age: u64,
    phase: f32,
    phase_inc: f32,
    velocity: f32,
    env: f32,
    gate: bool,
    active: bool,
    formants: [Biquad; 3],
}

/// Envelope times, set from the plugin's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Envelope {
    pub attack_ms: f32,
    pub release_ms: f32,
}

pub struct VowelSynth {
    sample_rate: f32,
    voices: Vec<Voice>,
    next_age: u64,
}

fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// Equal-tempered frequency of a MIDI note (A4 = 69 = 440 Hz).
pub fn note_hz(note: u8) -> f32 {
    440.0 * 2f32.powf((note as f32 - 69.0) / 12.0)
}

impl VowelSynth {
    pub fn new(sample_rate: f32) -> Self {
        let voice = Voice {
            note: 0,
            age: 0,
            phase: 0.0,
            phase_inc: 0.0,
            velocity: 0.0,
            env: 0.0,
            gate: false,
            active: false,
            formants: FORMANTS.map(|(f, bw, _)| Biquad::bandpass(sample_rate, f, bw)),
        };
        Self { sample_rate, voices: vec![voice; MAX_VOICES], next_age: 0 }
    }

    pub fn note_on(&mut self, note: u8, velocity: f32) {
        let idx = self
            .voices
            .iter()
            .position(|v| !v.active)
            .unwrap_or_else(|| {
                self.voices.iter().enumerate().min_by_key(|(_, v)| v.age).map(|(i, _)| i).unwrap_or(0)
            });
        let sr = self.sample_rate;
        let v = &mut self.voices[idx];
        // A stolen voice keeps its envelope level and filter state so the steal does not click.
        if !v.active {
            v.phase = 0.0;
            v.env = 0.0;
            v.formants.iter_mut().for_each(Biquad::reset);
        }
        v.note = note;
        v.age = self.next_age;
        self.next_age += 1;
        v.phase_inc = (note_hz(note) / sr).min(0.5);
        v.velocity = velocity.clamp(0.0, 1.0);
        v.gate = true;
        v.active = true;
    }

    pub fn note_off(&mut self, note: u8) {
        for v in self.voices.iter_mut().filter(|v| v.active && v.gate && v.note == note) {
            v.gate = false;
        }
    }

    /// Releases every voice (all-notes-off, transport stop).
    pub fn release_all(&mut self) {
        self.voices.iter_mut().for_each(|v| v.gate = false);
    }

    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.active).count()
    }

    /// Adds the mono voice mix into `out` for `out.len()` samples.
    pub fn render_add(&mut self, out: &mut [f32], env: Envelope) {
        let attack_step = 1.0 / (env.attack_ms.max(0.1) * 0.001 * self.sample_rate);
        let release_step = 1.0 / (env.release_ms.max(0.1) * 0.001 * self.sample_rate);
        for v in self.voices.iter_mut().filter(|v| v.active) {
            for o in out.iter_mut() {
                if v.gate {
                    v.env = (v.env + attack_step).min(1.0);
                } else {
                    v.env -= release_step;
                    if v.env <= 0.0 {
                        v.env = 0.0;
                        v.active = false;
                        break;
                    }
                }
                let mut saw = 2.0 * v.phase - 1.0;
                saw -= poly_blep(v.phase, v.phase_inc);
                v.phase += v.phase_inc;
                if v.phase >= 1.0 {
                    v.phase -= 1.0;
                }
                let mut y = 0.0;
                for (f, (_, _, level)) in v.formants.iter_mut().zip(FORMANTS) {
                    y += level * f.process(saw);
                }
                *o += y * v.env * v.velocity;
            }
        }
    }

    pub fn reset(&mut self) {
        for v in &mut self.voices {
            v.active = false;
            v.gate = false;
            v.env = 0.0;
            v.formants.iter_mut().for_each(Biquad::reset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fundamental by autocorrelation peak, with parabolic interpolation.
    fn f0_autocorr(x: &[f32], sr: f32, min_hz: f32, max_hz: f32) -> f32 {
        let (lo, hi) = ((sr / max_hz) as usize, (sr / min_hz) as usize);
        let r = |lag: usize| x[..x.len() - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum::<f32>();
        let (best, _) = (lo..=hi).map(|l| (l, r(l))).fold((lo, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
        let (y0, y1, y2) = (r(best - 1), r(best), r(best + 1));
        let shift = 0.5 * (y0 - y2) / (y0 - 2.0 * y1 + y2);
        sr / (best as f32 + shift)
    }

    #[test]
    fn a3_sings_at_220_hz_within_5_cents() {
        let sr = 48_000.0;
        let mut s = VowelSynth::new(sr);
        s.note_on(57, 1.0);
        let mut out = vec![0.0; 48_000];
        s.render_add(&mut out, Envelope { attack_ms: 5.0, release_ms: 50.0 });
        let f0 = f0_autocorr(&out[4800..], sr, 100.0, 400.0);
        let cents = 1200.0 * (f0 / 220.0).log2();
        assert!(cents.abs() < 5.0, "f0 {f0} Hz, {cents} cents");
    }

    #[test]
    fn release_ends_the_voice_and_reaches_silence() {
        let mut s = VowelSynth::new(44_100.0);
        let env = Envelope { attack_ms: 1.0, release_ms: 100.0 };
        s.note_on(60, 0.8);
        let mut out = vec![0.0; 4410];
        s.render_add(&mut out, env);
        s.note_off(60);
        let mut tail = vec![0.0; 4410 + 100];
        s.render_add(&mut tail, env);
        assert_eq!(s.active_voices(), 0);
        assert!(tail[4420..].iter().all(|v| *v == 0.0));
    }

    #[test]
    fn seventeen_notes_steal_the_oldest_voice() {
        let mut s = VowelSynth::new(48_000.0);
        for n in 40..57 {
            s.note_on(n, 1.0);
        }
        assert_eq!(s.active_voices(), MAX_VOICES);
        assert!(!s.voices.iter().any(|v| v.note == 40));
    }
}
