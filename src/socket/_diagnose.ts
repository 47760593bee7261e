import type { Sys } from "../ffi/sys.ts";
import type { ResolvedSocketOptions } from "./_options.ts";
import { type AddressInUseReason, errnoName, type SocketErrorDetails } from "./errors.ts";

const MAX_TABLE_BYTES = 8 << 20;

/**
 * Reads a whole /proc file through libc, so it needs no runtime file
 * permission (Deno's --allow-read) beyond the FFI the library already uses.
 */
function readProcFile(sys: Sys, path: string): string | undefined {
  const { O_RDONLY, O_CLOEXEC } = sys.platform.constants;
  const fd = sys.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const chunk = new Uint8Array(64 * 1024);
    while (total < MAX_TABLE_BYTES) {
      const n = sys.read(fd, chunk, chunk.length);
      if (n < 0 && errnoName(sys, -n) === "EINTR") continue;
      if (n <= 0) break;
      chunks.push(chunk.slice(0, n));
      total += n;
    }
    const all = new Uint8Array(total);
    let offset = 0;
    for (const piece of chunks) {
      all.set(piece, offset);
      offset += piece.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    sys.close(fd);
  }
}

/** uids of the sockets of this transport that are bound to `port` (from /proc/net). */
export function portOwners(sys: Sys, transport: "tcp" | "udp", port: number): number[] {
  const owners: number[] = [];
  for (const file of [transport, `${transport}6`]) {
    const table = readProcFile(sys, `/proc/net/${file}`);
    if (table === undefined) continue;
    // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode"
    for (const line of table.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      const local = columns[1];
      const uid = columns[7];
      if (local === undefined || uid === undefined) continue;
      const localPort = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
      if (localPort === port) owners.push(Number(uid));
    }
  }
  return owners;
}

/**
 * Explains an EADDRINUSE from bind. The kernel gives the same errno for
 * every cause, so the holder's uid is looked up in /proc/net (Linux).
 */
export function explainAddressInUse(sys: Sys, options: ResolvedSocketOptions): SocketErrorDetails {
  const base = { address: options.hostname, port: options.port };
  const result = (reason: AddressInUseReason, hint: string, ownerUid?: number): SocketErrorDetails => ({
    ...base,
    reason,
    hint,
    ...(ownerUid === undefined ? {} : { ownerUid }),
  });
  if (!options.reusePort) {
    return result("reuseport-disabled", "the port is taken; to share it, open every socket with reusePort: true");
  }
  const owners = sys.platform.os === "linux" ? portOwners(sys, options.transport, options.port) : [];
  const euid = sys.geteuid();
  const stranger = owners.find((uid) => uid !== euid);
  if (stranger !== undefined) {
    return result(
      "other-user",
      `the port is held by uid ${stranger} and this process runs as uid ${euid}; ` +
        "a SO_REUSEPORT group admits only sockets of the effective user that created it",
      stranger,
    );
  }
  if (owners.length > 0) {
    return result(
      "not-reuseport",
      "the port is held by a socket that did not set SO_REUSEPORT (or that bound another address, " +
        "or another ipv6Only setting); every member of a group must set it before bind",
    );
  }
  return result("unknown", "the port is taken, and its holder is not visible from here");
}
