//! Signal analysis: pitch tracking, and voiced test signals with known answers.

pub mod pitch;
pub mod synthetic;
