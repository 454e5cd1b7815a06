//! The neural models' rows of `cargo xtask bench`: load time, cost per unit of work, real-time
//! factor and peak memory of each candle model on one thread of this machine, on real speech
//! (the LibriVox clip from `cargo xtask models`). Each model runs in a fresh child process so
//! its peak memory is its own.

use std::process::Command;
use std::time::Instant;
use voirs_shared::neural::{crepe, speaker, vad};

/// name, what one unit of work is, its duration in seconds of audio.
const MODELS: &[(&str, &str, f64)] = &[
    ("crepe-tiny", "frame (hop 10 ms, 1 per job)", 0.010),
    ("crepe-tiny-batch", "frame (hop 10 ms, 8 per job)", 0.010),
    ("crepe-full", "frame (hop 10 ms, 1 per job)", 0.010),
    ("silero-vad", "chunk (32 ms)", 0.032),
    ("resemblyzer", "second of audio", 1.0),
];

fn proc_status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn bench_models() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!();
    println!("neural models (candle, CPU, one inference thread; input: LibriVox read speech at 16 kHz)");
    println!("{:<18} {:>9} {:>30} {:>11} {:>9} {:>10} {:>10}", "model", "load ms", "unit", "ms / unit", "RTF", "peak MiB", "model MiB");
    let mut failed = Vec::new();
    for (name, unit, unit_seconds) in MODELS {
        let out = Command::new(&exe)
            .args(["bench-model", name])
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .map_err(|e| format!("cannot start the benchmark child: {e}"))?;
        if !out.status.success() {
            println!("{name:<18} FAILED ({})", out.status);
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            failed.push(*name);
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| -> f64 {
            text.split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{k}="))).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
        };
        let per_unit = get("seconds") / get("units");
        println!(
            "{:<18} {:>9.1} {:>30} {:>11.3} {:>9.4} {:>10.1} {:>10.1}",
            name,
            get("load") * 1e3,
            unit,
            per_unit * 1e3,
            per_unit / unit_seconds,
            get("peak_kib") / 1024.0,
            (get("peak_kib") - get("baseline_kib")) / 1024.0
        );
    }
    println!("ms / unit: median of 5 passes; RTF: that cost / the audio it covers; model MiB: peak minus the process before loading");
    if failed.is_empty() { Ok(()) } else { Err(format!("model benchmark failed for {}", failed.join(", "))) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One model in this process: prints `load= seconds= units= peak_kib= baseline_kib=`.
pub fn bench_model(args: &[String]) -> Result<(), String> {
    let name = args.first().ok_or("bench-model needs a model name")?;
    let dir = voirs_shared::assets::models_dir();
    let clip = voirs_shared::wav::read(&dir.join("librivox-0870.wav")).map_err(|e| format!("{e} (run `cargo xtask models`)"))?;
    let audio = &clip.channels[0];
    let baseline = proc_status_kib("VmHWM:").unwrap_or(0);
    let err = |e: voirs_shared::neural::ModelError| e.to_string();
    let t = Instant::now();
    let (load, seconds, units) = match name.as_str() {
        "crepe-tiny" | "crepe-tiny-batch" | "crepe-full" => {
            let capacity = if name == "crepe-full" { crepe::Capacity::Full } else { crepe::Capacity::Tiny };
            let model = crepe::Crepe::load(&dir.join(capacity.file())).map_err(err)?;
            let load = t.elapsed().as_secs_f64();
            let batch = match name.as_str() {
                "crepe-tiny" => 1,
                "crepe-tiny-batch" => 8,
                _ => 1,
            };
            // 2 s of speech (201 frames at hop 160); full is ~40× the work: 0.5 s.
            let n = if name == "crepe-full" { 8_000 } else { 32_000 };
            let x = &audio[..n];
            let units = (1 + n / 160) as f64;
            let runs = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    model.analyse(x, 160, 50.0, 550.0, crepe::Decoder::WeightedArgmax, batch).map(|_| t.elapsed().as_secs_f64())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            (load, median(runs), units)
        }
        "silero-vad" => {
            let model = vad::SileroVad::load(&dir.join(vad::FILE)).map_err(err)?;
            let load = t.elapsed().as_secs_f64();
            let chunks: Vec<&[f32]> = audio.chunks_exact(vad::CHUNK).collect();
            let runs = (0..5)
                .map(|_| {
                    let mut s = vad::VadStream::new()?;
                    let t = Instant::now();
                    for c in &chunks {
                        s.push(&model, c)?;
                    }
                    Ok(t.elapsed().as_secs_f64())
                })
                .collect::<Result<Vec<_>, voirs_shared::neural::ModelError>>()
                .map_err(err)?;
            (load, median(runs), chunks.len() as f64)
        }
        "resemblyzer" => {
            let model = speaker::SpeakerEncoder::load(&dir.join(speaker::FILE)).map_err(err)?;
            let load = t.elapsed().as_secs_f64();
            let runs = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    model.embed_utterance(audio).map(|_| t.elapsed().as_secs_f64())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            (load, median(runs), audio.len() as f64 / speaker::SAMPLE_RATE as f64)
        }
        other => return Err(format!("unknown model {other:?}")),
    };
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    println!("load={load} seconds={seconds} units={units} peak_kib={peak} baseline_kib={baseline}");
    Ok(())
}
