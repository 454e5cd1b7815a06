//! Saved state as a DAW keeps it in a project: round trips exactly, survives garbage, and
//! loads states written before the schema field existed.

mod common;

use common::*;
use serde_json::{Value, json};
use voirs_tests::bundles::PluginSpec;
use voirs_tests::render::Schedule;
use voirs_tests::{Instance, state};

const SR: f64 = 48_000.0;

/// Moves every continuous parameter away from its default (and sets the Speech Track's clip),
/// so a state round trip has something to carry.
fn customise(p: &mut Instance, spec: PluginSpec, scratch: &Scratch) {
    p.set_param_text_by_name("out_gain", "-7.5 dB").unwrap();
    if spec.package == SINGER.package {
        p.set_param_text_by_name("attack", "42 ms").unwrap();
        p.set_param_text_by_name("release", "333 ms").unwrap();
    }
    if spec.package == SPEECH_TRACK.package {
        let clip = write_clip(&scratch.0, SR as u32, 0.4, 77);
        set_clip(p, &clip);
    }
}

fn param_values(p: &mut Instance) -> Vec<(String, f64)> {
    p.params().unwrap().into_iter().map(|i| (i.name.clone(), p.param_value(i.id).unwrap())).collect()
}

fn render_material(p: &mut Instance, spec: PluginSpec) -> Vec<Vec<f32>> {
    p.activate(SR, 1, 512).unwrap();
    let ch = p.activation().unwrap().in_channels;
    let m = material(spec, ch, 24_000, 4);
    let out = render(p, &m, &Schedule::Fixed(333));
    p.deactivate();
    out
}

/// Save → load into a fresh instance → the same saved bytes, the same parameter values, and
/// bit-identical output on the same input.
fn round_trip(spec: PluginSpec) {
    let scratch = Scratch::new(&format!("state-{}", spec.short));
    let mut a = instance(spec);
    customise(&mut a, spec, &scratch);
    let saved = a.save_state().unwrap();
    let doc = state::parse(&saved).unwrap();
    assert_eq!(state::field(&doc, "schema"), Some(json!(1)), "the current schema is written: {doc}");
    assert_eq!(doc["version"], json!(env!("CARGO_PKG_VERSION")));

    let mut b = instance(spec);
    let defaults = param_values(&mut b);
    b.load_state(&saved).unwrap();
    assert_eq!(b.save_state().unwrap(), saved, "re-saved bytes");
    let values = param_values(&mut b);
    assert_eq!(values, param_values(&mut a), "parameter values after load");
    assert_ne!(values, defaults, "the state carried non-default values");

    let out_a = render_material(&mut a, spec);
    let out_b = render_material(&mut b, spec);
    assert!(peak_all(&out_a) > 0.01, "the render has signal");
    assert_bits_equal("output after state round trip", &out_b, &out_a);
    // Loading while active applies too (a DAW recalling a preset during playback).
    let mut c = instance(spec);
    c.activate(SR, 1, 512).unwrap();
    c.load_state(&saved).unwrap();
    assert_eq!(param_values(&mut c), values, "values after loading while active");
}

/// Garbage state is refused or ignored: no crash, and the instance keeps working with its
/// defaults, producing exactly the neutral output.
fn malformed(spec: PluginSpec) {
    let mut good = instance(spec);
    let saved = good.save_state().unwrap();
    let json_len = saved.len() - 8;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("three bytes", vec![1, 2, 3]),
        ("length prefix only", 100u64.to_le_bytes().to_vec()),
        ("huge length prefix", [u64::MAX.to_le_bytes().to_vec(), b"{}".to_vec()].concat()),
        ("truncated JSON", saved[..8 + json_len / 2].to_vec()),
        ("not JSON", state::with_prefix(b"\x00\xff garbage \x7f")),
        ("JSON array", state::with_prefix(b"[1,2,3]")),
        ("wrong value types", state::encode(&json!({"version": "0.1.0", "params": {"out_gain": {"f32": "loud"}, "bypass": {"f32": 3}}, "fields": {"schema": "1"}}))),
        ("unknown parameters", state::encode(&json!({"version": "0.1.0", "params": {"no_such": {"f32": 1.0}}, "fields": {"schema": "1"}}))),
        ("schema not a number", state::encode(&json!({"version": "0.1.0", "params": {}, "fields": {"schema": "\"x\""}}))),
        ("out-of-range value", state::encode(&json!({"version": "0.1.0", "params": {"out_gain": {"f32": 1e30}}, "fields": {"schema": "1"}}))),
    ];
    // Random bytes behind a correct prefix.
    let mut rng = voirs_tests::signal::Rng::new(99);
    cases.push(("random bytes", state::with_prefix(&(0..200).map(|_| rng.next_u64() as u8).collect::<Vec<u8>>())));

    let mut reference = neutral(spec, SR as u32, &format!("malformed-{}", spec.short));
    reference.instance.activate(SR, 1, 512).unwrap();
    let ch = reference.instance.activation().unwrap().in_channels;
    let m = material(spec, ch, 12_000, 6);
    let want = reference.reference(spec, &m);

    for (what, bytes) in cases {
        let mut n = neutral(spec, SR as u32, &format!("malformed-{}-case", spec.short));
        let clip_state = n.instance.save_state().unwrap();
        let defaults = param_values(&mut n.instance);
        let loaded = n.instance.load_state(&bytes);
        let values = param_values(&mut n.instance);
        if what == "out-of-range value" {
            // Clamped into range or ignored; either way a valid value.
            let gain = n.instance.param("out_gain").unwrap();
            let v = n.instance.param_value(gain.id).unwrap();
            assert!((0.0..=1.0).contains(&v), "{what}: out_gain {v}");
            continue;
        }
        assert_eq!(values, defaults, "{what}: parameters stay at their defaults (load {loaded:?})");
        // The instance still works: restore what the neutral setup needs and render.
        n.instance.load_state(&clip_state).unwrap();
        n.instance.activate(SR, 1, 512).unwrap();
        let out = render(&mut n.instance, &m, &Schedule::Fixed(512));
        assert_bits_equal(&format!("{what}: output after a bad load"), &out, &want);
    }
}

/// States from before the schema field existed (or with an older schema) still load, and are
/// written back with the current schema.
fn older_schema(spec: PluginSpec) {
    let mut p = instance(spec);
    let gain = p.param("out_gain").unwrap();
    let minus12 = p.text_to_value(gain.id, "-12 dB").unwrap();
    let base = state::parse(&p.save_state().unwrap()).unwrap();
    let plain_minus12 = 10f64.powf(-12.0 / 20.0);

    let mut no_schema = base.clone();
    state::remove_field(&mut no_schema, "schema");
    let mut schema0 = base.clone();
    state::set_field(&mut schema0, "schema", &json!(0)).unwrap();
    // What a build with no persisted fields at all wrote: an empty fields object.
    let mut empty_fields = base.clone();
    empty_fields["fields"] = json!({});
    let mut no_version = base.clone();
    no_version.as_object_mut().unwrap().remove("version");

    for (what, mut doc) in [("no schema", no_schema), ("schema 0", schema0), ("empty fields", empty_fields), ("no version", no_version)] {
        let params = doc.get_mut("params").unwrap();
        params["out_gain"] = json!({"f32": plain_minus12});
        let mut q = instance(spec);
        q.load_state(&state::encode(&doc)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let v = q.param_value(gain.id).unwrap();
        assert!((v - minus12).abs() < 1e-6, "{what}: out_gain {v}, want {minus12}");
        let resaved = state::parse(&q.save_state().unwrap()).unwrap();
        assert_eq!(state::field(&resaved, "schema"), Some(json!(1)), "{what}: re-saved with the current schema");
    }
    // A state from a newer build loads what this build understands.
    let mut newer = base;
    state::set_field(&mut newer, "schema", &json!(99)).unwrap();
    newer["params"]["out_gain"] = json!({"f32": plain_minus12});
    newer["fields"]["from_the_future"] = Value::String("{\"x\":1}".into());
    let mut q = instance(spec);
    q.load_state(&state::encode(&newer)).unwrap();
    assert!((q.param_value(gain.id).unwrap() - minus12).abs() < 1e-6, "newer schema: known values load");
}

per_plugin!(round_trip, malformed, older_schema);
