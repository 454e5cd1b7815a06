//! Standard MIDI files in and out, as note events at sample times. Tempo changes are honoured
//! (format 0 and 1; tempo events may sit in any track); SMPTE timing is supported too.

use crate::error::{Context, Result};
use crate::render::{EventKind, TimedEvent};
use midly::num::{u4, u7, u15, u24, u28};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::Path;

/// Notes of a MIDI file, and where the file ends.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiNotes {
    pub events: Vec<TimedEvent>,
    /// Sample time of the last event of any kind (end of track included).
    pub end: u64,
}

/// Reads a standard MIDI file into note events at `sample_rate`.
pub fn read(path: &Path, sample_rate: f64) -> Result<MidiNotes> {
    let bytes = std::fs::read(path).context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes, sample_rate).context(|| format!("{} is not a usable MIDI file", path.display()))
}

pub fn parse(bytes: &[u8], sample_rate: f64) -> Result<MidiNotes> {
    let smf = Smf::parse(bytes).context(|| "MIDI parse error".to_owned())?;
    // Merge tracks on one tick timeline; the sort is stable, so same-tick events keep their
    // file order (a note-off before a note-on of the same key stays first).
    let mut merged: Vec<(u64, usize, TrackEventKind)> = Vec::new();
    for (t, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        for ev in track {
            tick += ev.delta.as_int() as u64;
            merged.push((tick, t, ev.kind));
        }
    }
    merged.sort_by_key(|(tick, _, _)| *tick);

    let mut events = Vec::new();
    let mut end = 0u64;
    // Seconds per tick changes with tempo; accumulate time piecewise.
    let (mut sec_per_tick, metrical) = match smf.header.timing {
        Timing::Metrical(tpq) => (0.5 / tpq.as_int().max(1) as f64, Some(tpq.as_int().max(1) as f64)),
        Timing::Timecode(fps, sub) => (1.0 / (fps.as_f32() as f64 * sub.max(1) as f64), None),
    };
    let (mut last_tick, mut seconds) = (0u64, 0.0f64);
    for (tick, _, kind) in merged {
        seconds += (tick - last_tick) as f64 * sec_per_tick;
        last_tick = tick;
        let time = (seconds * sample_rate).round() as u64;
        end = end.max(time);
        match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(us_per_quarter)) => {
                if let Some(tpq) = metrical {
                    sec_per_tick = us_per_quarter.as_int() as f64 * 1e-6 / tpq;
                }
            }
            TrackEventKind::Midi { channel, message } => {
                let channel = channel.as_int();
                match message {
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => events.push(TimedEvent {
                        time,
                        channel,
                        kind: EventKind::NoteOn { key: key.as_int(), velocity: vel.as_int() as f64 / 127.0 },
                    }),
                    MidiMessage::NoteOn { key, .. } => events.push(TimedEvent {
                        time,
                        channel,
                        kind: EventKind::NoteOff { key: key.as_int(), velocity: 0.0 },
                    }),
                    MidiMessage::NoteOff { key, vel } => events.push(TimedEvent {
                        time,
                        channel,
                        kind: EventKind::NoteOff { key: key.as_int(), velocity: vel.as_int() as f64 / 127.0 },
                    }),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(MidiNotes { events, end })
}

/// A note for [`write`]: start and length in seconds, key, velocity 1..=127.
#[derive(Debug, Clone, Copy)]
pub struct Note {
    pub start_s: f64,
    pub length_s: f64,
    pub key: u8,
    pub velocity: u8,
}

/// Writes a format-0 MIDI file at 120 BPM, 480 ticks per quarter (960 ticks per second).
pub fn write(path: &Path, notes: &[Note]) -> Result<()> {
    const TICKS_PER_SECOND: f64 = 960.0;
    let mut timeline: Vec<(u64, bool, u8, u8)> = Vec::new();
    for n in notes {
        let on = (n.start_s * TICKS_PER_SECOND).round() as u64;
        let off = ((n.start_s + n.length_s) * TICKS_PER_SECOND).round() as u64;
        timeline.push((on, true, n.key, n.velocity.clamp(1, 127)));
        timeline.push((off, false, n.key, 0));
    }
    // Offs before ons at the same tick, so repeated notes retrigger.
    timeline.sort_by_key(|(t, on, _, _)| (*t, *on));
    let mut track = vec![TrackEvent { delta: u28::new(0), kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(500_000))) }];
    let mut last = 0u64;
    for (t, on, key, vel) in timeline {
        let message = if on {
            MidiMessage::NoteOn { key: u7::new(key), vel: u7::new(vel) }
        } else {
            MidiMessage::NoteOff { key: u7::new(key), vel: u7::new(0) }
        };
        track.push(TrackEvent { delta: u28::new((t - last) as u32), kind: TrackEventKind::Midi { channel: u4::new(0), message } });
        last = t;
    }
    track.push(TrackEvent { delta: u28::new(0), kind: TrackEventKind::Meta(MetaMessage::EndOfTrack) });
    let smf = Smf { header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(480))), tracks: vec![track] };
    smf.save(path).context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_notes_read_back_at_their_sample_times() {
        let dir = std::env::temp_dir().join(format!("voirs-midi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("two.mid");
        write(&p, &[
            Note { start_s: 0.25, length_s: 0.5, key: 60, velocity: 127 },
            Note { start_s: 1.0, length_s: 0.125, key: 64, velocity: 64 },
        ])
        .unwrap();
        let m = read(&p, 48_000.0).unwrap();
        let times: Vec<(u64, EventKind)> = m.events.iter().map(|e| (e.time, e.kind)).collect();
        assert_eq!(times, vec![
            (12_000, EventKind::NoteOn { key: 60, velocity: 1.0 }),
            (36_000, EventKind::NoteOff { key: 60, velocity: 0.0 }),
            (48_000, EventKind::NoteOn { key: 64, velocity: 64.0 / 127.0 }),
            (54_000, EventKind::NoteOff { key: 64, velocity: 0.0 }),
        ]);
        assert_eq!(m.end, 54_000);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
