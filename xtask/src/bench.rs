//! `cargo xtask bench`: for each plugin (effects play a synthetic voice), the real-time factor at 48 kHz with 64- and 512-sample
//! blocks, the reported latency, and peak memory. Each plugin runs in a fresh child process so
//! its peak memory is not mixed with another plugin's.

use crate::cli::Args;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use voirs_shared::wav::{self, Audio};
use voirs_tests::render::TimedEvent;
use voirs_tests::{Bundle, Instance, RenderMode, bundles, state};

const SAMPLE_RATE: f64 = 48_000.0;
const BLOCKS: [usize; 2] = [64, 512];

/// A field of /proc/self/status in KiB (Linux); `None` elsewhere.
fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn bench(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["seconds", "param"], &[])?;
    let seconds: f64 = a.number("seconds")?.unwrap_or(10.0);
    if a.positional.iter().any(|p| p == "models") {
        return crate::bench_models::bench_models();
    }
    // (label, plugin, parameter settings): every plugin at its defaults, and the converter
    // while it shifts (its default is no shift, which bypasses the grains).
    let runs: Vec<(String, String, Vec<String>)> = if a.positional.is_empty() {
        let mut r: Vec<_> = bundles::PLUGINS.iter().map(|p| (p.package.to_owned(), p.package.to_owned(), Vec::new())).collect();
        let quality = "mode=Quality (43 ms)".to_owned();
        r.insert(1, ("voirs-converter Live +7 st".into(), "voirs-converter".into(), vec!["pitch=7".into()]));
        r.insert(2, ("voirs-converter Live -12 st, formant +5".into(), "voirs-converter".into(), vec!["pitch=-12".into(), "formant=5".into()]));
        r.insert(3, ("voirs-converter Live -7 st, formant -7 (spliced)".into(), "voirs-converter".into(), vec!["pitch=-7".into(), "formant=-7".into()]));
        r.insert(4, ("voirs-converter Quality +7 st".into(), "voirs-converter".into(), vec![quality.clone(), "pitch=7".into()]));
        r.insert(5, ("voirs-converter Quality -12 st, formant +5".into(), "voirs-converter".into(), vec![quality, "pitch=-12".into(), "formant=5".into()]));
        r
    } else {
        a.positional.iter().map(|n| (n.clone(), n.clone(), a.values("param").iter().map(|s| s.to_string()).collect())).collect()
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!("{seconds} s of audio at {SAMPLE_RATE} Hz per run; RTF = processing time / audio time (lower is faster)");
    println!("{:<44} {:>16} {:>10} {:>10} {:>10} {:>12}", "plugin", "latency", "RTF @64", "RTF @512", "peak MiB", "plugin MiB");
    let mut failed = Vec::new();
    let mut rtf512 = Vec::new();
    for (label, name, params) in &runs {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench-one", name, "--seconds", &seconds.to_string()]);
        for p in params {
            cmd.args(["--param", p]);
        }
        let out = cmd.output()
            .map_err(|e| format!("cannot start the benchmark child: {e}"))?;
        if !out.status.success() {
            println!("{label:<44} FAILED ({})", out.status);
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            failed.push(label.clone());
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| -> f64 {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let latency = get("latency");
        rtf512.push((label.clone(), get("rtf512")));
        println!(
            "{:<44} {:>16} {:>10.4} {:>10.4} {:>10.1} {:>12.1}",
            label,
            format!("{latency} ({:.2} ms)", latency / SAMPLE_RATE * 1000.0),
            get("rtf64"),
            get("rtf512"),
            get("peak_kib") / 1024.0,
            (get("peak_kib") - get("baseline_kib")) / 1024.0,
        );
    }
    println!("peak MiB: the benchmark process's peak resident memory (VmHWM); plugin MiB: minus the host before loading the bundle");
    if !failed.is_empty() {
        return Err(format!("benchmark failed for {}", failed.join(", ")));
    }
    if a.positional.is_empty() {
        rubberband_side_by_side(seconds, &rtf512)?;
        crate::bench_models::bench_models()
    } else {
        Ok(())
    }
}

/// Rubber Band's command-line tool (R3 `--fine` and R2 `--fast`, formants kept, +7 semitones)
/// on the same stereo voice the converter rows play, timed as whole runs (it works offline, on
/// a file), next to the converter's measured processing time for that audio.
fn rubberband_side_by_side(seconds: f64, rtf512: &[(String, f64)]) -> Result<(), String> {
    use voirs_shared::analysis::synthetic::{Envelope, MALE_AH, track, voice};
    if Command::new("rubberband").arg("--version").output().is_err() {
        println!("\nRubber Band side by side: skipped, `rubberband` is not on PATH (Debian: rubberband-cli)");
        return Ok(());
    }
    let dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let second = voice(SAMPLE_RATE, &track::glide(SAMPLE_RATE, 1.0, 100.0, 200.0), &Envelope::new(&MALE_AH), 0.5);
    let frames = (seconds * SAMPLE_RATE) as usize;
    let x: Vec<f32> = (0..frames).map(|i| second[i % second.len()]).collect();
    let input = dir.join("voice-stereo.wav");
    wav::write(&input, &Audio { sample_rate: SAMPLE_RATE as u32, channels: vec![x.clone(), x] }).map_err(|e| e.to_string())?;
    println!("\nRubber Band side by side: {seconds} s stereo voice, +7 st with formants kept (median of 3 runs)");
    println!("{:<44} {:>10} {:>14}", "", "RTF", "× Rubber Band R3");
    let mut timed = Vec::new();
    for (label, engine) in [("rubberband -3 --formant -p 7 (R3)", "-3"), ("rubberband -2 --formant -p 7 (R2)", "-2")] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let out = Command::new("rubberband")
                .args(["-q", engine, "--formant", "-p", "7"])
                .arg(&input)
                .arg(dir.join("rubberband-out.wav"))
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("rubberband failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            runs.push(t.elapsed().as_secs_f64());
        }
        runs.sort_by(f64::total_cmp);
        timed.push((label.to_owned(), runs[1] / seconds));
    }
    let r3 = timed[0].1;
    for (label, rtf) in timed.iter().cloned().chain(rtf512.iter().filter(|(l, _)| l.contains("+7 st")).map(|(l, r)| (format!("{l} (block 512)"), *r))) {
        println!("{label:<44} {rtf:>10.4} {:>14.2}", rtf / r3);
    }
    Ok(())
}

/// A 1 s speech-like clip (a gliding harmonic tone with a syllable envelope) for the Speech Track.
fn bench_clip(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join("bench-clip.wav");
    let sr = SAMPLE_RATE as u32;
    let mut phase = 0.0f64;
    let samples: Vec<f32> = (0..sr as usize)
        .map(|i| {
            let t = i as f64 / sr as f64;
            phase += (120.0 + 40.0 * (t * 3.0).sin()) / sr as f64;
            let env = (std::f64::consts::PI * (t * 4.0).fract()).sin();
            (0.3 * env * (1..6).map(|h| (std::f64::consts::TAU * phase * h as f64).sin() / h as f64).sum::<f64>()) as f32
        })
        .collect();
    wav::write(&path, &Audio { sample_rate: sr, channels: vec![samples] }).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Notes for instruments: a four-voice progression, a chord every 0.5 s held for 0.45 s.
fn bench_notes(frames: usize) -> Vec<TimedEvent> {
    let chords: [[u8; 4]; 4] = [[48, 55, 60, 64], [45, 52, 57, 60], [41, 48, 53, 57], [43, 50, 55, 59]];
    let step = (0.5 * SAMPLE_RATE) as usize;
    let hold = (0.45 * SAMPLE_RATE) as u64;
    let mut ev = Vec::new();
    let mut t = 0usize;
    let mut i = 0;
    while t < frames {
        for k in chords[i % chords.len()] {
            ev.push(TimedEvent::note_on(t as u64, k, 0.8));
            ev.push(TimedEvent::note_off(t as u64 + hold, k));
        }
        t += step;
        i += 1;
    }
    ev.sort_by_key(|e| e.time);
    ev
}

/// Runs `frames` frames through an active plugin in `block`-sized calls with preallocated
/// buffers, so the measurement holds the plugin's work and nothing of a whole-file render.
fn run(p: &mut Instance, frames: usize, block: usize, events: &[TimedEvent]) -> Result<f64, String> {
    let act = p.activation().ok_or("not active")?;
    // Effects get a voice (what they are for: the converter only shifts voiced sound), a
    // harmonic glide 100 → 200 Hz with vowel formants, repeated each second.
    use voirs_shared::analysis::synthetic::{Envelope, MALE_AH, track, voice};
    let second = voice(SAMPLE_RATE, &track::glide(SAMPLE_RATE, 1.0, 100.0, 200.0), &Envelope::new(&MALE_AH), 0.5);
    let mut ins = vec![vec![0.0f32; block]; act.in_channels];
    let mut outs = vec![vec![0.0f32; block]; act.out_channels];
    let mut block_events = Vec::with_capacity(64);
    let mut next = 0;
    let mut elapsed = 0.0;
    let mut start = 0;
    while start < frames {
        let n = block.min(frames - start);
        for ch in &mut ins {
            ch[..n].iter_mut().enumerate().for_each(|(i, s)| *s = second[(start + i) % second.len()]);
        }
        block_events.clear();
        while next < events.len() && (events[next].time as usize) < start + n {
            let mut e = events[next];
            e.time = e.time.saturating_sub(start as u64);
            block_events.push(e);
            next += 1;
        }
        let in_refs: Vec<&[f32]> = ins.iter().map(|c| &c[..n]).collect();
        let mut out_refs: Vec<&mut [f32]> = outs.iter_mut().map(|c| &mut c[..n]).collect();
        let t0 = Instant::now();
        p.process(&in_refs, &mut out_refs, &block_events).map_err(|e| e.to_string())?;
        elapsed += t0.elapsed().as_secs_f64();
        start += n;
    }
    Ok(elapsed)
}

pub fn bench_one(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["seconds", "param"], &[])?;
    let name = a.positional.first().ok_or("bench-one needs a plugin")?;
    let seconds: f64 = a.number("seconds")?.unwrap_or(10.0);
    let frames = (seconds * SAMPLE_RATE) as usize;
    let baseline = proc_status_kib("VmHWM:").unwrap_or(0);

    let (path, _) = bundles::resolve(name).map_err(|e| e.to_string())?;
    let bundle = Bundle::load(&path).map_err(|e| e.to_string())?;
    let tmp = std::env::temp_dir().join(format!("voirs-bench-{}", std::process::id()));
    let mut line = String::new();
    for block in BLOCKS {
        let mut p = bundle.instantiate_first().map_err(|e| e.to_string())?;
        for kv in a.values("param") {
            let (id, text) = crate::cli::key_value(kv)?;
            p.set_param_text_by_name(id, text).map_err(|e| e.to_string())?;
        }
        let takes_notes = !p.note_ports(true).map_err(|e| e.to_string())?.is_empty();
        if p.param("clip").is_err() && state_has_field(&mut p, "clip")? {
            let clip = bench_clip(&tmp)?;
            let mut doc = state::parse(&p.save_state().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            state::set_field(&mut doc, "clip", &serde_json::Value::String(clip.display().to_string())).map_err(|e| e.to_string())?;
            p.load_state(&state::encode(&doc)).map_err(|e| e.to_string())?;
        }
        if p.has_extension("render") {
            p.set_render_mode(RenderMode::Realtime).map_err(|e| e.to_string())?;
        }
        p.activate(SAMPLE_RATE, 1, block as u32).map_err(|e| e.to_string())?;
        // Hosts do not clear their buffers; neither does the benchmark (no NaN fill cost).
        p.poison_outputs = false;
        let events = if takes_notes { bench_notes(frames) } else { Vec::new() };
        let elapsed = run(&mut p, frames, block, &events)?;
        if block == BLOCKS[0] {
            line.push_str(&format!("latency={} ", p.latency()));
        }
        line.push_str(&format!("rtf{block}={} ", elapsed / seconds));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    println!("{line}peak_kib={peak} baseline_kib={baseline}");
    Ok(())
}

fn state_has_field(p: &mut Instance, field: &str) -> Result<bool, String> {
    let doc = state::parse(&p.save_state().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    Ok(doc.get("fields").and_then(|f| f.get(field)).is_some())
}
