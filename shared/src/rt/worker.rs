//! Hand-off between the audio thread and a worker thread (model inference, rendering).
//!
//! The audio thread submits jobs into a lock-free SPSC ring and collects results from another;
//! it never blocks, allocates or frees. Jobs carry their own buffers, which circulate between
//! the two threads, so nothing is allocated per job. The worker parks when idle and is woken by
//! an unpark (an atomic store plus a futex wake, no lock, no allocation).

use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Counters visible to the editor and tests.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub submitted: AtomicU64,
    pub completed: AtomicU64,
    /// Jobs refused because the job ring was full (the worker fell behind).
    pub refused: AtomicU64,
}

struct Shared {
    running: AtomicBool,
    stats: WorkerStats,
}

/// The audio-thread end of a worker: submit jobs, collect results.
pub struct Worker<Job: Send + 'static, Out: Send + 'static> {
    jobs: Producer<Job>,
    results: Consumer<Out>,
    thread: Thread,
    handle: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl<Job: Send + 'static, Out: Send + 'static> Worker<Job, Out> {
    /// Starts a worker thread named `name` that turns each job into a result with `run`.
    /// At most `capacity` jobs and `capacity` results are in flight.
    pub fn spawn(
        name: &str,
        capacity: usize,
        mut run: impl FnMut(Job) -> Out + Send + 'static,
    ) -> std::io::Result<Self> {
        let (jobs_tx, mut jobs_rx) = RingBuffer::<Job>::new(capacity);
        let (mut results_tx, results_rx) = RingBuffer::<Out>::new(capacity);
        let shared = Arc::new(Shared { running: AtomicBool::new(true), stats: WorkerStats::default() });
        let worker_shared = shared.clone();
        let handle = thread::Builder::new().name(name.to_owned()).spawn(move || {
            while worker_shared.running.load(Ordering::Acquire) {
                // Never take a job we could not deliver: the result ring has one slot per job
                // slot, so this only waits when the audio thread stopped collecting.
                if results_tx.slots() == 0 {
                    thread::park_timeout(Duration::from_millis(1));
                    continue;
                }
                match jobs_rx.pop() {
                    Ok(job) => {
                        let out = run(job);
                        if results_tx.push(out).is_ok() {
                            worker_shared.stats.completed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => thread::park_timeout(Duration::from_millis(5)),
                }
            }
        })?;
        Ok(Self {
            jobs: jobs_tx,
            results: results_rx,
            thread: handle.thread().clone(),
            handle: Some(handle),
            shared,
        })
    }

    /// Audio thread: hands a job over without waiting. Gives the job back if the ring is full.
    #[inline]
    pub fn try_submit(&mut self, job: Job) -> Result<(), Job> {
        match self.jobs.push(job) {
            Ok(()) => {
                self.shared.stats.submitted.fetch_add(1, Ordering::Relaxed);
                self.thread.unpark();
                Ok(())
            }
            Err(rtrb::PushError::Full(job)) => {
                self.shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                Err(job)
            }
        }
    }

    /// Audio thread: the next finished result, if one is ready.
    #[inline]
    pub fn try_recv(&mut self) -> Option<Out> {
        let out = self.results.pop().ok();
        if out.is_some() {
            // The worker may be waiting for room in the result ring.
            self.thread.unpark();
        }
        out
    }

    /// Offline rendering only: waits up to `timeout` for the next result. Never call this on a
    /// real-time path.
    pub fn recv_wait(&mut self, timeout: Duration) -> Option<Out> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(out) = self.try_recv() {
                return Some(out);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_micros(100));
        }
    }

    pub fn stats(&self) -> &WorkerStats {
        &self.shared.stats
    }
}

impl<Job: Send + 'static, Out: Send + 'static> Drop for Worker<Job, Out> {
    fn drop(&mut self) {
        self.shared.running.store(false, Ordering::Release);
        self.thread.unpark();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that carries its own buffer, as real inference jobs do.
    struct Frame {
        index: u64,
        samples: Box<[f32]>,
    }

    #[test]
    fn results_arrive_in_order_and_identical_whatever_the_scheduling() {
        let run = |mut f: Frame| {
            for s in f.samples.iter_mut() {
                *s = (*s * 2.0 + f.index as f32).sin();
            }
            f
        };
        let expected: Vec<Vec<f32>> = (0..200u64)
            .map(|i| {
                let f = run(Frame { index: i, samples: vec![i as f32 * 0.01; 64].into() });
                f.samples.to_vec()
            })
            .collect();
        let mut w = Worker::spawn("test-worker", 8, run).unwrap();
        let mut pool: Vec<Box<[f32]>> = (0..8).map(|_| vec![0.0; 64].into()).collect();
        let mut got = Vec::new();
        let mut next = 0u64;
        while got.len() < 200 {
            if next < 200 {
                if let Some(mut buf) = pool.pop() {
                    buf.fill(next as f32 * 0.01);
                    match w.try_submit(Frame { index: next, samples: buf }) {
                        Ok(()) => next += 1,
                        Err(f) => pool.push(f.samples),
                    }
                }
            }
            if let Some(f) = w.try_recv() {
                assert_eq!(f.index as usize, got.len());
                got.push(f.samples.to_vec());
                pool.push(f.samples);
            } else if next % 7 == 0 {
                thread::yield_now();
            }
        }
        assert_eq!(got, expected);
        assert_eq!(w.stats().completed.load(Ordering::Relaxed), 200);
    }

    #[test]
    fn a_slow_worker_never_blocks_the_submitter() {
        let mut w = Worker::spawn("slow", 2, |x: u32| {
            thread::sleep(Duration::from_millis(50));
            x
        })
        .unwrap();
        let mut refused = 0;
        for i in 0..10 {
            if w.try_submit(i).is_err() {
                refused += 1;
            }
        }
        // Two fit in the ring, perhaps a third once the worker took one: the rest are refused
        // immediately instead of waiting.
        assert!(refused >= 7, "refused {refused}");
        assert_eq!(w.recv_wait(Duration::from_secs(5)), Some(0));
    }
}
