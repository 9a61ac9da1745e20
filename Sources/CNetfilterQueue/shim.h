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

/// SOL_NETLINK and NETLINK_NO_ENOBUFS (linux/netlink.h values; glibc's headers lack SOL_NETLINK).
#define PLAINMODE_SOL_NETLINK 270
#define PLAINMODE_NETLINK_NO_ENOBUFS 5

/// One queued packet as read from an NFQNL_MSG_PACKET message. `payload` points into the receive
/// buffer and is valid until the next receive.
struct plainmode_nfq_packet {
    uint32_t id;
    uint16_t hw_protocol;   /* host order */
    uint8_t hook;
    uint8_t has_payload;
    uint32_t skb_info;      /* NFQA_SKB_* flags, host order */
    uint32_t cap_len;       /* original length when the copy was truncated, else payload_len */
    const uint8_t *payload;
    uint32_t payload_len;
    uint16_t queue;
};

/// Decodes one NFQNL_MSG_PACKET message; returns 0, or -1 when it is another message type or
/// lacks the packet header attribute.
static inline int plainmode_nfq_read_packet(const struct nlmsghdr *nlh, struct plainmode_nfq_packet *out) {
    if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET || (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE) return -1;
    struct nlattr *attr[NFQA_MAX + 1] = {0};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL) return -1;
    if (mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(struct nfqnl_msg_packet_hdr)) return -1;
    const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
    out->id = ntohl(ph->packet_id);
    out->hw_protocol = ntohs(ph->hw_protocol);
    out->hook = ph->hook;
    out->queue = ntohs(nfg->res_id);
    out->skb_info = attr[NFQA_SKB_INFO] ? ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO])) : 0;
    if (attr[NFQA_PAYLOAD]) {
        out->has_payload = 1;
        out->payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
        out->payload_len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    } else {
        out->has_payload = 0;
        out->payload = NULL;
        out->payload_len = 0;
    }
    out->cap_len = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : out->payload_len;
    return 0;
}

/// Writes "bind this socket to queue `queue`" (with an ACK request) at `buf`; returns its length.
static inline uint32_t plainmode_nfq_put_bind(char *buf, uint16_t queue, uint32_t seq) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    return nlh->nlmsg_len;
}

/// Writes the queue parameters: copy whole packets up to `copy_range`, the queue length, and the
/// NFQA_CFG_F_* `flags` (all of `mask` set to `flags`), with an ACK request.
static inline uint32_t plainmode_nfq_put_params(char *buf, uint16_t queue, uint32_t seq, uint32_t copy_range,
                                                uint32_t max_length, uint32_t mask, uint32_t flags) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, max_length);
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    return nlh->nlmsg_len;
}

/// Writes a verdict for one packet at `buf`; returns its length.
static inline uint32_t plainmode_nfq_put_verdict(char *buf, uint16_t queue, uint32_t id, uint32_t verdict) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
    return nlh->nlmsg_len;
}

/// Writes an accept verdict for one packet that carries the packet's new bytes (NFQA_PAYLOAD); the
/// kernel copies them over the packet and drops its checksum state. Returns the message's length.
static inline uint32_t plainmode_nfq_put_verdict_payload(char *buf, uint16_t queue, uint32_t id, uint32_t verdict,
                                                         const void *payload, uint32_t length) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
    nfq_nlmsg_verdict_put_pkt(nlh, payload, length);
    return nlh->nlmsg_len;
}

/// Writes an accept verdict for one packet that also sets its firewall mark (NFQA_MARK replaces
/// the packet's mark), so a later rule can act on it. Returns the message's length.
static inline uint32_t plainmode_nfq_put_verdict_mark(char *buf, uint16_t queue, uint32_t id, uint32_t verdict,
                                                      uint32_t mark) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
    nfq_nlmsg_verdict_put_mark(nlh, mark);
    return nlh->nlmsg_len;
}

/// Writes one verdict for every packet of the queue with an id up to `id`; returns its length.
static inline uint32_t plainmode_nfq_put_batch_verdict(char *buf, uint16_t queue, uint32_t id, uint32_t verdict) {
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
    return nlh->nlmsg_len;
}

/// The error of an NLMSG_ERROR message (0 for an ACK, else a positive errno); -1 for any other message.
static inline int plainmode_nlmsg_error(const struct nlmsghdr *nlh, uint32_t *seq) {
    if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr)) return -1;
    const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
    *seq = nlh->nlmsg_seq;
    return -err->error;
}

#endif
