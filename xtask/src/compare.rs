//! `cargo xtask compare-rubberband`: the Voice Converter's pitch accuracy next to Rubber Band R3
//! (the `rubberband` command-line tool, offline) on the same inputs and under the same tracker.
//!
//! - **Synthetic voices** (`analysis::synthetic`, 48 kHz: steady, glide, vibrato, 1 % jitter)
//!   have an exact F0: the error is the output's F0 (the converter's own YIN tracker, each
//!   estimate timed where its period was measured) against the true F0 × 2^(n/12) of the cycle
//!   it measured. Two more rows give the tracker's figures on the exact answer (the voice
//!   synthesised at the shifted F0): its floor, 0.01–0.3 cents.
//! - **Read speech** (the five LibriVox clips of Debian's pocketsphinx-testdata, fetched by
//!   `cargo xtask models`), where no tracker is exact: the error is the output's F0 against the
//!   input's F0 × 2^(n/12), both from Praat's autocorrelation tracker (praat-parselmouth, pinned,
//!   installed with pip into target/peer-python), over frames both call voiced, pooled over
//!   the clips.
//!
//! Each converter mode runs twice: formants kept (Formant 0, against `rubberband -3 --formant`)
//! and formants moved with the pitch (Formant = n, against `rubberband -3`). Prints the median
//! |cents| per shift n ∈ {−12, −7, −3, +3, +7, +12} and the share of frames off by more than 50
//! cents (octave and voicing slips). `--offsets K` runs the speech again after a few samples of
//! silence and pools the starts (see `speech_offsets`); `--check` pools four starts and checks
//! [`CLAIMS`] (the read speech's on the pooled medians).

use crate::cli::Args;
use std::path::{Path, PathBuf};
use std::process::Command;
use voirs_shared::analysis::pitch::PitchTracker;
use voirs_shared::analysis::synthetic::{Envelope, FEMALE_EE, Formant, MALE_AH, cycle_f0, track, voice};
use voirs_shared::wav::{self, Audio};

const SHIFTS: [i32; 6] = [-12, -7, -3, 3, 7, 12];
const CLIPS: [&str; 5] = ["0870", "0880", "0890", "0920", "0930"];
const PARSELMOUTH: &str = "praat-parselmouth==0.4.6";
const NUMPY: &str = "numpy==2.4.6";
const SYNTH_SR: u32 = 48_000;

/// One way of shifting: ours (a mode, formants kept or moved) or Rubber Band R3.
#[derive(Clone, Copy)]
struct System {
    label: &'static str,
    mode: Option<&'static str>,
    formant_moves: bool,
}

const SYSTEMS: [System; 6] = [
    System { label: "Live, formants kept", mode: Some("Live (10 ms)"), formant_moves: false },
    System { label: "Quality, formants kept", mode: Some("Quality (43 ms)"), formant_moves: false },
    System { label: "R3 --formant", mode: None, formant_moves: false },
    System { label: "Live, formants moved", mode: Some("Live (10 ms)"), formant_moves: true },
    System { label: "Quality, formants moved", mode: Some("Quality (43 ms)"), formant_moves: true },
    System { label: "R3", mode: None, formant_moves: true },
];

/// Where VoiRS follows the pitch at least as closely as Rubber Band R3 (input, system, shifts),
/// checked by `--check` on every run of `cargo xtask test`: the cells the benchmarks print in
/// bold (the read speech pooled over four starts), less those within 0.03 cents of R3 (a tie
/// another CPU's rounding could tip). The cells not listed are where R3 is still closer
/// (docs/BENCHMARKS.md).
const CLAIMS: &[(&str, &str, &[i32])] = &[
    ("steady 150 Hz", "Live, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("steady 150 Hz", "Quality, formants kept", &[-7, -3, 3, 7, 12]),
    ("steady 150 Hz", "Live, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("steady 150 Hz", "Quality, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("glide 120→240 Hz", "Live, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("glide 120→240 Hz", "Quality, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("glide 120→240 Hz", "Live, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("glide 120→240 Hz", "Quality, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("vibrato 220 Hz ±50 c", "Live, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("vibrato 220 Hz ±50 c", "Quality, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("vibrato 220 Hz ±50 c", "Live, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("vibrato 220 Hz ±50 c", "Quality, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("jitter 1 %", "Live, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("jitter 1 %", "Quality, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("jitter 1 %", "Live, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("jitter 1 %", "Quality, formants moved", &[-12, -7, -3, 3, 7, 12]),
    ("LibriVox", "Live, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("LibriVox", "Quality, formants kept", &[-12, -7, -3, 3, 7, 12]),
    ("LibriVox", "Live, formants moved", &[-12, -3, 3, 7, 12]),
    ("LibriVox", "Quality, formants moved", &[-12, -7, -3, 3, 7, 12]),
];

/// The R3 row each of our systems is compared with (same formant handling).
fn r3_for(system: usize) -> usize {
    if SYSTEMS[system].formant_moves { 5 } else { 2 }
}

/// Checks [`CLAIMS`] against one input's medians ([system][shift]); returns the failures.
fn check_claims(input: &str, errors: &[Vec<Vec<f64>>]) -> (usize, Vec<String>) {
    let (mut checked, mut failed) = (0, Vec::new());
    for (claim_input, system, shifts) in CLAIMS {
        if !input.starts_with(claim_input) {
            continue;
        }
        let s = SYSTEMS.iter().position(|x| x.label == *system).expect("a system in SYSTEMS");
        for n in *shifts {
            let k = SHIFTS.iter().position(|x| x == n).expect("a shift in SHIFTS");
            let (ours, r3) = (median(errors[s][k].clone()), median(errors[r3_for(s)][k].clone()));
            checked += 1;
            if !(ours <= r3) {
                failed.push(format!("{input}, {system}, {n:+} st: {ours:.2} cents against R3's {r3:.2}"));
            }
        }
    }
    (checked, failed)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The folder holding parselmouth for `PYTHONPATH`, installed there with pip when missing.
fn parselmouth(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target/peer-python");
    let probe = |dir: &Path| {
        Command::new("python3").args(["-c", "import parselmouth"]).env("PYTHONPATH", dir).output().is_ok_and(|o| o.status.success())
    };
    if !probe(&dir) {
        eprintln!("installing {PARSELMOUTH} and {NUMPY} into {} with pip", dir.display());
        run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"]).arg(&dir).args([PARSELMOUTH, NUMPY]))?;
    }
    if probe(&dir) { Ok(dir) } else { Err("parselmouth does not import after installing it".into()) }
}

fn ours(input: &Path, out: &Path, mode: &str, n: i32, formant: i32) -> Result<(), String> {
    let args: Vec<String> = [
        "converter", "--in", &input.display().to_string(), "--out", &out.display().to_string(), "--quiet",
        "--param", &format!("mode={mode}"), "--param", &format!("pitch={n}"), "--param", &format!("formant={formant}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    crate::render::render(&args)
}

fn rubberband(input: &Path, out: &Path, n: i32, formant: bool) -> Result<(), String> {
    let mut c = Command::new("rubberband");
    c.args(["-q", "-3"]);
    if formant {
        c.arg("--formant");
    }
    run(c.args(["-p", &n.to_string()]).arg(input).arg(out))
}

/// Renders every system and shift for `input` into `dir`; returns the output paths, indexed
/// [system][shift]. Rubber Band's renders are kept between runs (they only depend on the input); with `only`,
/// ours are rendered again just for the systems whose label contains it, and the others' earlier
/// renders are reused where they exist.
fn render_all(input: &Path, dir: &Path, tag: &str, only: Option<&str>) -> Result<Vec<Vec<PathBuf>>, String> {
    let newer = |out: &Path| {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((m(out), m(input)), (Some(a), Some(b)) if a >= b)
    };
    let mut paths = Vec::new();
    for (s, sys) in SYSTEMS.iter().enumerate() {
        let mut row = Vec::new();
        for n in SHIFTS {
            let out = dir.join(format!("{tag}_s{s}_{n}.wav"));
            let formant = if sys.formant_moves { n } else { 0 };
            let wanted = only.is_none_or(|o| sys.label.contains(o));
            if newer(&out) && (sys.mode.is_none() || !wanted) {
                row.push(out);
                continue;
            }
            match sys.mode {
                Some(mode) => ours(input, &out, mode, n, formant)?,
                None => rubberband(input, &out, n, !sys.formant_moves)?,
            }
            row.push(out);
        }
        paths.push(row);
    }
    Ok(paths)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A table's header row: the shifts, in columns `width` wide.
fn print_shifts(width: usize) {
    print!("{:<26}", "n =");
    for n in SHIFTS {
        print!("{:>width$}", format!("{n:+}"));
    }
    println!();
}

fn print_table(title: &str, errors: &[Vec<Vec<f64>>]) {
    println!("\n{title}\nmedian |cents| (share of frames off by > 50 cents)");
    print_shifts(16);
    for (s, sys) in SYSTEMS.iter().enumerate() {
        print!("{:<26}", sys.label);
        for e in &errors[s] {
            let gross = 100.0 * e.iter().filter(|v| **v > 50.0).count() as f64 / e.len().max(1) as f64;
            print!("{:>16}", format!("{:.2} ({gross:.0} %)", median(e.clone())));
        }
        println!();
    }
}

pub fn compare(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["only", "offsets"], &["check"])?;
    let only = a.value("only");
    let check = a.has("check");
    // The read-speech claims are checked pooled over four starts: a single start's median moves
    // by up to ±0.5 cents with where the splices, grains and frames fall.
    let offsets = a.number::<usize>("offsets")?.unwrap_or(1).max(if check { CHECKED_STARTS } else { 1 }).clamp(1, OFFSETS.len() + 1);
    let (mut checked, mut failed) = (0, Vec::new());
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    if Command::new("rubberband").arg("--version").output().is_err() {
        return Err("`rubberband` is not on PATH (Debian: apt install rubberband-cli)".into());
    }
    let py = parselmouth(&root)?;
    let dir = root.join("target/compare");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    // Synthetic voices, errors against the truth under the converter's YIN tracker.
    let sr = SYNTH_SR as f64;
    let voices: [(&str, Vec<f64>, &[_]); 4] = [
        ("steady 150 Hz", vec![150.0; 2 * SYNTH_SR as usize], &MALE_AH[..]),
        ("glide 120→240 Hz", track::glide(sr, 2.0, 120.0, 240.0), &MALE_AH[..]),
        ("vibrato 220 Hz ±50 c", track::vibrato(sr, 2.0, 220.0, 50.0, 5.5), &FEMALE_EE[..]),
        ("jitter 1 %", track::jitter(sr, 2.0, 140.0, 1.0, 5), &MALE_AH[..]),
    ];
    for (v, (name, f0, formants)) in voices.iter().enumerate() {
        let input = dir.join(format!("synthetic_{v}.wav"));
        let x = voice(sr, f0, &Envelope::new(formants), 0.5);
        wav::write(&input, &Audio { sample_rate: SYNTH_SR, channels: vec![x] }).map_err(|e| e.to_string())?;
        let paths = render_all(&input, &dir, &format!("synthetic_{v}"), only)?;
        let mut errors = Vec::new();
        for row in &paths {
            let mut per_shift = Vec::new();
            for (path, n) in row.iter().zip(SHIFTS) {
                let y = wav::read(path).map_err(|e| e.to_string())?;
                per_shift.push(yin_errors(sr, &y.channels[0], f0, n));
            }
            errors.push(per_shift);
        }
        print_table(&format!("Synthetic voice: {name} (48 kHz; the converter's YIN tracker against the true F0)"), &errors);
        exact_rows(sr, f0, formants);
        if v == 0 {
            formant_table(&paths, f0[0], &Envelope::new(formants))?;
        }
        let (c, f) = check_claims(name, &errors);
        checked += c;
        failed.extend(f);
    }

    // Read speech, errors against the input under Praat.
    let models = voirs_shared::assets::models_dir();
    let mut all: Vec<(PathBuf, Vec<Vec<PathBuf>>)> = Vec::new();
    for c in CLIPS {
        let input = models.join(format!("librivox-{c}.wav"));
        if !input.exists() {
            return Err(format!("{} is missing: run `cargo xtask models`", input.display()));
        }
        let paths = render_all(&input, &dir, &format!("librivox_{c}"), only)?;
        all.push((input, paths));
    }
    let json = dir.join("praat.json");
    let mut files: Vec<String> = Vec::new();
    for (input, paths) in &all {
        files.push(input.display().to_string());
        files.extend(paths.iter().flatten().map(|p| p.display().to_string()));
    }
    run(Command::new("python3").arg(root.join("tests/peers/f0_praat.py")).arg(&json).args(&files).env("PYTHONPATH", &py))?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let tracker = doc["tracker"].as_str().unwrap_or("Praat").to_owned();
    let get = |p: &Path| -> Vec<f64> {
        doc["tracks"][p.display().to_string()].as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect()).unwrap_or_default()
    };
    let errors = speech_errors(&all, &get);
    print_table(&format!("Read speech: five LibriVox clips (16 kHz), {tracker}, output against input"), &errors);
    speech_envelopes(&all, &get)?;
    let pooled = if offsets > 1 { speech_offsets(&root, &py, &dir, &models, &OFFSETS[..offsets - 1], only, errors)? } else { errors };
    let (c, f) = check_claims("LibriVox", &pooled);
    checked += c;
    failed.extend(f);
    if check {
        println!("\n{} of {checked} cells where VoiRS claims to follow the pitch at least as closely as R3 hold", checked - failed.len());
        if !failed.is_empty() {
            return Err(format!("R3 is closer than claimed:\n  {}", failed.join("\n  ")));
        }
    }
    Ok(())
}

/// |cents| of `y`'s F0 under the converter's YIN tracker against the true `f0` shifted by `n`
/// semitones, over the voiced estimates after the first 100 ms: each against the true F0 of
/// the cycle it measured ([`cycle_f0`]).
fn yin_errors(sr: f64, y: &[f32], f0: &[f64], n: i32) -> Vec<f64> {
    let ratio = 2f64.powf(n as f64 / 12.0);
    PitchTracker::analyse(sr as f32, y, 60.0, 2000.0)
        .iter()
        .filter(|(at, e)| e.voiced && *at > 0.1 * sr)
        .filter_map(|(at, e)| Some((1200.0 * (e.f0 as f64 / cycle_f0(f0, sr, *at, ratio)?).log2()).abs()))
        .collect()
}

/// The tracker's own figures on the exact answer: the voice synthesised directly at the shifted
/// F0, with the input's envelope (formants kept) or with formants and bandwidths scaled by the
/// ratio (moved). A shifter measuring under these is not closer to the truth, only easier
/// for the tracker to read.
fn exact_rows(sr: f64, f0: &[f64], formants: &[Formant]) {
    for (label, moved) in [("exact answer, kept", false), ("exact answer, moved", true)] {
        print!("{label:<26}");
        for n in SHIFTS {
            let ratio = 2f64.powf(n as f64 / 12.0);
            let g: Vec<f64> = f0.iter().map(|v| v * ratio).collect();
            let scaled: Vec<Formant> = formants.iter().map(|f| Formant { freq: f.freq * ratio, bandwidth: f.bandwidth * ratio }).collect();
            let y = voice(sr, &g, &Envelope::new(if moved { &scaled } else { formants }), 0.5);
            print!("{:>16}", format!("{:.2}", median(yin_errors(sr, &y, f0, n))));
        }
        println!();
    }
}

/// What keeping the formants costs in accuracy, on the steady synthetic voice whose envelope is
/// known: the output's harmonics against the input's envelope (mean |dB| after the mean offset,
/// up to 4 kHz × the ratio when shifting down, where the synthetic voice's content ends), for
/// the systems asked to keep the formants; and, for scale, against the envelope moved with the
/// pitch.
fn formant_table(paths: &[Vec<PathBuf>], f0: f64, env: &Envelope) -> Result<(), String> {
    use voirs_shared::convert::testkit::envelope_deviation;
    let sr = SYNTH_SR as f64;
    println!("\nFormants kept, steady voice: the output's harmonics against the input's envelope, mean |dB| (against the envelope moved with the pitch)");
    print_shifts(16);
    for (s, sys) in SYSTEMS.iter().enumerate().filter(|(_, s)| !s.formant_moves) {
        print!("{:<26}", sys.label);
        for (path, n) in paths[s].iter().zip(SHIFTS) {
            let y = wav::read(path).map_err(|e| e.to_string())?;
            let seg = &y.channels[0][9600..9600 + 24_000];
            let r = 2f64.powf(n as f64 / 12.0);
            let max_hz = 4000.0 * r.min(1.0);
            let kept = envelope_deviation(seg, sr, f0 * r, max_hz, &|hz| env.gain_db(hz));
            let moved = envelope_deviation(seg, sr, f0 * r, max_hz, &|hz| env.gain_db(hz / r));
            print!("{:>16}", format!("{kept:.2} ({moved:.1})"));
        }
        println!();
    }
    Ok(())
}

/// |cents| of each output's Praat F0 against its input's × the ratio, over the frames both call
/// voiced, pooled over the inputs: [system][shift].
fn speech_errors(runs: &[(PathBuf, Vec<Vec<PathBuf>>)], praat: &dyn Fn(&Path) -> Vec<f64>) -> Vec<Vec<Vec<f64>>> {
    let mut errors = vec![vec![Vec::new(); SHIFTS.len()]; SYSTEMS.len()];
    for (input, paths) in runs {
        let a = praat(input);
        for (s, row) in paths.iter().enumerate() {
            for (k, (path, n)) in row.iter().zip(SHIFTS).enumerate() {
                let b = praat(path);
                let ratio = 2f64.powf(n as f64 / 12.0);
                errors[s][k].extend(a.iter().zip(&b).filter(|(x, y)| **x > 0.0 && **y > 0.0).map(|(x, y)| (1200.0 * (y / (x * ratio)).log2()).abs()));
            }
        }
    }
    errors
}

/// How closely the output's spectral envelope follows the input's on the read speech: per 10 ms
/// frame Praat calls voiced in the input, the 32 ms (Hann) log spectra of input and output
/// cepstrally smoothed (quefrencies under 1.5 ms: the formants, not the harmonics), compared
/// over 150 Hz … 3.5 kHz (× the ratio shifting down, where the output's content ends) as the
/// mean |dB| after the mean offset; the median over frames. Rows that keep the formants should
/// be small; the rows that move them show the scale.
fn speech_envelopes(all: &[(PathBuf, Vec<Vec<PathBuf>>)], praat: &dyn Fn(&Path) -> Vec<f64>) -> Result<(), String> {
    use realfft::RealFftPlanner;
    use voirs_shared::analysis::envelope::CepstralEnvelope;
    const N: usize = 1024;
    const FRAME: usize = 512;
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N);
    let mut cep = CepstralEnvelope::new(N);
    let window: Vec<f32> = (0..FRAME).map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / FRAME as f64).cos()) as f32).collect();
    let mut envelope = |x: &[f32], sr: f64, at: usize| -> Vec<f32> {
        let mut buf = vec![0.0f32; N];
        for (i, b) in buf.iter_mut().take(FRAME).enumerate() {
            *b = x[at + i] * window[i];
        }
        let mut spec = fft.make_output_vec();
        fft.process(&mut buf, &mut spec).expect("fft sizes");
        let mag: Vec<f32> = spec.iter().map(|c| c.norm()).collect();
        let mut e = vec![0.0f32; N / 2 + 1];
        cep.estimate(&mag, (0.0015 * sr) as f32, 0, &mut e);
        e.iter().map(|v| v * 20.0 / std::f32::consts::LN_10).collect()
    };
    let mut dist = vec![vec![Vec::new(); SHIFTS.len()]; SYSTEMS.len()];
    for (input, paths) in all {
        let x = wav::read(input).map_err(|e| e.to_string())?;
        let sr = x.sample_rate as f64;
        let f0 = praat(input);
        let ys: Vec<Vec<Audio>> = paths.iter().map(|row| row.iter().map(|p| wav::read(p).map_err(|e| e.to_string())).collect::<Result<_, _>>()).collect::<Result<_, _>>()?;
        for (k, f) in f0.iter().enumerate() {
            let Some(at) = ((k as f64 * 0.01 * sr) as usize).checked_sub(FRAME / 2) else { continue };
            if *f <= 0.0 || at + FRAME > x.channels[0].len() {
                continue;
            }
            let ex = envelope(&x.channels[0], sr, at);
            for (s, row) in ys.iter().enumerate() {
                for (j, (y, n)) in row.iter().zip(SHIFTS).enumerate() {
                    if at + FRAME > y.channels[0].len() {
                        continue;
                    }
                    let ey = envelope(&y.channels[0], sr, at);
                    let top = 3500.0 * 2f64.powf(n as f64 / 12.0).min(1.0);
                    let d: Vec<f32> = (0..ex.len()).filter(|b| { let hz = *b as f64 * sr / N as f64; hz > 150.0 && hz < top }).map(|b| ey[b] - ex[b]).collect();
                    let mean = d.iter().sum::<f32>() / d.len().max(1) as f32;
                    dist[s][j].push(d.iter().map(|v| (v - mean).abs() as f64).sum::<f64>() / d.len().max(1) as f64);
                }
            }
        }
    }
    println!("\nRead speech: the output's spectral envelope against the input's, median over voiced frames of the mean |dB| (32 ms frames, cepstral smoothing at 1.5 ms)");
    print_shifts(16);
    for (s, sys) in SYSTEMS.iter().enumerate() {
        print!("{:<26}", sys.label);
        for d in &dist[s] {
            print!("{:>16}", format!("{:.2}", median(d.clone())));
        }
        println!();
    }
    Ok(())
}

/// Leading silence (samples at 16 kHz) the speech clips are run again with for `--offsets`.
const OFFSETS: [usize; 5] = [53, 117, 171, 229, 307];
/// Starts the read-speech claims are checked over (`--check`): the plain one and three offsets.
const CHECKED_STARTS: usize = 4;

/// `--offsets K`: the speech rendered again K − 1 times, each clip after a few samples of
/// silence. Praat's median moves by up to ±0.5 cents when the input starts a few samples later
/// (every splice, grain and frame then falls elsewhere on the voice), more than some of the
/// differences between the systems; pooled over the starts, the medians show which
/// differences are real. Prints the pooled median per cell and the range of the single starts'
/// medians. `first` holds the errors of the plain clips, [system][shift].
fn speech_offsets(root: &Path, py: &Path, dir: &Path, models: &Path, offsets: &[usize], only: Option<&str>, first: Vec<Vec<Vec<f64>>>) -> Result<Vec<Vec<Vec<f64>>>, String> {
    let sub = dir.join("offsets");
    std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
    let mut runs: Vec<(PathBuf, Vec<Vec<PathBuf>>)> = Vec::new();
    for &d in offsets {
        for c in CLIPS {
            let clip = wav::read(&models.join(format!("librivox-{c}.wav"))).map_err(|e| e.to_string())?;
            let input = sub.join(format!("librivox_{c}_o{d}.wav"));
            if !input.exists() {
                let channels = clip.channels.iter().map(|ch| std::iter::repeat_n(0.0, d).chain(ch.iter().copied()).collect()).collect();
                wav::write(&input, &Audio { sample_rate: clip.sample_rate, channels }).map_err(|e| e.to_string())?;
            }
            let paths = render_all(&input, &sub, &format!("librivox_{c}_o{d}"), only)?;
            runs.push((input, paths));
        }
    }
    let json = sub.join("praat.json");
    let files: Vec<String> = runs.iter().flat_map(|(i, p)| std::iter::once(i).chain(p.iter().flatten())).map(|p| p.display().to_string()).collect();
    run(Command::new("python3").arg(root.join("tests/peers/f0_praat.py")).arg(&json).args(&files).env("PYTHONPATH", py))?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let get = |p: &Path| -> Vec<f64> {
        doc["tracks"][p.display().to_string()].as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect()).unwrap_or_default()
    };
    // [start][system][shift]: the plain clips first.
    let mut per_start = vec![first];
    for chunk in runs.chunks(CLIPS.len()) {
        per_start.push(speech_errors(chunk, &get));
    }
    println!("
Read speech pooled over {} starts (the clips after 0, {} samples of silence): pooled median |cents| [lowest–highest single start]", per_start.len(), offsets.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
    print_shifts(20);
    for (s, sys) in SYSTEMS.iter().enumerate() {
        print!("{:<26}", sys.label);
        for k in 0..SHIFTS.len() {
            let singles: Vec<f64> = per_start.iter().map(|e| median(e[s][k].clone())).collect();
            let pooled = median(per_start.iter().flat_map(|e| e[s][k].iter().copied()).collect());
            let (lo, hi) = singles.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
            print!("{:>20}", format!("{pooled:.2} [{lo:.2}–{hi:.2}]"));
        }
        println!();
    }
    Ok((0..SYSTEMS.len()).map(|s| (0..SHIFTS.len()).map(|k| per_start.iter().flat_map(|e| e[s][k].iter().copied()).collect()).collect()).collect())
}

/// One tracker's agreement with Praat over the frames Praat calls voiced.
fn tracker_row(label: &str, praat_voiced: usize, errors: &[f64]) {
    let mut e = errors.to_vec();
    let share = |limit: f64| 100.0 * e.iter().filter(|v| **v > limit).count() as f64 / e.len().max(1) as f64;
    let (over50, octave) = (share(50.0), share(600.0));
    let med = if e.is_empty() { f64::NAN } else { median(std::mem::take(&mut e)) };
    println!("| {label} | {:.0} % | {med:.1} | {over50:.1} % | {octave:.2} % |", 100.0 * errors.len() as f64 / praat_voiced.max(1) as f64);
}

/// `cargo xtask compare-trackers [--full]`: the converter's YIN tracker and CREPE (tiny; full
/// with `--full`) against Praat on the five LibriVox clips, 10 ms frames: how many of Praat's
/// voiced frames each calls voiced (CREPE: periodicity above a threshold), the median |cents|
/// there, and the shares off by more than 50 cents and by more than 600 (octave errors).
pub fn compare_trackers(args: &[String]) -> Result<(), String> {
    use voirs_shared::neural::crepe::{Capacity as Model, Crepe, Decoder};
    let a = Args::parse(args, &[], &["full"])?;
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let py = parselmouth(&root)?;
    let dir = root.join("target/compare");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let models = voirs_shared::assets::models_dir();
    let clips: Vec<PathBuf> = CLIPS.iter().map(|c| models.join(format!("librivox-{c}.wav"))).collect();
    if let Some(missing) = clips.iter().find(|p| !p.exists()) {
        return Err(format!("{} is missing: run `cargo xtask models`", missing.display()));
    }
    let json = dir.join("praat_inputs.json");
    run(Command::new("python3").arg(root.join("tests/peers/f0_praat.py")).arg(&json).args(&clips).env("PYTHONPATH", &py))?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let mut nets = vec![Model::Tiny];
    if a.has("full") {
        nets.push(Model::Full);
    }
    let crepes: Vec<(Model, Crepe)> = nets.into_iter().map(|m| Crepe::load(&models.join(m.file())).map(|c| (m, c)).map_err(|e| e.to_string())).collect::<Result<_, _>>()?;
    const THRESHOLDS: [f32; 3] = [0.3, 0.6, 0.8];
    let mut praat_voiced = 0;
    let mut yin = Vec::new();
    let mut crepe = vec![vec![Vec::new(); THRESHOLDS.len()]; crepes.len()];
    let mut crepe_s = vec![0.0f64; crepes.len()];
    let mut audio_s = 0.0;
    for clip in &clips {
        let praat: Vec<f64> = doc["tracks"][clip.display().to_string()].as_array().ok_or("no Praat track")?.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect();
        let x = wav::read(clip).map_err(|e| e.to_string())?;
        let sr = x.sample_rate as f64;
        let x = &x.channels[0];
        audio_s += x.len() as f64 / sr;
        // YIN estimates describe the sample time they carry; take the nearest to each frame.
        let est = PitchTracker::analyse(sr as f32, x, 60.0, 1000.0);
        let hop = (0.01 * sr).round() as usize;
        let mut per_crepe = Vec::new();
        for (k, (_, c)) in crepes.iter().enumerate() {
            let t = std::time::Instant::now();
            per_crepe.push(c.analyse(x, hop, 50.0, 1000.0, Decoder::WeightedArgmax, 64).map_err(|e| e.to_string())?);
            crepe_s[k] += t.elapsed().as_secs_f64();
        }
        for (k, f) in praat.iter().enumerate() {
            if *f <= 0.0 {
                continue;
            }
            praat_voiced += 1;
            let at = k as f64 * 0.01 * sr;
            let i = est.partition_point(|(t, _)| *t < at);
            let near = [i.checked_sub(1), Some(i)].into_iter().flatten().filter_map(|j| est.get(j)).min_by(|a, b| (a.0 - at).abs().total_cmp(&(b.0 - at).abs()));
            if let Some((t, e)) = near {
                if e.voiced && (t - at).abs() <= 0.006 * sr {
                    yin.push((1200.0 * (e.f0 as f64 / f).log2()).abs());
                }
            }
            for (c, frames) in per_crepe.iter().enumerate() {
                if let Some(p) = frames.get(k) {
                    for (t, th) in THRESHOLDS.iter().enumerate() {
                        if p.periodicity > *th {
                            crepe[c][t].push((1200.0 * (p.f0 as f64 / f).log2()).abs());
                        }
                    }
                }
            }
        }
    }
    println!("\nPitch trackers against {} on five LibriVox clips ({audio_s:.1} s of read speech, 16 kHz), {praat_voiced} frames Praat calls voiced\n", doc["tracker"].as_str().unwrap_or("Praat"));
    println!("| tracker | Praat's voiced frames it calls voiced | median error (cents) | > 50 cents | > 600 cents (octave) |");
    println!("|---|---|---|---|---|");
    tracker_row("YIN (the converter's tracker)", praat_voiced, &yin);
    for (c, (m, _)) in crepes.iter().enumerate() {
        for (t, th) in THRESHOLDS.iter().enumerate() {
            tracker_row(&format!("CREPE {m:?}, periodicity > {th}"), praat_voiced, &crepe[c][t]);
        }
    }
    for (c, (m, _)) in crepes.iter().enumerate() {
        println!("CREPE {m:?}: {:.2} s for {audio_s:.1} s of audio at 100 frames/s (RTF {:.3}, one process, batches of 64)", crepe_s[c], crepe_s[c] / audio_s);
    }
    Ok(())
}
