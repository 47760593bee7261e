import type { Sys } from "../ffi/sys.ts";
import { formatIp } from "./_ip.ts";
import { listProcDir, readProcFile } from "./_proc.ts";

/** A TCP listener or UDP socket from /proc/net/{tcp,tcp6,udp,udp6}. */
export interface TableSocket {
  readonly transport: "tcp" | "udp";
  /** The bound address: "0.0.0.0" or "::" for a wildcard. */
  readonly hostname: string;
  readonly port: number;
  /** The kernel's state as /proc/net writes it: "0A" is LISTEN, "07" an unconnected UDP socket. */
  readonly state: string;
  /** The effective uid that created it. */
  readonly uid: number;
  /** Its inode, as /proc/<pid>/fd links name it ("socket:[inode]"). */
  readonly inode: string;
  /** rx_queue: a listener's accept queue (connections), a UDP socket's bytes waiting. */
  readonly queued: number;
  /** UDP: datagrams dropped. */
  readonly drops: number;
}

/** An address from /proc/net: hex words in host order ("0100007F" is 127.0.0.1 on little-endian). */
function decodeHexAddress(hex: string, littleEndian: boolean): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => {
    const b = (word.match(/../g) ?? []).map((h) => Number.parseInt(h, 16));
    return littleEndian ? b.reverse() : b;
  });
  return formatIp({ family: bytes.length === 4 ? 4 : 6, bytes: Uint8Array.from(bytes), scopeId: 0 });
}

/**
 * Sockets bound to `port` in this network namespace's tables (of `family`
 * alone, when given): TCP
 * listeners (connections to the port share its number and are left out)
 * and UDP sockets. Read through libc, so Deno needs no --allow-read.
 */
export function portSockets(
  sys: Sys,
  port: number,
  transports: readonly ("tcp" | "udp")[],
  family?: 4 | 6,
): TableSocket[] {
  const sockets: TableSocket[] = [];
  const little = sys.platform.littleEndian;
  for (const transport of transports) {
    // One family's table when only one is asked for: a busy host's tables are long.
    const files = family === 4 ? [transport] : family === 6 ? [`${transport}6`] : [transport, `${transport}6`];
    for (const file of files) {
      // "sl local_address rem_address st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ref pointer drops"
      for (const line of (readProcFile(sys, `/proc/net/${file}`) ?? "").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        const [address, portHex] = (f[1] ?? "").split(":");
        if (address === undefined || portHex === undefined || Number.parseInt(portHex, 16) !== port) continue;
        const state = f[3] ?? "";
        if (transport === "tcp" && state !== "0A") continue;
        const rx = (f[4] ?? "").split(":")[1] ?? "0";
        sockets.push({
          transport,
          hostname: decodeHexAddress(address, little),
          port,
          state,
          uid: Number(f[7]),
          inode: f[9] ?? "",
          queued: Number.parseInt(rx, 16),
          drops: Number(f[12] ?? 0),
        });
      }
    }
  }
  return sockets;
}

/** The socket inodes process `pid` holds, by fd; undefined when its /proc/<pid>/fd cannot be read. */
export function processSocketInodes(sys: Sys, pid: number): Map<string, number> | undefined {
  const fds = listProcDir(sys, `/proc/${pid}/fd`);
  if (fds === undefined) return undefined;
  const inodes = new Map<string, number>();
  const target = new Uint8Array(64);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  for (const fd of fds) {
    const n = sys.readlink(encoder.encode(`/proc/${pid}/fd/${fd}\0`), target, target.length);
    if (n <= 0) continue;
    const inode = /^socket:\[(\d+)\]$/.exec(decoder.decode(target.subarray(0, n)))?.[1];
    if (inode !== undefined) inodes.set(inode, Number(fd));
  }
  return inodes;
}
