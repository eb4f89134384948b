#!/bin/sh
# tests/fuzz/run.sh: builds the libFuzzer targets with clang (ASan + UBSan)
# in build-fuzz/ and runs each for FUZZ_SECONDS (default 60) on a copy of
# its committed corpus. Prints executions per target and crashes found;
# exits 1 if any target crashed, leaked or timed out.
#
#   tests/fuzz/run.sh                  build, then run every target 60 s
#   FUZZ_SECONDS=600 tests/fuzz/run.sh fuzz_ingest   one target, longer
#   tests/fuzz/run.sh --regen          rewrite corpus/ with the generator
#   tests/fuzz/run.sh --no-build       run only (ctest's fuzz_smoke)
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default SRC/build-fuzz),
# FUZZ_JOBS (parallel targets, default 1). Findings land in
# BUILD/fuzz-work/TARGET/ (new inputs) and BUILD/fuzz-work/crashes/.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$SRC/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
ALL="fuzz_batch fuzz_event fuzz_ack fuzz_catalogue fuzz_config fuzz_import_jsonl fuzz_ingest
    fuzz_csv_import fuzz_xlsx fuzz_replay fuzz_subscribe fuzz_http_query"
build=1 regen=0
while [ $# -gt 0 ]; do
    case "$1" in
    --no-build) build=0 ;;
    --regen) regen=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "Usage: run.sh [--no-build] [--regen] [TARGET...]" >&2; exit 64 ;;
    *) break ;;
    esac
    shift
done
TARGETS=${*:-$ALL}

if [ $build = 1 ]; then
    mkdir -p "$BUILD"
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DFINSAM_FUZZ=ON -DFINSAM_SANITIZE=address,undefined >"$BUILD/configure.log" 2>&1 ||
        { cat "$BUILD/configure.log"; exit 1; }
    # shellcheck disable=SC2086
    cmake --build "$BUILD" -j "$(nproc)" --target $TARGETS fuzz_gen_corpus >"$BUILD/build.log" 2>&1 ||
        { tail -40 "$BUILD/build.log"; exit 1; }
fi
if [ $regen = 1 ]; then
    "$BUILD/fuzz/fuzz_gen_corpus" "$SRC/tests/fuzz/corpus"
    echo "corpus regenerated in $SRC/tests/fuzz/corpus"
    exit 0
fi

WORK=$BUILD/fuzz-work
mkdir -p "$WORK/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
    t=$1
    log=$WORK/$t.log
    mkdir -p "$WORK/$t"
    extra="" asan=$ASAN_OPTIONS
    # options.h: config string copies live until exit, so a repeated key
    # "leaks" its first copy by design: no leak checks for this target.
    if [ "$t" = fuzz_config ]; then extra="-detect_leaks=0" asan="$asan:detect_leaks=0"; fi
    rc=0
    # The work dir comes first: libFuzzer adds new inputs there, never to
    # the committed corpus.
    # shellcheck disable=SC2086
    ASAN_OPTIONS=$asan "$BUILD/fuzz/$t" "$WORK/$t" "$SRC/tests/fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" \
        -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$WORK/crashes/$t-" $extra >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
    crashes=$(find "$WORK/crashes" -name "$t-*" | wc -l)
    printf '%-20s %4ss  executions=%-10s cov=%-6s exit=%s crashes=%s\n' "$t" "$SECONDS_EACH" \
        "${runs:-?}" "${cov:-?}" "$rc" "$crashes"
    if [ "$rc" != 0 ]; then
        grep -m1 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log" || true
        echo "  log: $log"
        return 1
    fi
}

# Stale crash files from an earlier run would be counted again.
for t in $TARGETS; do rm -f "$WORK/crashes/$t-"*; done
failed=0
jobs=${FUZZ_JOBS:-1}
if [ "$jobs" -gt 1 ]; then
    for t in $TARGETS; do
        (run_one "$t" >"$WORK/$t.summary" 2>&1 || echo FAILED >>"$WORK/$t.summary") &
        while [ "$(jobs -p | wc -l)" -ge "$jobs" ]; do sleep 1; done
    done
    wait
    for t in $TARGETS; do
        cat "$WORK/$t.summary"
        grep -q FAILED "$WORK/$t.summary" && failed=1
    done
else
    for t in $TARGETS; do run_one "$t" || failed=1; done
fi
[ $failed = 0 ] && echo "fuzz: all targets clean (crashes=0)" || echo "fuzz: FAILURES above"
exit $failed
