# bench-lib.sh - what the namespace benchmarks share (sourced, not run): messages, integer
# checks, background processes in namespaces and their clean-up, bounded waits, raw records.
# The caller sets BENCH_NAME (message prefix), PREFIX (testbed), repo, OUT and RAW, then sources
# this file; it installs the EXIT trap that kills every spawned process and takes the testbed down.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
int_in() { if [[ ! $2 =~ ^[0-9]{1,9}$ ]] || ((10#$2 < $3 || 10#$2 > $4)); then die "$1 must be an integer in $3..$4 (got '$2')"; fi; }
want() { [[ " $TESTS " == *" $1 "* ]]; }

PIDS=()
# True while the process exists and is not a zombie (kill -0 also succeeds on zombies).
running() { local s; s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1; [[ -n $s && $s != Z ]]; }
cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do running "$p" || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    PREFIX=$PREFIX bash "$repo/Deploy/testbed.sh" down >/dev/null 2>&1 || echo "$BENCH_NAME: testbed down failed" >&2
    ((rc == 0)) || echo "$BENCH_NAME: failed (status $rc); logs in $OUT" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Starts a command in a namespace in the background, output to $OUT/NAME.log; its pid (the
# command itself: ip netns exec and mptcpize run both exec) goes to BG_PID and the clean-up list.
spawn() {
    local name=$1 ns=$2; shift 2
    ip netns exec "$ns" "$@" >"$OUT/$name.log" 2>&1 </dev/null &
    BG_PID=$!
    PIDS+=("$BG_PID")
}
# Drops a pid that has been waited for from the clean-up list (its number may be reused).
forget() { local p keep=(); for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
# SIGTERM, up to 10 s, then SIGKILL; reaps it.
stop_pid() {
    local p=$1 i
    kill "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do running "$p" || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    forget "$p"
}
# Polls a command every 0.1 s, at most $1 seconds.
wait_for() {
    local seconds=$1 i; shift
    for ((i = 0; i < seconds * 10; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }   # metric system round value
calc() { awk "BEGIN {printf \"%.6g\", $1}"; }
nstat_get() { NSTAT_HISTORY=$OUT/nstat.$1 nsx "$1" nstat -asz "$2" 2>/dev/null | awk -v c="$2" '$1 == c {v = $2} END {print v + 0}'; }
