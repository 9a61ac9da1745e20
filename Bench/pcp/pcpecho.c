// pcpecho - the floor for a PCP server on this box: answers every datagram on ADDR:5351 with the
// same bytes, R bit set and result SUCCESS, doing no PCP work. pcpload against it measures the
// client, the kernel and the sockets alone; run-pcp-benchmarks.sh sets plainmode beside it.
//
//   pcpecho ADDR SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(5351)};
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(s, (struct sockaddr *)&address, sizeof address)) return 1;
    time_t end = time(NULL) + atoi(argv[2]);
    uint8_t m[1100];
    while (time(NULL) < end) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 200) != 1) continue;
        struct sockaddr_storage from;
        socklen_t length = sizeof from;
        ssize_t n = recvfrom(s, m, sizeof m, 0, (struct sockaddr *)&from, &length);
        if (n < 4) continue;
        m[1] |= 0x80;
        m[3] = 0;
        sendto(s, m, (size_t)n, 0, (struct sockaddr *)&from, length);
    }
    return 0;
}
