/*
 * nfq_accept - the minimal NFQUEUE consumer: accepts every packet, as cheaply as a consumer that
 * still copies whole packets can. It is the ceiling for any NFQUEUE consumer on this machine
 * (plainmode's SYN gate included): whatever it reaches, a consumer that also looks at packets
 * cannot beat. Linux, C11, libmnl + libnetfilter_queue (the nfq_nlmsg_* API, as
 * Sources/CNetfilterQueue/shim.h uses it).
 * Build: gcc -O2 -Wall -Wextra -pthread -o nfq_accept nfq_accept.c -lmnl -lnetfilter_queue
 *
 *   nfq_accept [-q N | -q FIRST:LAST] [--maxlen N] [--burst N] [--max-seconds S]
 *       Binds queue N (default 0), or every queue of FIRST..LAST with one thread per queue.
 *       Each queue: copy mode NFQNL_COPY_PACKET with range 0xffff (whole packets, like a real
 *       consumer), queue length --maxlen (default 4096), flags NFQA_CFG_F_FAIL_OPEN |
 *       NFQA_CFG_F_GSO; socket options NETLINK_NO_ENOBUFS and SO_RCVBUFFORCE 8 MiB (SO_RCVBUF
 *       when not permitted).
 *       Loop per queue: poll (100 ms), then recv(MSG_DONTWAIT) every readable message, at most
 *       --burst packets (default 256); read each packet's id with nfq_nlmsg_parse; then one
 *       NFQNL_MSG_VERDICT_BATCH (NF_ACCEPT, highest id of the burst) per burst.
 *       Prints "ready" on stdout once every queue is bound and configured. On SIGTERM/SIGINT (or
 *       after --max-seconds, default 3600; 0 = no limit) it sets the queue length to 0, so that
 *       FAIL_OPEN accepts new packets without queueing them, answers what is still queued (until
 *       50 ms of quiet, 2 s at most: closing the socket would make the kernel drop them), then
 *       prints one JSON line {"packets":n,"bursts":n,"enobufs":n} (sums over the queues) and
 *       exits 0. A queue that cannot be bound (EPERM: another process holds it, or no
 *       CAP_NET_ADMIN) is an error on stderr and exit status 1; bad options exit 2.
 *       Problems that do not stop it (verdict send errors, unexpected messages) go to stderr.
 *
 * Reading the numbers: with FAIL_OPEN a full queue (--maxlen) accepts packets without queueing
 * them, so under overload "packets" is below what was sent and a sink sees those packets
 * overtake the queued ones (reordering). /proc/net/netfilter/nfnetlink_queue (per queue: id,
 * portid, waiting, copy mode, range, queue_dropped, user_dropped, last id) shows the queue
 * side. Queued packets charge the sender's socket send buffer, which throttles a local sender.
 *
 * Example (inside a network namespace):
 *   iptables -t raw -A OUTPUT -p udp --dport 9999 -j NFQUEUE --queue-num 0 --queue-bypass
 *   ./nfq_accept -q 0
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

#define MAX_QUEUES 256
#define RECV_BUFFER (0xffff + 4096)   /* one whole GSO packet plus netlink and nfqueue headers */
#define RCVBUF_BYTES (8 << 20)

static volatile sig_atomic_t g_stop;
static void on_term(int s) { (void)s; g_stop = 1; }

static void fail(const char *msg) { fprintf(stderr, "nfq_accept: %s\n", msg); exit(2); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct queue {
    uint16_t num;
    struct mnl_socket *nl;
    int fd;
    uint32_t seq;
    char *buf;                 /* receive buffer, RECV_BUFFER bytes */
    char vbuf[256];            /* verdict message */
    int burst;
    double deadline;           /* 0: none */
    /* packets seen while waiting for a configuration ACK; accepted by the first batch */
    int have_pending;
    uint32_t pending_max;
    /* counters */
    long long packets, bursts, enobufs, verdict_errors, unexpected, recv_errors;
    char firsterr[160];
};

/* "a is after b" in the kernel's wrapping id order (nfq_id_after). */
static int id_after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

static void note_id(struct queue *q, uint32_t id) {
    if (!q->have_pending || id_after(id, q->pending_max)) q->pending_max = id;
    q->have_pending = 1;
}

/* Returns 0 and sets *id for an NFQNL_MSG_PACKET message, -1 for anything else. */
static int packet_id(const struct nlmsghdr *nlh, uint32_t *id) {
    if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE || (nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) return -1;
    struct nlattr *attr[NFQA_MAX + 1];
    memset(attr, 0, sizeof attr);
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) return -1;
    if (mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(struct nfqnl_msg_packet_hdr)) return -1;
    const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    *id = ntohl(ph->packet_id);
    return 0;
}

/* Sends one configuration message and waits (2 s at most) for its ACK. Returns 0 or an errno. */
static int request(struct queue *q, struct nlmsghdr *nlh) {
    if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) return errno;
    uint32_t want = nlh->nlmsg_seq;
    double deadline = now_s() + 2.0;
    while (now_s() < deadline) {
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        int r = poll(&p, 1, 200);
        if (r < 0 && errno != EINTR) return errno;
        if (r <= 0) continue;
        ssize_t n = recv(q->fd, q->buf, RECV_BUFFER, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (errno == ENOBUFS) { q->enobufs++; continue; }
            return errno;
        }
        int len = (int)n;
        for (const struct nlmsghdr *m = (const struct nlmsghdr *)q->buf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
            uint32_t id;
            if (packet_id(m, &id) == 0) { q->packets++; note_id(q, id); continue; }
            if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == want &&
                m->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                return -e->error;
            }
        }
    }
    return ETIMEDOUT;
}

static void open_queue(struct queue *q, uint32_t maxlen) {
    q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!q->nl) { fprintf(stderr, "nfq_accept: netlink socket: %s\n", strerror(errno)); exit(1); }
    if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        fprintf(stderr, "nfq_accept: netlink bind: %s\n", strerror(errno));
        exit(1);
    }
    q->fd = mnl_socket_get_fd(q->nl);
    q->buf = malloc(RECV_BUFFER);
    if (!q->buf) { fprintf(stderr, "nfq_accept: out of memory\n"); exit(1); }
    int one = 1;
    if (setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one))
        fprintf(stderr, "nfq_accept: queue %u: NETLINK_NO_ENOBUFS: %s (going on)\n", q->num, strerror(errno));
    /* SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; SO_RCVBUF is the capped fallback. */
    int size = RCVBUF_BYTES;
    if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) &&
        setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size))
        fprintf(stderr, "nfq_accept: queue %u: SO_RCVBUF: %s (going on)\n", q->num, strerror(errno));

    char cbuf[512];
    struct nlmsghdr *nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, q->num);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++q->seq;
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    int err = request(q, nlh);
    if (err == EPERM) {
        fprintf(stderr, "nfq_accept: cannot bind queue %u: %s (another process holds this queue, or this "
                        "process lacks CAP_NET_ADMIN in its network namespace)\n", q->num, strerror(err));
        exit(1);
    }
    if (err) { fprintf(stderr, "nfq_accept: cannot bind queue %u: %s\n", q->num, strerror(err)); exit(1); }

    /* Whole packets, the queue length, FAIL_OPEN and GSO: one message, as the Swift shim does. */
    nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, q->num);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++q->seq;
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
    uint32_t flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    err = request(q, nlh);
    if (err) {
        fprintf(stderr, "nfq_accept: queue %u: configure (copy packet 0xffff, maxlen %u, FAIL_OPEN|GSO): %s\n",
                q->num, maxlen, strerror(err));
        exit(1);
    }
}

/* One VERDICT_BATCH: accept every packet of the queue with an id up to pending_max. */
static void flush(struct queue *q) {
    if (!q->have_pending) return;
    struct nlmsghdr *nlh = nfq_nlmsg_put(q->vbuf, NFQNL_MSG_VERDICT_BATCH, q->num);
    nfq_nlmsg_verdict_put(nlh, (int)q->pending_max, NF_ACCEPT);
    for (;;) {
        if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) >= 0) break;
        if (errno == EINTR) continue;
        /* the packets stay queued; the next batch (a higher id) accepts them too */
        q->verdict_errors++;
        if (!q->firsterr[0]) snprintf(q->firsterr, sizeof q->firsterr, "verdict: %s", strerror(errno));
        return;
    }
    q->bursts++;
    q->have_pending = 0;
}

/* Reads every readable message (at most q->burst packets), then flushes one verdict. */
static void burst(struct queue *q) {
    int handled = 0;
    while (handled < q->burst) {
        ssize_t n = recv(q->fd, q->buf, RECV_BUFFER, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            if (errno == ENOBUFS) { q->enobufs++; continue; }   /* messages were lost; keep going */
            q->recv_errors++;
            if (!q->firsterr[0]) snprintf(q->firsterr, sizeof q->firsterr, "recv: %s", strerror(errno));
            break;
        }
        int len = (int)n;
        for (const struct nlmsghdr *m = (const struct nlmsghdr *)q->buf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
            uint32_t id;
            if (packet_id(m, &id) == 0) { handled++; q->packets++; note_id(q, id); }
            else if (m->nlmsg_type != NLMSG_DONE) q->unexpected++;
        }
    }
    flush(q);
}

/* Closing the socket destroys the queue instance, and the kernel drops every packet it still
 * holds. So first set the queue length to 0: with FAIL_OPEN every new packet is then accepted
 * without being queued. Then answer what is queued until the queue has been quiet for 50 ms
 * (2 s at most). No ACK is asked for: it would arrive among the packets. */
static void drain(struct queue *q) {
    char cbuf[256];
    struct nlmsghdr *nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, q->num);
    nlh->nlmsg_seq = ++q->seq;
    nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
    if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0 && !q->firsterr[0])
        snprintf(q->firsterr, sizeof q->firsterr, "queue length 0 at stop: %s", strerror(errno));
    double deadline = now_s() + 2.0;
    while (now_s() < deadline) {
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        burst(q);
    }
    flush(q);
}

static void *queue_thread(void *arg) {
    struct queue *q = arg;
    flush(q);   /* packets that arrived during configuration */
    while (!g_stop) {
        if (q->deadline > 0 && now_s() >= q->deadline) break;
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (!q->firsterr[0]) snprintf(q->firsterr, sizeof q->firsterr, "poll: %s", strerror(errno));
            break;
        }
        if (r > 0) burst(q);
    }
    drain(q);
    return NULL;
}

int main(int argc, char **argv) {
    long first = 0, last = 0, maxlen = 4096, burst_cap = 256;
    double max_seconds = 3600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-q") || !strcmp(a, "--queue")) {
            if (!v) fail("-q needs a value");
            i++;
            char *end;
            first = strtol(v, &end, 10);
            if (*end == ':') last = strtol(end + 1, &end, 10); else last = first;
            if (*end || end == v) fail("bad -q (N or FIRST:LAST)");
        } else if (!strcmp(a, "--maxlen")) {
            if (!v) fail("--maxlen needs a value");
            maxlen = atol(argv[++i]);
        } else if (!strcmp(a, "--burst")) {
            if (!v) fail("--burst needs a value");
            burst_cap = atol(argv[++i]);
        } else if (!strcmp(a, "--max-seconds")) {
            if (!v) fail("--max-seconds needs a value");
            max_seconds = atof(argv[++i]);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: nfq_accept [-q N | -q FIRST:LAST] [--maxlen N] [--burst N] [--max-seconds S]\n");
            return 0;
        } else {
            fprintf(stderr, "nfq_accept: unknown option %s\n"
                            "usage: nfq_accept [-q N | -q FIRST:LAST] [--maxlen N] [--burst N] [--max-seconds S]\n", a);
            return 2;
        }
    }
    if (first < 0 || last > 65535 || last < first) fail("queues must be 0..65535 with FIRST <= LAST");
    if (last - first + 1 > MAX_QUEUES) fail("at most 256 queues");
    if (maxlen < 1) fail("--maxlen must be at least 1");
    if (burst_cap < 1 || burst_cap > 65536) fail("--burst must be 1..65536");
    if (max_seconds < 0) fail("--max-seconds must be >= 0");

    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;   /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int nq = (int)(last - first + 1);
    struct queue *qs = calloc((size_t)nq, sizeof *qs);
    pthread_t *th = calloc((size_t)nq, sizeof *th);
    if (!qs || !th) fail("out of memory");
    double deadline = max_seconds > 0 ? now_s() + max_seconds : 0;
    for (int i = 0; i < nq; i++) {
        qs[i].num = (uint16_t)(first + i);
        qs[i].burst = (int)burst_cap;
        qs[i].deadline = deadline;
        open_queue(&qs[i], (uint32_t)maxlen);
    }
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < nq; i++)
        if (pthread_create(&th[i], NULL, queue_thread, &qs[i])) { perror("pthread_create"); return 1; }

    long long packets = 0, bursts = 0, enobufs = 0;
    for (int i = 0; i < nq; i++) {
        pthread_join(th[i], NULL);
        struct queue *q = &qs[i];
        packets += q->packets; bursts += q->bursts; enobufs += q->enobufs;
        if (q->verdict_errors || q->unexpected || q->recv_errors || q->firsterr[0])
            fprintf(stderr, "nfq_accept: queue %u: verdict_errors=%lld unexpected=%lld recv_errors=%lld%s%s\n",
                    q->num, q->verdict_errors, q->unexpected, q->recv_errors, q->firsterr[0] ? " first: " : "", q->firsterr);
        mnl_socket_close(q->nl);
        free(q->buf);
    }
    printf("{\"packets\":%lld,\"bursts\":%lld,\"enobufs\":%lld}\n", packets, bursts, enobufs);
    fflush(stdout);
    free(qs);
    free(th);
    return 0;
}
