//! Committed reference renders: a short seeded render per plugin, with non-default settings,
//! compared with today's render. Floating-point results may differ in the last bits between
//! machines (SIMD paths chosen at run time), so the comparison allows an error of −100 dBFS
//! (max |difference| ≤ 1e-5); on one machine, determinism is tested bit-exactly elsewhere.
//!
//! To (re)create the files after an intended change in sound:
//!   VOIRS_BLESS=1 cargo test -p voirs-tests --release --test reference

mod common;

use common::*;
use std::path::PathBuf;
use voirs_shared::wav::{self, Audio};
use voirs_tests::bundles::{PluginSpec, workspace_root};
use voirs_tests::render::Schedule;
use voirs_tests::signal;

const SR: u32 = 48_000;
const FRAMES: usize = 12_000;
const MAX_ERROR_DBFS: f64 = -100.0;

fn reference_path(spec: PluginSpec) -> PathBuf {
    workspace_root().join("tests/reference").join(format!("{}.wav", spec.package))
}

/// The seeded render: −3 dB output gain everywhere, the Converter shifting a gliding voice by
/// +5 st 10 ct, the Singer with its own envelope, the Spatializer in its mono-in layout, the
/// Speech Track with a generated clip.
fn seeded_render(spec: PluginSpec) -> Vec<Vec<f32>> {
    let scratch = Scratch::new(&format!("reference-{}", spec.short));
    let mut p = instance(spec);
    p.set_param_text_by_name("out_gain", "-3 dB").unwrap();
    if spec.package == SINGER.package {
        p.set_param_text_by_name("attack", "20 ms").unwrap();
        p.set_param_text_by_name("release", "80 ms").unwrap();
    }
    if spec.package == SPATIALIZER.package {
        p.select_layout(1, 2).unwrap();
    }
    if spec.package == SPEECH_TRACK.package {
        let clip = write_clip(&scratch.0, SR, 0.15, 3);
        set_clip(&mut p, &clip);
    }
    if spec.package == CONVERTER.package {
        p.set_param_text_by_name("pitch", "5").unwrap();
        p.set_param_text_by_name("cents", "10").unwrap();
    }
    p.activate(SR as f64, 1, 256).unwrap();
    let ch = p.activation().unwrap().in_channels;
    let mut m = material(spec, ch, FRAMES, 1234);
    if spec.package == CONVERTER.package {
        use voirs_shared::analysis::synthetic::{Envelope, MALE_AH, track, voice};
        let v = voice(SR as f64, &track::glide(SR as f64, FRAMES as f64 / SR as f64, 120.0, 180.0), &Envelope::new(&MALE_AH), 0.5);
        m.input = Some(vec![v; ch]);
    }
    render(&mut p, &m, &Schedule::Fixed(256))
}

fn matches_reference(spec: PluginSpec) {
    let path = reference_path(spec);
    let out = seeded_render(spec);
    assert!(peak_all(&out) > 0.01, "the seeded render has signal");
    if std::env::var_os("VOIRS_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        wav::write(&path, &Audio { sample_rate: SR, channels: out }).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let want = wav::read(&path).unwrap_or_else(|e| {
        panic!("{e}\nno reference render: create it with VOIRS_BLESS=1 cargo test -p voirs-tests --release --test reference")
    });
    assert_eq!(want.sample_rate, SR);
    assert_eq!((want.channels.len(), want.frames()), (out.len(), FRAMES), "reference shape");
    let err = out.iter().zip(&want.channels).map(|(a, b)| signal::max_abs_diff(a, b)).fold(0.0, f32::max);
    let db = signal::dbfs(err);
    eprintln!("{}: max |difference| {err:e} ({db:.1} dBFS)", spec.package);
    assert!(db <= MAX_ERROR_DBFS, "{}: render differs from {} by {db:.1} dBFS (limit {MAX_ERROR_DBFS})", spec.package, path.display());
}

per_plugin!(matches_reference);
