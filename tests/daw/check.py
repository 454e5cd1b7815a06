#!/usr/bin/env python3
r"""Checks audio rendered by Ardour through a VoiRS plugin. Python 3 standard library only.

  check.py effect --input IN_L.wav [IN_R.wav] --unity OUT0.wav --gain OUTG.wav --gain-db -6 \
                  --latency N --results FILE --name NAME
      IN_*: the recorded track input (one mono file per channel, as Ardour stores it);
      OUT0: the session exported with Output Gain at 0 dB, OUTG: with Output Gain at --gain-db.
  check.py instrument --midi TAKE.mid --unity OUT0.wav --gain OUTG.wav --gain-db -6 \
                  --results FILE --name NAME
      TAKE.mid: the MIDI take Ardour recorded (the note sequence the instrument played).
  check.py clip --midi TAKE.mid --clip CLIP.wav --unity OUT0.wav --gain OUTG.wav ...
      An instrument that plays CLIP from its start on each note, scaled by velocity/127.

Every check prints one line, PASS or FAIL, with the measured value; measured values are also
appended to --results as `name.key=value` lines. Exit status 1 if any check failed.
"""
import argparse
import cmath
import math
import struct
import sys

# ---------------------------------------------------------------------------------------------
# I/O


def read_wav(path):
    """Returns (rate, [channel sample lists]) for 16/24/32-bit PCM or 32/64-bit float WAV."""
    with open(path, 'rb') as f:
        d = f.read()
    if d[:4] != b'RIFF' or d[8:12] != b'WAVE':
        raise SystemExit(f'{path}: not a RIFF/WAVE file')
    i, fmt, data = 12, None, None
    while i + 8 <= len(d):
        cid, size = d[i:i + 4], struct.unpack('<I', d[i + 4:i + 8])[0]
        body = d[i + 8:i + 8 + size]
        if cid == b'fmt ':
            fmt = struct.unpack('<HHIIHH', body[:16])
            if fmt[0] == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in the GUID
                fmt = (struct.unpack('<H', body[24:26])[0],) + fmt[1:]
        elif cid == b'data':
            data = body
        i += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise SystemExit(f'{path}: no fmt or data chunk')
    tag, ch, rate, _, _, bits = fmt
    if tag == 3 and bits == 32:
        s = struct.unpack('<%df' % (len(data) // 4), data)
    elif tag == 3 and bits == 64:
        s = struct.unpack('<%dd' % (len(data) // 8), data)
    elif tag == 1 and bits == 16:
        s = [v / 32768.0 for v in struct.unpack('<%dh' % (len(data) // 2), data)]
    elif tag == 1 and bits == 32:
        s = [v / 2147483648.0 for v in struct.unpack('<%di' % (len(data) // 4), data)]
    elif tag == 1 and bits == 24:
        s = [int.from_bytes(data[k:k + 3], 'little', signed=True) / 8388608.0
             for k in range(0, len(data) - 2, 3)]
    else:
        raise SystemExit(f'{path}: unsupported format tag={tag} bits={bits}')
    return rate, [list(s[c::ch]) for c in range(ch)]


def read_vlq(d, i):
    """A MIDI variable-length quantity at d[i]: (value, index after it)."""
    value = 0
    while True:
        b = d[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, i


def read_smf_notes(path, rate):
    """Note-on/off pairs of a Standard MIDI File as (key, on_sample, off_sample, velocity)."""
    with open(path, 'rb') as f:
        d = f.read()
    if d[:4] != b'MThd':
        raise SystemExit(f'{path}: not a standard MIDI file')
    _fmt, ntrk, division = struct.unpack('>HHH', d[8:14])
    if division & 0x8000:
        raise SystemExit(f'{path}: SMPTE time division is not supported')
    events = []  # (tick, order, kind, a, b)
    i = 8 + struct.unpack('>I', d[4:8])[0]
    for _ in range(ntrk):
        if d[i:i + 4] != b'MTrk':
            break
        end = i + 8 + struct.unpack('>I', d[i + 4:i + 8])[0]
        i += 8
        tick, status = 0, 0
        while i < end:
            delta, i = read_vlq(d, i)
            tick += delta
            if d[i] & 0x80:
                status = d[i]
                i += 1
            if status == 0xFF:
                mtype = d[i]
                ln, i = read_vlq(d, i + 1)
                if mtype == 0x51:
                    events.append((tick, 0, 'tempo', int.from_bytes(d[i:i + 3], 'big'), 0))
                i += ln
            elif status in (0xF0, 0xF7):
                ln, i = read_vlq(d, i)
                i += ln
            else:
                kind = status & 0xF0
                n = 1 if kind in (0xC0, 0xD0) else 2
                a, b = d[i], (d[i + 1] if n == 2 else 0)
                i += n
                if kind == 0x90 and b > 0:
                    events.append((tick, 1, 'on', a, b))
                elif kind == 0x80 or (kind == 0x90 and b == 0):
                    events.append((tick, 1, 'off', a, 0))
        i = end
    events.sort(key=lambda e: (e[0], e[1]))
    us_per_q, last_tick, t_sec, on, notes = 500000, 0, 0.0, {}, []
    for tick, _, kind, a, b in events:
        t_sec += (tick - last_tick) * us_per_q / 1e6 / division
        last_tick = tick
        if kind == 'tempo':
            us_per_q = a
        elif kind == 'on':
            on[a] = (t_sec, b)
        elif kind == 'off' and a in on:
            t_on, vel = on.pop(a)
            notes.append((a, round(t_on * rate), round(t_sec * rate), vel))
    return notes

# ---------------------------------------------------------------------------------------------
# Analysis


def fft(a, inverse=False):
    """Iterative radix-2 FFT of a list whose length is a power of two."""
    n = len(a)
    a = [complex(v) for v in a]
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    sign = 1 if inverse else -1
    length = 2
    while length <= n:
        half = length // 2
        w = cmath.exp(sign * 2j * math.pi / length)
        tw = [1 + 0j] * half
        for k in range(1, half):
            tw[k] = tw[k - 1] * w
        for start in range(0, n, length):
            for k in range(half):
                u = a[start + k]
                v = a[start + k + half] * tw[k]
                a[start + k] = u + v
                a[start + k + half] = u - v
        length <<= 1
    if inverse:
        a = [v / n for v in a]
    return a


def next_pow2(n):
    p = 1
    while p < n:
        p <<= 1
    return p


def rms(x):
    return math.sqrt(sum(v * v for v in x) / max(1, len(x)))


def db(v):
    return 20 * math.log10(max(v, 1e-15))


def peak(x):
    return max((abs(v) for v in x), default=0.0)


def dominant_freq(x, rate):
    """Frequency of the strongest spectral peak (Hann window, Gaussian peak interpolation)."""
    n = len(x)
    w = [0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1)) for i in range(n)]
    size = next_pow2(n) * 2
    spec = fft([x[i] * w[i] for i in range(n)] + [0.0] * (size - n))
    mag = [abs(v) for v in spec[:size // 2]]
    k = max(range(2, len(mag) - 1), key=lambda i: mag[i])
    a, b, c = (math.log(max(mag[k + o], 1e-30)) for o in (-1, 0, 1))
    den = a - 2 * b + c
    off = 0.5 * (a - c) / den if den != 0 else 0.0
    return (k + off) * rate / size


def fundamental(x, rate, fmin=50.0, fmax=1000.0):
    """Fundamental frequency by autocorrelation (biased, so the first period wins)."""
    n = len(x)
    mean = sum(x) / n
    size = next_pow2(2 * n)
    spec = fft([v - mean for v in x] + [0.0] * (size - n))
    r = [v.real for v in fft([abs(v) ** 2 for v in spec], inverse=True)[:n]]
    lo, hi = int(rate / fmax), min(int(rate / fmin), n - 2)
    k = max(range(lo, hi), key=lambda i: r[i])
    a, b, c = r[k - 1], r[k], r[k + 1]
    den = a - 2 * b + c
    off = 0.5 * (a - c) / den if den != 0 else 0.0
    return rate / (k + off), r[k] / r[0] if r[0] > 0 else 0.0


def best_lag(ref, out, max_lag):
    """Lag (samples, out later than ref is positive) maximising the raw cross-correlation."""
    n = max(len(ref), len(out))
    size = next_pow2(n + max_lag + 1)
    fa = fft(list(ref) + [0.0] * (size - len(ref)))
    fb = fft(list(out) + [0.0] * (size - len(out)))
    r = fft([x.conjugate() * y for x, y in zip(fa, fb)], inverse=True)
    vals = {k: r[k % size].real for k in range(-max_lag, max_lag + 1)}
    top = max(vals.values())
    # A steady sine correlates equally at whole periods once leading silence hides the edge:
    # among (numerically) equal maxima take the smallest shift.
    return min((k for k, v in vals.items() if v >= top - 1e-9 * abs(top)), key=abs)


def pearson(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else 0.0


def shifted(x, lag):
    """x advanced by `lag` samples (so a delayed output lines up with its input)."""
    return x[lag:] if lag >= 0 else [0.0] * (-lag) + x

# ---------------------------------------------------------------------------------------------
# Reporting


class Report:
    def __init__(self, name, results_path):
        self.name, self.results_path, self.failed, self.lines = name, results_path, 0, []

    def value(self, key, v):
        self.lines.append(f'{self.name}.{key}={v:.6g}' if isinstance(v, float) else f'{self.name}.{key}={v}')

    def check(self, ok, what):
        print(f"{'PASS' if ok else 'FAIL'} {self.name}: {what}")
        if not ok:
            self.failed += 1

    def finish(self):
        self.value('checks_failed', self.failed)
        if self.results_path:
            with open(self.results_path, 'a') as f:
                f.write('\n'.join(self.lines) + '\n')
        return 1 if self.failed else 0

# ---------------------------------------------------------------------------------------------
# Checks


def check_effect(args):
    rep = Report(args.name, args.results)
    rate, ins = None, []
    for p in args.input:
        r, chans = read_wav(p)
        rate = rate or r
        ins.extend(chans)
    r0, out0 = read_wav(args.unity)
    rg, outg = read_wav(args.gain)
    rep.check(r0 == rate and rg == rate, f'export rate {r0}/{rg} Hz equals recording rate {rate} Hz')
    rep.check(len(out0) == len(outg) == max(2, len(ins)),
              f'export channels {len(out0)}/{len(outg)} for {len(ins)} input channel(s)')
    n = min(len(ins[0]), len(out0[0]), len(outg[0]))
    rep.value('frames', n)
    rep.check(n >= rate, f'render length {n} frames >= 1 s')
    lat = args.latency
    max_lag = max(2 * lat, 0) + 1024
    # Steady-state window: skip smoothing/onset at the start and the tail where a delayed output
    # would run out.
    a, b = int(0.1 * rate), n - int(0.1 * rate) - max_lag
    for c in range(min(len(out0), len(outg))):
        # A mono input feeds both outputs.
        x, y0, yg = ins[min(c, len(ins) - 1)][:n], out0[c][:n], outg[c][:n]
        tag = f'ch{c}'
        lead = next((i for i, v in enumerate(y0) if abs(v) > 1e-6), n)
        rep.value(f'{tag}.leading_silence_samples', lead)
        print(f'     {args.name}: {tag} export starts with {lead} samples of silence')
        lag = best_lag(x, y0, max_lag)
        rep.value(f'{tag}.lag_samples', lag)
        rep.check(lag == 0, f'{tag}: output aligned with input after the host compensated the reported '
                            f'latency of {lat} samples (measured lag {lag})')
        y0a, yga = shifted(y0, lag), shifted(yg, lag)
        lin, l0, lg = db(rms(x[a:b])), db(rms(y0a[a:b])), db(rms(yga[a:b]))
        rep.value(f'{tag}.input_dbfs', lin)
        rep.value(f'{tag}.unity_dbfs', l0)
        rep.value(f'{tag}.gain_dbfs', lg)
        rep.check(lin > -60, f'{tag}: input level {lin:.2f} dBFS is a real signal')
        rep.check(abs(l0 - lin) <= 0.1, f'{tag}: Output Gain 0 dB: {l0:.3f} dBFS vs input {lin:.3f} dBFS '
                                        f'(delta {l0 - lin:+.3f} dB, limit ±0.1)')
        d = lg - lin
        rep.value(f'{tag}.gain_delta_db', d)
        rep.check(abs(d - args.gain_db) <= 0.1, f'{tag}: Output Gain {args.gain_db:+.1f} dB: {lg:.3f} dBFS vs input '
                                                f'{lin:.3f} dBFS (delta {d:+.3f} dB, limit {args.gain_db:+.1f} ±0.1)')
        rel = lg - l0
        rep.value(f'{tag}.gain_vs_unity_db', rel)
        rep.check(abs(rel - args.gain_db) <= 0.1, f'{tag}: the {args.gain_db:+.1f} dB render is {rel:+.3f} dB from '
                                                  f'the 0 dB render (limit ±0.1)')
        seg = slice(a, a + min(b - a, 32768))
        fin, fout = dominant_freq(x[seg], rate), dominant_freq(yga[seg], rate)
        rep.value(f'{tag}.input_hz', fin)
        rep.value(f'{tag}.output_hz', fout)
        rep.check(abs(fout - fin) <= max(0.5, 0.001 * fin),
                  f'{tag}: dominant frequency {fout:.2f} Hz equals the input sine {fin:.2f} Hz')
        corr = pearson(x[a:b], yga[a:b])
        rep.value(f'{tag}.correlation', corr)
        rep.check(corr > 0.99, f'{tag}: correlation with the input {corr:.6f} > 0.99')
        resid = [p - q * 10 ** (args.gain_db / 20) for p, q in zip(yga[a:b], x[a:b])]
        err = db(rms(resid)) - lg
        rep.value(f'{tag}.residual_db', err)
        print(f'     {args.name}: {tag} residual after gain {err:.1f} dB relative to the output')
    return rep.finish()


def check_instrument(args):
    rep = Report(args.name, args.results)
    r0, out0 = read_wav(args.unity)
    rg, outg = read_wav(args.gain)
    rate = r0
    rep.check(r0 == rg, f'export rates {r0}/{rg} Hz agree')
    notes = read_smf_notes(args.midi, rate)
    rep.value('notes', len(notes))
    rep.check(len(notes) >= 1, f'{len(notes)} note(s) recorded in the MIDI take')
    if not notes:
        return rep.finish()
    key, on, off, _vel = notes[0]
    rep.value('note_key', key)
    rep.value('note_on_s', on / rate)
    rep.value('note_off_s', off / rate)
    f0_expected = 440.0 * 2 ** ((key - 69) / 12)
    n = min(len(out0[0]), len(outg[0]))
    rep.check(off - on > rate // 2 and off <= n,
              f'note {key} from {on / rate:.3f} s to {off / rate:.3f} s lies inside the {n / rate:.3f} s render')
    # Before the note: silence. During: a voice at the note's pitch.
    pre = slice(0, max(0, on - int(0.02 * rate)))
    a, b = on + int(0.15 * rate), off - int(0.02 * rate)
    for c in range(len(out0)):
        tag = f'ch{c}'
        y0, yg = out0[c][:n], outg[c][:n]
        pre_db = db(peak(y0[pre])) if pre.stop > 0 else -300.0
        rep.value(f'{tag}.pre_note_peak_dbfs', pre_db)
        rep.check(pre_db < -80, f'{tag}: before the note-on the output is silent (peak {pre_db:.1f} dBFS < -80)')
        l0, lg = db(rms(y0[a:b])), db(rms(yg[a:b]))
        rep.value(f'{tag}.note_unity_dbfs', l0)
        rep.value(f'{tag}.note_gain_dbfs', lg)
        rep.check(-40 < l0 < 0, f'{tag}: the note sounds at {l0:.2f} dBFS (between -40 and 0)')
        d = lg - l0
        rep.value(f'{tag}.gain_delta_db', d)
        rep.check(abs(d - args.gain_db) <= 0.1, f'{tag}: Output Gain {args.gain_db:+.1f} dB changes the note by '
                                                f'{d:+.3f} dB (limit ±0.1)')
        # Timing: the voice starts with the note-on and dies away after the note-off.
        thr = 10 ** ((l0 - 40) / 20)
        onset = next((i for i in range(n) if abs(y0[i]) > thr), n)
        onset_ms = 1000 * (onset - on) / rate
        rep.value(f'{tag}.onset_ms', onset_ms)
        rep.check(-1 <= onset_ms <= 30, f'{tag}: the voice starts {onset_ms:+.1f} ms from the note-on '
                                        f'(first sample 40 dB below the note level; limit -1..+30 ms)')
        tail = y0[max(off, n - int(0.25 * rate)):n]
        tail_db = db(rms(tail)) - l0 if n - off > int(0.5 * rate) else 0.0
        rep.value(f'{tag}.tail_rel_db', tail_db)
        rep.check(tail_db < -40, f'{tag}: {(n - off) / rate:.2f} s after the note-off the last 0.25 s is '
                                 f'{tail_db:.1f} dB below the note (limit -40)')
        seg = y0[a:a + min(b - a, 8192)]
        f0, clarity = fundamental(seg, rate)
        rep.value(f'{tag}.f0_hz', f0)
        rep.value(f'{tag}.periodicity', clarity)
        cents = 1200 * math.log2(f0 / f0_expected)
        rep.value(f'{tag}.f0_cents', cents)
        rep.check(abs(cents) < 10, f'{tag}: fundamental {f0:.2f} Hz matches note {key} = {f0_expected:.2f} Hz '
                                   f'({cents:+.1f} cents, limit ±10)')
        rep.check(clarity > 0.5, f'{tag}: the voice is periodic (normalised autocorrelation {clarity:.3f} > 0.5)')
        fd = dominant_freq(seg, rate)
        harm = fd / f0_expected
        rep.value(f'{tag}.strongest_partial_hz', fd)
        rep.check(abs(harm - round(harm)) < 0.05 and round(harm) >= 1,
                  f'{tag}: strongest partial {fd:.1f} Hz is harmonic {harm:.2f} of the note')
    return rep.finish()


def check_clip(args):
    """An instrument that plays a clip from its start on each note (the Speech Track)."""
    rep = Report(args.name, args.results)
    r0, out0 = read_wav(args.unity)
    rg, outg = read_wav(args.gain)
    rc, clip = read_wav(args.clip)
    rate = r0
    rep.check(r0 == rg == rc, f'export and clip rates {r0}/{rg}/{rc} Hz agree')
    notes = read_smf_notes(args.midi, rate)
    rep.value('notes', len(notes))
    rep.check(len(notes) >= 1, f'{len(notes)} note(s) recorded in the MIDI take')
    if not notes:
        return rep.finish()
    key, on, off, velocity = notes[0]
    rep.value('note_key', key)
    rep.value('note_velocity', velocity)
    rep.value('note_on_s', on / rate)
    rep.value('note_off_s', off / rate)
    n = min(len(out0[0]), len(outg[0]))
    m = len(clip[0])
    rep.check(on + m < off <= n, f'the note ({on / rate:.3f}..{off / rate:.3f} s) outlasts the {m / rate:.3f} s clip '
                                 f'inside the {n / rate:.3f} s render')
    vel_gain = velocity / 127.0
    search = 2048
    for c in range(len(out0)):
        tag = f'ch{c}'
        ref = clip[min(c, len(clip) - 1)]
        y0, yg = out0[c][:n], outg[c][:n]
        pre_db = db(peak(y0[:max(0, on - int(0.002 * rate))]))
        rep.value(f'{tag}.pre_note_peak_dbfs', pre_db)
        rep.check(pre_db < -80, f'{tag}: before the note-on the output is silent (peak {pre_db:.1f} dBFS < -80)')
        during = db(rms(y0[on:on + m]))
        rep.value(f'{tag}.note_dbfs', during)
        rep.check(during > -60, f'{tag}: the clip plays on the note ({during:.1f} dBFS over the clip\'s '
                                f'{m / rate:.2f} s after the note-on, > -60)')
        # Where does the clip start? Cross-correlate around the note-on.
        lo = max(0, on - search)
        seg = y0[lo:on + m + search]
        start = lo + best_lag(ref, seg, min(2 * search, len(seg) - 1))
        offset = start - on
        rep.value(f'{tag}.clip_start_vs_note_on_samples', offset)
        rep.check(abs(offset) <= 1, f'{tag}: the clip starts {offset:+d} samples from the note-on (limit ±1)')
        y0a, yga = y0[start:start + m], yg[start:start + m]
        corr = pearson(ref, y0a)
        rep.value(f'{tag}.correlation', corr)
        rep.check(corr > 0.999, f'{tag}: output vs clip correlation {corr:.6f} > 0.999')
        lc, l0, lg = db(rms(ref)), db(rms(y0a)), db(rms(yga))
        rep.value(f'{tag}.clip_dbfs', lc)
        rep.value(f'{tag}.unity_dbfs', l0)
        rep.value(f'{tag}.gain_dbfs', lg)
        want = lc + db(vel_gain)
        rep.check(abs(l0 - want) <= 0.1, f'{tag}: Output Gain 0 dB: {l0:.3f} dBFS = clip {lc:.3f} dBFS x velocity '
                                         f'{velocity}/127 ({want:.3f} dBFS, limit ±0.1)')
        d = lg - want
        rep.value(f'{tag}.gain_delta_db', d)
        rep.check(abs(d - args.gain_db) <= 0.1, f'{tag}: Output Gain {args.gain_db:+.1f} dB: {lg:.3f} dBFS is {d:+.3f} dB '
                                                f'from the expected level (limit {args.gain_db:+.1f} ±0.1)')
        resid = [p - q * vel_gain for p, q in zip(y0a, ref)]
        err = db(rms(resid)) - l0
        rep.value(f'{tag}.residual_db', err)
        rep.check(err < -60, f'{tag}: output minus clip x velocity is {err:.1f} dB below the output (< -60)')
        post = y0[start + m + int(0.002 * rate):n]
        post_db = db(peak(post)) if post else -300.0
        rep.value(f'{tag}.after_clip_peak_dbfs', post_db)
        rep.check(post_db < -80, f'{tag}: after the clip ends the output is silent (peak {post_db:.1f} dBFS)')
    return rep.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('effect')
    e.add_argument('--input', nargs='+', required=True)
    e.add_argument('--latency', type=int, default=0)
    i = sub.add_parser('instrument')
    i.add_argument('--midi', required=True)
    k = sub.add_parser('clip')
    k.add_argument('--midi', required=True)
    k.add_argument('--clip', required=True)
    for p in (e, i, k):
        p.add_argument('--unity', required=True)
        p.add_argument('--gain', required=True)
        p.add_argument('--gain-db', type=float, default=-6.0)
        p.add_argument('--results')
        p.add_argument('--name', required=True)
    args = ap.parse_args()
    return {'effect': check_effect, 'instrument': check_instrument, 'clip': check_clip}[args.cmd](args)


if __name__ == '__main__':
    sys.exit(main())
