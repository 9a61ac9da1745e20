/*
 * udprtt - UDP ping-pong latency against an echo (udpblast sink --echo). Linux, C11, no deps.
 * Build: gcc -O2 -Wall -Wextra -o udprtt udprtt.c
 *
 *   udprtt ADDR PORT --count N --size B [--interval-us U] [--timeout-ms T] [--bind ADDR[:PORT]]
 *       Sends N probes of B bytes (16..65507 for IPv4, ..65527 for IPv6; default 64), one at a
 *       time, on a connected socket: a probe carries its sequence number and send time (64 bits
 *       each, big-endian, CLOCK_MONOTONIC ns; the layout of udpblast) and waits up to T ms
 *       (default 1000) for the echo with its sequence number. Echoes of earlier probes that come
 *       after their timeout are ignored and counted as "late" (their probe stays lost). A probe
 *       is sent no sooner than U us (default 0) after the previous one was sent.
 *       RTT = receive time - send time of the matching echo, CLOCK_MONOTONIC.
 *       Prints one JSON line
 *         {"sent":n,"received":n,"lost":n,"median_us":x,"p99_us":x,"mean_us":x,"jitter_us":x,"late":n}
 *       median and p99 are nearest-rank percentiles; jitter is the mean absolute difference of
 *       consecutive RTTs (the |D| of RFC 3550 6.4.1, averaged instead of smoothed). With nothing
 *       received the statistics are 0. Exit status: 0 done, 1 socket error, 2 bad usage.
 *
 * ADDR is an IPv4 or IPv6 literal; --bind takes ADDR, ADDR:PORT, [V6ADDR] or [V6ADDR]:PORT.
 * Bounded: at most N * (T + U) plus the send time. SIGTERM/SIGINT stop early and print.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udpcommon.h"

#define HEADER_BYTES 16

static const char *usage_text =
    "usage: udprtt ADDR PORT --count N --size B [--interval-us U] [--timeout-ms T] [--bind ADDR[:PORT]]\n";

static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static void die(const char *what) { fprintf(stderr, "udprtt: %s: %s\n", what, strerror(errno)); exit(1); }
static void fail(const char *msg) { fprintf(stderr, "udprtt: %s\n%s", msg, usage_text); exit(2); }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least p of the samples at or below it */
static double pct_us(const uint64_t *sorted, long n, double p) {
    if (n <= 0) return 0;
    long rank = (long)(p * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)sorted[rank - 1] / 1e3;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) { fputs(usage_text, stdout); return 0; }
    if (argc < 3) fail("needs ADDR PORT");
    struct sockaddr_storage to, from;
    socklen_t tolen, fromlen = 0;
    char *pend;
    long port = strtol(argv[2], &pend, 10);
    if (*pend || port <= 0 || port > 65535) fail("bad PORT");
    if (resolve(argv[1], argv[2], &to, &tolen)) fail("ADDR must be an IPv4 or IPv6 literal");
    long count = -1, size = 64, interval_us = 0, timeout_ms = 1000;
    int have_bind = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) fail("option needs a value");
        i++;
        if (!strcmp(a, "--count")) count = atol(v);
        else if (!strcmp(a, "--size")) size = atol(v);
        else if (!strcmp(a, "--interval-us")) interval_us = atol(v);
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = atol(v);
        else if (!strcmp(a, "--bind")) { if (parse_bind(v, &from, &fromlen)) fail("bad --bind"); have_bind = 1; }
        else { fprintf(stderr, "udprtt: unknown option %s\n", a); fail("bad option"); }
    }
    long maxsize = to.ss_family == AF_INET ? 65507 : 65527;
    if (count < 1 || count > 100000000) fail("--count must be 1..100000000");
    if (size < HEADER_BYTES || size > maxsize) fail("--size must be 16..65507 (IPv4) or ..65527 (IPv6)");
    if (interval_us < 0 || timeout_ms < 1) fail("--interval-us must be >= 0 and --timeout-ms >= 1");
    if (have_bind && from.ss_family != to.ss_family) fail("--bind and ADDR must be the same family");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (have_bind && bind(fd, (struct sockaddr *)&from, fromlen)) die("bind");
    if (connect(fd, (struct sockaddr *)&to, tolen)) die("connect");   /* only the echo's address gets in */

    uint8_t *out = calloc(1, (size_t)size);
    uint8_t *in = malloc(65536);
    uint64_t *rtt = malloc((size_t)count * sizeof *rtt);
    if (!out || !in || !rtt) die("malloc");
    long sent = 0, received = 0, late = 0, send_errors = 0;
    uint64_t last_send = 0;
    for (long seq = 0; seq < count && !g_stop; seq++) {
        if (interval_us > 0 && seq > 0) {
            uint64_t next = last_send + (uint64_t)interval_us * 1000ull, now = now_ns();
            if (next > now) {
                uint64_t d = next - now;
                struct timespec ts = {.tv_sec = (time_t)(d / 1000000000ull), .tv_nsec = (long)(d % 1000000000ull)};
                nanosleep(&ts, NULL);
            }
        }
        uint64_t t_send = now_ns();
        put_be64(out, (uint64_t)seq);
        put_be64(out + 8, t_send);
        last_send = t_send;
        ssize_t w = send(fd, out, (size_t)size, 0);
        if (w != (ssize_t)size) { send_errors++; continue; }   /* not sent: not counted */
        sent++;
        uint64_t deadline = t_send + (uint64_t)timeout_ms * 1000000ull;
        for (;;) {
            uint64_t now = now_ns();
            if (now >= deadline || g_stop) break;
            uint64_t left = deadline - now;
            struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int r = ppoll(&p, 1, &ts, NULL);
            if (r < 0 && errno != EINTR) die("ppoll");
            if (r <= 0) continue;
            ssize_t n = recv(fd, in, 65536, MSG_DONTWAIT);
            uint64_t t_recv = now_ns();
            if (n < 0) continue;   /* EAGAIN, or ECONNREFUSED from an ICMP error: wait on */
            if (n < 8) continue;
            uint64_t got = get_be64(in);
            if (got == (uint64_t)seq) { rtt[received++] = t_recv - t_send; break; }
            if (got < (uint64_t)seq) late++;
        }
    }
    double mean = 0, jitter = 0;
    for (long i = 0; i < received; i++) mean += (double)rtt[i];
    if (received) mean /= (double)received;
    for (long i = 1; i < received; i++) {
        double d = (double)rtt[i] - (double)rtt[i - 1];
        jitter += d < 0 ? -d : d;
    }
    if (received > 1) jitter /= (double)(received - 1);
    qsort(rtt, (size_t)received, sizeof *rtt, cmp_u64);
    if (send_errors) fprintf(stderr, "udprtt: %ld probes could not be sent\n", send_errors);
    printf("{\"sent\":%ld,\"received\":%ld,\"lost\":%ld,\"median_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,"
           "\"jitter_us\":%.3f,\"late\":%ld}\n",
           sent, received, sent - received, pct_us(rtt, received, 0.50), pct_us(rtt, received, 0.99),
           mean / 1e3, jitter / 1e3, late);
    fflush(stdout);
    close(fd);
    free(out);
    free(in);
    free(rtt);
    return 0;
}
