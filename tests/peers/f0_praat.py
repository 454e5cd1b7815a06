#!/usr/bin/env python3
"""F0 tracks by Praat's autocorrelation pitch tracker (praat-parselmouth), the independent
tracker the Voice Converter is compared with Rubber Band under.

    pip install --target <dir> praat-parselmouth==0.4.6 numpy==2.4.6   # Praat 6.1.38
    PYTHONPATH=<dir> python3 tests/peers/f0_praat.py out.json a.wav b.wav ...

Writes {"tracker": ..., "step_s": 0.01, "tracks": {"a.wav": [f0 or 0 per 10 ms frame, from
t = 0], ...}}. Praat's To Pitch (ac) defaults are kept (no octave-jump tuning) so anyone can
reproduce the numbers in Praat itself, except the range, widened from 75–600 Hz to 50–800 Hz
so voices shifted an octave down or up stay inside it; frame k describes time k × 10 ms.
"""
import json
import sys

import numpy as np
import parselmouth

STEP = 0.01
FLOOR = 50.0
CEILING = 800.0


def track(path):
    snd = parselmouth.Sound(path)
    if snd.n_channels > 1:
        snd = snd.convert_to_mono()
    pitch = snd.to_pitch_ac(time_step=STEP, pitch_floor=FLOOR, pitch_ceiling=CEILING)
    n = int(np.floor(snd.duration / STEP))
    times = np.arange(n) * STEP
    f0 = np.array([pitch.get_value_at_time(t) for t in times], dtype=float)
    f0[~np.isfinite(f0)] = 0.0
    return [round(float(v), 4) for v in f0]


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    tracks = {p: track(p) for p in paths}
    info = f"Praat {parselmouth.PRAAT_VERSION} To Pitch (ac) {FLOOR:g}-{CEILING:g} Hz via parselmouth {parselmouth.__version__}"
    with open(out, "w") as f:
        json.dump({"tracker": info, "step_s": STEP, "tracks": tracks}, f)


if __name__ == "__main__":
    main()
