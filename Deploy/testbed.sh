#!/usr/bin/env bash
# testbed.sh - a four-namespace plainmode testbed on one Linux box (root, kernel with MPTCP).
#
#   PREFIX=<p> Deploy/testbed.sh up [--profile dsl-lte] [--rate 20mbit] [--delay-a 10ms] [--delay-b 25ms]
#                                   [--delay-internet 10ms] [--direct-path] [--no-shaping]
#   PREFIX=<p> Deploy/testbed.sh down        (idempotent: never fails when already down)
#   Deploy/testbed.sh --help
#
#   lan host ---- CPE ==(wana, wanb)== concentrator ---- server
#   ${PREFIX}-lan   ${PREFIX}-cpe      ${PREFIX}-conc      ${PREFIX}-srv       (PREFIX default "pm")
#
# Addressing (documentation ranges only; other code and tests depend on it exactly):
#
# | ns   | if   | IPv4              | IPv6                 | notes                                      |
# |------|------|-------------------|----------------------|--------------------------------------------|
# | lan  | lan0 | 192.0.2.2/26      | 2001:db8:1:1::2/64   | default via 192.0.2.1 / 2001:db8:1:1::1    |
# | cpe  | lan0 | 192.0.2.1/26      | 2001:db8:1:1::1/64   | forwarding on (v4, v6)                     |
# | cpe  | wana | 198.51.100.2/30   | 2001:db8:a::2/64     | default via 198.51.100.1 / 2001:db8:a::1   |
# | cpe  | wanb | 198.51.100.6/30   | 2001:db8:b::2/64     | from these: table 201, via .5 / b::1       |
# | conc | cpea | 198.51.100.1/30   | 2001:db8:a::1/64     | service (MPTCP) 198.51.100.1:5000, [2001:db8:a::1]:5000 |
# | conc | cpeb | 198.51.100.5/30   | 2001:db8:b::1/64     | second link of the same CPE                |
# | conc | up0  | 203.0.113.1/24    | 2001:db8:3::1/64     | 192.0.2.0/26 via .2, 2001:db8:1::/48 via a::2 |
# | srv  | up0  | 203.0.113.2/24    | 2001:db8:3::2/64     | 192.0.2.128/27 via .1, 2001:db8:1::/48 via 3::1 |
#
# IPv4 pool (shared external addresses, on no interface): 192.0.2.128/27. The server has no route
# to 192.0.2.0/26: for IPv4 it must only ever see pool addresses. For IPv6 the concentrator keeps
# the LAN host's own source address (2001:db8:1:1::2).
#
# Links: veth pairs lan:lan0-cpe:lan0, cpe:wana-conc:cpea, cpe:wanb-conc:cpeb, conc:up0-srv:up0.
# Shaping (unless --no-shaping): tbf at --rate on egress of cpe:wana, cpe:wanb, conc:cpea and
# conc:cpeb, so both directions of both access links are shaped.
#
# Delay (--delay-a, --delay-b, or a --profile): this kernel has no netem (FACTS.md section 7), so a
# one-way delay is a delay line on the RECEIVING side of each access link: a raw-table PREROUTING
# rule queues what arrives on cpe:wana / conc:cpea (link A) and cpe:wanb / conc:cpeb (link B) to
# NFQUEUE 900 (A) or 901 (B) of that namespace (902 for conc:up0 and srv:up0 with
# --delay-internet), where a `delay-line` process (Tests/Tools) holds each packet for the delay. Each direction of a link gets its delay, so a link's round
# trip is twice it. On the sender's egress instead, the held packets would count against TCP Small
# Queues and throttle a local sender to a quarter of the link. Rates stay tbf (below).
#
# The plainmode-specific set-up (sysctls, MPTCP limits and endpoints, TPROXY, transparent return
# path, the SYN gate's rules on queues 0:1) is NOT done here: the testbed runs Deploy/cpe-net.sh and Deploy/concentrator-net.sh inside
# the namespaces, exactly as an operator runs them on real boxes. What is here is what the boxes'
# ordinary network configuration would do (addresses, routes, forwarding, the second WAN's source
# route) plus the testbed baseline sysctls.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${PREFIX:-pm}

usage() {
    cat <<EOF
usage: PREFIX=<p> $0 up [--profile NAME] [--rate RATE] [--rate-a RATE] [--rate-b RATE]
                         [--delay-a TIME] [--delay-b TIME] [--delay-internet TIME] [--delay-line PATH]
                         [--direct-path] [--no-shaping]
       PREFIX=<p> $0 down
       $0 --help

Creates (up) or removes (down) the namespaces \${PREFIX}-lan, -cpe, -conc, -srv (PREFIX now: $PREFIX).
  --profile NAME     link A and B rates and one-way delays at once (later flags override):
                       dsl-lte      A 20mbit + 10ms (DSL), B 20mbit + 25ms (LTE)
                       two-fibres   A 20mbit + 2ms, B 20mbit + 3ms
                       lan          20mbit, no delay (the default)
  --rate RATE        tbf rate of each access link direction (tc syntax, default 20mbit)
  --rate-a, --rate-b the rate of one link only
  --delay-a TIME     one-way delay of link A, each direction (e.g. 10ms, 2.5ms; default 0)
  --delay-b TIME     one-way delay of link B
  --delay-internet TIME  one-way delay between the concentrator and the server (default 0): a
                     server some way off, where the draft's SYN data saves up to an access
                     round trip
  --delay-line PATH  the delay-line binary (default: \$DELAY_LINE, else .build/release or
                     .build/debug of this repository: swift build --product delay-line)
  --direct-path      also route the CPE's own WAN addresses to and from the server, natively
                     through the concentrator (forwarding on there), so a connection from the
                     CPE namespace bound to a WAN address is the "direct" reference: the same
                     link, delay and rate, no plainmode
  --no-shaping       no tbf at all
See the header of this script for the addressing table.
EOF
}

if [[ ! $PREFIX =~ ^[A-Za-z0-9_.-]{1,24}$ ]]; then
    echo "testbed: PREFIX must be 1-24 characters of [A-Za-z0-9_.-]" >&2
    exit 2
fi
LAN=$PREFIX-lan CPE=$PREFIX-cpe CONC=$PREFIX-conc SRV=$PREFIX-srv
ALL_NS=("$LAN" "$CPE" "$CONC" "$SRV")

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$1"; }

# Stops whatever still runs inside one of our namespaces (by pid, bounded), then deletes it.
remove_ns() {
    local ns=$1 pids i
    ns_exists "$ns" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n $pids ]]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [[ -z $pids ]] && break
            sleep 0.1
        done
        # shellcheck disable=SC2086
        if [[ -n $pids ]]; then kill -9 $pids 2>/dev/null || true; fi
    fi
    ip netns del "$ns" 2>/dev/null || true
}

# Where the delay lines write their logs.
log_dir() { echo "${TMPDIR:-/tmp}/plainmode-testbed-$PREFIX"; }

down() {
    local ns
    for ns in "${ALL_NS[@]}"; do remove_ns "$ns"; done
    for ns in "${ALL_NS[@]}"; do
        if ns_exists "$ns"; then echo "testbed: could not remove namespace $ns" >&2; return 1; fi
    done
    rm -rf "$(log_dir)"
    return 0
}

# Converts a delay (10ms, 2.5ms, 0.5s, or bare milliseconds) to milliseconds.
delay_ms() {
    local d=${1,,}
    if [[ $d =~ ^([0-9]+(\.[0-9]+)?)(ms)?$ ]]; then echo "${BASH_REMATCH[1]}"
    elif [[ $d =~ ^([0-9]+(\.[0-9]+)?)s$ ]]; then awk -v s="${BASH_REMATCH[1]}" 'BEGIN { print s * 1000 }'
    else echo "testbed: cannot parse delay '$1' (use e.g. 10ms)" >&2; return 1
    fi
}

# The delay-line binary: --delay-line, $DELAY_LINE, else a build of this repository.
find_delay_line() {
    local candidate
    for candidate in "${delay_line:-}" "${DELAY_LINE:-}" "$here/../.build/release/delay-line" "$here/../.build/debug/delay-line"; do
        [[ -n $candidate && -x $candidate ]] && { echo "$candidate"; return 0; }
    done
    echo "testbed: no delay-line binary; build it with 'swift build --product delay-line' or give --delay-line PATH" >&2
    return 1
}

# Holds what arrives on one interface of a namespace for `ms` milliseconds: a delay line bound to
# `queue`, then raw PREROUTING rules (IPv4 and IPv6) that queue the interface's packets to it.
# Raw is the first table, so the reinjected packet still meets every later rule (gate, TPROXY).
delay_ingress() {
    local ns=$1 dev=$2 queue=$3 ms=$4 binary=$5 log i
    log="$(log_dir)/delay-$ns-$dev.log"
    ip netns exec "$ns" setsid "$binary" --queue "$queue" --delay "$ms" >"$log" 2>&1 </dev/null &
    for ((i = 0; i < 100; i++)); do
        grep -q READY "$log" 2>/dev/null && break
        sleep 0.05
    done
    if ! grep -q READY "$log" 2>/dev/null; then
        echo "testbed: delay line on $ns:$dev did not start: $(cat "$log")" >&2
        return 1
    fi
    ip netns exec "$ns" iptables -t raw -A PREROUTING -i "$dev" -j NFQUEUE --queue-num "$queue" --queue-bypass
    ip netns exec "$ns" ip6tables -t raw -A PREROUTING -i "$dev" -j NFQUEUE --queue-num "$queue" --queue-bypass
}

# Converts a tc rate (e.g. 20mbit, 1gbit, 500kbit, 2500000bit) to bytes per second.
rate_bytes_per_s() {
    local r=${1,,} n unit
    if [[ ! $r =~ ^([0-9]+)([a-z]*)$ ]]; then echo "testbed: cannot parse rate '$1'" >&2; return 1; fi
    n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
    case $unit in
        bit | "") echo $((n / 8)) ;;
        kbit) echo $((n * 1000 / 8)) ;;
        mbit) echo $((n * 1000000 / 8)) ;;
        gbit) echo $((n * 1000000000 / 8)) ;;
        bps) echo "$n" ;;
        kbps) echo $((n * 1000)) ;;
        mbps) echo $((n * 1000000)) ;;
        *) echo "testbed: unknown rate unit '$unit' (use bit, kbit, mbit, gbit, bps, kbps, mbps)" >&2; return 1 ;;
    esac
}

# tbf on the egress of one interface. burst: 10 ms of the rate but at least 64 KiB, so a whole
# GSO/TSO super-packet (up to 64 KiB) fits and tbf never has to split it; queue: 100 ms of the rate
# (at least 200 KiB), enough for TCP to keep the link busy (see README.md, "Deploy", "Shaping").
shape() {
    local ns=$1 dev=$2 rate=$3 bps burst limit
    bps=$(rate_bytes_per_s "$rate")
    burst=$((bps / 100))
    ((burst < 65536)) && burst=65536
    limit=$((bps / 10))
    ((limit < 204800)) && limit=204800
    tc -n "$ns" qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" limit "$limit"
}

up_failed() {
    trap - ERR
    echo "testbed: up failed (status $1), tearing down" >&2
    down || true
    exit "$1"
}

up() {
    local rate_a=20mbit rate_b=20mbit delay_a=0 delay_b=0 delay_i=0 delay_line="" shaping=1 direct=0 ns binary
    while (($#)); do
        case $1 in
            --profile)
                [[ $# -ge 2 ]] || { usage >&2; exit 2; }
                case $2 in
                    dsl-lte) rate_a=20mbit rate_b=20mbit delay_a=10ms delay_b=25ms ;;
                    two-fibres) rate_a=20mbit rate_b=20mbit delay_a=2ms delay_b=3ms ;;
                    lan) rate_a=20mbit rate_b=20mbit delay_a=0 delay_b=0 ;;
                    *) echo "testbed: unknown profile '$2' (dsl-lte, two-fibres, lan)" >&2; exit 2 ;;
                esac
                shift 2 ;;
            --rate) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; rate_a=$2 rate_b=$2; shift 2 ;;
            --rate=*) rate_a=${1#*=} rate_b=${1#*=}; shift ;;
            --rate-a) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; rate_a=$2; shift 2 ;;
            --rate-b) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; rate_b=$2; shift 2 ;;
            --delay-a) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; delay_a=$2; shift 2 ;;
            --delay-b) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; delay_b=$2; shift 2 ;;
            --delay-internet) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; delay_i=$2; shift 2 ;;
            --delay-line) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; delay_line=$2; shift 2 ;;
            --direct-path) direct=1; shift ;;
            --no-shaping) shaping=0; shift ;;
            -h | --help) usage; exit 0 ;;
            *) echo "testbed: unknown option '$1'" >&2; usage >&2; exit 2 ;;
        esac
    done
    rate_bytes_per_s "$rate_a" >/dev/null
    rate_bytes_per_s "$rate_b" >/dev/null
    delay_a=$(delay_ms "$delay_a") || exit 2
    delay_b=$(delay_ms "$delay_b") || exit 2
    delay_i=$(delay_ms "$delay_i") || exit 2
    binary=""
    if [[ $delay_a != 0 || $delay_b != 0 || $delay_i != 0 ]]; then binary=$(find_delay_line) || exit 2; fi
    for ns in "${ALL_NS[@]}"; do
        if ns_exists "$ns"; then
            echo "testbed: namespace $ns already exists; run 'PREFIX=$PREFIX $0 down' first" >&2
            exit 1
        fi
    done
    # From here on, any failure removes everything created so far.
    trap 'up_failed $?' ERR
    set -o errtrace

    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done

    # Links (veth pairs created directly in their namespaces).
    ip link add lan0 netns "$LAN" type veth peer name lan0 netns "$CPE"
    ip link add wana netns "$CPE" type veth peer name cpea netns "$CONC"
    ip link add wanb netns "$CPE" type veth peer name cpeb netns "$CONC"
    ip link add up0 netns "$CONC" type veth peer name up0 netns "$SRV"

    # Addresses (IPv6 with nodad: usable at once, no duplicate detection delay in a closed testbed).
    addr() { ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" addr add "$4" dev "$2" nodad; ip -n "$1" link set "$2" up; }
    addr "$LAN" lan0 192.0.2.2/26 2001:db8:1:1::2/64
    addr "$CPE" lan0 192.0.2.1/26 2001:db8:1:1::1/64
    addr "$CPE" wana 198.51.100.2/30 2001:db8:a::2/64
    addr "$CPE" wanb 198.51.100.6/30 2001:db8:b::2/64
    addr "$CONC" cpea 198.51.100.1/30 2001:db8:a::1/64
    addr "$CONC" cpeb 198.51.100.5/30 2001:db8:b::1/64
    addr "$CONC" up0 203.0.113.1/24 2001:db8:3::1/64
    addr "$SRV" up0 203.0.113.2/24 2001:db8:3::2/64

    # lan: everything through the CPE.
    ip -n "$LAN" route add default via 192.0.2.1 dev lan0
    ip -n "$LAN" -6 route add default via 2001:db8:1:1::1 dev lan0

    # cpe: default via the first WAN; packets sourced from the second WAN's addresses leave by the
    # second WAN (table 201), also towards the concentrator's service address, which is on wana's
    # subnet: without this the MPTCP subflow from 198.51.100.6 would go out of wana.
    ip -n "$CPE" route add default via 198.51.100.1 dev wana
    ip -n "$CPE" -6 route add default via 2001:db8:a::1 dev wana
    ip -n "$CPE" route add 198.51.100.4/30 dev wanb src 198.51.100.6 table 201
    ip -n "$CPE" route add default via 198.51.100.5 dev wanb table 201
    ip -n "$CPE" rule add from 198.51.100.6 lookup 201 priority 1000
    ip -n "$CPE" -6 route add 2001:db8:b::/64 dev wanb table 201
    ip -n "$CPE" -6 route add default via 2001:db8:b::1 dev wanb table 201
    ip -n "$CPE" -6 rule add from 2001:db8:b::2 lookup 201 priority 1000

    # conc: the customer LAN behind the CPE (ICMP errors, diagnostics; IPv6 source preservation).
    ip -n "$CONC" route add 192.0.2.0/26 via 198.51.100.2 dev cpea
    ip -n "$CONC" -6 route add 2001:db8:1::/48 via 2001:db8:a::2 dev cpea

    # srv: only the IPv4 pool and the customers' IPv6 prefix, through the concentrator.
    ip -n "$SRV" route add 192.0.2.128/27 via 203.0.113.1 dev up0
    ip -n "$SRV" -6 route add 2001:db8:1::/48 via 2001:db8:3::1 dev up0

    # Testbed baseline sysctls: the CPE routes (forwarding), TFO client+server bits in cpe and conc,
    # MPTCP on. The conc starts with strict rp_filter, as many distributions ship it, so the
    # testbed shows that concentrator-net.sh makes it loose for the second link.
    ip netns exec "$CPE" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    for ns in "$CPE" "$CONC"; do
        ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_fastopen=3 net.mptcp.enabled=1
    done
    ip netns exec "$CONC" sysctl -q -w net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.cpeb.rp_filter=1

    # The operator scripts, as on the real boxes.
    # The SYN gate's rules for both listeners, queues 0:1 (plainmode concentrator --queues 0:1): a
    # concentrator that accepts SYN data needs the gate's window rewrite (README, FACTS.md 7).
    ip netns exec "$CONC" bash "$here/concentrator-net.sh" --pool 192.0.2.128/27 --pool 2001:db8:1::/48 \
        --gate 198.51.100.1:5000 --gate '[2001:db8:a::1]:5000' --queues 0:1
    ip netns exec "$CPE" bash "$here/cpe-net.sh" --lan-if lan0 \
        --endpoint 198.51.100.6@wanb --endpoint 2001:db8:b::2@wanb

    if ((direct)); then
        # The reference path: CPE WAN address <-> server, forwarded natively by the concentrator.
        ip netns exec "$CONC" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
        ip -n "$SRV" route add 198.51.100.0/29 via 203.0.113.1 dev up0
        ip -n "$SRV" -6 route add 2001:db8:a::/64 via 2001:db8:3::1 dev up0
        ip -n "$SRV" -6 route add 2001:db8:b::/64 via 2001:db8:3::1 dev up0
    fi
    if ((shaping)); then
        shape "$CPE" wana "$rate_a"
        shape "$CONC" cpea "$rate_a"
        shape "$CPE" wanb "$rate_b"
        shape "$CONC" cpeb "$rate_b"
    fi
    mkdir -p "$(log_dir)"
    if [[ $delay_a != 0 ]]; then
        delay_ingress "$CONC" cpea 900 "$delay_a" "$binary"
        delay_ingress "$CPE" wana 900 "$delay_a" "$binary"
    fi
    if [[ $delay_b != 0 ]]; then
        delay_ingress "$CONC" cpeb 901 "$delay_b" "$binary"
        delay_ingress "$CPE" wanb 901 "$delay_b" "$binary"
    fi
    if [[ $delay_i != 0 ]]; then
        delay_ingress "$CONC" up0 902 "$delay_i" "$binary"
        delay_ingress "$SRV" up0 902 "$delay_i" "$binary"
    fi
    trap - ERR
    echo "testbed: up (PREFIX=$PREFIX, shaping: $( ((shaping)) && echo "tbf A $rate_a, B $rate_b per direction" || echo none)," \
        "one-way delay: A ${delay_a} ms, B ${delay_b} ms, Internet ${delay_i} ms)"
}

case ${1:-} in
    up) shift; up "$@" ;;
    down) shift; down && echo "testbed: down (PREFIX=$PREFIX)" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
