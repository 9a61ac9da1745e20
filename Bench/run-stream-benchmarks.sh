#!/usr/bin/env bash
# Stream-plane benchmarks: plainmode concentrator against HAProxy (Debian, TCP mode, under
# mptcpize) relaying the same MPTCP leg to the same server, side by side in one run (root):
#   1. goodput, one bulk upload CPE -> server, unshaped; relay CPU seconds per GB
#      (/proc/PID/stat utime+stime of the relay process) and whole-machine CPU per GB
#   2. new connections per second: connect + PM block / nothing + request + response + close,
#      CONCURRENCY in flight for CPS_SECONDS
#   3. memory per established idle relayed connection: VmRSS growth over CONNECTIONS
#      connections, each confirmed end to end by an echo from the server
#   4. leases (issue 14; not in the default list, TESTS=leases): new connections per second as
#      in 2, through plainmode alone, its leases in SQLite (--state-dir) against memory only
#      (--ephemeral-leases), for one existing subscriber; checks that SQLite was written
#   5. logging (issue 15; not in the default list, TESTS=logging): new connections per second as
#      in 2, through plainmode alone, with the allocation log (LOG_FLAGS) against without it;
#      checks that the logging runs logged (log_records_written >= 2 x upstream_connected)
# ROUNDS rounds of 1, 2 and 4, systems alternating in order; the tables give medians.
# Prints a table (plainmode, HAProxy, ratio plainmode/HAProxy and which way is better) and
# writes it to $OUT/results.txt with the raw numbers next to it. See Bench/README.md.
#
#   sudo Bench/run-stream-benchmarks.sh
#
# Environment (defaults): GIGABYTES=3 (per goodput run, 10^9 bytes), STREAMS=1 (parallel bulk
# connections), ROUNDS=5, CPS_SECONDS=5 (not SECONDS: bash owns that name), CONCURRENCY=64,
# CLIENT_THREADS=1 (rr load-generator threads), CONNECTIONS=10000 (idle; capped by the
# descriptor limit, see below), THREADS=2 (plainmode --threads = haproxy nbthread),
# HAPROXY_SPLICE=1 (goodput also through a HAProxy frontend with forced splice), BUILD=1
# (swift build; 0 uses the existing binary), PREFIX=pmbench (namespace prefix),
# OUT=Bench/.build/stream-bench, TESTS="goodput cps memory" (a subset runs only those; "leases"
# adds test 4, "logging" test 5),
# LOG_FLAGS (test 5's logging flags, default "--log-sessions --log-ipfix 127.0.0.1:4739", the
# issue's; any concentrator flags, e.g. "--log-sessions --log-json $OUT/allocation.jsonl"),
# LOG_UDP_SINK (a UDP port on 127.0.0.1 in the concentrator namespace where test 5 runs a sink
# that reads and discards datagrams, for a UDP output in LOG_FLAGS; default 4739, empty: none),
# PLAINMODE_ARGS (extra flags for plainmode concentrator, e.g. "--pipe-size 1048576"; the
# table then no longer shows the default configuration).
#
# Topology: Deploy/testbed.sh up --no-shaping (namespaces $PREFIX-lan/-cpe/-conc/-srv; it runs
# Deploy/concentrator-net.sh and Deploy/cpe-net.sh inside them, as the integration tests do).
# The load generator (Bench/stream/streamload.c, built here with cc -O2) runs in the CPE
# namespace and opens MPTCP connections to 198.51.100.1; the CPE's MPTCP endpoint on wanb gives
# each a second subflow from 198.51.100.6, so both links carry data for both relays. The server
# (the same program) runs in the server namespace on 203.0.113.2:9001 (sink), :9002 (request/
# response), :9003 (echo, held open). In the concentrator namespace:
#   plainmode concentrator --listen 198.51.100.1:5000 --pool 192.0.2.128/27 --allow 198.51.100.0/29 --psid-offset 0
#       --psid-length 0 --threads THREADS   (the client sends the PM block naming the server)
#   mptcpize run haproxy -f cfg -db, nbthread THREADS, mode tcp, frontends 198.51.100.1:5001-5003
#       -> 203.0.113.2:9001-9003 (and :5101 -> :9001 with option splice-request/-response)
# plainmode's upstream leg leaves from the pool with IP_TRANSPARENT; HAProxy's from 203.0.113.1.
# mptcpize turns every TCP socket of HAProxy into MPTCP, so its upstream sockets are MPTCP that
# falls back to TCP (the server is plain TCP).
#
# PSID geometry: --psid-offset 0 --psid-length 0 gives the single CPE a whole pool address
# (64512 ports, 1024-65535). The default a=6,k=6 gives 1008 ports per CPE: the idle test alone
# would exhaust it, and the connections-per-second runs (tens of thousands of connections,
# each taking a fresh port) would cycle it many times.
#
# Descriptors: plainmode holds 2 per idle relayed connection (MPTCP socket, upstream socket; a
# pipe per direction only while bytes are in flight, at most 256 spare pipes per loop), HAProxy 2. The script raises `ulimit -n` as far as it may; without CAP_SYS_RESOURCE the
# hard limit stays, and CONNECTIONS is capped to what plainmode can hold (it says so).
#
# Every loop is bounded in count and time; everything is torn down on exit (trap), also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

PREFIX=${PREFIX:-pmbench}
GIGABYTES=${GIGABYTES:-3}
STREAMS=${STREAMS:-1}
ROUNDS=${ROUNDS:-5}
CPS_SECONDS=${CPS_SECONDS:-5}
CONCURRENCY=${CONCURRENCY:-64}
CLIENT_THREADS=${CLIENT_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-10000}
THREADS=${THREADS:-2}
HAPROXY_SPLICE=${HAPROXY_SPLICE:-1}
BUILD=${BUILD:-1}
DEFAULT_TESTS="goodput cps memory"
TESTS=${TESTS:-$DEFAULT_TESTS}
PLAINMODE_ARGS=${PLAINMODE_ARGS:-}
OUT=${OUT:-$here/.build/stream-bench}
LOG_FLAGS=${LOG_FLAGS:---log-sessions --log-ipfix 127.0.0.1:4739}
LOG_UDP_SINK=${LOG_UDP_SINK-4739}
SCRATCH=$repo/.build-bench-stream
BENCH_NAME=stream-bench
# shellcheck source=Bench/bench-lib.sh
source "$here/bench-lib.sh"

int_in GIGABYTES "$GIGABYTES" 1 100
int_in STREAMS "$STREAMS" 1 64
int_in ROUNDS "$ROUNDS" 1 20
int_in CPS_SECONDS "$CPS_SECONDS" 1 120
int_in CONCURRENCY "$CONCURRENCY" 1 4096
int_in CLIENT_THREADS "$CLIENT_THREADS" 1 16
int_in CONNECTIONS "$CONNECTIONS" 10 200000
int_in THREADS "$THREADS" 1 64
[[ $HAPROXY_SPLICE == [01] ]] || die "HAPROXY_SPLICE must be 0 or 1"
[[ $BUILD == [01] ]] || die "BUILD must be 0 or 1"
[[ $PREFIX =~ ^[A-Za-z0-9_.-]{1,20}$ ]] || die "PREFIX must be 1-20 characters of [A-Za-z0-9_.-]"
for t in $TESTS; do [[ $t =~ ^(goodput|cps|memory|leases|logging)$ ]] || die "TESTS: unknown test '$t' (goodput cps memory leases logging)"; done
[[ -z $LOG_UDP_SINK ]] || int_in LOG_UDP_SINK "$LOG_UDP_SINK" 1 65535
((EUID == 0)) || die "needs root (network namespaces, IP_TRANSPARENT)"

LAN=$PREFIX-lan CPE=$PREFIX-cpe CONC=$PREFIX-conc SRV=$PREFIX-srv
SERVICE=198.51.100.1 SERVER=203.0.113.2
PM_PORT=5000 HA_SINK=5001 HA_RR=5002 HA_HOLD=5003 HA_SPLICE=5101
SINK_PORT=9001 RR_PORT=9002 HOLD_PORT=9003

mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.stats.json "$OUT"/raw.tsv "$OUT"/results.txt "$OUT"/ss-*.txt "$OUT"/nstat.* "$OUT"/allocation.jsonl
RAW=$OUT/raw.tsv
: >"$RAW"
T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- packages, build
log "packages"
bash "$repo/Deploy/setup-debian.sh" haproxy mptcpize gcc libc6-dev
for tool in ip ss nstat haproxy mptcpize cc python3 timeout; do
    command -v "$tool" >/dev/null || die "'$tool' not found"
done

PLAINMODE=$SCRATCH/release/plainmode
if ((BUILD)); then
    log "build plainmode (release, --scratch-path $SCRATCH)"
    (cd "$repo" && swift build -c release --product plainmode --scratch-path "$SCRATCH") >"$OUT/build.log" 2>&1 \
        || { tail -30 "$OUT/build.log" >&2; die "swift build failed (log: $OUT/build.log)"; }
fi
[[ -x $PLAINMODE ]] || die "no $PLAINMODE (run with BUILD=1)"
LOADGEN=$OUT/streamload
cc -O2 -Wall -pthread -o "$LOADGEN" "$here/stream/streamload.c"
COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$repo" status --porcelain --untracked-files=no -- Sources Package.swift 2>/dev/null | wc -l)

# ---------------------------------------------------------------- descriptors
ulimit -n "$(ulimit -Hn)"
ulimit -Hn 1048576 2>/dev/null && ulimit -n 1048576 2>/dev/null || true
FDLIMIT=$(ulimit -n)
# plainmode: 2 descriptors per idle connection, plus spare pipes (2 x 256 per loop), listeners, epoll
N=$CONNECTIONS
NOTE_N=""
if (((FDLIMIT - 1200) / 2 < N)); then
    N=$(((FDLIMIT - 1200) / 2 / 100 * 100))
    NOTE_N="CONNECTIONS=$CONNECTIONS capped to $N: descriptor limit $FDLIMIT (no CAP_SYS_RESOURCE to raise it) and plainmode holds 2 per idle connection"
    echo "stream-bench: $NOTE_N" >&2
fi
((N >= 100)) || die "descriptor limit $FDLIMIT is too low"
# HAProxy: 2 per connection, plus a pipe pair per spliced connection (maxpipes = maxconn/4)
HA_MAXCONN=$(((FDLIMIT - 256) * 2 / 5))
((HA_MAXCONN > 4 * N)) && HA_MAXCONN=$((4 * N))

# ---------------------------------------------------------------- clean-up

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }   # utime + stime
busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }    # user nice system irq softirq
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
slab_kb() { awk '/^Slab:/{print $2}' /proc/meminfo; }
tx_bytes() { nsx "$CPE" cat "/sys/class/net/$1/statistics/tx_bytes"; }
json_get() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

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
srv_established() { nsx "$SRV" ss -Htn state established "( sport = :$1 )" | wc -l; }

# ---------------------------------------------------------------- testbed and daemons
log "testbed $PREFIX (no shaping)"
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" down >/dev/null 2>&1 || true
PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" up --no-shaping >"$OUT/testbed.log" 2>&1 \
    || { cat "$OUT/testbed.log" >&2; die "testbed up failed"; }
# Ephemeral ports: the connections-per-second runs open tens of thousands of connections from
# the CPE (MPTCP, and the second subflow) and from HAProxy's upstream address; both relays see
# the same setting. Only inside our namespaces.
for ns in "$CPE" "$CONC"; do nsx "$ns" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"; done

spawn server "$SRV" "$LOADGEN" server --listen "$SERVER" --sink-port $SINK_PORT --rr-port $RR_PORT \
    --hold-port $HOLD_PORT --req 64 --resp 64 --max-seconds 1200
SRV_PID=$BG_PID
wait_for 10 grep -q READY "$OUT/server.log" || die "server did not start: $(cat "$OUT/server.log")"

# Starts plainmode concentrator as NAME (log $OUT/NAME.log) with control socket SOCK: the flags
# every plainmode run here shares, then the rest of the arguments, then PLAINMODE_ARGS. Its pid
# goes to BG_PID once the control socket is up.
start_plainmode() {
    local name=$1 sock=$2; shift 2
    rm -f "$sock"
    # shellcheck disable=SC2086
    spawn "$name" "$CONC" "$PLAINMODE" concentrator --listen "$SERVICE:$PM_PORT" --pool 192.0.2.128/27 --allow 198.51.100.0/29 \
        --psid-offset 0 --psid-length 0 --threads "$THREADS" --control-socket "$sock" --log-level notice "$@" \
        $PLAINMODE_ARGS
    wait_for 10 test -S "$sock" || die "plainmode ($name) did not start: $(cat "$OUT/$name.log")"
    [[ $(cat "/proc/$BG_PID/comm") == plainmode ]] || die "pid $BG_PID ($name) is not plainmode"
}
start_plainmode concentrator "$OUT/conc.sock" --state-dir "$OUT/state"
PM_PID=$BG_PID

splice_frontend=""
if ((HAPROXY_SPLICE)); then
    splice_frontend="
frontend sink-splice
    bind $SERVICE:$HA_SPLICE
    option splice-request
    option splice-response
    default_backend sink-splice
backend sink-splice
    option splice-request
    option splice-response
    server s1 $SERVER:$SINK_PORT"
fi
cat >"$OUT/haproxy.cfg" <<EOF
# written by Bench/run-stream-benchmarks.sh; run as: mptcpize run haproxy -f haproxy.cfg -db
global
    nbthread $THREADS
    maxconn $HA_MAXCONN
defaults
    mode tcp
    timeout connect 10s
    timeout client 10m
    timeout server 10m
frontend sink
    bind $SERVICE:$HA_SINK
    default_backend sink
backend sink
    server s1 $SERVER:$SINK_PORT
frontend rr
    bind $SERVICE:$HA_RR
    default_backend rr
backend rr
    server s1 $SERVER:$RR_PORT
frontend hold
    bind $SERVICE:$HA_HOLD
    default_backend hold
backend hold
    server s1 $SERVER:$HOLD_PORT
$splice_frontend
EOF
spawn haproxy "$CONC" mptcpize run haproxy -f "$OUT/haproxy.cfg" -db
HA_PID=$BG_PID
ha_listening() { nsx "$CONC" ss -HMltn "( sport = :$HA_HOLD )" | grep -q LISTEN; }
wait_for 10 ha_listening || die "haproxy has no MPTCP listener on :$HA_HOLD: $(cat "$OUT/haproxy.log")"
[[ $(cat "/proc/$HA_PID/comm") == haproxy ]] || die "pid $HA_PID is not haproxy"
tr '\0' '\n' <"/proc/$HA_PID/environ" | grep -q '^LD_PRELOAD=.*mptcp' || die "haproxy runs without the mptcpize preload"
HA_VERSION=$(haproxy -v | awk 'NR == 1 {print $3}')

# System names, how to reach each, and its relay pid.
target_of() {   # system test -> streamload arguments
    case $1/$2 in
        plainmode/sink) echo "--to $SERVICE:$PM_PORT --pm $SERVER:$SINK_PORT" ;;
        plainmode/rr) echo "--to $SERVICE:$PM_PORT --pm $SERVER:$RR_PORT" ;;
        plainmode/hold) echo "--to $SERVICE:$PM_PORT --pm $SERVER:$HOLD_PORT" ;;
        haproxy/sink) echo "--to $SERVICE:$HA_SINK" ;;
        haproxy/rr) echo "--to $SERVICE:$HA_RR" ;;
        haproxy/hold) echo "--to $SERVICE:$HA_HOLD" ;;
        haproxy-splice/sink) echo "--to $SERVICE:$HA_SPLICE" ;;
    esac
}
service_port() { case $1 in plainmode) echo $PM_PORT ;; haproxy) echo $HA_SINK ;; haproxy-splice) echo $HA_SPLICE ;; esac; }
pid_of() { if [[ $1 == plainmode ]]; then echo "$PM_PID"; else echo "$HA_PID"; fi; }
alive() { kill -0 "$PM_PID" 2>/dev/null || die "plainmode exited: $(tail -20 "$OUT/concentrator.log")"
          kill -0 "$HA_PID" 2>/dev/null || die "haproxy exited: $(tail -20 "$OUT/haproxy.log")"; }
# Runs the load generator in the CPE namespace, bounded by `timeout`.
loadgen() { local limit=$1; shift; timeout -k 5 "$limit" ip netns exec "$CPE" "$LOADGEN" "$@"; }

GOODPUT_SYSTEMS=(plainmode haproxy)
((HAPROXY_SPLICE)) && GOODPUT_SYSTEMS+=(haproxy-splice)
BYTES=$((GIGABYTES * 1000000000))

# ---------------------------------------------------------------- warm-up (not measured)
log "warm-up"
for sys in "${GOODPUT_SYSTEMS[@]}"; do
    # shellcheck disable=SC2046
    loadgen 60 bulk $(target_of "$sys" sink) --bytes 200000000 --streams "$STREAMS" >>"$OUT/warmup.log" \
        || die "warm-up transfer through $sys failed: $(tail -1 "$OUT/warmup.log")"
done
# One second of the rr load through SYSTEM (of target_of), not measured; $2, if given, names the
# run in the message when it fails.
warm_rr() {
    # shellcheck disable=SC2046
    loadgen 30 rr $(target_of "$1" rr) --seconds 1 --concurrency "$CONCURRENCY" >>"$OUT/warmup.log" \
        || die "warm-up rr through ${2:-$1} failed: $(tail -1 "$OUT/warmup.log")"
}
for sys in plainmode haproxy; do warm_rr "$sys"; done
alive

# ---------------------------------------------------------------- 1. goodput
GOODPUT_CAP=- GOODPUT_JOIN=- CPS_CAP=- CPS_FB=- SS_SEEN=
if want goodput; then
log "goodput: $ROUNDS rounds x ${GIGABYTES} GB x (${GOODPUT_SYSTEMS[*]}), $STREAMS stream(s)"
CAP0=$(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) JOIN0=$(nstat_get "$CONC" MPTcpExtMPJoinAckRx)
sink0=$(srv_stat sink_bytes)
sent_total=0
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${GOODPUT_SYSTEMS[@]}")
    if ((r % 2 == 0)); then order=(); for ((i = ${#GOODPUT_SYSTEMS[@]} - 1; i >= 0; i--)); do order+=("${GOODPUT_SYSTEMS[i]}"); done; fi
    for sys in "${order[@]}"; do
        pid=$(pid_of "$sys")
        x0=$(nstat_get "$CPE" MPTcpExtMPTCPRetrans) y0=$(($(nstat_get "$CPE" TcpRetransSegs) + $(nstat_get "$CONC" TcpRetransSegs)))
        a0=$(tx_bytes wana) b0=$(tx_bytes wanb) c0=$(cpu_ticks "$pid") m0=$(busy_ticks)
        # shellcheck disable=SC2046
        loadgen $((60 + 30 * GIGABYTES)) bulk $(target_of "$sys" sink) --bytes "$BYTES" --streams "$STREAMS" \
            >"$OUT/bulk.$sys.$r.log" 2>&1 &
        lg=$!
        PIDS+=("$lg")
        if ((r == 1)); then   # what the relay's MPTCP side looks like mid-transfer
            sleep 0.4
            nsx "$CONC" ss -Mtni state established "( sport = :$(service_port "$sys") )" >"$OUT/ss-$sys.txt" 2>&1 || true
            # an MPTCP socket on the service port with a subflow from the CPE's second address
            if grep -q '^mptcp' "$OUT/ss-$sys.txt" && grep -q ' 198\.51\.100\.6:' "$OUT/ss-$sys.txt"; then
                SS_SEEN+="$sys: MPTCP, subflows from .2 and .6; "
            else
                SS_SEEN+="$sys: NOT SEEN (see ss-$sys.txt); "
            fi
        fi
        wait "$lg" || die "bulk through $sys failed: $(cat "$OUT/bulk.$sys.$r.log")"
        forget "$lg"
        c1=$(cpu_ticks "$pid") m1=$(busy_ticks) a1=$(tx_bytes wana) b1=$(tx_bytes wanb)
        x1=$(nstat_get "$CPE" MPTcpExtMPTCPRetrans) y1=$(($(nstat_get "$CPE" TcpRetransSegs) + $(nstat_get "$CONC" TcpRetransSegs)))
        record mptcp_retrans "$sys" "$r" $((x1 - x0))
        record tcp_retrans "$sys" "$r" $((y1 - y0))
        out=$(cat "$OUT/bulk.$sys.$r.log")
        srv_bytes=$(json_get "$out" server_bytes)
        ((srv_bytes == BYTES)) || die "server counted $srv_bytes bytes through $sys, expected $BYTES"
        [[ $(json_get "$out" fallbacks) == 0 ]] || die "MPTCP fell back to TCP through $sys: $out"
        sent_total=$((sent_total + BYTES))
        gbit=$(json_get "$out" gbit_s)
        record goodput_gbit_s "$sys" "$r" "$gbit"
        record relay_cpu_s_per_gb "$sys" "$r" "$(calc "($c1 - $c0) / $CLK_TCK / ($BYTES / 1e9)")"
        record machine_cpu_s_per_gb "$sys" "$r" "$(calc "($m1 - $m0) / $CLK_TCK / ($BYTES / 1e9)")"
        record wanb_share_pct "$sys" "$r" "$(calc "100 * ($b1 - $b0) / (($a1 - $a0) + ($b1 - $b0))")"
        record subflows "$sys" "$r" "$(json_get "$out" subflows | tr -d '[] ')"
        echo "   round $r $sys: $gbit Gbit/s, relay $(calc "($c1 - $c0) / $CLK_TCK") CPU s" >&2
    done
done
sink1=$(srv_stat sink_bytes)
((sink1 - sink0 == sent_total)) || die "server sink counted $((sink1 - sink0)) bytes, clients sent $sent_total"
GOODPUT_CAP=$(($(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) - CAP0))
GOODPUT_JOIN=$(($(nstat_get "$CONC" MPTcpExtMPJoinAckRx) - JOIN0))
alive
fi

# ---------------------------------------------------------------- 2. connections per second
# One connections-per-second run: the rr load for CPS_SECONDS through SYSTEM (of target_of), whose
# relay process is PID; recorded as LABEL, round R. Dies when the client fails or the server
# answered fewer requests than the client completed.
rr_run() {
    local label=$1 r=$2 sys=$3 pid=$4 d0 c0 m0 d1 c1 m1 out total cps
    d0=$(srv_stat rr_done) c0=$(cpu_ticks "$pid") m0=$(busy_ticks)
    # shellcheck disable=SC2046
    out=$(loadgen $((CPS_SECONDS + 60)) rr $(target_of "$sys" rr) --seconds "$CPS_SECONDS" \
        --concurrency "$CONCURRENCY" --threads "$CLIENT_THREADS" --timeout 20) \
        || die "rr through $label failed: $out"
    c1=$(cpu_ticks "$pid") m1=$(busy_ticks) d1=$(srv_stat rr_done)
    echo "$out" >"$OUT/rr.$label.$r.log"
    total=$(json_get "$out" completed_total)
    ((d1 - d0 >= total)) || die "server answered $((d1 - d0)) requests through $label, client completed $total"
    cps=$(json_get "$out" conn_per_s)
    record conn_per_s "$label" "$r" "$cps"
    record relay_cpu_ms_per_1000_conn "$label" "$r" "$(calc "1000 * 1000 * ($c1 - $c0) / $CLK_TCK / $total")"
    record machine_cpu_ms_per_1000_conn "$label" "$r" "$(calc "1000 * 1000 * ($m1 - $m0) / $CLK_TCK / $total")"
    record conn_p50_ms "$label" "$r" "$(json_get "$out" p50_ms)"
    record conn_p99_ms "$label" "$r" "$(json_get "$out" p99_ms)"
    record conn_failed "$label" "$r" "$(json_get "$out" failed)"
    echo "   round $r $label: $cps conn/s, failed $(json_get "$out" failed)" >&2
}

if want cps; then
log "connections per second: $ROUNDS rounds x ${CPS_SECONDS} s x (plainmode haproxy), $CONCURRENCY in flight"
CAP0=$(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) FB0=$(nstat_get "$CONC" MPTcpExtMPCapableFallbackACK)
for ((r = 1; r <= ROUNDS; r++)); do
    order=(plainmode haproxy)
    ((r % 2 == 0)) && order=(haproxy plainmode)
    for sys in "${order[@]}"; do rr_run "$sys" "$r" "$sys" "$(pid_of "$sys")"; done
done
CPS_CAP=$(($(nstat_get "$CONC" MPTcpExtMPCapableSYNRX) - CAP0))
CPS_FB=$(($(nstat_get "$CONC" MPTcpExtMPCapableFallbackACK) - FB0))
alive
fi

# ---------------------------------------------------------------- 3. memory per idle connection
hold_cycle() {   # system cycle -> records; leaves no connection open
    local sys=$1 cyc=$2 pid rss0 rss1 rss2 fd0 fd1 slab0 slab1 lg est i n
    pid=$(pid_of "$sys")
    sleep 1
    rss0=$(rss_kb "$pid") fd0=$(fd_count "$pid") slab0=$(slab_kb)
    # shellcheck disable=SC2046
    timeout -k 5 200 ip netns exec "$CPE" "$LOADGEN" hold $(target_of "$sys" hold) --count "$N" \
        --concurrency 256 --timeout 90 --hold-seconds 120 >"$OUT/hold.$sys.$cyc.log" 2>&1 &
    lg=$!
    PIDS+=("$lg")
    wait_for 100 grep -qs '"mode":"hold"' "$OUT/hold.$sys.$cyc.log" || die "hold through $sys: no report"
    est=$(json_get "$(head -1 "$OUT/hold.$sys.$cyc.log")" established)
    ((est == N)) || die "only $est of $N connections through $sys came up: $(head -1 "$OUT/hold.$sys.$cyc.log")"
    srv_full() { (($(srv_established $HOLD_PORT) >= N)); }
    wait_for 30 srv_full || die "server sees $(srv_established $HOLD_PORT) of $N connections through $sys"
    sleep 2   # let the relay settle (deferred frees, sweeps)
    rss1=$(rss_kb "$pid") fd1=$(fd_count "$pid") slab1=$(slab_kb)
    n=$(srv_established $HOLD_PORT)
    nsx "$CONC" ss -s >"$OUT/ss-summary.$sys.$cyc.txt" 2>&1 || true
    kill "$lg" 2>/dev/null || true
    wait "$lg" 2>/dev/null || true
    forget "$lg"
    srv_empty() { (($(srv_established $HOLD_PORT) == 0)); }
    wait_for 60 srv_empty || die "$(srv_established $HOLD_PORT) connections through $sys still open on the server"
    sleep 2
    rss2=$(rss_kb "$pid")
    record rss_bytes_per_conn "$sys" "$cyc" "$(calc "($rss1 - $rss0) * 1024 / $N")"
    record slab_bytes_per_conn "$sys" "$cyc" "$(calc "($slab1 - $slab0) * 1024 / $N")"
    record fds_per_conn "$sys" "$cyc" "$(calc "($fd1 - $fd0) / $N")"
    record rss_kb_before "$sys" "$cyc" "$rss0"
    record rss_kb_held "$sys" "$cyc" "$rss1"
    record rss_kb_after_close "$sys" "$cyc" "$rss2"
    echo "   cycle $cyc $sys: server sees $n; RSS $rss0 -> $rss1 -> $rss2 KiB (after close); fds $fd0 -> $fd1" >&2
}
if want memory; then
    log "memory: $N idle connections per system"
    for cyc in 1 2; do
        for sys in plainmode haproxy; do hold_cycle "$sys" "$cyc"; done
    done
    alive
fi

# ---------------------------------------------------------------- 4. leases: SQLite store against memory
# Issue 14: the same rr load through plainmode with its leases in the SQLite store (--state-dir
# $OUT/state) and in memory only (--ephemeral-leases), for one subscriber that names both CPE
# addresses and already holds its lease: after each start a warm-up allocates it (memory, and
# the first SQLite start on a fresh database) or renews the one restored from the database. The
# two configurations take turns on the same listener and pool, each round started afresh, order
# alternating. The main plainmode makes way for them, so this test runs last.
LEASE_SUBSCRIBER=cust-1 LEASE_CHECKS=
# The tests that run plainmode alone in two configurations take its listener: the main one makes way.
stop_main_plainmode() { if [[ -n $PM_PID ]]; then stop_pid "$PM_PID"; PM_PID=""; fi; }
# `ctl stats --json` of RUN through SOCK into STATS (and $OUT/RUN.stats.json); $3, $4... must be
# integers in it (STAT_<key> is set to each); dies otherwise.
ctl_stats() {
    local run=$1 sock=$2 key value; shift 2
    STATS=$(nsx "$CONC" "$PLAINMODE" ctl stats --json --control-socket "$sock" 2>&1) || die "$run: ctl stats failed: $STATS"
    echo "$STATS" >"$OUT/$run.stats.json"
    for key in "$@"; do
        value=$(json_get "$STATS" "$key")
        [[ $value =~ ^[0-9]+$ ]] || die "$run: ctl stats --json has no integer $key: $STATS"
        printf -v "STAT_$key" '%s' "$value"
    done
}
# Rounds of the rr load through plainmode alone, two configurations alternating (first A, then B;
# even rounds B first), each run on a freshly started daemon warmed up for 1 s: TEST A B calls
# TEST_start CFG RUN SOCK (starts the daemon), TEST_warmed CFG RUN SOCK (after the warm-up) and
# TEST_measured CFG RUN SOCK R (after the measurement); runs are recorded as TEST-CFG.
alternate_runs() {
    local test=$1 a=$2 b=$3 r cfg pid run sock=$OUT/$1.sock
    for ((r = 1; r <= ROUNDS; r++)); do
        local order=("$a" "$b")
        ((r % 2 == 0)) && order=("$b" "$a")
        for cfg in "${order[@]}"; do
            run=$test-$cfg.$r
            "${test}_start" "$cfg" "$run" "$sock"
            pid=$BG_PID
            warm_rr plainmode "$run"
            "${test}_warmed" "$cfg" "$run" "$sock"
            rr_run "$test-$cfg" "$r" plainmode "$pid"
            running "$pid" || die "plainmode ($run) exited: $(tail -20 "$OUT/$run.log")"
            "${test}_measured" "$cfg" "$run" "$sock" "$r"
            stop_pid "$pid"
        done
    done
}
# The subscriber's active lease in `ctl leases --json` through SOCK, as "ADDRESS PSID N", into LEASE;
# dies without one. $1 names the run in messages.
lease_check() {
    local run=$1 sock=$2 out
    out=$(nsx "$CONC" "$PLAINMODE" ctl leases --json --control-socket "$sock" 2>&1) || die "leases ($run): ctl leases failed: $out"
    LEASE=$(python3 -c 'import json, sys
print(" ".join("%s PSID %s" % (l["address"], l["psid"]) for l in json.loads(sys.argv[1])["leases"]
               if l["subscriber"] == sys.argv[2] and l["active"]))' "$out" "$LEASE_SUBSCRIBER") \
        || die "leases ($run): ctl leases --json is not JSON: $out"
    [[ -n $LEASE ]] || die "leases ($run): ctl leases --json lists no active lease of $LEASE_SUBSCRIBER after the warm-up: $out"
}
if want leases; then
    log "leases: $ROUNDS rounds x ${CPS_SECONDS} s x (SQLite store, memory), subscriber $LEASE_SUBSCRIBER, $CONCURRENCY in flight"
    stop_main_plainmode
    printf '# written by Bench/run-stream-benchmarks.sh (test leases): the load generator'\''s CPE addresses\n%s 198.51.100.2/32 198.51.100.6/32\n' \
        "$LEASE_SUBSCRIBER" >"$OUT/subscribers"
    rm -f "$OUT/state"/leases.sqlite*   # a fresh database: the first SQLite start allocates, later ones restore
    leases_start() {
        if [[ $1 == sqlite ]]; then
            start_plainmode "$2" "$3" --subscribers "$OUT/subscribers" --state-dir "$OUT/state"
        else
            start_plainmode "$2" "$3" --subscribers "$OUT/subscribers" --ephemeral-leases
        fi
    }
    leases_warmed() { lease_check "$2" "$3"; record lease "leases-$1" "${2##*.}" "$LEASE"; }
    leases_measured() {
        local cfg=$1 run=$2 r=$4 written failures
        ctl_stats "$run" "$3" lease_events_written lease_write_failures
        written=$STAT_lease_events_written failures=$STAT_lease_write_failures
        record lease_events_written "leases-$cfg" "$r" "$written"
        record lease_write_failures "leases-$cfg" "$r" "$failures"
        if [[ $cfg == sqlite ]]; then
            ((written >= 1)) || die "leases ($run): the SQLite run did not use the database: lease_events_written is $written, expected >= 1"
            ((failures == 0)) || die "leases ($run): the SQLite run had $failures failed lease writes (lease_write_failures; $(grep -m1 -i lease "$OUT/$run.log"))"
            [[ -s $OUT/state/leases.sqlite ]] || die "leases ($run): no $OUT/state/leases.sqlite"
        else
            ((written == 0)) || die "leases ($run): --ephemeral-leases wrote $written lease events"
        fi
    }
    alternate_runs leases sqlite memory
    LEASE_CHECKS="every run listed $LEASE_SUBSCRIBER's lease in ctl leases --json after its warm-up; SQLite runs: lease_events_written >= 1 and lease_write_failures 0 (ctl stats --json), $OUT/state/leases.sqlite present; memory runs: no lease event"
fi

# ---------------------------------------------------------------- 5. logging: allocation log against none
# Issue 15: the same rr load through plainmode with the allocation log (LOG_FLAGS, by default
# every connection's creation and deletion as IPFIX NAT44 session records to a UDP sink) and without it, each run
# started afresh, order alternating, the main plainmode out of the way (as for leases). A logging
# run counts only if it logged: once the load is over, log_records_written must reach 2 x
# upstream_connected (created + deleted per relayed connection, warm-up included; lease records
# come on top). When it does not within 10 s, drops or output failures counted by the daemon
# are reported as the reason (the ratio then measured a log that lost records); with neither,
# the run fails.
LOG_CHECKS= LOG_SHORT=
if want logging; then
    log "logging: $ROUNDS rounds x ${CPS_SECONDS} s x ($LOG_FLAGS; none), $CONCURRENCY in flight"
    stop_main_plainmode
    rm -f "$OUT/allocation.jsonl"
    if [[ -n $LOG_UDP_SINK ]]; then   # reads and discards, for a UDP output (syslog, IPFIX) in LOG_FLAGS
        spawn log-sink "$CONC" timeout 3600 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1]))); print("READY", flush=True)
while True: s.recv(65536)' "$LOG_UDP_SINK"
        wait_for 10 grep -q READY "$OUT/log-sink.log" || die "logging: the UDP sink on 127.0.0.1:$LOG_UDP_SINK did not start: $(cat "$OUT/log-sink.log")"
    fi
    logging_start() {
        # Leases in $OUT/state as in the cps test (never the default /var/lib/plainmode).
        # shellcheck disable=SC2086
        if [[ $1 == log ]]; then start_plainmode "$2" "$3" --state-dir "$OUT/state" $LOG_FLAGS; else start_plainmode "$2" "$3" --state-dir "$OUT/state"; fi
    }
    logging_warmed() { :; }
    logging_measured() {
        local cfg=$1 run=$2 sock=$3 r=$4 i
        for ((i = 0; i < 50; i++)); do   # the logging thread catches up (and the relay closes the last flows)
            ctl_stats "$run" "$sock" upstream_connected log_records_written log_records_dropped log_output_failures
            [[ $cfg == none ]] || ((STAT_log_records_written >= 2 * STAT_upstream_connected)) && break
            sleep 0.2
        done
        record upstream_connected "logging-$cfg" "$r" "$STAT_upstream_connected"
        record log_records_written "logging-$cfg" "$r" "$STAT_log_records_written"
        record log_records_dropped "logging-$cfg" "$r" "$STAT_log_records_dropped"
        record log_output_failures "logging-$cfg" "$r" "$STAT_log_output_failures"
        if [[ $cfg == none ]]; then
            ((STAT_log_records_written == 0)) || die "logging ($run): without logging flags, $STAT_log_records_written records were written"
        elif ((STAT_log_records_written < 2 * STAT_upstream_connected)); then
            local short="$run: $STAT_log_records_written records written for $STAT_upstream_connected connections (expected >= $((2 * STAT_upstream_connected))): $STAT_log_records_dropped dropped (queue full), $STAT_log_output_failures output failures"
            ((STAT_log_records_dropped + STAT_log_output_failures > 0)) \
                || die "logging ($short; nothing counted as lost: does LOG_FLAGS='$LOG_FLAGS' log sessions? See $OUT/$run.log"
            LOG_SHORT+="$short; "
            echo "   NOTE $short" >&2
        fi
    }
    alternate_runs logging log none
    LOG_CHECKS="logging runs: log_records_written >= 2 x upstream_connected (ctl stats --json, polled up to 10 s after the load) unless reported below; runs without flags: no record written"
fi

# ---------------------------------------------------------------- report
for ns in "$CPE" "$CONC" "$SRV"; do   # kernel counters and interface drops, for reading later
    { NSTAT_HISTORY=$OUT/nstat.$ns nsx "$ns" nstat -asz; nsx "$ns" ip -s link; } >"$OUT/diag-${ns#"$PREFIX"-}.txt" 2>&1 || true
done
[[ -n $PM_PID ]] && { nsx "$CONC" "$PLAINMODE" ctl stats --control-socket "$OUT/conc.sock" >"$OUT/plainmode-stats.txt" 2>&1 || true; }
PM_LOG_PROBLEMS=$(cat "$OUT"/concentrator.log "$OUT"/leases-*.log "$OUT"/logging-*.log 2>/dev/null | grep -c -E ' (warning|error|critical) ' || true)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))
export SS_SEEN TESTS PLAINMODE_ARGS RAW HA_VERSION COMMIT DIRTY N NOTE_N THREADS STREAMS GIGABYTES ROUNDS CPS_SECONDS CONCURRENCY \
    CLIENT_THREADS LOAD_BEFORE LOAD_AFTER ELAPSED FDLIMIT GOODPUT_CAP GOODPUT_JOIN CPS_CAP CPS_FB \
    PM_LOG_PROBLEMS HAPROXY_SPLICE LEASE_SUBSCRIBER LEASE_CHECKS DEFAULT_TESTS LOG_FLAGS LOG_CHECKS LOG_SHORT
python3 - >"$OUT/results.txt" <<'EOF'
import os, statistics, datetime, platform
E = os.environ
raw = {}
for line in open(E["RAW"]):
    metric, system, rnd, value = line.rstrip("\n").split("\t")
    try:
        raw.setdefault((metric, system), []).append(float(value))
    except ValueError:
        raw.setdefault((metric, system), []).append(value)

def med(metric, system, first_only=False):
    v = raw.get((metric, system))
    if not v:
        return None
    return v[0] if first_only else statistics.median(v)

def fmt(x, digits):
    return "-" if x is None else f"{x:,.{digits}f}"

rows = [
    # metric, label, digits, better (higher/lower), first cycle only
    ("goodput_gbit_s", "goodput, Gbit/s (median)", 2, "higher", False),
    ("relay_cpu_s_per_gb", "relay CPU s per GB", 3, "lower", False),
    ("machine_cpu_s_per_gb", "machine CPU s per GB (all processes)", 3, "info", False),
    ("wanb_share_pct", "bytes on the second link (wanb), %", 1, "info", False),
    ("conn_per_s", "connections/s", 0, "higher", False),
    ("relay_cpu_ms_per_1000_conn", "relay CPU ms per 1000 connections", 1, "lower", False),
    ("machine_cpu_ms_per_1000_conn", "machine CPU ms per 1000 connections", 1, "info", False),
    ("conn_p50_ms", "connection time p50, ms", 2, "lower", False),
    ("conn_p99_ms", "connection time p99, ms", 2, "lower", False),
    ("rss_bytes_per_conn", "RSS growth per idle connection, bytes", 0, "lower", True),
    ("slab_bytes_per_conn", "kernel slab growth per connection (whole machine), bytes", 0, "info", True),
    ("fds_per_conn", "descriptors per connection", 2, "info", True),
]
BETTER = {"higher": "higher is better", "lower": "lower is better", "info": "(information)"}
hdr = ["metric", "plainmode", "HAProxy", "pm/HAProxy", "better"]
if E["HAPROXY_SPLICE"] == "1":
    hdr[4:4] = ["HAProxy+splice", "pm/splice"]
table = []
for metric, label, d, better, first in rows:
    p, h = med(metric, "plainmode", first), med(metric, "haproxy", first)
    ratio = f"{p / h:.2f}x" if p is not None and h not in (None, 0) and metric != "wanb_share_pct" else "-"
    line = [label, fmt(p, d), fmt(h, d), ratio]
    if E["HAPROXY_SPLICE"] == "1":
        s = med(metric, "haproxy-splice", first)
        line += [fmt(s, d), f"{p / s:.2f}x" if p is not None and s not in (None, 0) and metric != "wanb_share_pct" else "-"]
    line += [BETTER[better]]
    table.append(line)

def show_table(hdr, table):
    widths = [max(len(r[i]) for r in table + [hdr]) for i in range(len(hdr))]
    def show(r):
        return "  ".join(c.ljust(widths[i]) if i == 0 or i == len(r) - 1 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
    print(show(hdr))
    print(show(["-" * w for w in widths]))
    for r in table:
        print(show(r))

def per_run(metrics, systems):
    for metric in metrics:
        for system in systems:
            v = raw.get((metric, system))
            if v:
                print(f"  {metric:28s} {system:15s} " + " ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v))

tests = E["TESTS"].split()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Stream-plane benchmarks, {now}, commit {E['COMMIT']}" + (" (Sources modified)" if E["DIRTY"] != "0" else "")
      + f", Linux {platform.release()}, {os.cpu_count()} CPUs, HAProxy {E['HA_VERSION']}")
print(f"threads: plainmode --threads {E['THREADS']}, haproxy nbthread {E['THREADS']}; goodput {E['ROUNDS']} x "
      f"{E['GIGABYTES']} GB, {E['STREAMS']} stream(s); cps {E['ROUNDS']} x {E['CPS_SECONDS']} s, "
      f"{E['CONCURRENCY']} in flight, {E['CLIENT_THREADS']} client thread(s); idle {E['N']} connections, 2 cycles")
print(f"load average before {E['LOAD_BEFORE']}, after {E['LOAD_AFTER']}; run took {E['ELAPSED']} s; descriptor limit {E['FDLIMIT']}")
if E["NOTE_N"] and "memory" in tests:
    print("NOTE: " + E["NOTE_N"])
if E["PLAINMODE_ARGS"].strip():
    print("NOTE: plainmode ran with extra flags: " + E["PLAINMODE_ARGS"])
if tests != E["DEFAULT_TESTS"].split():
    print("NOTE: only these tests ran: " + E["TESTS"])
if {"goodput", "cps", "memory"} & set(tests):
    print()
    show_table(hdr, table)
    print()
    print("ratios are plainmode / HAProxy; medians over rounds (memory: first cycle). Per run:")
    per_run(("goodput_gbit_s", "relay_cpu_s_per_gb", "mptcp_retrans", "tcp_retrans", "conn_per_s", "relay_cpu_ms_per_1000_conn", "conn_failed",
             "rss_bytes_per_conn", "slab_bytes_per_conn", "rss_kb_before", "rss_kb_held", "rss_kb_after_close", "subflows"),
            ("plainmode", "haproxy", "haproxy-splice"))
    print(f"checks: MPTCP connections accepted by the concentrator namespace (MPTcpExtMPCapableSYNRX) during goodput "
          f"{E['GOODPUT_CAP']}, joined subflows (MPJoinAckRx) {E['GOODPUT_JOIN']}; during cps {E['CPS_CAP']} "
          f"(fallback ACKs {E['CPS_FB']}); server-side byte and request counts matched the clients'")
    if E["SS_SEEN"]:
        print("ss -Mtni in the concentrator namespace mid-transfer (round 1): " + E["SS_SEEN"].rstrip("; "))

def compare(a, b, a_name, b_name, target, extra):
    """Medians of two alternating plainmode configurations, ratio a/b against the target, per run."""
    rows_ab = [r for r in rows if r[0].startswith("conn_") or r[0].endswith("_per_1000_conn")]
    ab_table = []
    for metric, label, d, better, _ in rows_ab:
        q, m = med(metric, a), med(metric, b)
        ab_table.append([label, fmt(q, d), fmt(m, d), f"{q / m:.3f}x" if q is not None and m else "-", BETTER[better]])
    show_table(["metric", a_name, b_name, f"{a_name}/{b_name}", "better"], ab_table)
    qa, qb = raw.get(("conn_per_s", a), []), raw.get(("conn_per_s", b), [])
    q, m = med("conn_per_s", a), med("conn_per_s", b)
    if q is not None and m:
        pairs = [x / y for x, y in zip(qa, qb) if y]
        print(f"connections/s {a_name} / {b_name} = {q / m:.3f} (target >= {target}: {'met' if q / m >= target else 'NOT MET'}); "
              f"per-round ratios: median {statistics.median(pairs):.3f}, {min(pairs):.3f}-{max(pairs):.3f}; "
              f"connections/s per run {min(qa):,.0f}-{max(qa):,.0f} ({a_name}), {min(qb):,.0f}-{max(qb):,.0f} ({b_name}). Per run:")
    per_run(("conn_per_s", "relay_cpu_ms_per_1000_conn", "conn_failed") + extra, (a, b))

if "leases" in tests:
    print()
    print(f"leases (issue 14): new connections/s for an existing subscriber ({E['LEASE_SUBSCRIBER']}: 198.51.100.2/32 198.51.100.6/32), "
          f"plainmode with the SQLite lease store (--state-dir) against memory only (--ephemeral-leases); {E['ROUNDS']} x "
          f"{E['CPS_SECONDS']} s each, restarted and warmed up per run, order alternating; medians")
    compare("leases-sqlite", "leases-memory", "SQLite", "memory", 0.95, ("lease", "lease_events_written", "lease_write_failures"))
    print("checks: " + E["LEASE_CHECKS"])
if "logging" in tests:
    print()
    print(f"logging (issue 15): new connections/s through plainmode with the allocation log ({E['LOG_FLAGS']}) against without; "
          f"{E['ROUNDS']} x {E['CPS_SECONDS']} s each, restarted and warmed up per run, order alternating; medians")
    compare("logging-log", "logging-none", "logging", "none", 0.90,
            ("upstream_connected", "log_records_written", "log_records_dropped", "log_output_failures"))
    print("checks: " + E["LOG_CHECKS"])
    if E["LOG_SHORT"]:
        print("NOTE: logging runs that lost records (the ratio measured a log that dropped or failed): " + E["LOG_SHORT"].rstrip("; "))
print(f"plainmode log warnings/errors: {E['PM_LOG_PROBLEMS']}")
EOF
cat "$OUT/results.txt"
echo "stream-bench: results in $OUT/results.txt (raw: $RAW)" >&2
