#!/usr/bin/env bash
# Latency benchmarks on the delayed testbed (root): plainmode against the same hosts without it,
# side by side in one run, on Deploy/testbed.sh --profile dsl-lte (link A 20 Mbit/s + 10 ms
# one-way, link B 20 Mbit/s + 25 ms one-way) with --direct-path:
#   1. time to first byte of a small request/response (REQ bytes up, RESP bytes down), from the
#      start of connect() to the first reply byte, COUNT connections per system, for
#        direct     plain TCP from the CPE namespace bound to 198.51.100.2 (link A) to the server
#                   203.0.113.2, routed natively by the concentrator (--direct-path)
#        plainmode  the LAN host 192.0.2.2 to the server: plainmode cpe -> plainmode concentrator
#        haproxy    an MPTCP client in the CPE namespace (bound to 198.51.100.2) to HAProxy under
#                   mptcpize in the concentrator namespace (as run-stream-benchmarks.sh runs it),
#                   which relays to the server over TCP
#      median and p90 per system, ratios plainmode/direct and plainmode/HAProxy;
#   2. UDP round-trip time and jitter to an echo on the server: bonded (the LAN host through
#      plainmode cpe and concentrator) against one link (the CPE namespace bound to 198.51.100.2,
#      routed over link A).
#   3. (TESTS=inbound, not run by default) inbound connection set-up: the Internet host's time to
#      first byte to a server on the LAN host through a pool address and port mapped over PCP
#      (the CPE's --forward: concentrator -> MPTCP -> CPE -> LAN host), against the same request
#      to a server on the CPE's link A address, routed natively (--direct-path). The daemons then
#      also run with their inbound flags (--inbound-listen, --pcp-listen, --forward) and the
#      scripts with --inbound / --inbound-port.
# ROUNDS rounds; in each, every system gets COUNT/ROUNDS measured connections (after WARMUP
# unmeasured ones), the order rotating per round; then ROUNDS rounds of RTT, direct and bonded
# alternating in order. Prints the tables and writes them to $OUT/results.txt with every sample
# (raw.tsv) and log next to it. See Bench/README.md, "Latency on the delayed testbed".
#
#   sudo Bench/run-latency-benchmarks.sh
#
# Environment (defaults): PREFIX=pmlat (namespace prefix), PROFILE=dsl-lte (testbed --profile),
# INTERNET_DELAY=10ms (testbed --delay-internet: the server that far beyond the concentrator, one
# way; 0 puts it next door, where SYN data cannot show what it saves),
# COUNT=30 (measured connections per system, a multiple of ROUNDS), ROUNDS=3, WARMUP=3 (unmeasured
# connections per system and round), REQ=100, RESP=100 (bytes), GAP_MS=50 (between connections),
# RTT_COUNT=500, RTT_SIZE=100, RTT_INTERVAL_US=20000 (UDP probes per run, bytes, spacing),
# TESTS="ttfb rtt" (a subset runs only those), BUILD=1 (swift build -c release of plainmode and
# delay-line into .build-bench-latency; 0 reuses them), PLAINMODE_ARGS (extra flags for both
# daemons; the table then no longer shows the defaults), OUT=Bench/.build/latency-bench.
#
# Topology: PREFIX=$PREFIX Deploy/testbed.sh up --profile PROFILE --direct-path --delay-line BIN
# (namespaces $PREFIX-lan/-cpe/-conc/-srv, addresses in its header; delay lines on NFQUEUE 900/901
# on the receiving side of each access link). Then, only inside those namespaces:
#   conc: Deploy/concentrator-net.sh --pool 192.0.2.128/27 --pool 2001:db8:1::/48
#             --gate 198.51.100.1:5000 --gate [2001:db8:a::1]:5000 --udp --queues 0:N-1
#         plainmode concentrator --listen 198.51.100.1:5000 --listen [2001:db8:a::1]:5000
#             --pool 192.0.2.128/27 --allow 198.51.100.0/29 --allow 2001:db8:a::/63
#             --delegated-prefix 2001:db8:a::/64=2001:db8:1::/48
#             --control-socket $OUT/conc.sock --log-level notice
#         mptcpize run haproxy -f $OUT/haproxy.cfg -db   (mode tcp, 198.51.100.1:5002 -> 203.0.113.2:9002)
#   cpe:  Deploy/cpe-net.sh --lan-if lan0 --endpoint 198.51.100.6@wanb --endpoint 2001:db8:b::2@wanb
#             --udp --queues 0:N-1
#         plainmode cpe --concentrator 198.51.100.1:5000 --concentrator6 [2001:db8:a::1]:5000
#             --control-socket $OUT/cpe.sock --log-level notice
#   srv:  Bench/stream/streamload server (203.0.113.2:9002 reads REQ bytes, writes RESP, closes)
#         Bench/packet/udpblast sink --echo on 203.0.113.2:9007
# Everything else is each daemon's default (threads, SYN gate on, SYN data or not, PSID
# geometry a=6 k=6, queues 0:N-1 with N = CPU cores, which the rules above match). Whatever the
# CPE binary does with the PM block (after the handshake, or as SYN data) is what is measured;
# the concentrator's gate counters say which it was (gate_accepted_pm: a SYN carrying the PM
# block; gate_accepted_no_payload: a SYN without data).
#
# Every wait and loop is bounded in count and time; every process it starts is stopped by its pid
# and the testbed is torn down on exit (trap), also on failure. Addresses are documentation
# ranges only, inside the namespaces it creates.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

PREFIX=${PREFIX:-pmlat}
PROFILE=${PROFILE:-dsl-lte}
INTERNET_DELAY=${INTERNET_DELAY:-10ms}
COUNT=${COUNT:-30}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3}
REQ=${REQ:-100}
RESP=${RESP:-100}
GAP_MS=${GAP_MS:-50}
RTT_COUNT=${RTT_COUNT:-500}
RTT_SIZE=${RTT_SIZE:-100}
RTT_INTERVAL_US=${RTT_INTERVAL_US:-20000}
TESTS=${TESTS:-ttfb rtt}
BUILD=${BUILD:-1}
PLAINMODE_ARGS=${PLAINMODE_ARGS:-}
OUT=${OUT:-$here/.build/latency-bench}
SCRATCH=$repo/.build-bench-latency
BENCH_NAME=latency-bench
# shellcheck source=Bench/bench-lib.sh
source "$here/bench-lib.sh"

int_in ROUNDS "$ROUNDS" 1 20
int_in COUNT "$COUNT" 1 10000
((COUNT % ROUNDS == 0)) || die "COUNT ($COUNT) must be a multiple of ROUNDS ($ROUNDS)"
int_in WARMUP "$WARMUP" 0 100
int_in REQ "$REQ" 1 65536
int_in RESP "$RESP" 1 65536
int_in GAP_MS "$GAP_MS" 0 10000
int_in RTT_COUNT "$RTT_COUNT" 10 100000
int_in RTT_SIZE "$RTT_SIZE" 16 1400
int_in RTT_INTERVAL_US "$RTT_INTERVAL_US" 0 1000000
[[ $PROFILE == dsl-lte || $PROFILE == two-fibres || $PROFILE == lan ]] || die "PROFILE must be dsl-lte, two-fibres or lan"
[[ $BUILD == [01] ]] || die "BUILD must be 0 or 1"
[[ $PREFIX =~ ^[A-Za-z0-9_.-]{1,20}$ ]] || die "PREFIX must be 1-20 characters of [A-Za-z0-9_.-]"
for t in $TESTS; do [[ $t == ttfb || $t == rtt || $t == inbound ]] || die "TESTS: unknown test '$t' (ttfb rtt inbound)"; done
[[ -n ${TESTS// /} ]] || die "TESTS must name at least one test"
((EUID == 0)) || die "needs root (network namespaces, NFQUEUE, IP_TRANSPARENT)"

LAN=$PREFIX-lan CPE=$PREFIX-cpe CONC=$PREFIX-conc SRV=$PREFIX-srv
SERVICE=198.51.100.1 PM_PORT=5000 HA_RR=5002
SERVER=203.0.113.2 SINK_PORT=9001 RR_PORT=9002 HOLD_PORT=9003 ECHO_PORT=9007
LAN_HOST=192.0.2.2 WAN_A=198.51.100.2 RTT_PORT=41000
INBOUND_LISTEN=127.0.0.1:7601 CPE_INBOUND_PORT=7600 IN_SINK_PORT=9011 IN_RR_PORT=9012 IN_HOLD_PORT=9013
CONC_SOCK=$OUT/conc.sock CPE_SOCK=$OUT/cpe.sock
NCPU=$(nproc)
QUEUES=0:$((NCPU - 1))   # the daemons' default --queues (one per core); the rules must match it
PER_ROUND=$((COUNT / ROUNDS))
# How long the server and the echo may run: the worst case of every bounded client run, plus 10 min.
SERVE_SECONDS=$((600 + ROUNDS * 3 * (WARMUP + PER_ROUND) * (9000 + GAP_MS) / 1000
    + ROUNDS * 2 * (RTT_COUNT + 50) * (RTT_INTERVAL_US + 1000000) / 1000000))

mkdir -p "$OUT" "$OUT/bin" "$OUT/stats"
rm -f "$OUT"/*.log "$OUT"/*.err "$OUT"/raw.tsv "$OUT"/results.txt "$OUT"/stats/*.json "$OUT"/nstat.* "$OUT"/diag-*.txt
RAW=$OUT/raw.tsv
: >"$RAW"
T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OTHER_NS=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -cv "^$PREFIX-" || true)

# ---------------------------------------------------------------- packages, build, tools
log "packages"
bash "$repo/Deploy/setup-debian.sh" haproxy mptcpize gcc libc6-dev
for tool in ip iptables nstat haproxy mptcpize gcc python3 timeout; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done
PLAINMODE=$SCRATCH/release/plainmode DELAY_LINE=$SCRATCH/release/delay-line
if ((BUILD)); then
    log "build plainmode and delay-line (release, --scratch-path $SCRATCH)"
    for product in plainmode delay-line; do
        (cd "$repo" && swift build -c release --product "$product" --scratch-path "$SCRATCH") >>"$OUT/build.log" 2>&1 \
            || { tail -30 "$OUT/build.log" >&2; die "swift build --product $product failed (log: $OUT/build.log)"; }
    done
fi
[[ -x $PLAINMODE && -x $DELAY_LINE ]] || die "no $PLAINMODE or $DELAY_LINE (run with BUILD=1)"
BIN=$OUT/bin
gcc -O2 -Wall -Wextra -o "$BIN/ttfb" "$here/latency/ttfb.c"
gcc -O2 -Wall -Wextra -o "$BIN/udpblast" "$here/packet/udpblast.c"
gcc -O2 -Wall -Wextra -o "$BIN/udprtt" "$here/packet/udprtt.c"
cc -O2 -Wall -pthread -o "$BIN/streamload" "$here/stream/streamload.c"
TTFB=$BIN/ttfb UDPBLAST=$BIN/udpblast UDPRTT=$BIN/udprtt LOADGEN=$BIN/streamload
COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$repo" status --porcelain --untracked-files=no -- Sources Package.swift 2>/dev/null | wc -l)

# JSON helpers (one small program, several verbs).
cat >"$BIN/lat.py" <<'EOF'
import json, sys
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
elif verb == "list":       # list JSON KEY -> one value per line
    for v in json.loads(sys.argv[2]).get(sys.argv[3], []):
        print(v)
elif verb == "delta":      # delta BEFORE AFTER KEY -> after - before
    print(load(sys.argv[3]).get(sys.argv[4], 0) - load(sys.argv[2]).get(sys.argv[4], 0))
EOF
lat() { python3 "$BIN/lat.py" "$@"; }

# ---------------------------------------------------------------- testbed, rules, daemons
log "testbed $PREFIX: --profile $PROFILE --delay-internet $INTERNET_DELAY --direct-path"
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" down >/dev/null 2>&1 || true
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" up --profile "$PROFILE" --delay-internet "$INTERNET_DELAY" --direct-path --delay-line "$DELAY_LINE" >"$OUT/testbed.log" 2>&1 \
    || { cat "$OUT/testbed.log" >&2; die "testbed up failed"; }
TESTBED_LINE=$(grep '^testbed: up' "$OUT/testbed.log" || true)
DELAY_A_MS=$(sed -n 's/.*one-way delay: A \([0-9.]*\) ms.*/\1/p' "$OUT/testbed.log")
[[ -n $DELAY_A_MS ]] || die "no link A delay in the testbed's output: $(cat "$OUT/testbed.log")"

INBOUND_NET=() INBOUND_CPE_NET=() INBOUND_CONC=() INBOUND_CPE=()
if want inbound; then
    INBOUND_NET=(--inbound "$INBOUND_LISTEN") INBOUND_CPE_NET=(--inbound-port "$CPE_INBOUND_PORT")
    INBOUND_CONC=(--inbound-listen "$INBOUND_LISTEN" --pcp-listen "$SERVICE")
    INBOUND_CPE=(--inbound-listen "$WAN_A:$CPE_INBOUND_PORT" --inbound-listen "198.51.100.6:$CPE_INBOUND_PORT"
        --forward "$IN_RR_PORT/tcp=$LAN_HOST:$IN_RR_PORT")
fi
nsx "$CONC" bash "$repo/Deploy/concentrator-net.sh" --pool 192.0.2.128/27 --pool 2001:db8:1::/48 \
    --gate "$SERVICE:$PM_PORT" --gate "[2001:db8:a::1]:$PM_PORT" --udp --queues "$QUEUES" "${INBOUND_NET[@]}" >>"$OUT/net.log" 2>&1 \
    || die "concentrator-net.sh failed: $(tail -5 "$OUT/net.log")"
nsx "$CPE" bash "$repo/Deploy/cpe-net.sh" --lan-if lan0 --endpoint 198.51.100.6@wanb --endpoint 2001:db8:b::2@wanb \
    --udp --queues "$QUEUES" "${INBOUND_CPE_NET[@]}" >>"$OUT/net.log" 2>&1 || die "cpe-net.sh failed: $(tail -5 "$OUT/net.log")"
# The LAN host reaches the server only through the daemons: the server has no route back to it.
[[ -z $(ip -n "$SRV" route show 192.0.2.0/26) ]] || die "the server has a route to the LAN: the bonded path could be bypassed"

spawn server "$SRV" "$LOADGEN" server --listen "$SERVER" --sink-port $SINK_PORT --rr-port $RR_PORT \
    --hold-port $HOLD_PORT --req "$REQ" --resp "$RESP" --max-seconds "$SERVE_SECONDS"
SRV_PID=$BG_PID
wait_for 10 grep -q READY "$OUT/server.log" || die "server did not start: $(cat "$OUT/server.log")"
spawn echo "$SRV" "$UDPBLAST" sink --bind "$SERVER" --port $ECHO_PORT --duration "$SERVE_SECONDS" --echo
ECHO_PID=$BG_PID
wait_for 10 grep -q ready "$OUT/echo.log" || die "UDP echo did not start: $(cat "$OUT/echo.log")"

# shellcheck disable=SC2086
spawn concentrator "$CONC" "$PLAINMODE" concentrator --listen "$SERVICE:$PM_PORT" --listen "[2001:db8:a::1]:$PM_PORT" \
    --pool 192.0.2.128/27 --allow 198.51.100.0/29 --allow 2001:db8:a::/63 --state-dir "$OUT/state" \
    --delegated-prefix 2001:db8:a::/64=2001:db8:1::/48 --control-socket "$CONC_SOCK" --log-level notice "${INBOUND_CONC[@]}" $PLAINMODE_ARGS
CONC_PID=$BG_PID
wait_for 20 test -S "$CONC_SOCK" || die "concentrator did not start: $(tail -20 "$OUT/concentrator.log")"
[[ $(cat "/proc/$CONC_PID/comm") == plainmode ]] || die "pid $CONC_PID is not plainmode"
# shellcheck disable=SC2086
spawn cpe "$CPE" "$PLAINMODE" cpe --concentrator "$SERVICE:$PM_PORT" --concentrator6 "[2001:db8:a::1]:$PM_PORT" \
    --control-socket "$CPE_SOCK" --log-level notice "${INBOUND_CPE[@]}" $PLAINMODE_ARGS
CPE_PID=$BG_PID
wait_for 20 test -S "$CPE_SOCK" || die "CPE did not start: $(tail -20 "$OUT/cpe.log")"

cat >"$OUT/haproxy.cfg" <<EOF
# written by Bench/run-latency-benchmarks.sh; run as: mptcpize run haproxy -f haproxy.cfg -db
defaults
    mode tcp
    timeout connect 10s
    timeout client 1m
    timeout server 1m
frontend rr
    bind $SERVICE:$HA_RR
    default_backend rr
backend rr
    server s1 $SERVER:$RR_PORT
EOF
spawn haproxy "$CONC" mptcpize run haproxy -f "$OUT/haproxy.cfg" -db
HA_PID=$BG_PID
ha_listening() { nsx "$CONC" ss -HMltn "( sport = :$HA_RR )" | grep -q LISTEN; }
wait_for 10 ha_listening || die "haproxy has no MPTCP listener on :$HA_RR: $(cat "$OUT/haproxy.log")"
[[ $(cat "/proc/$HA_PID/comm") == haproxy ]] || die "pid $HA_PID is not haproxy"
tr '\0' '\n' <"/proc/$HA_PID/environ" | grep -q '^LD_PRELOAD=.*mptcp' || die "haproxy runs without the mptcpize preload"
HA_VERSION=$(haproxy -v | awk 'NR == 1 {print $3}')

alive() {
    running "$CONC_PID" || die "plainmode concentrator exited: $(tail -20 "$OUT/concentrator.log")"
    running "$CPE_PID" || die "plainmode cpe exited: $(tail -20 "$OUT/cpe.log")"
    running "$HA_PID" || die "haproxy exited: $(tail -20 "$OUT/haproxy.log")"
    running "$SRV_PID" || die "the server exited: $(tail -5 "$OUT/server.log")"
    running "$ECHO_PID" || die "the UDP echo exited: $(tail -5 "$OUT/echo.log")"
}
stats_to() {   # conc|cpe FILE
    local ns=$CONC sock=$CONC_SOCK
    [[ $1 == conc ]] || { ns=$CPE sock=$CPE_SOCK; }
    nsx "$ns" "$PLAINMODE" ctl stats --json --control-socket "$sock" >"$2" 2>>"$OUT/ctl.log" || echo '{}' >"$2"
}
# The server's counters: SIGUSR1 makes it print one STATS line; returns the value of field $1.
srv_stat() {
    local before i
    before=$(grep -c '^STATS' "$OUT/server.log" || true)
    kill -USR1 "$SRV_PID"
    for ((i = 0; i < 50; i++)); do
        (($(grep -c '^STATS' "$OUT/server.log" || true) > before)) && break
        sleep 0.05
    done
    grep '^STATS' "$OUT/server.log" | tail -1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'
}

# ---------------------------------------------------------------- 1. time to first byte
ttfb_run() {   # system round
    local sys=$1 r=$2 tag="ttfb.$1.r$2" ns args out limit d0 d1 c0 c1 f0 f1 s=$OUT/stats/ttfb.$1.r$2 total v
    case $sys in
        direct) ns=$CPE args=("$SERVER" "$RR_PORT" --bind "$WAN_A") ;;
        plainmode) ns=$LAN args=("$SERVER" "$RR_PORT" --bind "$LAN_HOST") ;;
        haproxy) ns=$CPE args=("$SERVICE" "$HA_RR" --mptcp --bind "$WAN_A") ;;
    esac
    total=$((WARMUP + PER_ROUND))
    stats_to conc "$s.before.json"
    d0=$(srv_stat rr_done) c0=$(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) f0=$(nstat_get "$CONC" MPTcpExtMPCapableFallbackACK)
    limit=$((total * (3 * 3000 + GAP_MS) / 1000 + 30))
    out=$(timeout -k 5 "$limit" ip netns exec "$ns" "$TTFB" "${args[@]}" --count "$PER_ROUND" --warmup "$WARMUP" \
        --req "$REQ" --resp "$RESP" --gap-ms "$GAP_MS" --timeout-ms 3000 2>"$OUT/$tag.err") \
        || die "ttfb ($sys) failed or took over $limit s: $out $(cat "$OUT/$tag.err")"
    echo "$out" >"$OUT/$tag.log"
    sleep 0.2
    d1=$(srv_stat rr_done) c1=$(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) f1=$(nstat_get "$CONC" MPTcpExtMPCapableFallbackACK)
    stats_to conc "$s.after.json"
    alive
    (($(lat get "$out" ok) > 0)) || die "no connection through $sys completed: $out"
    while read -r v; do record ttfb_ms "$sys" "$r" "$v"; done < <(lat list "$out" ttfb_ms)
    while read -r v; do record connect_ms "$sys" "$r" "$v"; done < <(lat list "$out" connect_ms)
    record ttfb_round_median_ms "$sys" "$r" "$(lat get "$out" ttfb_median_ms)"
    record failed "$sys" "$r" "$(lat get "$out" failed)"
    record warmup_failed "$sys" "$r" "$(lat get "$out" warmup_failed)"
    record mptcp_fallbacks_client "$sys" "$r" "$(lat get "$out" fallbacks)"
    record server_answered "$sys" "$r" $((d1 - d0))
    record connections_tried "$sys" "$r" "$total"
    record conc_mpcapable_syn_rx "$sys" "$r" $((c1 - c0))
    record conc_fallback_ack "$sys" "$r" $((f1 - f0))
    for k in accepted gate_accepted_pm gate_accepted_no_payload gate_accepted_join tfo_passive; do
        record "conc_$k" "$sys" "$r" "$(lat delta "$s.before.json" "$s.after.json" "$k")"
    done
    echo "   round $r $sys: time to first byte median $(lat get "$out" ttfb_median_ms) ms, p90 $(lat get "$out" ttfb_p90_ms) ms," \
        "connect() $(lat get "$out" connect_median_ms) ms, failed $(lat get "$out" failed); server answered $((d1 - d0)) of $total;" \
        "concentrator accepted $(lat delta "$s.before.json" "$s.after.json" accepted)," \
        "SYNs with PM data $(lat delta "$s.before.json" "$s.after.json" gate_accepted_pm)," \
        "without data $(lat delta "$s.before.json" "$s.after.json" gate_accepted_no_payload)" >&2
}

# ---------------------------------------------------------------- 2. UDP round trip
rtt_run() {   # system round
    local sys=$1 r=$2 tag="rtt.$1.r$2" ns bind out limit s=$OUT/stats/rtt.$1.r$2
    case $sys in
        bonded) ns=$LAN bind=$LAN_HOST:$RTT_PORT ;;
        direct) ns=$CPE bind=$WAN_A:$RTT_PORT ;;
    esac
    # 50 unmeasured probes from the same port first (on the bonded path they open the binding).
    timeout -k 5 120 ip netns exec "$ns" "$UDPRTT" "$SERVER" $ECHO_PORT --count 50 --size "$RTT_SIZE" --interval-us "$RTT_INTERVAL_US" \
        --timeout-ms 1000 --bind "$bind" >"$OUT/rtt-warmup.$tag.log" 2>&1 || die "RTT warm-up ($sys) failed: $(cat "$OUT/rtt-warmup.$tag.log")"
    stats_to cpe "$s.before.json"
    limit=$((RTT_COUNT * (RTT_INTERVAL_US + 1000000) / 1000000 + 60))
    out=$(timeout -k 5 "$limit" ip netns exec "$ns" "$UDPRTT" "$SERVER" $ECHO_PORT --count "$RTT_COUNT" --size "$RTT_SIZE" \
        --interval-us "$RTT_INTERVAL_US" --timeout-ms 1000 --bind "$bind" 2>"$OUT/$tag.err") \
        || die "udprtt ($sys) failed or took over $limit s: $out $(cat "$OUT/$tag.err")"
    echo "$out" >"$OUT/$tag.log"
    stats_to cpe "$s.after.json"
    alive
    (($(lat get "$out" received) > 0)) || die "no echo came back ($sys): $out"
    record rtt_median_ms "$sys" "$r" "$(calc "$(lat get "$out" median_us) / 1000")"
    record rtt_p99_ms "$sys" "$r" "$(calc "$(lat get "$out" p99_us) / 1000")"
    record rtt_mean_ms "$sys" "$r" "$(calc "$(lat get "$out" mean_us) / 1000")"
    record rtt_jitter_ms "$sys" "$r" "$(calc "$(lat get "$out" jitter_us) / 1000")"
    record rtt_loss_pct "$sys" "$r" "$(calc "100 * $(lat get "$out" lost) / $(lat get "$out" sent)")"
    record rtt_probes "$sys" "$r" "$(lat get "$out" sent)"
    record cpe_udp_datagrams_queued "$sys" "$r" "$(lat delta "$s.before.json" "$s.after.json" udp_datagrams_queued)"
    record cpe_udp_records_received "$sys" "$r" "$(lat delta "$s.before.json" "$s.after.json" udp_records_received)"
    echo "   round $r $sys: RTT median $(lat get "$out" median_us) us, p99 $(lat get "$out" p99_us) us," \
        "jitter $(lat get "$out" jitter_us) us, lost $(lat get "$out" lost) of $(lat get "$out" sent);" \
        "CPE queued $(lat delta "$s.before.json" "$s.after.json" udp_datagrams_queued) LAN datagrams," \
        "received $(lat delta "$s.before.json" "$s.after.json" udp_records_received) records" >&2
}

# ---------------------------------------------------------------- 3. inbound set-up
# The Internet host's time to first byte to the LAN host through the mapped pool port (inbound),
# or to the same server program on the CPE's link A address, routed natively (inbound_direct).
inbound_run() {   # system round
    local sys=$1 r=$2 tag="inbound.$1.r$2" target out limit total
    case $sys in
        inbound) target=("$MAPPED_ADDRESS" "$MAPPED_PORT") ;;
        inbound_direct) target=("$WAN_A" "$IN_RR_PORT") ;;
    esac
    total=$((WARMUP + PER_ROUND))
    limit=$((total * (3 * 3000 + GAP_MS) / 1000 + 30))
    out=$(timeout -k 5 "$limit" ip netns exec "$SRV" "$TTFB" "${target[@]}" --bind "$SERVER" --count "$PER_ROUND" --warmup "$WARMUP" \
        --req "$REQ" --resp "$RESP" --gap-ms "$GAP_MS" --timeout-ms 3000 2>"$OUT/$tag.err") \
        || die "ttfb ($sys) failed or took over $limit s: $out $(cat "$OUT/$tag.err")"
    echo "$out" >"$OUT/$tag.log"
    alive
    (($(lat get "$out" ok) > 0)) || die "no connection through $sys completed: $out"
    while read -r v; do record ttfb_ms "$sys" "$r" "$v"; done < <(lat list "$out" ttfb_ms)
    while read -r v; do record connect_ms "$sys" "$r" "$v"; done < <(lat list "$out" connect_ms)
    record ttfb_round_median_ms "$sys" "$r" "$(lat get "$out" ttfb_median_ms)"
    record failed "$sys" "$r" "$(lat get "$out" failed)"
    echo "   round $r $sys: time to first byte median $(lat get "$out" ttfb_median_ms) ms, p90 $(lat get "$out" ttfb_p90_ms) ms," \
        "connect() $(lat get "$out" connect_median_ms) ms, failed $(lat get "$out" failed)" >&2
}

# ---------------------------------------------------------------- run
SYSTEMS=(direct plainmode haproxy)
if want ttfb; then
    log "time to first byte: $ROUNDS rounds x (${SYSTEMS[*]}), $PER_ROUND connections each (+$WARMUP warm-up), $REQ B up, $RESP B down"
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((i = 0; i < 3; i++)); do ttfb_run "${SYSTEMS[(r - 1 + i) % 3]}" "$r"; done
    done
fi
if want inbound; then
    for ns in "$LAN" "$CPE"; do
        listen=$LAN_HOST
        [[ $ns == "$CPE" ]] && listen=$WAN_A
        spawn "inbound-server-${ns#"$PREFIX"-}" "$ns" "$LOADGEN" server --listen "$listen" --sink-port $IN_SINK_PORT --rr-port $IN_RR_PORT \
            --hold-port $IN_HOLD_PORT --req "$REQ" --resp "$RESP" --max-seconds "$SERVE_SECONDS"
        wait_for 10 grep -q READY "$OUT/inbound-server-${ns#"$PREFIX"-}.log" || die "inbound server in $ns did not start"
    done
    # The CPE's --forward, granted over PCP: the port the concentrator chose, on the subscriber's pool address.
    forwarded() {
        local json
        json=$(nsx "$CPE" "$PLAINMODE" ctl mappings --json --control-socket "$CPE_SOCK" 2>/dev/null) || return 1
        MAPPED_PORT=$(python3 -c 'import json,sys; f=json.loads(sys.argv[1])["forwards"]; print(f[0]["first_port"] if f else "")' "$json")
        [[ -n $MAPPED_PORT ]]
    }
    wait_for 20 forwarded || die "the CPE's --forward was not granted: $(tail -5 "$OUT/cpe.log")"
    MAPPED_ADDRESS=$(nsx "$CONC" "$PLAINMODE" ctl mappings --json --control-socket "$CONC_SOCK" \
        | python3 -c 'import json,sys; m=[x for x in json.load(sys.stdin)["mappings"] if x["first_port"] == int(sys.argv[1])]; print(m[0]["external_address"])' "$MAPPED_PORT")
    log "inbound set-up: $ROUNDS rounds x (inbound inbound_direct), $PER_ROUND connections each; mapped $MAPPED_ADDRESS:$MAPPED_PORT"
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2)); then inbound_run inbound "$r"; inbound_run inbound_direct "$r"; else inbound_run inbound_direct "$r"; inbound_run inbound "$r"; fi
    done
fi
if want rtt; then
    log "UDP RTT: $ROUNDS rounds x (direct bonded), $RTT_COUNT probes of $RTT_SIZE B every $RTT_INTERVAL_US us"
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2)); then rtt_run direct "$r"; rtt_run bonded "$r"; else rtt_run bonded "$r"; rtt_run direct "$r"; fi
    done
fi

# ---------------------------------------------------------------- report
for ns in "$CPE" "$CONC" "$SRV" "$LAN"; do   # kernel counters and interface drops, for reading later
    { NSTAT_HISTORY=$OUT/nstat.$ns nsx "$ns" nstat -asz; nsx "$ns" ip -s link; } >"$OUT/diag-${ns#"$PREFIX"-}.txt" 2>&1 || true
done
stats_to conc "$OUT/plainmode-conc-stats.json"
stats_to cpe "$OUT/plainmode-cpe-stats.json"
PM_LOG_PROBLEMS=$(cat "$OUT/concentrator.log" "$OUT/cpe.log" 2>/dev/null | grep -c -E ' (warning|error|critical) ' || true)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))
export RAW TESTS COMMIT DIRTY PLAINMODE PLAINMODE_ARGS ROUNDS COUNT PER_ROUND WARMUP REQ RESP GAP_MS RTT_COUNT RTT_SIZE \
    RTT_INTERVAL_US INTERNET_DELAY LOAD_BEFORE LOAD_AFTER ELAPSED PM_LOG_PROBLEMS HA_VERSION TESTBED_LINE DELAY_A_MS OTHER_NS QUEUES PROFILE
python3 - >"$OUT/results.txt" <<'EOF'
import os, statistics, datetime, platform
E = os.environ
raw = {}
for line in open(E["RAW"]):
    metric, system, rnd, value = line.rstrip("\n").split("\t")
    raw.setdefault((metric, system), []).append(float(value))

def pct(v, p):   # nearest rank, as the clients compute it
    if not v:
        return None
    s = sorted(v)
    rank = min(max(int(p * len(s) + 0.999999999), 1), len(s))
    return s[rank - 1]

def med(metric, system):
    v = raw.get((metric, system))
    return statistics.median(v) if v else None

def total(metric, system):
    return int(sum(raw.get((metric, system), [0])))

def fmt(x, d=1):
    return "-" if x is None else f"{x:,.{d}f}"

def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b not in (None, 0) else "-"

def diff(a, b, d=1):
    return f"{a - b:+,.{d}f}" if a is not None and b is not None else "-"

def table(hdr, rows):
    widths = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    show = lambda r: "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
    print(show(hdr))
    print(show(["-" * w for w in widths]))
    for r in rows:
        print(show(r))
    print()

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Latency benchmarks on the delayed testbed, {now}, commit {E['COMMIT']}" + (" (Sources modified)" if E["DIRTY"] != "0" else "")
      + f", Linux {platform.release()}, {os.cpu_count()} CPUs, HAProxy {E['HA_VERSION']}")
print(E["TESTBED_LINE"] + f" (--profile {E['PROFILE']} --delay-internet {E['INTERNET_DELAY']} --direct-path)")
print(f"plainmode: release build ({E['PLAINMODE']}), both roles with their defaults (queues {E['QUEUES']}, SYN gate on)"
      + (f", extra flags: {E['PLAINMODE_ARGS']}" if E["PLAINMODE_ARGS"].strip() else ""))
print(f"time to first byte: {E['ROUNDS']} rounds x {E['PER_ROUND']} connections per system (+{E['WARMUP']} warm-up each), "
      f"{E['REQ']} B request, {E['RESP']} B reply, {E['GAP_MS']} ms between connections, systems rotating; "
      f"UDP RTT: {E['ROUNDS']} rounds x {E['RTT_COUNT']} probes of {E['RTT_SIZE']} B every {E['RTT_INTERVAL_US']} us (+50 warm-up)")
print(f"load average before {E['LOAD_BEFORE']}, after {E['LOAD_AFTER']}; other network namespaces on the machine at the start: "
      f"{E['OTHER_NS']}; run took {E['ELAPSED']} s")
if E["TESTS"].split() != ["ttfb", "rtt"]:
    print("NOTE: only these tests ran: " + E["TESTS"])
print()
tests = E["TESTS"].split()
rtt_a = 2 * float(E["DELAY_A_MS"])
if "ttfb" in tests:
    names = {"direct": "direct TCP, link A (CPE 198.51.100.2 -> server)",
             "plainmode": "plainmode (LAN host -> cpe -> concentrator -> server)",
             "haproxy": "HAProxy + mptcpize (MPTCP client in the CPE -> HAProxy -> server)"}
    print(f"1. Time to first byte, connect() start to the first reply byte, ms (all {E['COUNT']} connections per system pooled)")
    rows = []
    for s in ("direct", "plainmode", "haproxy"):
        v = raw.get(("ttfb_ms", s), [])
        c = raw.get(("connect_ms", s), [])
        rows.append([names[s], fmt(pct(v, 0.5)), fmt(pct(v, 0.9)), fmt(min(v) if v else None), fmt(max(v) if v else None),
                     fmt(pct(c, 0.5)), f"{len(v)}", f"{total('failed', s)}"])
    table(["system", "median", "p90", "min", "max", "connect() median", "n", "failed"], rows)
    p = raw.get(("ttfb_ms", "plainmode"), [])
    rows = []
    for base in ("direct", "haproxy"):
        b = raw.get(("ttfb_ms", base), [])
        for label, q in (("median", 0.5), ("p90", 0.9)):
            a, c = pct(p, q), pct(b, q)
            rows.append([f"plainmode / {base}, {label}", ratio(a, c), diff(a, c) + " ms",
                         f"{(a - c) / rtt_a:+.2f}" if a is not None and c is not None and rtt_a else "-"])
    table(["comparison", "ratio", "plainmode minus it", f"in link A round trips ({rtt_a:g} ms)"], rows)
    print("Per round, median ms: " + "; ".join(
        f"{s} " + " ".join(fmt(x) for x in raw.get(("ttfb_round_median_ms", s), [])) for s in ("direct", "plainmode", "haproxy")))
    pm_syns = total("conc_gate_accepted_pm", "plainmode")
    np_syns = total("conc_gate_accepted_no_payload", "plainmode")
    mode = ("PM block as SYN data" if pm_syns and not np_syns else "PM block after the handshake (SYN without data)" if np_syns and not pm_syns
            else "mixed" if pm_syns and np_syns else "unknown (the gate counted no SYN)")
    print(f"How the CPE opened its connections (concentrator's SYN gate, plainmode batches, warm-up included): {mode}: "
          f"gate_accepted_pm {pm_syns}, gate_accepted_no_payload {np_syns}, gate_accepted_join {total('conc_gate_accepted_join', 'plainmode')}, "
          f"tfo_passive {total('conc_tfo_passive', 'plainmode')}")
    print("Checks (sums over rounds, warm-up included): "
          + "; ".join(f"{s}: {total('connections_tried', s)} connections, server answered {total('server_answered', s)}, "
                      f"concentrator daemon accepted {total('conc_accepted', s)}, MP_CAPABLE SYNs at the concentrator "
                      f"{total('conc_mpcapable_syn_rx', s)}, fallback ACKs {total('conc_fallback_ack', s)}"
                      + (f", client saw fallback {total('mptcp_fallbacks_client', s)}" if s == "haproxy" else "")
                      for s in ("direct", "plainmode", "haproxy")))
    print()
if "rtt" in tests:
    print("2. UDP round trip to an echo on the server, ms (medians over rounds)")
    rows = []
    for m, label, d in (("rtt_median_ms", "median", 2), ("rtt_p99_ms", "p99", 2), ("rtt_mean_ms", "mean", 2),
                        ("rtt_jitter_ms", "jitter (mean |consecutive difference|)", 3), ("rtt_loss_pct", "loss, %", 2)):
        b, dr = med(m, "bonded"), med(m, "direct")
        rows.append([label, fmt(b, d), fmt(dr, d), diff(b, dr, d) if m != "rtt_loss_pct" else "", ratio(b, dr) if m != "rtt_loss_pct" else ""])
    table(["metric", "bonded (LAN host, plainmode)", "one link (CPE, link A)", "difference", "ratio"], rows)
    print(f"Checks: the CPE daemon queued {total('cpe_udp_datagrams_queued', 'bonded')} LAN datagrams and received "
          f"{total('cpe_udp_records_received', 'bonded')} records during the bonded runs "
          f"({total('rtt_probes', 'bonded')} probes); during the direct runs {total('cpe_udp_datagrams_queued', 'direct')} and "
          f"{total('cpe_udp_records_received', 'direct')}")
    print()
if "inbound" in tests:
    print("3. Inbound connection set-up: the Internet host's time to first byte, ms (all connections per system pooled)")
    names = {"inbound": "through a mapped pool port (concentrator -> MPTCP -> CPE -> LAN host)",
             "inbound_direct": "direct to the CPE's link A address, routed natively"}
    rows = []
    for s in ("inbound", "inbound_direct"):
        v = raw.get(("ttfb_ms", s), [])
        c = raw.get(("connect_ms", s), [])
        rows.append([names[s], fmt(pct(v, 0.5)), fmt(pct(v, 0.9)), fmt(pct(c, 0.5)), f"{len(v)}", f"{total('failed', s)}"])
    table(["system", "median", "p90", "connect() median", "n", "failed"], rows)
    a, b = pct(raw.get(("ttfb_ms", "inbound"), []), 0.5), pct(raw.get(("ttfb_ms", "inbound_direct"), []), 0.5)
    print(f"inbound / direct, median: {ratio(a, b)} ({diff(a, b)} ms)")
    print()
print("Per run:")
for (metric, system), v in sorted(raw.items()):
    if metric in ("ttfb_ms", "connect_ms"):
        continue
    print(f"  {metric:32s} {system:10s} " + " ".join(f"{x:g}" for x in v))
print(f"plainmode log warnings/errors: {E['PM_LOG_PROBLEMS']}")
EOF
cat "$OUT/results.txt"
echo "latency-bench: results in $OUT/results.txt (raw: $RAW)" >&2
