/*
 * udpblast - UDP load generator and sink for the packet-plane benchmarks (Linux, C11, no deps).
 * Build: gcc -O2 -Wall -Wextra -o udpblast udpblast.c
 *
 *   udpblast send ADDR PORT --size B --duration S [--rate PPS] [--warmup W] [--bind ADDR[:PORT]]
 *       Sends datagrams of B bytes (16..65507 for IPv4, ..65527 for IPv6) to ADDR PORT for S
 *       seconds, as fast as possible, or paced to PPS datagrams per second, with sendmmsg batches
 *       of up to 32 on a connected socket. Each datagram starts with a 64-bit sequence number
 *       (from 0) and a 64-bit send timestamp (CLOCK_MONOTONIC, ns), both big-endian; the rest is
 *       zero. With --rate, sent is about PPS x S (the last sleep may overrun the end by a few
 *       tens of us). A datagram the kernel refuses is retried with the same sequence number, so
 *       the sink sees no gap for it; "errors" counts the sendmmsg calls that failed outright
 *       (ECONNREFUSED after an ICMP port unreachable, EAGAIN after 200 ms of a full send buffer,
 *       ...). sendmmsg loses an error that follows a sent datagram of the same batch, so against
 *       a closed port at full speed errors stays 0 while every call sends one datagram.
 *       With --warmup, W seconds of the same traffic go first, their sequence numbers with the
 *       top bit set (from 1<<63): the sink leaves them out of every number, so a path that needs
 *       to warm up (a TCP connection's window after idle) is measured in its steady state.
 *       Prints one JSON line {"sent":n,"errors":n,"seconds":x} (the measured part only).
 *
 *   udpblast sink --bind ADDR --port P --duration S [--echo]
 *       Binds ADDR:P (receive buffer forced to 32 MiB, or the SO_RCVBUF cap), prints "ready", and
 *       receives with recvmmsg (batches of 64) for S seconds (or until SIGTERM/SIGINT). Counts
 *       datagrams and payload bytes (warm-up datagrams apart: "warmup"), and reads the sequence
 *       numbers of one sender run:
 *         lost      = (highest - lowest + 1) - datagrams with a sequence number, never below 0
 *                     (gaps; datagrams lost after the last one received cannot be seen here)
 *         reordered = datagrams that arrived after one with a higher sequence number
 *       pps is received / (last arrival - first arrival). With --echo every datagram is sent back
 *       to its source unchanged (sendmmsg, non-blocking; a full send buffer drops the echo).
 *       Prints one JSON line {"received":n,"bytes":n,"lost":n,"reordered":n,"pps":x,"warmup":n}.
 *
 * ADDR is an IPv4 or IPv6 literal (fe80::1%eth0 works); --bind for send takes ADDR, ADDR:PORT,
 * [V6ADDR] or [V6ADDR]:PORT. Every loop is bounded by --duration. Exit status: 0 done, 1 socket
 * error, 2 bad usage.
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "udpcommon.h"

#define SEND_BATCH 32
#define RECV_BATCH 64
#define SLOT_BYTES 65536
#define HEADER_BYTES 16
#define WARMUP_FLAG (1ull << 63)

static const char *usage_text =
    "usage: udpblast send ADDR PORT --size B --duration S [--rate PPS] [--warmup W] [--bind ADDR[:PORT]]\n"
    "       udpblast sink --bind ADDR --port P --duration S [--echo]\n";

static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static void die(const char *what) { fprintf(stderr, "udpblast: %s: %s\n", what, strerror(errno)); exit(1); }
static void fail(const char *msg) { fprintf(stderr, "udpblast: %s\n%s", msg, usage_text); exit(2); }

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}

static long parse_port(const char *text) {
    char *end;
    long p = strtol(text, &end, 10);
    if (*end || end == text || p < 0 || p > 65535) return -1;
    return p;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ================= send ================= */
struct blast {
    int fd;
    struct iovec *iov;
    struct mmsghdr *msgs;
    double rate;
    uint64_t errors;
};

/* Sends for `seconds` (paced to b->rate when > 0), sequence numbers from 0 ORed with `flag`;
 * returns how many went out. */
static uint64_t blast(struct blast *b, double seconds, uint64_t flag) {
    uint64_t sent = 0;
    uint64_t t0 = now_ns(), t_end = t0 + (uint64_t)(seconds * 1e9), now = t0;
    while (!g_stop && (now = now_ns()) < t_end) {
        int n = SEND_BATCH;
        if (b->rate > 0) {
            uint64_t due = (uint64_t)((double)(now - t0) * b->rate / 1e9) + 1; /* the first goes at t0 */
            if (due <= sent) {
                uint64_t next = t0 + (uint64_t)((double)sent * 1e9 / b->rate);
                if (next > t_end) next = t_end;
                if (next > now) sleep_ns(next - now);
                continue;
            }
            if (due - sent < (uint64_t)n) n = (int)(due - sent);
        }
        for (int i = 0; i < n; i++) {
            uint8_t *p = b->iov[i].iov_base;
            put_be64(p, (sent + (uint64_t)i) | flag);
            put_be64(p + 8, now_ns());
        }
        int r = sendmmsg(b->fd, b->msgs, (unsigned)n, 0);
        if (r > 0) { sent += (uint64_t)r; continue; }
        if (r < 0 && errno == EINTR) continue;
        b->errors++;
        if (r < 0 && errno != ECONNREFUSED && errno != EAGAIN) sleep_ns(50000); /* don't spin on a hard error */
    }
    return sent;
}

static int do_send(int argc, char **argv) {
    if (argc < 4) fail("send needs ADDR PORT");
    struct sockaddr_storage to, from;
    socklen_t tolen, fromlen = 0;
    if (parse_port(argv[3]) <= 0) fail("bad PORT");
    if (resolve(argv[2], argv[3], &to, &tolen)) fail("ADDR must be an IPv4 or IPv6 literal");
    long size = -1;
    double duration = -1, rate = 0, warmup = 0;
    int have_bind = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) fail("option needs a value");
        i++;
        if (!strcmp(a, "--size")) size = atol(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--rate")) rate = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--bind")) { if (parse_bind(v, &from, &fromlen)) fail("bad --bind"); have_bind = 1; }
        else { fprintf(stderr, "udpblast: unknown option %s\n", a); fail("bad option"); }
    }
    long maxsize = to.ss_family == AF_INET ? 65507 : 65527;
    if (size < HEADER_BYTES || size > maxsize) fail("--size must be 16..65507 (IPv4) or ..65527 (IPv6)");
    if (duration <= 0) fail("--duration must be > 0");
    if (rate < 0) fail("--rate must be >= 0");
    if (warmup < 0) fail("--warmup must be >= 0");
    if (have_bind && from.ss_family != to.ss_family) fail("--bind and ADDR must be the same family");
    install_signals();

    int fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
    /* a held-up path (a stalled NFQUEUE consumer) must not block past the duration */
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (have_bind && bind(fd, (struct sockaddr *)&from, fromlen)) die("bind");
    if (connect(fd, (struct sockaddr *)&to, tolen)) die("connect");

    uint8_t *bufs = calloc(SEND_BATCH, (size_t)size);
    if (!bufs) die("calloc");
    struct iovec iov[SEND_BATCH];
    struct mmsghdr msgs[SEND_BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < SEND_BATCH; i++) {
        iov[i].iov_base = bufs + (size_t)i * (size_t)size;
        iov[i].iov_len = (size_t)size;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct blast b = {.fd = fd, .iov = iov, .msgs = msgs, .rate = rate};
    if (warmup > 0) blast(&b, warmup, WARMUP_FLAG);
    uint64_t t0 = now_ns();
    uint64_t sent = blast(&b, duration, 0), errors = b.errors;
    double seconds = (double)(now_ns() - t0) / 1e9;
    printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.4f}\n", (unsigned long long)sent,
           (unsigned long long)errors, seconds);
    fflush(stdout);
    close(fd);
    free(bufs);
    return 0;
}

/* ================= sink ================= */
static int do_sink(int argc, char **argv) {
    const char *bind_text = NULL;
    long port = -1;
    double duration = -1;
    int echo = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--echo")) { echo = 1; continue; }
        if (!v) fail("option needs a value");
        i++;
        if (!strcmp(a, "--bind")) bind_text = v;
        else if (!strcmp(a, "--port")) port = parse_port(v);
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else { fprintf(stderr, "udpblast: unknown option %s\n", a); fail("bad option"); }
    }
    if (!bind_text) fail("sink needs --bind ADDR");
    if (port < 0) fail("sink needs --port P (0..65535)");
    if (duration <= 0) fail("--duration must be > 0");
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%ld", port);
    struct sockaddr_storage local;
    socklen_t locallen;
    if (resolve(bind_text, portstr, &local, &locallen)) fail("--bind must be an IPv4 or IPv6 literal");
    install_signals();

    int fd = socket(local.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, 32 << 20);
    if (echo) set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, 8 << 20);
    if (bind(fd, (struct sockaddr *)&local, locallen)) die("bind");

    uint8_t *bufs = malloc((size_t)RECV_BATCH * SLOT_BYTES);
    if (!bufs) die("malloc");
    struct iovec iov[RECV_BATCH];
    struct sockaddr_storage peers[RECV_BATCH];
    struct mmsghdr msgs[RECV_BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < RECV_BATCH; i++) {
        iov[i].iov_base = bufs + (size_t)i * SLOT_BYTES;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &peers[i];
    }
    printf("ready\n");
    fflush(stdout);

    uint64_t received = 0, bytes = 0, with_seq = 0, reordered = 0, lowest = 0, highest = 0, warmups = 0;
    uint64_t echo_errors = 0, t_first = 0, t_last = 0;
    uint64_t t0 = now_ns(), t_end = t0 + (uint64_t)(duration * 1e9), now;
    while (!g_stop && (now = now_ns()) < t_end) {
        uint64_t left_ms = (t_end - now) / 1000000ull;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, left_ms < 100 ? (int)left_ms + 1 : 100);
        if (pr < 0 && errno != EINTR) die("poll");
        if (pr <= 0) continue;
        /* drain what is readable, bounded by the duration */
        for (int rounds = 0; rounds < 64; rounds++) {
            for (int i = 0; i < RECV_BATCH; i++) {
                iov[i].iov_len = SLOT_BYTES;
                msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
                msgs[i].msg_hdr.msg_flags = 0;
            }
            int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                die("recvmmsg");
            }
            if (n == 0) break;
            uint64_t t = now_ns();
            for (int i = 0; i < n; i++) {
                unsigned len = msgs[i].msg_len;
                uint64_t seq = len >= 8 ? get_be64(iov[i].iov_base) : 0;
                if (seq & WARMUP_FLAG) { warmups++; continue; }
                if (!received) t_first = t;
                t_last = t;
                received++;
                bytes += len;
                if (len < 8) continue;
                if (!with_seq) lowest = highest = seq;
                else if (seq > highest) highest = seq;
                else { reordered++; if (seq < lowest) lowest = seq; }
                with_seq++;
            }
            if (echo) {
                for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
                int done = 0;
                while (done < n) {
                    int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
                    if (r < 0) {
                        if (errno == EINTR) continue;
                        echo_errors++;
                        done++;   /* drop this echo, go on with the rest */
                        continue;
                    }
                    done += r;
                }
            }
            if (n < RECV_BATCH || now_ns() >= t_end) break;
        }
    }
    uint64_t span = with_seq ? highest - lowest + 1 : 0;
    uint64_t lost = span > with_seq ? span - with_seq : 0;
    double active = (double)(t_last - t_first) / 1e9;
    double pps = received >= 2 && active > 0 ? (double)received / active : 0;
    if (echo_errors) fprintf(stderr, "udpblast: sink: %llu echoes could not be sent\n", (unsigned long long)echo_errors);
    printf("{\"received\":%llu,\"bytes\":%llu,\"lost\":%llu,\"reordered\":%llu,\"pps\":%.1f,\"warmup\":%llu}\n",
           (unsigned long long)received, (unsigned long long)bytes, (unsigned long long)lost,
           (unsigned long long)reordered, pps, (unsigned long long)warmups);
    fflush(stdout);
    close(fd);
    free(bufs);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) { fputs(usage_text, stderr); return 2; }
    if (!strcmp(argv[1], "send")) return do_send(argc, argv);
    if (!strcmp(argv[1], "sink")) return do_sink(argc, argv);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { fputs(usage_text, stdout); return 0; }
    fprintf(stderr, "udpblast: unknown mode %s\n%s", argv[1], usage_text);
    return 2;
}
