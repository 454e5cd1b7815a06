//! Pitch-synchronous splicing: the Live shifter's engine when the formants move with the pitch
//! (formant shift = pitch shift, a plain transposition).
//!
//! The output is the input read `ratio` input samples per output sample (so every period, its
//! jitter and its envelope come out exactly transposed, as a resampler would), from a read
//! position that drifts away from `now − D`. Before it drifts more than half a period away, the
//! reader jumps by a whole number of periods (forward when shifting down, back when shifting up)
//! to the offset, within ±15 % of the period, whose surroundings match the old position's best
//! (WSOLA), and cross-fades from the old to the new position over a tenth of an output period. The
//! content's timing then stays within about half a period of the reported latency `D`, and each
//! splice joins two cycles that look alike, so no click or phase break is heard.
//!
//! On a moving pitch the reader, up to half a period off `now − D`, would sound the pitch of
//! where it is; the shifter reads it a little faster or slower (within ±50 cents) so that it
//! sounds the pitch at `now − D` instead.
//!
//! PSOLA cuts a grain per output period and stretches it when the formants move; on read
//! speech (Praat, median over the five LibriVox clips) it followed the pitch at 14.7 / 8.8 /
//! 6.0 / 5.3 / 4.5 / 4.9 cents for −12 / −7 / −3 / +3 / +7 / +12 st. Splicing measures 8.8 /
//! 5.1 / 3.1 / 2.7 / 2.7 / 2.6 (Rubber Band R3: 8.5 / 4.5 / 3.5 / 3.4 / 4.0 / 4.6); pooled over
//! four starts of the clips, with each jump carried to the reader along the pitch's slope
//! ([`lag_at`], to the cross-fade's end) and the reading rate trimmed wholly, 8.14 / 5.34 / 2.95
//! / 2.43 / 3.05 / 2.10 (R3: 8.44 / 4.54 / 3.36 / 3.32 / 4.05 / 4.63). A sine transposed or swept over ±12 st keeps
//! everything outside its band 77 dB down.
//!
//! Unvoiced stretches splice 5 ms jumps with the same search, faded over the whole jump.

/// Normalised cross-correlation of `mid` around `a` and `b` (integer times), over
/// `before` … `after` samples, every `step`.
pub(super) fn similarity(mid: &[f32], mask: usize, a: i64, b: i64, before: i64, after: i64, step: usize) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    let mut u = -before;
    while u <= after {
        let x = mid[(a + u) as usize & mask] as f64;
        let y = mid[(b + u) as usize & mask] as f64;
        ab += x * y;
        aa += x * x;
        bb += y * y;
        u += step as i64;
    }
    if aa > 0.0 && bb > 0.0 { ab / (aa * bb).sqrt() } else { 0.0 }
}

/// Where, in samples from `r`, a normalised cross-correlation of `mid` over `before` … `after`
/// weighs most: the centroid of the waveform's slope energy (a lag is told apart by where the
/// waveform changes fastest, at a voice's pulses, not evenly over the stretch).
pub(super) fn slope_centroid(mid: &[f32], mask: usize, r: i64, before: i64, after: i64) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for u in -before..=after {
        let d = (mid[(r + u + 1) as usize & mask] - mid[(r + u - 1) as usize & mask]) as f64;
        num += u as f64 * d * d;
        den += d * d;
    }
    if den > 0.0 { num / den } else { 0.0 }
}

/// A lag between like points of two cycles, measured `centroid` samples from where it is
/// wanted, carried there along a period changing by `slope` (d ln period / dt per sample): on
/// a glide the cycles are shorter later. Without it, on a 120 → 240 Hz glide, matches weighed
/// at a voice's pulses crept later in the cycle by 0.02 cycles a second, and the output came
/// out sharp by up to 0.3 cents (grains) and 0.75 cents (splices, −12 st).
pub(super) fn lag_at(lag: f64, slope: f64, centroid: f64) -> f64 {
    lag * (-slope * centroid).exp()
}

/// Cross-fade and jump state of one reader.
pub struct Splice {
    /// Input time (fractional) the output reads now.
    read: f64,
    /// During a cross-fade: where the new reader is, and the fade's progress and step.
    next: f64,
    fade: f32,
    fade_step: f32,
    fading: bool,
    /// How alike the two readers' stretches are (normalised correlation, 0…1).
    correlation: f32,
    /// Delay `D` the reader is kept around (the shifter's latency).
    latency: f64,
    unvoiced_jump: f64,
    min_fade: f64,
    stride: usize,
}

/// How far (in periods) around one period the jump is searched.
const SEARCH: f64 = 0.15;
/// Voiced cross-fades last this share of an output period.
const FADE: f64 = 0.1;

impl Splice {
    pub fn new(sample_rate: f32, latency: usize) -> Self {
        Self {
            read: 0.0,
            next: 0.0,
            fade: 0.0,
            fade_step: 0.0,
            fading: false,
            correlation: 1.0,
            latency: latency as f64,
            unvoiced_jump: 0.005 * sample_rate as f64,
            min_fade: (0.00025 * sample_rate as f64).max(4.0),
            stride: ((sample_rate / 16_000.0).floor() as usize).max(1),
        }
    }

    /// Puts the reader at `now − D` (the shifter is not transposing).
    pub fn align(&mut self, now: i64) {
        self.read = now as f64 - self.latency;
        self.fading = false;
    }

    /// The input time the reader is at (for the period there).
    pub fn position(&self) -> f64 {
        self.read
    }

    /// The jump (signed, input samples) within ±SEARCH of `nominal` whose surroundings match
    /// the reader's best, the compared stretch ending at input `newest` at the latest, and how
    /// well they match (normalised correlation); the jump is carried `ahead` input samples on
    /// along the period's `slope`, to where the reader will be when the cross-fade ends.
    fn best_jump(&self, mid: &[f32], mask: usize, newest: i64, nominal: f64, period: f64, slope: f64, ahead: f64) -> (f64, f64) {
        let delta = (SEARCH * period).max(1.0);
        let r = self.read.round() as i64;
        let lo = (nominal - delta).ceil() as i64;
        let hi = (nominal + delta).floor() as i64;
        // Half a period before both positions, and after them as far as the input reaches, up
        // to half a period. Where less is there after, the stretch leans back; `lag_at` carries
        // the lag to the reader. (Before it did, the stretch before was cut to the one after,
        // so that it stayed centred on the splice: on a glide a stretch reaching further back
        // matches the longer periods before it, and every jump came out long, +0.7 cents sharp
        // an octave down. Kept whole and carried, read speech follows at 8.02 / 5.20 / 2.90 /
        // 2.67 / 2.65 / 1.89 cents, pooled over four starts, against 8.56 / 5.44 / 2.96 / 2.62 /
        // 2.79 / 2.08 cut.)
        let before = (0.5 * period).round() as i64;
        let after = ((newest - (r + hi.max(0))).min((0.5 * period).round() as i64)).max(0);
        if hi < lo {
            return (nominal, 0.0);
        }
        let step = self.stride;
        let sim = |j: i64| similarity(mid, mask, r, r + j, before, after, step);
        let mut best = (f64::NEG_INFINITY, lo);
        let mut j = lo;
        while j <= hi {
            let c = sim(j);
            if c > best.0 {
                best = (c, j);
            }
            j += step as i64;
        }
        // Refined on every sample (the coarse sums skip samples, which blurs a fraction of a
        // sample: each splice's phase error is an output period's error in the pitch).
        let fine = |j: i64| similarity(mid, mask, r, r + j, before, after, 1);
        let j0 = best.1;
        best = (fine(j0), j0);
        for j in (j0 - step as i64 + 1).max(lo)..=(j0 + step as i64 - 1).min(hi) {
            let c = fine(j);
            if c > best.0 {
                best = (c, j);
            }
        }
        let (c0, j) = best;
        let mut at = j as f64;
        if j > lo && j < hi {
            // Between samples: a cosine through the three (exact for a sinusoid's correlation,
            // where a parabola is biased), else a parabola.
            let (cm, cp) = (fine(j - 1), fine(j + 1));
            let cosw = (cm + cp) / (2.0 * c0);
            let den = cm - 2.0 * c0 + cp;
            if c0 > 0.0 && cosw > -1.0 && cosw < 1.0 {
                let w = cosw.acos();
                at += ((cp - cm) / (2.0 * c0 * w.sin())).atan().clamp(-0.5 * w, 0.5 * w) / w;
            } else if den < 0.0 {
                at += (0.5 * (cm - cp) / den).clamp(-0.5, 0.5);
            }
        }
        // The jump as it stands at the cross-fade's end, not where the comparison weighs most
        // (on a glide the two differ; see `lag_at`): both readers advance at the old one's rate
        // during the fade, the new one through content a period away, so a jump matched at the
        // reader gains (or loses) the pitch's change over a period for the fade's length. Once
        // the fade is over only the new reader sounds, and that phase stays: on a 120 → 240 Hz
        // glide every jump matched at the reader left the output 0.36 cents sharp at −12 st and
        // 0.11 flat at +12 (with the carry, +0.02 and +0.07).
        (lag_at(at, slope, slope_centroid(mid, mask, r, before, after) - ahead), c0)
    }

    /// Decides a splice if the reader has drifted far enough, for output sample `now` (input is
    /// there up to `now`), at pitch ratio `ratio`, with the period (input samples) at the reader
    /// and whether it is voiced there; the output reads `reach` input samples past a reader;
    /// the period changes by `slope` there (d ln period / dt, 0 when unvoiced).
    pub fn plan(&mut self, mid: &[f32], mask: usize, now: i64, ratio: f64, period: f64, voiced: bool, reach: f64, slope: f64) {
        if self.fading {
            return;
        }
        let p = if voiced { period } else { self.unvoiced_jump };
        // Voiced: a tenth of an output period (the two readers hold matched cycles; on read
        // speech longer fades measured worse under Praat, 5.4 → 7.7 → 12.1 cents at −7 st for
        // a tenth, half and a whole period, as cycles that are alike are still not the same).
        // Unvoiced: over the whole 5 ms jump, so noise is not roughened.
        let fade_len = if voiced { (FADE * p / ratio).max(self.min_fade) } else { p / ratio };
        let delay = now as f64 - self.read;
        if ratio < 1.0 {
            // Drifting later: jump forward once half a period late, if the new reader's fade
            // stays behind the input.
            // The new reader, one period on, reads up to read + p + ratio·fade_len + 2 by
            // the fade's end, when the input reaches now + fade_len.
            let room = delay - p + (1.0 - ratio) * fade_len;
            if delay > self.latency + 0.5 * p && room >= reach + 1.0 {
                let (j, c) = self.best_jump(mid, mask, now - 2, p, p, slope, ratio * fade_len);
                self.start(self.read + j, fade_len, c);
            }
        } else if ratio > 1.0 {
            // Drifting earlier: jump back once half a period early, or sooner if the old
            // reader would otherwise catch up with the input during the fade.
            let catch_up = (ratio - 1.0) * fade_len + reach + 1.0;
            if delay < self.latency - 0.5 * p || delay < catch_up {
                let (j, c) = self.best_jump(mid, mask, now - 2, -p, p, slope, ratio * fade_len);
                self.start(self.read + j, fade_len, c);
            }
        }
    }

    fn start(&mut self, to: f64, fade_len: f64, correlation: f64) {
        self.next = to;
        self.correlation = correlation.clamp(0.0, 1.0) as f32;
        self.fade = 0.0;
        self.fade_step = (1.0 / fade_len) as f32;
        self.fading = true;
    }

    /// The reader's (and during a fade the new reader's) positions and gains for this output
    /// sample; then advances both by `rate`. (Reading the new one at the rate for its own
    /// content, a period on, measured worse on read speech: 5.8 against 5.0 cents at −7 st, the
    /// tracker's period there being noisier than a period's glide.)
    #[inline]
    pub fn step(&mut self, rate: f64, now: i64, reach: f64) -> (f64, f64, f32, f32) {
        let limit = now as f64 - reach;
        let a = self.read.min(limit);
        let (b, ga, gb) = if self.fading {
            // A raised-cosine fade, its gains scaled so that the sum keeps the level for the
            // two stretches' correlation `c`: matched cycles (c ≈ 1) add in amplitude, noise
            // (c ≈ 0) in power. Without it, noise spliced an octave down lost 2.2 dB and its
            // level wobbled at the splice rate (2 ms RMS s.d. 1.1 dB against the input's 0.4).
            let w = 0.5 - 0.5 * (std::f32::consts::PI * self.fade).cos();
            let (ga, gb) = (1.0 - w, w);
            let norm = 1.0 / (ga * ga + gb * gb + 2.0 * self.correlation * ga * gb).sqrt();
            (self.next.min(limit), ga * norm, gb * norm)
        } else {
            (a, 1.0, 0.0)
        };
        self.read += rate;
        if self.fading {
            self.next += rate;
            self.fade += self.fade_step;
            if self.fade >= 1.0 {
                self.read = self.next;
                self.fading = false;
            }
        }
        (a, b, ga, gb)
    }
}


