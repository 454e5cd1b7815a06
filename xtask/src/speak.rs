//! `cargo xtask speak`: Kokoro-82M (the candle port) from a phoneme string to a 24 kHz WAV.

use crate::cli::Args;
use std::path::PathBuf;
use voirs_shared::neural::kokoro::{self, Kokoro, Options, Style, Vocab, Voices};

pub const USAGE: &str = "\
speak --phonemes \"həlˈO wˈɜɹld.\" -o out.wav [--voice af_heart | --voice af_heart,am_michael --mix 0.5]
      [--speed S] [--pitch-scale X] [--models FOLDER]
  Phonemes are Kokoro's (misaki) alphabet; --mix blends two voices (0 = first, 1 = second).";

pub fn speak(args: &[String]) -> Result<(), String> {
    // `-o` is the short form of `--out`.
    let args: Vec<String> = args.iter().map(|a| if a == "-o" { "--out".to_owned() } else { a.clone() }).collect();
    let a = Args::parse(&args, &["phonemes", "out", "voice", "mix", "speed", "pitch-scale", "models"], &[])?;
    let usage = |what: &str| format!("{what}\n\n{USAGE}");
    let phonemes = a.value("phonemes").ok_or_else(|| usage("--phonemes is required"))?;
    let out = PathBuf::from(a.value("out").ok_or_else(|| usage("-o/--out is required"))?);
    let dir = a.value("models").map(PathBuf::from).unwrap_or_else(voirs_shared::assets::models_dir);
    let speed = a.number::<f32>("speed")?.unwrap_or(1.0);
    let pitch_scale = a.number::<f32>("pitch-scale")?.unwrap_or(1.0);
    let mix = a.number::<f32>("mix")?.unwrap_or(0.5);
    if !(speed > 0.0 && pitch_scale > 0.0) {
        return Err("--speed and --pitch-scale must be positive".into());
    }

    let vocab = Vocab::load(&dir.join(kokoro::VOCAB_FILE)).map_err(|e| e.to_string())?;
    let ids = vocab
        .encode(phonemes)
        .map_err(|bad| format!("not in Kokoro's phoneme alphabet: {}", bad.iter().collect::<String>()))?;
    let voices = Voices::load(&dir.join(kokoro::VOICES_FILE)).map_err(|e| e.to_string())?;
    let pick = |name: &str| -> Result<Style, String> {
        voices
            .style(name, ids.len())
            .ok_or_else(|| format!("no voice {name:?}; voices: {}", voices.names().join(", ")))
    };
    let voice = a.value("voice").unwrap_or("af_heart");
    let style = match voice.split_once(',') {
        Some((x, y)) => Style::blend(&pick(x)?, &pick(y)?, mix),
        None => pick(voice)?,
    };

    let t = std::time::Instant::now();
    let model = Kokoro::load(&dir.join(kokoro::MODEL_FILE)).map_err(|e| e.to_string())?;
    let load = t.elapsed();
    let t = std::time::Instant::now();
    let opts = Options { speed, pitch_scale, ..Options::default() };
    let speech = model.synthesize(&ids, &style, &opts).map_err(|e| e.to_string())?;
    let render = t.elapsed();
    let seconds = speech.audio.len() as f64 / kokoro::SAMPLE_RATE as f64;
    voirs_shared::wav::write(&out, &voirs_shared::wav::Audio { sample_rate: kokoro::SAMPLE_RATE, channels: vec![speech.audio] })
        .map_err(|e| e.to_string())?;
    eprintln!(
        "{}: {seconds:.2} s at 24 kHz, {} phonemes, {} frames; load {:.2} s, render {:.2} s (RTF {:.2})",
        out.display(),
        ids.len(),
        speech.durations.iter().sum::<u32>(),
        load.as_secs_f64(),
        render.as_secs_f64(),
        render.as_secs_f64() / seconds
    );
    Ok(())
}
