#!/usr/bin/env bash
# cpe-net.sh - kernel and netfilter set-up for a plainmode CPE (run as root).
#
#   cpe-net.sh --lan-if IF [--lan-if IF2]... [--tproxy-port 7000] [--mark 1] [--table 100]
#              [--exclude PREFIX]... [--endpoint ADDR@DEV]... [--subflows 2]
#              [--udp] [--queues FIRST:LAST] [--inbound-port P] [--inbound-udp-mark M] [--down]
#
# New TCP connections from the LAN (their SYNs) are intercepted with TPROXY and handed to
# plainmode's local port, which sees the original destination with getsockname() and opens an
# MPTCP connection to the concentrator. Connections to the CPE itself and the CPE's own traffic
# are never intercepted, nor is a packet of a connection that is not plainmode's: a natively
# routed inbound connection's replies from the LAN are routed as usual.
#
# --lan-if IF        interface facing the customer LAN (required, repeatable)
# --tproxy-port P    local port plainmode listens on with IP_TRANSPARENT (default 7000)
# --mark N           firewall mark for intercepted packets (default 1)
# --table N          routing table holding the "local" default route (default 100)
# --exclude PREFIX   destinations never intercepted (e.g. a management network); repeatable
# --endpoint A@DEV   MPTCP "subflow" endpoint: open an extra subflow from address A on DEV
#                    (the second WAN); repeatable. DEV also needs a source route for A (see
#                    README.md, "Deploy"). With --inbound-port also "signal": A is announced
#                    (ADD_ADDR), so the concentrator adds a subflow to it on inbound connections,
#                    where the CPE is the passive side and cannot add one itself.
# --subflows N       MPTCP limits: subflows and accepted ADD_ADDRs per connection (default 2)
# --udp              queue UDP from the LAN (not to the CPE itself, not broadcast or multicast, not
#                    --exclude'd) to plainmode by NFQUEUE, which bonds each flow over its own MPTCP
#                    connection. The rule uses --queue-bypass: while no plainmode binds the queues,
#                    UDP takes the ordinary route. Without --udp no UDP is queued (an earlier rule
#                    is removed).
# --queues F:L       NFQUEUE numbers (--queue-balance F:L, or --queue-num F when F = L); the same
#                    as plainmode cpe --queues (default 0:0)
# --inbound-port P   plainmode cpe --inbound-listen's port (the concentrator's --cpe-inbound-port,
#                    7600 by default): sets the TFO server bit (the concentrator's PM block comes
#                    as SYN data), makes the --endpoint addresses "signal subflow", and queues the
#                    SYNs to port P on the CPE's own addresses to plainmode's queues (--queues,
#                    --queue-bypass), which lower their window field: Linux 6.18 stalls transfers
#                    towards the concentrator otherwise (FACTS.md 7; needs plainmode cpe with its
#                    queues bound, i.e. without --no-udp). Without it, no inbound rule exists.
#                    The LAN host's replies to an inbound connection come back to plainmode's
#                    socket through the same socket rule as outbound ones (source = the Internet
#                    host, a transparent socket). For inbound UDP flows the LAN host's replies go
#                    to plainmode's UDP socket of that flow (bound to the Internet host, connected
#                    to the LAN host) through a socket rule in PLAINMODE_INBOUND_UDP, ahead of the
#                    --udp queue rule: it matches only a transparent socket whose SO_MARK has the
#                    bits of --inbound-udp-mark (--restore-skmark copies the socket's mark onto
#                    the packet), so an outbound flow's unmarked socket, bound to the same kind of
#                    address, never takes its LAN datagrams from the queues.
# --inbound-udp-mark M  plainmode cpe --inbound-udp-mark (default 0x4000): the SO_MARK of its
#                    inbound UDP sockets; must not share bits with --mark
# --down             remove what this script adds (rules, ip rules, routes, the given endpoints);
#                    sysctls and MPTCP limits are left as they are
#
# Idempotent: running it again adds no duplicate rule. The netfilter rules live in the mangle
# chains PLAINMODE_TPROXY and PLAINMODE_DIVERT (rewritten atomically on each run), jumped to from
# PREROUTING for TCP arriving on the LAN interfaces, PLAINMODE_UDP for UDP, and PLAINMODE_INBOUND
# (jumped to for all TCP) for the inbound SYNs.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

lan_ifs=()
excludes=()
endpoints=()
port=7000
mark=1
table=100
subflows=2
udp=0
queues=0:0
inbound_port=""
udp_mark=0x4000
down=0
need() { [[ $1 -ge 2 ]] || { usage >&2; exit 2; }; }
while (($#)); do
    case $1 in
        --lan-if) need $#; lan_ifs+=("$2"); shift 2 ;;
        --tproxy-port) need $#; port=$2; shift 2 ;;
        --mark) need $#; mark=$2; shift 2 ;;
        --table) need $#; table=$2; shift 2 ;;
        --exclude) need $#; excludes+=("$2"); shift 2 ;;
        --endpoint) need $#; endpoints+=("$2"); shift 2 ;;
        --subflows) need $#; subflows=$2; shift 2 ;;
        --udp) udp=1; shift ;;
        --queues) need $#; queues=$2; shift 2 ;;
        --inbound-port) need $#; inbound_port=$2; shift 2 ;;
        --inbound-udp-mark) need $#; udp_mark=$2; shift 2 ;;
        --down) down=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "cpe-net: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if ((!down)) && ((${#lan_ifs[@]} == 0)); then echo "cpe-net: --lan-if is required" >&2; usage >&2; exit 2; fi
for i in "${lan_ifs[@]}"; do [[ $i =~ ^[A-Za-z0-9_.@-]{1,15}$ ]] || { echo "cpe-net: bad --lan-if '$i'" >&2; exit 2; }; done
if [[ ! $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then echo "cpe-net: bad --tproxy-port '$port'" >&2; exit 2; fi
[[ $mark =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || { echo "cpe-net: bad --mark '$mark'" >&2; exit 2; }
[[ $table =~ ^[0-9]+$ ]] || { echo "cpe-net: bad --table '$table'" >&2; exit 2; }
[[ $udp_mark =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] && ((udp_mark != 0 && (udp_mark & mark) == 0)) ||
    { echo "cpe-net: bad --inbound-udp-mark '$udp_mark' (non-zero, no bit of --mark $mark)" >&2; exit 2; }
[[ $subflows =~ ^[0-8]$ ]] || { echo "cpe-net: --subflows must be 0..8" >&2; exit 2; }
if [[ -n $inbound_port ]] && { [[ ! $inbound_port =~ ^[0-9]{1,5}$ ]] || ((10#$inbound_port < 1 || 10#$inbound_port > 65535)); }; then
    echo "cpe-net: bad --inbound-port '$inbound_port'" >&2; exit 2
fi
for e in "${endpoints[@]}"; do [[ $e == ?*@?* ]] || { echo "cpe-net: --endpoint must be ADDR@DEV, got '$e'" >&2; exit 2; }; done
if [[ $queues =~ ^([0-9]{1,5})(:([0-9]{1,5}))?$ ]]; then
    qfirst=$((10#${BASH_REMATCH[1]})) qlast=$((10#${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}))
fi
((${qfirst:-1} <= ${qlast:-0} && ${qlast:-0} <= 65535)) || { echo "cpe-net: bad --queues '$queues' (FIRST:LAST, 0..65535)" >&2; exit 2; }
if ((qfirst == qlast)); then queue_target="--queue-num $qfirst"; else queue_target="--queue-balance $qfirst:$qlast"; fi
excl4=() excl6=()
for p in "${excludes[@]}"; do
    if [[ $p == *:* ]]; then excl6+=("$p"); elif [[ $p =~ ^[0-9.]+(/[0-9]+)?$ ]]; then excl4+=("$p"); else
        echo "cpe-net: bad --exclude '$p'" >&2; exit 2
    fi
done
for tool in ip iptables ip6tables iptables-restore ip6tables-restore sysctl; do
    command -v "$tool" >/dev/null || { echo "cpe-net: '$tool' not found (apt-get install iptables iproute2 procps)" >&2; exit 1; }
done

TPROXY_CHAIN=PLAINMODE_TPROXY
DIVERT_CHAIN=PLAINMODE_DIVERT
UDP_CHAIN=PLAINMODE_UDP
INBOUND_CHAIN=PLAINMODE_INBOUND
INBOUND_UDP_CHAIN=PLAINMODE_INBOUND_UDP

ipt() { local f=$1; shift; if [[ $f == 4 ]]; then iptables -w 5 "$@"; else ip6tables -w 5 "$@"; fi; }
ipt_restore() { if [[ $1 == 4 ]]; then iptables-restore -w 5 --noflush; else ip6tables-restore -w 5 --noflush; fi; }

# The contents of both chains for one family, as iptables-restore input. Declaring a chain
# flushes it first, so both are rewritten in one transaction on every run.
chain_rules() {
    local f=$1 p
    local -a ex
    if [[ $f == 4 ]]; then ex=("${excl4[@]}"); else ex=("${excl6[@]}"); fi
    echo "*mangle"
    echo ":$DIVERT_CHAIN - [0:0]"
    echo ":$TPROXY_CHAIN - [0:0]"
    # Packets of a connection plainmode already accepted: mark them (routed to the host by the
    # fwmark rule) ...
    echo "-A $DIVERT_CHAIN -m comment --comment \"plainmode: deliver to the local proxy socket\" -j MARK --set-mark $mark"
    # ... and stop here: the established socket is known, no second TPROXY lookup is needed.
    echo "-A $DIVERT_CHAIN -j ACCEPT"
    # An existing transparent socket owns this packet (every packet after the SYN).
    echo "-A $TPROXY_CHAIN -m socket --transparent -j $DIVERT_CHAIN"
    # Connections to the CPE itself (web UI, ssh, DNS over TCP) are not intercepted.
    echo "-A $TPROXY_CHAIN -m addrtype --dst-type LOCAL -m comment --comment \"plainmode: not for the CPE itself\" -j RETURN"
    # Destinations the operator excluded (--exclude) are routed normally.
    if ((${#ex[@]})); then
        for p in "${ex[@]}"; do
            echo "-A $TPROXY_CHAIN -d $p -m comment --comment \"plainmode: excluded destination\" -j RETURN"
        done
    fi
    # Every other new TCP connection from the LAN goes to plainmode's transparent listener, which
    # reads the original destination with getsockname(); the mark routes the SYN to the host.
    # Only initial SYNs: any other packet without a transparent socket belongs to a connection
    # plainmode does not relay (a natively routed inbound one, say) and is routed as usual.
    echo "-A $TPROXY_CHAIN -p tcp --syn -j TPROXY --on-port $port --tproxy-mark $mark"
    echo "COMMIT"
}

# The contents of PLAINMODE_INBOUND for one family: SYNs to the inbound listeners, to the queues,
# whose worker lowers the window field of a SYN carrying data (see --inbound-port).
inbound_rules() {
    echo "*mangle"
    echo ":$INBOUND_CHAIN - [0:0]"
    echo "-A $INBOUND_CHAIN -p tcp --syn --dport $inbound_port -m addrtype --dst-type LOCAL -m comment --comment \"plainmode: inbound SYN window\" -j NFQUEUE $queue_target --queue-bypass"
    echo "COMMIT"
}

# The contents of PLAINMODE_INBOUND_UDP: a LAN host's datagram to an inbound UDP flow's socket
# (transparent, marked by plainmode with --inbound-udp-mark) is delivered to it, not queued.
inbound_udp_rules() {
    echo "*mangle"
    echo ":$INBOUND_UDP_CHAIN - [0:0]"
    echo "-A $INBOUND_UDP_CHAIN -m socket --transparent --restore-skmark -m mark --mark $udp_mark/$udp_mark -m comment --comment \"plainmode: reply to an inbound UDP flow\" -j $DIVERT_CHAIN"
    echo "COMMIT"
}

# drop_lan_jumps 4|6 CHAIN PROTO: every jump from PREROUTING to CHAIN, whatever LAN interface it was added for.
drop_lan_jumps() {
    local f=$1 chain=$2 proto=$3 i lan
    for ((i = 0; i < 64; i++)); do
        lan=$(ipt "$f" -t mangle -S PREROUTING | awk -v c="$chain" '$NF == c && $1 == "-A" { for (j = 2; j < NF; j++) if ($j == "-i") print $(j + 1) }' | head -n 1)
        [[ -n $lan ]] || break
        ipt "$f" -t mangle -D PREROUTING -i "$lan" -p "$proto" -j "$chain"
    done
}

# inbound_down 4|6: the PREROUTING jumps to PLAINMODE_INBOUND and PLAINMODE_INBOUND_UDP, and the chains.
inbound_down() {
    local f=$1 i
    for ((i = 0; i < 16; i++)); do
        ipt "$f" -t mangle -C PREROUTING -p tcp -j "$INBOUND_CHAIN" 2>/dev/null || break
        ipt "$f" -t mangle -D PREROUTING -p tcp -j "$INBOUND_CHAIN"
    done
    drop_lan_jumps "$f" "$INBOUND_UDP_CHAIN" udp
    for c in "$INBOUND_CHAIN" "$INBOUND_UDP_CHAIN"; do
        if ipt "$f" -t mangle -S "$c" >/dev/null 2>&1; then
            ipt "$f" -t mangle -F "$c"
            ipt "$f" -t mangle -X "$c"
        fi
    done
}

inbound_up() {
    local f=$1 lan
    if [[ -z $inbound_port ]]; then inbound_down "$f"; return; fi
    inbound_rules | ipt_restore "$f"
    ipt "$f" -t mangle -C PREROUTING -p tcp -j "$INBOUND_CHAIN" 2>/dev/null ||
        ipt "$f" -t mangle -A PREROUTING -p tcp -j "$INBOUND_CHAIN"
    inbound_udp_rules | ipt_restore "$f"
    for lan in "${lan_ifs[@]}"; do
        # First in PREROUTING: ahead of PLAINMODE_UDP's queue rule.
        ipt "$f" -t mangle -C PREROUTING -i "$lan" -p udp -j "$INBOUND_UDP_CHAIN" 2>/dev/null ||
            ipt "$f" -t mangle -I PREROUTING 1 -i "$lan" -p udp -j "$INBOUND_UDP_CHAIN"
    done
}

# The contents of PLAINMODE_UDP for one family (same transaction scheme as chain_rules).
udp_rules() {
    local f=$1 p
    local -a ex
    if [[ $f == 4 ]]; then ex=("${excl4[@]}"); else ex=("${excl6[@]}" fe80::/10); fi
    echo "*mangle"
    echo ":$UDP_CHAIN - [0:0]"
    # DHCP, DNS to the CPE itself, broadcast and multicast are never bonded.
    echo "-A $UDP_CHAIN -m addrtype --dst-type LOCAL -m comment --comment \"plainmode: not for the CPE itself\" -j RETURN"
    echo "-A $UDP_CHAIN -m addrtype ! --dst-type UNICAST -m comment --comment \"plainmode: broadcast, multicast\" -j RETURN"
    for p in "${ex[@]}"; do
        echo "-A $UDP_CHAIN -d $p -m comment --comment \"plainmode: excluded destination\" -j RETURN"
    done
    # --queue-bypass: with no plainmode on the queue, UDP is routed as if there were no rule.
    echo "-A $UDP_CHAIN -m comment --comment \"plainmode: bonded UDP\" -j NFQUEUE $queue_target --queue-bypass"
    echo "COMMIT"
}

# udp_down 4|6: every jump from PREROUTING to PLAINMODE_UDP, and the chain.
udp_down() {
    local f=$1
    drop_lan_jumps "$f" "$UDP_CHAIN" udp
    if ipt "$f" -t mangle -S "$UDP_CHAIN" >/dev/null 2>&1; then
        ipt "$f" -t mangle -F "$UDP_CHAIN"
        ipt "$f" -t mangle -X "$UDP_CHAIN"
    fi
}

udp_up() {
    local f=$1 lan
    if ((!udp)); then udp_down "$f"; return; fi
    udp_rules "$f" | ipt_restore "$f"
    for lan in "${lan_ifs[@]}"; do
        ipt "$f" -t mangle -C PREROUTING -i "$lan" -p udp -j "$UDP_CHAIN" 2>/dev/null ||
            ipt "$f" -t mangle -A PREROUTING -i "$lan" -p udp -j "$UDP_CHAIN"
    done
}

remove_endpoints() {
    local e a id
    for e in "${endpoints[@]}"; do
        a=${e%@*}
        id=$(ip mptcp endpoint show | awk -v a="$a" '$1 == a { for (i = 2; i < NF; i++) if ($i == "id") print $(i + 1) }' | head -n 1)
        if [[ -n $id ]]; then ip mptcp endpoint delete id "$id"; fi
    done
}

net_down() {
    local f i
    for f in 4 6; do
        inbound_down "$f"
        udp_down "$f"
        drop_lan_jumps "$f" "$TPROXY_CHAIN" tcp
        for c in "$TPROXY_CHAIN" "$DIVERT_CHAIN"; do
            if ipt "$f" -t mangle -S "$c" >/dev/null 2>&1; then ipt "$f" -t mangle -F "$c"; fi
        done
        for c in "$TPROXY_CHAIN" "$DIVERT_CHAIN"; do
            if ipt "$f" -t mangle -S "$c" >/dev/null 2>&1; then ipt "$f" -t mangle -X "$c"; fi
        done
        for ((i = 0; i < 16; i++)); do
            [[ -n $(ip -"$f" rule show fwmark "$mark" lookup "$table" 2>/dev/null) ]] || break
            ip -"$f" rule del fwmark "$mark" lookup "$table"
        done
    done
    ip -4 route del local 0.0.0.0/0 dev lo table "$table" 2>/dev/null || true
    ip -6 route del local ::/0 dev lo table "$table" 2>/dev/null || true
    remove_endpoints
    echo "cpe-net: TPROXY removed (mark $mark, table $table)"
}

net_up() {
    local f fo lan e a dev
    # TFO client bit (0x1): plainmode sends the PM block as SYN data (it asks for no cookie with
    # TCP_FASTOPEN_NO_COOKIE on its socket); with --inbound-port also the server bit (0x2): the
    # concentrator's block arrives as SYN data. Other bits are kept.
    local server=0
    [[ -n $inbound_port ]] && server=2
    fo=$(sysctl -n net.ipv4.tcp_fastopen)
    sysctl -q -w net.ipv4.tcp_fastopen=$((fo | 0x1 | server))
    # MPTCP sockets are refused unless this is on.
    sysctl -q -w net.mptcp.enabled=1
    # Allow the extra subflow(s) over the other WAN link(s).
    ip mptcp limits set subflow "$subflows" add_addr_accepted "$subflows"
    # One "subflow" endpoint per extra WAN address: the kernel opens a subflow from it on every
    # MPTCP connection the CPE opens (the first subflow uses the default route). With inbound
    # connections also "signal": the concentrator opens one to it on the connections it opens.
    local flags=subflow existing id
    [[ -n $inbound_port ]] && flags="signal subflow"
    for e in "${endpoints[@]}"; do
        a=${e%@*} dev=${e##*@}
        existing=$(ip mptcp endpoint show | awk -v a="$a" '$1 == a' | head -n 1)
        if [[ -n $existing ]]; then
            # Flags cannot be changed in place: an endpoint with others is replaced.
            if { [[ -n $inbound_port ]] && [[ $existing != *signal* ]]; } || { [[ -z $inbound_port ]] && [[ $existing == *signal* ]]; }; then
                id=$(awk '{ for (i = 2; i < NF; i++) if ($i == "id") print $(i + 1) }' <<<"$existing")
                ip mptcp endpoint delete id "$id"
                existing=""
            fi
        fi
        # shellcheck disable=SC2086
        [[ -n $existing ]] || ip mptcp endpoint add "$a" dev "$dev" $flags
    done

    for f in 4 6; do
        chain_rules "$f" | ipt_restore "$f"
        for lan in "${lan_ifs[@]}"; do
            # TCP arriving from the LAN goes through our chain; the CPE's own traffic never passes
            # PREROUTING, so it is never intercepted.
            ipt "$f" -t mangle -C PREROUTING -i "$lan" -p tcp -j "$TPROXY_CHAIN" 2>/dev/null ||
                ipt "$f" -t mangle -A PREROUTING -i "$lan" -p tcp -j "$TPROXY_CHAIN"
        done
        # Marked packets are looked up in our table instead of main ...
        [[ -n $(ip -"$f" rule show fwmark "$mark" lookup "$table") ]] || ip -"$f" rule add fwmark "$mark" lookup "$table"
        # UDP from the LAN to plainmode's queues (--udp), or no UDP rule at all.
        udp_up "$f"
        # SYNs to the inbound listeners to the queues (--inbound-port), or no such rule.
        inbound_up "$f"
    done
    # ... where every destination is local: TPROXY'd SYNs reach the listener on the host.
    ip -4 route replace local 0.0.0.0/0 dev lo table "$table"
    ip -6 route replace local ::/0 dev lo table "$table"
    echo "cpe-net: tcp_fastopen=$(sysctl -n net.ipv4.tcp_fastopen), mptcp on, limits subflow $subflows," \
        "endpoints: ${endpoints[*]:-none}; TPROXY tcp from ${lan_ifs[*]} -> port $port (mark $mark, table $table)"
    if ((udp)); then echo "cpe-net: UDP from ${lan_ifs[*]} -> NFQUEUE $qfirst:$qlast (bypass)"; fi
    if [[ -n $inbound_port ]]; then
        echo "cpe-net: inbound: SYNs to port $inbound_port -> NFQUEUE $qfirst:$qlast (bypass); endpoints signalled;" \
            "LAN replies to inbound UDP flows -> sockets marked $udp_mark"
    fi
}

if ((down)); then net_down; else net_up; fi
