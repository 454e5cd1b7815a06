//! Release bundles, allocation-guard bundles, and installing bundles for DAWs.

use std::path::{Path, PathBuf};
use std::process::Command;
use voirs_tests::bundles::{self, PLUGINS};

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { bundles::workspace_root().join(d) }
        }
        _ => bundles::workspace_root().join("target"),
    }
}

/// `cargo xtask bundle-all [cargo args]`: release CLAP + VST3 bundles of all four plugins.
pub fn bundle_all(extra: &[String]) -> Result<(), String> {
    let mut args = vec!["bundle".to_owned()];
    for p in PLUGINS {
        args.push("-p".to_owned());
        args.push(p.package.to_owned());
    }
    if !extra.iter().any(|a| a == "--release" || a.starts_with("--profile")) {
        args.push("--release".to_owned());
    }
    args.extend(extra.iter().cloned());
    nice_plug_xtask::main_with_args("cargo xtask", args).map_err(|e| format!("{e:#}"))
}

/// The cdylib cargo writes for a package in `profile_dir`.
fn cdylib_path(profile_dir: &Path, package: &str) -> Result<PathBuf, String> {
    let stem = package.replace('-', "_");
    let name = if cfg!(target_os = "linux") {
        format!("lib{stem}.so")
    } else if cfg!(target_os = "windows") {
        format!("{stem}.dll")
    } else {
        return Err("bundle-guard makes single-file .clap bundles, which needs Linux or Windows \
                    (a macOS .clap is a bundle directory)"
            .to_owned());
    };
    Ok(profile_dir.join(name))
}

/// Copies via a temporary file and a rename: a test process that has the old bundle mapped
/// keeps its (unlinked) copy instead of crashing on a file rewritten under it.
fn install_file(from: &Path, to: &Path) -> Result<(), String> {
    let dir = to.parent().ok_or("destination has no directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = to.with_extension("clap.tmp");
    std::fs::copy(from, &tmp).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to).map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), to.display()))?;
    Ok(())
}

fn cargo_build_debug(packages: &[&str], features: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(bundles::workspace_root()).arg("build");
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.arg("--features").arg(features.join(","));
    eprintln!("+ cargo build -p {} --features {}", packages.join(" -p "), features.join(","));
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build failed ({status})")) }
}

/// `cargo xtask bundle-guard`: debug builds (debug assertions on, so nice-plug's allocation guard
/// is live) of every plugin with `assert_process_allocs`, as `.clap` files in
/// `target/bundled-guard/`; and the converter with its deliberate allocation (`alloc_bug`) in
/// `target/bundled-alloc-bug/`, the proof that the guard fires. Never touches `target/bundled`.
pub fn bundle_guard(extra: &[String]) -> Result<(), String> {
    if let Some(a) = extra.first() {
        return Err(format!("bundle-guard takes no arguments (got {a:?})"));
    }
    let profile_dir = target_dir().join("debug");
    let guard_dir = bundles::guard_bundle_dir();
    let bug_dir = bundles::alloc_bug_bundle_dir();
    let packages: Vec<&str> = PLUGINS.iter().map(|p| p.package).collect();

    let features: Vec<String> = packages.iter().map(|p| format!("{p}/assert_process_allocs")).collect();
    cargo_build_debug(&packages, &features)?;
    // Copy right away: the next build rewrites the converter's cdylib with the bug in it.
    for p in &packages {
        let from = cdylib_path(&profile_dir, p)?;
        let to = guard_dir.join(format!("{p}.clap"));
        install_file(&from, &to)?;
        eprintln!("{} -> {}", from.display(), to.display());
    }

    let converter = bundles::CONVERTER.package;
    let features = vec![format!("{converter}/assert_process_allocs"), format!("{converter}/alloc_bug")];
    cargo_build_debug(&[converter], &features)?;
    let from = cdylib_path(&profile_dir, converter)?;
    let to = bug_dir.join(format!("{converter}.clap"));
    install_file(&from, &to)?;
    eprintln!("{} -> {}", from.display(), to.display());
    eprintln!(
        "\nRun the host tests against the guard bundles with:\n  VOIRS_BUNDLE_DIR=target/bundled-guard VOIRS_REQUIRE_GUARD=1 cargo test -p voirs-tests --release"
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("cannot copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// `cargo xtask install [name...]`: copies release bundles from `target/bundled` — and only from
/// there — to `~/.clap` and `~/.vst3`. Debug and guard bundles are never installed.
pub fn install(names: &[String]) -> Result<(), String> {
    let src_dir = bundles::release_bundle_dir();
    let src_canon = src_dir
        .canonicalize()
        .map_err(|_| format!("{} does not exist; run `cargo xtask bundle-all` first", src_dir.display()))?;
    let home = std::env::var_os("HOME").map(PathBuf::from).ok_or("HOME is not set")?;

    let mut chosen: Vec<PathBuf> = Vec::new();
    if names.is_empty() {
        for e in std::fs::read_dir(&src_dir).map_err(|e| e.to_string())? {
            let p = e.map_err(|e| e.to_string())?.path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("clap" | "vst3")) {
                chosen.push(p);
            }
        }
    } else {
        for n in names {
            let candidates: Vec<PathBuf> = if Path::new(n).exists() {
                vec![PathBuf::from(n)]
            } else {
                let stem = bundles::find_plugin(n).map_or(n.as_str(), |p| p.package);
                ["clap", "vst3"].iter().map(|x| src_dir.join(format!("{stem}.{x}"))).filter(|p| p.exists()).collect()
            };
            if candidates.is_empty() {
                return Err(format!("no bundle named {n:?} in {}", src_dir.display()));
            }
            chosen.extend(candidates);
        }
    }
    chosen.sort();
    if chosen.is_empty() {
        return Err(format!("no .clap or .vst3 bundles in {}", src_dir.display()));
    }
    for p in &chosen {
        let canon = p.canonicalize().map_err(|e| format!("{}: {e}", p.display()))?;
        if canon.parent() != Some(src_canon.as_path()) {
            return Err(format!("refusing to install {}: only bundles in {} are installed", p.display(), src_dir.display()));
        }
        let name = canon.file_name().ok_or("bundle without a name")?;
        match canon.extension().and_then(|x| x.to_str()) {
            Some("clap") => {
                let to = home.join(".clap").join(name);
                if canon.is_dir() { copy_dir(&canon, &to)? } else { install_file(&canon, &to)? }
                println!("installed {}", to.display());
            }
            Some("vst3") => {
                let to = home.join(".vst3").join(name);
                if to.exists() {
                    std::fs::remove_dir_all(&to).map_err(|e| format!("cannot replace {}: {e}", to.display()))?;
                }
                copy_dir(&canon, &to)?;
                println!("installed {}", to.display());
            }
            _ => return Err(format!("refusing to install {}: not a .clap or .vst3 bundle", p.display())),
        }
    }
    Ok(())
}
