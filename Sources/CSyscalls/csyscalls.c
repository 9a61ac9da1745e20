#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include "csyscalls.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

long plainmode_splice(int fd_in, int fd_out, size_t length, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, length, flags);
}

int plainmode_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

int plainmode_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

_Static_assert(sizeof(struct plainmode_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct plainmode_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int plainmode_sendmmsg(int fd, struct plainmode_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}

int plainmode_recvmmsg(int fd, struct plainmode_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}

int plainmode_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int plainmode_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

int plainmode_bytes_available(int fd) {
    int available = 0;
    return ioctl(fd, FIONREAD, &available) == 0 ? available : -1;
}

int plainmode_enter_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET);
}

_Static_assert(CMSG_SPACE(sizeof(unsigned short)) == PLAINMODE_UDP_SEGMENT_SPACE, "UDP_SEGMENT control size");

size_t plainmode_write_udp_segment(void *control, unsigned short size) {
    memset(control, 0, PLAINMODE_UDP_SEGMENT_SPACE);
    struct cmsghdr *header = control;
    header->cmsg_level = SOL_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(unsigned short));
    memcpy(CMSG_DATA(header), &size, sizeof size);
    return PLAINMODE_UDP_SEGMENT_SPACE;
}
