//! Where the built bundles are and what each VoiRS plugin is supposed to be. The table here is
//! the product's contract with hosts (ids, kinds, ports), written down once for the tests and
//! the xtask commands.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Environment variable naming the directory the host tests load bundles from. Relative paths
/// are taken from the workspace root. Default: `target/bundled`.
pub const BUNDLE_DIR_ENV: &str = "VOIRS_BUNDLE_DIR";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// Audio in, audio out.
    Effect,
    /// Notes in, audio out.
    Instrument,
}

/// One plugin as hosts see it.
#[derive(Debug, Clone, Copy)]
pub struct PluginSpec {
    /// Cargo package, and the bundle's file stem.
    pub package: &'static str,
    /// Short name accepted by the xtask commands.
    pub short: &'static str,
    pub clap_id: &'static str,
    pub kind: PluginKind,
    /// (main input channels, main output channels) of each audio-ports configuration, in order.
    pub layouts: &'static [(u32, u32)],
}

impl PluginSpec {
    pub fn is_instrument(&self) -> bool {
        self.kind == PluginKind::Instrument
    }

    /// `<bundle dir>/<package>.clap`.
    pub fn bundle_path(&self) -> PathBuf {
        bundle_dir().join(format!("{}.clap", self.package))
    }

    /// The bundle path, or an error that says how to build it.
    pub fn require_bundle(&self) -> Result<PathBuf> {
        require_bundle_at(&self.bundle_path(), self.package)
    }
}

pub const CONVERTER: PluginSpec = PluginSpec {
    package: "voirs-converter",
    short: "converter",
    clap_id: "org.voirs.voice-converter",
    kind: PluginKind::Effect,
    layouts: &[(2, 2), (1, 1)],
};
pub const SINGER: PluginSpec = PluginSpec {
    package: "voirs-singer",
    short: "singer",
    clap_id: "org.voirs.singer",
    kind: PluginKind::Instrument,
    layouts: &[(0, 2)],
};
pub const SPATIALIZER: PluginSpec = PluginSpec {
    package: "voirs-spatializer",
    short: "spatializer",
    clap_id: "org.voirs.spatializer",
    kind: PluginKind::Effect,
    layouts: &[(2, 2), (1, 2)],
};
pub const SPEECH_TRACK: PluginSpec = PluginSpec {
    package: "voirs-speech-track",
    short: "speech-track",
    clap_id: "org.voirs.speech-track",
    kind: PluginKind::Instrument,
    layouts: &[(0, 2)],
};

pub const PLUGINS: [PluginSpec; 4] = [CONVERTER, SINGER, SPATIALIZER, SPEECH_TRACK];

/// Finds a plugin by package name, short name or CLAP id.
pub fn find_plugin(name: &str) -> Option<PluginSpec> {
    PLUGINS.into_iter().find(|p| p.package == name || p.short == name || p.clap_id == name)
}

/// The Cargo workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or_else(|| here.to_path_buf())
}

/// The directory bundles are loaded from: `$VOIRS_BUNDLE_DIR` or `target/bundled`.
pub fn bundle_dir() -> PathBuf {
    match std::env::var_os(BUNDLE_DIR_ENV) {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { workspace_root().join(d) }
        }
        _ => workspace_root().join("target/bundled"),
    }
}

/// Release bundles, as `cargo xtask bundle-all` writes them.
pub fn release_bundle_dir() -> PathBuf {
    workspace_root().join("target/bundled")
}

/// Debug bundles with the allocation guard on.
pub fn guard_bundle_dir() -> PathBuf {
    workspace_root().join("target/bundled-guard")
}

/// The debug converter that allocates in `process()` on purpose.
pub fn alloc_bug_bundle_dir() -> PathBuf {
    workspace_root().join("target/bundled-alloc-bug")
}

/// How to build whatever is expected in `dir`.
pub fn build_hint(dir: &Path) -> String {
    let root = workspace_root();
    if dir == guard_bundle_dir() || dir == alloc_bug_bundle_dir() {
        "build it with `cargo xtask bundle-guard` (debug bundles with the allocation guard)".to_owned()
    } else if dir == release_bundle_dir() {
        "build the bundles with `cargo xtask bundle-all` (or `cargo xtask bundle -p voirs-converter \
         -p voirs-singer -p voirs-spatializer -p voirs-speech-track --release`)"
            .to_owned()
    } else {
        format!(
            "{} points at {}; put the bundles there, or unset it to use {}",
            BUNDLE_DIR_ENV,
            dir.display(),
            root.join("target/bundled").display()
        )
    }
}

pub fn require_bundle_at(path: &Path, package: &str) -> Result<PathBuf> {
    if path.exists() {
        Ok(path.to_path_buf())
    } else {
        let dir = path.parent().unwrap_or(Path::new("."));
        Err(Error(format!("bundle {} for {package} is missing: {}", path.display(), build_hint(dir))))
    }
}

/// Resolves what a user typed — a path to a `.clap`, a package, a short name or a CLAP id — to a
/// bundle path and, when known, the plugin's spec.
pub fn resolve(name: &str) -> Result<(PathBuf, Option<PluginSpec>)> {
    let as_path = Path::new(name);
    if name.ends_with(".clap") || as_path.components().count() > 1 {
        if !as_path.exists() {
            return Err(Error(format!("no such bundle: {name}")));
        }
        let stem = as_path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        return Ok((as_path.to_path_buf(), find_plugin(stem)));
    }
    match find_plugin(name) {
        Some(spec) => Ok((spec.require_bundle()?, Some(spec))),
        None => Err(Error(format!(
            "unknown plugin {name:?}; use a .clap path or one of: {}",
            PLUGINS.iter().map(|p| p.short).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// nice-plug's CLAP parameter id for a string parameter id (a 31-bit multiplicative hash). Hosts
/// store automation under these numbers, so they must never change for a given string id.
pub fn clap_param_id(string_id: &str) -> u32 {
    let mut h: u32 = 0;
    for b in string_id.bytes() {
        h = h.wrapping_mul(31).wrapping_add(b as u32);
    }
    h & 0x7fff_ffff
}
