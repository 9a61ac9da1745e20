#!/usr/bin/env bash
# PCP server benchmark (root, issue 16): MAP requests answered per second and their latency
# (p50, p90, p99) by the concentrator's PCP server (--pcp-listen), side by side in one run with
# the floor of this box: pcpecho, which answers every datagram with its own bytes and does no PCP
# work, so the ratio is what plainmode's PCP handling costs over the sockets alone.
#
#   sudo Bench/run-pcp-benchmarks.sh
#
# The client is Bench/pcp/pcpload (C, -O2) in the CPE namespace, from the CPE's link A address:
# it makes MAPPINGS mappings, then renews them round robin (what a server mostly hears), with 1
# request in flight (latency) and with WINDOW in flight (throughput), SECONDS each, ROUNDS
# rounds alternating the two servers. Prints medians over rounds and writes every sample to
# $OUT/raw.tsv and the table to $OUT/results.txt.
#
# Environment (defaults): PREFIX=pmpcp, ROUNDS=3, SECONDS_EACH=5, MAPPINGS=64, WINDOW=16,
# BUILD=1 (swift build -c release of plainmode into .build-bench-pcp; 0 reuses it),
# OUT=Bench/.build/pcp-bench.
#
# Topology: PREFIX=$PREFIX Deploy/testbed.sh up --no-shaping (no delay: the server's own cost is
# what is measured); concentrator namespace: plainmode concentrator --listen 198.51.100.1:5000
# --pool 192.0.2.128/27 --allow 198.51.100.0/29 --ephemeral-leases --pcp-listen 198.51.100.1
# --pcp-rate-limit 1000000 --pcp-max-mappings 4096 (the rate limit and quota out of the way), or
# pcpecho 198.51.100.1. Every process is stopped by pid and the testbed taken down on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
PREFIX=${PREFIX:-pmpcp}
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-5}
MAPPINGS=${MAPPINGS:-64}
WINDOW=${WINDOW:-16}
BUILD=${BUILD:-1}
OUT=${OUT:-$here/.build/pcp-bench}
SCRATCH=$repo/.build-bench-pcp
BENCH_NAME=pcp-bench
# shellcheck source=Bench/bench-lib.sh
source "$here/bench-lib.sh"

int_in ROUNDS "$ROUNDS" 1 20
int_in SECONDS_EACH "$SECONDS_EACH" 1 60
int_in MAPPINGS "$MAPPINGS" 1 1000
int_in WINDOW "$WINDOW" 1 "$MAPPINGS"
[[ $BUILD == [01] ]] || die "BUILD must be 0 or 1"
[[ $PREFIX =~ ^[A-Za-z0-9_.-]{1,20}$ ]] || die "PREFIX must be 1-20 characters of [A-Za-z0-9_.-]"
((EUID == 0)) || die "needs root (network namespaces)"

CPE=$PREFIX-cpe CONC=$PREFIX-conc SERVER=198.51.100.1 CLIENT=198.51.100.2
mkdir -p "$OUT"
RAW=$OUT/raw.tsv
: >"$RAW"
: >"$OUT/samples.jsonl"
if ((BUILD)); then
    log "building plainmode (release) into $SCRATCH"
    (cd "$repo" && swift build -c release --product plainmode --build-path "$SCRATCH" >"$OUT/build.log" 2>&1) || die "build failed: $OUT/build.log"
fi
PLAINMODE=$SCRATCH/release/plainmode
[[ -x $PLAINMODE ]] || die "no $PLAINMODE (BUILD=1 builds it)"
gcc -O2 -Wall -o "$OUT/pcpload" "$here/pcp/pcpload.c" && gcc -O2 -Wall -o "$OUT/pcpecho" "$here/pcp/pcpecho.c" || die "cc failed"

PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" up --no-shaping >"$OUT/testbed.log" 2>&1 || die "testbed up failed: $OUT/testbed.log"

# One mapping made and renewed for a second: the server is up and answers.
answers() { nsx "$CPE" "$OUT/pcpload" "$SERVER" "$CLIENT" 1 1 1 30000 2>/dev/null | grep -q '"created":1'; }
start_server() {
    if [[ $1 == floor ]]; then
        spawn pcpecho "$CONC" "$OUT/pcpecho" "$SERVER" 3600
    else
        spawn concentrator "$CONC" "$PLAINMODE" concentrator --listen "$SERVER:5000" --pool 192.0.2.128/27 --allow 198.51.100.0/29 \
            --ephemeral-leases --pcp-listen "$SERVER" --pcp-rate-limit 1000000 --pcp-max-mappings 4096 \
            --control-socket "$OUT/conc.sock" --log-level warning
    fi
    SERVER_PID=$BG_PID
    wait_for 10 answers || die "$1 does not answer PCP: $OUT/$([[ $1 == floor ]] && echo pcpecho || echo concentrator).log"
}
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }
for ((round = 1; round <= ROUNDS; round++)); do
    order=(floor plainmode)
    ((round % 2 == 0)) && order=(plainmode floor)
    for system in "${order[@]}"; do
        start_server "$system"
        base=$((20000 + round * 1000))
        for window in 1 "$WINDOW"; do
            line=$(nsx "$CPE" "$OUT/pcpload" "$SERVER" "$CLIENT" "$MAPPINGS" "$window" "$SECONDS_EACH" "$base" 17)
            echo "$line" >>"$OUT/samples.jsonl"
            [[ $(field lost "$line") == 0 && $(field errors "$line") == 0 ]] || log "$system window $window: $line"
            record "per_second_w$window" "$system" "$round" "$(field per_second "$line")"
            for q in p50_us p90_us p99_us; do record "${q}_w$window" "$system" "$round" "$(field "$q" "$line")"; done
        done
        stop_pid "$SERVER_PID"
        rm -f "$OUT/conc.sock"
    done
done

median() { awk -F'\t' -v m="$1" -v s="$2" '$1 == m && $2 == s {print $4}' "$RAW" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
{
    echo "PCP MAP renewals, $MAPPINGS mappings, ${SECONDS_EACH} s per run, medians of $ROUNDS rounds ($(nproc) CPUs, $(uname -r))"
    printf '%-28s %14s %14s %10s\n' metric plainmode floor ratio
    for metric in per_second_w1 p50_us_w1 p99_us_w1 "per_second_w$WINDOW" "p50_us_w$WINDOW" "p90_us_w$WINDOW" "p99_us_w$WINDOW"; do
        p=$(median "$metric" plainmode) f=$(median "$metric" floor)
        printf '%-28s %14s %14s %10s\n' "$metric" "$p" "$f" "$(calc "$p / $f")"
    done
} | tee "$OUT/results.txt"
