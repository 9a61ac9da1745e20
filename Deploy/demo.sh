#!/usr/bin/env bash
# The main job: one bonded TCP connection through plainmode, on a testbed of network namespaces
# (Deploy/testbed.sh): a LAN host, a CPE with two links shaped to RATE each, the concentrator and
# an Internet server. A bulk upload from the LAN host goes CPE -> (MPTCP over both links) ->
# concentrator -> (plain TCP from a pool address) -> server; the demo prints each link's bytes
# and the aggregate rate against the sum of the link rates, then the daemons' own view.
# Run as root on Debian 12. Environment: RATE (default 20mbit), MEGABYTES (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/setup-debian.sh
swift build -c release --product plainmode 2>&1 | tail -1
bin=$(swift build -c release --show-bin-path)/plainmode
rate=${RATE:-20mbit}
megabytes=${MEGABYTES:-40}
export PREFIX=pmdemo
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash Deploy/testbed.sh down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== testbed: LAN host, CPE with two $rate links, concentrator, server"
bash Deploy/testbed.sh up --rate "$rate" | tail -1
ip netns exec $PREFIX-conc "$bin" concentrator --listen 198.51.100.1:5000 --listen '[2001:db8:a::1]:5000' \
    --pool 192.0.2.128/27 --control-socket "$work/conc.sock" >"$work/conc.log" 2>&1 & pids+=($!)
ip netns exec $PREFIX-cpe "$bin" cpe --concentrator 198.51.100.1:5000 --concentrator6 '[2001:db8:a::1]:5000' \
    --control-socket "$work/cpe.sock" >"$work/cpe.log" 2>&1 & pids+=($!)
ip netns exec $PREFIX-srv python3 Tests/IntegrationTests/tools/peer.py serve --listen 203.0.113.2 --port 80 \
    --send 0 >"$work/server.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do
    [[ -S $work/conc.sock && -S $work/cpe.sock ]] && grep -q READY "$work/server.log" && break
    sleep 0.1
done
cat "$work/conc.log" "$work/cpe.log"

a0=$(ip netns exec $PREFIX-cpe cat /sys/class/net/wana/statistics/tx_bytes)
b0=$(ip netns exec $PREFIX-cpe cat /sys/class/net/wanb/statistics/tx_bytes)
echo; echo "== $megabytes MB from the LAN host (192.0.2.2) to the server (203.0.113.2:80), one TCP connection"
ip netns exec $PREFIX-lan python3 Tests/IntegrationTests/tools/peer.py client --connect 203.0.113.2 --port 80 \
    --send $((megabytes * 1024 * 1024)) --timeout 120 >"$work/client.log"
a1=$(ip netns exec $PREFIX-cpe cat /sys/class/net/wana/statistics/tx_bytes)
b1=$(ip netns exec $PREFIX-cpe cat /sys/class/net/wanb/statistics/tx_bytes)
python3 - "$work/client.log" "$work/server.log" "$((a1 - a0))" "$((b1 - b0))" "$rate" <<'PY'
import json, re, sys
client = json.loads(open(sys.argv[1]).readline())
server = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")][0]
a, b = int(sys.argv[3]), int(sys.argv[4])
value, unit = re.fullmatch(r"([0-9.]+)([kmg]?)bit", sys.argv[5].lower()).groups()
link = float(value) * {"": 1e-6, "k": 1e-3, "m": 1, "g": 1e3}[unit]
rate = client["sent"] * 8 / client["seconds"] / 1e6
print(f"link A (wana) sent {a / 1e6:8.1f} MB")
print(f"link B (wanb) sent {b / 1e6:8.1f} MB")
print(f"aggregate goodput  {rate:8.1f} Mbit/s = {100 * rate / (2 * link):.0f}% of the links' sum ({2 * link:.0f} Mbit/s)")
print(f"server saw the connection from {server['peer']} (a pool address and a port of the CPE's port set)")
print(f"data intact: {'yes' if server['received_sha256'] == client['sent_sha256'] else 'NO'} (SHA-256 {client['sent_sha256'][:16]}...)")
PY
echo; echo "== plainmode ctl bindings (concentrator)"
ip netns exec $PREFIX-conc "$bin" ctl bindings --control-socket "$work/conc.sock"
echo; echo "== plainmode ctl stats (concentrator, non-zero counters)"
ip netns exec $PREFIX-conc "$bin" ctl stats --control-socket "$work/conc.sock" | awk '$2 != 0'
