//! Plugin glue shared by the four VoiRS plugins: the editor kit (theme, level meter, an in-window
//! file chooser, the common header), the status block the audio thread publishes for the
//! editor, and versioned state migration. DSP lives in `voirs-shared`, not here.

pub mod editor;
pub mod effect;
pub mod files;
pub mod instrument;
pub mod state;
pub mod status;
pub mod ui;

pub use status::Status;

/// Vendor string and URL shown by hosts for every VoiRS plugin.
pub const VENDOR: &str = "VoiRS";
pub const URL: &str = "https://voirs.invalid";
pub const EMAIL: &str = "team@voirs.invalid";

/// Output gain range shared by every plugin, in dB.
pub const OUT_GAIN_MIN_DB: f32 = -36.0;
pub const OUT_GAIN_MAX_DB: f32 = 12.0;

use nice_plug::prelude::*;

/// The output gain parameter every plugin has: −36..+12 dB, smoothed so automation never zips.
pub fn out_gain_param() -> FloatParam {
    FloatParam::new(
        "Output Gain",
        util::db_to_gain(0.0),
        FloatRange::Skewed {
            min: util::db_to_gain(OUT_GAIN_MIN_DB),
            max: util::db_to_gain(OUT_GAIN_MAX_DB),
            factor: FloatRange::gain_skew_factor(OUT_GAIN_MIN_DB, OUT_GAIN_MAX_DB),
        },
    )
    .with_smoother(SmoothingStyle::Logarithmic(20.0))
    .with_unit(" dB")
    .with_value_to_string(formatters::v2s_f32_gain_to_db(2))
    .with_string_to_value(formatters::s2v_f32_gain_to_db())
}

/// The host-visible bypass every plugin has. Switching it crossfades; latency is unchanged.
pub fn bypass_param() -> BoolParam {
    BoolParam::new("Bypass", false).make_bypass()
}
