import type { Sys } from "../ffi/sys.ts";
import type { ResolvedSocketOptions } from "./_options.ts";
import { readProcFile } from "./_proc.ts";
import type { AddressInUseReason, SocketErrorDetails } from "./errors.ts";

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
