#!/bin/bash
# GUI check: opens each VoiRS editor through the standalone program under Xvfb, screenshots it,
# checks the picture is a drawn editor (colours, text), toggles "Bypass" and drags the first
# parameter slider with xdotool, and checks the pixels changed where it clicked.
#
# usage: tests/gui/shot.sh <voirs-standalone binary> [--out DIR] [plugin...]
#   plugin: converter singer spatializer speech-track (default: all four)
#   --out   PNGs and results.txt per plugin (default: <workspace>/target/gui)
# Builds nothing: build the binary first (cargo build --release -p voirs-standalone).
# Needs (Debian 12): xvfb, xdotool, imagemagick (import, convert), x11-utils (xwininfo), python3;
# the editor renders with Mesa's software OpenGL (libgl1-mesa-dri) when no GPU is present.
# Exit status: 0 all checks passed, 1 a check failed, 2 a tool or the binary is missing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-}
[ -n "$BIN" ] && shift || { sed -n '2,12p' "$0" >&2; exit 2; }
OUT="$ROOT/target/gui"
PLUGINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    *) PLUGINS+=("$1"); shift ;;
  esac
done
[ ${#PLUGINS[@]} -gt 0 ] || PLUGINS=(converter singer spatializer speech-track)

missing() { echo "missing: $*" >&2; exit 2; }
[ -x "$BIN" ] || missing "$BIN (cargo build --release -p voirs-standalone)"
for tool in Xvfb xdotool import convert xwininfo python3; do
  command -v "$tool" >/dev/null || missing "$tool (apt-get install xvfb xdotool imagemagick x11-utils python3)"
done
BIN=$(readlink -f "$BIN")
ANALYSE="python3 $HERE/analyse.py"

XPID= APID=
cleanup() {
  [ -n "$APID" ] && kill "$APID" 2>/dev/null || true
  [ -n "$XPID" ] && kill "$XPID" 2>/dev/null || true
}
trap cleanup EXIT

# A private X server on the first free display number.
DNUM=99
while [ -e "/tmp/.X$DNUM-lock" ] || [ -e "/tmp/.X11-unix/X$DNUM" ]; do DNUM=$((DNUM + 1)); done
export DISPLAY=":$DNUM"
mkdir -p "$OUT"
Xvfb "$DISPLAY" -screen 0 1280x1024x24 -nolisten tcp > "$OUT/xvfb.log" 2>&1 &
XPID=$!
for _ in $(seq 50); do xwininfo -root > /dev/null 2>&1 && break; sleep 0.1; done
xwininfo -root > /dev/null 2>&1 || { cat "$OUT/xvfb.log"; missing "a working Xvfb on $DISPLAY"; }
export LIBGL_ALWAYS_SOFTWARE=1

# Top-level windows bigger than 50x50 px (the editor; Xvfb has no window manager).
windows() { xwininfo -root -children | awk '$1 ~ /^0x/ && match($0, /[0-9]+x[0-9]+\+/) {
  split(substr($0, RSTART, RLENGTH - 1), s, "x"); if (s[1] > 50 && s[2] > 50) print $1 }'; }
snap() { import -window "$WIN" "PNG24:$1"; }
colours() { convert "$1" -format '%k' info:; }

FAILED=0
shoot() {
  local plugin=$1 dir="$OUT/$1" i
  rm -rf "$dir"
  mkdir -p "$dir"
  local res="$dir/results.txt" log="$dir/standalone.log"
  local A="$ANALYSE --name $plugin --results $res"
  echo "== $plugin: opening the editor"
  "$BIN" "$plugin" --backend dummy > "$log" 2>&1 &
  APID=$!
  WIN=
  for _ in $(seq 150); do
    WIN=$(windows | head -1)
    [ -n "$WIN" ] && break
    kill -0 "$APID" 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$WIN" ] || { cat "$log"; echo "FAIL $plugin: no editor window appeared"; return 1; }
  local geom W H
  geom=$(xwininfo -id "$WIN" | awk '/Width:/{w=$2} /Height:/{h=$2} END{print w" "h}')
  read -r W H <<< "$geom"
  echo "   window $WIN ${W}x${H}"
  # Wait for the first frames (software GL): until the picture has more than a handful of colours.
  for _ in $(seq 60); do
    snap "$dir/editor.png"
    [ "$(colours "$dir/editor.png")" -ge 64 ] && break
    sleep 0.25
  done
  sleep 0.5
  xdotool mousemove --window "$WIN" $((W / 2)) $((H - 3))
  sleep 0.3
  snap "$dir/editor.png"
  $A stats "$dir/editor.png" || return 1

  # 1. The Bypass toggle, right end of the header every VoiRS editor shares.
  xdotool mousemove --window "$WIN" $((W - 30)) 11
  sleep 0.2
  xdotool click 1
  sleep 0.3
  xdotool mousemove --window "$WIN" $((W / 2)) $((H - 3))   # no hover highlight in the shot
  sleep 0.5
  snap "$dir/after-bypass.png"
  $A diff "$dir/editor.png" "$dir/after-bypass.png" $((W - 75)) 0 $((W - 1)) 24 \
    --key bypass --what "Bypass toggled" --min-changed 150 || return 1

  # 2. The first parameter slider (Output Gain): drag it to the left.
  local box x0 y0 x1 y1
  box=$($ANALYSE find-slider "$dir/after-bypass.png") || { echo "FAIL $plugin: no slider found"; return 1; }
  read -r x0 y0 x1 y1 <<< "$box"
  local y=$(((y0 + y1) / 2)) from=$((x0 + (x1 - x0) * 3 / 4)) to=$((x0 + (x1 - x0) / 5))
  echo "   slider at ($x0,$y0)-($x1,$y1): dragging from x=$from to x=$to"
  xdotool mousemove --window "$WIN" "$from" "$y"
  sleep 0.2
  xdotool mousedown 1
  sleep 0.2
  for i in 1 2 3 4 5; do
    xdotool mousemove --window "$WIN" $((from - (from - to) * i / 5)) "$y"
    sleep 0.1
  done
  sleep 0.2
  xdotool mouseup 1
  sleep 0.2
  xdotool mousemove --window "$WIN" $((W / 2)) $((H - 3))
  sleep 0.5
  snap "$dir/after-slider.png"
  # The box: the slider's row, from the label on the left to the value box on the right.
  $A diff "$dir/after-bypass.png" "$dir/after-slider.png" 0 $((y0 - 4)) $((W - 1)) $((y1 + 4)) \
    --key slider --what "slider dragged" --min-changed 150 || return 1

  kill -0 "$APID" 2>/dev/null || { cat "$log"; echo "FAIL $plugin: the standalone exited"; return 1; }
  echo "$plugin.standalone_alive=1" >> "$res"
  kill "$APID"
  wait "$APID" 2>/dev/null || true
  APID=
}

for p in "${PLUGINS[@]}"; do
  start=$(date +%s)
  if shoot "$p"; then status=ok; else status=FAILED; FAILED=1; fi
  if [ -n "$APID" ]; then kill "$APID" 2>/dev/null || true; wait "$APID" 2>/dev/null || true; APID=; fi
  echo "== $p: $status ($(( $(date +%s) - start )) s)"
  [ -d "$OUT/$p" ] && echo "$p.status=$status" >> "$OUT/$p/results.txt"
  echo "   screenshots: $OUT/$p/{editor,after-bypass,after-slider}.png"
done
exit $FAILED
