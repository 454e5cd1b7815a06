//! `cargo xtask speak`: Kokoro-82M (the candle port) from a phoneme string to a 24 kHz WAV.

use crate::cli::Args;
use std::path::PathBuf;
use voirs_shared::neural::kokoro::{self, Kokoro, Options, Style, Vocab, Voices};

pub const USAGE: &str = "\
speak (--phonemes \"həlˈO wˈɜɹld.\" | --text \"Hello world.\") -o out.wav [--voice af_heart | --voice af_heart,am_michael --mix 0.5]
      [--speed S] [--pitch-scale X] [--models FOLDER]
  Phonemes are Kokoro's (misaki) alphabet; text goes through the English front end and is
  rendered sentence by sentence (each sentence's time to audio and word timings printed);
  --mix blends two voices (0 = first, 1 = second).";

pub fn speak(args: &[String]) -> Result<(), String> {
    // `-o` is the short form of `--out`.
    let args: Vec<String> = args.iter().map(|a| if a == "-o" { "--out".to_owned() } else { a.clone() }).collect();
    let a = Args::parse(&args, &["phonemes", "text", "out", "voice", "mix", "speed", "pitch-scale", "models"], &[])?;
    let usage = |what: &str| format!("{what}\n\n{USAGE}");
    if let Some(text) = a.value("text") {
        return speak_text(&a, text);
    }
    let phonemes = a.value("phonemes").ok_or_else(|| usage("--phonemes or --text is required"))?;
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

/// `--text`: front end → Kokoro, sentence by sentence (`kokoro::stream`).
fn speak_text(a: &Args, text: &str) -> Result<(), String> {
    let out = PathBuf::from(a.value("out").ok_or("-o/--out is required")?);
    let dir = a.value("models").map(PathBuf::from).unwrap_or_else(voirs_shared::assets::models_dir);
    let opts = Options { speed: a.number::<f32>("speed")?.unwrap_or(1.0), pitch_scale: a.number::<f32>("pitch-scale")?.unwrap_or(1.0), ..Options::default() };
    let mix = a.number::<f32>("mix")?.unwrap_or(0.5);
    let err = |e: voirs_shared::neural::ModelError| e.to_string();
    let vocab = Vocab::load(&dir.join(kokoro::VOCAB_FILE)).map_err(err)?;
    let voices = Voices::load(&dir.join(kokoro::VOICES_FILE)).map_err(err)?;
    let voice = a.value("voice").unwrap_or("af_heart").to_owned();
    for name in voice.split(',') {
        if voices.style(name, 1).is_none() {
            return Err(format!("no voice {name:?}; voices: {}", voices.names().join(", ")));
        }
    }
    let style_for = |n: usize| match voice.split_once(',') {
        Some((x, y)) => Some(Style::blend(&voices.style(x, n)?, &voices.style(y, n)?, mix)),
        None => voices.style(&voice, n),
    };
    let front = match voirs_shared::phonetics::g2p::G2pEn::load(&dir.join(voirs_shared::phonetics::g2p::FILE)) {
        Ok(m) => voirs_shared::phonetics::FrontEnd::with_g2p(std::sync::Arc::new(m)),
        Err(_) => voirs_shared::phonetics::FrontEnd::new(),
    };
    let model = Kokoro::load(&dir.join(kokoro::MODEL_FILE)).map_err(err)?;
    let t = std::time::Instant::now();
    let mut audio = Vec::new();
    kokoro::stream::speak_text(&model, &vocab, &front, text, style_for, &opts, |s| {
        let secs = s.speech.audio.len() as f64 / kokoro::SAMPLE_RATE as f64;
        eprintln!("sentence {} ready after {:.2} s: {:.2}–{:.2} s  {}", s.index + 1, t.elapsed().as_secs_f64(), s.start_s, s.start_s + secs, s.phonemes);
        let words: Vec<String> = s.words.iter().map(|w| format!("{} {:.2}–{:.2}", w.text, w.start_s, w.end_s)).collect();
        eprintln!("  {}", words.join(" · "));
        audio.extend_from_slice(&s.speech.audio);
        true
    })
    .map_err(err)?;
    let seconds = audio.len() as f64 / kokoro::SAMPLE_RATE as f64;
    voirs_shared::wav::write(&out, &voirs_shared::wav::Audio { sample_rate: kokoro::SAMPLE_RATE, channels: vec![audio] }).map_err(|e| e.to_string())?;
    eprintln!("{}: {seconds:.2} s at 24 kHz, rendered in {:.2} s", out.display(), t.elapsed().as_secs_f64());
    Ok(())
}
