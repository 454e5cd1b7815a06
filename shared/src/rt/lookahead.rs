//! Running a model with lookahead: frame `k` is submitted to the inference pool as soon as its
//! input is complete, and its result is needed `lookahead_frames` frames later. The plugin
//! reports that wait as latency. A result that is not back in time is replaced by the caller's
//! fallback (a DSP estimate) and counted; when it does arrive it is handed back for recycling,
//! never freed on the audio thread. Offline rendering waits instead (`take_wait`).

use super::pool::{Lane, Pool};
use std::time::Duration;

/// A job or result tagged with the frame it belongs to.
pub struct Tagged<T> {
    pub frame: u64,
    pub value: T,
}

pub struct Lookahead<J: Send + 'static, O: Send + 'static> {
    lane: Lane<Tagged<J>, Tagged<O>>,
    lookahead_frames: u64,
    hop_samples: usize,
    next_frame: u64,
    /// A result that came back for a frame not yet due (kept until it is).
    early: Option<Tagged<O>>,
    late: u64,
    on_time: u64,
}

impl<J: Send + 'static, O: Send + 'static> Lookahead<J, O> {
    /// Frames of `hop_samples`, results due `lookahead_frames` frames after submission.
    pub fn new(pool: &Pool, hop_samples: usize, lookahead_frames: u64, mut run: impl FnMut(J) -> O + Send + 'static) -> Self {
        let capacity = lookahead_frames as usize + 2;
        Self {
            lane: pool.lane(capacity, move |job: Tagged<J>| Tagged { frame: job.frame, value: run(job.value) }),
            lookahead_frames,
            hop_samples,
            next_frame: 0,
            early: None,
            late: 0,
            on_time: 0,
        }
    }

    /// The latency this adds, to report to the host.
    pub fn latency_samples(&self) -> usize {
        self.lookahead_frames as usize * self.hop_samples
    }

    /// Audio thread: submits the next frame's job; gives it back if the pool is saturated (the
    /// caller then treats that frame as late).
    pub fn submit(&mut self, job: J) -> Result<u64, J> {
        let frame = self.next_frame;
        self.next_frame += 1;
        self.lane.try_submit(Tagged { frame, value: job }).map(|()| frame).map_err(|t| t.value)
    }

    /// Audio thread: the result for `frame` if it is back. `None` means use the fallback; it is
    /// counted as late. Results for earlier frames that arrive now are passed to `recycle`.
    pub fn take(&mut self, frame: u64, mut recycle: impl FnMut(O)) -> Option<O> {
        let out = self.find(frame, &mut recycle, None);
        if out.is_some() { self.on_time += 1 } else { self.late += 1 }
        out
    }

    /// Offline rendering: waits (up to `timeout`) for the result of `frame`.
    pub fn take_wait(&mut self, frame: u64, timeout: Duration, mut recycle: impl FnMut(O)) -> Option<O> {
        let out = self.find(frame, &mut recycle, Some(timeout));
        if out.is_some() { self.on_time += 1 } else { self.late += 1 }
        out
    }

    fn find(&mut self, frame: u64, recycle: &mut impl FnMut(O), wait: Option<Duration>) -> Option<O> {
        loop {
            let next = match self.early.take() {
                Some(r) => Some(r),
                None => match wait {
                    Some(t) => self.lane.recv_wait(t),
                    None => self.lane.try_recv(),
                },
            };
            let r = next?;
            if r.frame == frame {
                return Some(r.value);
            }
            if r.frame > frame {
                self.early = Some(r);
                return None;
            }
            recycle(r.value);
        }
    }

    /// Frames whose result was not back in time.
    pub fn late(&self) -> u64 {
        self.late
    }

    pub fn on_time(&self) -> u64 {
        self.on_time
    }

    /// Frames submitted whose results the worker has not produced yet.
    pub fn pending(&self) -> u64 {
        self.lane.in_flight()
    }

    pub fn lookahead_frames(&self) -> u64 {
        self.lookahead_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for a model: a per-frame function of its input.
    fn mock(x: Vec<f32>) -> Vec<f32> {
        x.iter().map(|v| (v * 3.0).tanh()).collect()
    }

    /// Streams `frames` through a lookahead runner as an audio callback would, using `fallback`
    /// for late frames. Returns the outputs and the late count.
    fn stream(pool: &Pool, frames: u64, delay: Duration, offline: bool) -> (Vec<Vec<f32>>, u64) {
        let mut la = Lookahead::new(pool, 64, 2, move |x: Vec<f32>| {
            std::thread::sleep(delay);
            mock(x)
        });
        let input = |k: u64| (0..64).map(|i| ((k * 64 + i) as f32 * 0.01).sin()).collect::<Vec<f32>>();
        let mut out = Vec::new();
        for k in 0..frames + 2 {
            if k < frames {
                la.submit(input(k)).ok();
            }
            if k >= 2 {
                let due = k - 2;
                let r = if offline {
                    la.take_wait(due, Duration::from_secs(10), drop)
                } else {
                    la.take(due, drop)
                };
                out.push(r.unwrap_or_else(|| vec![0.0; 64]));
            }
            if !offline {
                // One frame of audio time between callbacks.
                std::thread::sleep(Duration::from_micros(1333));
            }
        }
        (out, la.late())
    }

    #[test]
    fn offline_results_are_identical_whatever_the_pool_size() {
        let expected: Vec<Vec<f32>> =
            (0..40u64).map(|k| mock((0..64).map(|i| ((k * 64 + i) as f32 * 0.01).sin()).collect())).collect();
        for threads in [1, 3] {
            let pool = Pool::new("la-test", threads);
            let (out, late) = stream(&pool, 40, Duration::ZERO, true);
            assert_eq!(late, 0);
            assert_eq!(out, expected, "{threads} threads");
        }
    }

    #[test]
    fn a_wall_clock_paced_stream_gives_each_frame_its_result_or_the_fallback_never_garbage() {
        let pool = Pool::new("la-paced", 1);
        let expected: Vec<Vec<f32>> =
            (0..60u64).map(|k| mock((0..64).map(|i| ((k * 64 + i) as f32 * 0.01).sin()).collect())).collect();
        let (out, late) = stream(&pool, 60, Duration::ZERO, false);
        let fallbacks = out.iter().zip(&expected).filter(|(o, e)| o != e).count() as u64;
        assert_eq!(fallbacks, late);
        assert!(out.iter().zip(&expected).all(|(o, e)| o == e || o.iter().all(|v| *v == 0.0)));
    }

    #[test]
    fn a_model_that_never_keeps_up_falls_back_on_every_frame_without_blocking() {
        // The model is held at a gate until the stream is over: deterministically too slow.
        let pool = Pool::new("la-gated", 1);
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let gate = std::sync::Mutex::new(gate);
        let mut la = Lookahead::new(&pool, 64, 2, move |x: Vec<f32>| {
            let _ = gate.lock().unwrap().recv();
            x
        });
        let mut fallbacks = 0;
        for k in 0..30u64 {
            let _ = la.submit(vec![k as f32; 64]);
            if k >= 2 && la.take(k - 2, drop).is_none() {
                fallbacks += 1;
            }
        }
        assert_eq!(fallbacks, 28);
        assert_eq!(la.late(), 28);
        // Once the model catches up, stale results are handed back for recycling, not used.
        for _ in 0..30 {
            let _ = open.send(());
        }
        let mut recycled = 0;
        let r = la.take_wait(29, Duration::from_millis(300), |_| recycled += 1);
        // Frame 29 was refused at submission (the lane holds lookahead + 2 jobs), so nothing
        // for it ever comes back; everything that did come back was recycled.
        assert!(r.is_none());
        assert!(recycled >= 3, "recycled {recycled}");
    }
}
