//! Process-wide inference pool. Every plugin instance that runs a model gets a [`Lane`]: a job
//! ring and a result ring, but the threads behind all
//! lanes are one capped pool, so ten instances on a 4-core machine do not start ten inference
//! threads. A lane's jobs are run one at a time, in order. The audio thread only pushes, pops and
//! unparks: no lock, no allocation, no wait.

use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Work a pool thread can do for one lane.
trait LaneWork: Send + Sync {
    /// Runs at most one pending job; true if it did.
    fn run_one(&self) -> bool;
    /// Jobs whose results have been delivered.
    fn completed(&self) -> u64;
}

struct LaneWorker<Job, Out, F> {
    // Only pool threads touch this lock, and only with try_lock: the audio thread never sees it.
    inner: Mutex<(Consumer<Job>, Producer<Out>, F)>,
    completed: AtomicU64,
}

impl<Job: Send, Out: Send, F: FnMut(Job) -> Out + Send> LaneWork for LaneWorker<Job, Out, F> {
    fn run_one(&self) -> bool {
        let Ok(mut guard) = self.inner.try_lock() else { return false };
        let (jobs, results, run) = &mut *guard;
        // Never take a job whose result could not be delivered.
        if results.slots() == 0 {
            return false;
        }
        match jobs.pop() {
            Ok(job) => {
                let out = run(job);
                if results.push(out).is_ok() {
                    self.completed.fetch_add(1, Ordering::Release);
                }
                true
            }
            Err(_) => false,
        }
    }

    fn completed(&self) -> u64 {
        self.completed.load(Ordering::Acquire)
    }
}

struct PoolInner {
    lanes: Mutex<Vec<Weak<dyn LaneWork>>>,
    threads: OnceLock<Vec<Thread>>,
    next_wake: AtomicUsize,
    running: AtomicBool,
}

impl PoolInner {
    #[inline]
    fn wake_one(&self) {
        if let Some(threads) = self.threads.get() {
            let i = self.next_wake.fetch_add(1, Ordering::Relaxed) % threads.len();
            threads[i].unpark();
        }
    }
}

/// A pool of inference threads shared by every lane.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
    _stop: Arc<StopOnDrop>,
}

/// Stops the pool's threads when the last `Pool` clone goes (the threads themselves hold the
/// shared state, so it cannot stop them by being dropped).
struct StopOnDrop(Arc<PoolInner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
        for t in self.0.threads.get().into_iter().flatten() {
            t.unpark();
        }
    }
}

/// How many inference threads the process-wide pool starts: all cores but one (left to the
/// host's audio thread), at least one; `VOIRS_INFERENCE_THREADS` overrides.
pub fn default_thread_count() -> usize {
    if let Some(n) = std::env::var("VOIRS_INFERENCE_THREADS").ok().and_then(|v| v.parse::<usize>().ok()) {
        return n.max(1);
    }
    thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).max(1)
}

impl Pool {
    /// The process-wide pool every plugin instance shares.
    pub fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool::new("voirs-inference", default_thread_count()))
    }

    /// A separate pool (tests, benchmarks). Its threads stop when the last clone is dropped.
    pub fn new(name: &str, threads: usize) -> Pool {
        let inner = Arc::new(PoolInner {
            lanes: Mutex::new(Vec::new()),
            threads: OnceLock::new(),
            next_wake: AtomicUsize::new(0),
            running: AtomicBool::new(true),
        });
        let handles: Vec<Thread> = (0..threads.max(1))
            .map(|i| {
                let inner = inner.clone();
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || pool_thread(inner))
                    .expect("spawn inference thread")
                    .thread()
                    .clone()
            })
            .collect();
        let _ = inner.threads.set(handles);
        Pool { inner: inner.clone(), _stop: Arc::new(StopOnDrop(inner)) }
    }

    pub fn threads(&self) -> usize {
        self.inner.threads.get().map_or(0, Vec::len)
    }

    /// Opens a lane whose jobs are turned into results by `run`, with `capacity` jobs and
    /// results in flight. Call off the audio thread.
    pub fn lane<Job, Out, F>(&self, capacity: usize, run: F) -> Lane<Job, Out>
    where
        Job: Send + 'static,
        Out: Send + 'static,
        F: FnMut(Job) -> Out + Send + 'static,
    {
        let (jobs_tx, jobs_rx) = RingBuffer::<Job>::new(capacity);
        let (results_tx, results_rx) = RingBuffer::<Out>::new(capacity);
        let work: Arc<LaneWorker<Job, Out, F>> =
            Arc::new(LaneWorker { inner: Mutex::new((jobs_rx, results_tx, run)), completed: AtomicU64::new(0) });
        let dyn_work: Arc<dyn LaneWork> = work.clone();
        self.inner.lanes.lock().expect("pool lanes").push(Arc::downgrade(&dyn_work));
        Lane { jobs: jobs_tx, results: results_rx, pool: self.inner.clone(), _work: dyn_work, submitted: 0, refused: 0 }
    }
}

fn pool_thread(inner: Arc<PoolInner>) {
    let mut lanes: Vec<Arc<dyn LaneWork>> = Vec::new();
    while inner.running.load(Ordering::Acquire) {
        lanes.clear();
        if let Ok(mut all) = inner.lanes.lock() {
            all.retain(|w| w.strong_count() > 0);
            lanes.extend(all.iter().filter_map(Weak::upgrade));
        }
        let mut did_work = false;
        for lane in &lanes {
            while lane.run_one() {
                did_work = true;
            }
        }
        if !did_work {
            thread::park_timeout(Duration::from_millis(2));
        }
    }
}

/// One instance's connection to the pool. Owned by the audio thread.
pub struct Lane<Job, Out> {
    jobs: Producer<Job>,
    results: Consumer<Out>,
    pool: Arc<PoolInner>,
    // Keeps the worker side alive; the pool only holds a weak reference, so dropping the lane
    // (off the audio thread) retires it.
    _work: Arc<dyn LaneWork>,
    submitted: u64,
    refused: u64,
}

impl<Job: Send + 'static, Out: Send + 'static> Lane<Job, Out> {
    /// Audio thread: hands a job to the pool without waiting; gives it back if the lane is full.
    #[inline]
    pub fn try_submit(&mut self, job: Job) -> Result<(), Job> {
        match self.jobs.push(job) {
            Ok(()) => {
                self.submitted += 1;
                self.pool.wake_one();
                Ok(())
            }
            Err(rtrb::PushError::Full(job)) => {
                self.refused += 1;
                Err(job)
            }
        }
    }

    /// Audio thread: the next finished result, in submission order, if ready.
    #[inline]
    pub fn try_recv(&mut self) -> Option<Out> {
        self.results.pop().ok()
    }

    /// Offline rendering only: waits up to `timeout` for the next result.
    pub fn recv_wait(&mut self, timeout: Duration) -> Option<Out> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(out) = self.results.pop() {
                return Some(out);
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.pool.wake_one();
            thread::sleep(Duration::from_micros(100));
        }
    }

    pub fn submitted(&self) -> u64 {
        self.submitted
    }

    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Jobs submitted whose results the worker has not delivered yet.
    pub fn in_flight(&self) -> u64 {
        self.submitted.saturating_sub(self._work.completed())
    }
}

/// One loaded copy of each model per process: every instance asking for the same key gets the
/// same `Arc` while any instance still holds it. Loading happens on the caller's thread (never
/// the audio thread); a second caller asking while the first loads waits for it.
pub mod models {
    use std::any::Any;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};

    type Slot = Arc<Mutex<Weak<dyn Any + Send + Sync>>>;

    fn table() -> &'static Mutex<HashMap<String, Slot>> {
        static TABLE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
        TABLE.get_or_init(Default::default)
    }

    /// The shared copy for `key`, loading it with `load` if no instance holds one.
    pub fn shared<T, E>(key: &str, load: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E>
    where
        T: Send + Sync + 'static,
    {
        let slot = table().lock().expect("model table").entry(key.to_owned()).or_insert_with(|| {
            let empty: Weak<dyn Any + Send + Sync> = Weak::<()>::new();
            Arc::new(Mutex::new(empty))
        }).clone();
        // Per-key lock: loading one model does not hold up another.
        let mut weak = slot.lock().expect("model slot");
        if let Some(model) = weak.upgrade().and_then(|m| m.downcast::<T>().ok()) {
            return Ok(model);
        }
        let model = Arc::new(load()?);
        let erased: Arc<dyn Any + Send + Sync> = model.clone();
        *weak = Arc::downgrade(&erased);
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lane_gets_its_results_in_order_from_a_one_thread_pool() {
        let pool = Pool::new("test-pool", 1);
        let mut lanes: Vec<Lane<u64, u64>> = (0..3u64).map(|k| pool.lane(4, move |x: u64| x * 1000 + k)).collect();
        let mut got = vec![Vec::new(); 3];
        let mut next = [0u64; 3];
        while got.iter().any(|g| g.len() < 50) {
            for (k, lane) in lanes.iter_mut().enumerate() {
                if next[k] < 50 && lane.try_submit(next[k]).is_ok() {
                    next[k] += 1;
                }
                if let Some(r) = lane.try_recv() {
                    got[k].push(r);
                }
            }
            thread::yield_now();
        }
        for (k, g) in got.iter().enumerate() {
            assert_eq!(*g, (0..50).map(|x| x * 1000 + k as u64).collect::<Vec<_>>());
        }
        assert_eq!(pool.threads(), 1);
    }

    #[test]
    fn the_same_model_key_loads_once_while_held() {
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let load = || {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(vec![1.0f32; 16])
        };
        let a = models::shared("test-model-a", load).unwrap();
        let b = models::shared("test-model-a", load).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        drop((a, b));
        let _c = models::shared("test-model-a", load).unwrap();
        assert_eq!(loads.load(Ordering::SeqCst), 2, "reloaded after every holder dropped it");
    }
}
