//! What a host reads before it plays anything: descriptors, audio and note ports, parameters.

mod common;

use common::*;
use voirs_tests::bundles::{PluginKind, PluginSpec, clap_param_id};
use voirs_tests::{Bundle, ParamInfo};

/// The product's parameters: (string id, display name, default display text).
fn expected_params(spec: PluginSpec) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut p = vec![("bypass", "Bypass", "Off")];
    if spec.package == CONVERTER.package {
        p.push(("mode", "Mode", "Live (10 ms)"));
        p.push(("pitch", "Pitch", "0 st"));
        p.push(("cents", "Fine", "0.0 ct"));
        p.push(("formant", "Formant", "0.0 st"));
        p.push(("gender", "Gender", "0 %"));
        p.push(("age", "Age", "0 %"));
        p.push(("voice", "Voice", "Normal"));
        p.push(("correct", "Correction", "Off"));
        p.push(("key", "Key", "C"));
        p.push(("scale", "Scale", "Chromatic"));
        p.push(("retune", "Retune", "50 ms"));
        p.push(("humanise", "Humanise", "0 %"));
    }
    p.push(("out_gain", "Output Gain", "0.00 dB"));
    if spec.package == CONVERTER.package {
        p.push(("match", "Match", "100 %"));
        p.push(("mix", "Mix", "100 %"));
        p.push(("denoise", "Denoise", "Off"));
        p.push(("denoise_amount", "Denoise Amount", "100 %"));
        p.push(("gate", "VAD Gate", "Off"));
        p.push(("gate_threshold", "Gate Threshold", "50 %"));
        p.push(("gate_range", "Gate Range", "-40.0 dB"));
        p.push(("gate_attack", "Gate Attack", "2.0 ms"));
        p.push(("gate_hold", "Gate Hold", "100 ms"));
        p.push(("gate_release", "Gate Release", "150 ms"));
    }
    if spec.package == SINGER.package {
        p.push(("attack", "Attack", "10.0 ms"));
        p.push(("release", "Release", "150.0 ms"));
    }
    p
}

fn expected_name(spec: PluginSpec) -> &'static str {
    match spec.package {
        "voirs-converter" => "VoiRS Voice Converter",
        "voirs-singer" => "VoiRS Singer",
        "voirs-spatializer" => "VoiRS Spatializer",
        _ => "VoiRS Speech Track",
    }
}

fn descriptor(spec: PluginSpec) {
    let bundle = Bundle::load(bundle_path(spec)).unwrap();
    let d = bundle.descriptors().unwrap();
    assert_eq!(d.len(), 1, "one plugin per bundle: {d:?}");
    let d = &d[0];
    assert_eq!(d.id, spec.clap_id);
    assert_eq!(d.name, expected_name(spec));
    assert_eq!(d.vendor, "VoiRS");
    // The workspace version: every crate, this one included, inherits it.
    assert_eq!(d.version, env!("CARGO_PKG_VERSION"));
    assert!(!d.description.is_empty(), "hosts show the description in their browsers");
    let has = |f: &str| d.features.iter().any(|x| x == f);
    match spec.kind {
        PluginKind::Effect => {
            assert!(has("audio-effect") && !has("instrument"), "{:?}", d.features);
            assert!(has("mono") && has("stereo"), "effects take mono and stereo: {:?}", d.features);
        }
        PluginKind::Instrument => {
            assert!(has("instrument") && !has("audio-effect"), "{:?}", d.features);
            assert!(has("stereo"), "{:?}", d.features);
        }
    }
    assert!(bundle.instantiate("org.voirs.no-such-plugin").is_err(), "unknown ids are refused");
}

fn ports(spec: PluginSpec) {
    let mut p = instance(spec);
    // Every layout in the table is offered, in order, and selecting it changes the ports.
    let configs = p.ports_configs().unwrap();
    let offered: Vec<(u32, u32)> =
        configs.iter().map(|c| (c.main_input_channels.unwrap_or(0), c.main_output_channels.unwrap_or(0))).collect();
    assert_eq!(offered, spec.layouts, "audio-ports configurations");
    for &(i, o) in spec.layouts.iter().rev() {
        p.select_layout(i, o).unwrap();
        let ins = p.audio_ports(true).unwrap();
        let outs = p.audio_ports(false).unwrap();
        let kind = |n: u32| if n == 1 { "mono" } else { "stereo" };
        if i == 0 {
            assert!(ins.is_empty(), "{ins:?}");
        } else {
            assert_eq!(ins.len(), 1, "{ins:?}");
            assert!(ins[0].is_main && ins[0].channels == i && ins[0].port_type == kind(i), "{ins:?}");
        }
        assert_eq!(outs.len(), 1, "{outs:?}");
        assert!(outs[0].is_main && outs[0].channels == o && outs[0].port_type == kind(o), "{outs:?}");
    }
    let note_in = p.note_ports(true).unwrap();
    assert!(p.note_ports(false).unwrap().is_empty(), "no plugin sends notes");
    match spec.kind {
        PluginKind::Effect => assert!(note_in.is_empty(), "{note_in:?}"),
        PluginKind::Instrument => {
            assert_eq!(note_in.len(), 1, "{note_in:?}");
            assert!(note_in[0].supports_clap && note_in[0].supports_midi, "{note_in:?}");
        }
    }
}

fn param_infos(spec: PluginSpec) {
    let mut p = instance(spec);
    let params = p.params().unwrap();
    let want = expected_params(spec);
    let names: Vec<&str> = params.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, want.iter().map(|w| w.1).collect::<Vec<_>>(), "parameters in order");
    for (info, (string_id, _, default_text)) in params.iter().zip(&want) {
        // Automation is stored under these ids: they are a stable function of the string id.
        assert_eq!(info.id, clap_param_id(string_id), "{}: CLAP id", info.name);
        // Continuous parameters are normalised 0..1 at the host; stepped ones count their steps
        // (nice-plug's CLAP convention), so hosts show and automate whole steps.
        let max = match *string_id {
            "pitch" => 48.0,
            "key" => 11.0,
            "scale" | "voice" => 2.0,
            _ => 1.0,
        };
        assert_eq!((info.min, info.max), (0.0, max), "{}: host-side range", info.name);
        assert!((info.min..=info.max).contains(&info.default), "{}: default {}", info.name, info.default);
        assert_eq!(p.param_value(info.id).unwrap(), info.default, "{}: starts at its default", info.name);
        assert_eq!(p.value_to_text(info.id, info.default).unwrap(), *default_text, "{}: default text", info.name);
        assert!(info.flags.contains(clack_extensions::params::ParamInfoFlags::IS_AUTOMATABLE), "{}: automatable", info.name);
        assert_eq!(info.is_bypass(), *string_id == "bypass", "{}: bypass flag", info.name);
        assert_eq!(info.is_stepped(), ["bypass", "mode", "pitch", "voice", "correct", "key", "scale", "denoise", "gate"].contains(string_id), "{}: stepped", info.name);
    }
    let gain = p.param("out_gain").unwrap();
    assert_eq!(p.value_to_text(gain.id, 0.0).unwrap(), "-36.00 dB");
    assert_eq!(p.value_to_text(gain.id, 1.0).unwrap(), "12.00 dB");
}

/// Text shown by a host and typed back must land on the same value.
fn round_trip(p: &mut voirs_tests::Instance, info: &ParamInfo) {
    let (lo, hi) = (info.min, info.max);
    let values: Vec<f64> = if info.is_stepped() {
        vec![lo, lo + 1.0, ((lo + hi) / 2.0).round(), hi]
    } else {
        [0.0, 0.05, 0.25, 0.5, 0.6180339, 0.75, 0.99, 1.0].iter().map(|u| lo + u * (hi - lo)).collect()
    };
    for v in values {
        let text = p.value_to_text(info.id, v).unwrap();
        let back = p.text_to_value(info.id, &text).unwrap();
        let text2 = p.value_to_text(info.id, back).unwrap();
        assert_eq!(text2, text, "{}: {v} → {text:?} → {back} → {text2:?}", info.name);
        // A value that came from text is a fixed point: text → value → text → value.
        assert_eq!(p.text_to_value(info.id, &text2).unwrap(), back, "{}: {text2:?} is not stable", info.name);
        // Displayed text has finite resolution (and skewed ranges stretch it near their low
        // end), so the round trip lands near, not on, the original normalised value.
        assert!((back - v).abs() <= 0.1 * (hi - lo), "{}: {v} → {text:?} → {back}", info.name);
        if info.is_stepped() {
            // The step, within the plugin's single-precision normalisation.
            assert!((back - v).abs() < 1e-6, "{}: stepped value {v} came back as {back}", info.name);
        }
    }
    // Setting a value by text reaches the plugin: get_value reads it back.
    let text = p.value_to_text(info.id, if info.is_stepped() { lo + 1.0 } else { lo + 0.25 * (hi - lo) }).unwrap();
    let v = p.set_param_text(info.id, &text).unwrap();
    assert_eq!(p.param_value(info.id).unwrap(), v, "{}: set {text:?}", info.name);
    // Switches (Bypass, Correction) read On/Off in any case; nice-plug's switches take any other
    // text as Off rather than refusing it.
    let switch = info.is_stepped() && hi - lo == 1.0 && p.value_to_text(info.id, lo).unwrap() == "Off";
    if switch {
        assert_eq!(p.text_to_value(info.id, "On").unwrap(), 1.0, "{}", info.name);
        assert_eq!(p.text_to_value(info.id, "off").unwrap(), 0.0, "{}", info.name);
    } else {
        assert!(p.text_to_value(info.id, "not a number").is_err(), "{}: garbage text is refused", info.name);
    }
}

fn param_text_round_trips(spec: PluginSpec) {
    let mut p = instance(spec);
    for info in p.params().unwrap() {
        round_trip(&mut p, &info);
    }
    // A typed unit-less number is understood as the parameter's unit.
    let gain = p.param("out_gain").unwrap();
    let minus6 = p.text_to_value(gain.id, "-6 dB").unwrap();
    assert_eq!(p.text_to_value(gain.id, "-6").unwrap(), minus6);
    assert_eq!(p.value_to_text(gain.id, minus6).unwrap(), "-6.00 dB");
}

per_plugin!(descriptor, ports, param_infos, param_text_round_trips);
