import type { Sys } from "../ffi/sys.ts";
import type { DatagramSocketStats, SocketStats } from "../types.ts";
import { readProcFile, socketInode } from "./_proc.ts";
import { check } from "./errors.ts";
import { getIntOption, socklen } from "./sockopt.ts";

/** TCP_INFO buffers per Sys: one call at a time on the JavaScript thread. */
const buffers = new WeakMap<Sys, Uint8Array>();

/**
 * A socket's queue as the kernel reports it. TCP (listening): the accept
 * queue from TCP_INFO — `queued` connections completed the handshake and
 * wait for accept(2), `backlog` may (the listen(2) backlog capped by
 * net.core.somaxconn); handshakes in progress are not counted. UDP: the
 * bytes waiting and the datagrams dropped, from /proc/net/udp and udp6 for
 * the socket's inode (read through libc: no runtime file permission).
 */
export function socketStats(sys: Sys, fd: number): SocketStats | DatagramSocketStats {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
  const c = sys.platform.constants;
  const type = getIntOption(sys, fd, c.SOL_SOCKET, c.SO_TYPE);
  check(sys, type, "getsockopt", {});
  if (type === c.SOCK_DGRAM) return datagramStats(sys, fd);
  if (type !== c.SOCK_STREAM) throw new TypeError(`fd ${fd} is neither a TCP nor a UDP socket`);
  return listenerStats(sys, fd);
}

/** The accept queue of a listening TCP socket (TCP_INFO). */
export function listenerStats(sys: Sys, fd: number): SocketStats {
  const c = sys.platform.constants;
  const layout = sys.platform.layouts.tcpInfo;
  if (c.TCP_INFO === undefined || layout === undefined) {
    throw new Error(`socketStats() reads Linux's TCP_INFO; ${sys.platform.os} has no such struct here`);
  }
  if (getIntOption(sys, fd, c.SOL_SOCKET, c.SO_ACCEPTCONN) !== 1) {
    throw new TypeError(`fd ${fd} is not a listening TCP socket`);
  }
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
    transport: "tcp",
    queued: view.getUint32(layout.unacked.offset, little),
    backlog: view.getUint32(layout.sacked.offset, little),
  };
}

/** A UDP socket's line in /proc/net/udp or udp6: "tx_queue:rx_queue" is field 4, the inode 9, drops 12. */
function datagramStats(sys: Sys, fd: number): DatagramSocketStats {
  const inode = socketInode(sys, fd);
  if (inode === undefined) throw new Error(`socketStats() reads /proc/self/fd, which this system has not`);
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const line of (readProcFile(sys, table) ?? "").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[9] !== inode) continue;
      const rx = (fields[4] ?? "").split(":")[1] ?? "0";
      return { transport: "udp", queuedBytes: Number.parseInt(rx, 16), drops: Number(fields[12] ?? 0) };
    }
  }
  throw new Error(`socket inode ${inode} (fd ${fd}) is in neither /proc/net/udp nor /proc/net/udp6`);
}

/**
 * The host's count of connections the kernel turned away at a full accept
 * queue, from /proc/net/netstat (TcpExt ListenOverflows and ListenDrops):
 * for this network namespace, since boot, every socket together. ss and
 * netstat -s print the same; a rising `overflows` means some listener's
 * backlog is too small or its process too slow.
 */
export function listenOverflows(sys: Sys): { readonly overflows: number; readonly drops: number } {
  const lines = (readProcFile(sys, "/proc/net/netstat") ?? "").split("\n");
  // Each section is a line of names and a line of values, both led by "TcpExt:".
  const at = lines.findIndex((line) => line.startsWith("TcpExt:"));
  const names = lines[at]?.split(/\s+/) ?? [];
  const values = lines[at + 1]?.split(/\s+/) ?? [];
  const read = (name: string): number => {
    const index = names.indexOf(name);
    if (at === -1 || index === -1) throw new Error(`/proc/net/netstat has no TcpExt ${name}`);
    return Number(values[index]);
  };
  return { overflows: read("ListenOverflows"), drops: read("ListenDrops") };
}
