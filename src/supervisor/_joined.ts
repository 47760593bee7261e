import { formatFdName } from "../activation/names.ts";
import { sendNotify } from "../activation/notify.ts";
import type { Sys } from "../ffi/sys.ts";
import { formatHostPort, parseHost } from "../socket/_ip.ts";
import { portSockets, processSocketInodes } from "../socket/_listening.ts";
import { socketInode } from "../socket/_proc.ts";
import { encodeSockaddr } from "../socket/_sockaddr.ts";
import { listenerStats } from "../socket/stats.ts";
import { spreadProgram } from "../steer/balance.ts";
import { cbpf } from "../steer/cbpf.ts";
import { steer } from "../steer/steer.ts";
import type { NetAddr, RawSocket, SocketOptions } from "../types.ts";

/** A worker as the groups know it. */
export interface JoiningWorker {
  readonly pid: number;
}

/** How long a worker may hold its turn to join before the next one gets it. */
const TURN_MS = 10_000;
/** The anchor's backlog: its queue holds backlog + 1 = 2 connections, then the kernel drops SYNs. */
const ANCHOR_BACKLOG = 1;

interface Member<W> {
  readonly worker: W;
  readonly inode: string;
}

interface Group<W> {
  readonly addr: NetAddr;
  readonly name: string;
  /** Member 0: the supervisor's own, never accepted on, its queue full. */
  readonly anchor: RawSocket;
  readonly anchorInode: string;
  /** The supervisor's end of the connections that fill the anchor's queue. */
  readonly fillers: number[];
  /** The kernel's members after the anchor, in its order: members[i] is index i + 1. */
  members: Member<W>[];
  attached: string | undefined;
}

export interface JoinedGroupsDeps {
  readonly sys: () => Sys;
  readonly openOwnSocket: (options: SocketOptions) => RawSocket;
  readonly notice: (message: string) => void;
  /** A timer, cancelled when what it waits for happens. */
  readonly after: (ms: number, run: () => void) => { cancel(): void };
}

/** The loopback address a client reaches a socket bound to `hostname` on. */
function reachable(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "::1";
  return hostname;
}

/**
 * The groups of self-bound workers (`selfBind`), steered so that a
 * worker that stops resets nothing, without tcp_migrate_req and without
 * privilege. Per TCP address the supervisor keeps one member, the anchor:
 * opened first (index 0), with a backlog of 1 and its queue filled by two
 * connections of its own, so a SYN the kernel ever sends it is dropped and
 * resent by the client rather than queued where nobody accepts. Workers
 * join one at a time (a turn each, so the kernel's listen() order is the
 * order the supervisor records), and a classic BPF program spreads new
 * connections at random over the members of the workers `eligible` names.
 * When a member closes, the kernel moves the last member into its index;
 * the record does the same. Whether it still matches is checked against
 * /proc/net/tcp after every change: a mismatch (a process joined without
 * a turn, or two members closed at once) is said, and from then on the
 * program spreads over every member but the anchor.
 */
export class JoinedGroups<W extends JoiningWorker> {
  readonly #deps: JoinedGroupsDeps;
  readonly #groups: Group<W>[] = [];
  readonly #eligible: (worker: W) => boolean;
  readonly #turns: { worker: W; address: string; reply: string }[] = [];
  #holder: { worker: W; address: string; timer: { cancel(): void } } | undefined;
  /** Where the record cannot be trusted: every member but the anchor is steered to. */
  #lost = false;

  constructor(deps: JoinedGroupsDeps, addresses: readonly NetAddr[], eligible: (worker: W) => boolean) {
    this.#deps = deps;
    this.#eligible = eligible;
    try {
      for (const addr of addresses) if (addr.transport === "tcp") this.#groups.push(this.#openAnchor(addr));
    } catch (error) {
      this.close();
      throw error;
    }
    this.steer();
  }

  /** Whether the record can no longer be trusted (steering then spreads over every worker). */
  get lost(): boolean {
    return this.#lost;
  }

  #openAnchor(addr: NetAddr): Group<W> {
    const sys = this.#deps.sys();
    const c = sys.platform.constants;
    const anchor = this.#deps.openOwnSocket({
      transport: "tcp",
      hostname: addr.hostname,
      port: addr.port,
      backlog: ANCHOR_BACKLOG,
    });
    const fillers: number[] = [];
    try {
      const ip = parseHost(reachable(anchor.localAddr.hostname));
      if (ip === undefined) throw new Error(`cannot reach ${anchor.localAddr.hostname} to fill the anchor`);
      const target = encodeSockaddr(sys.platform, { ...ip, port: anchor.localAddr.port });
      const family = ip.family === 4 ? c.AF_INET : c.AF_INET6;
      // The group has no other member yet: both connections queue on the anchor.
      while (fillers.length < ANCHOR_BACKLOG + 1) {
        const fd = sys.socket(family, c.SOCK_STREAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new Error("socket() failed for the anchor's filler");
        fillers.push(fd);
        sys.connect(fd, target, target.length);
      }
      // Loopback handshakes complete within the kernel at once; wait a little, bounded, for both to queue.
      const pollfd = new Uint8Array(8);
      for (let waited = 0; listenerStats(sys, anchor.fd).queued < fillers.length && waited < 1000; waited++) {
        sys.poll(pollfd, 0, 1);
      }
      const queued = listenerStats(sys, anchor.fd).queued;
      if (queued < fillers.length) {
        throw new Error(
          `the anchor on ${formatHostPort(addr.hostname, addr.port)} queued ${queued} of its ${fillers.length} connections`,
        );
      }
    } catch (error) {
      for (const fd of fillers) sys.close(fd);
      anchor.close();
      throw error;
    }
    return {
      addr: anchor.localAddr,
      name: formatFdName(anchor.localAddr),
      anchor,
      anchorInode: socketInode(sys, anchor.fd) ?? "",
      fillers,
      members: [],
      attached: undefined,
    };
  }

  /** The anchors' addresses, in the order given. */
  addresses(): NetAddr[] {
    return this.#groups.map((g) => g.addr);
  }

  /** The anchor of the group for `addr`, for its queue and its overflows. */
  anchorFd(addr: NetAddr): number | undefined {
    return this.#groups.find((g) => g.name === formatFdName(addr))?.anchor.fd;
  }

  /** A worker asks to listen on `address` (an fd name); "GO" goes to `reply` when it is its turn. */
  requestTurn(worker: W, address: string, reply: string): void {
    this.#turns.push({ worker, address, reply });
    this.#nextTurn();
  }

  #nextTurn(): void {
    if (this.#holder !== undefined) return;
    const turn = this.#turns.shift();
    if (turn === undefined) return;
    const timer = this.#deps.after(TURN_MS, () => {
      if (this.#holder?.worker !== turn.worker) return;
      this.#deps.notice(
        `pid ${turn.worker.pid} took its turn to join ${turn.address} but said nothing for ${TURN_MS} ms`,
      );
      this.#holder = undefined;
      this.check();
      this.#nextTurn();
    });
    this.#holder = { worker: turn.worker, address: turn.address, timer };
    try {
      sendNotify(this.#deps.sys(), turn.reply, "GO");
    } catch {
      // The worker is gone or stopped waiting; it will join without its turn, or not at all.
    }
  }

  /** The worker's socket for `address` listens: record it at the end of the group, then the next turn. */
  joined(worker: W, address: string): void {
    const group = this.#groups.find((g) => g.name === address);
    if (this.#holder?.worker === worker && this.#holder.address === address) {
      this.#holder.timer.cancel();
      this.#holder = undefined;
    }
    if (group !== undefined) {
      const known = new Set([group.anchorInode, ...group.members.map((m) => m.inode)]);
      const listening = new Set(this.#listeners(group).map((s) => s.inode));
      const held = processSocketInodes(this.#deps.sys(), worker.pid);
      const fresh = [...(held?.keys() ?? [])].filter((inode) => listening.has(inode) && !known.has(inode));
      if (fresh.length === 1) group.members.push({ worker, inode: fresh[0] as string });
      else
        this.#loseCount(
          `pid ${worker.pid} said it joined ${address}, but ${fresh.length} new member(s) of its were found`,
        );
      this.check();
      this.steer();
    }
    this.#nextTurn();
  }

  /** The worker's listen failed: its turn is over, with no member to record. */
  released(worker: W, address: string): void {
    if (this.#holder?.worker === worker && this.#holder.address === address) {
      this.#holder.timer.cancel();
      this.#holder = undefined;
    }
    this.#nextTurn();
  }

  /**
   * The worker has exited: its members are gone. The kernel moved each
   * group's last member into the closed one's index; so does the record.
   */
  left(worker: W): void {
    this.#turns.splice(0, this.#turns.length, ...this.#turns.filter((t) => t.worker !== worker));
    if (this.#holder?.worker === worker) {
      this.#holder.timer.cancel();
      this.#holder = undefined;
    }
    let changed = false;
    for (const group of this.#groups) {
      for (let i = group.members.findIndex((m) => m.worker === worker); i !== -1; ) {
        const last = group.members.pop() as Member<W>;
        if (i < group.members.length) group.members[i] = last;
        changed = true;
        i = group.members.findIndex((m) => m.worker === worker);
      }
    }
    // Lost, the program follows the kernel's count of members, which has changed too.
    if (changed || this.#lost) {
      this.check();
      this.steer();
    }
    this.#nextTurn();
  }

  /** The LISTEN sockets of this user on the group's address, from /proc/net/tcp{,6}. */
  #listeners(group: Group<W>): ReturnType<typeof portSockets> {
    const uid = this.#deps.sys().geteuid();
    return portSockets(this.#deps.sys(), group.addr.port, ["tcp"], group.addr.hostname.includes(":") ? 6 : 4).filter(
      (s) => s.hostname === group.addr.hostname && s.uid === uid,
    );
  }

  /** Checks the record against the kernel's tables: as many members, and the same sockets. */
  check(): void {
    if (this.#lost) return;
    for (const group of this.#groups) {
      const listening = new Set(this.#listeners(group).map((s) => s.inode));
      const recorded = [group.anchorInode, ...group.members.map((m) => m.inode)];
      // A member whose worker has exited but whose close the kernel has not finished yet is still listed.
      const missing = recorded.filter((inode) => !listening.has(inode));
      const extra = [...listening].filter((inode) => !recorded.includes(inode));
      // The worker holding the turn may listen already, before its word of it arrives.
      const joining = this.#holder?.address === group.name ? 1 : 0;
      if (missing.length > 0 || extra.length > joining) {
        this.#loseCount(
          `${group.name} has ${listening.size} member(s) where the supervisor counts ${recorded.length} (a process joined without its turn, or members closed at once)`,
        );
        return;
      }
    }
  }

  #loseCount(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#deps.notice(
      `${reason}: the supervisor no longer knows each worker's place in the group, so new connections go to every worker and a stopping worker's queued connections may be reset`,
    );
  }

  /** Attaches each group's program: a spread over the eligible workers' members, or the anchor alone when none is. */
  steer(): void {
    const sys = this.#deps.sys();
    for (const group of this.#groups) {
      // Lost: every member the kernel lists but the anchor, which stays member 0 as it never closes.
      const indexes = this.#lost
        ? Array.from({ length: this.#listeners(group).length - 1 }, (_, i) => i + 1)
        : group.members.flatMap((m, i) => (this.#eligible(m.worker) ? [i + 1] : []));
      // With no worker to take them, connections wait as SYNs the clients resend, not in a queue nobody reads.
      const program = indexes.length === 0 ? [cbpf.ret(0)] : spreadProgram(indexes);
      const text = JSON.stringify(program);
      if (text === group.attached) continue;
      steer(sys, group.anchor.fd, { program });
      group.attached = text;
    }
  }

  /** Connections waiting in the worker's members' accept queues, from /proc/net/tcp{,6}. */
  queued(worker: W): number {
    let total = 0;
    for (const group of this.#groups) {
      const mine = new Set(group.members.filter((m) => m.worker === worker).map((m) => m.inode));
      if (mine.size === 0) continue;
      for (const socket of this.#listeners(group)) if (mine.has(socket.inode)) total += socket.queued;
    }
    return total;
  }

  /** The worker's members, for status: address, place in the group, queue, and whether steered to. */
  sockets(worker: W): { addr: NetAddr; member: number; queued: number; steeredTo: boolean }[] {
    return this.#groups.flatMap((group) => {
      const queues = new Map(this.#listeners(group).map((s) => [s.inode, s.queued]));
      return group.members.flatMap((m, i) =>
        m.worker === worker
          ? [{ addr: group.addr, member: i + 1, queued: queues.get(m.inode) ?? 0, steeredTo: this.#eligible(worker) }]
          : [],
      );
    });
  }

  close(): void {
    const sys = this.#deps.sys();
    this.#holder?.timer.cancel();
    this.#holder = undefined;
    for (const group of this.#groups.splice(0)) {
      for (const fd of group.fillers) sys.close(fd);
      group.anchor.close();
    }
  }
}
