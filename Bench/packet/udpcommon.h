/* udpcommon.h - what the packet benchmarks' UDP tools share (included, static): the monotonic
 * clock, numeric address parsing for ADDR PORT and --bind, and the big-endian fields of the
 * datagram header (sequence number, send time), forced socket buffer sizes. */
#ifndef PLAINMODE_BENCH_UDPCOMMON_H
#define PLAINMODE_BENCH_UDPCOMMON_H

#include <arpa/inet.h>
#include <endian.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A numeric IPv4 or IPv6 address (scope ids allowed) and a port. */
static int resolve(const char *host, const char *port, struct sockaddr_storage *out, socklen_t *len) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    struct in_addr v4;
    if (!strchr(host, ':') && inet_pton(AF_INET, host, &v4) != 1) return -1;  /* no inet_aton forms */
    if (getaddrinfo(host, port, &hints, &res) || !res) return -1;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ADDR, ADDR:PORT (IPv4), V6ADDR, [V6ADDR] or [V6ADDR]:PORT. */
static int parse_bind(const char *text, struct sockaddr_storage *out, socklen_t *len) {
    char host[128];
    const char *port = "0";
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (size_t)(close - text - 1) >= sizeof host) return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = 0;
        if (close[1] == ':') port = close + 2;
        else if (close[1]) return -1;
    } else {
        const char *colon = strchr(text, ':');
        if (strlen(text) >= sizeof host) return -1;
        if (colon && !strchr(colon + 1, ':')) {   /* exactly one colon: IPv4:PORT */
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = 0;
            port = colon + 1;
        } else strcpy(host, text);
    }
    return resolve(host, port, out, len);
}

/* Socket buffer of `bytes`: the *FORCE option passes the sysctl cap with CAP_NET_ADMIN, the
 * plain one is the capped fallback. */
static inline void set_buffer(int fd, int force_option, int option, int bytes) {
    if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes))
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

static void put_be64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

static uint64_t get_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

#endif
