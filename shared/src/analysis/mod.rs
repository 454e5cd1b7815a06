//! Signal analysis: pitch tracking, spectral envelopes, and voiced test signals with known
//! answers.

pub mod envelope;
pub mod pitch;
pub mod synthetic;
