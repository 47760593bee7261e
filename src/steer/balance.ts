/**
 * Queue-aware and stall-aware balancing: which members of a group get new
 * connections, decided from samples of every member's accept queue. The
 * decisions are pure; the sampling and the re-attached programs are the
 * group owner's (see balancer.ts).
 */
import { type CbpfInstruction, cbpf } from "./cbpf.ts";

/**
 * "queue": new connections go only to the members with the shortest accept
 * queue (all of them while the queues are equal). "stall-aware": a member
 * whose queue stays non-empty without ever shrinking for `stallMs` is
 * stalled and gets none until its queue is empty again.
 */
export type BalancePolicy = "queue" | "stall-aware";

/** What one member's samples have shown so far. */
export interface MemberState {
  /** The queue at the last sample. */
  queued: number;
  /** Since when the queue has been non-empty without shrinking (ms), or undefined. */
  growingSince: number | undefined;
  /** Stalled: excluded until its queue is empty again. */
  stalled: boolean;
}

/** A fresh member: nothing seen yet. */
export const freshMember = (): MemberState => ({ queued: 0, growingSince: undefined, stalled: false });

/**
 * Updates a member with a new sample. A queue that shrank means its worker
 * accepted; one that held or grew while non-empty counts towards a stall;
 * a stalled member stays stalled until its queue is empty, since a worker
 * that accepts one connection after a long pause may pause again.
 */
export function observe(member: MemberState, queued: number, now: number, stallMs: number): void {
  if (queued === 0) {
    member.growingSince = undefined;
    member.stalled = false;
  } else if (queued < member.queued) {
    member.growingSince = undefined;
  } else {
    member.growingSince ??= now;
    if (now - member.growingSince >= stallMs) member.stalled = true;
  }
  member.queued = queued;
}

/**
 * The indexes (below `serving`) that should get new connections. Never
 * empty: when every member is excluded, all of them get connections again,
 * as the kernel's hash would give them.
 */
export function eligibleMembers(policy: BalancePolicy, members: readonly MemberState[], serving: number): number[] {
  const candidates = members.slice(0, serving).map((member, index) => ({ member, index }));
  let chosen: typeof candidates;
  if (policy === "queue") {
    const shortest = Math.min(...candidates.map((c) => c.member.queued));
    chosen = candidates.filter((c) => c.member.queued === shortest);
  } else {
    chosen = candidates.filter((c) => !c.member.stalled);
  }
  return (chosen.length > 0 ? chosen : candidates).map((c) => c.index);
}

/**
 * A program spreading new connections evenly at random over `indexes`. A
 * random number, not the flow hash: SKF_AD_RXHASH is 0 for datagrams on
 * loopback and for NICs that compute none, which would send everything to
 * one member. For TCP only the SYN (or, with SYN cookies, the handshake's
 * last ACK) is steered, so a connection never moves once it is queued.
 */
export function spreadProgram(indexes: readonly number[]): CbpfInstruction[] {
  if (indexes.length === 0) throw new RangeError("a spread needs at least one member");
  if (indexes.length === 1) return [cbpf.ret(indexes[0] as number)];
  const program = [cbpf.load("random"), cbpf.alu("mod", indexes.length)];
  indexes.slice(0, -1).forEach((member, i) => {
    program.push(cbpf.jump("jeq", i, 0, 1), cbpf.ret(member));
  });
  program.push(cbpf.ret(indexes[indexes.length - 1] as number));
  return program;
}
