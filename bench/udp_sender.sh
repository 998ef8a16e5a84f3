#!/usr/bin/env bash
# How fast tributary-load's UDP sender goes, against a local sink that only counts
# (tributary-load udp-sink). Prints one line per configuration. Bounded: 3 s each.
#
#   bench/udp_sender.sh            # after scripts/install-deps.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake --preset release > /dev/null
cmake --build --preset release --target tributary-load > /dev/null
B="$ROOT/build/release/tools/load/tributary-load"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
PORT=$((30000 + RANDOM % 20000))

run() {  # THREADS GSO GRO
  "$B" udp-sink --listen "127.0.0.1:$PORT" --duration 6s --gro "$3" > "$OUT/sink" &
  local sink=$!
  sleep 0.3
  "$B" udp --target "127.0.0.1:$PORT" --topic bench --log "$OUT/log" --duration 3s \
    --size 128 --threads "$1" --gso "$2" 2> /dev/null > "$OUT/send"
  wait "$sink"
  printf 'threads=%s gso=%-3s sink_gro=%-3s | %s | %s\n' "$1" "$2" "$3" \
    "$(grep -o 'rate=[0-9]*/s' "$OUT/send")" "$(cut -d' ' -f2,3,6,7 "$OUT/sink")"
}

echo "UDP sender, 128-byte datagrams, 3 s per run (sender rate | what the sink saw)"
run 1 off off
run 1 on off
run 2 on off
run 1 on on
run 2 on on
