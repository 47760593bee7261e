import type { Sys } from "../ffi/sys.ts";
import type { SocketStats } from "../types.ts";
import { check } from "./errors.ts";
import { getIntOption, socklen } from "./sockopt.ts";

/** TCP_INFO buffers per Sys: one call at a time on the JavaScript thread. */
const buffers = new WeakMap<Sys, Uint8Array>();

/**
 * The accept queue of a listening TCP socket, as the kernel reports it in
 * TCP_INFO (the Recv-Q and Send-Q of `ss -lt`): `queued` connections have
 * completed the handshake and wait for accept(2); `backlog` is how many
 * may, the listen(2) backlog capped by net.core.somaxconn. Handshakes
 * still in progress (the SYN queue) are not counted.
 */
export function socketStats(sys: Sys, fd: number): SocketStats {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
  const c = sys.platform.constants;
  const layout = sys.platform.layouts.tcpInfo;
  if (c.TCP_INFO === undefined || layout === undefined) {
    throw new Error(`socketStats() reads Linux's TCP_INFO; ${sys.platform.os} has no such struct here`);
  }
  const listening = getIntOption(sys, fd, c.SOL_SOCKET, c.SO_ACCEPTCONN);
  check(sys, listening, "getsockopt", {});
  if (listening !== 1) throw new TypeError(`fd ${fd} is not a listening TCP socket`);
  let buffer = buffers.get(sys);
  if (buffer === undefined) {
    buffer = new Uint8Array(layout.size);
    buffers.set(sys, buffer);
  }
  buffer.fill(0);
  check(sys, sys.getsockopt(fd, c.IPPROTO_TCP, c.TCP_INFO, buffer, socklen(sys, layout.size)), "getsockopt", {});
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const little = sys.platform.littleEndian;
  return {
    queued: view.getUint32(layout.unacked.offset, little),
    backlog: view.getUint32(layout.sacked.offset, little),
  };
}
