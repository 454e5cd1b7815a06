//! Proof that the allocation guard works: a converter built to allocate inside `process()`
//! (debug build, `assert_process_allocs,alloc_bug`) kills the process that renders it, while
//! the same render of the guard build without the bug completes. Renders run in a child
//! process (`voirs-probe`), because the guard aborts the whole process.
//!
//! Bundles: `cargo xtask bundle-guard`. Without them this test says so and passes, unless
//! VOIRS_REQUIRE_GUARD=1 (CI) or the host tests are running against the guard bundles.

use std::path::Path;
use std::process::{Command, Output};
use voirs_tests::bundles::{self, CONVERTER};

fn probe(bundle: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voirs-probe"))
        .arg(bundle)
        .args(["--seconds", "0.2", "--block", "256"])
        .args(extra)
        .output()
        .expect("start voirs-probe")
}

#[cfg(unix)]
fn signal_of(o: &Output) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    o.status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: &Output) -> Option<i32> {
    None
}

const SIGABRT: i32 = 6;

#[test]
fn allocation_in_process_aborts_and_the_guarded_build_runs() {
    let file = format!("{}.clap", CONVERTER.package);
    let buggy = bundles::alloc_bug_bundle_dir().join(&file);
    let guarded = bundles::guard_bundle_dir().join(&file);
    let required = std::env::var_os("VOIRS_REQUIRE_GUARD").is_some_and(|v| v == "1")
        || bundles::bundle_dir() == bundles::guard_bundle_dir();
    for b in [&buggy, &guarded] {
        if !b.exists() {
            let msg = format!("{} is missing: {}", b.display(), bundles::build_hint(b.parent().unwrap()));
            if required {
                panic!("{msg}");
            }
            eprintln!("SKIPPED allocation-guard proof: {msg} (VOIRS_REQUIRE_GUARD=1 makes this a failure)");
            return;
        }
    }

    let bad = probe(&buggy, &[]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    eprintln!("deliberate-bug build: {:?}, signal {:?}\n{stderr}", bad.status, signal_of(&bad));
    assert!(!bad.status.success(), "the allocating build rendered to the end: the guard did not fire");
    if cfg!(unix) {
        assert_eq!(signal_of(&bad), Some(SIGABRT), "the guard aborts (SIGABRT), not some other failure: {:?}", bad.status);
    }
    // It died rendering, not before: the probe prints its summary only after the render.
    assert!(bad.stdout.is_empty(), "output after the abort: {}", String::from_utf8_lossy(&bad.stdout));

    let good = probe(&guarded, &[]);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "guarded build failed: {:?}\n{}", good.status, String::from_utf8_lossy(&good.stderr));
    assert!(stdout.contains("finite=true") && stdout.contains("latency=480"), "guarded render summary: {stdout}");

    // Denoise and the VAD gate on, in both modes and at 44.1 kHz (both resamplers), with the
    // pool hand-off: the guarded build renders to the end.
    for extra in [&["--param", "denoise=On", "--param", "gate=On"][..], &["--param", "denoise=On", "--param", "gate=On", "--param", "mode=Quality (43 ms)", "--sr", "44100"][..]] {
        let run = probe(&guarded, extra);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "guarded build with {extra:?} failed: {:?}\n{}", run.status, String::from_utf8_lossy(&run.stderr));
        assert!(stdout.contains("finite=true"), "guarded render summary with {extra:?}: {stdout}");
        eprintln!("guarded, {extra:?}: {stdout}");
    }
}
