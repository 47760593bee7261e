/* A small compiled load generator for UDP echo: F flows (each a socket of
 * its own on its own ephemeral source port, so the kernel's 4-tuple hash
 * spreads them over a reuseport group) keep up to W datagrams each in flight
 * to 127.0.0.1:PORT for D seconds, sending and receiving in batches with
 * sendmmsg/recvmmsg. Every datagram carries its flow and a sequence number;
 * an echo counts once, when it answers a datagram still outstanding. UDP may
 * drop: a datagram unanswered after 200 ms counts as lost and frees its place
 * in the window, so a drop never stalls a flow.
 * Prints echoed datagrams per second, then sent/received/lost/stale counts.
 * Build: cc -O2 -o udp-load udp-load.c
 * Run:   udp-load PORT [FLOWS=64] [SECONDS=5] [PAYLOAD=64] [WINDOW=16] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Sequence numbers remembered per flow; seq % RING is a datagram's slot. */
#define RING 4096
/* Datagrams per sendmmsg/recvmmsg. */
#define BATCH 64
#define LOST_AFTER_NS 200000000LL
#define SCAN_EVERY_NS 10000000LL
/* The datagram's header: sequence number, then flow index. */
#define HEADER 12

#define MAX_FLOWS 1024
#define MAX_WINDOW 1024
#define MAX_SECONDS 600.0
#define MAX_PAYLOAD 8192

struct slot {
  uint64_t seq;
  int64_t sent_ns;
  int outstanding;
};

struct flow {
  int fd;
  uint64_t next;   /* sequence number of the next datagram to send */
  uint64_t oldest; /* no datagram before it is outstanding */
  int outstanding;
  struct slot *slots;
};

static int payload = 64, window = 16;
static long long sent, received, lost, stale, errors;
static int64_t end_ns;

static unsigned char send_data[BATCH][MAX_PAYLOAD];
static struct iovec send_iov[BATCH];
static struct mmsghdr send_msgs[BATCH];
static unsigned char recv_data[BATCH][MAX_PAYLOAD + 1];
static struct iovec recv_iov[BATCH];
static struct mmsghdr recv_msgs[BATCH];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int transient(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == EINTR;
}

/* ECONNREFUSED and the like come back on a connected socket after an ICMP
 * error: counted, then the flow carries on (its datagrams expire as lost). */
static void note_error(const char *what, int error) {
  if (errors++ < 5) fprintf(stderr, "%s: %s\n", what, strerror(error));
}

/* Counts datagrams outstanding for longer than LOST_AFTER_NS as lost. */
static void expire(struct flow *f, int64_t t) {
  while (f->oldest < f->next) {
    struct slot *s = &f->slots[f->oldest % RING];
    if (s->seq == f->oldest && s->outstanding) {
      if (t - s->sent_ns < LOST_AFTER_NS) return;
      s->outstanding = 0;
      f->outstanding--;
      lost++;
    }
    f->oldest++;
  }
}

/* Sends until the flow's window is full (never past the ring's memory). */
static void fill(struct flow *f, int index, int64_t t) {
  if (t >= end_ns) return;
  for (;;) {
    int n = window - f->outstanding;
    uint64_t room = RING - (f->next - f->oldest);
    if ((uint64_t)n > room) n = (int)room;
    if (n > BATCH) n = BATCH;
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      uint64_t seq = f->next + i;
      uint32_t flow = (uint32_t)index;
      memcpy(send_data[i], &seq, sizeof seq);
      memcpy(send_data[i] + sizeof seq, &flow, sizeof flow);
    }
    int r = sendmmsg(f->fd, send_msgs, n, MSG_DONTWAIT);
    if (r < 0) {
      if (!transient(errno)) note_error("sendmmsg", errno);
      return;
    }
    for (int i = 0; i < r; i++) {
      struct slot *s = &f->slots[(f->next + i) % RING];
      s->seq = f->next + i;
      s->sent_ns = t;
      s->outstanding = 1;
    }
    f->next += r;
    f->outstanding += r;
    sent += r;
    if (r < n) return;
  }
}

/* Reads every echo waiting on the flow's socket. */
static void drain(struct flow *f, int index, int64_t t) {
  for (;;) {
    for (int i = 0; i < BATCH; i++) recv_msgs[i].msg_hdr.msg_flags = 0;
    int r = recvmmsg(f->fd, recv_msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (!transient(errno)) note_error("recvmmsg", errno);
      return;
    }
    for (int i = 0; i < r; i++) {
      uint64_t seq;
      uint32_t flow;
      memcpy(&seq, recv_data[i], sizeof seq);
      memcpy(&flow, recv_data[i] + sizeof seq, sizeof flow);
      struct slot *s = &f->slots[seq % RING];
      if ((int)recv_msgs[i].msg_len != payload || flow != (uint32_t)index || s->seq != seq || !s->outstanding) {
        stale++;
        continue;
      }
      s->outstanding = 0;
      f->outstanding--;
      if (t < end_ns) received++;
    }
    if (r < BATCH) return;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [FLOWS] [SECONDS] [PAYLOAD] [WINDOW]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int count = argc > 2 ? atoi(argv[2]) : 64;
  double seconds = argc > 3 ? atof(argv[3]) : 5;
  payload = argc > 4 ? atoi(argv[4]) : 64;
  window = argc > 5 ? atoi(argv[5]) : 16;
  if (port < 1 || port > 65535 || count < 1 || count > MAX_FLOWS || !(seconds > 0 && seconds <= MAX_SECONDS) ||
      payload < HEADER || payload > MAX_PAYLOAD || window < 1 || window > MAX_WINDOW) {
    fprintf(stderr, "out of range: port 1-65535, flows 1-%d, seconds up to %.0f, payload %d-%d, window 1-%d\n",
            MAX_FLOWS, MAX_SECONDS, HEADER, MAX_PAYLOAD, MAX_WINDOW);
    return 2;
  }
  for (int i = 0; i < BATCH; i++) {
    memset(send_data[i], 'x', sizeof send_data[i]);
    send_iov[i] = (struct iovec){.iov_base = send_data[i], .iov_len = (size_t)payload};
    send_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &send_iov[i], .msg_iovlen = 1};
    /* One byte more than expected, so a longer echo shows as the wrong length. */
    recv_iov[i] = (struct iovec){.iov_base = recv_data[i], .iov_len = (size_t)payload + 1};
    recv_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &recv_iov[i], .msg_iovlen = 1};
  }

  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = 0};
  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  int epoll = epoll_create1(0);
  struct flow *flows = calloc(count, sizeof *flows);
  if (epoll < 0 || flows == NULL) {
    perror("setup");
    return 1;
  }
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Connected: the socket only takes datagrams from the server's address,
     * and sendmmsg needs no address per message. */
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
      perror("socket");
      return 1;
    }
    flows[i].fd = fd;
    flows[i].slots = calloc(RING, sizeof(struct slot));
    if (flows[i].slots == NULL) {
      perror("calloc");
      return 1;
    }
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }

  int64_t start = now_ns();
  end_ns = start + (int64_t)(seconds * 1e9);
  int64_t next_scan = start + SCAN_EVERY_NS;
  for (int i = 0; i < count; i++) fill(&flows[i], i, start);
  struct epoll_event events[256];
  int64_t t;
  while ((t = now_ns()) < end_ns) {
    int wait_ms = (int)((next_scan - t) / 1000000);
    if (wait_ms < 0) wait_ms = 0;
    int ready = epoll_wait(epoll, events, 256, wait_ms);
    if (ready < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    t = now_ns();
    for (int e = 0; e < ready; e++) {
      int i = (int)events[e].data.u32;
      drain(&flows[i], i, t);
      fill(&flows[i], i, t);
    }
    if (t >= next_scan) {
      for (int i = 0; i < count; i++) {
        expire(&flows[i], t);
        fill(&flows[i], i, t);
      }
      next_scan = t + SCAN_EVERY_NS;
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  long long outstanding = 0;
  for (int i = 0; i < count; i++) outstanding += flows[i].outstanding;
  printf("Datagrams/sec: %.2f\n", received / elapsed);
  printf("flows %d, window %d, payload %d bytes, %.2f s\n", count, window, payload, elapsed);
  printf("sent %lld, received %lld, lost %lld, stale %lld, outstanding at the end %lld, errors %lld\n", sent, received,
         lost, stale, outstanding, errors);
  for (int i = 0; i < count; i++) close(flows[i].fd);
  return received > 0 ? 0 : 1;
}
