/**
 * The public contract, shared by every runtime entry. Types only.
 */

/** Transport protocol of a socket. */
export type Transport = "tcp" | "udp";

/** Address family of a socket. */
export type Family = "IPv4" | "IPv6";

/** A bound address, shaped like `Deno.NetAddr`. */
export interface NetAddr {
  readonly transport: Transport;
  /** The IP address in its canonical text form ("127.0.0.1", "::1"). */
  readonly hostname: string;
  readonly port: number;
}

/** Options for {@link openSocket}. */
export interface SocketOptions {
  /** "tcp" (default): a listening stream socket; "udp": a bound datagram socket. */
  readonly transport?: Transport;
  /**
   * An IPv4 or IPv6 literal, or "localhost" (which means 127.0.0.1).
   * Default "0.0.0.0". IPv6 literals may be bracketed ("[::1]") and carry a
   * numeric zone ("fe80::1%2").
   */
  readonly hostname?: string;
  /** 0–65535; 0 asks the kernel for a free port, read back in `localAddr`. */
  readonly port: number;
  /**
   * Join the address's SO_REUSEPORT group (default true). Every member must
   * set it, run as the same effective user, and bind the same address.
   */
  readonly reusePort?: boolean;
  /**
   * SO_REUSEADDR. Default true for TCP (rebinding while old connections
   * linger in TIME_WAIT, as every runtime's own listen does) and false for
   * UDP (where it would let sockets share a port without balancing).
   */
  readonly reuseAddr?: boolean;
  /** Accept-queue length for TCP (default 511; the kernel caps it at net.core.somaxconn). */
  readonly backlog?: number;
  /**
   * IPv6 sockets only: accept IPv6 alone (true) or IPv4-mapped traffic too
   * (false, the default, so "::" is dual-stack). All members of a group
   * must agree.
   */
  readonly ipv6Only?: boolean;
}

/** A configured, bound (and for TCP, listening) socket file descriptor. */
export interface RawSocket extends Disposable {
  /** The file descriptor; -1 once closed or released. Non-blocking and close-on-exec. */
  readonly fd: number;
  readonly transport: Transport;
  readonly family: Family;
  /** The bound address, with the kernel's port when 0 was asked for. */
  readonly localAddr: NetAddr;
  /** Closes the fd. Idempotent. */
  close(): void;
  /**
   * Gives up ownership: returns the fd and stops tracking it, so `close()`
   * no longer touches it. Use it when handing the fd to a server that will
   * close it itself (`server.listen({ fd: raw.release() })`).
   */
  release(): number;
}
