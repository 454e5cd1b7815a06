//! Parity of the candle silero VAD with the reference forward pass of the same weights (NumPy,
//! float64, itself checked against the package's own tinygrad model; see
//! `fixtures/silero_vad.py`), on real read speech: every chunk's probability within 0.01.
//! Needs `cargo xtask models`; says so and skips without it, unless VOIRS_REQUIRE_MODELS=1
//! (CI), where a missing model fails.

mod common;

use common::model_file;
use voirs_shared::neural::vad::{self, SileroVad, VadStream};

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

/// The VAD as the plugins run it: chunks submitted to the shared inference pool through a
/// lookahead runner, results collected in order. Offline (waiting) it must give exactly the
/// probabilities of the direct stream: scheduling never changes a result.
#[test]
fn silero_vad_through_the_inference_pool_equals_the_direct_stream() {
    use std::sync::Arc;
    use std::time::Duration;
    use voirs_shared::rt::lookahead::Lookahead;
    use voirs_shared::rt::pool::{Pool, models};
    let (Some(weights), Some(clip)) = (model_file(vad::FILE), model_file("librivox-0870.wav")) else { return };
    let audio = voirs_shared::wav::read(&clip).unwrap();
    let chunks: Vec<Vec<f32>> = audio.channels[0].chunks_exact(vad::CHUNK).take(60).map(|c| c.to_vec()).collect();
    let model = models::shared("silero_vad_16k", || SileroVad::load(&weights)).unwrap();
    let again = models::shared("silero_vad_16k", || SileroVad::load(&weights)).unwrap();
    assert!(Arc::ptr_eq(&model, &again), "one loaded copy per process");
    let mut direct = VadStream::new().unwrap();
    let want: Vec<f32> = chunks.iter().map(|c| direct.push(&model, c).unwrap()).collect();

    let pool = Pool::new("vad-test", 2);
    let worker_model = model.clone();
    let mut stream = VadStream::new().unwrap();
    let mut la = Lookahead::new(&pool, vad::CHUNK, 2, move |chunk: Vec<f32>| stream.push(&worker_model, &chunk).unwrap());
    let mut got = Vec::new();
    for (k, chunk) in chunks.iter().enumerate() {
        la.submit(chunk.clone()).ok().expect("lane has room: results are collected as they are due");
        if k >= 2 {
            got.push(la.take_wait(k as u64 - 2, Duration::from_secs(10), drop).expect("offline waits"));
        }
    }
    for k in chunks.len() - 2..chunks.len() {
        got.push(la.take_wait(k as u64, Duration::from_secs(10), drop).unwrap());
    }
    assert_eq!(la.late(), 0);
    assert_eq!(got, want, "bit-identical through the pool");
    assert_eq!(la.latency_samples(), 2 * vad::CHUNK);
}
