//! `cargo xtask render` and `cargo xtask save-state`: offline rendering of files through a
//! plugin, the way a DAW bounces a track, with the plugin in CLAP offline render mode.

use crate::cli::{Args, key_value};
use std::path::Path;
use voirs_shared::wav::{self, Audio};
use voirs_tests::render::Schedule;
use voirs_tests::{Bundle, Instance, RenderMode, bundles, midi, signal, state};

/// Release time rendered after the last MIDI event when `--seconds` is not given.
const MIDI_TAIL_S: f64 = 1.0;

fn open(plugin: &str) -> Result<Instance, String> {
    let (path, _) = bundles::resolve(plugin).map_err(|e| e.to_string())?;
    let bundle = Bundle::load(&path).map_err(|e| e.to_string())?;
    bundle.instantiate_first().map_err(|e| e.to_string())
}

fn apply_params(p: &mut Instance, params: &[&str], quiet: bool) -> Result<(), String> {
    for kv in params {
        let (id, text) = key_value(kv)?;
        let v = p.set_param_text_by_name(id, text).map_err(|e| e.to_string())?;
        let shown = p.param(id).and_then(|i| p.value_to_text(i.id, v)).unwrap_or_default();
        if !quiet {
            eprintln!("param {id} = {shown}");
        }
    }
    Ok(())
}

pub fn render(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["in", "midi", "out", "out-dir", "sr", "block", "param", "state", "seconds"], &["keep-latency", "quiet"])?;
    let plugin = a.positional.first().ok_or("render needs a plugin (path, package or short name)")?;
    // Batch: several --in files (or --out-dir) → one render per file, DIR/<name>.wav each, with
    // the same plugin settings (each file gets a fresh instance, as a bounce per track would).
    if let Some(dir) = a.value("out-dir") {
        let inputs = a.values("in");
        if inputs.is_empty() || a.value("out").is_some() {
            return Err("--out-dir takes one or more --in files and no --out".to_owned());
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
        let mut rest: Vec<String> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            if args[i] == "--in" || args[i] == "--out-dir" {
                i += 2;
                continue;
            }
            if args[i].starts_with("--in=") || args[i].starts_with("--out-dir=") {
                i += 1;
                continue;
            }
            rest.push(args[i].clone());
            i += 1;
        }
        for inp in inputs {
            let name = Path::new(inp).file_name().ok_or_else(|| format!("{inp} is not a file"))?;
            let out = Path::new(dir).join(name).with_extension("wav");
            let mut one = rest.clone();
            one.extend(["--in".to_owned(), inp.to_string(), "--out".to_owned(), out.display().to_string()]);
            render(&one)?;
        }
        return Ok(());
    }
    if a.values("in").len() > 1 {
        return Err("several --in files need --out-dir DIR".to_owned());
    }
    let out_path = a.value("out").ok_or("render needs --out FILE.wav")?;
    let block: usize = a.number("block")?.unwrap_or(512);
    if block == 0 || block > voirs_shared::rt::MAX_BLOCK {
        return Err(format!("--block must be 1..={}", voirs_shared::rt::MAX_BLOCK));
    }
    let seconds: Option<f64> = a.number("seconds")?;
    let mut p = open(plugin)?;

    if let Some(s) = a.value("state") {
        let bytes = std::fs::read(s).map_err(|e| format!("cannot read state {s}: {e}"))?;
        p.load_state(&bytes).map_err(|e| e.to_string())?;
    }
    apply_params(&mut p, &a.values("param"), a.has("quiet"))?;
    if p.has_extension("render") {
        p.set_render_mode(RenderMode::Offline).map_err(|e| e.to_string())?;
    }

    let (output, sr, latency) = match (a.value("in"), a.value("midi")) {
        (Some(inp), None) => {
            let audio = wav::read(Path::new(inp)).map_err(|e| e.to_string())?;
            let sr = audio.sample_rate as f64;
            if let Some(want) = a.number::<f64>("sr")?
                && want != sr
            {
                return Err(format!("{inp} is at {sr} Hz; resample it first or drop --sr {want}"));
            }
            // Prefer the plugin layout that matches the file (mono file → mono-in layout).
            let n_in = audio.channels.len().min(2) as u32;
            if let Some(c) = p
                .ports_configs()
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|c| c.main_input_channels == Some(n_in))
            {
                p.select_layout(n_in, c.main_output_channels.unwrap_or(0)).map_err(|e| e.to_string())?;
            }
            p.activate(sr, 1, block as u32).map_err(|e| e.to_string())?;
            let act = p.activation().ok_or("not active")?;
            if act.in_channels == 0 {
                return Err(format!("{} is an instrument: give it --midi, not --in", p.id()));
            }
            let latency = p.latency() as usize;
            let frames = seconds.map_or(audio.frames(), |s| (s * sr).round() as usize);
            // Render `latency` extra frames and drop as many from the front, so the output lines
            // up with the input as a DAW's delay compensation would.
            let total = frames + if a.has("keep-latency") { 0 } else { latency };
            let input: Vec<Vec<f32>> = (0..act.in_channels)
                .map(|c| {
                    let src = &audio.channels[c.min(audio.channels.len() - 1)];
                    let mut ch = vec![0.0; total];
                    let n = src.len().min(total);
                    ch[..n].copy_from_slice(&src[..n]);
                    ch
                })
                .collect();
            let out = p.render(Some(&input), total, &[], &Schedule::Fixed(block)).map_err(|e| e.to_string())?;
            (out, sr, latency)
        }
        (None, Some(mid)) => {
            let sr: f64 = a.number("sr")?.unwrap_or(48_000.0);
            let notes = midi::read(Path::new(mid), sr).map_err(|e| e.to_string())?;
            p.activate(sr, 1, block as u32).map_err(|e| e.to_string())?;
            if p.note_ports(true).map_err(|e| e.to_string())?.is_empty() {
                return Err(format!("{} takes no notes: give it --in, not --midi", p.id()));
            }
            let latency = p.latency() as usize;
            let frames = seconds.map_or(notes.end as usize + (MIDI_TAIL_S * sr) as usize, |s| (s * sr).round() as usize);
            let total = frames + if a.has("keep-latency") { 0 } else { latency };
            let out = p.render(None, total, &notes.events, &Schedule::Fixed(block)).map_err(|e| e.to_string())?;
            (out, sr, latency)
        }
        _ => return Err("render needs exactly one of --in FILE.wav (effects) or --midi FILE.mid (instruments)".to_owned()),
    };

    let skip = if a.has("keep-latency") { 0 } else { latency };
    let channels: Vec<Vec<f32>> = output.into_iter().map(|c| c[skip..].to_vec()).collect();
    let non_finite: usize = channels.iter().map(|c| c.iter().filter(|v| !v.is_finite()).count()).sum();
    let peak = channels.iter().map(|c| signal::peak(c)).fold(0.0f32, f32::max);
    let frames = channels.first().map_or(0, Vec::len);
    wav::write(Path::new(out_path), &Audio { sample_rate: sr.round() as u32, channels }).map_err(|e| e.to_string())?;
    if !a.has("quiet") { println!(
        "{}: {frames} frames at {sr} Hz, latency {latency} samples{}, peak {:.1} dBFS{} -> {out_path}",
        p.id(),
        if skip > 0 { " (compensated)" } else { "" },
        signal::dbfs(peak),
        if non_finite > 0 { format!(", {non_finite} NON-FINITE samples") } else { String::new() },
    ); }
    if non_finite > 0 {
        return Err("the plugin produced non-finite samples".to_owned());
    }
    Ok(())
}

/// `cargo xtask save-state <plugin> --out FILE [--param id=text ...] [--field name=value ...]`:
/// writes the plugin's own state bytes, for `render --state` or a DAW preset. A field value is
/// taken as JSON when it parses as JSON, else as a string (so `--field clip=/a/b.wav` works).
pub fn save_state(args: &[String]) -> Result<(), String> {
    let a = Args::parse(args, &["out", "param", "field"], &[])?;
    let plugin = a.positional.first().ok_or("save-state needs a plugin")?;
    let out = a.value("out").ok_or("save-state needs --out FILE")?;
    let mut p = open(plugin)?;
    apply_params(&mut p, &a.values("param"), false)?;
    let fields = a.values("field");
    if !fields.is_empty() {
        let mut doc = state::parse(&p.save_state().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        for kv in fields {
            let (name, raw) = key_value(kv)?;
            let value = serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_owned()));
            state::set_field(&mut doc, name, &value).map_err(|e| e.to_string())?;
        }
        // Let the plugin read it back, so the file holds what the plugin accepts.
        p.load_state(&state::encode(&doc)).map_err(|e| e.to_string())?;
    }
    let bytes = p.save_state().map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!("{}: {} bytes of state -> {out}", p.id(), bytes.len());
    Ok(())
}
