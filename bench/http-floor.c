/* The C floor of bench/http.ts: the three workloads served by one thread on
 * one edge-triggered epoll set, with the same responder as bench/_http.ts
 * and the system calls the library's epoll engine makes on a connection
 * (less its EPOLL_CTL_DEL before close, which close does by itself). What
 * the kernel's side of a request costs at the least, so the JavaScript
 * servers' CPU per request can be read as a multiple of it.
 * Prints its port on the first line, like the runtimes' bench servers.
 * Build: cc -O2 -o http-floor http-floor.c     Run: http-floor keepalive|close|echo */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Per connection, as bench/_http.ts's READ_BUFFER_BYTES. */
#define READ_BYTES 4096
/* One read of READ_BYTES holds at most this many header blocks ("\r\n\r\n"). */
#define MAX_REQUESTS_PER_READ (READ_BYTES / 4)

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
static const char CLOSE_RESPONSE[] =
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nok";
#define RESPONSE_BYTES (sizeof RESPONSE - 1)

/* Pipelined requests get their answers in one send, as bench/_http.ts's
 * responses(n) gives; built once, so no answer copies anything. */
static char many[MAX_REQUESTS_PER_READ * RESPONSE_BYTES];

enum workload { KEEPALIVE, CLOSE, ECHO };
static enum workload workload;

struct conn {
  int fd;
  /* How much of "\r\n\r\n" the input ended in, across reads. */
  int matched;
  /* An event said input came since the last short read or EAGAIN. */
  bool readable;
  /* The peer's FIN was signalled: read to the end however short the reads. */
  bool peer_closing;
  /* "close": the answer is queued or sent; after it, FIN, then read to the client's. */
  bool answered;
  bool write_shut;
  /* Output the kernel did not take yet (a copy); no reads until it is sent,
   * as the JavaScript servers await each write before the next read. */
  char *pending;
  size_t pending_bytes;
  char buffer[READ_BYTES];
};

/* bench/_http.ts's RequestCounter, byte for byte. */
static int count_requests(struct conn *c, const char *data, size_t n) {
  int requests = 0;
  for (size_t i = 0; i < n; i++) {
    char expected = c->matched % 2 == 0 ? '\r' : '\n';
    if (data[i] == expected) {
      if (++c->matched == 4) {
        requests++;
        c->matched = 0;
      }
    } else {
      c->matched = data[i] == '\r' ? 1 : 0;
    }
  }
  return requests;
}

static void drop(struct conn *c) {
  /* close() also takes the fd out of the epoll set: it is its only reference. */
  close(c->fd);
  free(c->pending);
  free(c);
}

/* Sends what the kernel takes, keeping a copy of the rest. False: the connection failed. */
static bool send_or_keep(struct conn *c, const char *data, size_t n) {
  while (n > 0) {
    /* MSG_NOSIGNAL: a peer that reset gives EPIPE here, not a SIGPIPE that ends the server. */
    ssize_t sent = send(c->fd, data, n, MSG_NOSIGNAL);
    if (sent >= 0) {
      data += sent;
      n -= (size_t)sent;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->pending = malloc(n);
      if (c->pending == NULL) return false;
      memcpy(c->pending, data, n);
      c->pending_bytes = n;
      return true;
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

/* "close" half-closes once its answer is out, like the servers' closeWrite(). */
static void shut_if_answered(struct conn *c) {
  if (workload == CLOSE && c->answered && !c->write_shut && c->pending == NULL) {
    shutdown(c->fd, SHUT_WR);
    c->write_shut = true;
  }
}

/* Sends kept output; false when the connection failed. */
static bool flush(struct conn *c) {
  char *pending = c->pending;
  size_t n = c->pending_bytes;
  c->pending = NULL;
  c->pending_bytes = 0;
  bool ok = send_or_keep(c, pending, n);
  free(pending);
  if (ok) shut_if_answered(c);
  return ok;
}

/* Answers one chunk of input; false when the connection failed. */
static bool answer(struct conn *c, size_t n) {
  if (workload == ECHO) return send_or_keep(c, c->buffer, n);
  /* After the answer to "close", what the client sends is only read, towards its FIN. */
  if (c->answered) return true;
  int requests = count_requests(c, c->buffer, n);
  if (requests == 0) return true;
  bool ok;
  if (workload == CLOSE) {
    c->answered = true;
    ok = send_or_keep(c, CLOSE_RESPONSE, sizeof CLOSE_RESPONSE - 1);
  } else {
    ok = send_or_keep(c, many, (size_t)requests * RESPONSE_BYTES);
  }
  if (ok) shut_if_answered(c);
  return ok;
}

/* All there is to do for a connection after an event: send kept output,
 * then read and answer until the socket is empty, output is stuck, or the
 * connection is over (then it is dropped and must not be touched). */
static void serve(struct conn *c) {
  if (c->pending != NULL) {
    if (!flush(c)) {
      drop(c);
      return;
    }
    if (c->pending != NULL) return;
  }
  while (c->readable) {
    ssize_t n = read(c->fd, c->buffer, READ_BYTES);
    if (n > 0) {
      /* As the library's epoll engine: a short read emptied the socket, and
       * input arriving later raises a new edge, so the EAGAIN read a "read
       * until EAGAIN" loop would make costs a system call and says nothing.
       * Not so once the FIN was signalled: its edge has passed. */
      if (n < READ_BYTES && !c->peer_closing) c->readable = false;
      if (!answer(c, (size_t)n)) {
        drop(c);
        return;
      }
      if (c->pending != NULL) return;
    } else if (n == 0) {
      drop(c);
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->readable = false;
    } else if (errno != EINTR) {
      drop(c);
      return;
    }
  }
}

static void accept_all(int listener, int epoll) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      /* EAGAIN: the queue is empty, and the next connection raises a new edge. */
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept4");
      return;
    }
    /* Every bench server sets TCP_NODELAY on its connections (setNoDelay(true)). */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->fd = fd;
    /* Registered once for both directions, as the library's epoll engine does,
     * so stuck output needs no epoll_ctl to be woken. Input already queued
     * raises an event when the fd is added. */
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
      perror("epoll_ctl");
      drop(c);
    }
  }
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  if (strcmp(name, "keepalive") == 0) workload = KEEPALIVE;
  else if (strcmp(name, "close") == 0) workload = CLOSE;
  else if (strcmp(name, "echo") == 0) workload = ECHO;
  else {
    fprintf(stderr, "usage: %s keepalive|close|echo\n", argv[0]);
    return 2;
  }
  for (size_t i = 0; i < MAX_REQUESTS_PER_READ; i++) memcpy(many + i * RESPONSE_BYTES, RESPONSE, RESPONSE_BYTES);

  /* The socket listen() opens: SO_REUSEPORT on 127.0.0.1, an ephemeral port. */
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, SOMAXCONN) != 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
    perror("listener");
    return 1;
  }
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  /* The listener's entry carries no connection: a NULL pointer marks it. */
  struct epoll_event event = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
  if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event) != 0) {
    perror("epoll");
    return 1;
  }
  printf("%d\n", ntohs(address.sin_port));
  fflush(stdout);

  struct epoll_event events[256];
  for (;;) {
    int ready = epoll_wait(epoll, events, 256, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int e = 0; e < ready; e++) {
      struct conn *c = events[e].data.ptr;
      if (c == NULL) {
        accept_all(listener, epoll);
        continue;
      }
      uint32_t bits = events[e].events;
      if (bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true;
      if (bits & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->peer_closing = true;
      serve(c);
    }
  }
}
