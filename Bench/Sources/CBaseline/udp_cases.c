// Benchmark loop for the UDP frame decoder; the callback sums datagram lengths.
#include "cbaseline.h"

static void deliver_sum(void *context, const uint8_t *datagram, size_t length) {
    (void)datagram;
    *(int64_t *)context += (int64_t)length;
}

long cb_run_udp_decode(const uint8_t *stream, size_t count, size_t read_size, long iterations) {
    cb_udp_decoder decoder;
    cb_udp_decoder_init(&decoder, CB_UDP_LARGEST_IPV4_DATAGRAM);
    long failures = 0;
    for (long i = 0; i < iterations; i++) {
        int64_t total = 0;
        for (size_t offset = 0; offset < count; offset += read_size) {
            size_t n = count - offset < read_size ? count - offset : read_size;
            if (cb_udp_decode(&decoder, stream + offset, n, deliver_sum, &total) != 0) { failures++; break; }
        }
        bench_sink(&total, sizeof total);
    }
    cb_udp_decoder_destroy(&decoder);
    return failures;
}
