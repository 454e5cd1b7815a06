//! An in-process CLAP host for the VoiRS bundles. It does what a DAW does with a plugin —
//! load the bundle, instantiate, read parameters and ports, set values, save and restore state,
//! pick realtime or offline rendering, activate, and feed it audio and notes block by block — and
//! nothing a DAW would not do. The host tests in `tests/tests/` and the `cargo xtask` render and
//! bench commands are both built on it, so it has no test-only dependencies.
//!
//! ```no_run
//! use voirs_tests::{Bundle, Schedule, RenderMode};
//! let bundle = Bundle::load("target/bundled/voirs-converter.clap").unwrap();
//! let mut plugin = bundle.instantiate("org.voirs.voice-converter").unwrap();
//! plugin.set_param_text_by_name("Output Gain", "-6 dB").unwrap();
//! plugin.set_render_mode(RenderMode::Offline).unwrap();
//! plugin.activate(48_000.0, 1, 512).unwrap();
//! let input = vec![vec![0.0f32; 48_000]; 2];
//! let out = plugin.render(Some(&input), 48_000, &[], &Schedule::Fixed(512)).unwrap();
//! ```

pub mod bundles;
pub mod error;
pub mod host;
pub mod midi;
pub mod render;
pub mod signal;
pub mod state;

pub use bundles::{PLUGINS, PluginKind, PluginSpec};
pub use clack_extensions::render::RenderMode;
pub use error::{Error, Result};
pub use host::{AudioPort, Bundle, Descriptor, HostCounters, Instance, NotePort, ParamInfo, PortsConfig};
pub use render::{EventKind, RenderSettings, Schedule, TimedEvent, render_once};
