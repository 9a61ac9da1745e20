/*
 * ttfb - time to first byte of small request/response exchanges, one connection at a time
 * (Linux, C11, no deps). Used by Bench/run-latency-benchmarks.sh.
 * Build: gcc -O2 -Wall -Wextra -o ttfb ttfb.c
 *
 *   ttfb ADDR PORT --count N [--warmup W] [--bind ADDR] [--mptcp] [--req B] [--resp B]
 *        [--gap-ms G] [--timeout-ms T]
 *       W + N sequential connections to ADDR:PORT (IPv4), each: socket(AF_INET, SOCK_STREAM,
 *       0 or IPPROTO_MPTCP with --mptcp), bind to ADDR (port 0) with --bind, blocking connect(),
 *       one write() of B bytes (default 100), read until B' bytes (--resp, default 100) and EOF,
 *       close. G ms (default 50) between one connection's close and the next connect. Every
 *       socket call is bounded by SO_SNDTIMEO/SO_RCVTIMEO = T ms (default 5000).
 *       Times (CLOCK_MONOTONIC, from just before connect()): connect returned, first reply byte
 *       read (time to first byte), EOF read. The first W connections are not reported.
 *       With --mptcp, MPTCP_INFO after the exchange tells whether the connection fell back to
 *       TCP (counted in "fallbacks").
 *       Prints one JSON line:
 *         {"ok":n,"failed":n,"warmup_failed":n,"fallbacks":n,"ttfb_median_ms":x,"ttfb_p90_ms":x,
 *          "connect_median_ms":x,"eof_median_ms":x,"ttfb_ms":[...],"connect_ms":[...],
 *          "first_error":"..."}
 *       The lists hold every measured connection in order (ms, 3 decimals); percentiles are
 *       nearest-rank. A connection that fails (error, timeout, short reply) counts in "failed"
 *       and has no sample. Exit status: 0 done (even with failures), 1 socket error, 2 bad usage.
 * Bounded: at most (W + N) * (3 T + G) ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../stream/mptcp_info.h"

static const char *usage_text =
    "usage: ttfb ADDR PORT --count N [--warmup W] [--bind ADDR] [--mptcp] [--req B] [--resp B] [--gap-ms G] [--timeout-ms T]\n";

static void fail(const char *msg) { fprintf(stderr, "ttfb: %s\n%s", msg, usage_text); exit(2); }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least p of the samples at or below it */
static double pct_ms(const uint64_t *v, long n, double p) {
    if (n <= 0) return 0;
    uint64_t *s = malloc((size_t)n * sizeof *s);
    if (!s) { perror("malloc"); exit(1); }
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_u64);
    long rank = (long)(p * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    double r = (double)s[rank - 1] / 1e6;
    free(s);
    return r;
}

static long parse_long(const char *v, long lo, long hi, const char *what) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) fail(what);
    return x;
}

static void print_list(const char *name, const uint64_t *v, long n) {
    printf(",\"%s\":[", name);
    for (long i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", (double)v[i] / 1e6);
    printf("]");
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) { fputs(usage_text, stdout); return 0; }
    if (argc < 3) fail("needs ADDR PORT");
    struct sockaddr_in to, from;
    memset(&to, 0, sizeof to);
    memset(&from, 0, sizeof from);
    to.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) fail("ADDR must be an IPv4 literal");
    to.sin_port = htons((uint16_t)parse_long(argv[2], 1, 65535, "bad PORT"));
    long count = -1, warmup = 0, req = 100, resp = 100, gap_ms = 50, timeout_ms = 5000;
    int mptcp = 0, have_bind = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--mptcp")) { mptcp = 1; continue; }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) fail("option needs a value");
        if (!strcmp(a, "--count")) count = parse_long(v, 1, 100000, "bad --count");
        else if (!strcmp(a, "--warmup")) warmup = parse_long(v, 0, 10000, "bad --warmup");
        else if (!strcmp(a, "--req")) req = parse_long(v, 1, 65536, "bad --req");
        else if (!strcmp(a, "--resp")) resp = parse_long(v, 1, 65536, "bad --resp");
        else if (!strcmp(a, "--gap-ms")) gap_ms = parse_long(v, 0, 10000, "bad --gap-ms");
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = parse_long(v, 1, 60000, "bad --timeout-ms");
        else if (!strcmp(a, "--bind")) {
            from.sin_family = AF_INET;
            if (inet_pton(AF_INET, v, &from.sin_addr) != 1) fail("bad --bind (an IPv4 literal)");
            have_bind = 1;
        } else fail("unknown option");
    }
    if (count < 1) fail("needs --count");

    uint64_t *ttfb = calloc((size_t)count, sizeof *ttfb), *conn = calloc((size_t)count, sizeof *conn),
             *eof = calloc((size_t)count, sizeof *eof);
    char *out = calloc(1, (size_t)req), *in = malloc((size_t)resp + 1);
    if (!ttfb || !conn || !eof || !out || !in) { perror("calloc"); return 1; }
    memset(out, 'q', (size_t)req);
    long ok = 0, failed = 0, warmup_failed = 0, fallbacks = 0;
    char first_error[128] = "";
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    struct timespec gap = {.tv_sec = gap_ms / 1000, .tv_nsec = (gap_ms % 1000) * 1000000L};

    for (long i = 0; i < warmup + count; i++) {
        const char *step = "";
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, mptcp ? IPPROTO_MPTCP_ : 0);
        if (fd < 0) { perror(mptcp ? "socket(IPPROTO_MPTCP)" : "socket"); return 1; }
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        uint64_t t0 = 0, t_conn = 0, t_first = 0, t_eof = 0;
        long got = 0;
        int fell_back = 0;
        if (have_bind && bind(fd, (struct sockaddr *)&from, sizeof from) != 0) { step = "bind"; goto bad; }
        t0 = now_ns();
        if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { step = "connect"; goto bad; }
        t_conn = now_ns();
        for (long sent = 0; sent < req;) {
            ssize_t w = write(fd, out + sent, (size_t)(req - sent));
            if (w < 0) { if (errno == EINTR) continue; step = "write"; goto bad; }
            sent += w;
        }
        for (;;) {
            ssize_t r = read(fd, in, (size_t)(resp + 1 - got));   /* got <= resp here */
            if (r < 0) { if (errno == EINTR) continue; step = "read"; goto bad; }
            if (r == 0) { t_eof = now_ns(); break; }
            if (!got) t_first = now_ns();
            got += r;
            if (got > resp) { errno = EPROTO; step = "read (reply longer than --resp)"; goto bad; }
        }
        if (got != resp) { errno = EPROTO; step = "read (short reply)"; goto bad; }
        if (mptcp) {
            struct mptcp_info_ mi;
            socklen_t len = sizeof mi;
            memset(&mi, 0, sizeof mi);
            if (getsockopt(fd, SOL_MPTCP_, MPTCP_INFO_, &mi, &len) != 0 || (mi.flags & MPTCP_INFO_FLAG_FALLBACK_)) fell_back = 1;
        }
        close(fd);
        if (i >= warmup) {
            ttfb[ok] = t_first - t0;
            conn[ok] = t_conn - t0;
            eof[ok] = t_eof - t0;
            ok++;
            fallbacks += fell_back;
        }
        nanosleep(&gap, NULL);
        continue;
    bad:
        if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s: %s", step, strerror(errno));
        close(fd);
        if (i >= warmup) failed++; else warmup_failed++;
        nanosleep(&gap, NULL);
    }
    printf("{\"ok\":%ld,\"failed\":%ld,\"warmup_failed\":%ld,\"fallbacks\":%ld,\"ttfb_median_ms\":%.3f,\"ttfb_p90_ms\":%.3f,"
           "\"connect_median_ms\":%.3f,\"eof_median_ms\":%.3f",
           ok, failed, warmup_failed, fallbacks, pct_ms(ttfb, ok, 0.5), pct_ms(ttfb, ok, 0.9), pct_ms(conn, ok, 0.5),
           pct_ms(eof, ok, 0.5));
    print_list("ttfb_ms", ttfb, ok);
    print_list("connect_ms", conn, ok);
    printf(",\"first_error\":\"%s\"}\n", first_error);
    return 0;
}
