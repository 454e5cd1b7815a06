//! The audio-thread paths of the shared engines, run under a global allocator that fails the
//! test if the current thread allocates or frees while a guard is held. (The plugins get the same
//! check from nice-plug's `assert_process_allocs` in the host tests; this covers the engines
//! directly, including the worker hand-off.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;
use voirs_shared::clip::{Clip, ClipPlayer};
use voirs_shared::convert::{ConverterEngine, Mode};
use voirs_shared::rt::drywet::DryWet;
use voirs_shared::rt::lookahead::Lookahead;
use voirs_shared::rt::pool::Pool;
use voirs_shared::rt::swap;
use voirs_shared::synth::vowel::{Envelope, VowelSynth};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    static VIOLATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Checking;

unsafe impl GlobalAlloc for Checking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note() {
    let _ = GUARDED.try_with(|g| {
        if g.get() {
            VIOLATIONS.with(|v| v.set(v.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOC: Checking = Checking;

/// Runs `f` as the audio thread would and returns how many allocations or frees it made.
fn allocations_in(f: impl FnOnce()) -> usize {
    VIOLATIONS.with(|v| v.set(0));
    GUARDED.with(|g| g.set(true));
    f();
    GUARDED.with(|g| g.set(false));
    VIOLATIONS.with(|v| v.get())
}

#[test]
fn effect_paths_do_not_allocate() {
    for mode in [Mode::Live, Mode::Quality] {
        for pitch in [0.0, 7.0] {
            let mut conv = ConverterEngine::new(2, 48_000.0, mode);
            conv.set_pitch(pitch, 0.0);
            conv.set_correction(pitch != 0.0, 2, voirs_shared::convert::correct::Scale::Minor, 30.0, 0.5);
            conv.set_voice(if pitch != 0.0 { voirs_shared::convert::Voice::Whisper } else { voirs_shared::convert::Voice::Robot });
            conv.settle();
            let mut dw = DryWet::new(2, 2, 4096, conv.latency_samples(), 48_000.0, false);
            let mut l: Vec<f32> = (0..4096).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
            let mut r = vec![f32::NAN; 4096];
            let gain = vec![0.5f32; 4096];
            let n = allocations_in(|| {
                for size in [1usize, 17, 64, 512, 4096] {
                    let mut io: [&mut [f32]; 2] = [&mut l[..size], &mut r[..size]];
                    dw.capture(&mut io);
                    conv.set_pitch(pitch - 1.0, 30.0);
                    conv.process(&mut io);
                    dw.mix(&mut io, &gain[..size], size == 64);
                }
            });
            assert_eq!(n, 0, "{mode:?}, pitch {pitch}");
        }
    }
}

/// A voice, not a test tone: the shifters' voiced paths (the vocoder's harmonic fit and lobes,
/// the grains and the spliced reader) from the first frame on, formants kept, moved along and
/// moved on their own. The tracker must call the voice voiced, or this would not test them.
#[test]
fn voiced_shifting_does_not_allocate() {
    use voirs_shared::analysis::synthetic::{Envelope as Formants, MALE_AH, track, voice};
    let sr = 48_000.0;
    let x = voice(sr, &track::glide(sr, 0.6, 110.0, 160.0), &Formants::new(&MALE_AH), 0.5);
    for mode in [Mode::Live, Mode::Quality] {
        for (pitch, formant) in [(-5.0, 0.0), (7.0, 7.0), (3.0, -4.0)] {
            let mut conv = ConverterEngine::new(2, sr as f32, mode);
            conv.set_pitch(pitch, 0.0);
            conv.set_formant(formant);
            conv.settle();
            let (mut l, mut r) = (x.clone(), x.clone());
            let n = allocations_in(|| {
                for (a, b) in l.chunks_mut(256).zip(r.chunks_mut(256)) {
                    let mut io: [&mut [f32]; 2] = [a, b];
                    conv.process(&mut io);
                }
            });
            assert_eq!(n, 0, "{mode:?}, pitch {pitch:+}, formant {formant:+}");
            assert!(conv.input_estimate().voiced, "{mode:?}: the voice was not tracked as voiced");
        }
    }
}

/// Denoise and the VAD gate on the audio thread: resampling, the hand-off to the pool and the
/// gate never allocate, at 44.1 kHz (both resamplers) and 48 kHz, in every block size; with
/// silero when the build has it and the model is installed.
#[test]
fn denoise_and_gate_do_not_allocate() {
    use voirs_shared::convert::{denoise::Denoise, gate::{self, Gate}};
    for sr in [44_100.0f32, 48_000.0] {
        let mut dn = Denoise::new(2, sr, false);
        dn.set_amount(0.7);
        let mut g = Gate::new(2, sr, false, gate::load_silero().ok());
        let mut l: Vec<f32> = (0..8192).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let mut r = l.clone();
        let n = allocations_in(|| {
            for _ in 0..4 {
                for size in [1usize, 17, 64, 512, 4096, 8192] {
                    let mut io: [&mut [f32]; 2] = [&mut l[..size], &mut r[..size]];
                    dn.process(&mut io);
                    g.set(gate::Settings { threshold: 0.4, ..gate::Settings::default() });
                    g.process(&mut io);
                }
            }
        });
        assert_eq!(n, 0, "{sr} Hz");
    }
}

#[test]
fn instrument_paths_do_not_allocate() {
    let mut synth = VowelSynth::new(44_100.0);
    let mut player = ClipPlayer::new(44_100.0);
    let clip = Clip { left: vec![0.2; 10_000], right: vec![0.2; 10_000], sample_rate: 44_100.0, source: Default::default() };
    let (mut a, mut b) = (vec![0.0f32; 512], vec![0.0f32; 512]);
    let env = Envelope { attack_ms: 5.0, release_ms: 50.0 };
    let n = allocations_in(|| {
        for note in 40..60 {
            synth.note_on(note, 0.7);
            player.note_on(note, 0.7);
            synth.render_add(&mut a, env);
            player.render_add(Some(&clip), &mut a, &mut b);
            synth.note_off(note);
            player.note_off(note);
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn publishing_to_the_audio_thread_frees_nothing_there() {
    let (mut tx, mut rx) = swap::channel(Some(Box::new(vec![0.0f32; 1000])));
    for i in 0..3 {
        tx.publish(Box::new(vec![i as f32; 1000])).ok().unwrap();
        assert_eq!(allocations_in(|| assert!(rx.poll())), 0);
    }
}

#[test]
fn pool_hand_off_does_not_allocate_on_the_submitting_thread() {
    // Jobs carry preallocated buffers, as inference jobs do.
    let pool = Pool::new("noalloc-pool", 1);
    let mut la = Lookahead::new(&pool, 64, 2, |mut b: Box<[f32]>| {
        b.iter_mut().for_each(|x| *x *= 2.0);
        b
    });
    let mut spare: Vec<Box<[f32]>> = (0..8).map(|_| vec![1.0f32; 64].into_boxed_slice()).collect();
    spare.reserve(64);
    let mut got = 0;
    for k in 0..20u64 {
        let n = allocations_in(|| {
            if let Some(b) = spare.pop() {
                if let Err(b) = la.submit(b) {
                    spare.push(b);
                }
            }
            if k >= 2 {
                let mut recycled = Vec::new();
                std::mem::swap(&mut recycled, &mut spare);
                if let Some(b) = la.take(k - 2, |b| recycled.push(b)) {
                    recycled.push(b);
                    got += 1;
                }
                std::mem::swap(&mut recycled, &mut spare);
            }
        });
        assert_eq!(n, 0, "frame {k}");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(got > 0, "the pool answered");
}

#[test]
fn the_checker_sees_a_deliberate_allocation() {
    assert_eq!(allocations_in(|| drop(std::hint::black_box(vec![1u8; 16]))), 2, "one alloc, one free");
}

#[test]
fn pitch_tracker_does_not_allocate() {
    use voirs_shared::analysis::pitch::PitchTracker;
    for sr in [8_000.0f32, 48_000.0, 384_000.0] {
        let mut t = PitchTracker::new(sr, 60.0, 1000.0);
        let input: Vec<f32> = (0..sr as usize / 2).map(|i| (std::f32::consts::TAU * 150.0 * i as f32 / sr).sin()).collect();
        let mut estimates = 0;
        let n = allocations_in(|| {
            for &x in &input {
                estimates += t.push(x) as usize;
            }
        });
        assert_eq!(n, 0, "{sr} Hz: the tracker allocated {n} times");
        assert!(estimates > 100 && t.latest().voiced && (t.latest().f0 - 150.0).abs() < 0.5, "{sr} Hz: {:?}", t.latest());
    }
}

#[test]
fn pitch_shifter_does_not_allocate() {
    use voirs_shared::convert::psola::Psola;
    for sr in [8_000.0f32, 48_000.0, 384_000.0] {
        let mut p = Psola::new(2, sr);
        let n = sr as usize / 2;
        let mut l: Vec<f32> = (0..n).map(|i| (std::f32::consts::TAU * 150.0 * i as f32 / sr).sin() * 0.5).collect();
        let mut r = l.clone();
        let mut count = 0;
        for semitones in [7.0f32, -12.0, 24.0, 0.0] {
            p.set_semitones(semitones);
            count += allocations_in(|| {
                for (a, b) in l.chunks_mut(97).zip(r.chunks_mut(97)) {
                    p.process(&mut [a, b]);
                }
            });
        }
        assert_eq!(count, 0, "{sr} Hz: the shifter allocated {count} times");
    }
}
