#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and runs each for a
# bounded time from a seed corpus. Exits non-zero on any finding; the crashing input is kept
# in build/fuzz/findings/ (reproduce: build/fuzz/tests/fuzz/TARGET FILE).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     # default 60
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_PER_TARGET="${1:-60}"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz
B=build/fuzz
rm -rf "$B/findings"
mkdir -p "$B/corpus/frame" "$B/corpus/json" "$B/corpus/rest" "$B/findings"
"$B/tests/fuzz/frame_seeds" "$B/corpus/frame"
# JSON seeds: format byte (even: json, odd: ndjson), the key path, a newline, the body.
printf '0device\n{"device":"pump-7","t":21.5}' > "$B/corpus/json/object"
printf '0meta.site\n{"meta":{"site":["a",1,null,true]}}' > "$B/corpus/json/nested"
printf '1id\n{"id":"a"}\n{"id":2}\r\n\n{"id":{"x":1.5e3}}\n' > "$B/corpus/json/lines"
printf '0x\n"\\u00e9\\ud83d\\ude00"' > "$B/corpus/json/unicode"
# REST Proxy seeds: format byte (even: json, odd: binary), then the body.
printf '0{"records":[{"key":"k","value":{"a":[1,2.5,null]}},{"value":"s"}]}' > "$B/corpus/rest/json"
printf '1{"records":[{"key":"a2V5","value":"AAEC/w=="},{"value":""}]}' > "$B/corpus/rest/binary"
for target in frame_decoder_fuzz:frame json_key_fuzz:json rest_proxy_fuzz:rest; do
  name="${target%%:*}"
  corpus="${target##*:}"
  echo "=== $name: ${SECONDS_PER_TARGET}s"
  "$B/tests/fuzz/$name" "$B/corpus/$corpus" -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$B/findings/$name-" 2>&1 |
    grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|.*ERROR|.*Test unit written)" || true
  if ls "$B/findings/$name-"* > /dev/null 2>&1; then
    echo "$name: finding(s) in $B/findings" >&2
    exit 1
  fi
done
echo "fuzz: no findings"
