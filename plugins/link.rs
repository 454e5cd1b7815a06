//! Build script shared by the four plugin crates (each names it with `build = "../link.rs"`).
fn main() {
    // Hosts may unload a plugin library while threads that called into it (and hold its
    // thread-local destructors) live on; keeping the image mapped makes that unload harmless.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
}
