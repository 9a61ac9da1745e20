// CNetfilterQueue owns the C surface of the packet plane: libmnl (netlink sockets and message
// building) and libnetfilter_queue's nfq_nlmsg_* helpers (the libmnl-based API, not the old
// nfq_handle API). Function-like macros that Swift cannot import get static inline wrappers here.
#ifndef PLAINMODE_CNETFILTERQUEUE_SHIM_H
#define PLAINMODE_CNETFILTERQUEUE_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/// MNL_SOCKET_BUFFER_SIZE is a function-like macro (it calls getpagesize()).
static inline size_t plainmode_mnl_socket_buffer_size(void) {
    return MNL_SOCKET_BUFFER_SIZE;
}

/// Size of the netlink header that precedes every nfqueue message.
static inline size_t plainmode_mnl_nlmsg_hdrlen(void) {
    return MNL_NLMSG_HDRLEN;
}

#endif
