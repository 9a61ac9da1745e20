#!/usr/bin/env bash
# concentrator-net.sh - kernel and netfilter set-up for a plainmode concentrator (run as root).
#
#   concentrator-net.sh [--pool PREFIX]... [--mark 1] [--table 100] [--subflows 2]
#                       [--gate ADDR:PORT]... [--reset-mark 0x2000] [--udp] [--queues FIRST:LAST]
#                       [--inbound ADDR:PORT] [--down]
#
# Sets the sysctls and MPTCP limits the concentrator needs and installs the transparent return
# path for IPv4 and IPv6: plainmode connects upstream from addresses that are on no interface
# (an IPv4 pool address, or the customer's own IPv6 address) using IP_TRANSPARENT, and the replies
# must be delivered to those sockets instead of being routed away.
#
# --pool PREFIX  source prefixes of the upstream connections (IPv4 pool, customer IPv6 prefixes);
#                repeatable. Only packets to these are looked up in the socket table. A family
#                with no --pool gets one rule matching every destination.
# --mark N       firewall mark for the return path (default 1)
# --table N      routing table holding the "local" default route (default 100)
# --subflows N   MPTCP limits: subflows and accepted ADD_ADDRs per connection (default 2)
# --gate A:P     an MPTCP listener of plainmode concentrator (198.51.100.1:5000, [2001:db8:a::1]:5000)
#                whose SYNs (SYN set; ACK, RST, FIN clear) go to plainmode's SYN gate by NFQUEUE;
#                repeatable; 0.0.0.0:P and [::]:P match every local address. Without --gate no
#                SYN is queued (and an earlier gate is removed).
#                The rules use --queue-bypass: while no plainmode binds the queues (stopped,
#                crashed, --no-syn-gate), SYNs go straight to the kernel. The gate accepts a
#                SYN, drops it (a source outside --allow, a flood), or refuses it: it marks the
#                SYN with --reset-mark and a filter INPUT rule (chain PLAINMODE_REFUSE) answers it
#                with a TCP reset, so the CPE hears at once and keeps MPTCP. The one field the
#                gate changes is the window of a SYN carrying data (plainmode concentrator --help,
#                --syn-window-rewrite).
# --reset-mark M the mark of SYNs the gate refuses (default 0x2000; plainmode concentrator
#                --reset-mark must match); a bit of its own, apart from --mark
# --udp          queue UDP to the --pool prefixes (the Internet's datagrams to UDP bindings) to
#                plainmode by NFQUEUE: a datagram matching a binding is framed into its MPTCP
#                connection, one to a pool address without a binding is dropped and counted.
#                --queue-bypass as for --gate. Without --udp no UDP is queued.
# --queues F:L   NFQUEUE numbers to spread the SYNs (and UDP) over (--queue-balance F:L, or --queue-num F
#                when F = L); the same as plainmode concentrator --queues (default 0:0)
# --inbound A:P  plainmode concentrator --inbound-listen (an IPv4 ADDR:PORT, e.g. 127.0.0.1:7601):
#                new TCP connections from the Internet to the IPv4 --pool prefixes (their SYNs) go
#                to that transparent listener by TPROXY, which relays each to the CPE holding a
#                mapping of the pool address and port (PCP) and resets the others. Packets that
#                already belong to a transparent socket of plainmode (replies to its upstream
#                connections, which are bound to pool addresses, and the inbound connections it
#                accepted) are left to PLAINMODE_RETURN, never TPROXY'd. IPv6 --pool prefixes are
#                customers' own addresses, routed natively: no inbound rule. Without --inbound no
#                inbound rule exists (nothing is open by default).
# --down         remove the rules, ip rules and routes this script adds (sysctls and MPTCP limits
#                are left as they are)
#
# Idempotent: running it again adds no duplicate rule. The netfilter rules live in the mangle
# chains PLAINMODE_RETURN, PLAINMODE_GATE, PLAINMODE_UDP and PLAINMODE_INBOUND (rewritten atomically on each run)
# jumped to from PREROUTING, and the filter chain PLAINMODE_REFUSE jumped to from INPUT.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

pools=()
mark=1
table=100
subflows=2
gates=()
reset_mark=0x2000
queues=0:0
udp=0
inbound=""
down=0
while (($#)); do
    case $1 in
        --pool) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; pools+=("$2"); shift 2 ;;
        --mark) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; mark=$2; shift 2 ;;
        --table) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; table=$2; shift 2 ;;
        --subflows) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; subflows=$2; shift 2 ;;
        --gate) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; gates+=("$2"); shift 2 ;;
        --reset-mark) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; reset_mark=$2; shift 2 ;;
        --queues) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; queues=$2; shift 2 ;;
        --udp) udp=1; shift ;;
        --inbound) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; inbound=$2; shift 2 ;;
        --down) down=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "concentrator-net: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
[[ $mark =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || { echo "concentrator-net: bad --mark '$mark'" >&2; exit 2; }
[[ $reset_mark =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] && ((reset_mark != 0)) || { echo "concentrator-net: bad --reset-mark '$reset_mark'" >&2; exit 2; }
(((reset_mark & mark) == 0)) || { echo "concentrator-net: --reset-mark $reset_mark shares bits with --mark $mark" >&2; exit 2; }
[[ $table =~ ^[0-9]+$ ]] || { echo "concentrator-net: bad --table '$table'" >&2; exit 2; }
[[ $subflows =~ ^[0-8]$ ]] || { echo "concentrator-net: --subflows must be 0..8" >&2; exit 2; }
pools4=() pools6=()
for p in "${pools[@]}"; do
    if [[ $p == *:* ]]; then pools6+=("$p"); elif [[ $p =~ ^[0-9.]+(/[0-9]+)?$ ]]; then pools4+=("$p"); else
        echo "concentrator-net: bad --pool '$p'" >&2; exit 2
    fi
done
# --gate: "ADDR PORT" per family.
gates4=() gates6=()
for g in "${gates[@]}"; do
    if [[ $g =~ ^([0-9.]+):([0-9]+)$ ]]; then gates4+=("${BASH_REMATCH[1]} ${BASH_REMATCH[2]}")
    elif [[ $g =~ ^\[([0-9a-fA-F:.]+)\]:([0-9]+)$ ]]; then gates6+=("${BASH_REMATCH[1]} ${BASH_REMATCH[2]}")
    else echo "concentrator-net: bad --gate '$g' (ADDR:PORT or [IPV6]:PORT)" >&2; exit 2
    fi
    ((10#${BASH_REMATCH[2]} >= 1 && 10#${BASH_REMATCH[2]} <= 65535)) || { echo "concentrator-net: bad port in --gate '$g'" >&2; exit 2; }
done
if [[ -n $inbound ]]; then
    [[ $inbound =~ ^([0-9.]+):([0-9]{1,5})$ ]] && ((10#${BASH_REMATCH[2]} >= 1 && 10#${BASH_REMATCH[2]} <= 65535)) ||
        { echo "concentrator-net: bad --inbound '$inbound' (an IPv4 ADDR:PORT, plainmode concentrator --inbound-listen)" >&2; exit 2; }
    inbound_ip=${BASH_REMATCH[1]} inbound_port=${BASH_REMATCH[2]}
    ((${#pools4[@]})) || { echo "concentrator-net: --inbound needs an IPv4 --pool (the addresses Internet hosts connect to)" >&2; exit 2; }
fi
if [[ $queues =~ ^([0-9]{1,5})(:([0-9]{1,5}))?$ ]]; then
    qfirst=$((10#${BASH_REMATCH[1]})) qlast=$((10#${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}))
fi
((${qfirst:-1} <= ${qlast:-0} && ${qlast:-0} <= 65535)) || { echo "concentrator-net: bad --queues '$queues' (FIRST:LAST, 0..65535)" >&2; exit 2; }
if ((qfirst == qlast)); then queue_target="--queue-num $qfirst"; else queue_target="--queue-balance $qfirst:$qlast"; fi
for tool in ip iptables ip6tables iptables-restore ip6tables-restore sysctl; do
    command -v "$tool" >/dev/null || { echo "concentrator-net: '$tool' not found (apt-get install iptables iproute2 procps)" >&2; exit 1; }
done

CHAIN=PLAINMODE_RETURN
GATE=PLAINMODE_GATE
UDP=PLAINMODE_UDP
INBOUND=PLAINMODE_INBOUND
REFUSE=PLAINMODE_REFUSE

# ipt 4|6 ARGS...: iptables or ip6tables, waiting for the xtables lock.
ipt() { local f=$1; shift; if [[ $f == 4 ]]; then iptables -w 5 "$@"; else ip6tables -w 5 "$@"; fi; }
ipt_restore() { if [[ $1 == 4 ]]; then iptables-restore -w 5 --noflush; else ip6tables-restore -w 5 --noflush; fi; }

# chain_down 4|6 CHAIN: removes the PREROUTING jumps to one of our mangle chains, and the chain.
chain_down() {
    local f=$1 c=$2 i
    for ((i = 0; i < 16; i++)); do
        ipt "$f" -t mangle -C PREROUTING -j "$c" 2>/dev/null || break
        ipt "$f" -t mangle -D PREROUTING -j "$c"
    done
    if ipt "$f" -t mangle -S "$c" >/dev/null 2>&1; then
        ipt "$f" -t mangle -F "$c"
        ipt "$f" -t mangle -X "$c"
    fi
}

# refuse_down 4|6: removes the INPUT jump to PLAINMODE_REFUSE and the chain.
refuse_down() {
    local f=$1 i
    for ((i = 0; i < 16; i++)); do
        ipt "$f" -C INPUT -j "$REFUSE" 2>/dev/null || break
        ipt "$f" -D INPUT -j "$REFUSE"
    done
    if ipt "$f" -S "$REFUSE" >/dev/null 2>&1; then
        ipt "$f" -F "$REFUSE"
        ipt "$f" -X "$REFUSE"
    fi
}

net_down() {
    local f i
    for f in 4 6; do
        refuse_down "$f"
        chain_down "$f" "$INBOUND"
        chain_down "$f" "$UDP"
        chain_down "$f" "$GATE"
        chain_down "$f" "$CHAIN"
        for ((i = 0; i < 16; i++)); do
            [[ -n $(ip -"$f" rule show fwmark "$mark" lookup "$table" 2>/dev/null) ]] || break
            ip -"$f" rule del fwmark "$mark" lookup "$table"
        done
    done
    ip -4 route del local 0.0.0.0/0 dev lo table "$table" 2>/dev/null || true
    ip -6 route del local ::/0 dev lo table "$table" 2>/dev/null || true
    echo "concentrator-net: transparent return path removed (mark $mark, table $table)"
}

# The contents of PLAINMODE_RETURN for one family, as iptables-restore input. Declaring the
# chain flushes it first, so the chain is rewritten in one transaction on every run.
chain_rules() {
    local f=$1 p
    local -a ps
    if [[ $f == 4 ]]; then ps=("${pools4[@]}"); else ps=("${pools6[@]}"); fi
    echo "*mangle"
    echo ":$CHAIN - [0:0]"
    # A reply (TCP, UDP, or an ICMP error about them) to an address we used with IP_TRANSPARENT
    # belongs to a local transparent socket: mark it so the fwmark rule routes it to the host.
    if ((${#ps[@]})); then
        for p in "${ps[@]}"; do
            echo "-A $CHAIN -d $p -m socket --transparent -m comment --comment \"plainmode: reply to a transparent upstream socket\" -j MARK --set-mark $mark"
        done
    else
        echo "-A $CHAIN -m socket --transparent -m comment --comment \"plainmode: reply to a transparent upstream socket\" -j MARK --set-mark $mark"
    fi
    echo "COMMIT"
}

# The contents of PLAINMODE_GATE for one family (same transaction scheme as chain_rules).
gate_rules() {
    local f=$1 g dst
    local -a gs
    if [[ $f == 4 ]]; then gs=("${gates4[@]}"); else gs=("${gates6[@]}"); fi
    echo "*mangle"
    echo ":$GATE - [0:0]"
    for g in "${gs[@]}"; do
        # A wildcard listener (0.0.0.0, ::) takes SYNs to any local address.
        case ${g% *} in 0.0.0.0 | ::) dst="-m addrtype --dst-type LOCAL" ;; *) dst="-d ${g% *}" ;; esac
        # Only initial SYNs; --queue-bypass: no consumer on the queue means accept, never a
        # silent drop (which makes Linux clients disable MPTCP for an hour).
        echo "-A $GATE -p tcp --syn $dst --dport ${g#* } -m comment --comment \"plainmode: SYN gate\" -j NFQUEUE $queue_target --queue-bypass"
    done
    echo "COMMIT"
}

# refuse_up 4|6: PLAINMODE_REFUSE (filter) answers SYNs the gate marked refused with a reset;
# jumped to first from INPUT, present only with the family's gate.
refuse_up() {
    local f=$1
    {
        echo "*filter"
        echo ":$REFUSE - [0:0]"
        echo "-A $REFUSE -p tcp --syn -m mark --mark $reset_mark/$reset_mark -m comment --comment \"plainmode: SYN refused by the gate\" -j REJECT --reject-with tcp-reset"
        echo "COMMIT"
    } | ipt_restore "$f"
    ipt "$f" -C INPUT -j "$REFUSE" 2>/dev/null || ipt "$f" -I INPUT 1 -j "$REFUSE"
}

# gate_up 4|6: PLAINMODE_GATE rewritten, jumped to right after PLAINMODE_RETURN; removed when the
# family has no --gate.
gate_up() {
    local f=$1 n=()
    if [[ $f == 4 ]]; then n=("${gates4[@]}"); else n=("${gates6[@]}"); fi
    if ((${#n[@]} == 0)); then chain_down "$f" "$GATE"; refuse_down "$f"; return; fi
    refuse_up "$f"
    gate_rules "$f" | ipt_restore "$f"
    if ! ipt "$f" -t mangle -C PREROUTING -j "$GATE" 2>/dev/null; then
        local at
        at=$(ipt "$f" -t mangle -S PREROUTING | grep '^-A' | grep -n -m1 -- "-j $CHAIN\$" | cut -d: -f1 || true)
        ipt "$f" -t mangle -I PREROUTING $((${at:-0} + 1)) -j "$GATE"
    fi
}

# The contents of PLAINMODE_UDP for one family: UDP to the pool prefixes, to the queues.
udp_rules() {
    local f=$1 p
    local -a ps
    if [[ $f == 4 ]]; then ps=("${pools4[@]}"); else ps=("${pools6[@]}"); fi
    echo "*mangle"
    echo ":$UDP - [0:0]"
    for p in "${ps[@]}"; do
        echo "-A $UDP -p udp -d $p -m comment --comment \"plainmode: datagram to a UDP binding\" -j NFQUEUE $queue_target --queue-bypass"
    done
    echo "COMMIT"
}

# udp_up 4|6: PLAINMODE_UDP rewritten and jumped to after PLAINMODE_RETURN; removed without
# --udp or when the family has no --pool.
udp_up() {
    local f=$1 n=()
    if [[ $f == 4 ]]; then n=("${pools4[@]}"); else n=("${pools6[@]}"); fi
    if ((!udp || ${#n[@]} == 0)); then chain_down "$f" "$UDP"; return; fi
    udp_rules "$f" | ipt_restore "$f"
    if ! ipt "$f" -t mangle -C PREROUTING -j "$UDP" 2>/dev/null; then
        local at
        at=$(ipt "$f" -t mangle -S PREROUTING | grep '^-A' | grep -n -m1 -- "-j $CHAIN\$" | cut -d: -f1 || true)
        ipt "$f" -t mangle -I PREROUTING $((${at:-0} + 1)) -j "$UDP"
    fi
}

# The contents of PLAINMODE_INBOUND (IPv4): the Internet's new TCP connections to the pool, to the
# inbound listener. A packet PLAINMODE_RETURN marked belongs to a transparent socket already (a
# reply to an upstream connection bound to a pool address, or an inbound connection accepted
# earlier) and goes on to it: the mark is that socket match's answer, so it is not looked up twice.
inbound_rules() {
    local p
    echo "*mangle"
    echo ":$INBOUND - [0:0]"
    echo "-A $INBOUND -m mark --mark $mark/$mark -m comment --comment \"plainmode: owned by a transparent socket\" -j RETURN"
    for p in "${pools4[@]}"; do
        echo "-A $INBOUND -p tcp --syn -d $p -m comment --comment \"plainmode: inbound connection to the pool\" -j TPROXY --on-ip $inbound_ip --on-port $inbound_port --tproxy-mark $mark/$mark"
    done
    echo "COMMIT"
}

# inbound_up 4|6: PLAINMODE_INBOUND rewritten and jumped to after PLAINMODE_RETURN (IPv4 with
# --inbound only; removed otherwise).
inbound_up() {
    local f=$1
    if [[ $f != 4 || -z $inbound ]]; then chain_down "$f" "$INBOUND"; return; fi
    inbound_rules | ipt_restore "$f"
    if ! ipt "$f" -t mangle -C PREROUTING -j "$INBOUND" 2>/dev/null; then
        local at
        at=$(ipt "$f" -t mangle -S PREROUTING | grep '^-A' | grep -n -m1 -- "-j $CHAIN\$" | cut -d: -f1 || true)
        ipt "$f" -t mangle -I PREROUTING $((${at:-0} + 1)) -j "$INBOUND"
    fi
}

net_up() {
    local f fo
    # TFO server bit (0x2): the CPE's SYN carries the PM block as data without a TFO cookie;
    # without this bit the SYN data is dropped and MPTCP falls back to TCP. Other bits are kept.
    fo=$(sysctl -n net.ipv4.tcp_fastopen)
    sysctl -q -w net.ipv4.tcp_fastopen=$((fo | 0x2))
    # MPTCP sockets are refused unless this is on.
    sysctl -q -w net.mptcp.enabled=1
    # A CPE's second link adds a subflow (MP_JOIN); the default limits accept none/few.
    ip mptcp limits set subflow "$subflows" add_addr_accepted "$subflows"
    # Strict rp_filter (1) drops a subflow that arrives on an interface which is not the route back
    # to its source (multi-homed concentrator); loose (2) still drops unroutable sources.
    local rpf
    for rpf in /proc/sys/net/ipv4/conf/*/rp_filter; do
        if [[ $(<"$rpf") == 1 ]]; then echo 2 >"$rpf"; fi
    done

    for f in 4 6; do
        # Our chain, rewritten atomically (see chain_rules for the rule itself).
        chain_rules "$f" | ipt_restore "$f"
        # Every incoming packet passes the chain; it only matches the pool destinations.
        ipt "$f" -t mangle -C PREROUTING -j "$CHAIN" 2>/dev/null || ipt "$f" -t mangle -I PREROUTING 1 -j "$CHAIN"
        # Marked replies are looked up in our table instead of main ...
        [[ -n $(ip -"$f" rule show fwmark "$mark" lookup "$table") ]] || ip -"$f" rule add fwmark "$mark" lookup "$table"
        # SYNs to the listeners through plainmode's SYN gate (after the return path's rule).
        gate_up "$f"
        # UDP to the pool through plainmode's UDP bindings (--udp).
        udp_up "$f"
        # The Internet's TCP connections to the pool to the inbound listener (--inbound).
        inbound_up "$f"
    done
    # ... where every destination is local, so they are delivered to the transparent socket.
    ip -4 route replace local 0.0.0.0/0 dev lo table "$table"
    ip -6 route replace local ::/0 dev lo table "$table"
    echo "concentrator-net: tcp_fastopen=$(sysctl -n net.ipv4.tcp_fastopen), mptcp on, limits subflow $subflows;" \
        "return path: mark $mark -> table $table for ${pools[*]:-all destinations}"
    if ((${#gates[@]})); then echo "concentrator-net: SYN gate: SYNs to ${gates[*]} -> NFQUEUE $qfirst:$qlast (bypass); refused: mark $reset_mark -> reset"; fi
    if ((udp)); then echo "concentrator-net: UDP to ${pools[*]:-no pool} -> NFQUEUE $qfirst:$qlast (bypass)"; fi
    if [[ -n $inbound ]]; then echo "concentrator-net: inbound: TCP SYNs to ${pools4[*]} -> TPROXY $inbound"; fi
}

if ((down)); then net_down; else net_up; fi
