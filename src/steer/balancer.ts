/**
 * The group owner's side of steering: keeps the program attached to each
 * group right as members serve, stall, or retire. It holds no socket; the
 * owner says which fds make up each group, in the kernel's member order.
 */
import type { Sys } from "../ffi/sys.ts";
import { listenerStats } from "../socket/stats.ts";
import {
  type BalancePolicy,
  eligibleMembers,
  freshMember,
  type MemberState,
  observe,
  spreadProgram,
} from "./balance.ts";
import type { CbpfInstruction } from "./cbpf.ts";
import { cpuProgram, steer } from "./steer.ts";

/** How a group owner steers: a fixed policy, or one that follows the queues. */
export type OwnerPolicy = "hash" | "cpu" | BalancePolicy;

/** One group: its transport and its members' fds, index i being member i. */
export interface BalancedGroup {
  readonly transport: "tcp" | "udp";
  readonly fds: readonly number[];
}

/** Options of {@link GroupBalancer}. */
export interface GroupBalancerOptions {
  readonly policy: OwnerPolicy;
  /** How often the queues are sampled, for "queue" and "stall-aware". */
  readonly intervalMs: number;
  /** How long a queue must stay non-empty without shrinking to count as stalled. */
  readonly stallMs: number;
  /** Told when a member starts or stops being stalled ("stall-aware"). */
  readonly onStall?: (group: number, member: number, stalled: boolean, queued: number) => void;
}

/** Whether a policy needs the queues sampled. */
const follows = (policy: OwnerPolicy): policy is BalancePolicy => policy === "queue" || policy === "stall-aware";

export class GroupBalancer {
  readonly #sys: Sys;
  readonly #groups: () => readonly BalancedGroup[];
  readonly #options: GroupBalancerOptions;
  /** Per group, per member: what its samples showed. */
  #members: MemberState[][] = [];
  /** Per group: the program attached (its text), to re-attach only on a change. */
  #attached: (string | undefined)[] = [];
  /** Members from this index on are retiring: they get nothing new. */
  #serving = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Attachments made, for the cost of following the queues. */
  swaps = 0;

  constructor(sys: Sys, groups: () => readonly BalancedGroup[], options: GroupBalancerOptions) {
    this.#sys = sys;
    this.#groups = groups;
    this.#options = options;
    if (follows(options.policy)) this.#timer = setInterval(() => this.sample(), options.intervalMs);
  }

  /**
   * Members from `serving` on get no new connections from now on (they are
   * being retired); Infinity serves them all again. Applied at once.
   */
  serveOnly(serving: number): void {
    this.#serving = serving;
    this.apply();
  }

  /** True when member `index` of group `group` gets no new connections now. */
  excluded(group: number, index: number): boolean {
    const fds = this.#groups()[group]?.fds ?? [];
    return !this.#eligible(group, fds.length).includes(index);
  }

  /** Reads every member's queue and re-attaches where the chosen members changed. */
  sample(): void {
    const now = Date.now();
    for (const [g, group] of this.#groups().entries()) {
      if (group.transport !== "tcp") continue;
      const members = this.#members[g] ?? [];
      this.#members[g] = members;
      group.fds.forEach((fd, i) => {
        const member = members[i] ?? freshMember();
        members[i] = member;
        const wasStalled = member.stalled;
        let queued: number;
        try {
          queued = listenerStats(this.#sys, fd).queued;
        } catch {
          return; // closing: its state goes with it
        }
        observe(member, queued, now, this.#options.stallMs);
        if (member.stalled !== wasStalled && this.#options.policy === "stall-aware") {
          this.#options.onStall?.(g, i, member.stalled, queued);
        }
      });
      members.length = group.fds.length;
    }
    this.apply();
  }

  /** Attaches each group's program for the current state (idempotent). */
  apply(): void {
    for (const [g, group] of this.#groups().entries()) {
      const first = group.fds[0];
      if (first === undefined) continue;
      const program = this.#program(g, group);
      const text = program === undefined ? undefined : JSON.stringify(program);
      if (text === this.#attached[g]) continue;
      steer(this.#sys, first, program === undefined ? "hash" : { program });
      this.#attached[g] = text;
      this.swaps++;
    }
  }

  /** The members that should get new connections, below the serving limit. */
  #eligible(g: number, size: number): number[] {
    const serving = Math.min(size, this.#serving);
    const policy = this.#options.policy;
    const members = this.#members[g] ?? [];
    if (follows(policy) && this.#groups()[g]?.transport === "tcp") {
      const states = Array.from({ length: size }, (_, i) => members[i] ?? freshMember());
      return eligibleMembers(policy, states, serving);
    }
    return Array.from({ length: serving }, (_, i) => i);
  }

  #program(g: number, group: BalancedGroup): CbpfInstruction[] | undefined {
    const size = group.fds.length;
    if (this.#options.policy === "cpu") {
      return cpuProgram(Math.min(size, this.#serving));
    }
    const eligible = this.#eligible(g, size);
    // Every member, as the kernel's hash would choose: no program at all.
    if (eligible.length === size) return undefined;
    return spreadProgram(eligible);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
