/* A burst of connections opened at once, the load that tells one accept
 * queue from several: N non-blocking connect()s issued back to back, then on
 * each connection one HTTP/1.1 request (Connection: close) and its answer
 * read to the server's close. A connection counts as ok when its answer
 * starts with "HTTP/1.1 200"; everything else (a refused or reset
 * connection, a close without an answer, no answer within the timeout) is a
 * failure, by kind. Latency is from the connect() call to the end of the
 * answer, so a SYN dropped on a full queue and sent again shows as ~1 s.
 * Answers are counted per worker, by their x-worker header. Prints one JSON line.
 * Build: cc -O2 -o burst burst.c     Run: burst PORT [N=10000] [TIMEOUT_S=10] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

enum { CONNECTING, SENT, DONE };

/* Enough of an answer to hold its status line and headers. */
#define HEAD 512
#define MAX_WORKERS 256

struct conn {
  int fd, state, got;
  double start;
  char head[HEAD];
};

static long worker_ids[MAX_WORKERS];
static int worker_counts[MAX_WORKERS], workers_seen;

/* Counts an answer for the worker its x-worker header names (headers as the benchmark's servers write them). */
static void count_worker(struct conn *c) {
  c->head[c->got < HEAD ? c->got : HEAD - 1] = 0;
  const char *at = strstr(c->head, "x-worker: ");
  if (at == NULL) return;
  long id = strtol(at + 10, NULL, 10);
  for (int i = 0; i < workers_seen; i++)
    if (worker_ids[i] == id) {
      worker_counts[i]++;
      return;
    }
  if (workers_seen < MAX_WORKERS) {
    worker_ids[workers_seen] = id;
    worker_counts[workers_seen++] = 1;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [N] [TIMEOUT_S]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int n = argc > 2 ? atoi(argv[2]) : 10000;
  double timeout = argc > 3 ? atof(argv[3]) : 10;
  /* One fd per connection and some to spare: raise the soft limit (and the hard one, as root may). */
  struct rlimit limit = {.rlim_cur = n + 64, .rlim_max = n + 64};
  struct rlimit old;
  getrlimit(RLIMIT_NOFILE, &old);
  if (old.rlim_max > limit.rlim_max) limit.rlim_max = old.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    perror("setrlimit");
    return 1;
  }
  static const char request[] = "GET / HTTP/1.1\r\nHost: burst\r\nConnection: close\r\n\r\n";
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  int epoll = epoll_create1(0);
  struct conn *conns = calloc(n, sizeof *conns);
  double *latency = calloc(n, sizeof *latency);
  int ok = 0, refused = 0, reset = 0, empty = 0, bad = 0, other = 0, timedout = 0, pending = n;
  double t0 = now();
  for (int i = 0; i < n; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    c->start = now();
    if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS)) {
      if (errno == ECONNREFUSED) refused++; else other++;
      if (c->fd >= 0) close(c->fd);
      c->state = DONE;
      pending--;
      continue;
    }
    struct epoll_event event = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = i};
    epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event);
  }
  struct epoll_event events[256];
  char buffer[4096];
  while (pending > 0 && now() - t0 < timeout) {
    int ready = epoll_wait(epoll, events, 256, 100);
    for (int e = 0; e < ready; e++) {
      struct conn *c = &conns[events[e].data.u32];
      if (c->state == DONE) continue;
      int error = 0;
      socklen_t length = sizeof error;
      if (c->state == CONNECTING) {
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error == 0 && (events[e].events & EPOLLOUT)) {
          if (send(c->fd, request, sizeof request - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof request - 1)) {
            c->state = SENT;
            struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = events[e].data.u32};
            epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &event);
            continue;
          }
          error = errno;
        }
        if (error == 0) continue;
      } else {
        ssize_t got;
        while ((got = recv(c->fd, buffer, sizeof buffer, 0)) > 0) {
          for (ssize_t k = 0; k < got && c->got < HEAD - 1; k++) c->head[c->got++] = buffer[k];
        }
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (got < 0) error = errno;
        if (error == 0) {
          if (c->got == 0) empty++;
          else if (c->got >= 12 && memcmp(c->head, "HTTP/1.1 200", 12) == 0) {
            latency[ok++] = now() - c->start;
            count_worker(c);
          }
          else bad++;
          close(c->fd);
          c->state = DONE;
          pending--;
          continue;
        }
      }
      if (error == ECONNREFUSED) refused++;
      else if (error == ECONNRESET) reset++;
      else other++;
      close(c->fd);
      c->state = DONE;
      pending--;
    }
  }
  double seconds = now() - t0;
  for (int i = 0; i < n; i++) if (conns[i].state != DONE) { close(conns[i].fd); timedout++; }
  qsort(latency, ok, sizeof *latency, by_value);
  double p50 = ok ? latency[(int)(ok * 0.5)] : 0, p99 = ok ? latency[(int)(ok * 0.99)] : 0;
  double p999 = ok ? latency[(int)(ok * 0.999)] : 0;
  printf("{\"requests\":%d,\"seconds\":%.4f,\"p50Us\":%.0f,\"p99Us\":%.0f,\"p999Us\":%.0f,"
         "\"errors\":{\"ECONNREFUSED\":%d,\"ECONNRESET\":%d,\"empty-response\":%d,\"bad-response\":%d,"
         "\"timeout\":%d,\"other\":%d},\"workers\":{",
         ok, seconds, p50 * 1e6, p99 * 1e6, p999 * 1e6, refused, reset, empty, bad, timedout, other);
  for (int i = 0; i < workers_seen; i++) printf("%s\"%ld\":%d", i ? "," : "", worker_ids[i], worker_counts[i]);
  printf("}}\n");
  return 0;
}
