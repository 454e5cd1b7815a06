//! Where model weights and data live on this machine. `cargo xtask models` fills this folder
//! (with a `manifest.json` of provenance and licences); engines load from it off the audio
//! thread.

use std::path::PathBuf;

/// Environment variable that overrides the models folder.
pub const MODELS_DIR_ENV: &str = "VOIRS_MODELS_DIR";

/// The models folder: `$VOIRS_MODELS_DIR`, else `$XDG_DATA_HOME/voirs/models`, else
/// `~/.local/share/voirs/models`.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("voirs/models")
}
