import type { Sys } from "./ffi/sys.ts";
import { openSocket as openSocketWith } from "./socket/open.ts";
import type { RawSocket, SocketOptions } from "./types.ts";

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
   * The libc binding itself, for experiments with raw system calls. Loaded
   * on first use. Methods return the C result or `-errno`.
   */
  sys(): Sys;
}

/** Builds the API around a lazy libc loader: nothing is loaded until a function needs it. */
export function createApi(load: () => Sys): Api {
  let loaded: Sys | undefined;
  const sys = (): Sys => {
    loaded ??= load();
    return loaded;
  };
  return {
    openSocket: (options) => openSocketWith(sys(), options),
    sys,
  };
}
