//! Synthesis engines. `vowel` is the Singer's voice source until the lyric-driven engine lands:
//! a band-limited glottal-like source through a formant filter bank, polyphonic.

pub mod biquad;
pub mod vowel;
