// Linux calls and constants that Swift's Glibc module hides behind _GNU_SOURCE. The wrappers are
// compiled in csyscalls.c with _GNU_SOURCE, so this header never changes glibc's own types.
#ifndef PLAINMODE_CSYSCALLS_H
#define PLAINMODE_CSYSCALLS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <pthread.h>

long plainmode_splice(int fd_in, int fd_out, size_t length, unsigned int flags);
int plainmode_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int plainmode_pipe2(int fds[2], int flags);
int plainmode_set_pipe_size(int fd, int size);
int plainmode_bytes_available(int fd);
int plainmode_set_thread_name(pthread_t thread, const char *name);
/// The layout of glibc's `struct mmsghdr` (hidden behind _GNU_SOURCE); csyscalls.c checks it.
struct plainmode_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
/// sendmmsg(2): the number of messages sent, or -1 with errno for the first one tried.
int plainmode_sendmmsg(int fd, struct plainmode_mmsghdr *messages, unsigned int count, int flags);
/// recvmmsg(2) without a timeout: the number of messages received, or -1 with errno.
int plainmode_recvmmsg(int fd, struct plainmode_mmsghdr *messages, unsigned int count, int flags);
/// Room one UDP_SEGMENT control message takes (CMSG_SPACE of a 16-bit size).
#define PLAINMODE_UDP_SEGMENT_SPACE 24u
/// Writes a UDP_SEGMENT control message (UDP GSO: the kernel cuts the send into datagrams of
/// `size` bytes, the last one may be shorter) into `control`; returns its length.
size_t plainmode_write_udp_segment(void *control, unsigned short size);
/// setns(fd, CLONE_NEWNET): moves the calling thread (only) into the network namespace `fd`.
int plainmode_enter_network_namespace(int fd);

#define PLAINMODE_SPLICE_F_MOVE 1u
#define PLAINMODE_SPLICE_F_NONBLOCK 2u
#define PLAINMODE_EPOLLIN 0x001u
#define PLAINMODE_EPOLLOUT 0x004u
#define PLAINMODE_EPOLLERR 0x008u
#define PLAINMODE_EPOLLHUP 0x010u
#define PLAINMODE_EPOLLRDHUP 0x2000u
#define PLAINMODE_EPOLLEXCLUSIVE (1u << 28)
#define PLAINMODE_EPOLLET (1u << 31)
#define PLAINMODE_IPPROTO_MPTCP 262
#define PLAINMODE_TCP_IS_MPTCP 43
#define PLAINMODE_TCP_INFO 11
#define PLAINMODE_TCPI_OPT_SYN_DATA 0x20
#define PLAINMODE_TCP_FASTOPEN 23
#define PLAINMODE_IP_PMTUDISC_DO 2
#define PLAINMODE_IPV6_PMTUDISC_DO 2
#define PLAINMODE_TCP_FASTOPEN_NO_COOKIE 34
#define PLAINMODE_IP_TRANSPARENT 19
#define PLAINMODE_IPV6_TRANSPARENT 75
#define PLAINMODE_MSG_FASTOPEN 0x20000000
#define PLAINMODE_SOCK_NONBLOCK 04000
#define PLAINMODE_SOCK_CLOEXEC 02000000
#define PLAINMODE_CAP_NET_ADMIN 12

#endif
