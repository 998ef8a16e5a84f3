#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine to a verdict:
#   1. installs what is missing (scripts/install-deps.sh: Debian packages, Java, Kafka jars)
#   2. dev build (warnings as errors): unit, threads, crash and integration tests; the integration
#      tests run the real binary against a real Kafka and a real Mosquitto that ctest starts
#   3. asan build (AddressSanitizer + UndefinedBehaviorSanitizer): the same tests
#   4. tsan build (ThreadSanitizer): the same tests. librdkafka starts its threads and takes its
#      locks through C11 thrd_create/mtx_lock, which GCC's TSan does not intercept; in that
#      build every executable routes them through pthreads (cmake/tsan_c11_threads.cc)
#   5. fuzz build (clang libFuzzer + ASan/UBSan): the frame decoder, the JSON key
#      extraction and the REST Proxy body decoder, TRIBUTARY_FUZZ_SECONDS (default 45) each;
#      0 skips it
#   6. the Debian package (tests/package/package_test.sh) from the dev binary: built, checked
#      with lintian, installed, run against a real Kafka and Mosquitto, removed and purged
#   7. the demo (scripts/demo.sh) on the dev build, so the README's first command keeps working
#
#   scripts/test.sh                 # everything
#   TRIBUTARY_PRESETS="dev" scripts/test.sh   # only some builds
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PRESETS="${TRIBUTARY_PRESETS:-dev asan tsan}"
JOBS="${TRIBUTARY_JOBS:-$(nproc)}"

step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

step "installing dependencies"
scripts/install-deps.sh

for preset in $PRESETS; do
  step "$preset: configure and build"
  cmake --preset "$preset" > /dev/null
  cmake --build --preset "$preset" -j "$JOBS"
  labels='unit|threads|crash|integration'
  # The power-loss test (root, loop devices) runs once, in the plain build.
  [ "$preset" = dev ] && labels='unit|threads|crash|powerloss|integration'
  step "$preset: tests ($labels)"
  ctest --test-dir "build/$preset" -L "$labels" -j 2 --output-on-failure --timeout 300
done

FUZZ_SECONDS="${TRIBUTARY_FUZZ_SECONDS:-45}"
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  step "fuzz: ${FUZZ_SECONDS}s per target"
  scripts/fuzz.sh "$FUZZ_SECONDS"
fi

if [[ " $PRESETS " == *" dev "* ]]; then
  step "Debian package: build, lintian, install, events over UDP/HTTP/MQTT, remove, purge"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env TRIBUTARY_BINARY=build/dev/app/tributary tests/package/package_test.sh
  step "demo (dev build)"
  TRIBUTARY_DEMO_PRESET=dev scripts/demo.sh > build/demo.log 2>&1 || { tail -40 build/demo.log; exit 1; }
  grep -a 'demo done' build/demo.log
fi

step "all test runs passed"
