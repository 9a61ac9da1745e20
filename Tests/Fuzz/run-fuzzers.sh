#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for RUNS inputs (default 10,000,000).
#
#   Tests/Fuzz/run-fuzzers.sh [RUNS] [TARGET...]      TARGET: packet pm-block udp-framing pcp pcp-server cpe-pcp
#
# Each fuzzer starts from its seed corpus Tests/Fuzz/corpus/<target> (read only: new inputs go
# to a scratch corpus in a temporary directory, which is not kept) and saves crashing inputs in a
# temporary artifact directory that is printed. Prints one line per target and exits non-zero if
# any target crashed, leaked, timed out or did not build.
#
# Environment: SCRATCH (default .build-fuzz), FUZZ_LOG_DIR (keep full logs there; default: a
# temporary directory), FUZZ_EXTRA (extra libFuzzer flags, e.g. "-seed=1").
#
# Build notes (Swift 6.3.1): a release build with --sanitize=fuzzer instruments for ASan but
# NOT for coverage (libFuzzer then says "no interesting inputs"), so coverage is requested
# explicitly with -sanitize-coverage. Debug builds get coverage either way.
set -uo pipefail

cd "$(dirname "$0")/../.."
RUNS=${1:-10000000}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=(packet pm-block udp-framing pcp pcp-server cpe-pcp); fi
SCRATCH=${SCRATCH:-.build-fuzz}
LOG_DIR=${FUZZ_LOG_DIR:-$(mktemp -d /tmp/plainmode-fuzz-logs.XXXXXX)}
mkdir -p "$LOG_DIR"

# The Swift runtime's backtracer reads process memory from a helper thread, which ASan reports
# as a second, bogus crash; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no

FLAGS=(--scratch-path "$SCRATCH" --sanitize=fuzzer --sanitize=address
       -Xswiftc -DFUZZING -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp)

max_len() {
    case "$1" in
        pcp) echo 1200 ;;   # PCP messages are at most 1100 bytes; a little more tests the limit.
        pcp-server | cpe-pcp) echo 4096 ;;   # a few requests in a row.
        *) echo 2048 ;;
    esac
}

status=0
summary=()
for target in "${TARGETS[@]}"; do
    product="fuzz-$target"
    if ! ls "Tests/Fuzz/$product"/*.swift >/dev/null 2>&1; then
        summary+=("$(printf '%-18s %12s %10s  %s' "$product" - - "SKIPPED (no sources)")")
        continue
    fi
    config=release
    if ! swift build -c release --product "$product" "${FLAGS[@]}" >"$LOG_DIR/$product.build.log" 2>&1; then
        echo "$product: release build failed (see $LOG_DIR/$product.build.log), trying debug" >&2
        config=debug
        if ! swift build -c debug --product "$product" "${FLAGS[@]}" >>"$LOG_DIR/$product.build.log" 2>&1; then
            summary+=("$(printf '%-18s %12s %10s  %s' "$product" - - "BUILD FAILED ($LOG_DIR/$product.build.log)")")
            status=1
            continue
        fi
    fi
    binary="$(swift build -c "$config" --show-bin-path "${FLAGS[@]}" 2>/dev/null)/$product"

    work=$(mktemp -d "/tmp/plainmode-fuzz-$target.XXXXXX")
    mkdir -p "$work/corpus" "$work/artifacts"
    log="$LOG_DIR/$product.log"
    # shellcheck disable=SC2086
    "$binary" -runs="$RUNS" -max_len="$(max_len "$target")" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" ${FUZZ_EXTRA:-} \
        "$work/corpus" "Tests/Fuzz/corpus/$target" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ] && [ "${runs:-0}" -ge "$RUNS" ]; then
        result="OK ($config) $(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)"
        rm -rf "$work"
    else
        status=1
        artifacts=$(ls "$work/artifacts" 2>/dev/null | tr '\n' ' ')
        result="FAILED rc=$rc ($config) artifacts in $work/artifacts: ${artifacts:-none}; log $log"
        grep -E "ERROR: libFuzzer|ERROR: AddressSanitizer|Fatal error|Precondition failed|SUMMARY" "$log" | head -5 >&2
    fi
    summary+=("$(printf '%-18s %12s %10s  %s' "$product" "${runs:--}" "${speed:--}" "$result")")
done

printf '%-18s %12s %10s  %s\n' target runs exec/s result
printf '%s\n' "${summary[@]}"
echo "logs: $LOG_DIR"
exit $status
