/* A small compiled load generator for raw TCP echo: C connections, each
 * sending a 64-byte message and waiting for all 64 bytes back before the
 * next, for D seconds. Prints the round trips completed and their rate,
 * in wrk's words ("N requests in Ts", "Requests/sec: R"), so one parser
 * reads both and the server's CPU time can be divided by the count.
 * Build: cc -O2 -o echo-load echo-load.c     Run: echo-load PORT [C] [D] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [CONNECTIONS] [SECONDS]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int count = argc > 2 ? atoi(argv[2]) : 50;
  double seconds = argc > 3 ? atof(argv[3]) : 5;
  char message[MESSAGE];
  memset(message, 'x', sizeof message);
  int epoll = epoll_create1(0);
  int *received = calloc(count, sizeof(int));
  int *fds = calloc(count, sizeof(int));
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
      perror("connect");
      return 1;
    }
    fds[i] = fd;
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    if (write(fd, message, MESSAGE) != MESSAGE) return 1;
  }
  long trips = 0;
  double start = now(), end = start + seconds;
  struct epoll_event events[256];
  char buffer[4096];
  while (now() < end) {
    int ready = epoll_wait(epoll, events, 256, 100);
    for (int e = 0; e < ready; e++) {
      int i = events[e].data.u32;
      ssize_t n = read(fds[i], buffer, sizeof buffer);
      if (n <= 0) {
        fprintf(stderr, "connection %d: %s\n", i, n == 0 ? "closed" : strerror(errno));
        return 1;
      }
      received[i] += n;
      while (received[i] >= MESSAGE) {
        received[i] -= MESSAGE;
        trips++;
        if (write(fds[i], message, MESSAGE) != MESSAGE) return 1;
      }
    }
  }
  double elapsed = now() - start;
  printf("%ld requests in %.2fs\n", trips, elapsed);
  printf("Requests/sec: %.2f\n", trips / elapsed);
  return 0;
}
