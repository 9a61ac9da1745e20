#!/usr/bin/env bash
# Wire-format micro-benchmarks, Swift next to the C baseline, in one command:
#   1. release build; checks that the C baseline is compiled with -O2 and Swift with -O
#   2. self-test: the C baseline and the Swift code agree on the inputs and on fuzzed ones
#   3. ns/op: the ordo-one/benchmark suite (every case in both languages, in the same run),
#      ROUNDS times; per benchmark the p50 wall clock of each round, then the median of those
#   4. instructions/op: bench-callgrind under valgrind --tool=callgrind at two iteration
#      counts, (I(N2) - I(N1)) / (N2 - N1), which cancels start-up and setup
#   5. the same C sources built by gcc -O2 (standalone driver), as a cross-check of the C side
#   6. prints the markdown table (also in $OUT/table.md) with the Swift/C ratios
#
# Environment: ROUNDS (default 3), N1/N2 (callgrind iterations, default 1000/11000),
# TIMING=0 / CALLGRIND=0 / GCC=0 skip a step, OUT (default .build/wire-bench).
# Needs: swift 6.1+, valgrind (callgrind_annotate), python3, gcc, binutils (strip).
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-3}
N1=${N1:-1000}
N2=${N2:-11000}
OUT=${OUT:-.build/wire-bench}
TIMING=${TIMING:-1}
CALLGRIND=${CALLGRIND:-1}
GCC=${GCC:-1}
mkdir -p "$OUT"
rm -f "$OUT"/timing-*.txt "$OUT"/callgrind.tsv "$OUT"/gcc.tsv

for tool in swift python3 valgrind callgrind_annotate strip gcc; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (see Bench/README.md)" >&2; exit 1; }
done

CASES=(parse-ipv4-tcp checksum-rewrite parse+rewrite pm-block-ipv6 pm-block-ipv4 udp-decode-32x100 udp-decode-32x100-split1448)

echo "== 1. build (release)" >&2
# Only the products used here: a plain `swift build` would also build the root package's
# executable, which needs libnetfilter-queue-dev.
swift build -c release --product bench-callgrind >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; exit 1; }
swift build -c release --product WireBenchmarks >>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; exit 1; }
BIN_DIR=$(swift build -c release --show-bin-path)
# The compile commands SwiftPM used, from its build manifest: C baseline at -O2, Swift at -O.
python3 - .build/release.yaml <<'EOF' | tee "$OUT/flags.txt" >&2
import json, re, sys
path = sys.argv[1]
commands, key = {}, None
for line in open(path):
    m = re.match(r'^  "(.+)":$', line.rstrip("\n"))
    if m:
        key = m.group(1)
        continue
    m = re.match(r'^    args: (\[.*\])$', line.rstrip("\n"))
    if m and key:
        commands[key] = json.loads(m.group(1))
ok = True
c_files = {k: v for k, v in commands.items() if "/CBaseline.build/" in k and k.endswith(".c.o")}
for k, args in sorted(c_files.items()):
    opts = [a for a in args if re.fullmatch(r"-O.*", a)]
    good = "-O2" in opts and all(o == "-O2" for o in opts)
    ok &= good
    print(f"{'ok ' if good else 'BAD'} {args[0].rsplit('/', 1)[-1]} {' '.join(opts)}  {k.rsplit('/', 1)[-1]}")
for module in ("WireFormat", "PlainMode", "BenchCases"):
    args = next((v for k, v in commands.items() if k.startswith(f"C.{module}-") and k.endswith("-release.module")), None)
    if args is None:
        print(f"BAD {module}: no compile command found"); ok = False; continue
    opts = sorted({a for a in args if re.fullmatch(r"-O.*|-whole-module-optimization|-enable-default-cmo", a)})
    good = "-O" in opts and "-Onone" not in opts
    ok &= good
    print(f"{'ok ' if good else 'BAD'} swiftc {' '.join(opts)}  {module}")
if not c_files:
    print("BAD no CBaseline compile commands found"); ok = False
sys.exit(0 if ok else 1)
EOF

echo "== 2. self-test (C baseline == Swift)" >&2
"$BIN_DIR/bench-callgrind" selftest 50000 >"$OUT/selftest.txt" || { cat "$OUT/selftest.txt" >&2; exit 1; }
tail -1 "$OUT/selftest.txt" >&2

if [ "$TIMING" = 1 ]; then
    echo "== 3. ns/op: ordo-one/benchmark, $ROUNDS round(s) of all cases in both languages" >&2
    for round in $(seq 1 "$ROUNDS"); do
        echo "   round $round: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
        # --scale: print the time of one sample (1000 operations) in ns, not a rounded per-op value.
        swift package --disable-sandbox benchmark run --target WireBenchmarks --no-progress --scale \
            >"$OUT/timing-$round.txt" 2>&1 || { tail -40 "$OUT/timing-$round.txt" >&2; exit 1; }
    done
fi

if [ "$CALLGRIND" = 1 ]; then
    echo "== 4. instructions/op: callgrind at N1=$N1 and N2=$N2" >&2
    # valgrind 3.19 cannot read the DWARF the Swift toolchain emits: run a copy without it
    # (symbols stay, so callgrind_annotate still names functions).
    strip --strip-debug -o "$OUT/bench-callgrind" "$BIN_DIR/bench-callgrind"
    for case in "${CASES[@]}"; do
        for lang in swift c; do
            counts=()
            for n in "$N1" "$N2"; do
                file="$OUT/callgrind.out.$case.$lang.$n"
                valgrind --tool=callgrind --callgrind-out-file="$file" "$OUT/bench-callgrind" "$case" "$lang" "$n" 2>/dev/null
                counts+=("$(sed -n 's/^summary: //p;s/^totals: //p' "$file" | head -1)")
            done
            printf '%s\t%s\t%s\t%s\n' "$case" "$lang" "${counts[0]}" "${counts[1]}" >>"$OUT/callgrind.tsv"
            callgrind_annotate "$OUT/callgrind.out.$case.$lang.$N2" >"$OUT/annotate.$case.$lang.txt" 2>/dev/null || true
        done
    done
fi

if [ "$GCC" = 1 ]; then
    echo "== 5. cross-check: the C baseline built by gcc -O2" >&2
    gcc -O2 -I Sources/CBaseline/include Sources/CBaseline/*.c gcc-baseline/main.c -o "$OUT/gcc-baseline"
    for case in "${CASES[@]}"; do
        counts=()
        for n in "$N1" "$N2"; do
            file="$OUT/callgrind.out.$case.gcc.$n"
            valgrind --tool=callgrind --callgrind-out-file="$file" "$OUT/gcc-baseline" "$case" "$n" 2>/dev/null
            counts+=("$(sed -n 's/^summary: //p;s/^totals: //p' "$file" | head -1)")
        done
        printf '%s\t%s\t%s\t%s\n' "$case" "$("$OUT/gcc-baseline" time "$case")" "${counts[0]}" "${counts[1]}" >>"$OUT/gcc.tsv"
    done
fi

echo "== 6. results" >&2
python3 - "$OUT" "$ROUNDS" "$N1" "$N2" "${CASES[@]}" <<'EOF' | tee "$OUT/table.md"
import os, re, statistics, sys
out, rounds, n1, n2, cases = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]

# ns/op: in each round's text output, the "Time (wall clock) (ns)" row after a benchmark's
# name; with --scale it is the time of one sample of 1000 operations, so p50 / 1000.
samples = {}
for r in range(1, rounds + 1):
    path = f"{out}/timing-{r}.txt"
    if not os.path.exists(path):
        continue
    name = None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if re.fullmatch(r"[a-z0-9+\-]+/(swift|c)", line):
            name = line
        elif name and line.startswith("│ Time (wall clock) (ns)"):
            cells = [c.strip() for c in line.split("│")[1:-1]]
            p50 = float(cells[3])  # columns: metric, p0, p25, p50, ...
            samples.setdefault(name, []).append(p50 / 1000.0)
            name = None
ns = {k: statistics.median(v) for k, v in samples.items()}

instr = {}
if os.path.exists(f"{out}/callgrind.tsv"):
    for line in open(f"{out}/callgrind.tsv"):
        case, lang, i1, i2 = line.split("\t")
        instr[(case, lang)] = (int(i2) - int(i1)) / (n2 - n1)

gcc = {}
if os.path.exists(f"{out}/gcc.tsv"):
    for line in open(f"{out}/gcc.tsv"):
        case, t, i1, i2 = line.split("\t")
        gcc[case] = (float(t), (int(i2) - int(i1)) / (n2 - n1))

def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:,.{digits}f}"

# The rewrite cases time WireFormat's rewrite helpers, which no daemon path calls (Bench/README.md, Cases).
LABEL = {"checksum-rewrite": "checksum-rewrite (library only)", "parse+rewrite": "parse+rewrite (rewrites: library only)"}

def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b

print(f"ns/op: p50 wall clock, median of {max((len(v) for v in samples.values()), default=0)} round(s) of the ordo-one suite; "
      f"instr/op: callgrind, (I({n2}) - I({n1})) / {n2 - n1}.")
print()
print("Library only: WireFormat's rewrite helpers (rewriteIPv4Address, rewritePort), in checksum-rewrite and parse+rewrite, "
      "run on no daemon path today; everything else measured here does (Bench/README.md, Cases).")
print()
print("| case | Swift ns/op | C ns/op | ratio | Swift instr/op | C instr/op | ratio | within 1.5x? |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for case in cases:
    s_ns, c_ns = ns.get(f"{case}/swift"), ns.get(f"{case}/c")
    s_i, c_i = instr.get((case, "swift")), instr.get((case, "c"))
    r_ns, r_i = ratio(s_ns, c_ns), ratio(s_i, c_i)
    known = [r for r in (r_ns, r_i) if r is not None]
    verdict = "n/a" if not known else ("yes" if all(r <= 1.5 for r in known) else "**no**")
    print(f"| {LABEL.get(case, case)} | {fmt(s_ns, 2)} | {fmt(c_ns, 2)} | {fmt(r_ns, 2)}x | {fmt(s_i)} | {fmt(c_i)} | {fmt(r_i, 2)}x | {verdict} |")

if gcc:
    print()
    print("Cross-check, the same C sources built by gcc -O2 (standalone driver, its own p50 of 1000-operation samples):")
    print()
    print("| case | gcc C ns/op | Swift/gcc ns | gcc C instr/op | Swift/gcc instr |")
    print("|---|---:|---:|---:|---:|")
    for case in cases:
        t, i = gcc.get(case, (None, None))
        print(f"| {LABEL.get(case, case)} | {fmt(t, 2)} | {fmt(ratio(ns.get(f'{case}/swift'), t), 2)}x | {fmt(i)} | {fmt(ratio(instr.get((case, 'swift')), i), 2)}x |")
EOF
echo >&2
echo "raw data: $OUT (timing-*.txt, callgrind.out.*, annotate.*, flags.txt, selftest.txt)" >&2
