/*
 * streamload - load generator and server for Bench/run-stream-benchmarks.sh (Linux, C11, no deps).
 * Build: cc -O2 -pthread -o streamload streamload.c
 *
 *   streamload server --listen ADDR --sink-port P --rr-port P --hold-port P [--req N] [--resp N]
 *                     [--max-seconds S]
 *       One epoll thread, three listeners (plain TCP):
 *         sink: read to EOF, answer the byte count (8 bytes, big-endian), close.
 *         rr:   read --req bytes, write --resp bytes, close (the server closes first, as HTTP/1.0).
 *         hold: echo what arrives, keep the connection open until the peer closes.
 *       SIGUSR1 prints a STATS line; SIGTERM/SIGINT print it and exit.
 *
 *   streamload bulk --to ADDR:PORT [--pm ADDR:PORT] --bytes N [--streams S] [--buf B] [--timeout S]
 *       S MPTCP connections at once (threads), each: connect, the PM block if --pm, N/S bytes in
 *       write()s of B bytes, shutdown(SHUT_WR), read the server's 8-byte count, read to EOF.
 *       Prints one JSON line (client bytes, server-counted bytes, seconds, Gbit/s, subflows).
 *
 *   streamload rr --to ADDR:PORT [--pm ADDR:PORT] --seconds T [--concurrency C] [--threads N]
 *                 [--req N] [--resp N] [--timeout S]
 *       Keeps C connections in flight for T seconds: connect (MPTCP), send PM block + request,
 *       read the response to EOF, close, start the next. Prints one JSON line: connections
 *       completed inside the T seconds, per second, failures, latency p50/p99.
 *
 *   streamload hold --to ADDR:PORT [--pm ADDR:PORT] --count N [--concurrency C]
 *                   [--hold-seconds S] [--timeout S]
 *       Opens N connections (C connecting at once); each sends the PM block + 1 byte and counts as
 *       established when the server's echo comes back (the whole path is up). Prints
 *       {"established":...} when done, then holds them until SIGTERM or --hold-seconds, closes
 *       them and prints {"closed_by_peer":...}.
 *
 * --pm ADDR:PORT sends the plain-mode block (draft-boucadair-mptcp-plain-mode-08 4.1): IPv4
 * destination option 1E 0A E0 06 + address + port, then EOL 00, after the MPTCP handshake (the
 * way `plainmode cpe` does by default), in the same write as the first data.
 * --tcp uses plain TCP instead of MPTCP (debugging only).
 * Every mode is bounded in time (--timeout, --max-seconds, --hold-seconds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mptcp_info.h"

static void die(const char *what) { perror(what); exit(1); }
static void fail(const char *msg) { fprintf(stderr, "streamload: %s\n", msg); exit(2); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_endpoint(const char *text, struct sockaddr_in *out) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1) return -1;
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535) return -1;
    out->sin_port = htons((uint16_t)port);
    return 0;
}

static long long parse_size(const char *text) {
    char *end;
    double v = strtod(text, &end);
    switch (*end) {
        case 'k': case 'K': v *= 1024; break;
        case 'm': case 'M': v *= 1024 * 1024; break;
        case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
        default: break;
    }
    return (long long)v;
}

/* ---- options ---- */
struct options {
    struct sockaddr_in to, listen_addr;
    int have_to, have_pm, tcp;
    uint8_t block[11];
    size_t block_len;
    long long bytes;
    int streams, concurrency, threads, count;
    size_t buf;
    double seconds, timeout, hold_seconds, max_seconds;
    int req, resp;
    int sink_port, rr_port, hold_port;
};

static void parse_options(int argc, char **argv, struct options *o) {
    memset(o, 0, sizeof *o);
    o->streams = 1; o->concurrency = 64; o->threads = 1; o->count = 1000;
    o->buf = 1 << 20; o->seconds = 5; o->timeout = 60; o->hold_seconds = 120; o->max_seconds = 1800;
    o->req = 64; o->resp = 64;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) fail("option needs a value"); i++; } while (0)
        if (!strcmp(a, "--to")) { NEEDV(); if (parse_endpoint(v, &o->to)) fail("bad --to"); o->have_to = 1; }
        else if (!strcmp(a, "--pm")) {
            NEEDV();
            struct sockaddr_in d;
            if (parse_endpoint(v, &d)) fail("bad --pm");
            uint8_t *b = o->block;
            b[0] = 0x1E; b[1] = 0x0A; b[2] = 0xE0; b[3] = 0x06; /* kind 30, len 10, subtype E, D=0, TCP */
            memcpy(b + 4, &d.sin_addr, 4);
            memcpy(b + 8, &d.sin_port, 2);
            b[10] = 0x00; /* EOL */
            o->block_len = 11;
            o->have_pm = 1;
        }
        else if (!strcmp(a, "--listen")) { NEEDV(); memset(&o->listen_addr, 0, sizeof o->listen_addr);
            o->listen_addr.sin_family = AF_INET;
            if (inet_pton(AF_INET, v, &o->listen_addr.sin_addr) != 1) fail("bad --listen"); }
        else if (!strcmp(a, "--tcp")) o->tcp = 1;
        else if (!strcmp(a, "--bytes")) { NEEDV(); o->bytes = parse_size(v); }
        else if (!strcmp(a, "--buf")) { NEEDV(); o->buf = (size_t)parse_size(v); }
        else if (!strcmp(a, "--streams")) { NEEDV(); o->streams = atoi(v); }
        else if (!strcmp(a, "--concurrency")) { NEEDV(); o->concurrency = atoi(v); }
        else if (!strcmp(a, "--threads")) { NEEDV(); o->threads = atoi(v); }
        else if (!strcmp(a, "--count")) { NEEDV(); o->count = atoi(v); }
        else if (!strcmp(a, "--seconds")) { NEEDV(); o->seconds = atof(v); }
        else if (!strcmp(a, "--timeout")) { NEEDV(); o->timeout = atof(v); }
        else if (!strcmp(a, "--hold-seconds")) { NEEDV(); o->hold_seconds = atof(v); }
        else if (!strcmp(a, "--max-seconds")) { NEEDV(); o->max_seconds = atof(v); }
        else if (!strcmp(a, "--req")) { NEEDV(); o->req = atoi(v); }
        else if (!strcmp(a, "--resp")) { NEEDV(); o->resp = atoi(v); }
        else if (!strcmp(a, "--sink-port")) { NEEDV(); o->sink_port = atoi(v); }
        else if (!strcmp(a, "--rr-port")) { NEEDV(); o->rr_port = atoi(v); }
        else if (!strcmp(a, "--hold-port")) { NEEDV(); o->hold_port = atoi(v); }
        else { fprintf(stderr, "streamload: unknown option %s\n", a); exit(2); }
#undef NEEDV
    }
    if (o->streams < 1 || o->streams > 64) fail("--streams must be 1..64");
    if (o->concurrency < 1 || o->concurrency > 100000) fail("--concurrency must be 1..100000");
    if (o->threads < 1 || o->threads > 64) fail("--threads must be 1..64");
    if (o->req < 1 || o->req > 65536 || o->resp < 1 || o->resp > 65536) fail("--req/--resp must be 1..65536");
    if (o->buf < 4096 || o->buf > (64u << 20)) fail("--buf must be 4k..64m");
}

static void raise_nofile(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) { r.rlim_cur = r.rlim_max; setrlimit(RLIMIT_NOFILE, &r); }
}

static int client_socket(const struct options *o, int nonblocking) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
                    o->tcp ? IPPROTO_TCP : IPPROTO_MPTCP_);
    return fd;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        c += w; n -= (size_t)w;
    }
    return 0;
}

/* ================= server ================= */
enum kind { K_NONE, L_SINK, L_RR, L_HOLD, C_SINK, C_RR, C_HOLD };
struct sconn { uint8_t kind; uint8_t echoed; long long bytes; };
static volatile sig_atomic_t g_usr1, g_term;
static void on_usr1(int s) { (void)s; g_usr1 = 1; }
static void on_term(int s) { (void)s; g_term = 1; }

static int listener(struct sockaddr_in addr, int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr)) die("bind");
    if (listen(fd, 4096)) die("listen");
    return fd;
}

static int server(const struct options *o) {
    if (!o->sink_port || !o->rr_port || !o->hold_port) fail("server needs --sink-port, --rr-port, --hold-port");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1; sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_term; sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    size_t cap = 1 << 16;
    struct sconn *conns = calloc(cap, sizeof *conns);
    if (!conns) die("calloc");
    int lports[3] = {o->sink_port, o->rr_port, o->hold_port};
    enum kind lkinds[3] = {L_SINK, L_RR, L_HOLD};
    for (int i = 0; i < 3; i++) {
        int fd = listener(o->listen_addr, lports[i]);
        conns[fd].kind = (uint8_t)lkinds[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    static char buf[1 << 20];
    char *resp = malloc((size_t)o->resp);
    memset(resp, 'r', (size_t)o->resp);
    long long sink_bytes = 0, sink_conns = 0, rr_done = 0, rr_short = 0, hold_open = 0, hold_ready = 0,
              hold_total = 0, accepted = 0;
    printf("READY\n");
    fflush(stdout);
    double deadline = now_s() + o->max_seconds;
    struct epoll_event evs[256];
    while (!g_term && now_s() < deadline) {
        if (g_usr1) {
            g_usr1 = 0;
            printf("STATS sink_bytes=%lld sink_conns=%lld rr_done=%lld rr_short=%lld hold_open=%lld hold_ready=%lld hold_total=%lld accepted=%lld\n",
                   sink_bytes, sink_conns, rr_done, rr_short, hold_open, hold_ready, hold_total, accepted);
            fflush(stdout);
        }
        int n = epoll_wait(ep, evs, 256, 100);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            struct sconn *c = &conns[fd];
            if (c->kind == L_SINK || c->kind == L_RR || c->kind == L_HOLD) {
                for (int k = 0; k < 64; k++) {
                    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    if ((size_t)cfd >= cap) {
                        size_t ncap = cap;
                        while ((size_t)cfd >= ncap) ncap *= 2;
                        struct sconn *nc = realloc(conns, ncap * sizeof *conns);
                        if (!nc) die("realloc");
                        memset(nc + cap, 0, (ncap - cap) * sizeof *nc);
                        conns = nc; cap = ncap;
                    }
                    c = &conns[fd]; /* conns may have moved */
                    accepted++;
                    struct sconn *cc = &conns[cfd];
                    cc->kind = c->kind == L_SINK ? C_SINK : c->kind == L_RR ? C_RR : C_HOLD;
                    cc->bytes = 0; cc->echoed = 0;
                    if (cc->kind == C_HOLD) { hold_open++; hold_total++; }
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            int closeit = 0;
            for (int k = 0; k < 16; k++) {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r < 0) { if (errno == EINTR) continue; if (errno != EAGAIN) closeit = 1; break; }
                if (r == 0) {
                    if (c->kind == C_SINK) {
                        uint64_t be = 0;
                        for (int b = 0; b < 8; b++) be |= (uint64_t)((c->bytes >> (8 * (7 - b))) & 0xff) << (8 * b);
                        (void)!write(fd, &be, 8);
                        sink_conns++;
                    } else if (c->kind == C_RR && c->bytes < o->req) rr_short++;
                    closeit = 1;
                    break;
                }
                c->bytes += r;
                if (c->kind == C_SINK) sink_bytes += r;
                else if (c->kind == C_RR) {
                    if (c->bytes >= o->req) {
                        (void)!write(fd, resp, (size_t)o->resp);
                        rr_done++;
                        closeit = 1;
                        break;
                    }
                } else if (c->kind == C_HOLD) {
                    (void)!write(fd, buf, (size_t)r);
                    if (!c->echoed) { c->echoed = 1; hold_ready++; }
                }
                if ((size_t)r < sizeof buf && c->kind != C_SINK) break;
            }
            if (closeit) {
                if (c->kind == C_HOLD) { hold_open--; if (c->echoed) hold_ready--; }
                c->kind = K_NONE;
                close(fd);
            }
        }
    }
    printf("STATS sink_bytes=%lld sink_conns=%lld rr_done=%lld rr_short=%lld hold_open=%lld hold_ready=%lld hold_total=%lld accepted=%lld\n",
           sink_bytes, sink_conns, rr_done, rr_short, hold_open, hold_ready, hold_total, accepted);
    fflush(stdout);
    return 0;
}

/* ================= bulk ================= */
struct bulk_stream {
    const struct options *o;
    long long bytes;
    long long sent, server_count;
    double t_end;
    int subflows, fallback, error;
    char errtext[128];
};

static void *bulk_thread(void *arg) {
    struct bulk_stream *s = arg;
    const struct options *o = s->o;
    char *buf = malloc(o->buf);
    if (!buf) { s->error = 1; snprintf(s->errtext, sizeof s->errtext, "malloc"); return NULL; }
    for (size_t i = 0; i < o->buf; i++) buf[i] = (char)(i * 131 + 7);
    int fd = client_socket(o, 0);
    if (fd < 0) { s->error = 1; snprintf(s->errtext, sizeof s->errtext, "socket: %s", strerror(errno)); free(buf); return NULL; }
    struct timeval tv = {.tv_sec = (time_t)o->timeout, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&o->to, sizeof o->to)) {
        s->error = 1; snprintf(s->errtext, sizeof s->errtext, "connect: %s", strerror(errno)); goto out;
    }
    if (o->have_pm && write_all(fd, o->block, o->block_len)) {
        s->error = 1; snprintf(s->errtext, sizeof s->errtext, "write pm: %s", strerror(errno)); goto out;
    }
    while (s->sent < s->bytes) {
        size_t n = (size_t)(s->bytes - s->sent < (long long)o->buf ? s->bytes - s->sent : (long long)o->buf);
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            s->error = 1; snprintf(s->errtext, sizeof s->errtext, "write: %s", strerror(errno)); goto out;
        }
        s->sent += w;
    }
    if (!o->tcp) {
        struct mptcp_info_ mi;
        socklen_t len = sizeof mi;
        memset(&mi, 0, sizeof mi);
        if (getsockopt(fd, SOL_MPTCP_, MPTCP_INFO_, &mi, &len) == 0) {
            s->subflows = mi.subflows;
            s->fallback = (mi.flags & MPTCP_INFO_FLAG_FALLBACK_) ? 1 : 0;
        } else s->fallback = 1;
    }
    shutdown(fd, SHUT_WR);
    unsigned char cnt[8];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, got < 8 ? cnt + got : (unsigned char *)buf, got < 8 ? 8 - got : o->buf);
        if (r < 0) {
            if (errno == EINTR) continue;
            s->error = 1; snprintf(s->errtext, sizeof s->errtext, "read: %s", strerror(errno)); goto out;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    if (got >= 8) {
        s->server_count = 0;
        for (int b = 0; b < 8; b++) s->server_count = (s->server_count << 8) | cnt[b];
    } else { s->error = 1; snprintf(s->errtext, sizeof s->errtext, "no byte count from the server"); }
out:
    s->t_end = now_s();
    close(fd);
    free(buf);
    return NULL;
}

static int bulk(const struct options *o) {
    if (!o->have_to || o->bytes <= 0) fail("bulk needs --to and --bytes");
    signal(SIGPIPE, SIG_IGN);
    struct bulk_stream st[64];
    pthread_t th[64];
    memset(st, 0, sizeof st);
    double t0 = now_s();
    for (int i = 0; i < o->streams; i++) {
        st[i].o = o;
        st[i].bytes = o->bytes / o->streams + (i == 0 ? o->bytes % o->streams : 0);
        if (pthread_create(&th[i], NULL, bulk_thread, &st[i])) die("pthread_create");
    }
    long long sent = 0, server = 0;
    double t_end = t0;
    int errors = 0;
    char subflows[256] = "", firsterr[160] = "";
    int fallbacks = 0;
    for (int i = 0; i < o->streams; i++) {
        pthread_join(th[i], NULL);
        sent += st[i].sent;
        server += st[i].server_count;
        if (st[i].t_end > t_end) t_end = st[i].t_end;
        if (st[i].error) { errors++; if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "%s", st[i].errtext); }
        fallbacks += st[i].fallback;
        size_t l = strlen(subflows);
        snprintf(subflows + l, sizeof subflows - l, "%s%d", i ? "," : "", st[i].subflows);
    }
    double secs = t_end - t0;
    printf("{\"mode\":\"bulk\",\"streams\":%d,\"sent\":%lld,\"server_bytes\":%lld,\"seconds\":%.4f,"
           "\"gbit_s\":%.4f,\"subflows\":[%s],\"fallbacks\":%d,\"errors\":%d%s%s%s}\n",
           o->streams, sent, server, secs, secs > 0 ? (double)server * 8 / secs / 1e9 : 0.0, subflows,
           fallbacks, errors, firsterr[0] ? ",\"error\":\"" : "", firsterr, firsterr[0] ? "\"" : "");
    fflush(stdout);
    return errors || server != o->bytes ? 1 : 0;
}

/* ================= rr (connections per second) ================= */
#define HIST_BUCKETS 200000 /* 10 us each: up to 2 s */
struct rr_slot { int fd; int phase; int got; double t_start; };
struct rr_thread {
    const struct options *o;
    int concurrency;
    double t_start, t_stop;
    long long done_in_window, done_total, failed, started;
    long long connect_errors, short_reads;
    uint32_t *hist;
    char firsterr[128];
};

static int rr_start(struct rr_thread *t, int ep, struct rr_slot *s, int index) {
    const struct options *o = t->o;
    s->fd = client_socket(o, 1);
    s->got = 0;
    s->t_start = now_s();
    if (s->fd < 0) {
        t->failed++; t->connect_errors++;
        if (!t->firsterr[0]) snprintf(t->firsterr, sizeof t->firsterr, "socket: %s", strerror(errno));
        return -1;
    }
    t->started++;
    int r = connect(s->fd, (struct sockaddr *)&o->to, sizeof o->to);
    if (r < 0 && errno != EINPROGRESS) {
        t->failed++; t->connect_errors++;
        if (!t->firsterr[0]) snprintf(t->firsterr, sizeof t->firsterr, "connect: %s", strerror(errno));
        close(s->fd); s->fd = -1;
        return -1;
    }
    s->phase = 0;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)index};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    return 0;
}

static void *rr_thread_main(void *arg) {
    struct rr_thread *t = arg;
    const struct options *o = t->o;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct rr_slot *slots = calloc((size_t)t->concurrency, sizeof *slots);
    size_t reqlen = o->block_len + (size_t)o->req;
    char *req = malloc(reqlen);
    memcpy(req, o->block, o->block_len);
    memset(req + o->block_len, 'q', (size_t)o->req);
    char buf[65536];
    t->hist = calloc(HIST_BUCKETS, sizeof *t->hist);
    int active = 0;
    for (int i = 0; i < t->concurrency; i++) { slots[i].fd = -1; if (rr_start(t, ep, &slots[i], i) == 0) active++; }
    double hard_stop = t->t_stop + o->timeout;
    struct epoll_event evs[256];
    while (active > 0) {
        double now = now_s();
        if (now > hard_stop) break;
        int n = epoll_wait(ep, evs, 256, 50);
        if (n < 0) { if (errno == EINTR) continue; break; }
        now = now_s();
        for (int i = 0; i < n; i++) {
            int idx = (int)evs[i].data.u32;
            struct rr_slot *s = &slots[idx];
            if (s->fd < 0) continue;
            int finished = 0, ok = 0;
            if (s->phase == 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    t->connect_errors++;
                    if (!t->firsterr[0]) snprintf(t->firsterr, sizeof t->firsterr, "connect: %s", strerror(err));
                    finished = 1;
                } else {
                    ssize_t w = write(s->fd, req, reqlen);
                    if (w != (ssize_t)reqlen) {
                        if (!t->firsterr[0]) snprintf(t->firsterr, sizeof t->firsterr, "write: %s", w < 0 ? strerror(errno) : "short");
                        finished = 1;
                    } else {
                        s->phase = 1;
                        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
                        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                    }
                }
            } else {
                for (;;) {
                    ssize_t r = read(s->fd, buf, sizeof buf);
                    if (r > 0) { s->got += (int)r; continue; }
                    if (r == 0) {
                        finished = 1;
                        if (s->got >= o->resp) ok = 1; else t->short_reads++;
                    } else if (errno != EAGAIN && errno != EINTR) {
                        finished = 1;
                        if (!t->firsterr[0]) snprintf(t->firsterr, sizeof t->firsterr, "read: %s", strerror(errno));
                    }
                    break;
                }
            }
            if (finished) {
                close(s->fd);
                s->fd = -1;
                active--;
                if (ok) {
                    t->done_total++;
                    if (now <= t->t_stop) {
                        t->done_in_window++;
                        long b = (long)((now - s->t_start) * 1e5);
                        if (b >= HIST_BUCKETS) b = HIST_BUCKETS - 1;
                        if (b < 0) b = 0;
                        t->hist[b]++;
                    }
                } else t->failed++;
                if (now < t->t_stop) {
                    /* a failed start leaves the slot empty; bounded by the window */
                    for (int tries = 0; tries < 3 && now_s() < t->t_stop; tries++)
                        if (rr_start(t, ep, s, idx) == 0) { active++; break; }
                }
            }
        }
    }
    for (int i = 0; i < t->concurrency; i++) if (slots[i].fd >= 0) close(slots[i].fd);
    close(ep);
    free(slots);
    free(req);
    return NULL;
}

static double hist_pct(uint32_t *h, long long total, double p) {
    long long want = (long long)(p * (double)total), acc = 0;
    for (long i = 0; i < HIST_BUCKETS; i++) { acc += h[i]; if (acc > want) return (double)i * 0.01; }
    return (double)HIST_BUCKETS * 0.01;
}

static int rr(const struct options *o) {
    if (!o->have_to) fail("rr needs --to");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct rr_thread ts[64];
    pthread_t th[64];
    memset(ts, 0, sizeof ts);
    double t0 = now_s();
    for (int i = 0; i < o->threads; i++) {
        ts[i].o = o;
        ts[i].concurrency = o->concurrency / o->threads + (i < o->concurrency % o->threads ? 1 : 0);
        if (ts[i].concurrency < 1) ts[i].concurrency = 1;
        ts[i].t_start = t0;
        ts[i].t_stop = t0 + o->seconds;
        if (pthread_create(&th[i], NULL, rr_thread_main, &ts[i])) die("pthread_create");
    }
    long long done = 0, total = 0, failed = 0, started = 0, cerr = 0, shorts = 0;
    uint32_t *hist = calloc(HIST_BUCKETS, sizeof *hist);
    char firsterr[128] = "";
    for (int i = 0; i < o->threads; i++) {
        pthread_join(th[i], NULL);
        done += ts[i].done_in_window; total += ts[i].done_total; failed += ts[i].failed;
        started += ts[i].started; cerr += ts[i].connect_errors; shorts += ts[i].short_reads;
        for (long b = 0; b < HIST_BUCKETS; b++) hist[b] += ts[i].hist[b];
        if (!firsterr[0] && ts[i].firsterr[0]) snprintf(firsterr, sizeof firsterr, "%s", ts[i].firsterr);
    }
    double elapsed = now_s() - t0;
    printf("{\"mode\":\"rr\",\"window_s\":%.3f,\"completed_in_window\":%lld,\"conn_per_s\":%.1f,"
           "\"completed_total\":%lld,\"started\":%lld,\"failed\":%lld,\"connect_errors\":%lld,\"short_reads\":%lld,"
           "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"elapsed_s\":%.3f%s%s%s}\n",
           o->seconds, done, (double)done / o->seconds, total, started, failed, cerr, shorts,
           hist_pct(hist, done, 0.50), hist_pct(hist, done, 0.99), elapsed,
           firsterr[0] ? ",\"error\":\"" : "", firsterr, firsterr[0] ? "\"" : "");
    fflush(stdout);
    return 0;
}

/* ================= hold (idle connections) ================= */
static int hold(const struct options *o) {
    if (!o->have_to || o->count < 1) fail("hold needs --to and --count");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {0};
    sa.sa_handler = on_term; sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    int n = o->count;
    int *fds = malloc((size_t)n * sizeof *fds);
    uint8_t *phase = calloc((size_t)n, 1); /* 0 unused, 1 connecting, 2 waiting echo, 3 established, 4 dead */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    char msg[16];
    memcpy(msg, o->block, o->block_len);
    msg[o->block_len] = 'h';
    size_t msglen = o->block_len + 1;
    int next = 0, inflight = 0, established = 0, failed = 0, closed_by_peer = 0;
    char firsterr[128] = "";
    double t0 = now_s(), deadline = t0 + o->timeout;
    struct epoll_event evs[512];
    char buf[4096];
    while (!g_term && (next < n || inflight > 0) && now_s() < deadline) {
        while (next < n && inflight < o->concurrency) {
            int i = next++;
            fds[i] = client_socket(o, 1);
            if (fds[i] < 0) { failed++; phase[i] = 4; if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "socket: %s", strerror(errno)); continue; }
            if (connect(fds[i], (struct sockaddr *)&o->to, sizeof o->to) < 0 && errno != EINPROGRESS) {
                failed++; phase[i] = 4; close(fds[i]); fds[i] = -1;
                if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "connect: %s", strerror(errno));
                continue;
            }
            phase[i] = 1;
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
            inflight++;
        }
        int k = epoll_wait(ep, evs, 512, 50);
        if (k < 0) { if (errno == EINTR) continue; break; }
        for (int e = 0; e < k; e++) {
            int i = (int)evs[e].data.u32;
            int bad = 0;
            if (phase[i] == 1) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || write(fds[i], msg, msglen) != (ssize_t)msglen) {
                    bad = 1;
                    if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "connect/write: %s", strerror(err ? err : errno));
                } else {
                    phase[i] = 2;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
                }
            } else if (phase[i] == 2) {
                ssize_t r = read(fds[i], buf, sizeof buf);
                if (r > 0) { phase[i] = 3; established++; inflight--; }
                else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    bad = 1;
                    if (!firsterr[0]) snprintf(firsterr, sizeof firsterr, "read: %s", r == 0 ? "closed by peer" : strerror(errno));
                }
            } else if (phase[i] == 3) {
                ssize_t r = read(fds[i], buf, sizeof buf);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    closed_by_peer++; established--; phase[i] = 4;
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                    close(fds[i]); fds[i] = -1;
                }
            }
            if (bad) {
                failed++; inflight--; phase[i] = 4;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                close(fds[i]); fds[i] = -1;
            }
        }
    }
    printf("{\"mode\":\"hold\",\"requested\":%d,\"established\":%d,\"failed\":%d,\"open_seconds\":%.3f%s%s%s}\n",
           n, established, failed, now_s() - t0, firsterr[0] ? ",\"error\":\"" : "", firsterr, firsterr[0] ? "\"" : "");
    fflush(stdout);
    double hold_end = now_s() + o->hold_seconds;
    while (!g_term && now_s() < hold_end) {
        int k = epoll_wait(ep, evs, 512, 100);
        for (int e = 0; e < k; e++) {
            int i = (int)evs[e].data.u32;
            if (phase[i] != 3) continue;
            ssize_t r = read(fds[i], buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                closed_by_peer++; established--; phase[i] = 4;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                close(fds[i]); fds[i] = -1;
            }
        }
    }
    for (int i = 0; i < next; i++) if (phase[i] >= 1 && phase[i] <= 3 && fds[i] >= 0) close(fds[i]);
    printf("{\"mode\":\"hold-end\",\"still_established\":%d,\"closed_by_peer\":%d}\n", established, closed_by_peer);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: streamload server|bulk|rr|hold [options] (see the source header)\n"); return 2; }
    struct options o;
    parse_options(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "server")) return server(&o);
    if (!strcmp(argv[1], "bulk")) return bulk(&o);
    if (!strcmp(argv[1], "rr")) return rr(&o);
    if (!strcmp(argv[1], "hold")) return hold(&o);
    fprintf(stderr, "streamload: unknown mode %s\n", argv[1]);
    return 2;
}
