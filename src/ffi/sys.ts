import type { PlatformTable } from "./_platform.ts";
import { symbols } from "./symbols.ts";

/**
 * libc as the rest of the library sees it, the same on every runtime.
 *
 * Every method returns what the C function returned, or `-errno` when it
 * failed (returned -1). The binding reads errno in the same breath as the
 * call, before anything else can run on the thread, so the value is the
 * call's own. Memory arguments are Uint8Arrays owned by the caller; they
 * must stay referenced until the call returns (they are, as arguments).
 */
export interface Sys {
  /** The constants and layouts of the platform this binding was loaded for. */
  readonly platform: PlatformTable;
  /** The dlopen name libc was found under. */
  readonly libcName: string;
  /** socket(2): a new fd of `domain` (AF_*), `type` (SOCK_*, with SOCK_NONBLOCK/SOCK_CLOEXEC or-ed in) and `protocol`. */
  socket(domain: number, type: number, protocol: number): number;
  /** setsockopt(2): sets option `name` at `level` from the first `length` bytes of `value` (an int option is 4 bytes). */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, length: number): number;
  /** getsockopt(2): reads option `name` at `level` into `value`; `length` is a socklen_t (4 bytes) holding the buffer size in, the value size out. */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, length: Uint8Array): number;
  /** bind(2): `addr` is an encoded sockaddr (layouts.sockaddrIn/sockaddrIn6) of `length` bytes. */
  bind(fd: number, addr: Uint8Array, length: number): number;
  /** listen(2): marks a bound stream socket as accepting, with an accept queue of `backlog`. */
  listen(fd: number, backlog: number): number;
  /** connect(2) to an encoded sockaddr; on a non-blocking socket EINPROGRESS until the handshake completes. */
  connect(fd: number, addr: Uint8Array, length: number): number;
  /**
   * accept4(2): the next connection's fd, with `flags` (SOCK_NONBLOCK,
   * SOCK_CLOEXEC) set on it; the peer's address into `addr` when given.
   * Undefined where libc has no accept4 (macOS).
   */
  accept4: ((fd: number, addr: Uint8Array | null, length: Uint8Array | null, flags: number) => number) | undefined;
  /** getsockname(2): the bound address into `addr`; `length` is a socklen_t holding its size in, the address size out. */
  getsockname(fd: number, addr: Uint8Array, length: Uint8Array): number;
  /** getpeername(2): the peer's address into `addr`; `length` as for getsockname. */
  getpeername(fd: number, addr: Uint8Array, length: Uint8Array): number;
  /** shutdown(2): closes one direction (`how` is SHUT_RD, SHUT_WR or SHUT_RDWR) and keeps the fd. */
  shutdown(fd: number, how: number): number;
  /** close(2): releases the fd; its number may be reused at once. */
  close(fd: number): number;
  /** fcntl with an int argument (F_GETFL ignores it). */
  fcntl(fd: number, cmd: number, arg: number): number;
  /**
   * poll(2) on the calling thread: `fds` holds `count` struct pollfd
   * (layouts.pollfd); `timeoutMs` -1 waits forever, 0 returns at once.
   * Blocks the JavaScript thread while it waits (see `pollOffThread`).
   */
  poll(fds: Uint8Array, count: number, timeoutMs: number): number;
  /** geteuid(2): the effective user id, the one the kernel checks when a socket joins a group. */
  geteuid(): number;
  /** getppid(2): the parent's pid (a subreaper's, or 1, once the parent has died). */
  getppid(): number;
  /** kill(2): `signal` to process `pid`; signal 0 only asks whether it exists. */
  kill(pid: number, signal: number): number;
  /** raise(3): `signal` to the calling thread. */
  raise(signal: number): number;
  /** prctl(2) with one argument; undefined where libc lacks it (anything but Linux). */
  prctl: ((option: number, arg: number) => number) | undefined;
  /** `path` is a NUL-terminated byte string. */
  open(path: Uint8Array, flags: number): number;
  /** read(2): up to `count` bytes into `buf`; 0 at end of file. */
  read(fd: number, buf: Uint8Array, count: number): number;
  /** readlink(2): the target of the NUL-terminated `path`, up to `count` bytes into `buf` (no NUL added). */
  readlink(path: Uint8Array, buf: Uint8Array, count: number): number;
  /** getdents64(2): directory entries (struct linux_dirent64) into `buf`; 0 at the end. Linux. */
  getdents64: ((fd: number, buf: Uint8Array, count: number) => number) | undefined;
  /** pidfd_open(2): an fd for process `pid`. Linux 5.3+. */
  pidfdOpen: ((pid: number, flags: number) => number) | undefined;
  /** pidfd_getfd(2): a copy of another process's fd, given ptrace rights over it. Linux 5.6+. */
  pidfdGetfd: ((pidfd: number, fd: number, flags: number) => number) | undefined;
  /** write(2): up to `count` bytes from `buf`; returns how many were written. */
  write(fd: number, buf: Uint8Array, count: number): number;
  /** `limit` is a struct rlimit (layouts.rlimit). */
  getrlimit(resource: number, limit: Uint8Array): number;
  /** Undefined where libc has no eventfd (anything but Linux). */
  eventfd: ((initial: number, flags: number) => number) | undefined;
  /** `from` and `fromLength` may be null. */
  recvfrom(
    fd: number,
    buf: Uint8Array,
    length: number,
    flags: number,
    from: Uint8Array | null,
    fromLength: Uint8Array | null,
  ): number;
  /**
   * sendto(2): one datagram of `length` bytes from `buf` to the encoded
   * sockaddr `to` (`toLength` bytes); on a connected stream socket, `to` is
   * null and it sends like send(2) with `flags`.
   */
  sendto(fd: number, buf: Uint8Array, length: number, flags: number, to: Uint8Array | null, toLength: number): number;
  /**
   * `vec` holds `count` struct mmsghdr (layouts.mmsghdr) whose pointers are
   * absolute addresses (see `addressOf`). Undefined where libc lacks it (macOS).
   */
  recvmmsg:
    | ((fd: number, vec: Uint8Array, count: number, flags: number, timeout: Uint8Array | null) => number)
    | undefined;
  /**
   * sendmmsg(2): sends up to `count` datagrams described by `vec` (struct
   * mmsghdr, as for recvmmsg) in one call; returns how many went out.
   * Undefined where libc lacks it (macOS).
   */
  sendmmsg: ((fd: number, vec: Uint8Array, count: number, flags: number) => number) | undefined;
  /** epoll_create1(2); undefined where there is no epoll (anything but Linux). */
  epollCreate1: ((flags: number) => number) | undefined;
  /** epoll_ctl(2): `event` is a struct epoll_event (layouts.epollEvent), or null for EPOLL_CTL_DEL. */
  epollCtl: ((epfd: number, op: number, fd: number, event: Uint8Array | null) => number) | undefined;
  /** epoll_wait(2) into `events` (`max` struct epoll_event); the library calls it with timeout 0 only. */
  epollWait: ((epfd: number, events: Uint8Array, max: number, timeoutMs: number) => number) | undefined;
  /**
   * sched_setaffinity(2): the CPUs thread `tid` may run on (0: the calling
   * thread only), from a cpu_set_t (layouts.cpuSet) of `size` bytes.
   * Undefined where libc lacks it (anything but Linux).
   */
  schedSetaffinity: ((tid: number, size: number, mask: Uint8Array) => number) | undefined;
  /** sched_getaffinity(2): thread `tid`'s CPUs (0: the calling thread) into `mask`, `size` bytes. Linux. */
  schedGetaffinity: ((tid: number, size: number, mask: Uint8Array) => number) | undefined;
  /**
   * The address C sees for `buffer`'s first byte, for structs that point
   * into other memory (msghdr, iovec). Only meaningful for memory that never
   * moves: the view of an ArrayBuffer made with `new ArrayBuffer(n)` (its
   * store lives outside the garbage-collected heap), kept referenced for as
   * long as C may use the address.
   */
  addressOf(buffer: Uint8Array): number;
  /**
   * poll(2) run off the JavaScript thread, resolving with its result; -1
   * when it failed (errno belongs to the other thread and is not read).
   * `fds` must not be touched until the promise settles. Undefined where the
   * runtime has a better way to watch fds (Node: the libuv loop).
   */
  pollOffThread: ((fds: Uint8Array, count: number, timeoutMs: number) => Promise<number>) | undefined;
  /** Lets the process exit while an off-thread poll is pending (where the runtime can). */
  setPollRef?: (ref: boolean) => void;
}

/** The functions a binding produces, before errno handling: raw C results. */
export type RawFunctions = Record<string, ((...args: never[]) => number | bigint) | undefined>;

/**
 * Turns raw C functions into `Sys` methods that return `-errno` on failure.
 * `readErrno` must read the calling thread's errno without making a call
 * that could change it. `size` converts a size_t argument to what the
 * binding passes fastest (Deno: a BigInt, which keeps the call on V8's fast
 * path; a number there costs ~0.4 µs more per call under load).
 */
export function errnoReturning(
  platform: PlatformTable,
  libcName: string,
  raw: RawFunctions,
  readErrno: () => number,
  size: (n: number) => number | bigint = (n) => n,
): Sys {
  for (const [name, spec] of Object.entries(symbols)) {
    if (!spec.optional && raw[name] === undefined) throw new Error(`libc symbol ${name} is missing`);
  }
  const settle = (result: number | bigint): number => (result === -1 || result === -1n ? -readErrno() : Number(result));
  const c = raw as unknown as Record<RequiredSymbol, Raw>;
  const {
    accept4,
    eventfd,
    recvmmsg,
    sendmmsg,
    epoll_create1,
    epoll_ctl,
    epoll_wait,
    getdents64,
    pidfd_open,
    pidfd_getfd,
    sched_setaffinity,
    sched_getaffinity,
    prctl,
  } = raw as Record<string, Raw | undefined>;
  // One arrow per C function, each calling it from a call site of its own: the
  // runtimes make their fast FFI calls (V8's fast API calls on Deno) only from
  // call sites that always reach the same function. A shared wrapper with a
  // rest parameter cost Deno about 1.5 µs of CPU per request served.
  return {
    platform,
    libcName,
    socket: (domain, type, protocol) => settle(c.socket(domain, type, protocol)),
    setsockopt: (fd, level, name, value, length) => settle(c.setsockopt(fd, level, name, value, length)),
    getsockopt: (fd, level, name, value, length) => settle(c.getsockopt(fd, level, name, value, length)),
    bind: (fd, address, length) => settle(c.bind(fd, address, length)),
    listen: (fd, backlog) => settle(c.listen(fd, backlog)),
    connect: (fd, address, length) => settle(c.connect(fd, address, length)),
    accept4: accept4 && ((fd, address, length, flags) => settle(accept4(fd, address, length, flags))),
    getsockname: (fd, address, length) => settle(c.getsockname(fd, address, length)),
    getpeername: (fd, address, length) => settle(c.getpeername(fd, address, length)),
    shutdown: (fd, how) => settle(c.shutdown(fd, how)),
    close: (fd) => settle(c.close(fd)),
    fcntl: (fd, command, arg) => settle(c.fcntl(fd, command, arg)),
    poll: (fds, count, timeout) => settle(c.poll(fds, size(count), timeout)),
    geteuid: () => settle(c.geteuid()),
    getppid: () => settle(c.getppid()),
    kill: (pid, signal) => settle(c.kill(pid, signal)),
    raise: (signal) => settle(c.raise(signal)),
    prctl: prctl && ((option, arg) => settle(prctl(option, size(arg)))),
    open: (path, flags) => settle(c.open(path, flags)),
    read: (fd, buf, count) => settle(c.read(fd, buf, size(count))),
    readlink: (path, buf, count) => settle(c.readlink(path, buf, size(count))),
    getdents64: getdents64 && ((fd, buf, count) => settle(getdents64(fd, buf, size(count)))),
    pidfdOpen: pidfd_open && ((pid, flags) => settle(pidfd_open(pid, flags))),
    pidfdGetfd: pidfd_getfd && ((pidfd, fd, flags) => settle(pidfd_getfd(pidfd, fd, flags))),
    write: (fd, buf, count) => settle(c.write(fd, buf, size(count))),
    getrlimit: (resource, limit) => settle(c.getrlimit(resource, limit)),
    eventfd: eventfd && ((initial, flags) => settle(eventfd(initial, flags))),
    recvfrom: (fd, buf, length, flags, from, fromLength) =>
      settle(c.recvfrom(fd, buf, size(length), flags, from, fromLength)),
    sendto: (fd, buf, length, flags, to, toLength) => settle(c.sendto(fd, buf, size(length), flags, to, toLength)),
    recvmmsg: recvmmsg && ((fd, vec, count, flags, timeout) => settle(recvmmsg(fd, vec, count, flags, timeout))),
    sendmmsg: sendmmsg && ((fd, vec, count, flags) => settle(sendmmsg(fd, vec, count, flags))),
    epollCreate1: epoll_create1 && ((flags) => settle(epoll_create1(flags))),
    epollCtl: epoll_ctl && ((epfd, op, fd, event) => settle(epoll_ctl(epfd, op, fd, event))),
    epollWait: epoll_wait && ((epfd, events, max, timeout) => settle(epoll_wait(epfd, events, max, timeout))),
    schedSetaffinity: sched_setaffinity && ((tid, length, mask) => settle(sched_setaffinity(tid, size(length), mask))),
    schedGetaffinity: sched_getaffinity && ((tid, length, mask) => settle(sched_getaffinity(tid, size(length), mask))),
    addressOf: addressOf((buffer) => Number(c.memmove(buffer, buffer, size(0)))),
    pollOffThread: undefined,
  };
}

type Raw = (...args: unknown[]) => number | bigint;

/** The symbols every libc has (checked by name against the table before use). */
type RequiredSymbol =
  | "socket"
  | "setsockopt"
  | "getsockopt"
  | "bind"
  | "listen"
  | "connect"
  | "getsockname"
  | "getpeername"
  | "shutdown"
  | "close"
  | "fcntl"
  | "poll"
  | "geteuid"
  | "getppid"
  | "kill"
  | "raise"
  | "open"
  | "read"
  | "readlink"
  | "write"
  | "getrlimit"
  | "recvfrom"
  | "sendto"
  | "memmove";

/** memmove(buffer, buffer, 0) returns its first argument: the address the binding passed to C. */
function addressOf(memmove: (buffer: Uint8Array) => number): (buffer: Uint8Array) => number {
  return (buffer) => {
    const address = memmove(buffer);
    if (!Number.isSafeInteger(address) || address <= 0) throw new Error(`unusable buffer address ${address}`);
    return address;
  };
}

/** Tries each candidate name in turn; the error lists every attempt. */
export function openFirst<T>(names: readonly string[], open: (name: string) => T): { handle: T; name: string } {
  const failures: string[] = [];
  for (const name of names) {
    try {
      return { handle: open(name), name };
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`reuseport could not load libc (${failures.join("; ")})`);
}
