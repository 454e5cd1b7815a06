//! Parity of the candle silero VAD with the reference forward pass of the same weights (NumPy,
//! float64, itself checked against the package's own tinygrad model; see
//! `fixtures/silero_vad.py`), on real read speech: every chunk's probability within 0.01.
//! Needs `cargo xtask models`; says so and skips without it, unless VOIRS_REQUIRE_MODELS=1
//! (CI), where a missing model fails.

use std::path::PathBuf;
use voirs_shared::assets::models_dir;
use voirs_shared::neural::vad::{self, SileroVad, VadStream};

fn model_file(name: &str) -> Option<PathBuf> {
    let p = models_dir().join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("VOIRS_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("{} is missing and VOIRS_REQUIRE_MODELS=1: run `cargo xtask models`", p.display());
    }
    eprintln!("skipped: {} is missing; run `cargo xtask models` to run this parity test", p.display());
    None
}

#[test]
fn silero_vad_matches_the_reference_within_0_01_on_librivox_speech() {
    let (Some(weights), Some(clip)) = (model_file(vad::FILE), model_file("librivox-0870.wav")) else { return };
    let fixture: serde_json::Value = serde_json::from_str(include_str!("fixtures/silero_vad_librivox_0870.json")).unwrap();
    let expected: Vec<f32> = fixture["probs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let audio = voirs_shared::wav::read(&clip).unwrap();
    assert_eq!(audio.sample_rate, vad::SAMPLE_RATE);
    let model = SileroVad::load(&weights).unwrap();
    let mut stream = VadStream::new().unwrap();
    let got: Vec<f32> = audio.channels[0].chunks_exact(vad::CHUNK).map(|c| stream.push(&model, c).unwrap()).collect();
    assert_eq!(got.len(), expected.len());
    let (worst_at, worst) = got.iter().zip(&expected).map(|(g, e)| (g - e).abs()).enumerate().fold((0, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
    eprintln!("silero VAD parity: {} chunks, max |Δp| = {worst:.2e} at chunk {worst_at}", got.len());
    assert!(worst <= 0.01, "chunk {worst_at}: candle {} vs reference {}", got[worst_at], expected[worst_at]);
    // The clip is read speech with pauses: the test covers both classes, not one.
    assert!(expected.iter().any(|p| *p < 0.2) && expected.iter().any(|p| *p > 0.8));
}
