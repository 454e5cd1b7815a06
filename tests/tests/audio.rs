//! What comes out: latency truth, every sample rate and block schedule, non-finite input,
//! silence, determinism, offline vs real-time, bypass, output gain.

mod common;

use common::*;
use voirs_tests::bundles::{PluginKind, PluginSpec};
use voirs_tests::render::{Schedule, TimedEvent};
use voirs_tests::{RenderMode, signal};

const SR: u32 = 48_000;

/// A neutral instance, active at `sr` for `schedule`.
fn active_neutral(spec: PluginSpec, sr: u32, schedule: &Schedule, tag: &str) -> Neutral {
    let mut n = neutral(spec, sr, tag);
    n.instance.activate(sr as f64, 1, schedule.max_block() as u32).unwrap();
    n
}

fn in_channels(n: &Neutral) -> usize {
    n.instance.activation().unwrap().in_channels
}

/// The reported latency is the truth: neutral output equals the reference delayed by exactly
/// that many samples, and independent measurements (impulse position, cross-correlation, first
/// sound after a note) find the same number.
fn latency_truth(spec: PluginSpec) {
    let schedule = Schedule::Fixed(512);
    let mut n = active_neutral(spec, SR, &schedule, "latency");
    let latency = n.instance.latency() as usize;
    eprintln!("{}: reported latency {latency} at 48 kHz", spec.package);
    // The converter's pitch shifter: 10 ms.
    let expected = if spec.package == CONVERTER.package { 480 } else { 0 };
    assert_eq!(latency, expected, "reported latency at 48 kHz");
    let frames = SR as usize / 2;
    let m = material(spec, in_channels(&n), frames, 11);
    let out = render(&mut n.instance, &m, &schedule);
    let want = n.reference(spec, &m);
    assert_bits_equal("neutral output vs reference delayed by the reported latency", &out, &want);

    match spec.kind {
        PluginKind::Effect => {
            let input = m.input.as_ref().unwrap();
            let lag = signal::best_lag(&input[0], &out[0], 4096);
            assert_eq!(lag, latency, "cross-correlation lag");
            n.instance.reset().unwrap();
            let at = 1000;
            let imp = signal::impulse(input.len(), 8192, at);
            let y = n.instance.render(Some(&imp), 8192, &[], &schedule).unwrap();
            for (c, ch) in y.iter().enumerate() {
                assert_eq!(signal::first_above(ch, 0.0), Some(at + latency), "impulse position, channel {c}");
                assert_eq!(ch[at + latency], 1.0, "impulse height, channel {c}");
                assert_eq!(signal::peak(ch), 1.0, "nothing else but the impulse, channel {c}");
            }
        }
        PluginKind::Instrument => {
            // The first sound comes exactly `latency` samples after the reference's first sound.
            let undelayed = n.undelayed_reference(spec, &m);
            for (c, (ch, r)) in out.iter().zip(&undelayed).enumerate() {
                let onset = signal::first_above(r, 0.0).expect("the reference sounds");
                assert!(onset < m.events[0].time as usize + 8, "reference onset {onset} follows the first note");
                assert_eq!(signal::first_above(ch, 0.0), Some(onset + latency), "first sound, channel {c}");
            }
        }
    }
    assert!(!n.instance.restart_pending(), "no restart requested while processing");
    if latency > 0 {
        // The host learns a non-zero latency through the latency extension's `changed`.
        assert!(n.instance.counters().latency_changed >= 1, "latency.changed never called: {:?}", n.instance.counters());
    }
}

/// Every sample rate × block size, including 1-sample blocks and a schedule that changes size
/// every call: output is finite and still equals the reference, bit for bit. One instance is
/// reactivated for each case, as a DAW does when its settings change.
fn rates_and_blocks(spec: PluginSpec) {
    let schedules = [
        Schedule::Fixed(1),
        Schedule::Fixed(17),
        Schedule::Fixed(64),
        Schedule::Fixed(512),
        Schedule::Fixed(4096),
        Schedule::Fixed(8192),
        Schedule::varying(),
    ];
    // The four rates DAWs use most, and the extremes we promise (8 kHz telephone material,
    // 384 kHz mastering sessions).
    for sr in [8_000u32, 44_100, 48_000, 96_000, 192_000, 384_000] {
        let mut n = neutral(spec, sr, &format!("rates-{sr}"));
        for schedule in &schedules {
            let what = format!("{sr} Hz, blocks {schedule:?}");
            n.instance.activate(sr as f64, 1, schedule.max_block() as u32).unwrap();
            let latency = n.instance.latency() as usize;
            if spec.package == CONVERTER.package {
                let want = voirs_shared::convert::latency_for(sr as f32, voirs_shared::convert::Mode::Live);
                assert_eq!(latency, want, "{what}: converter latency is its shifter's 10 ms");
                assert_eq!(want, (sr as usize + 50) / 100);
            }
            let frames = (sr as usize / 4).max(3 * 8192 + latency);
            let m = material(spec, in_channels(&n), frames, sr as u64);
            let out = render(&mut n.instance, &m, schedule);
            assert_all_finite(&what, &out);
            let want = n.reference(spec, &m);
            assert_bits_equal(&what, &out, &want);
            assert!(peak_all(&out) > 0.01, "{what}: the test signal came through");
            n.instance.deactivate();
        }
    }
}

/// The mono layouts: a mono input to the converter gives a mono output; to the spatializer,
/// the same signal on both ears.
fn mono_layouts(spec: PluginSpec) {
    let &(i, o) = spec.layouts.iter().find(|l| l.0 == 1).expect("effects offer a mono-in layout");
    let schedule = Schedule::varying();
    let mut n = neutral(spec, SR, "mono");
    n.instance.select_layout(i, o).unwrap();
    n.instance.activate(SR as f64, 1, schedule.max_block() as u32).unwrap();
    let a = n.instance.activation().unwrap();
    assert_eq!((a.in_channels, a.out_channels), (i as usize, o as usize));
    let m = material(spec, 1, 20_000, 3);
    let out = render(&mut n.instance, &m, &schedule);
    assert_bits_equal("mono layout", &out, &n.reference(spec, &m));
}

/// NaN and infinities in the input never reach the plugin's state: once the input is normal
/// again the output is finite (allowing the latency and a short tail), and for these neutral
/// effects the output is exactly the input with every non-finite sample replaced by 0.
fn non_finite_input(spec: PluginSpec) {
    let schedule = Schedule::varying();
    let mut n = active_neutral(spec, SR, &schedule, "nan");
    let latency = n.instance.latency() as usize;
    let frames = SR as usize / 2;
    let mut input = signal::noise(in_channels(&n), frames, 0.5, 21);
    let (b0, b1) = (9_603, 9_603 + 1_500);
    let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN];
    for ch in input.iter_mut() {
        for (k, s) in ch[b0..b1].iter_mut().enumerate() {
            // Bursts of different non-finite values with a few normal samples in between.
            if k % 7 != 3 {
                *s = bad[k % bad.len()];
            }
        }
    }
    let out = n.instance.render(Some(&input), frames, &[], &schedule).unwrap();
    let settle = b1 + latency + SR as usize / 20;
    for (c, ch) in out.iter().enumerate() {
        if let Some(i) = signal::first_non_finite(&ch[settle..]) {
            panic!("channel {c} still non-finite at frame {} after the burst ended at {b1}", settle + i);
        }
    }
    let sanitized: Vec<Vec<f32>> =
        input.iter().map(|ch| ch.iter().map(|s| if s.is_finite() { *s } else { 0.0 }).collect()).collect();
    let want = effect_reference(&sanitized, out.len(), latency);
    assert_bits_equal("output vs input with non-finite samples zeroed", &out, &want);
}

/// Silence in, silence out: exactly zero, not merely quiet (no noise floor, no denormal hiss,
/// no leftover from a previous render after reset).
fn silence(spec: PluginSpec) {
    let schedule = Schedule::Fixed(512);
    let mut n = active_neutral(spec, SR, &schedule, "silence");
    let ch = in_channels(&n);
    let frames = SR as usize / 4;
    let zeros = vec![vec![0.0f32; frames]; ch];
    let input = if ch > 0 { Some(&zeros[..]) } else { None };
    // First a loud render, then reset: what follows must not remember it.
    let loud = material(spec, ch, frames, 5);
    render(&mut n.instance, &loud, &schedule);
    n.instance.reset().unwrap();
    for pass in 0..2 {
        let out = n.instance.render(input, frames, &[], &schedule).unwrap();
        for (c, x) in out.iter().enumerate() {
            let nz = x.iter().position(|v| *v != 0.0);
            assert_eq!(nz, None, "pass {pass}, channel {c}: non-zero output {:?} for silence", nz.map(|i| x[i]));
        }
    }
}

/// The same input gives the same bits: two fresh instances, and one instance after a reset.
fn deterministic(spec: PluginSpec) {
    let schedule = Schedule::varying();
    let mut a = active_neutral(spec, SR, &schedule, "det-a");
    let m = material(spec, in_channels(&a), 30_000, 9);
    let first = render(&mut a.instance, &m, &schedule);
    a.instance.reset().unwrap();
    let after_reset = render(&mut a.instance, &m, &schedule);
    assert_bits_equal("same instance after reset", &after_reset, &first);
    let mut b = active_neutral(spec, SR, &schedule, "det-b");
    let second = render(&mut b.instance, &m, &schedule);
    assert_bits_equal("second instance", &second, &first);
}

/// Offline rendering (a bounce) gives the same output as real-time playback.
fn offline_equals_realtime(spec: PluginSpec) {
    let schedule = Schedule::Fixed(256);
    let mut outs = Vec::new();
    for mode in [RenderMode::Realtime, RenderMode::Offline] {
        let mut n = neutral(spec, SR, &format!("mode-{mode:?}"));
        n.instance.set_render_mode(mode).unwrap();
        n.instance.activate(SR as f64, 1, 256).unwrap();
        assert_eq!(n.instance.render_mode(), mode);
        let m = material(spec, in_channels(&n), 40_000, 13);
        outs.push(render(&mut n.instance, &m, &schedule));
    }
    assert_bits_equal("offline vs real-time", &outs[1], &outs[0]);
    // Switching mode on an active instance restarts it and keeps the same result.
    let mut n = active_neutral(spec, SR, &schedule, "mode-switch");
    n.instance.set_render_mode(RenderMode::Offline).unwrap();
    let m = material(spec, in_channels(&n), 40_000, 13);
    assert_bits_equal("after switching to offline while active", &render(&mut n.instance, &m, &schedule), &outs[0]);
}

/// Output Gain at −6 dB scales the neutral output by 10^(−6/20).
fn output_gain(spec: PluginSpec) {
    let schedule = Schedule::Fixed(512);
    let mut n = neutral(spec, SR, "gain");
    n.instance.set_param_text_by_name("out_gain", "-6 dB").unwrap();
    n.instance.activate(SR as f64, 1, 512).unwrap();
    let m = material(spec, in_channels(&n), 30_000, 17);
    let out = render(&mut n.instance, &m, &schedule);
    let g = 10f32.powf(-6.0 / 20.0);
    let want: Vec<Vec<f32>> = n.reference(spec, &m).iter().map(|c| c.iter().map(|v| v * g).collect()).collect();
    let err = out.iter().zip(&want).map(|(a, b)| signal::max_abs_diff(a, b)).fold(0.0, f32::max);
    assert!(peak_all(&want) > 0.05, "signal present");
    assert!(err <= 1e-6, "−6 dB output off by {err:e} (peak {})", peak_all(&want));
}

/// Output Gain automated during playback (set while active, as a DAW sends automation) glides
/// to its new value instead of jumping: no zipper or click, and the new level once settled.
fn gain_automation_is_smooth(spec: PluginSpec) {
    let schedule = Schedule::Fixed(256);
    let mut n = active_neutral(spec, SR, &schedule, "automation");
    let gain = n.instance.param("out_gain").unwrap();
    let minus6 = n.instance.text_to_value(gain.id, "-6 dB").unwrap();
    let frames = 30_000;
    let m = material(spec, in_channels(&n), frames, 23);
    let want = n.reference(spec, &m);
    let first = n.instance.render(m.input.as_deref(), 10_000, &m.events, &schedule).unwrap();
    n.instance.set_param(gain.id, minus6).unwrap();
    let rest_input: Option<Vec<Vec<f32>>> = m.input.as_ref().map(|i| i.iter().map(|c| c[10_000..].to_vec()).collect());
    let rest_events: Vec<TimedEvent> =
        m.events.iter().filter(|e| e.time >= 10_000).map(|e| TimedEvent { time: e.time - 10_000, ..*e }).collect();
    let rest = n.instance.render(rest_input.as_deref(), frames - 10_000, &rest_events, &schedule).unwrap();
    assert_eq!(n.instance.param_value(gain.id).unwrap(), minus6, "the automated value arrived");
    let g = 10f32.powf(-6.0 / 20.0);
    let settle = (SR as f32 * 0.05) as usize;
    for (c, (a, b)) in first.iter().zip(&rest).enumerate() {
        let y: Vec<f32> = a.iter().chain(b).copied().collect();
        assert_bits_equal(&format!("channel {c} before the change"), &[y[..10_000].to_vec()], &[want[c][..10_000].to_vec()]);
        let err = y[10_000 + settle..].iter().zip(&want[c][10_000 + settle..]).fold(0.0f32, |e, (o, r)| e.max((o - r * g).abs()));
        assert!(err <= 1e-6, "channel {c}: settled at −6 dB within {err:e}");
        // The gain itself, measured as y / reference: it glides (a 20 ms smoother moves it by
        // well under 0.2 % per sample) instead of jumping by 0.5.
        let g_track = mix_position(&y, &want[c], &vec![0.0; y.len()], 0.05 * signal::peak(&want[c]));
        let dg = max_position_step(&g_track[9_000..10_000 + settle]);
        eprintln!("{} channel {c}: gain glide max step {dg:.6}/sample, settled error {err:e}", spec.package);
        assert!(dg <= 0.002, "channel {c}: gain moved {dg} in one sample: it jumped");
        let known = |r: std::ops::Range<usize>| g_track[r].iter().flatten().count();
        assert!(known(9_000..10_000 + settle) > 100, "channel {c}: enough samples to measure the glide");
    }
}

/// Bypass switched on and off mid-block: a 10 ms crossfade, no click, and the latency stays.
/// Effects crossfade to their dry signal (delayed by the same latency); instruments fade to
/// silence and back. Output Gain is at −6 dB so that the processed and bypassed signals differ.
fn bypass(spec: PluginSpec) {
    let schedule = Schedule::Fixed(512);
    let frames = (SR as f32 * 0.9) as usize;
    let (t1, t2) = ((SR as f32 * 0.3) as u64 + 7, (SR as f32 * 0.6) as u64 + 3);
    let fade = (SR as f32 * 0.010) as usize + 2;

    let mut n = neutral(spec, SR, "bypass");
    if spec.package == SPEECH_TRACK.package {
        // A clip that lasts through the whole render.
        let clip = write_clip(&n.scratch.as_ref().unwrap().0, SR, 1.0, 8);
        set_clip(&mut n.instance, &clip);
        n.clip = Some(clip);
    }
    let bypass = n.instance.param("bypass").unwrap();
    n.instance.set_param_text_by_name("out_gain", "-6 dB").unwrap();
    n.instance.activate(SR as f64, 1, 512).unwrap();
    let latency = n.instance.latency();
    let before = n.instance.counters();
    let ch = in_channels(&n);

    // Effects: a smooth tone, so any step in the output is the switch's doing.
    let tone = vec![signal::sine(frames, 440.0, SR as f32, 0.5); ch];
    let (input, notes) = match spec.kind {
        PluginKind::Effect => (Some(tone), vec![]),
        PluginKind::Instrument => (None, vec![TimedEvent::note_on(2_400, 57, 1.0), TimedEvent::note_off(frames as u64 - 4_800, 57)]),
    };
    let plain = n.instance.render(input.as_deref(), frames, &notes, &schedule).unwrap();
    n.instance.reset().unwrap();
    let mut events = notes.clone();
    events.push(TimedEvent::param(t1, bypass.id, 1.0));
    events.push(TimedEvent::param(t2, bypass.id, 0.0));
    let out = n.instance.render(input.as_deref(), frames, &events, &schedule).unwrap();

    assert_eq!(n.instance.latency(), latency, "latency after toggling bypass");
    let after = n.instance.counters();
    assert_eq!(after.restart_requests, before.restart_requests, "bypass must not request a restart");
    assert_eq!(after.latency_changed, before.latency_changed, "bypass must not change latency");

    // While fully bypassed: the dry signal delayed by the same latency (effects), or silence.
    let (t1, t2) = (t1 as usize, t2 as usize);
    let bypassed_ref: Vec<Vec<f32>> = match spec.kind {
        PluginKind::Effect => effect_reference(input.as_ref().unwrap(), out.len(), latency as usize),
        PluginKind::Instrument => vec![vec![0.0; frames]; out.len()],
    };
    for (c, (y, d)) in out.iter().zip(&bypassed_ref).enumerate() {
        match spec.kind {
            PluginKind::Effect => {
                assert_bits_equal(&format!("fully bypassed, channel {c}"), &[y[t1 + fade..t2].to_vec()], &[d[t1 + fade..t2].to_vec()])
            }
            // Silence; a muted negative sample may be −0.0, which is silence too.
            PluginKind::Instrument => {
                let loud = y[t1 + fade..t2].iter().position(|v| *v != 0.0);
                assert_eq!(loud, None, "channel {c}: sound while fully bypassed");
            }
        }
        // Outside the bypass and its fades, the processed output.
        assert_bits_equal(&format!("before bypass, channel {c}"), &[y[..t1].to_vec()], &[plain[c][..t1].to_vec()]);
        assert_bits_equal(&format!("after bypass, channel {c}"), &[y[t2 + fade..].to_vec()], &[plain[c][t2 + fade..].to_vec()]);
        // No click: a linear crossfade over `fade` samples between signals p and d cannot step
        // further than either signal does plus |p - d| / fade.
        let p = &plain[c];
        let gap = p.iter().zip(d).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        let bound = signal::max_step(p).max(signal::max_step(d)) + gap / (fade - 2) as f32 * 1.01 + 1e-6;
        let step = signal::max_step(y);
        assert!(step <= bound, "channel {c}: largest step {step} exceeds the crossfade bound {bound}");
        assert!(gap > 0.1, "channel {c}: processed and bypassed signals differ enough to hear a click ({gap})");
        // The crossfade measured directly: the output's position between processed (1) and
        // bypassed (0) moves by at most one ramp step per sample, and takes 10 ms each way.
        let w = mix_position(y, p, d, 0.1 * gap);
        let ramp = 1.0 / (fade - 2) as f32;
        let dw = max_position_step(&w);
        assert!(dw <= ramp * 1.01 + 1e-4, "channel {c}: crossfade moved {dw} in one sample (one ramp step is {ramp})");
        // Fade length, measured: from the switch to the last sample still short of the target.
        let last_short_of = |from: usize, target: f32| {
            (from..from + 2 * fade).filter(|&t| w[t].is_some_and(|v| (v - target).abs() > 1e-4)).max()
        };
        let on = last_short_of(t1, 0.0).map(|t| t - t1);
        let off = last_short_of(t2, 1.0).map(|t| t - t2);
        let ten_ms = fade - 2;
        eprintln!("{} channel {c}: fades {on:?}/{off:?} samples, max step {step:.4} (bound {bound:.4}), max ramp step {dw:.6}", spec.package);
        for (what, len) in [("bypass on", on), ("bypass off", off)] {
            let len = len.unwrap_or_else(|| panic!("channel {c}: no crossfade found after {what}"));
            assert!(len + 12 >= ten_ms && len < ten_ms, "channel {c}: {what} fade lasted {len} samples, want 10 ms = {ten_ms}");
        }
    }
}

#[test]
fn speech_track_resamples_its_clip_to_the_host_rate() {
    let scratch = Scratch::new("resample");
    let clip = write_clip(&scratch.0, 24_000, 0.3, 2);
    let mut p = instance(SPEECH_TRACK);
    set_clip(&mut p, &clip);
    p.activate(SR as f64, 1, 512).unwrap();
    let events = [TimedEvent::note_on(1_000, 60, 1.0)];
    let out = p.render(None, 20_000, &events, &Schedule::Fixed(512)).unwrap();
    let want = speech_reference(&clip, SR as f32, 20_000, &events);
    // The clip is resampled 24 → 48 kHz by the same code; allow for instruction-set choices.
    let err = out.iter().zip(&want).map(|(a, b)| signal::max_abs_diff(a, b)).fold(0.0, f32::max);
    assert!(signal::dbfs(err) <= -120.0, "resampled clip off by {:.1} dBFS", signal::dbfs(err));
    assert!(peak_all(&out) > 0.1);
    // 0.3 s at 24 kHz plays for 0.3 s at 48 kHz.
    let last = out[0].iter().rposition(|v| *v != 0.0).unwrap();
    assert!((last as i64 - (1_000 + 14_400)).abs() <= 4, "clip ends at {last}");
}

#[test]
fn speech_track_with_a_missing_clip_plays_silence() {
    let scratch = Scratch::new("missing");
    let mut p = instance(SPEECH_TRACK);
    set_clip(&mut p, &scratch.0.join("does-not-exist.wav"));
    // A file that is not a WAV at all.
    let junk = scratch.0.join("junk.wav");
    std::fs::write(&junk, b"RIFF?not a wav").unwrap();
    for clip in [scratch.0.join("does-not-exist.wav"), junk] {
        set_clip(&mut p, &clip);
        p.activate(SR as f64, 1, 512).unwrap();
        let out = p.render(None, 10_000, &[TimedEvent::note_on(10, 60, 1.0)], &Schedule::Fixed(512)).unwrap();
        assert!(out.iter().all(|c| c.iter().all(|v| *v == 0.0)), "{}: silence", clip.display());
        p.deactivate();
    }
}

#[test]
fn singer_envelope_follows_attack_and_release() {
    let mut p = instance(SINGER);
    p.set_param_text_by_name("attack", "50 ms").unwrap();
    p.set_param_text_by_name("release", "300 ms").unwrap();
    p.activate(SR as f64, 1, 512).unwrap();
    let events = [TimedEvent::note_on(100, 60, 1.0), TimedEvent::note_off(12_000, 60)];
    let frames = 30_000;
    let out = p.render(None, frames, &events, &Schedule::Fixed(512)).unwrap();
    let env = voirs_shared::synth::vowel::Envelope { attack_ms: 50.0, release_ms: 300.0 };
    let want = singer_reference(SR as f32, env, frames, &events);
    let err = out.iter().zip(&want).map(|(a, b)| signal::max_abs_diff(a, b)).fold(0.0, f32::max);
    assert!(err <= 1e-4, "50/300 ms envelope off by {err:e}");
    // The release ends the note: 300 ms after note-off (12 000 + 14 400) it is silent.
    let last = out[0].iter().rposition(|v| *v != 0.0).unwrap();
    assert!((last as i64 - 26_400).abs() <= 2, "sound ends at {last}");
}

per_plugin!(latency_truth, rates_and_blocks, silence, deterministic, offline_equals_realtime, output_gain, gain_automation_is_smooth, bypass);
per_effect!(mono_layouts, non_finite_input);

/// A host may restore a session's state while the plugin is already active (Ardour does): the
/// clip the state names must play at once, without another activation, and switching to a
/// state without a clip must silence the track.
#[test]
fn speech_track_state_restored_while_active_plays_its_clip() {
    let scratch = Scratch::new("restore-active");
    let clip = write_clip(&scratch.0, 48_000, 0.2, 5);
    let mut p = instance(SPEECH_TRACK);
    p.activate(SR as f64, 1, 512).unwrap();
    let events = [TimedEvent::note_on(100, 60, 1.0)];
    let before = p.render(None, 12_000, &events, &Schedule::Fixed(512)).unwrap();
    assert_eq!(peak_all(&before), 0.0, "no clip yet");
    set_clip(&mut p, &clip);
    let out = p.render(None, 12_000, &events, &Schedule::Fixed(512)).unwrap();
    let want = speech_reference(&clip, SR as f32, 12_000, &events);
    assert_bits_equal("clip restored while active", &out, &want);
    set_clip(&mut p, std::path::Path::new(""));
    let after = p.render(None, 12_000, &events, &Schedule::Fixed(512)).unwrap();
    assert_eq!(peak_all(&after), 0.0, "a state without a clip silences the track");
}
