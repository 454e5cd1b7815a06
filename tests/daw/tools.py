#!/usr/bin/env python3
"""Session helpers for the Ardour check. Python 3 standard library only.

  tools.py make-clip OUT.wav
      A 0.8 s stereo 16-bit 48 kHz test clip: a rising chirp (200 -> 1200 Hz) on the left, a
      falling one (1200 -> 200 Hz) on the right, -6 dBFS peak, 5 ms fades. Unambiguous to align.
  tools.py set-vst3-field SESSION.ardour "PLUGIN NAME" FIELD JSON_VALUE
      Sets a persisted field in the plugin state Ardour saved for that VST3 (what the plugin
      would have saved had the field been set in its editor), e.g. the Speech Track's clip path.
"""
import base64
import json
import math
import re
import struct
import sys
import wave

RATE = 48000


def make_clip(path):
    n = int(0.8 * RATE)
    fade = int(0.005 * RATE)
    frames = bytearray()
    ph_l = ph_r = 0.0
    for i in range(n):
        t = i / (n - 1)
        f_l, f_r = 200 + 1000 * t, 1200 - 1000 * t
        ph_l += 2 * math.pi * f_l / RATE
        ph_r += 2 * math.pi * f_r / RATE
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        env = 0.5 - 0.5 * math.cos(math.pi * env)
        for v in (math.sin(ph_l), math.sin(ph_r)):
            frames += struct.pack('<h', int(round(0.5 * env * v * 32767)))
    with wave.open(path, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))


def set_vst3_field(session, plugin, field, value_json):
    """VST3 preset stream: 'VST3', int32 version, 32-char class id, int64 chunk-list offset,
    component state, then 'List', int32 count, count x (4-char id, int64 offset, int64 size).
    nice-plug's component state is JSON; persisted fields are JSON strings in "fields"."""
    json.loads(value_json)  # must be valid JSON (the field's serde form)
    with open(session) as f:
        xml = f.read()
    proc = re.search(r'<Processor [^>]*name="%s"[^>]*type="vst3".*?</Processor>' % re.escape(plugin), xml, re.S)
    if not proc:
        raise SystemExit(f'{session}: no VST3 processor named {plugin!r}')
    chunk = re.search(r'<chunk>([^<]*)</chunk>', proc.group(0))
    if not chunk:
        raise SystemExit(f'{session}: {plugin!r} has no saved state chunk')
    b = base64.b64decode(chunk.group(1))
    if b[:4] != b'VST3':
        raise SystemExit(f'{session}: not a VST3 state stream')
    list_off = struct.unpack('<q', b[40:48])[0]
    count = struct.unpack('<i', b[list_off + 4:list_off + 8])[0]
    entries = {}
    for i in range(count):
        e = b[list_off + 8 + 20 * i:list_off + 28 + 20 * i]
        off, size = struct.unpack('<qq', e[4:20])
        entries[e[:4]] = b[off:off + size]
    state = json.loads(entries[b'Comp'])
    state.setdefault('fields', {})[field] = value_json
    entries[b'Comp'] = json.dumps(state, separators=(',', ':')).encode()
    body, table, pos = b'', b'', 48
    for cid in (b'Comp', b'Cont'):
        data = entries.get(cid, b'')
        table += cid + struct.pack('<qq', pos, len(data))
        body += data
        pos += len(data)
    out = b[:40] + struct.pack('<q', 48 + len(body)) + body + b'List' + struct.pack('<i', 2) + table
    new_proc = proc.group(0).replace(chunk.group(0), '<chunk>%s</chunk>' % base64.b64encode(out).decode())
    with open(session, 'w') as f:
        f.write(xml.replace(proc.group(0), new_proc))
    print(f'{session}: {plugin} field {field} = {value_json}')


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'make-clip':
        make_clip(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == 'set-vst3-field':
        set_vst3_field(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
