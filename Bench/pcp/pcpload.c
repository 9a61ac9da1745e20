// pcpload - PCP MAP load for a PCP server (RFC 6887 s11): makes MAPPINGS mappings (internal ports
// BASE.., one nonce each), then renews them round robin with WINDOW requests in flight for
// SECONDS, and prints one JSON line: answered, per second, latency p50/p90/p99 (us), errors, lost.
// Renewals are what a server mostly hears (a client renews at 1/2 lifetime). Linux, C11.
//
//   pcpload SERVER_IPV4 CLIENT_IPV4 [MAPPINGS 64] [WINDOW 1] [SECONDS 5] [BASE 20000] [PROTO 17]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// RFC 6887 s7.1 header + s11.1 MAP data: 60 bytes.
static void build(uint8_t *m, uint32_t client, uint16_t internal_port, uint8_t proto, uint32_t lifetime) {
    memset(m, 0, 60);
    m[0] = 2; m[1] = 1;
    m[4] = lifetime >> 24; m[5] = lifetime >> 16; m[6] = lifetime >> 8; m[7] = lifetime;
    m[18] = 0xff; m[19] = 0xff; memcpy(m + 20, &client, 4);
    for (int i = 0; i < 12; i++) m[24 + i] = (uint8_t)(internal_port * 31 + i + 1);  // nonce per mapping
    m[36] = proto;
    m[40] = internal_port >> 8; m[41] = internal_port;
    m[54] = 0xff; m[55] = 0xff;  // suggested external address ::ffff:0.0.0.0
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: pcpload SERVER CLIENT [MAPPINGS] [WINDOW] [SECONDS] [BASE] [PROTO]\n"); return 2; }
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(5351)}, local = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1 || inet_pton(AF_INET, argv[2], &local.sin_addr) != 1) return 2;
    int mappings = argc > 3 ? atoi(argv[3]) : 64, window = argc > 4 ? atoi(argv[4]) : 1;
    double seconds = argc > 5 ? atof(argv[5]) : 5;
    int base = argc > 6 ? atoi(argv[6]) : 20000, proto = argc > 7 ? atoi(argv[7]) : 17;
    if (mappings < 1 || mappings > 4096 || window < 1 || window > mappings || seconds <= 0 || base < 1 || base + mappings > 65535) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (bind(s, (struct sockaddr *)&local, sizeof local) || connect(s, (struct sockaddr *)&server, sizeof server)) { perror("socket"); return 1; }
    uint8_t (*requests)[60] = calloc(mappings, 60);
    uint64_t *sent = calloc(mappings, sizeof *sent);
    size_t capacity = 1 << 24, count = 0;
    uint64_t *latency = malloc(capacity * sizeof *latency);
    for (int i = 0; i < mappings; i++) build(requests[i], local.sin_addr.s_addr, (uint16_t)(base + i), (uint8_t)proto, 3600);
    long errors = 0, lost = 0, created = 0;
    // Create every mapping, one at a time (answers awaited, 1 s each at most).
    for (int i = 0; i < mappings; i++) {
        send(s, requests[i], 60, 0);
        struct pollfd p = {.fd = s, .events = POLLIN};
        uint8_t r[1100];
        if (poll(&p, 1, 1000) == 1 && recv(s, r, sizeof r, 0) >= 60 && r[3] == 0) created++;
    }
    // Renew round robin with WINDOW in flight; an answer frees its slot; 1 s without one resends.
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    int next = 0, inflight = 0;
    char *busy = calloc(mappings, 1);
    while (now_ns() < end) {
        while (inflight < window) {
            int i = next; next = (next + 1) % mappings;
            if (busy[i]) continue;
            sent[i] = now_ns(); busy[i] = 1; inflight++;
            send(s, requests[i], 60, 0);
        }
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 50) == 1) {
            uint8_t r[1100];
            ssize_t n;
            while ((n = recv(s, r, sizeof r, MSG_DONTWAIT)) > 0) {
                if (n < 60) continue;
                int i = ((r[40] << 8) | r[41]) - base;
                if (i < 0 || i >= mappings || !busy[i]) continue;
                if (r[3] != 0) errors++;
                if (count < capacity) latency[count++] = now_ns() - sent[i];
                busy[i] = 0; inflight--;
            }
        }
        uint64_t t = now_ns();
        for (int i = 0; i < mappings; i++) if (busy[i] && t - sent[i] > 1000000000u) { lost++; busy[i] = 0; inflight--; }
    }
    double elapsed = (now_ns() - start) / 1e9;
    qsort(latency, count, sizeof *latency, compare);
#define PCT(q) (count ? latency[(size_t)((count - 1) * (q))] / 1000.0 : 0)
    printf("{\"created\":%ld,\"answered\":%zu,\"per_second\":%.0f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"errors\":%ld,\"lost\":%ld,\"window\":%d,\"mappings\":%d}\n",
           created, count, count / elapsed, PCT(0.5), PCT(0.9), PCT(0.99), errors, lost, window, mappings);
    return 0;
}
