//! `cargo xtask test`: every test the project has, in the order that builds each artefact once.
//! This is the README's test command and what CI runs. Each stage prints its wall time.

use std::process::Command;
use std::time::Instant;

fn run(stage: &str, cmd: &mut Command) -> Result<(), String> {
    let t = Instant::now();
    eprintln!("\n=== xtask test: {stage}\n    {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{stage}: could not start {cmd:?}: {e}"))?;
    eprintln!("=== xtask test: {stage} took {:.0} s", t.elapsed().as_secs_f64());
    if status.success() { Ok(()) } else { Err(format!("{stage} failed ({status})")) }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn xtask(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("xtask path"));
    c.args(args);
    c
}

pub fn test(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`cargo xtask test` takes no arguments (got {a:?})"));
    }
    let total = Instant::now();
    // Engine and glue unit tests (debug, dependencies optimised), with the neural models: their
    // parity tests need `cargo xtask models` and say so when skipped (CI makes that an error).
    run("unit tests", cargo().args(["test", "-p", "voirs-shared", "-p", "voirs-kit", "--features", "voirs-shared/neural"]))?;
    // The tooling's own tests (model fetching, hashing), in the profile xtask already runs in.
    run("xtask tests", cargo().args(["test", "--release", "-p", "xtask"]))?;
    // The bundles the host tests load: release for users, debug + allocation guard for the proof.
    run("release bundles", &mut xtask(&["bundle-all"]))?;
    run("allocation-guard bundles", &mut xtask(&["bundle-guard"]))?;
    // The standalone hosts each editor for the screenshot tests.
    run("standalone build", cargo().args(["build", "--release", "-p", "voirs-standalone"]))?;
    // Host tests, DAW and GUI tests against the release bundles.
    run("host tests (release bundles)", cargo().args(["test", "--release", "-p", "voirs-tests"]))?;
    // The Voice Converter against Rubber Band R3 (rubberband-cli, Praat via parselmouth): where
    // the benchmarks say it follows the pitch at least as closely, it still does.
    run("converter vs Rubber Band R3", &mut xtask(&["compare-rubberband", "--check"]))?;
    // The same host tests against the allocation-guard bundles: any allocation in process()
    // aborts the test process.
    run(
        "host tests (allocation-guard bundles)",
        cargo()
            .args(["test", "--release", "-p", "voirs-tests", "--test", "audio", "--test", "state", "--test", "plugin_info", "--test", "converter"])
            .env("VOIRS_BUNDLE_DIR", "target/bundled-guard")
            .env("VOIRS_GUARD_RUN", "1"),
    )?;
    eprintln!("\n=== xtask test: all stages passed in {:.0} s", total.elapsed().as_secs_f64());
    Ok(())
}
