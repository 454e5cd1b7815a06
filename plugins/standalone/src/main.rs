//! Each VoiRS plugin as a standalone program: `voirs-standalone <plugin> [options]`.
//!
//! `<plugin>` is one of `converter`, `singer`, `spatializer`, `speech-track`; the remaining
//! options are the standard standalone ones (`--backend dummy|jack|alsa|auto`, `--sample-rate`,
//! `--period-size`, `--dpi-scale`, ...; see `voirs-standalone <plugin> --help`). The editor opens
//! in its own window and audio runs until the window is closed.

use nice_plug::prelude::*;
use std::process::ExitCode;

/// The plugins this program can host, by the name given as the first argument.
const PLUGINS: &[(&str, &str)] = &[
    ("converter", "VoiRS Voice Converter"),
    ("singer", "VoiRS Singer"),
    ("spatializer", "VoiRS Spatializer"),
    ("speech-track", "VoiRS Speech Track"),
];

fn usage(program: &str) -> String {
    let mut text = format!("usage: {program} <plugin> [standalone options]\n\nplugins:\n");
    for (key, name) in PLUGINS {
        text.push_str(&format!("  {key:<14} {name}\n"));
    }
    text.push_str(&format!("\nStandalone options: {program} <plugin> --help\n"));
    text
}

fn main() -> ExitCode {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_else(|| "voirs-standalone".to_owned());
    let Some(choice) = args.next() else {
        eprint!("{}", usage(&program));
        return ExitCode::from(2);
    };
    // What nice-plug's argument parser sees: "<program> <plugin>" as the command name, then the rest.
    let forwarded = std::iter::once(format!("{program} {choice}")).chain(args);
    let ok = match choice.as_str() {
        "converter" => nice_export_standalone_with_args::<voirs_converter::VoiceConverter, _>(forwarded),
        "singer" => nice_export_standalone_with_args::<voirs_singer::Singer, _>(forwarded),
        "spatializer" => nice_export_standalone_with_args::<voirs_spatializer::Spatializer, _>(forwarded),
        "speech-track" => nice_export_standalone_with_args::<voirs_speech_track::SpeechTrack, _>(forwarded),
        "-h" | "--help" | "help" => {
            print!("{}", usage(&program));
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("unknown plugin {other:?}\n");
            eprint!("{}", usage(&program));
            return ExitCode::from(2);
        }
    };
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
