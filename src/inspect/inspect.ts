import type { Sys } from "../ffi/sys.ts";
import { formatHostPort, parseHost } from "../socket/_ip.ts";
import { portSockets } from "../socket/_listening.ts";
import { listProcDir, readProcFile } from "../socket/_proc.ts";
import { encodeSockaddr } from "../socket/_sockaddr.ts";
import { listenerStats } from "../socket/stats.ts";
import type { Transport } from "../types.ts";

/** Who holds a socket: a process and the fd there, when /proc/<pid>/fd could be read. */
export interface SocketOwner {
  /** The holding process. */
  readonly pid: number;
  /** Its command name, from /proc/<pid>/comm. */
  readonly command: string;
  /** The fd number there. */
  readonly fd: number;
}

/** One socket bound to the port, from /proc/net/{tcp,tcp6,udp,udp6}. */
export interface PortSocket {
  /** "tcp" (listeners only) or "udp". */
  readonly transport: Transport;
  /** The bound address: "0.0.0.0" or "::" for a wildcard. */
  readonly hostname: string;
  /** The port looked at. */
  readonly port: number;
  /** The kernel's state name: LISTEN for a TCP listener, UNCONN for an unconnected UDP socket. */
  readonly state: string;
  /** The effective uid that created it: a group admits that user only. */
  readonly uid: number;
  /** The socket's inode, as /proc/<pid>/fd links name it ("socket:[inode]"). */
  readonly inode: string;
  /** TCP: connections waiting for accept(2). UDP: bytes waiting to be read. */
  readonly queued: number;
  /** TCP: the accept queue's limit, when an owner's fd could be read (pidfd_getfd: root, or ptrace rights). */
  readonly backlog?: number;
  /** UDP: datagrams dropped. */
  readonly drops?: number;
  /** Every process and fd that holds it (several after fork or fd passing); empty when none could be resolved. */
  readonly owners: readonly SocketOwner[];
  /** False when /proc/<pid>/fd of some process could not be read (another user's, without privilege). */
  readonly ownersResolved: boolean;
}

/** Sockets with one address, transport and uid: what the kernel balances over. */
export interface PortGroup {
  /** The members' transport. */
  readonly transport: Transport;
  /** The members' address. */
  readonly hostname: string;
  /** The port looked at. */
  readonly port: number;
  /** The members' uid: only that user's sockets can join. */
  readonly uid: number;
  /** The members, in the tables' order (not the kernel's group order). */
  readonly sockets: readonly PortSocket[];
}

/** A condition that stops a socket from joining, or a group from getting what its users expect. */
export interface PortProblem {
  /** Which of the known problems. */
  readonly kind: "not-reuseport" | "other-user" | "overlapping-addresses" | "queue-full";
  /** What it is and what it means, in a sentence. */
  readonly message: string;
}

/** What `reuseport inspect <port>` reports. */
export interface PortReport {
  /** The port looked at. */
  readonly port: number;
  /** The effective uid that looked. */
  readonly uid: number;
  /** The sockets on the port, grouped. */
  readonly groups: readonly PortGroup[];
  /** What stands out, named. */
  readonly problems: readonly PortProblem[];
  /** Processes whose fds could not be read: their sockets are listed, their owners not. */
  readonly unreadableProcesses: number;
}

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "07": "UNCONN",
  "0A": "LISTEN",
};

/**
 * A listener's backlog, which /proc/net/tcp does not show: read with
 * TCP_INFO on a copy of an owner's fd (pidfd_getfd, which needs ptrace
 * rights over the owner: root, or the same user where Yama allows it).
 */
function backlogOf(sys: Sys, owners: readonly SocketOwner[]): number | undefined {
  const { pidfdOpen, pidfdGetfd } = sys;
  if (pidfdOpen === undefined || pidfdGetfd === undefined) return undefined;
  for (const owner of owners) {
    const pidfd = pidfdOpen(owner.pid, 0);
    if (pidfd < 0) continue;
    try {
      const copy = pidfdGetfd(pidfd, owner.fd, 0);
      if (copy < 0) continue;
      try {
        return listenerStats(sys, copy).backlog;
      } catch {
        // Closed or replaced since it was listed.
      } finally {
        sys.close(copy);
      }
    } finally {
      sys.close(pidfd);
    }
  }
  return undefined;
}

/** Sockets bound to `port` in this network namespace's tables (TCP listeners and UDP sockets). */
function readTables(sys: Sys, port: number): Omit<PortSocket, "owners" | "ownersResolved">[] {
  return portSockets(sys, port, ["tcp", "udp"]).map(({ drops, state, ...socket }) => ({
    ...socket,
    state: TCP_STATES[state] ?? state,
    // A listener's tx_queue column is 0, not its backlog: that comes from its owner's fd.
    ...(socket.transport === "udp" ? { drops } : {}),
  }));
}

/** Every process's socket fds by inode, and how many processes' fds could not be read. */
function socketHolders(
  sys: Sys,
  inodes: ReadonlySet<string>,
): { holders: Map<string, SocketOwner[]>; unreadable: number } {
  const holders = new Map<string, SocketOwner[]>();
  let unreadable = 0;
  const target = new Uint8Array(64);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  for (const entry of listProcDir(sys, "/proc") ?? []) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = listProcDir(sys, `/proc/${entry}/fd`);
    if (fds === undefined) {
      unreadable++;
      continue;
    }
    let command: string | undefined;
    for (const fd of fds) {
      const n = sys.readlink(encoder.encode(`/proc/${entry}/fd/${fd}\0`), target, target.length);
      if (n <= 0) continue;
      const inode = /^socket:\[(\d+)\]$/.exec(decoder.decode(target.subarray(0, n)))?.[1];
      if (inode === undefined || !inodes.has(inode)) continue;
      command ??= (readProcFile(sys, `/proc/${entry}/comm`) ?? "?").trim();
      const list = holders.get(inode) ?? [];
      list.push({ pid: Number(entry), command, fd: Number(fd) });
      holders.set(inode, list);
    }
  }
  return { holders, unreadable };
}

const wildcards = new Set(["0.0.0.0", "::"]);

/**
 * Every socket bound to `port` on this host (its network namespace), from
 * /proc/net and /proc/<pid>/fd read through libc — without joining any
 * group and without `ss`: grouped by address, transport and uid, each with
 * its holders, state and queue, and the problems users hit named.
 */
export function inspectPort(sys: Sys, port: number): PortReport {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port must be an integer from 1 to 65535, got ${port}`);
  }
  if (sys.platform.os !== "linux") throw new Error(`inspect reads Linux's /proc; ${sys.platform.os} has none`);
  const found = readTables(sys, port);
  const { holders, unreadable } = socketHolders(sys, new Set(found.map((s) => s.inode)));
  const sockets: PortSocket[] = found.map((s) => {
    const owners = holders.get(s.inode) ?? [];
    const backlog = s.transport === "tcp" ? backlogOf(sys, owners) : undefined;
    return { ...s, ...(backlog === undefined ? {} : { backlog }), owners, ownersResolved: owners.length > 0 };
  });
  const groups = new Map<string, PortSocket[]>();
  for (const socket of sockets) {
    const key = `${socket.transport} ${socket.hostname} ${socket.uid}`;
    groups.set(key, [...(groups.get(key) ?? []), socket]);
  }
  const grouped: PortGroup[] = [...groups.values()].map((members) => {
    const first = members[0] as PortSocket;
    return { transport: first.transport, hostname: first.hostname, port, uid: first.uid, sockets: members };
  });
  const uid = sys.geteuid();
  return { port, uid, groups: grouped, problems: problems(sys, grouped, uid), unreadableProcesses: unreadable };
}

function endpoint(group: { transport: Transport; hostname: string; port: number }): string {
  return `${group.transport} ${formatHostPort(group.hostname, group.port)}`;
}

function problems(sys: Sys, groups: readonly PortGroup[], uid: number): PortProblem[] {
  const found: PortProblem[] = [];
  for (const group of groups) {
    if (group.uid !== uid) {
      found.push({
        kind: "other-user",
        message: `${endpoint(group)} belongs to uid ${group.uid}: a socket of uid ${uid} cannot join its group`,
      });
    } else if (group.transport === "tcp" && group.sockets.length === 1 && !probeJoins(sys, group)) {
      found.push({
        kind: "not-reuseport",
        message: `${endpoint(group)} was opened without SO_REUSEPORT: no other socket can share that address`,
      });
    }
    for (const socket of group.sockets) {
      if (socket.transport === "tcp" && socket.backlog !== undefined && socket.queued >= socket.backlog) {
        found.push({
          kind: "queue-full",
          message: `${endpoint(group)} (inode ${socket.inode}) has ${socket.queued} connections waiting, its whole backlog: new ones are turned away`,
        });
      }
    }
  }
  // A wildcard group and a group on one address of the same family: the specific one gets that address's traffic.
  for (const wide of groups.filter((g) => wildcards.has(g.hostname))) {
    for (const narrow of groups) {
      if (narrow === wide || narrow.transport !== wide.transport || wildcards.has(narrow.hostname)) continue;
      if (wide.hostname === "0.0.0.0" && narrow.hostname.includes(":")) continue;
      found.push({
        kind: "overlapping-addresses",
        message: `${endpoint(narrow)} and ${endpoint(wide)} are two groups: traffic to ${narrow.hostname} goes to the first alone`,
      });
    }
  }
  return found;
}

/**
 * Whether a socket of ours could join a lone TCP listener's address: a
 * SO_REUSEPORT socket bound there but never listening. Binding alone joins
 * no group for TCP (the group forms at listen), so nothing is taken from it.
 */
function probeJoins(sys: Sys, group: PortGroup): boolean {
  const c = sys.platform.constants;
  const v6 = group.hostname.includes(":");
  const fd = sys.socket(v6 ? c.AF_INET6 : c.AF_INET, c.SOCK_STREAM | c.SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  try {
    const one = new Uint8Array(4);
    new DataView(one.buffer).setInt32(0, 1, sys.platform.littleEndian);
    sys.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEPORT, one, 4);
    sys.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, one, 4);
    if (v6) sys.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, one, 4);
    const ip = parseHost(group.hostname);
    if (ip === undefined) return true;
    const address = encodeSockaddr(sys.platform, { ...ip, port: group.port });
    return sys.bind(fd, address, address.length) === 0;
  } finally {
    sys.close(fd);
  }
}
