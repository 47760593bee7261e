/**
 * The neutral libc symbol table. Each runtime binding (`node.ts` with koffi,
 * `bun.ts` with bun:ffi, `deno.ts` with Deno.dlopen) translates these
 * entries into its own FFI declarations, so the three can never disagree
 * about a signature. The C prototype is written beside each entry.
 *
 * Argument kinds:
 * - `i32`/`u32`: C int / unsigned int (socklen_t, uid_t).
 * - `buf`: a pointer into memory owned by JavaScript, passed as a
 *   Uint8Array (or null). Every binding hands the memory itself to C, never
 *   a copy, so out-parameters work.
 * - `usize`/`isize`: size_t / ssize_t.
 */
export type CType = "i32" | "u32" | "buf" | "usize" | "isize";

/** One C function. */
export interface SymbolSpec {
  readonly params: readonly CType[];
  readonly result: CType;
  /** The function is variadic after this many fixed parameters. */
  readonly variadicAfter?: number;
  /** Missing on some platforms (the binding leaves the Sys method undefined). */
  readonly optional?: boolean;
}

export const symbols: Readonly<Record<string, SymbolSpec>> = {
  // int socket(int domain, int type, int protocol)
  socket: { params: ["i32", "i32", "i32"], result: "i32" },
  // int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
  setsockopt: { params: ["i32", "i32", "i32", "buf", "u32"], result: "i32" },
  // int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
  getsockopt: { params: ["i32", "i32", "i32", "buf", "buf"], result: "i32" },
  // int bind(int fd, const struct sockaddr *addr, socklen_t len)
  bind: { params: ["i32", "buf", "u32"], result: "i32" },
  // int connect(int fd, const struct sockaddr *addr, socklen_t len)
  connect: { params: ["i32", "buf", "u32"], result: "i32" },
  // int listen(int fd, int backlog)
  listen: { params: ["i32", "i32"], result: "i32" },
  // int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
  accept4: { params: ["i32", "buf", "buf", "i32"], result: "i32", optional: true },
  // int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
  getsockname: { params: ["i32", "buf", "buf"], result: "i32" },
  // int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
  getpeername: { params: ["i32", "buf", "buf"], result: "i32" },
  // int shutdown(int fd, int how)
  shutdown: { params: ["i32", "i32"], result: "i32" },
  // int close(int fd)
  close: { params: ["i32"], result: "i32" },
  // int fcntl(int fd, int cmd, ... /* int arg */)
  fcntl: { params: ["i32", "i32", "i32"], result: "i32", variadicAfter: 2 },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout)
  poll: { params: ["buf", "usize", "i32"], result: "i32" },
  // uid_t geteuid(void)
  geteuid: { params: [], result: "u32" },
  // pid_t getppid(void)
  getppid: { params: [], result: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { params: ["i32", "i32"], result: "i32" },
  // int raise(int sig): to the calling thread; the runtime's handler takes it as any SIGTERM
  raise: { params: ["i32"], result: "i32" },
  // int prctl(int option, unsigned long arg2, ...): Linux
  prctl: { params: ["i32", "usize"], result: "i32", variadicAfter: 1, optional: true },
  // int open(const char *path, int flags, ... /* mode_t mode */): called without O_CREAT only
  open: { params: ["buf", "i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count)
  read: { params: ["i32", "buf", "usize"], result: "isize" },
  // int pidfd_open(pid_t pid, unsigned int flags): Linux 5.3, glibc 2.36
  pidfd_open: { params: ["i32", "u32"], result: "i32", optional: true },
  // int pidfd_getfd(int pidfd, int targetfd, unsigned int flags): Linux 5.6, glibc 2.36; needs ptrace rights over the target
  pidfd_getfd: { params: ["i32", "i32", "u32"], result: "i32", optional: true },
  // ssize_t getdents64(int fd, void *dirp, size_t count): glibc 2.30+ and musl
  getdents64: { params: ["i32", "buf", "usize"], result: "isize", optional: true },
  // ssize_t readlink(const char *path, char *buf, size_t size)
  readlink: { params: ["buf", "buf", "usize"], result: "isize" },
  // ssize_t write(int fd, const void *buf, size_t count)
  write: { params: ["i32", "buf", "usize"], result: "isize" },
  // int getrlimit(int resource, struct rlimit *rlim)
  getrlimit: { params: ["i32", "buf"], result: "i32" },
  // int eventfd(unsigned int initval, int flags): Linux only
  eventfd: { params: ["u32", "i32"], result: "i32", optional: true },
  // ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
  recvfrom: { params: ["i32", "buf", "usize", "i32", "buf", "buf"], result: "isize" },
  // ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
  sendto: { params: ["i32", "buf", "usize", "i32", "buf", "u32"], result: "isize" },
  // int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout): Linux, FreeBSD
  recvmmsg: { params: ["i32", "buf", "u32", "i32", "buf"], result: "i32", optional: true },
  // int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags): Linux, FreeBSD
  sendmmsg: { params: ["i32", "buf", "u32", "i32"], result: "i32", optional: true },
  // int epoll_create1(int flags): Linux only
  epoll_create1: { params: ["i32"], result: "i32", optional: true },
  // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event): Linux only
  epoll_ctl: { params: ["i32", "i32", "i32", "buf"], result: "i32", optional: true },
  // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout): Linux only, called with timeout 0
  epoll_wait: { params: ["i32", "buf", "i32", "i32"], result: "i32", optional: true },
  // int sched_setaffinity(pid_t tid, size_t size, const cpu_set_t *mask): Linux; tid 0 is the calling thread
  sched_setaffinity: { params: ["i32", "usize", "buf"], result: "i32", optional: true },
  // int sched_getaffinity(pid_t tid, size_t size, cpu_set_t *mask): Linux; glibc returns 0, the kernel the bytes written
  sched_getaffinity: { params: ["i32", "usize", "buf"], result: "i32", optional: true },
  // void *memmove(void *dst, const void *src, size_t n): with n = 0, the address of a buffer (see Sys.addressOf)
  memmove: { params: ["buf", "buf", "usize"], result: "usize" },
};
