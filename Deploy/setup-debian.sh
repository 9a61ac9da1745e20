#!/usr/bin/env bash
# Installs the Debian 12 packages plainmode builds and runs against (run as root); packages named
# as arguments are installed too (e.g. the benchmarks' haproxy and mptcpize).
# The Swift 6.3 toolchain itself must already be on PATH (swift --version).
set -euo pipefail
# Build: the netfilter libraries, and SQLite for the lease store (GRDB links it). Run and test:
# iproute2 (ip, tc, nstat, ss), iptables (TPROXY and the transparent return path), python3 (test
# peers), procps (sysctl), util-linux (setpriv), bind9-dnsutils (dig: a real resolver client
# through bonded UDP), python3-prometheus-client (the metrics test parses scrapes with it, run by
# /usr/bin/python3), nfdump and tshark (the IPFIX export read back by real collectors).
packages=(libnetfilter-queue-dev libmnl-dev libsqlite3-dev pkg-config iproute2 iptables python3 procps util-linux bind9-dnsutils
          python3-prometheus-client nfdump tshark "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    # tshark's package asks whether non-root users may capture; the tests capture as root.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: installed ${missing[*]}"
fi
if ! command -v swift >/dev/null; then
    echo "setup: swift is not on PATH; install the Swift 6.3 toolchain (e.g. under /opt/swift) first" >&2
    exit 1
fi
