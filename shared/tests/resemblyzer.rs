//! Parity of the candle Resemblyzer speaker encoder with a NumPy float64 re-implementation of
//! Resemblyzer 0.1.4's `embed_utterance` on the same weights (see `fixtures/resemblyzer.py`), on
//! real read speech: the utterance embedding, same-speaker similarity of the clip's first and last
//! 3 s, and the separation from synthetic signals.
//! Needs `cargo xtask models`; says so and skips without it, unless VOIRS_REQUIRE_MODELS=1
//! (CI), where a missing model fails.

mod common;

use common::model_file;
use std::time::Instant;
use voirs_shared::neural::speaker::{self, SpeakerEncoder, cosine};

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/resemblyzer_librivox_0870.json")).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn load() -> Option<(SpeakerEncoder, Vec<f32>)> {
    let (Some(weights), Some(clip)) = (model_file(speaker::FILE), model_file("librivox-0870.wav")) else { return None };
    let audio = voirs_shared::wav::read(&clip).unwrap();
    assert_eq!(audio.sample_rate, speaker::SAMPLE_RATE);
    Some((SpeakerEncoder::load(&weights).unwrap(), audio.channels[0].clone()))
}

/// The fixture's synthetic signals, regenerated bit for bit (`lcg_noise` and `sine` there).
fn lcg_noise(n: usize) -> Vec<f32> {
    let mut x: u32 = 1;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (((x >> 8) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) * 0.1) as f32
        })
        .collect()
}

fn sine(n: usize) -> Vec<f32> {
    (0..n).map(|k| (0.1 * (2.0 * std::f64::consts::PI * 220.0 * k as f64 / 16_000.0).sin()) as f32).collect()
}

#[test]
fn resemblyzer_utterance_embedding_matches_the_reference() {
    let Some((model, wav)) = load() else { return };
    let fx = fixture();
    assert_eq!(wav.len() as u64, fx["samples"].as_u64().unwrap());

    // Front end first: a mismatch there is easier to read than one in the embedding.
    let mel = model.mel_frames(&wav);
    for (t, want) in fx["mel_check_frames"].as_array().unwrap().iter().zip(fx["mel_check"].as_array().unwrap()) {
        let t = t.as_u64().unwrap() as usize;
        let want = floats(want);
        let scale = want.iter().fold(0.0f32, |a, b| a.max(b.abs())).max(1e-12);
        let worst = mel[t].iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max) / scale;
        assert!(worst < 1e-4, "mel frame {t}: max error {worst:.2e} of the frame's peak");
    }

    let partials = model.embed_partials(&wav, speaker::RATE, speaker::MIN_COVERAGE).unwrap();
    assert_eq!(partials.len() as u64, fx["partials"].as_u64().unwrap());

    let start = Instant::now();
    let got = model.embed_utterance(&wav).unwrap();
    let elapsed = start.elapsed();
    let want = floats(&fx["embedding"]);
    let cos = cosine(&got, &want);
    let max_diff = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
    eprintln!(
        "resemblyzer parity: {} partials, cosine {cos:.7}, max |Δ| {max_diff:.2e}; embed_utterance of {:.2} s took {:.1} ms",
        partials.len(),
        wav.len() as f64 / 16_000.0,
        elapsed.as_secs_f64() * 1e3
    );
    assert!(cos >= 0.999, "cosine to the reference {cos}");
    let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4 && got.iter().all(|x| *x >= 0.0));
}

#[test]
fn resemblyzer_same_speaker_scores_high_and_synthetic_signals_low() {
    let Some((model, wav)) = load() else { return };
    let fx = fixture();
    let seg = fx["segment_samples"].as_u64().unwrap() as usize;
    let whole = model.embed_utterance(&wav).unwrap();
    let first = model.embed_utterance(&wav[..seg]).unwrap();
    let last = model.embed_utterance(&wav[wav.len() - seg..]).unwrap();
    assert!(cosine(&first, &floats(&fx["first_3s_embedding"])) >= 0.999);
    assert!(cosine(&last, &floats(&fx["last_3s_embedding"])) >= 0.999);

    let same = cosine(&first, &last);
    let want_same = fx["cosine_first_last_3s"].as_f64().unwrap() as f32;
    let noise = cosine(&whole, &model.embed_utterance(&lcg_noise(seg)).unwrap());
    let tone = cosine(&whole, &model.embed_utterance(&sine(seg)).unwrap());
    eprintln!("resemblyzer similarity: first/last 3 s {same:.4} (reference {want_same:.4}); speech/noise {noise:.4}, speech/220 Hz sine {tone:.4}");
    assert!((same - want_same).abs() <= 0.005, "first/last 3 s cosine {same} vs reference {want_same}");
    assert!(same > 0.8, "same speaker, same recording: {same}");
    // Embeddings are non-negative (ReLU), so unrelated inputs do not score near 0: the reference
    // gives 0.44 for white noise and 0.33 for a sine against 0.83 for the same speaker. 0.6
    // leaves a margin of about 0.15 on either side of both.
    let want_noise = fx["cosine_speech_noise"].as_f64().unwrap() as f32;
    let want_tone = fx["cosine_speech_sine"].as_f64().unwrap() as f32;
    assert!((noise - want_noise).abs() <= 0.005 && (tone - want_tone).abs() <= 0.005, "synthetic cosines {noise}, {tone} vs reference {want_noise}, {want_tone}");
    assert!(noise < 0.6 && tone < 0.6, "synthetic signals should score clearly below the same speaker");
}

/// The Voice Converter's similarity meter (`convert::matching::SimilarityMeter`) on a 48 kHz
/// stream: with the reference embedded from a clip's first half and the rest of the reader's
/// speech streamed as input, the reading matches the cosine of the same window embedded directly (the meter's
/// resampling and silence trimming cost under 0.02), reads the same speaker above 0.8, and
/// reads synthetic noise as output at least 0.3 below the voice.
#[test]
fn similarity_meter_reads_the_speaker_of_the_stream() {
    use voirs_shared::convert::matching::{METER_EVERY_S, SimilarityMeter, voiced_16k};
    let Some((model, wav)) = load() else { return };
    let model = std::sync::Arc::new(model);
    let half = wav.len() / 2;
    let reference = model.embed_utterance(&voiced_16k(&wav[..half])).unwrap().to_vec();
    // The clip's second half, then two more clips of the same reader.
    let mut tail = wav[half..].to_vec();
    for more in ["librivox-0890.wav", "librivox-0920.wav"] {
        tail.extend(voirs_shared::wav::read(&model_file(more).expect("LibriVox clips come with the encoder")).unwrap().channels[0].iter());
    }
    let stream = voirs_shared::clip::resample_mono(&tail, 16_000, 48_000).unwrap();
    let noise = lcg_noise(stream.len());
    let mut meter = SimilarityMeter::new(48_000.0, model.clone(), reference.clone());
    let mut readings = Vec::new();
    let chunk = 4_800;
    for (i, (x, n)) in stream.chunks(chunk).zip(noise.chunks(chunk)).enumerate() {
        if let Some(s) = meter.push(x, n) {
            readings.push(((i + 1) * chunk, s));
        }
    }
    assert!(readings.len() >= 2, "{} readings", readings.len());
    for (end, s) in &readings {
        eprintln!("meter at {:.1} s: input {:.3}, output {:.3}", *end as f32 / 48_000.0, s.input, s.output);
        assert!(s.input > 0.8, "same speaker read {:.3}", s.input);
        assert!(s.output < s.input - 0.3, "noise read {:.3} against the voice's {:.3}", s.output, s.input);
    }
    // The last reading against a direct embedding of the same 3 s window.
    let (end, last) = readings.last().unwrap();
    let end16 = end / 3;
    let direct = cosine(&model.embed_utterance(&voiced_16k(&tail[end16 - 48_000..end16])).unwrap(), &reference);
    eprintln!("last window embedded directly: {direct:.3} (meter {:.3}); a reading every {METER_EVERY_S} s", last.input);
    assert!((direct - last.input).abs() < 0.02, "direct {direct:.3} vs meter {:.3}", last.input);
}
