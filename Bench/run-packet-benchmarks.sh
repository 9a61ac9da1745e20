#!/usr/bin/env bash
# Packet-plane benchmarks (issue 4): plainmode's NFQUEUE paths against the same hosts without
# plainmode, side by side in one run (root), reported as ratios:
#   1. throughput: datagrams/s from the Internet host to a LAN host through a UDP binding
#      (concentrator NFQUEUE -> record on the binding's MPTCP connection -> CPE -> datagram),
#      against the ceiling of any NFQUEUE consumer on that path: the same packets routed plainly
#      through one NFQUEUE pass that accepts everything (Bench/packet/nfq_accept.c); three
#      measures: flat out (the sender as fast as it can), sustained (the highest rate delivered
#      with at most LOSS_PCT loss, RFC 2544 throughput with a tolerance) and the whole box's CPU
#      time per datagram at EFFICIENCY_RATE
#   2. SYN-gate latency: SYN to SYN-ACK of sequential MPTCP connect()s to the concentrator, with
#      the gate (concentrator-net.sh --gate, daemon default) and without (no --gate rules,
#      daemon --no-syn-gate); the added median is the gate's cost
#   3. UDP round-trip time and jitter, LAN host <-> Internet echo, bonded against routed directly
# ROUNDS rounds of 1 and 3 (the two configurations alternating in order), then ROUNDS rounds of 2
# (gate on/off alternating); the table gives medians over the rounds. Prints the table and
# writes it to $OUT/results.txt with every raw number (raw.tsv) and log next to it. See
# Bench/README.md, "Packet plane".
#
#   sudo Bench/run-packet-benchmarks.sh
#
# Environment (defaults): PREFIX=pmpkt (namespace prefix), ROUNDS=3, DURATION=5 (seconds each
# sender runs), SIZES="100 1200" (UDP payload bytes, 16..1400), RATE=0 (sender datagrams/s; 0 = as
# fast as it can), SETTLE=2 (seconds the sink keeps reading after the sender stops),
# SYN_COUNT=2000 and SYN_WARMUP=200 (measured and unmeasured connects per run),
# RTT_COUNT=2000, RTT_SIZE=100, RTT_INTERVAL_US=1000 (probes per run, bytes, spacing),
# THREADS=2 (plainmode --threads), QUEUES=0:1 (NFQUEUE numbers of every consumer and rule),
# TESTS="throughput syn rtt" (a subset runs only those), BUILD=1 (swift build -c release into
# .build-bench-packet; 0 uses $PLAINMODE as it is), PLAINMODE (the binary with BUILD=0; default
# .build-bench-packet/release/plainmode if it exists, else .build/debug/plainmode),
# PLAINMODE_ARGS (extra flags for both daemons; the table then no longer shows the defaults),
# OUT=Bench/.build/packet-bench, PERF=0 (1: `perf record -a -g` over each throughput send, to
# $OUT/perf.TAG.data; read it with `perf report -i FILE --sort comm,sym`), SEARCH=1 (0: no
# sustained search), LOSS_PCT=0.1, TRIAL=3 and WARMUP=1 (seconds of each search or efficiency
# trial, measured and not), SEARCH_STEPS=6, EFFICIENCY_RATE=50000 (datagrams/s; 0: none),
# UDP_CC=cubic (--udp-congestion-control of both daemons; empty: the kernel's default, which on
# this host is BBR, under which the UDP connections over veth, with no propagation delay, stop
# taking records for tens of milliseconds at a time; Debian 12's default is cubic).
#
# Topology: Deploy/testbed.sh up --no-shaping under PREFIX (namespaces $PREFIX-lan/-cpe/-conc/-srv,
# addresses in its header; it runs Deploy/concentrator-net.sh and Deploy/cpe-net.sh without
# --udp or --gate). Two configurations are switched between, only inside those namespaces:
#   plainmode ("bonded"): concentrator-net.sh --pool 192.0.2.128/27 --pool 2001:db8:1::/48 --udp
#       --queues QUEUES in conc, cpe-net.sh --lan-if lan0 --endpoint 198.51.100.6@wanb --endpoint
#       2001:db8:b::2@wanb --udp --queues QUEUES in cpe, and the daemons as the integration tests
#       start them (Tests/IntegrationTests/UDPTests.swift):
#         plainmode concentrator --listen 198.51.100.1:5000 --listen [2001:db8:a::1]:5000
#             --pool 192.0.2.128/27 --allow 198.51.100.0/29 --allow 2001:db8:a::/63
#             --delegated-prefix 2001:db8:a::/64=2001:db8:1::/48
#             --control-socket $OUT/conc.sock --threads THREADS --queues QUEUES --log-level notice
#         plainmode cpe --concentrator 198.51.100.1:5000 --concentrator6 [2001:db8:a::1]:5000
#             --control-socket $OUT/cpe.sock --threads THREADS --queues QUEUES --log-level notice
#       The server has only the testbed's routes (to the pool), the conc does not forward: a
#       datagram reaches the LAN host only through the daemons.
#   plain ("ceiling", "direct"): no daemons, no --udp rules (both scripts re-run without --udp),
#       net.ipv4.ip_forward=1 in conc and a route on the server for 192.0.2.0/26 via 203.0.113.1:
#       the LAN host and the server reach each other by routing (the CPE already forwards).
#
# 1. Throughput, each size in SIZES, one flow 203.0.113.2:9000 -> 192.0.2.2:40000.
#    plainmode: the LAN host sends one datagram from 192.0.2.2:40000 to 203.0.113.2:9000 (python3),
#    a receiver there reports its source (a pool address and port); `plainmode ctl bindings
#    --json` must show a udp binding to 203.0.113.2:9000 with that "external" endpoint. Then
#    `udpblast sink --bind 192.0.2.2 --port 40000` on the LAN host and `udpblast send EXTERNAL
#    --bind 203.0.113.2:9000 --size B --duration DURATION` on the server.
#    ceiling: in conc `iptables -t mangle -A PREROUTING -i up0 -p udp -d 192.0.2.0/26 -j NFQUEUE
#    --queue-balance QUEUES --queue-bypass` and `nfq_accept -q QUEUES` (one thread per queue,
#    batch accept verdicts, fail-open), the same sink and `udpblast send 192.0.2.2 40000`.
#    Reported: datagrams/s received at the sink (received / (last - first arrival)), loss
#    (1 - received / sent), and the share of the sent datagrams that went through the queue
#    consumer (nfq_accept's count; plainmode's nfq_received). Both queues use fail-open: a full
#    queue lets packets pass unqueued, which the ceiling then routes to the sink and plainmode's
#    conc cannot deliver (no route, no forwarding): read the throughput row with that share.
#    `ctl stats --json` of both daemons before and after each run: every moved counter that
#    names a drop, an overrun, an error, a blocked send or a backlog is listed under the table
#    (udp_records_dropped_backlog_full, inbound_udp_*, nfq_*).
#    Sustained, after each flat-out run: if that run lost at most LOSS_PCT, its received rate
#    stands (the sender was the limit); else trials at a rate, bisected SEARCH_STEPS times from
#    half the flat-out sender rate between the best passing rate and the lowest failing one. A
#    trial is `udpblast send --rate R --warmup WARMUP --duration TRIAL` (warm-up datagrams are
#    marked and left out by the sink: a connection idle since the last trial starts again from
#    a small window); pass = loss <= LOSS_PCT. Every trial is listed in $OUT/trials.tsv, a
#    plainmode one with where its datagrams went (the concentrator's nfq_received and both
#    daemons' records dropped for a full backlog, warm-up included).
#    Efficiency: one trial at EFFICIENCY_RATE per system and size; the whole box's busy time
#    from /proc/stat over the measured part (less 0.5 s at each end) x CPUs / received rate.
# 2. SYN gate, conc rules with --udp as in the plainmode configuration, the concentrator daemon
#    only (no CPE daemon, cpe-net.sh without --udp: the client is the CPE's own traffic): a C client
#    (written below, built with gcc -O2) in the CPE namespace does SYN_WARMUP + SYN_COUNT
#    sequential blocking connect()s of socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) to
#    198.51.100.1:5000, times each connect (it returns when the SYN-ACK arrives) with
#    CLOCK_MONOTONIC and closes with SO_LINGER {1, 0} (RST, no TIME_WAIT). gate: conc rules
#    re-run with --gate 198.51.100.1:5000 --queues QUEUES, daemon default (--syn-gate); nogate:
#    no --gate rules, daemon --no-syn-gate. The daemon is restarted for each run. Recorded per
#    run (raw list under the table): the gate's decisions and the conc's nfq_received (they
#    should move in gate runs only), and the MP_CAPABLE SYN-ACKs the client namespace received
#    (MPTcpExtMPCapableSYNACKRX in cpe; one per connect means no fallback to TCP). The CPE's
#    MPTCP endpoint on wanb would add a second subflow, but the RST comes first (the gate's
#    gate_accepted_join is recorded too).
# 3. RTT: `udpblast sink --echo` on 203.0.113.2:9007; `udprtt 203.0.113.2 9007 --count RTT_COUNT
#    --size RTT_SIZE --interval-us RTT_INTERVAL_US --bind 192.0.2.2:41000` on the LAN host, after
#    50 unmeasured probes from the same port (which open the binding on the bonded path).
#    bonded: the plainmode configuration; direct: the plain one without the NFQUEUE rule.
#    Reported: median, p99, jitter (mean |difference| of consecutive RTTs), loss.
#
# Every wait and loop is bounded; every process it starts is stopped by its pid and the testbed
# is torn down on exit (trap), also on failure. Traffic stays inside the namespaces it made;
# addresses are documentation ranges only.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

PREFIX=${PREFIX:-pmpkt}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SIZES=${SIZES:-100 1200}
RATE=${RATE:-0}
SETTLE=${SETTLE:-2}
SYN_COUNT=${SYN_COUNT:-2000}
SYN_WARMUP=${SYN_WARMUP:-200}
RTT_COUNT=${RTT_COUNT:-2000}
RTT_SIZE=${RTT_SIZE:-100}
RTT_INTERVAL_US=${RTT_INTERVAL_US:-1000}
THREADS=${THREADS:-2}
QUEUES=${QUEUES:-0:1}
TESTS=${TESTS:-throughput syn rtt}
BUILD=${BUILD:-1}
PLAINMODE_ARGS=${PLAINMODE_ARGS:-}
OUT=${OUT:-$here/.build/packet-bench}
PERF=${PERF:-0}
SEARCH=${SEARCH:-1}
LOSS_PCT=${LOSS_PCT:-0.1}
TRIAL=${TRIAL:-3}
WARMUP=${WARMUP:-1}
SEARCH_STEPS=${SEARCH_STEPS:-6}
EFFICIENCY_RATE=${EFFICIENCY_RATE:-50000}
UDP_CC=${UDP_CC-cubic}
SCRATCH=$repo/.build-bench-packet
BENCH_NAME=packet-bench
# shellcheck source=Bench/bench-lib.sh
source "$here/bench-lib.sh"

int_in ROUNDS "$ROUNDS" 1 10
int_in DURATION "$DURATION" 1 60
int_in RATE "$RATE" 0 10000000
int_in SETTLE "$SETTLE" 1 30
int_in SYN_COUNT "$SYN_COUNT" 100 100000
int_in SYN_WARMUP "$SYN_WARMUP" 0 10000
int_in RTT_COUNT "$RTT_COUNT" 100 100000
int_in RTT_SIZE "$RTT_SIZE" 16 1400
int_in RTT_INTERVAL_US "$RTT_INTERVAL_US" 0 1000000
int_in THREADS "$THREADS" 1 64
[[ -n ${SIZES// /} ]] || die "SIZES must name at least one size"
for s in $SIZES; do int_in "SIZES (each)" "$s" 16 1400; done
[[ $QUEUES =~ ^([0-9]{1,5}):([0-9]{1,5})$ ]] || die "QUEUES must be FIRST:LAST, got '$QUEUES'"
QFIRST=$((10#${BASH_REMATCH[1]})) QLAST=$((10#${BASH_REMATCH[2]}))
((QFIRST <= QLAST && QLAST <= 65535)) || die "QUEUES must be FIRST:LAST with FIRST <= LAST <= 65535, got '$QUEUES'"
QUEUES=$QFIRST:$QLAST
if ((QFIRST == QLAST)); then QUEUE_TARGET=(--queue-num "$QFIRST"); else QUEUE_TARGET=(--queue-balance "$QUEUES"); fi
[[ $BUILD == [01] ]] || die "BUILD must be 0 or 1"
[[ $PERF == [01] ]] || die "PERF must be 0 or 1"
[[ $SEARCH == [01] ]] || die "SEARCH must be 0 or 1"
[[ $LOSS_PCT =~ ^[0-9]{1,2}(\.[0-9]{1,3})?$ ]] || die "LOSS_PCT must be a percentage like 0.1 (got '$LOSS_PCT')"
int_in TRIAL "$TRIAL" 2 60
int_in EFFICIENCY_RATE "$EFFICIENCY_RATE" 0 10000000
[[ -z $UDP_CC || $UDP_CC =~ ^[A-Za-z0-9_-]{1,15}$ ]] || die "UDP_CC must be a congestion control name or empty (got '$UDP_CC')"
CC_FLAGS=()
[[ -z $UDP_CC ]] || CC_FLAGS=(--udp-congestion-control "$UDP_CC")
int_in WARMUP "$WARMUP" 0 10
int_in SEARCH_STEPS "$SEARCH_STEPS" 1 12
((PERF == 0)) || command -v perf >/dev/null || die "PERF=1 needs perf (apt-get install linux-perf)"
[[ $PREFIX =~ ^[A-Za-z0-9_.-]{1,20}$ ]] || die "PREFIX must be 1-20 characters of [A-Za-z0-9_.-]"
for t in $TESTS; do [[ $t == throughput || $t == syn || $t == rtt ]] || die "TESTS: unknown test '$t' (throughput syn rtt)"; done
[[ -n ${TESTS// /} ]] || die "TESTS must name at least one test"
((EUID == 0)) || die "needs root (network namespaces, NFQUEUE, IP_TRANSPARENT)"

LAN=$PREFIX-lan CPE=$PREFIX-cpe CONC=$PREFIX-conc SRV=$PREFIX-srv
SERVICE=198.51.100.1 SERVICE_PORT=5000
SERVER=203.0.113.2 SERVER_PORT=9000 ECHO_PORT=9007
LAN_HOST=192.0.2.2 SINK_PORT=40000 RTT_PORT=41000
CONC_SOCK=$OUT/conc.sock CPE_SOCK=$OUT/cpe.sock

mkdir -p "$OUT" "$OUT/bin" "$OUT/stats"
rm -f "$OUT"/*.log "$OUT"/raw.tsv "$OUT"/trials.tsv "$OUT"/results.txt "$OUT"/counters.txt "$OUT"/stats/*.json "$OUT"/nstat.* "$OUT"/diag-*.txt
RAW=$OUT/raw.tsv COUNTERS=$OUT/counters.txt
: >"$RAW"
: >"$COUNTERS"
T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- packages, build, tools
log "packages"
bash "$repo/Deploy/setup-debian.sh" gcc libc6-dev
for tool in ip iptables nstat gcc python3 timeout; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done
if ((BUILD)); then
    log "build plainmode (release, --scratch-path $SCRATCH)"
    (cd "$repo" && swift build -c release --product plainmode --scratch-path "$SCRATCH") >"$OUT/build.log" 2>&1 \
        || { tail -30 "$OUT/build.log" >&2; die "swift build failed (log: $OUT/build.log)"; }
    PLAINMODE=$SCRATCH/release/plainmode
elif [[ -z ${PLAINMODE:-} ]]; then
    if [[ -x $SCRATCH/release/plainmode ]]; then PLAINMODE=$SCRATCH/release/plainmode; else PLAINMODE=$repo/.build/debug/plainmode; fi
fi
[[ -x $PLAINMODE ]] || die "no plainmode binary at $PLAINMODE (BUILD=1 builds one)"
PLAINMODE=$(readlink -f "$PLAINMODE")
case $PLAINMODE in
    */release/*) BUILD_CONFIG=release ;;
    */debug/*) BUILD_CONFIG=debug ;;
    *) BUILD_CONFIG=unknown ;;
esac
BIN=$OUT/bin
gcc -O2 -Wall -Wextra -o "$BIN/udpblast" "$here/packet/udpblast.c"
gcc -O2 -Wall -Wextra -o "$BIN/udprtt" "$here/packet/udprtt.c"
gcc -O2 -Wall -Wextra -pthread -o "$BIN/nfq_accept" "$here/packet/nfq_accept.c" -lmnl -lnetfilter_queue
# The SYN-gate client: sequential blocking MPTCP connects, each timed, each closed with an RST.
cat >"$BIN/synlat.c" <<'EOF'
/* synlat ADDR PORT COUNT WARMUP TIMEOUT_MS (written by Bench/run-packet-benchmarks.sh)
 * WARMUP + COUNT sequential blocking connect()s of socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP),
 * each bounded by SO_SNDTIMEO = TIMEOUT_MS; the time of each of the last COUNT (CLOCK_MONOTONIC
 * around connect, which returns once the SYN-ACK is in); close with SO_LINGER {1, 0}. Prints
 * {"ok":n,"failed":n,"warmup_failed":n,"median_us":x,"p90_us":x,"p99_us":x,"mean_us":x,
 *  "min_us":x,"max_us":x,"first_error":"..."}; percentiles are nearest-rank. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static double pct_us(const uint64_t *v, long n, double p) {
    if (n <= 0) return 0;
    long rank = (long)(p * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)v[rank - 1] / 1e3;
}
int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: synlat ADDR PORT COUNT WARMUP TIMEOUT_MS\n"); return 2; }
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)atoi(argv[2]));
    long count = atol(argv[3]), warmup = atol(argv[4]), timeout_ms = atol(argv[5]);
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || count < 1 || warmup < 0 || timeout_ms < 1) {
        fprintf(stderr, "synlat: bad arguments\n");
        return 2;
    }
    uint64_t *lat = malloc((size_t)count * sizeof *lat);
    if (!lat) { perror("malloc"); return 1; }
    long ok = 0, failed = 0, warmup_failed = 0;
    int first_error = 0;
    for (long i = 0; i < warmup + count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);
        if (fd < 0) { perror("socket(IPPROTO_MPTCP)"); return 1; }
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        uint64_t t0 = now_ns();
        int r = connect(fd, (struct sockaddr *)&to, sizeof to);
        uint64_t t1 = now_ns();
        if (r == 0) {
            if (i >= warmup) lat[ok++] = t1 - t0;
        } else {
            if (!first_error) first_error = errno;
            if (i >= warmup) failed++; else warmup_failed++;
        }
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    double mean = 0;
    for (long i = 0; i < ok; i++) mean += (double)lat[i];
    if (ok) mean /= (double)ok;
    qsort(lat, (size_t)ok, sizeof *lat, cmp_u64);
    printf("{\"ok\":%ld,\"failed\":%ld,\"warmup_failed\":%ld,\"median_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,"
           "\"mean_us\":%.3f,\"min_us\":%.3f,\"max_us\":%.3f,\"first_error\":\"%s\"}\n",
           ok, failed, warmup_failed, pct_us(lat, ok, 0.5), pct_us(lat, ok, 0.9), pct_us(lat, ok, 0.99), mean / 1e3,
           ok ? (double)lat[0] / 1e3 : 0, ok ? (double)lat[ok - 1] / 1e3 : 0, first_error ? strerror(first_error) : "");
    free(lat);
    return 0;
}
EOF
gcc -O2 -Wall -Wextra -o "$BIN/synlat" "$BIN/synlat.c"
UDPBLAST=$BIN/udpblast UDPRTT=$BIN/udprtt NFQ_ACCEPT=$BIN/nfq_accept SYNLAT=$BIN/synlat

# JSON helpers (one small program, several verbs).
cat >"$BIN/pkt.py" <<'EOF'
import json, re, sys
def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
verb = sys.argv[1]
if verb == "get":          # get JSON KEY -> value ("" when missing)
    v = json.loads(sys.argv[2]).get(sys.argv[3])
    print("" if v is None else v)
elif verb == "binding":    # binding REMOTE < ctl bindings --json -> external of the udp binding to REMOTE
    d = json.load(sys.stdin)
    hits = [b for b in d.get("bindings", []) if b.get("protocol") == "udp" and b.get("remote") == sys.argv[2]]
    print(hits[0].get("external", "") if hits else "")
elif verb == "delta":      # delta BEFORE AFTER KEY -> after - before
    print(load(sys.argv[3]).get(sys.argv[4], 0) - load(sys.argv[2]).get(sys.argv[4], 0))
elif verb == "moved":      # moved BEFORE AFTER -> "key=delta ..." for every moved drop/error-like counter
    b, a = load(sys.argv[2]), load(sys.argv[3])
    pat = re.compile(r"drop|overrun|error|blocked|backlog|fail|too_big|malformed")
    print(" ".join(f"{k}={a[k] - b.get(k, 0)}" for k in sorted(a)
                   if isinstance(a[k], int) and a[k] != b.get(k, 0) and pat.search(k)) or "none")
EOF
pkt() { python3 "$BIN/pkt.py" "$@"; }
COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$repo" status --porcelain --untracked-files=no -- Sources Package.swift 2>/dev/null | wc -l)

# ---------------------------------------------------------------- clean-up

last_json() { grep -E '^\{' "$1" | tail -1; }

# ---------------------------------------------------------------- configurations
conc_net() { nsx "$CONC" bash "$repo/Deploy/concentrator-net.sh" --pool 192.0.2.128/27 --pool 2001:db8:1::/48 "$@" >>"$OUT/net.log" 2>&1 \
    || die "concentrator-net.sh $* failed: $(tail -5 "$OUT/net.log")"; }
cpe_net() { nsx "$CPE" bash "$repo/Deploy/cpe-net.sh" --lan-if lan0 --endpoint 198.51.100.6@wanb --endpoint 2001:db8:b::2@wanb "$@" \
    >>"$OUT/net.log" 2>&1 || die "cpe-net.sh $* failed: $(tail -5 "$OUT/net.log")"; }

CONC_PID="" CPE_PID=""
start_conc() {   # tag, extra flags
    local tag=$1; shift
    rm -f "$CONC_SOCK"
    # shellcheck disable=SC2086
    spawn "concentrator.$tag" "$CONC" "$PLAINMODE" concentrator --listen "$SERVICE:$SERVICE_PORT" --listen "[2001:db8:a::1]:$SERVICE_PORT" \
        --pool 192.0.2.128/27 --allow 198.51.100.0/29 --allow 2001:db8:a::/63 --state-dir "$OUT/state.$tag" \
        --delegated-prefix 2001:db8:a::/64=2001:db8:1::/48 --control-socket "$CONC_SOCK" --threads "$THREADS" --queues "$QUEUES" --log-level notice "${CC_FLAGS[@]}" "$@" $PLAINMODE_ARGS
    CONC_PID=$BG_PID
    wait_for 20 test -S "$CONC_SOCK" || die "concentrator did not start: $(tail -20 "$OUT/concentrator.$tag.log")"
    [[ $(cat "/proc/$CONC_PID/comm") == plainmode ]] || die "pid $CONC_PID is not plainmode"
}
start_cpe() {
    local tag=$1
    rm -f "$CPE_SOCK"
    # shellcheck disable=SC2086
    spawn "cpe.$tag" "$CPE" "$PLAINMODE" cpe --concentrator "$SERVICE:$SERVICE_PORT" --concentrator6 "[2001:db8:a::1]:$SERVICE_PORT" \
        --control-socket "$CPE_SOCK" --threads "$THREADS" --queues "$QUEUES" --log-level notice "${CC_FLAGS[@]}" $PLAINMODE_ARGS
    CPE_PID=$BG_PID
    wait_for 20 test -S "$CPE_SOCK" || die "CPE did not start: $(tail -20 "$OUT/cpe.$tag.log")"
}
stop_conc() { [[ -z $CONC_PID ]] || stop_pid "$CONC_PID"; CONC_PID=""; }
stop_cpe() { [[ -z $CPE_PID ]] || stop_pid "$CPE_PID"; CPE_PID=""; }
alive() {
    [[ -z $CONC_PID ]] || running "$CONC_PID" || die "plainmode concentrator exited: $(tail -20 "$OUT"/concentrator.*.log)"
    [[ -z $CPE_PID ]] || running "$CPE_PID" || die "plainmode cpe exited: $(tail -20 "$OUT"/cpe.*.log)"
}
stats_to() {   # conc|cpe FILE
    if [[ $1 == conc ]]; then nsx "$CONC" "$PLAINMODE" ctl stats --json --control-socket "$CONC_SOCK" >"$2" 2>>"$OUT/ctl.log" || echo '{}' >"$2"
    else nsx "$CPE" "$PLAINMODE" ctl stats --json --control-socket "$CPE_SOCK" >"$2" 2>>"$OUT/ctl.log" || echo '{}' >"$2"; fi
}

bonded_up() {   # tag
    conc_net --udp --queues "$QUEUES"
    cpe_net --udp --queues "$QUEUES"
    start_conc "$1"
    start_cpe "$1"
    [[ -z $(ip -n "$SRV" route show 192.0.2.0/26) ]] || die "the server still has a route to the LAN"
    [[ $(nsx "$CONC" sysctl -n net.ipv4.ip_forward) == 0 ]] || die "conc forwards in the plainmode configuration"
}
bonded_down() {
    stop_cpe
    stop_conc
    conc_net
    cpe_net
}
plain_up() {
    nsx "$CONC" sysctl -q -w net.ipv4.ip_forward=1
    ip -n "$SRV" route replace 192.0.2.0/26 via 203.0.113.1 dev up0
}
plain_down() {
    ip -n "$SRV" route del 192.0.2.0/26 via 203.0.113.1 dev up0 2>/dev/null || true
    nsx "$CONC" sysctl -q -w net.ipv4.ip_forward=0
}
CEILING_RULE=(PREROUTING -i up0 -p udp -d 192.0.2.0/26 -m comment --comment "packet-bench: ceiling" -j NFQUEUE "${QUEUE_TARGET[@]}" --queue-bypass)

# ---------------------------------------------------------------- measurements
SINK_PID=""
start_sink() {   # tag
    spawn "sink.$1" "$LAN" "$UDPBLAST" sink --bind "$LAN_HOST" --port $SINK_PORT --duration $((DURATION + SETTLE + 60))
    SINK_PID=$BG_PID
    wait_for 10 grep -q ready "$OUT/sink.$1.log" || die "sink did not start: $(cat "$OUT/sink.$1.log")"
}
stop_sink() {   # tag -> SINK_OUT
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait_for 10 grep -q '"received"' "$OUT/sink.$1.log" || die "sink printed no summary: $(cat "$OUT/sink.$1.log")"
    stop_pid "$SINK_PID"
    SINK_OUT=$(last_json "$OUT/sink.$1.log")
}
send() {   # tag addr port size [rate duration warmup] -> SEND_OUT (with PERF=1 under perf record -a -g)
    local pps=${5:-$RATE} seconds=${6:-$DURATION} warmup=${7:-0} rate=() perf_pid=""
    ((pps == 0)) || rate=(--rate "$pps")
    if ((PERF == 1)); then
        perf record -a -g -q -o "$OUT/perf.$1.data" -- sleep "$((warmup + seconds))" >"$OUT/perf.$1.log" 2>&1 &
        perf_pid=$!
        PIDS+=("$perf_pid")
    fi
    SEND_OUT=$(timeout -k 5 $((warmup + seconds + 30)) ip netns exec "$SRV" "$UDPBLAST" send "$2" "$3" --bind "$SERVER:$SERVER_PORT" \
        --size "$4" --duration "$seconds" --warmup "$warmup" "${rate[@]}" 2>"$OUT/send.$1.err") || die "sender failed: $(cat "$OUT/send.$1.err")"
    [[ -z $perf_pid ]] || { wait "$perf_pid" || true; forget "$perf_pid"; }
    echo "$SEND_OUT" >"$OUT/send.$1.log"
}
record_throughput() {   # system round size queued
    local sys=$1 r=$2 size=$3 queued=$4 sent received
    sent=$(pkt get "$SEND_OUT" sent) received=$(pkt get "$SINK_OUT" received)
    ((sent > 0)) || die "$sys: the sender sent nothing: $SEND_OUT"
    record "pps_$size" "$sys" "$r" "$(pkt get "$SINK_OUT" pps)"
    record "sent_pps_$size" "$sys" "$r" "$(calc "$sent / $(pkt get "$SEND_OUT" seconds)")"
    record "loss_pct_$size" "$sys" "$r" "$(calc "100 * ($sent - $received) / $sent")"
    record "queued_pct_$size" "$sys" "$r" "$(calc "100 * $queued / $sent")"
    record "reordered_$size" "$sys" "$r" "$(pkt get "$SINK_OUT" reordered)"
    echo "   round $r $sys ${size} B: sent $sent, received $received, $(pkt get "$SINK_OUT" pps) datagrams/s at the sink, queued $queued" >&2
}

ceiling_throughput() {   # round size
    local r=$1 size=$2 tag="ceiling.r$1.s$2" nfq packets
    spawn "nfq_accept.$tag" "$CONC" "$NFQ_ACCEPT" -q "$QUEUES" --max-seconds $((DURATION + SETTLE + 60))
    nfq=$BG_PID
    wait_for 10 grep -q ready "$OUT/nfq_accept.$tag.log" || die "nfq_accept did not start: $(cat "$OUT/nfq_accept.$tag.log")"
    start_sink "$tag"
    send "$tag" "$LAN_HOST" $SINK_PORT "$size"
    sleep "$SETTLE"
    stop_sink "$tag"
    nsx "$CONC" cat /proc/net/netfilter/nfnetlink_queue >"$OUT/nfqueue.$tag.txt" 2>&1 || true
    kill -TERM "$nfq" 2>/dev/null || true
    wait_for 10 grep -q '"packets"' "$OUT/nfq_accept.$tag.log" || die "nfq_accept printed no summary: $(cat "$OUT/nfq_accept.$tag.log")"
    stop_pid "$nfq"
    packets=$(pkt get "$(last_json "$OUT/nfq_accept.$tag.log")" packets)
    record_throughput ceiling "$r" "$size" "$packets"
}

EXTERNAL=""
open_flow() {   # round: one datagram 192.0.2.2:40000 -> 203.0.113.2:9000 opens the binding -> EXTERNAL
    local r=$1 tag="open.r$1" i seen="" bound=""
    spawn "receiver.$tag" "$SRV" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(15)
print("ready", flush=True)
data, peer = s.recvfrom(2048)
print("from %s:%d" % peer, flush=True)' "$SERVER" $SERVER_PORT
    local rx=$BG_PID
    wait_for 10 grep -q ready "$OUT/receiver.$tag.log" || die "receiver did not start: $(cat "$OUT/receiver.$tag.log")"
    for ((i = 0; i < 5; i++)); do
        nsx "$LAN" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"open the flow", (sys.argv[3], int(sys.argv[4])))' "$LAN_HOST" $SINK_PORT "$SERVER" $SERVER_PORT
        wait_for 3 grep -q '^from' "$OUT/receiver.$tag.log" && break
    done
    stop_pid "$rx"
    seen=$(awk '/^from/ {print $2}' "$OUT/receiver.$tag.log")
    [[ -n $seen ]] || die "the first datagram did not reach the server; cpe: $(tail -5 "$OUT/cpe.r$r.udp.log")"
    for ((i = 0; i < 30; i++)); do
        bound=$(nsx "$CONC" "$PLAINMODE" ctl bindings --json --control-socket "$CONC_SOCK" 2>>"$OUT/ctl.log" | pkt binding "$SERVER:$SERVER_PORT" || true)
        [[ -n $bound ]] && break
        sleep 0.1
    done
    [[ -n $bound ]] || die "ctl bindings shows no udp binding to $SERVER:$SERVER_PORT"
    [[ $bound == "$seen" ]] || die "ctl bindings says external $bound, the server saw $seen"
    [[ $bound == 192.0.2.1[2-5][0-9]:* ]] || die "external endpoint $bound is not in the pool 192.0.2.128/27"
    EXTERNAL=$bound
    echo "   round $r: binding $LAN_HOST:$SINK_PORT -> $SERVER:$SERVER_PORT, external $EXTERNAL" >&2
}

bonded_throughput() {   # round size
    local r=$1 size=$2 tag="plainmode.r$1.s$2" s=$OUT/stats/plainmode.r$1.s$2 queued
    stats_to conc "$s.conc.before.json"
    stats_to cpe "$s.cpe.before.json"
    start_sink "$tag"
    send "$tag" "${EXTERNAL%:*}" "${EXTERNAL##*:}" "$size"
    sleep "$SETTLE"
    stop_sink "$tag"
    stats_to conc "$s.conc.after.json"
    stats_to cpe "$s.cpe.after.json"
    queued=$(pkt delta "$s.conc.before.json" "$s.conc.after.json" nfq_received)
    record_throughput plainmode "$r" "$size" "$queued"
    record "conc_records_dropped_$size" plainmode "$r" "$(pkt delta "$s.conc.before.json" "$s.conc.after.json" inbound_udp_records_dropped_backlog_full)"
    record "cpe_records_dropped_$size" plainmode "$r" "$(pkt delta "$s.cpe.before.json" "$s.cpe.after.json" udp_records_dropped_backlog_full)"
    { echo "round $r ${size} B concentrator: $(pkt moved "$s.conc.before.json" "$s.conc.after.json")"
      echo "round $r ${size} B cpe:          $(pkt moved "$s.cpe.before.json" "$s.cpe.after.json")"; } >>"$COUNTERS"
    alive
}

# Sustained throughput (RFC 2544 section 26.1 with a loss tolerance): the highest offered rate
# delivered with at most LOSS_PCT loss. When the flat-out run of this round and size lost no
# more than that, the sender was the limit and its received rate stands. Else trials, each
# WARMUP s (not counted) then TRIAL s at a rate: SEARCH_STEPS bisections between the best
# passing rate (from 0) and the lowest failing one (at first the flat-out sender rate).
TRIAL_SENT=0 TRIAL_RECEIVED=0 TRIAL_PPS=0 TRIAL_CPU_US=0 TRIAL_WHERE="-"
cpu_sample() { awk '/^cpu / {idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total, idle}' /proc/stat; }
# A trial; TRIAL_CPU_US is the whole box's CPU time per received datagram (us, all CPUs: both
# daemons or nfq_accept, the sender, the sink and the kernel's work for them), sampled from
# /proc/stat over the measured part less half a second at each end.
trial() {   # system size rate tag
    local sys=$1 size=$2 rate=$3 tag=$4 nfq="" sampler
    if [[ $sys == ceiling ]]; then
        spawn "nfq_accept.$tag" "$CONC" "$NFQ_ACCEPT" -q "$QUEUES" --max-seconds $((WARMUP + TRIAL + SETTLE + 60))
        nfq=$BG_PID
        wait_for 10 grep -q ready "$OUT/nfq_accept.$tag.log" || die "nfq_accept did not start: $(cat "$OUT/nfq_accept.$tag.log")"
    fi
    if [[ $sys == plainmode ]]; then
        stats_to conc "$OUT/stats/$tag.conc.before.json"
        stats_to cpe "$OUT/stats/$tag.cpe.before.json"
    fi
    start_sink "$tag"
    { sleep "$WARMUP.5"; cpu_sample; sleep "$((TRIAL - 1))"; cpu_sample; } >"$OUT/cpu.$tag.txt" &
    sampler=$!
    PIDS+=("$sampler")
    if [[ $sys == ceiling ]]; then send "$tag" "$LAN_HOST" $SINK_PORT "$size" "$rate" "$TRIAL" "$WARMUP"
    else send "$tag" "${EXTERNAL%:*}" "${EXTERNAL##*:}" "$size" "$rate" "$TRIAL" "$WARMUP"; fi
    wait "$sampler" || true
    forget "$sampler"
    sleep "$SETTLE"
    stop_sink "$tag"
    [[ -z $nfq ]] || stop_pid "$nfq"
    TRIAL_SENT=$(pkt get "$SEND_OUT" sent) TRIAL_RECEIVED=$(pkt get "$SINK_OUT" received) TRIAL_PPS=$(pkt get "$SINK_OUT" pps)
    TRIAL_WHERE="-"
    if [[ $sys == plainmode ]]; then
        # Where datagrams went, warm-up included: taken by the concentrator's queue, records it
        # dropped (binding backlog full), records the CPE dropped.
        local b=$OUT/stats/$tag
        stats_to conc "$b.conc.after.json"
        stats_to cpe "$b.cpe.after.json"
        TRIAL_WHERE="queued $(pkt delta "$b.conc.before.json" "$b.conc.after.json" nfq_received)"
        TRIAL_WHERE+=" conc_dropped $(pkt delta "$b.conc.before.json" "$b.conc.after.json" inbound_udp_records_dropped_backlog_full)"
        TRIAL_WHERE+=" cpe_dropped $(pkt delta "$b.cpe.before.json" "$b.cpe.after.json" udp_records_dropped_backlog_full)"
    fi
    TRIAL_CPU_US=$(awk -v cpus="$(nproc)" -v pps="$TRIAL_PPS" 'NR == 1 {t0 = $1; i0 = $2} NR == 2 {t = $1 - t0; i = $2 - i0}
        END {printf "%.2f", (NR == 2 && t > 0 && pps > 0) ? (t - i) / t * cpus * 1e6 / pps : 0}' "$OUT/cpu.$tag.txt")
}

# CPU per datagram at one rate both systems carry without loss (EFFICIENCY_RATE): how much work
# each path does per datagram, apart from how the CPUs were shared when saturated.
efficiency() {   # system round size
    trial "$1" "$3" "$EFFICIENCY_RATE" "efficiency.$1.r$2.s$3"
    record "cpu_us_$3" "$1" "$2" "$TRIAL_CPU_US"
    local sent=$TRIAL_SENT
    ((sent > 0)) || sent=1
    record "efficiency_loss_pct_$3" "$1" "$2" "$(calc "100 * ($TRIAL_SENT - $TRIAL_RECEIVED) / $sent")"
    echo "   round $2 $1 ${3} B: at $EFFICIENCY_RATE/s, $TRIAL_CPU_US us of CPU per datagram" >&2
}
sustained() {   # system round size
    local sys=$1 r=$2 size=$3 lo=0 best=0 hi rate step loss
    flat_metric() { awk -v m="$1_$size" -v s="$sys" -v r="$r" -F'\t' '$1 == m && $2 == s && $3 == r {v = $4} END {print v + 0}' "$RAW"; }
    if awk "BEGIN {exit !($(flat_metric loss_pct) <= $LOSS_PCT)}"; then
        record "sustained_pps_$size" "$sys" "$r" "$(flat_metric pps)"
        return
    fi
    hi=$(flat_metric sent_pps) hi=${hi%.*}
    ((hi > 0)) || die "no flat-out sender rate for $sys, round $r, $size B"
    rate=$((hi / 2))
    for ((step = 0; step < SEARCH_STEPS; step++)); do
        trial "$sys" "$size" "$rate" "sustained.$sys.r$r.s$size.$rate"
        loss=100
        ((TRIAL_SENT == 0)) || loss=$(calc "100 * ($TRIAL_SENT - $TRIAL_RECEIVED) / $TRIAL_SENT")
        echo "   round $r $sys ${size} B: offered $rate/s, sent $TRIAL_SENT, received $TRIAL_RECEIVED, loss $loss% ($TRIAL_WHERE)" >&2
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$r" "$size" "$rate" "$TRIAL_SENT" "$TRIAL_RECEIVED" "$loss" "$TRIAL_WHERE" >>"$OUT/trials.tsv"
        if awk "BEGIN {exit !($loss <= $LOSS_PCT)}"; then
            lo=$rate best=$TRIAL_PPS
        else
            hi=$rate
        fi
        rate=$(((lo + hi) / 2))
        ((hi - lo > hi / 100)) || break
    done
    record "sustained_pps_$size" "$sys" "$r" "$best"
    [[ $sys == ceiling ]] || alive
}

rtt_run() {   # system round
    local sys=$1 r=$2 tag="rtt.$1.r$2" echo_pid out limit
    spawn "echo.$tag" "$SRV" "$UDPBLAST" sink --bind "$SERVER" --port $ECHO_PORT --duration 600 --echo
    echo_pid=$BG_PID
    wait_for 10 grep -q ready "$OUT/echo.$tag.log" || die "echo did not start: $(cat "$OUT/echo.$tag.log")"
    timeout -k 5 60 ip netns exec "$LAN" "$UDPRTT" "$SERVER" $ECHO_PORT --count 50 --size "$RTT_SIZE" --interval-us 1000 \
        --timeout-ms 1000 --bind "$LAN_HOST:$RTT_PORT" >"$OUT/rtt-warmup.$tag.log" 2>&1 || die "RTT warm-up ($sys) failed: $(cat "$OUT/rtt-warmup.$tag.log")"
    limit=$((RTT_COUNT * (RTT_INTERVAL_US + 2000) / 1000000 + 60))
    out=$(timeout -k 5 "$limit" ip netns exec "$LAN" "$UDPRTT" "$SERVER" $ECHO_PORT --count "$RTT_COUNT" --size "$RTT_SIZE" \
        --interval-us "$RTT_INTERVAL_US" --timeout-ms 1000 --bind "$LAN_HOST:$RTT_PORT" 2>"$OUT/rtt.$tag.err") \
        || die "udprtt ($sys) failed or took over $limit s: $out $(cat "$OUT/rtt.$tag.err")"
    echo "$out" >"$OUT/rtt.$tag.log"
    stop_pid "$echo_pid"
    (($(pkt get "$out" received) > 0)) || die "no echo came back ($sys): $out"
    record rtt_median_us "$sys" "$r" "$(pkt get "$out" median_us)"
    record rtt_p99_us "$sys" "$r" "$(pkt get "$out" p99_us)"
    record rtt_mean_us "$sys" "$r" "$(pkt get "$out" mean_us)"
    record rtt_jitter_us "$sys" "$r" "$(pkt get "$out" jitter_us)"
    record rtt_loss_pct "$sys" "$r" "$(calc "100 * $(pkt get "$out" lost) / $(pkt get "$out" sent)")"
    echo "   round $r $sys RTT: median $(pkt get "$out" median_us) us, p99 $(pkt get "$out" p99_us) us, jitter $(pkt get "$out" jitter_us) us, lost $(pkt get "$out" lost)" >&2
}

syn_run() {   # gate|nogate round
    local sys=$1 r=$2 tag="syn.$1.r$2" s=$OUT/stats/syn.$1.r$2 out a0 a1 limit
    stop_conc
    if [[ $sys == gate ]]; then
        conc_net --udp --gate "$SERVICE:$SERVICE_PORT" --queues "$QUEUES"
        start_conc "$tag"
    else
        conc_net --udp --queues "$QUEUES"
        start_conc "$tag" --no-syn-gate
    fi
    sleep 0.5
    stats_to conc "$s.before.json"
    a0=$(nstat_get "$CPE" MPTcpExtMPCapableSYNACKRX)
    limit=$(((SYN_COUNT + SYN_WARMUP) * 3 / 1000 + 60))
    out=$(timeout -k 5 "$limit" ip netns exec "$CPE" "$SYNLAT" "$SERVICE" $SERVICE_PORT "$SYN_COUNT" "$SYN_WARMUP" 3000 2>"$OUT/$tag.err") \
        || die "SYN client ($sys) failed or took over $limit s: $out $(cat "$OUT/$tag.err")"
    echo "$out" >"$OUT/$tag.log"
    a1=$(nstat_get "$CPE" MPTcpExtMPCapableSYNACKRX)
    sleep 0.3
    stats_to conc "$s.after.json"
    alive
    record syn_median_us "$sys" "$r" "$(pkt get "$out" median_us)"
    record syn_p90_us "$sys" "$r" "$(pkt get "$out" p90_us)"
    record syn_p99_us "$sys" "$r" "$(pkt get "$out" p99_us)"
    record syn_mean_us "$sys" "$r" "$(pkt get "$out" mean_us)"
    record syn_failed "$sys" "$r" "$(pkt get "$out" failed)"
    record syn_mpcapable_synack "$sys" "$r" $((a1 - a0))
    record syn_gate_accepted "$sys" "$r" "$(pkt delta "$s.before.json" "$s.after.json" gate_accepted_no_payload)"
    record syn_gate_joins "$sys" "$r" "$(pkt delta "$s.before.json" "$s.after.json" gate_accepted_join)"
    record syn_nfq_received "$sys" "$r" "$(pkt delta "$s.before.json" "$s.after.json" nfq_received)"
    echo "round $r SYN $sys concentrator: $(pkt moved "$s.before.json" "$s.after.json")" >>"$COUNTERS"
    echo "   round $r $sys: SYN->SYN-ACK median $(pkt get "$out" median_us) us, p99 $(pkt get "$out" p99_us) us," \
        "failed $(pkt get "$out" failed), MP_CAPABLE SYN-ACKs $((a1 - a0))" >&2
}

# ---------------------------------------------------------------- run
log "testbed $PREFIX (no shaping); plainmode $BUILD_CONFIG ($PLAINMODE)"
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" down >/dev/null 2>&1 || true
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" up --no-shaping >"$OUT/testbed.log" 2>&1 \
    || { cat "$OUT/testbed.log" >&2; die "testbed up failed"; }

plain_phase() {   # round
    local r=$1 size
    plain_up
    if want throughput; then
        log "round $r: ceiling (routed, one NFQUEUE pass, nfq_accept)"
        nsx "$CONC" iptables -w 5 -t mangle -A "${CEILING_RULE[@]}"
        for size in $SIZES; do
            ceiling_throughput "$r" "$size"
            ((SEARCH == 0)) || sustained ceiling "$r" "$size"
            ((EFFICIENCY_RATE == 0)) || efficiency ceiling "$r" "$size"
        done
        nsx "$CONC" iptables -w 5 -t mangle -D "${CEILING_RULE[@]}"
    fi
    if want rtt; then
        log "round $r: direct RTT"
        rtt_run direct "$r"
    fi
    plain_down
}
bonded_phase() {   # round
    local r=$1 size
    log "round $r: plainmode (bonded)"
    bonded_up "r$r.udp"
    if want throughput; then
        open_flow "$r"
        for size in $SIZES; do
            bonded_throughput "$r" "$size"
            ((SEARCH == 0)) || sustained plainmode "$r" "$size"
            ((EFFICIENCY_RATE == 0)) || efficiency plainmode "$r" "$size"
        done
    fi
    if want rtt; then rtt_run bonded "$r"; fi
    alive
    bonded_down
}

if want throughput || want rtt; then
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2)); then plain_phase "$r"; bonded_phase "$r"; else bonded_phase "$r"; plain_phase "$r"; fi
    done
fi
if want syn; then
    log "SYN gate: $ROUNDS rounds x (gate nogate), $SYN_COUNT connects each (+$SYN_WARMUP warm-up)"
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2)); then syn_run gate "$r"; syn_run nogate "$r"; else syn_run nogate "$r"; syn_run gate "$r"; fi
    done
    stop_conc
    conc_net
fi

# ---------------------------------------------------------------- report
for ns in "$CPE" "$CONC" "$SRV" "$LAN"; do   # kernel counters and interface drops, for reading later
    { NSTAT_HISTORY=$OUT/nstat.$ns nsx "$ns" nstat -asz; nsx "$ns" ip -s link; } >"$OUT/diag-${ns#"$PREFIX"-}.txt" 2>&1 || true
done
PM_LOG_PROBLEMS=$(cat "$OUT"/concentrator.*.log "$OUT"/cpe.*.log 2>/dev/null | grep -c -E ' (warning|error|critical) ' || true)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))
export RAW COUNTERS TESTS SIZES COMMIT DIRTY BUILD_CONFIG PLAINMODE PLAINMODE_ARGS ROUNDS DURATION RATE SYN_COUNT SYN_WARMUP \
    RTT_COUNT RTT_SIZE RTT_INTERVAL_US THREADS QUEUES LOAD_BEFORE LOAD_AFTER ELAPSED PM_LOG_PROBLEMS SEARCH LOSS_PCT TRIAL WARMUP SEARCH_STEPS EFFICIENCY_RATE UDP_CC
python3 - >"$OUT/results.txt" <<'EOF'
import os, statistics, datetime, platform
E = os.environ
raw = {}
for line in open(E["RAW"]):
    metric, system, rnd, value = line.rstrip("\n").split("\t")
    raw.setdefault((metric, system), []).append(float(value))

def med(metric, system):
    v = raw.get((metric, system))
    return statistics.median(v) if v else None

def fmt(x, d):
    return "-" if x is None else f"{x:,.{d}f}"

def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b not in (None, 0) else "-"

def diff(a, b, d=1):
    return f"{a - b:+,.{d}f}" if a is not None and b is not None else "-"

def table(hdr, rows):
    widths = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    show = lambda r: "  ".join(c.ljust(widths[i]) if i in (0, len(r) - 1) else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
    print(show(hdr))
    print(show(["-" * w for w in widths]))
    for r in rows:
        print(show(r))
    print()

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Packet-plane benchmarks, {now}, commit {E['COMMIT']}" + (" (Sources modified)" if E["DIRTY"] != "0" else "")
      + f", Linux {platform.release()}, {os.cpu_count()} CPUs")
print(f"plainmode: {E['BUILD_CONFIG']} build ({E['PLAINMODE']}), --threads {E['THREADS']} --queues {E['QUEUES']}"
      + (f", --udp-congestion-control {E['UDP_CC']}" if E["UDP_CC"] else ", kernel's congestion control")
      + (f", extra flags: {E['PLAINMODE_ARGS']}" if E["PLAINMODE_ARGS"].strip() else ""))
print(f"rounds {E['ROUNDS']}; sender {E['DURATION']} s per run, " + (f"{E['RATE']} datagrams/s" if E["RATE"] != "0" else "as fast as it can")
      + f"; SYN {E['SYN_COUNT']} connects per run (+{E['SYN_WARMUP']} warm-up); RTT {E['RTT_COUNT']} probes of {E['RTT_SIZE']} B every {E['RTT_INTERVAL_US']} us")
if E["SEARCH"] == "1":
    print(f"sustained: highest offered rate with loss <= {E['LOSS_PCT']}%, trials of {E['WARMUP']} s warm-up + {E['TRIAL']} s, "
          f"up to {E['SEARCH_STEPS']} bisections below the flat-out sender rate")
print(f"load average before {E['LOAD_BEFORE']}, after {E['LOAD_AFTER']}; run took {E['ELAPSED']} s")
if E["TESTS"].split() != ["throughput", "syn", "rtt"]:
    print("NOTE: only these tests ran: " + E["TESTS"])
print()
tests = E["TESTS"].split()
if "throughput" in tests:
    print("1. Throughput, Internet host -> LAN host, one flow (medians over rounds)")
    rows = []
    for s in E["SIZES"].split():
        if E["SEARCH"] == "1":
            p, c = med(f"sustained_pps_{s}", "plainmode"), med(f"sustained_pps_{s}", "ceiling")
            ok = "-" if p is None or not c else ("met" if p / c >= 0.7 else "NOT met")
            rows.append([f"{s} B: sustained datagrams/s (loss <= {E['LOSS_PCT']}%)", fmt(p, 0), fmt(c, 0), ratio(p, c), f">= 0.70x: {ok}"])
        p, c = med(f"pps_{s}", "plainmode"), med(f"pps_{s}", "ceiling")
        ok = "-" if p is None or not c else ("met" if p / c >= 0.7 else "NOT met")
        rows.append([f"{s} B: flat out, received datagrams/s at the sink", fmt(p, 0), fmt(c, 0), ratio(p, c), f">= 0.70x: {ok}"])
        if E["EFFICIENCY_RATE"] != "0":
            p, c = med(f"cpu_us_{s}", "plainmode"), med(f"cpu_us_{s}", "ceiling")
            rows.append([f"{s} B: CPU us per datagram at {int(E['EFFICIENCY_RATE']):,}/s (whole box)", fmt(p, 2), fmt(c, 2),
                         ratio(c, p) if p and c else "-", "(ceiling / plainmode)"])
            rows.append([f"{s} B: loss at {int(E['EFFICIENCY_RATE']):,}/s, %", fmt(med(f"efficiency_loss_pct_{s}", "plainmode"), 2),
                         fmt(med(f"efficiency_loss_pct_{s}", "ceiling"), 2), "", ""])
        rows.append([f"{s} B: flat out, loss (1 - received/sent), %", fmt(med(f"loss_pct_{s}", "plainmode"), 2), fmt(med(f"loss_pct_{s}", "ceiling"), 2), "", ""])
        rows.append([f"{s} B: flat out, sender datagrams/s", fmt(med(f"sent_pps_{s}", "plainmode"), 0), fmt(med(f"sent_pps_{s}", "ceiling"), 0), "", "(information)"])
        rows.append([f"{s} B: flat out, sent datagrams through the queue consumer, %", fmt(med(f"queued_pct_{s}", "plainmode"), 1), fmt(med(f"queued_pct_{s}", "ceiling"), 1), "", "(information)"])
        rows.append([f"{s} B: flat out, daemon records dropped, backlog full (conc / cpe)",
                     f"{sum(raw.get((f'conc_records_dropped_{s}', 'plainmode'), [0])):.0f} / {sum(raw.get((f'cpe_records_dropped_{s}', 'plainmode'), [0])):.0f}",
                     "", "", "(sum over rounds)"])
    table(["metric", "plainmode", "ceiling (nfq_accept)", "ratio", "goal"], rows)
if "syn" in tests:
    print("2. SYN -> SYN-ACK of an MPTCP connect() from the CPE namespace, microseconds (medians over rounds)")
    rows = []
    for m, label in (("syn_median_us", "median"), ("syn_p90_us", "p90"), ("syn_p99_us", "p99"), ("syn_mean_us", "mean")):
        g, n = med(m, "gate"), med(m, "nogate")
        goal = ("< +100 us: " + ("met" if g - n < 100 else "NOT met")) if m == "syn_median_us" and g is not None and n is not None else ""
        rows.append([label, fmt(g, 1), fmt(n, 1), diff(g, n), ratio(g, n), goal])
    rows.append(["failed connects (sum)", f"{sum(raw.get(('syn_failed', 'gate'), [0])):.0f}", f"{sum(raw.get(('syn_failed', 'nogate'), [0])):.0f}", "", "", ""])
    table(["metric", "gate", "no gate", "added", "ratio", "goal"], rows)
if "rtt" in tests:
    print("3. UDP round trip LAN host <-> Internet echo, microseconds (medians over rounds)")
    rows = []
    for m, label, d in (("rtt_median_us", "median", 1), ("rtt_p99_us", "p99", 1), ("rtt_jitter_us", "jitter (mean |consecutive difference|)", 1),
                        ("rtt_mean_us", "mean", 1), ("rtt_loss_pct", "loss, %", 2)):
        b, dr = med(m, "bonded"), med(m, "direct")
        rows.append([label, fmt(b, d), fmt(dr, d), diff(b, dr, d), ratio(b, dr) if m != "rtt_loss_pct" else ""])
    table(["metric", "bonded (plainmode)", "direct (routed)", "difference", "ratio"], rows)
print("Per run:")
for (metric, system), v in sorted(raw.items()):
    print(f"  {metric:26s} {system:10s} " + " ".join(f"{x:g}" for x in v))
print(f"plainmode log warnings/errors: {E['PM_LOG_PROBLEMS']}")
print("Daemon counters that moved (drops, overruns, errors, blocked sends, backlog), per run:")
for line in open(E["COUNTERS"]):
    print("  " + line.rstrip())
EOF
cat "$OUT/results.txt"
echo "packet-bench: results in $OUT/results.txt (raw: $RAW)" >&2
