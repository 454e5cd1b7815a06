//! Publishing a new object (a loaded clip, a model, an HRTF set) to the audio thread without
//! locks, and getting the replaced one back so it is freed on the publishing thread, never on
//! the audio thread.

use rtrb::{Consumer, Producer, RingBuffer};

/// Non-real-time side: publishes new values and frees retired ones.
pub struct Publisher<T> {
    fresh: Producer<Box<T>>,
    retired: Consumer<Box<T>>,
}

/// Audio-thread side: holds the current value and swaps in newer ones.
pub struct Subscriber<T> {
    fresh: Consumer<Box<T>>,
    retired: Producer<Box<T>>,
    current: Option<Box<T>>,
}

/// Values that can be in flight at once. Publishing more than this before the audio thread
/// picks them up fails (the caller keeps the value and may retry).
const IN_FLIGHT: usize = 4;

/// A connected publisher/subscriber pair, initially holding `initial`.
pub fn channel<T: Send>(initial: Option<Box<T>>) -> (Publisher<T>, Subscriber<T>) {
    let (fresh_tx, fresh_rx) = RingBuffer::new(IN_FLIGHT);
    // Every fresh value can retire one old value: room for all of them plus the initial one.
    let (retired_tx, retired_rx) = RingBuffer::new(IN_FLIGHT + 1);
    (
        Publisher { fresh: fresh_tx, retired: retired_rx },
        Subscriber { fresh: fresh_rx, retired: retired_tx, current: initial },
    )
}

impl<T: Send> Publisher<T> {
    /// Hands `value` to the audio thread. Frees values the audio thread has retired.
    pub fn publish(&mut self, value: Box<T>) -> Result<(), Box<T>> {
        self.collect();
        self.fresh.push(value).map_err(|rtrb::PushError::Full(v)| v)
    }

    /// Frees retired values here, on the calling (non-real-time) thread.
    pub fn collect(&mut self) -> usize {
        let mut n = 0;
        while let Ok(old) = self.retired.pop() {
            drop(old);
            n += 1;
        }
        n
    }
}

impl<T: Send> Subscriber<T> {
    /// Audio thread: swaps in the newest published value, if any. Never allocates or frees.
    /// Returns true when the value changed.
    #[inline]
    pub fn poll(&mut self) -> bool {
        let mut changed = false;
        while let Ok(new) = self.fresh.pop() {
            if let Some(old) = self.current.replace(new) {
                // The retire ring has room for every value that can be in flight plus one, and
                // the publisher empties it before each publish, so this cannot fail; if it ever
                // did, leaking is better than freeing on the audio thread.
                if let Err(rtrb::PushError::Full(old)) = self.retired.push(old) {
                    std::mem::forget(old);
                }
            }
            changed = true;
        }
        changed
    }

    #[inline]
    pub fn current(&self) -> Option<&T> {
        self.current.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counted(Arc<AtomicUsize>, u32);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn replaced_values_are_freed_by_the_publisher_not_the_subscriber() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = channel(Some(Box::new(Counted(drops.clone(), 0))));
        for i in 1..=10 {
            tx.publish(Box::new(Counted(drops.clone(), i))).ok().unwrap();
            assert!(rx.poll());
            assert_eq!(rx.current().unwrap().1, i);
            // The subscriber swapped, but nothing was dropped on its side.
            assert_eq!(drops.load(Ordering::SeqCst), i as usize - 1);
        }
        assert_eq!(tx.collect(), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 10);
        assert!(!rx.poll());
    }

    #[test]
    fn publishing_faster_than_polling_is_refused_not_lost() {
        let (mut tx, mut rx) = channel::<u32>(None);
        for i in 0..IN_FLIGHT as u32 {
            tx.publish(Box::new(i)).ok().unwrap();
        }
        let refused = tx.publish(Box::new(99)).unwrap_err();
        assert_eq!(*refused, 99);
        rx.poll();
        assert_eq!(rx.current(), Some(&(IN_FLIGHT as u32 - 1)));
    }
}
