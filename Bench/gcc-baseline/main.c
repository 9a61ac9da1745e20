// Cross-check driver: the same CBaseline sources compiled by gcc -O2 instead of the Swift
// toolchain's clang (which SwiftPM uses for the C target). run-wire-benchmarks.sh builds it, from Bench/, as
//   gcc -O2 -I Sources/CBaseline/include Sources/CBaseline/*.c gcc-baseline/main.c -o .build/wire-bench/gcc-baseline
// and uses it two ways:
//   gcc-baseline <case> <iterations>   one case, for callgrind instruction counts
//   gcc-baseline time <case>           ns/op: p50 over ~1 s of samples of 1000 operations each
#include "cbaseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint8_t syn[64], work[64], pm6[64], pm4[64], stream[CB_UDP_STREAM_BYTES];
static size_t syn_n, pm6_n, pm4_n;

static void setup(void) {
    const uint8_t *p;
    p = cb_input_syn(&syn_n); memcpy(syn, p, syn_n);
    p = cb_input_pm_ipv6(&pm6_n); memcpy(pm6, p, pm6_n);
    p = cb_input_pm_ipv4(&pm4_n); memcpy(pm4, p, pm4_n);
    cb_make_udp_stream(stream);
}

static long run(const char *name, long n) {
    if (!strcmp(name, "parse-ipv4-tcp")) return cb_run_parse(syn, syn_n, n);
    if (!strcmp(name, "checksum-rewrite")) return cb_run_rewrite(syn, work, syn_n, n);
    if (!strcmp(name, "parse+rewrite")) return cb_run_parse_rewrite(syn, work, syn_n, n);
    if (!strcmp(name, "pm-block-ipv6")) return cb_run_pm_parse(pm6, pm6_n, n);
    if (!strcmp(name, "pm-block-ipv4")) return cb_run_pm_parse(pm4, pm4_n, n);
    if (!strcmp(name, "udp-decode-32x100")) return cb_run_udp_decode(stream, sizeof stream, sizeof stream, n);
    if (!strcmp(name, "udp-decode-32x100-split1448")) return cb_run_udp_decode(stream, sizeof stream, CB_UDP_READ_SIZE, n);
    fprintf(stderr, "unknown case %s\n", name);
    exit(2);
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    setup();
    if (argc == 3 && !strcmp(argv[1], "time")) {
        enum { BATCH = 1000, MAX_SAMPLES = 1000000 };
        static double samples[MAX_SAMPLES];
        for (int i = 0; i < 10; i++) run(argv[2], BATCH);  // warm-up
        size_t count = 0;
        double start = now_ns();
        while (count < MAX_SAMPLES && now_ns() - start < 1e9) {
            double t0 = now_ns();
            if (run(argv[2], BATCH) != 0) { fprintf(stderr, "failed operations\n"); return 1; }
            samples[count++] = (now_ns() - t0) / BATCH;
        }
        qsort(samples, count, sizeof samples[0], compare);
        printf("%.3f\n", samples[count / 2]);
        return 0;
    }
    if (argc == 3) {
        long n = strtol(argv[2], NULL, 10);
        return run(argv[1], n) == 0 ? 0 : 1;
    }
    fprintf(stderr, "usage: %s <case> <iterations> | time <case>\n", argv[0]);
    return 2;
}
