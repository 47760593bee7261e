/**
 * reuseport for Deno: SO_REUSEPORT socket groups through libc.
 * @module
 */
import { type Api, createApi } from "./_api.ts";
import { loadSys } from "./ffi/deno.ts";
import type { FdWatch } from "./ffi/readiness.ts";
import type { Sys } from "./ffi/sys.ts";
import { denoAdapter, hostPlatform } from "./runtime/deno.ts";
import type {
  AcceptedSocket,
  DatagramOptions,
  DatagramSocket,
  Listener,
  ListenOptions,
  RawSocket,
  SocketOptions,
} from "./types.ts";

export * from "./_exports.ts";

const api: Api = createApi(() => loadSys(hostPlatform()), denoAdapter);

/**
 * Opens a socket in the address's SO_REUSEPORT group: socket, setsockopt
 * (SO_REUSEPORT, SO_REUSEADDR, IPV6_V6ONLY), bind and, for TCP, listen.
 * The fd is non-blocking and close-on-exec.
 *
 * @throws {TypeError | RangeError} for invalid options, before any system call.
 * @throws {SocketError} when a system call fails; no fd is left open.
 */
export const openSocket: (options: SocketOptions) => RawSocket = api.openSocket;
/**
 * Listens on a TCP socket in the address's SO_REUSEPORT group and accepts
 * connections as {@link Conn}s with Web Streams, with Deno's own acceptor
 * (`engine: "native"`, the default), accept4 through FFI
 * (`engine: "accept4"`, which backs off when the process runs out of fds),
 * or accept4 with the library's own reads and writes on an epoll set
 * (`engine: "epoll"`, Linux: faster than `Deno.listen`).
 *
 * @throws {TypeError | RangeError} for invalid options, before any system call.
 * @throws {SocketError} when a system call fails; no fd is left open.
 */
export const listen: (options: ListenOptions) => Listener = api.listen;
/**
 * Binds a UDP socket in the address's SO_REUSEPORT group and receives
 * datagrams in batches (recvmmsg) as they arrive, watched by an off-thread
 * poll(2).
 *
 * @throws {TypeError | RangeError} for invalid options, before any system call.
 * @throws {SocketError} when a system call fails; no fd is left open.
 */
export const listenDatagram: (options: DatagramOptions) => DatagramSocket = api.listenDatagram;
/**
 * accept4(2) on a listening fd: the next connection, or null when none is
 * waiting. `flags` default to SOCK_NONBLOCK | SOCK_CLOEXEC. The returned
 * fd is the caller's to adopt (or hand to a worker) and close.
 *
 * @throws {SocketError} for failures other than EAGAIN (EINTR and ECONNABORTED are retried).
 */
export const accept4: (fd: number, flags?: number) => AcceptedSocket | null = api.accept4;
/**
 * Calls `onReadable` on the JavaScript thread whenever `fd` is readable
 * (level-triggered), without blocking and without polling in a loop: the
 * readiness the accept4 engine and datagram sockets use (one off-thread
 * poll(2) per process). For programs that drive raw fds themselves, such
 * as `accept4` loops. Close the watch before closing the fd.
 *
 * @throws {RangeError} when `fd` is not a non-negative integer.
 * @throws {TypeError} when `onReadable` is not a function.
 */
export const watchReadable: (fd: number, onReadable: () => void) => FdWatch = api.watchReadable;
/**
 * The libc binding itself, for experiments with raw system calls. Loaded
 * on first use. Methods return the C result or `-errno`.
 */
export const sys: () => Sys = api.sys;
