//! Guards against non-finite audio: a NaN or infinity from the host must never enter engine
//! state (filters, delay lines), or it would poison the output long after the input is normal.
//! Called on the audio thread: no allocation.

/// Replaces every non-finite sample with 0 and returns how many were replaced.
#[inline]
pub fn sanitize_block(samples: &mut [f32]) -> usize {
    let mut replaced = 0;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
            replaced += 1;
        }
    }
    replaced
}

/// Returns `x` if finite, else 0.
#[inline]
pub fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_nan_and_infinities_only() {
        let mut x = [1.0, f32::NAN, -2.0, f32::INFINITY, f32::NEG_INFINITY, 0.5];
        assert_eq!(sanitize_block(&mut x), 3);
        assert_eq!(x, [1.0, 0.0, -2.0, 0.0, 0.0, 0.5]);
    }
}
