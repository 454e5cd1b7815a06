//! A short history of values the audio thread publishes for the editor to draw (pitch traces):
//! fixed slots of atomic floats and an atomic write position. The writer never waits; a reader
//! may see a slot from the newer or the older pass while it is being written, which a drawing
//! does not mind.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct Trace<const SERIES: usize> {
    slots: Vec<[AtomicF32; SERIES]>,
    written: AtomicUsize,
}

impl<const SERIES: usize> Trace<SERIES> {
    /// Room for the last `len` points.
    pub fn new(len: usize) -> Self {
        Self { slots: (0..len.max(1)).map(|_| std::array::from_fn(|_| AtomicF32::new(f32::NAN))).collect(), written: AtomicUsize::new(0) }
    }

    /// Audio thread: appends one point (one value per series; NaN = nothing to draw).
    #[inline]
    pub fn push(&self, values: [f32; SERIES]) {
        let n = self.written.load(Ordering::Relaxed);
        let slot = &self.slots[n % self.slots.len()];
        for (s, v) in slot.iter().zip(values) {
            s.store(v, Ordering::Relaxed);
        }
        self.written.store(n + 1, Ordering::Release);
    }

    /// Editor: the points, oldest first (fewer than the capacity until it has filled).
    pub fn snapshot(&self) -> Vec<[f32; SERIES]> {
        let n = self.written.load(Ordering::Acquire);
        let len = self.slots.len();
        let count = n.min(len);
        (n - count..n).map(|i| std::array::from_fn(|k| self.slots[i % len][k].load(Ordering::Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_points_in_order() {
        let t = Trace::<2>::new(4);
        assert!(t.snapshot().is_empty());
        for i in 0..6 {
            t.push([i as f32, -(i as f32)]);
        }
        let s = t.snapshot();
        assert_eq!(s.iter().map(|p| p[0]).collect::<Vec<_>>(), vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s[3][1], -5.0);
    }
}
