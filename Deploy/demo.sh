#!/usr/bin/env bash
# The main job until the concentrator demo exists: build plainmode and run its operator tools
# on the protocol's reference examples (draft-08 section 4.1, RFC 7753 section 5.1, RFC 7597 App. A).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Deploy/setup-debian.sh
swift build -c release --product plainmode 2>&1 | tail -1
bin=$(swift build -c release --show-bin-path)/plainmode
run() { printf '\n$ plainmode %s\n' "$*"; "$bin" "$@"; }
run --help
echo; echo "== A CPE's SYN data for a UDP flow to [2001:db8::1]:53 carrying \"hello\" =="
run decode 1E 16 E0 11 20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01 00 35 00 00 05 68 65 6C 6C 6F
echo; echo "== A refused PM block: loopback destination =="
run decode 1E 0A E0 06 7F 00 00 01 01 BB 00 || echo "(exit status $?: refused, as it should be)"
echo; echo "== The RFC 7753 section 5.1 PCP response: 32 UDP ports from 37056 on 192.0.2.3 =="
run decode 02 81 00 00 00 00 1C 20 00 00 0E 10 00 00 00 00 00 00 00 00 00 00 00 00 \
    01 02 03 04 05 06 07 08 09 0A 0B 0C 11 00 00 00 C3 50 90 C0 00 00 00 00 \
    00 00 00 00 00 00 FF FF C0 00 02 03 82 00 00 05 00 20 C3 50 00 00 00 00
echo; echo "== Port-set planning: RFC 7597 Appendix A geometry (a=6, k=8) =="
run portset --offset 6 --psid-length 8 --summary
run portset --offset 6 --psid-length 8 --psid 0x34
run portset --offset 6 --psid-length 8 --port 1233
