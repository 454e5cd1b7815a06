//! Renders one bundle in a process of its own and prints what came out.
//!
//! `voirs-probe <bundle.clap> [--seconds S] [--sr N] [--block N] [--param id=text ...]`
//!
//! Effects get seeded noise, instruments a few notes. The allocation-guard test runs this so
//! that a bundle which aborts (as the guard makes it do on a real-time allocation) takes down
//! only this process, whose exit status the test then inspects.

use std::process::ExitCode;
use voirs_tests::render::{RenderSettings, Schedule, TimedEvent};
use voirs_tests::signal;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(bundle) = args.first().cloned() else {
        eprintln!("usage: voirs-probe <bundle.clap> [--seconds S] [--sr N] [--block N] [--param id=text ...]");
        return ExitCode::from(2);
    };
    let opt = |name: &str, default: f64| -> f64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sr = opt("--sr", 48_000.0);
    let block = opt("--block", 512.0) as usize;
    let frames = (opt("--seconds", 0.5) * sr) as usize;

    let mut settings = RenderSettings::new(&bundle, sr, Schedule::Fixed(block));
    // Parameters set before activation, so stages that change the latency are built from the start.
    for (i, a) in args.iter().enumerate() {
        if a == "--param"
            && let Some((id, text)) = args.get(i + 1).and_then(|v| v.split_once('='))
        {
            settings.params_text.push((id.to_owned(), text.to_owned()));
        }
    }
    let mut plugin = match settings.instantiate() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("voirs-probe: {e}");
            return ExitCode::from(3);
        }
    };
    let channels = plugin.activation().map_or(0, |a| a.in_channels);
    let latency = plugin.latency();
    let input = signal::noise(channels, frames, 0.5, 1);
    let notes = [TimedEvent::note_on(100, 60, 0.8), TimedEvent::note_off((frames / 2) as u64, 60)];
    let result = if channels > 0 {
        plugin.render(Some(&input), frames, &[], &settings.schedule)
    } else {
        plugin.render(None, frames, &notes, &settings.schedule)
    };
    match result {
        Ok(output) => {
            let finite = output.iter().all(|c| c.iter().all(|v| v.is_finite()));
            let peak = output.iter().map(|c| signal::peak(c)).fold(0.0f32, f32::max);
            println!("frames={frames} channels={} latency={latency} peak={peak} finite={finite}", output.len());
            if finite { ExitCode::SUCCESS } else { ExitCode::from(4) }
        }
        Err(e) => {
            eprintln!("voirs-probe: {e}");
            ExitCode::from(3)
        }
    }
}
