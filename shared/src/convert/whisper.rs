//! Whisper: the voice's spectral envelope excited by noise instead of by the vocal folds. Linear
//! prediction (autocorrelation method, Levinson–Durbin) on the newest 20 ms of the signal,
//! updated every 5 ms, shapes white noise scaled by the prediction error's power. It only looks
//! back, so it adds no latency; it runs after the shifter, so pitch no longer matters and formant
//! moves are kept. Allocation-free after `new`.

/// Analysis window and update interval.
const WINDOW_S: f32 = 0.020;
const HOP_S: f32 = 0.005;
/// Predictor order: about one pole pair per kHz of bandwidth up to 16 kHz, plus two.
const MAX_ORDER: usize = 34;

pub struct Whisper {
    order: usize,
    window: Vec<f32>,
    history: Vec<Vec<f32>>,
    pos: usize,
    countdown: usize,
    hop: usize,
    /// Per channel: predictor coefficients a[1..=order], excitation gain, synthesis memory.
    coeffs: Vec<[f32; MAX_ORDER + 1]>,
    gain: Vec<f32>,
    memory: Vec<[f32; MAX_ORDER]>,
    frame: Vec<f32>,
    seed: u32,
}

impl Whisper {
    pub fn new(channels: usize, sample_rate: f32) -> Self {
        let len = ((WINDOW_S * sample_rate) as usize).max(16);
        let order = ((sample_rate / 1000.0).min(32.0) as usize + 2).min(MAX_ORDER).min(len / 2);
        let window = (0..len).map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / len as f32).cos()).collect();
        Self {
            order,
            window,
            history: vec![vec![0.0; len]; channels],
            pos: 0,
            countdown: 0,
            hop: ((HOP_S * sample_rate) as usize).max(1),
            coeffs: vec![[0.0; MAX_ORDER + 1]; channels],
            gain: vec![0.0; channels],
            memory: vec![[0.0; MAX_ORDER]; channels],
            frame: vec![0.0; len],
            seed: 0x1234_5678,
        }
    }

    pub fn reset(&mut self) {
        self.history.iter_mut().for_each(|h| h.fill(0.0));
        self.memory.iter_mut().for_each(|m| m.fill(0.0));
        self.gain.fill(0.0);
        self.pos = 0;
        self.countdown = 0;
    }

    #[inline]
    fn noise(&mut self) -> f32 {
        // xorshift32, uniform in [-√3, √3): unit variance.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 17;
        self.seed ^= self.seed << 5;
        (self.seed as f32 / u32::MAX as f32 * 2.0 - 1.0) * 1.732_050_8
    }

    /// Re-estimates channel `c`'s predictor from its history (oldest sample at `self.pos`).
    fn analyse(&mut self, c: usize) {
        let len = self.window.len();
        for i in 0..len {
            self.frame[i] = self.history[c][(self.pos + i) % len] * self.window[i];
        }
        let p = self.order;
        let mut r = [0.0f64; MAX_ORDER + 1];
        for (lag, rl) in r.iter_mut().enumerate().take(p + 1) {
            *rl = (lag..len).map(|i| self.frame[i] as f64 * self.frame[i - lag] as f64).sum();
        }
        let w_energy: f64 = self.window.iter().map(|w| (*w as f64).powi(2)).sum::<f64>().max(1e-12);
        if r[0] <= 1e-12 * w_energy {
            self.gain[c] = 0.0;
            return;
        }
        r[0] *= 1.0 + 1e-6; // a −60 dB white-noise floor keeps the recursion well conditioned
        let mut a = [0.0f64; MAX_ORDER + 1];
        a[0] = 1.0;
        let mut err = r[0];
        for i in 1..=p {
            let acc: f64 = (1..i).map(|j| a[j] * r[i - j]).sum::<f64>() + r[i];
            let k = -acc / err;
            let prev = a;
            for j in 1..i {
                a[j] = prev[j] + k * prev[i - j];
            }
            a[i] = k;
            err *= 1.0 - k * k;
            if err <= 0.0 {
                break;
            }
        }
        for j in 0..=p {
            self.coeffs[c][j] = a[j] as f32;
        }
        // Prediction error power per sample of the (windowed) frame → excitation level.
        self.gain[c] = (err.max(0.0) / w_energy).sqrt() as f32;
    }

    /// Replaces each channel by noise through its own envelope (in place, any length).
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let frames = channels.first().map_or(0, |c| c.len());
        let nch = channels.len().min(self.history.len());
        let len = self.window.len();
        for t in 0..frames {
            for (c, ch) in channels.iter().enumerate().take(nch) {
                self.history[c][self.pos] = ch[t];
            }
            self.pos = (self.pos + 1) % len;
            if self.countdown == 0 {
                for c in 0..nch {
                    self.analyse(c);
                }
                self.countdown = self.hop;
            }
            self.countdown -= 1;
            let e = self.noise();
            for (c, ch) in channels.iter_mut().enumerate().take(nch) {
                let a = &self.coeffs[c];
                let m = &mut self.memory[c];
                let mut y = e * self.gain[c];
                for j in 1..=self.order {
                    y -= a[j] * m[j - 1];
                }
                if !y.is_finite() {
                    y = 0.0;
                    m.fill(0.0);
                }
                m.copy_within(0..self.order - 1, 1);
                m[0] = y;
                ch[t] = y;
            }
        }
    }
}
