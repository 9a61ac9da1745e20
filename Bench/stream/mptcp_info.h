/* MPTCP socket constants and struct mptcp_info (linux/mptcp.h, first fields), for the benchmark
 * tools that tell an MPTCP connection from one that fell back to TCP (streamload, ttfb). */
#ifndef PLAINMODE_BENCH_MPTCP_INFO_H
#define PLAINMODE_BENCH_MPTCP_INFO_H
#include <stdint.h>

#define IPPROTO_MPTCP_ 262
#define SOL_MPTCP_ 284
#define MPTCP_INFO_ 1
#define MPTCP_INFO_FLAG_FALLBACK_ 1u

struct mptcp_info_ {
    uint8_t subflows, add_addr_signal, add_addr_accepted, subflows_max;
    uint8_t add_addr_signal_max, add_addr_accepted_max;
    uint32_t flags, token;
    uint64_t write_seq, snd_una, rcv_nxt;
    uint8_t local_addr_used, local_addr_max, csum_enabled;
};

#endif
