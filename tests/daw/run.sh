#!/bin/bash
# Real-DAW check: Ardour 7 renders each VoiRS VST3 headlessly and check.py verifies the audio.
#
# usage: tests/daw/run.sh [--bundles DIR] [--out DIR] [plugin...]
#   plugin: converter spatializer spatializer-mono singer speech-track (default: all)
#   --bundles  where the release .vst3 bundles are (default: <workspace>/target/bundled)
#   --out      per plugin: session, renders, logs, results.txt (default: <workspace>/target/daw)
#
# Needs (Debian 12): ardour (ardour7-lua, ardour7-export, ardour-vst3-scanner), python3.
# Installs copies of the bundles into ~/.vst3 (Ardour only loads VST3s from the standard paths).
# Exit status: 0 all checks passed, 1 a check failed, 2 a tool or bundle is missing.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUNDLES="$ROOT/target/bundled"
OUT="$ROOT/target/daw"
PLUGINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bundles) BUNDLES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) PLUGINS+=("$1"); shift ;;
  esac
done
[ ${#PLUGINS[@]} -gt 0 ] || PLUGINS=(converter spatializer spatializer-mono singer speech-track)

missing() { echo "missing: $*" >&2; exit 2; }
SCANNER=/usr/lib/ardour7/ardour-vst3-scanner
for tool in ardour7-lua ardour7-export python3; do
  command -v "$tool" >/dev/null || missing "$tool (apt-get install ardour python3)"
done
[ -x "$SCANNER" ] || missing "$SCANNER (apt-get install ardour)"

mkdir -p "$OUT"
RESULTS=/dev/null
FAILED=0

# install_bundle voirs-converter: copy the release bundle into ~/.vst3 and have Ardour scan it
# (luasession does not scan by itself; it reads the scanner's cache in ~/.cache/ardour7/vst).
install_bundle() {
  local src="$BUNDLES/$1.vst3"
  [ -d "$src" ] || missing "$src (cargo xtask bundle -p $1 --release)"
  mkdir -p ~/.vst3
  rm -rf ~/.vst3/"$1.vst3"
  cp -r "$src" ~/.vst3/
  # Ardour ignores a cache entry that is not strictly newer than the module (1 s mtime resolution).
  find ~/.vst3/"$1.vst3" -exec touch -d "-10 seconds" {} +
  LD_LIBRARY_PATH=/usr/lib/ardour7 "$SCANNER" -f -q ~/.vst3/"$1.vst3"
}

# render NAME KIND PLUGIN_NAME [INPUTS]: record a take and save the two snapshots.
render() {
  local name=$1 kind=$2 plugin=$3 inputs=${4:-2} dir="$OUT/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  RESULTS="$dir/results.txt"
  : > "$RESULTS"
  echo "== $name: recording through \"$plugin\" in Ardour"
  local attempt
  for attempt in 1 2; do
    rm -rf "$dir/session"
    if SESSION_DIR="$dir/session" PLUGIN_NAME="$plugin" KIND="$kind" INPUTS="$inputs" GAIN_DB=-6 \
      ardour7-lua "$HERE/render.lua" > "$dir/render.log" 2>&1; then
      break
    fi
    cat "$dir/render.log"
    # Seen once in ~20 runs: Ardour 7.3 aborts while registering the new track's ports
    # ("Port already exists"), before the plugin processed anything. Retry that case once.
    if [ $attempt = 1 ] && grep -q 'Port already exists' "$dir/render.log"; then
      echo "   Ardour aborted while creating the track (port registration); retrying once"
      echo "$name.ardour_port_abort_retry=1" >> "$RESULTS"
      continue
    fi
    echo "FAIL $name: the Ardour session script failed"
    return 1
  done
  grep -E '^(RESULT|param)' "$dir/render.log" | sed "s/^/   /"
  grep -q '^RESULT saved=1' "$dir/render.log" || { cat "$dir/render.log"; return 1; }
  sed -n "s/^RESULT /$name./p" "$dir/render.log" >> "$RESULTS"
}

# export_snapshots NAME: render the "unity" and "gain" snapshots to unity.wav and gain.wav.
export_snapshots() {
  local name=$1 dir="$OUT/$1" snap
  local attempt rc
  for snap in unity gain; do
    # ardour7-export 7.3 sometimes corrupts its own heap while tearing down the export channels
    # and aborts in glibc ("double free or corruption", "free(): invalid next size"). Measured
    # here: 5 aborts in 50 exports of a session with no plugin at all, 2 in 40 with a VoiRS
    # plugin, always with the same stack (PortExportChannel::~PortExportChannel). Only that
    # abort is retried, at most twice, and each retry is recorded in results.txt.
    for attempt in 1 2 3; do
      rm -f "$dir/$snap.wav"
      rc=0
      ardour7-export -b float -o "$dir/$snap.wav" "$dir/session" "$snap" > "$dir/export-$snap.log" 2>&1 || rc=$?
      [ $rc = 0 ] && break
      if [ $attempt -lt 3 ] && [ $rc = 134 ] \
        && grep -qE 'double free or corruption|free\(\): invalid|munmap_chunk\(\): invalid|malloc\(\)' "$dir/export-$snap.log"; then
        echo "   ardour7-export aborted in its heap teardown ($(tail -c 80 "$dir/export-$snap.log" | tr -d '\n')); retrying"
        echo "$name.ardour_export_abort_retry_$snap=$attempt" >> "$RESULTS"
        continue
      fi
      cat "$dir/export-$snap.log"; echo "FAIL $name: export of snapshot $snap failed (exit $rc)"; return 1
    done
    [ -s "$dir/$snap.wav" ] || { echo "FAIL $name: export of snapshot $snap wrote nothing"; return 1; }
  done
}

# take_of NAME: the MIDI file the "unity" snapshot's region plays (saving snapshots may write
# copies of the take under other names).
take_of() {
  local src
  src=$(grep -o '<Source name="[^"]*\.mid"' "$OUT/$1/session/unity.ardour" | head -1 | sed 's/.*name="//; s/"$//')
  [ -n "$src" ] && find "$OUT/$1/session/interchange" -name "$src" | grep .
}

latency_of() { sed -n 's/^RESULT latency_samples=//p' "$OUT/$1/render.log"; }

check_effect() {
  local name=$1 files
  files=$(find "$OUT/$name/session/interchange" -name '*.wav' | sort)
  # shellcheck disable=SC2086  # one path per recorded channel, no spaces (generated names)
  python3 "$HERE/check.py" effect --name "$name" --results "$RESULTS" \
    --input $files --unity "$OUT/$name/unity.wav" --gain "$OUT/$name/gain.wav" \
    --gain-db -6 --latency "$(latency_of "$name")"
}

# The Speech Track plays a clip chosen in its editor; the clip path is part of the plugin state
# the session stores, so the test writes it there (as a saved session would hold it).
set_clip() {
  local name=$1 dir="$OUT/$1" snap
  python3 "$HERE/tools.py" make-clip "$dir/clip.wav"
  for snap in unity gain; do
    python3 "$HERE/tools.py" set-vst3-field "$dir/session/$snap.ardour" "VoiRS Speech Track" clip "\"$dir/clip.wav\""
  done
}

check_clip() {
  local name=$1 mid
  mid=$(take_of "$name") || { echo "FAIL $name: no MIDI take was recorded"; return 1; }
  python3 "$HERE/check.py" clip --name "$name" --results "$RESULTS" --midi "$mid" \
    --clip "$OUT/$name/clip.wav" \
    --unity "$OUT/$name/unity.wav" --gain "$OUT/$name/gain.wav" --gain-db -6
}

check_instrument() {
  local name=$1 mid
  mid=$(take_of "$name") || { echo "FAIL $name: no MIDI take was recorded"; return 1; }
  python3 "$HERE/check.py" instrument --name "$name" --results "$RESULTS" \
    --midi "$mid" --unity "$OUT/$name/unity.wav" --gain "$OUT/$name/gain.wav" --gain-db -6
}

effect() {      # effect NAME PACKAGE PLUGIN_NAME INPUTS
  install_bundle "$2" && render "$1" effect "$3" "$4" && export_snapshots "$1" && check_effect "$1"
}

instrument() {  # instrument NAME PACKAGE PLUGIN_NAME
  install_bundle "$2" && render "$1" instrument "$3" && export_snapshots "$1" && check_instrument "$1"
}

clip_player() { # clip_player NAME PACKAGE PLUGIN_NAME
  install_bundle "$2" && render "$1" instrument "$3" && set_clip "$1" && export_snapshots "$1" \
    && check_clip "$1"
}

run_one() {
  case "$1" in
    converter)        effect converter voirs-converter "VoiRS Voice Converter" 2 ;;
    spatializer)      effect spatializer voirs-spatializer "VoiRS Spatializer" 2 ;;
    spatializer-mono) effect spatializer-mono voirs-spatializer "VoiRS Spatializer" 1 ;;
    singer)           instrument singer voirs-singer "VoiRS Singer" ;;
    speech-track)     clip_player speech-track voirs-speech-track "VoiRS Speech Track" ;;
    *) echo "unknown plugin $1" >&2; return 2 ;;
  esac
}

for p in "${PLUGINS[@]}"; do
  start=$(date +%s)
  if run_one "$p"; then status=ok; else status=FAILED; FAILED=1; fi
  echo "== $p: $status ($(( $(date +%s) - start )) s)"
  [ -d "$OUT/$p" ] && echo "$p.status=$status" >> "$OUT/$p/results.txt"
  echo "   results: $OUT/$p/results.txt"
done
exit $FAILED
