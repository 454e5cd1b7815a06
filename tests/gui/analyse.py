#!/usr/bin/env python3
"""Pixel checks on editor screenshots. Python 3 standard library + ImageMagick's `convert`.

  analyse.py stats IMG                       is the editor drawn (colours, coverage, text)?
  analyse.py find-slider IMG                 prints "x0 y0 x1 y1" of the first parameter slider
  analyse.py diff BEFORE AFTER x0 y0 x1 y1   did the pixels inside the box change?

Options: --results FILE --name NAME append `NAME.key=value` lines with the measured values.
Prints PASS/FAIL lines; exit status 1 if a check failed.
"""
import argparse
import subprocess
import sys
from collections import Counter

# The VoiRS editor accent (voirs_kit::ui::ACCENT): slider borders and the plugin title.
ACCENT = (0x4F, 0xC3, 0xA1)


def load(path):
    """(width, height, rows of (r, g, b) tuples) via ImageMagick's binary PPM output."""
    ppm = subprocess.run(['convert', path, '-depth', '8', 'ppm:-'], check=True, capture_output=True).stdout
    parts, pos = [], 0
    while len(parts) < 4:  # magic, width, height, maxval; whitespace separated, '#' comments
        while ppm[pos:pos + 1].isspace():
            pos += 1
        if ppm[pos:pos + 1] == b'#':
            pos = ppm.index(b'\n', pos) + 1
            continue
        end = pos
        while not ppm[end:end + 1].isspace():
            end += 1
        parts.append(ppm[pos:end])
        pos = end
    pos += 1
    if parts[0] != b'P6' or parts[3] != b'255':
        raise SystemExit(f'{path}: unexpected PPM header {parts}')
    w, h = int(parts[1]), int(parts[2])
    data = ppm[pos:pos + 3 * w * h]
    rows = [[tuple(data[3 * (y * w + x):3 * (y * w + x) + 3]) for x in range(w)] for y in range(h)]
    return w, h, rows


def close(a, b, tol):
    return all(abs(p - q) <= tol for p, q in zip(a, b))


class Report:
    def __init__(self, args):
        self.name, self.path, self.failed, self.lines = args.name, args.results, 0, []

    def value(self, key, v):
        self.lines.append(f'{self.name}.{key}={v:.6g}' if isinstance(v, float) else f'{self.name}.{key}={v}')

    def check(self, ok, what):
        print(f"{'PASS' if ok else 'FAIL'} {self.name}: {what}")
        self.failed += 0 if ok else 1

    def finish(self):
        if self.path:
            with open(self.path, 'a') as f:
                f.write(''.join(line + '\n' for line in self.lines))
        return 1 if self.failed else 0


def ink_runs(row, bg, x0, x1):
    """Number of separate runs of non-background pixels in row[x0:x1]."""
    runs, inside = 0, False
    for x in range(x0, x1):
        ink = sum(abs(p - q) for p, q in zip(row[x], bg)) > 60
        if ink and not inside:
            runs += 1
        inside = ink
    return runs


def stats(args):
    rep = Report(args)
    w, h, rows = load(args.image)
    counts = Counter(p for row in rows for p in row)
    bg, bg_n = counts.most_common(1)[0]
    total = w * h
    rep.value('width', w)
    rep.value('height', h)
    rep.value('colours', len(counts))
    rep.value('background', '#%02x%02x%02x' % bg)  # noqa
    rep.value('background_fraction', bg_n / total)
    rep.check(w >= 200 and h >= 100, f'window is {w}x{h} px')
    rep.check(len(counts) >= 64, f'{len(counts)} distinct colours (>= 64: anti-aliased text and widgets)')
    hexbg = '#%02x%02x%02x' % bg
    rep.check(bg_n / total <= 0.97, f'background {hexbg} covers {100 * bg_n / total:.1f} % of the window (<= 97 %)')
    # Text, not boxes: the title (accent colour, top left) is glyphs — many separate strokes per
    # pixel row and many accent shades from anti-aliasing. A filled box gives one run per row.
    band_h, band_w = min(26, h), max(40, w // 4)
    runs = max(ink_runs(rows[y], bg, 0, band_w) for y in range(band_h))
    shades = {p for y in range(band_h) for p in rows[y][:band_w]
              if p != bg and close(p, ACCENT, 255) and p[1] > p[0] and p[1] > p[2]}
    accent = sum(1 for y in range(band_h) for p in rows[y][:band_w] if close(p, ACCENT, 24))
    rep.value('title_max_runs_per_row', runs)
    rep.value('title_accent_shades', len(shades))
    rep.value('title_accent_pixels', accent)
    rep.check(runs >= 6, f'title band {band_w}x{band_h} px has up to {runs} separate strokes in one pixel row (>= 6)')
    rep.check(len(shades) >= 12, f'title is drawn in {len(shades)} shades of the accent green (>= 12: anti-aliased glyphs)')
    rep.check(accent >= 40, f'{accent} title pixels in the accent colour (>= 40)')
    # Text everywhere: rows crossing at least 10 strokes (labels, values) across the window.
    texty = sum(1 for y in range(h) if ink_runs(rows[y], bg, 0, w) >= 10)
    rep.value('text_rows', texty)
    rep.check(texty >= 20, f'{texty} pixel rows cross >= 10 strokes (>= 20 rows of text-like content)')
    return rep.finish()


def find_slider(args):
    """The first horizontal run of >= 60 accent pixels below the header is the top border of the
    first parameter slider (nice-plug-egui ParamSlider, accent-coloured frame)."""
    w, h, rows = load(args.image)
    top = None
    for y in range(24, h):
        best, run, start, best_start = 0, 0, 0, 0
        for x in range(w):
            if close(rows[y][x], ACCENT, 24):
                if run == 0:
                    start = x
                run += 1
                if run > best:
                    best, best_start = run, start
            else:
                run = 0
        if best >= 60:
            if top is None:
                top = (y, best_start, best_start + best - 1)
            elif y > top[0] + 3:
                # The next long accent run below is the bottom border.
                print(top[1], top[0], top[2], y)
                return 0
    if top:
        print(top[1], top[0], top[2], min(h - 1, top[0] + 12))
        return 0
    print('no slider found', file=sys.stderr)
    return 1


def diff(args):
    rep = Report(args)
    wa, ha, a = load(args.before)
    wb, hb, b = load(args.after)
    rep.check((wa, ha) == (wb, hb), f'screenshots have the same size ({wa}x{ha}, {wb}x{hb})')
    if (wa, ha) != (wb, hb):
        return rep.finish()
    x0, y0, x1, y1 = max(0, args.x0), max(0, args.y0), min(wa - 1, args.x1), min(ha - 1, args.y1)
    inside = outside = 0
    for y in range(ha):
        for x in range(wa):
            if not close(a[y][x], b[y][x], 8):
                if x0 <= x <= x1 and y0 <= y <= y1:
                    inside += 1
                else:
                    outside += 1
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    key = args.key
    rep.value(f'{key}.changed_inside', inside)
    rep.value(f'{key}.changed_outside', outside)
    rep.value(f'{key}.box', f'{x0},{y0},{x1},{y1}')
    rep.check(inside >= args.min_changed, f'{args.what}: {inside} of {area} pixels changed inside the box '
                                          f'({x0},{y0})-({x1},{y1}) (>= {args.min_changed}); {outside} outside')
    rep.check(inside >= outside, f'{args.what}: the change is where the click was ({inside} inside >= {outside} outside)')
    return rep.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--results')
    ap.add_argument('--name', default='editor')
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('stats')
    s.add_argument('image')
    f = sub.add_parser('find-slider')
    f.add_argument('image')
    d = sub.add_parser('diff')
    d.add_argument('before')
    d.add_argument('after')
    for k in ('x0', 'y0', 'x1', 'y1'):
        d.add_argument(k, type=int)
    d.add_argument('--key', default='click')
    d.add_argument('--what', default='click')
    d.add_argument('--min-changed', type=int, default=40)
    args = ap.parse_args()
    return {'stats': stats, 'find-slider': find_slider, 'diff': diff}[args.cmd](args)


if __name__ == '__main__':
    sys.exit(main())
