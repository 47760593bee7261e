import type { ActivationHost } from "../activation/inherited.ts";
import type { WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import type { Conn, NetAddr } from "../types.ts";

/**
 * A connection's addresses as far as the acceptor knows them: the peer's
 * from accept4, the local one from the listener unless it is bound to a
 * wildcard. The runtime asks the kernel only for what is missing.
 */
export interface KnownAddresses {
  readonly remoteAddr: NetAddr | undefined;
  readonly localAddr: NetAddr | undefined;
}

/** Where an acceptor delivers connections. */
export interface AcceptorSink {
  /** A new connection (a promise where the runtime adopts asynchronously). */
  conn(conn: Conn | Promise<Conn>): void;
  /** The acceptor stopped for good. */
  failed(error: Error): void;
}

/** A running acceptor's controls. */
export interface Acceptor {
  /** Stop taking connections for now (only the accept4 engine can). */
  pause(): void;
  resume(): void;
  ref(): void;
  unref(): void;
  /**
   * Takes what the kernel has queued at this moment (the accept4 engine),
   * so that closing right after leaves the least behind in the queue.
   */
  flush?(): void;
  /** Stops accepting and closes the listening fd; accepted connections stay open. */
  close(): void;
}

/** What each runtime provides to the listener; the only runtime-specific part of it. */
export interface RuntimeAdapter {
  /**
   * Serves a listening fd with the runtime's own acceptor, which takes the
   * fd over. `localAddr` is every connection's local address when known.
   */
  serveNative(fd: number, sink: AcceptorSink, localAddr: NetAddr | undefined): Acceptor;
  /**
   * Adopts a connected, non-blocking fd as a Conn; the Conn owns the fd
   * afterwards. `known` carries the addresses accept4 already told, so the
   * runtime need not ask the kernel again.
   */
  adopt(fd: number, known: KnownAddresses): Conn | Promise<Conn>;
  /** The runtime's way to hear that an fd is readable. */
  watchReadable(sys: Sys): WatchReadable;
  /** Makes a timer stop holding the process. */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
  /** The environment, pid and SIGTERM, for socket activation. */
  readonly activation: ActivationHost;
}
