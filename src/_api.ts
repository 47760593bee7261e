import type { FdWatch } from "./ffi/readiness.ts";
import type { Sys } from "./ffi/sys.ts";
import type { RuntimeAdapter } from "./runtime/_adapter.ts";
import { listenDatagram as listenDatagramWith } from "./runtime/_datagram.ts";
import { listen as listenWith } from "./runtime/_listener.ts";
import { accept4 as accept4With } from "./socket/accept.ts";
import { openSocket as openSocketWith } from "./socket/open.ts";
import type {
  AcceptedSocket,
  DatagramOptions,
  DatagramSocket,
  Listener,
  ListenOptions,
  RawSocket,
  SocketOptions,
} from "./types.ts";

/** What every runtime entry exports as functions; the entries differ only in how they load libc. */
export interface Api {
  /**
   * Opens a socket in the address's SO_REUSEPORT group: socket, setsockopt
   * (SO_REUSEPORT, SO_REUSEADDR, IPV6_V6ONLY), bind and, for TCP, listen.
   * The fd is non-blocking and close-on-exec.
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   */
  openSocket(options: SocketOptions): RawSocket;
  /**
   * Listens on a TCP socket in the address's SO_REUSEPORT group and accepts
   * connections as {@link Conn}s with Web Streams, with the runtime's own
   * acceptor (`engine: "native"`, the default), accept4 through FFI
   * (`engine: "accept4"`), or accept4 with the library's own reads and writes
   * on an epoll set (`engine: "epoll"`, Linux).
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   */
  listen(options: ListenOptions): Listener;
  /**
   * Binds a UDP socket in the address's SO_REUSEPORT group and receives
   * datagrams in batches (recvmmsg) as they arrive, watched on the
   * runtime's event loop (Node) or by an off-thread poll (Bun, Deno).
   *
   * @throws {TypeError | RangeError} for invalid options, before any system call.
   * @throws {SocketError} when a system call fails; no fd is left open.
   */
  listenDatagram(options: DatagramOptions): DatagramSocket;
  /**
   * accept4(2) on a listening fd: the next connection, or null when none is
   * waiting. `flags` default to SOCK_NONBLOCK | SOCK_CLOEXEC. The returned
   * fd is the caller's to adopt (or hand to a worker) and close.
   *
   * @throws {SocketError} for failures other than EAGAIN (EINTR and ECONNABORTED are retried).
   */
  accept4(fd: number, flags?: number): AcceptedSocket | null;
  /**
   * Calls `onReadable` on the JavaScript thread whenever `fd` is readable
   * (level-triggered), without blocking and without polling in a loop: the
   * readiness the accept4 engine and datagram sockets use (libuv on Node,
   * one off-thread poll(2) per process on Bun and Deno). For programs that
   * drive raw fds themselves, such as `accept4` loops. Close the watch
   * before closing the fd.
   */
  watchReadable(fd: number, onReadable: () => void): FdWatch;
  /**
   * The libc binding itself, for experiments with raw system calls. Loaded
   * on first use. Methods return the C result or `-errno`.
   */
  sys(): Sys;
}

/** Builds the API around a lazy libc loader: nothing is loaded until a function needs it. */
export function createApi(load: () => Sys, adapter: RuntimeAdapter): Api {
  let loaded: Sys | undefined;
  const sys = (): Sys => {
    loaded ??= load();
    return loaded;
  };
  return {
    openSocket: (options) => openSocketWith(sys(), options),
    listen: (options) => listenWith(sys(), adapter, options),
    listenDatagram: (options) => listenDatagramWith(sys(), adapter, options),
    accept4: (fd, flags) => accept4With(sys(), fd, flags),
    watchReadable: (fd, onReadable) => {
      if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
      if (typeof onReadable !== "function") throw new TypeError("onReadable must be a function");
      return adapter.watchReadable(sys())(fd, onReadable);
    },
    sys,
  };
}
