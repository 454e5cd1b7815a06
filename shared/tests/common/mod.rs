//! Shared by the model tests: where the fetched model files are, and what to do without them.

use std::path::PathBuf;

/// A file from the models folder (`cargo xtask models`). Missing: the test says so and is
/// skipped (`None`), unless VOIRS_REQUIRE_MODELS=1 (CI), where a missing model fails.
pub fn model_file(name: &str) -> Option<PathBuf> {
    let p = voirs_shared::assets::models_dir().join(name);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("VOIRS_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("{} is missing and VOIRS_REQUIRE_MODELS=1: run `cargo xtask models`", p.display());
    }
    eprintln!("skipped: {} is missing; run `cargo xtask models` to run this test", p.display());
    None
}
