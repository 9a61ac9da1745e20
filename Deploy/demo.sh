#!/usr/bin/env bash
# The main job: bonded TCP through plainmode on a testbed of network namespaces (Deploy/testbed.sh):
# a LAN host, a CPE with two access links (by default the dsl-lte profile: A 20 Mbit/s + 10 ms
# one-way, B 20 Mbit/s + 25 ms), the concentrator and an Internet server 10 ms beyond it. In turn:
#   upload      MEGABYTES from the LAN host to the server over one TCP connection
#   download    MEGABYTES from the server to the LAN host over one TCP connection
#   first byte  median time to the first byte of 20 small request/response exchanges through
#               plainmode, against the same exchange made directly over link A (--direct-path)
#   link cut    a download during which link A is set down half-way; it completes over link B
# For each transfer: each link's bytes, the goodput against the sum of the link rates, SHA-256 at
# both ends. A sampler reads both links' byte counters every 100 ms; the demo plots them
# (links.png: Mbit/s per link and direction, phases shaded) next to a text summary (summary.txt)
# and the raw samples in DEMO_OUT, then prints the daemons' own view (`plainmode ctl`).
# Rates are reported, never judged: the demo fails only when a transfer fails or data differ.
#
# Run as root on Debian 12: bash Deploy/demo.sh. Environment: PROFILE (dsl-lte, two-fibres, lan;
# default dsl-lte), RATE (each link, default 20mbit), INTERNET_DELAY (one-way, concentrator to
# server, default 10ms: where the PM block as SYN data saves a round trip), MEGABYTES (per transfer, default 30),
# DEMO_OUT (default demo-output/ in the repository), DEMO_PREFIX (namespace prefix, default pmdemo).
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
repo=$PWD
profile=${PROFILE:-dsl-lte}
rate=${RATE:-20mbit}
internet_delay=${INTERNET_DELAY:-10ms}
megabytes=${MEGABYTES:-30}
out=${DEMO_OUT:-$repo/demo-output}
[[ $out == /* ]] || out=$caller_dir/$out
export PREFIX=${DEMO_PREFIX:-pmdemo}
[[ $megabytes =~ ^[1-9][0-9]{0,4}$ ]] || { echo "demo: MEGABYTES must be a whole number 1-99999" >&2; exit 2; }
case $profile in dsl-lte | two-fibres | lan) ;; *) echo "demo: PROFILE must be dsl-lte, two-fibres or lan" >&2; exit 2 ;; esac
link_mbit=$(awk -v r="${rate,,}" 'BEGIN {
    if (match(r, /^[0-9.]+/) == 0) exit 1
    n = substr(r, 1, RLENGTH); u = substr(r, RLENGTH + 1)
    if (u == "mbit") print n; else if (u == "kbit") print n / 1e3; else if (u == "gbit") print n * 1e3
    else if (u == "bit") print n / 1e6; else exit 1 }') || { echo "demo: RATE must be e.g. 20mbit" >&2; exit 2; }

bash Deploy/setup-debian.sh python3-matplotlib
swift build -c release --product plainmode 2>&1 | tail -1
swift build -c release --product delay-line 2>&1 | tail -1
bin_dir=$(swift build -c release --show-bin-path)
bin=$bin_dir/plainmode
tools=Tests/IntegrationTests/tools
LAN=$PREFIX-lan CPE=$PREFIX-cpe CONC=$PREFIX-conc SRV=$PREFIX-srv
bytes=$((megabytes * 1000000))   # MB of 10^6 bytes, as printed
timeout=$((megabytes * 2 > 60 ? megabytes * 2 : 60))   # seconds per transfer (~10x the expected time)

work=$(mktemp -d)
pids=()
sampler=""
cleanup() {
    set +e
    [[ -n $sampler ]] && kill "$sampler" 2>/dev/null
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    bash Deploy/testbed.sh down >/dev/null 2>&1   # also stops whatever still runs in the namespaces
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
rm -f "$out/summary.txt" "$out/links.png" "$out/samples.csv" "$out/phases.tsv"
summary=$out/summary.txt
phases=$work/phases.tsv
: >"$phases"
failures=()
say() { printf '%s\n' "$@" | tee -a "$summary"; }
section() { say "" "== $*"; }
now() { date +%s.%N; }
# Runs a command in the background and waits for it: a signal then ends the demo at once.
run() { "$@" & local pid=$!; pids+=("$pid"); wait "$pid"; }
# Both links' counters (tx or rx) in the CPE namespace, as "A B".
counters() { echo $(ip netns exec "$CPE" cat /sys/class/net/wana/statistics/"$1"_bytes /sys/class/net/wanb/statistics/"$1"_bytes); }
# Waits (bounded) until a server log holds N JSON lines.
await_lines() { for _ in $(seq 100); do (($(grep -c '^{' "$1" || true) >= $2)) && return 0; sleep 0.1; done; return 1; }

say "plainmode demo $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), profile $profile, $megabytes MB per transfer"
section "testbed: LAN host, CPE with two links, concentrator, server"
bash Deploy/testbed.sh up --profile "$profile" --rate "$rate" --delay-internet "$internet_delay" --direct-path \
    --delay-line "$bin_dir/delay-line" \
    | tail -1 | tee -a "$summary"
ip netns exec "$CONC" "$bin" concentrator --listen 198.51.100.1:5000 --listen '[2001:db8:a::1]:5000' \
    --pool 192.0.2.128/27 --allow 198.51.100.0/29 --allow 2001:db8:a::/63 --state-dir "$work/state" --control-socket "$work/conc.sock" >"$work/conc.log" 2>&1 & pids+=($!)
ip netns exec "$CPE" "$bin" cpe --concentrator 198.51.100.1:5000 --concentrator6 '[2001:db8:a::1]:5000' \
    --control-socket "$work/cpe.sock" >"$work/cpe.log" 2>&1 & pids+=($!)
# Servers: a sink for the upload (FIN only after EOF), one sender per download, the first-byte server.
ip netns exec "$SRV" python3 $tools/peer.py serve --listen 203.0.113.2 --port 80 --send 0 \
    --mark $((bytes / 5)) --timeout "$timeout" --lifetime 900 >"$work/up.log" 2>&1 & pids+=($!)
ip netns exec "$SRV" python3 $tools/peer.py serve --listen 203.0.113.2 --port 8080 --send "$bytes" \
    --timeout "$timeout" --lifetime 900 >"$work/down.log" 2>&1 & pids+=($!)
ip netns exec "$SRV" python3 $tools/peer.py serve --listen 203.0.113.2 --port 8081 --send "$bytes" \
    --timeout "$timeout" --lifetime 900 >"$work/cut.log" 2>&1 & pids+=($!)
ip netns exec "$SRV" python3 $tools/ttfb.py serve --listen 203.0.113.2 --port 9000 --request 100 --reply 100 \
    --lifetime 900 >"$work/ttfb-server.log" 2>&1 & pids+=($!)
ready=0
for _ in $(seq 100); do
    if [[ -S $work/conc.sock && -S $work/cpe.sock ]] && grep -q READY "$work/up.log" && grep -q READY "$work/down.log" \
        && grep -q READY "$work/cut.log" && grep -q READY "$work/ttfb-server.log"; then ready=1; break; fi
    sleep 0.1
done
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || ready=0; done
if ((!ready)); then
    echo "demo: the daemons or servers did not start:" >&2
    cat "$work"/*.log >&2
    exit 1
fi
cat "$work/conc.log" "$work/cpe.log"
ip netns exec "$CPE" python3 Deploy/linkrate.py sample --out "$work/samples.csv" --interval 0.1 --max-seconds 900 &
sampler=$!
sleep 0.5   # a quiet baseline at the start of the plot

# Reports one transfer: link bytes, goodput, integrity. Exit status 1 if the transfer failed or the
# data differ. Arguments: direction (upload|download), client log, server log, A bytes, B bytes.
report() {
    python3 - "$@" "$link_mbit" <<'PY'
import json, sys
direction, client_log, server_log, a, b, link = sys.argv[1:7]
a, b, link = int(a), int(b), float(link)
client = [json.loads(l) for l in open(client_log) if l.startswith("{")]
server = [json.loads(l) for l in open(server_log) if l.startswith("{")]
if not client or not server:
    print("transfer FAILED: no result from the %s" % ("client" if not client else "server"))
    sys.exit(1)
client, server = client[-1], server[-1]
if direction == "upload":
    moved, sent_sha, got_sha = client["sent"], client["sent_sha256"], server["received_sha256"]
else:
    moved, sent_sha, got_sha = client["received"], server["sent_sha256"], client["received_sha256"]
rate = moved * 8 / client["seconds"] / 1e6
print(f"link A (wana)      {a / 1e6:8.1f} MB on the wire ({100 * a / max(a + b, 1):.0f}%)")
print(f"link B (wanb)      {b / 1e6:8.1f} MB on the wire ({100 * b / max(a + b, 1):.0f}%)")
print(f"aggregate goodput  {rate:8.1f} Mbit/s = {100 * rate / (2 * link):.0f}% of the links' sum ({2 * link:g} Mbit/s),"
      f" {moved / 1e6:.1f} MB in {client['seconds']:.1f} s (connection set-up and slow start included)")
if direction == "upload" and server.get("mark_seconds"):
    late = (server["received"] - server["mark_bytes"]) * 8 / server["mark_seconds"] / 1e6
    print(f"                   {late:8.1f} Mbit/s after the first {server['mark_bytes'] / 1e6:.1f} MB")
print(f"server saw the connection from {server['peer']} (a pool address and a port of the CPE's port set)")
errors = [e for e in (client.get("error"), server.get("error")) if e]
intact = not errors and moved > 0 and sent_sha == got_sha
for e in errors:
    print(f"error: {e}")
print(f"data intact: {'yes' if intact else 'NO'} ({moved} bytes, SHA-256 {got_sha[:16]}... at both ends)" if intact else
      f"data intact: NO (sent SHA-256 {str(sent_sha)[:16]}..., received {str(got_sha)[:16]}..., {moved} bytes)")
sys.exit(0 if intact else 1)
PY
}

# One transfer between the LAN host and the server: NAME (upload, download), the counters that
# carry it (tx, rx), the server's port and log, then the client's flags.
transfer() {
    local name=$1 direction=$2 port=$3 server_log=$4 a0 b0 a1 b1 t_start t_end
    shift 4
    read -r a0 b0 <<<"$(counters "$direction")"
    t_start=$(now)
    run ip netns exec "$LAN" python3 $tools/peer.py client --connect 203.0.113.2 --port "$port" "$@" \
        --timeout "$timeout" >"$work/$name-client.log" || true
    t_end=$(now)
    printf 'span\t%s\t%s\t%s\n' "$t_start" "$t_end" "$name" >>"$phases"
    read -r a1 b1 <<<"$(counters "$direction")"
    await_lines "$server_log" 1 || true
    report "$name" "$work/$name-client.log" "$server_log" $((a1 - a0)) $((b1 - b0)) | tee -a "$summary" || failures+=("$name")
}

section "upload: $megabytes MB from the LAN host (192.0.2.2) to the server (203.0.113.2:80), one TCP connection"
transfer upload tx 80 "$work/up.log" --send "$bytes"

# --late-fin: a DATA_FIN before the second subflow joins would keep it out
section "download: $megabytes MB from the server (203.0.113.2:8080) to the LAN host, one TCP connection"
transfer download rx 8080 "$work/down.log" --send 0 --late-fin

# ---- time to first byte
section "time to first byte: 20 exchanges of 100 bytes each way, from connect() to the reply's first byte"
t_start=$(now)
ttfb_ok=1
run ip netns exec "$CPE" python3 $tools/ttfb.py client --connect 203.0.113.2 --port 9000 --bind 198.51.100.2 \
    --count 20 --request 100 --reply 100 --timeout 5 --budget 60 >"$work/ttfb-direct.log" || ttfb_ok=0
run ip netns exec "$LAN" python3 $tools/ttfb.py client --connect 203.0.113.2 --port 9000 \
    --count 20 --request 100 --reply 100 --timeout 5 --budget 60 >"$work/ttfb-plainmode.log" || ttfb_ok=0
t_end=$(now)
printf 'span\t%s\t%s\tfirst byte\n' "$t_start" "$t_end" >>"$phases"
python3 - "$work/ttfb-plainmode.log" "$work/ttfb-direct.log" <<'PY' | tee -a "$summary"
import json, sys
pm, direct = (json.loads(open(p).readline() or "{}") for p in sys.argv[1:3])
def line(name, r):
    if not r.get("samples_ms"):
        return f"{name}  no samples{'' if r.get('errors') else ' (no output)'}"
    return (f"{name}  median {r['median_ms']:6.1f} ms (min {r['min_ms']:.1f}, max {r['max_ms']:.1f},"
            f" {r['ok']} of {r['count']}; connect() {r['connect_ms']:.1f} ms)")
print(line("through plainmode (LAN host 192.0.2.2 -> 203.0.113.2)   ", pm))
print(line("direct over link A (CPE 198.51.100.2 -> 203.0.113.2)    ", direct))
if pm.get("median_ms") and direct.get("median_ms"):
    difference = pm['median_ms'] - direct['median_ms']
    print(f"plainmode {'adds' if difference > 0 else 'saves'} {abs(difference):.1f} ms"
          f" {'to' if difference > 0 else 'on'} the first byte"
          f" (x{pm['median_ms'] / direct['median_ms']:.2f}): the PM block and the request ride in the SYN,"
          " so the concentrator reaches the server while the CPE's handshake is in flight")
errors = pm.get("errors", []) + direct.get("errors", [])
for e in errors[:3]:
    print(f"error: {e}")
if len(errors) > 3:
    print(f"error: ... {len(errors) - 3} more")
PY
((ttfb_ok)) || failures+=("time to first byte")

# ---- link cut: link A set down once half the bytes have arrived; the rest must come over link B
section "link cut: $megabytes MB download (203.0.113.2:8081), link A (wana) set down half-way"
read -r a0 b0 <<<"$(counters rx)"
t_start=$(now)
ip netns exec "$LAN" python3 $tools/peer.py client --connect 203.0.113.2 --port 8081 --send 0 --late-fin \
    --timeout "$timeout" >"$work/cut-client.log" &
client=$!
pids+=("$client")
cut_time="" cut_a="" cut_b=""
for ((i = 0; i < timeout * 20; i++)); do   # every 50 ms, at most the transfer's timeout
    read -r a b <<<"$(counters rx)"
    if (((a - a0) + (b - b0) >= bytes / 2)); then
        ip -n "$CPE" link set wana down
        cut_time=$(now) cut_a=$a cut_b=$b
        printf 'event\t%s\tlink A down\n' "$cut_time" >>"$phases"
        break
    fi
    kill -0 "$client" 2>/dev/null || break
    sleep 0.05
done
cut_ok=1
wait "$client" || cut_ok=0
t_end=$(now)
printf 'span\t%s\t%s\tdownload, link A cut\n' "$t_start" "$t_end" >>"$phases"
read -r a1 b1 <<<"$(counters rx)"
await_lines "$work/cut.log" 1 || true
{
    if [[ -n $cut_time ]]; then
        awk -v s="$t_start" -v c="$cut_time" -v e="$t_end" -v a="$((cut_a - a0))" -v b="$((cut_b - b0))" \
            -v a2="$((a1 - cut_a))" -v b2="$((b1 - cut_b))" 'BEGIN {
            printf "link A set down %.1f s in, after %.1f MB (A %.1f MB, B %.1f MB)\n", c - s, (a + b) / 1e6, a / 1e6, b / 1e6
            printf "after the cut      link A %.1f MB, link B %.1f MB; the transfer ended %.1f s later\n", a2 / 1e6, b2 / 1e6, e - c }'
    else
        echo "link A was NOT cut: the transfer ended before half the bytes had arrived"
    fi
} | tee -a "$summary"
report download "$work/cut-client.log" "$work/cut.log" $((a1 - a0)) $((b1 - b0)) | tee -a "$summary" || cut_ok=0
[[ -n $cut_time ]] || cut_ok=0
((cut_ok)) || failures+=("link cut")

# ---- plot (with Debian's python3, the one python3-matplotlib is installed for)
sleep 0.5
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=""
cp "$work/samples.csv" "$phases" "$out/" 2>/dev/null || true
section "per-link throughput (every 100 ms): $out/links.png"
/usr/bin/python3 Deploy/linkrate.py plot --samples "$work/samples.csv" --phases "$phases" --out "$out/links.png" \
    --rate-a "$link_mbit" --rate-b "$link_mbit" \
    --title "plainmode, profile $profile ($rate per link and direction), $megabytes MB per transfer" \
    | tee -a "$summary" || say "(no plot: linkrate.py plot failed)"

# ---- the daemons' view
section "plainmode ctl bindings (concentrator)"
ip netns exec "$CONC" "$bin" ctl bindings --control-socket "$work/conc.sock" 2>&1 | tee -a "$summary" \
    || failures+=("ctl bindings")
section "plainmode ctl stats (concentrator, non-zero counters)"
ip netns exec "$CONC" "$bin" ctl stats --control-socket "$work/conc.sock" 2>&1 | awk '$2 != 0' | tee -a "$summary" \
    || failures+=("ctl stats")

section "result"
if ((${#failures[@]})); then
    say "FAILED: ${failures[*]} (logs above; summary and plot in $out)"
    exit 1
fi
say "all transfers complete, data intact; summary and plot in $out"
