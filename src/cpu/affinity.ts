import type { Sys } from "../ffi/sys.ts";
import { listProcDir } from "../socket/_proc.ts";
import { check, errnoName, SocketError } from "../socket/errors.ts";
import { decodeMask, emptyMask, encodeMask, maskCapacity } from "./_mask.ts";

type AffinityCall = (tid: number, size: number, mask: Uint8Array) => number;

/** Walks of /proc/self/task at most, should threads keep appearing faster than they are pinned. */
const MAX_WALKS = 100;

function calls(sys: Sys): { set: AffinityCall; get: AffinityCall } {
  const set = sys.schedSetaffinity;
  const get = sys.schedGetaffinity;
  if (set === undefined || get === undefined) {
    throw new Error(`reuseport sets CPU affinity on Linux only: libc here has no sched_setaffinity`);
  }
  return { set, get };
}

function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}

/**
 * Checks a CPU list before any system call: a non-empty array of distinct
 * integers from 0 to the last CPU a cpu_set_t can name.
 */
export function validateCpus(sys: Sys, cpus: unknown, name = "cpus"): readonly number[] {
  const capacity = maskCapacity(sys.platform);
  if (!Array.isArray(cpus)) throw new TypeError(`${name} must be an array of CPU numbers, got ${describe(cpus)}`);
  if (cpus.length === 0) throw new RangeError(`${name} must name at least one CPU`);
  const seen = new Set<number>();
  for (const [i, cpu] of cpus.entries()) {
    if (typeof cpu !== "number") throw new TypeError(`${name}[${i}] must be a number, got ${describe(cpu)}`);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= capacity) {
      throw new RangeError(`${name}[${i}] must be an integer from 0 to ${capacity - 1}, got ${cpu}`);
    }
    if (seen.has(cpu)) throw new RangeError(`${name} names CPU ${cpu} twice`);
    seen.add(cpu);
  }
  return cpus as readonly number[];
}

/** The raw mask of thread `tid` (0: the calling thread). */
function readMask(sys: Sys, tid: number): Uint8Array {
  const mask = emptyMask(sys.platform);
  check(sys, calls(sys).get(tid, mask.length, mask), "sched_getaffinity");
  return mask;
}

/** sched_setaffinity with a SocketError whose hint says what EINVAL means here. */
function writeMask(sys: Sys, tid: number, mask: Uint8Array, cpus?: readonly number[]): number {
  const result = calls(sys).set(tid, mask.length, mask);
  if (result < 0 && errnoName(sys, -result) === "EINVAL" && cpus !== undefined) {
    throw new SocketError("EINVAL", -result, "sched_setaffinity", {
      hint: `none of the CPUs asked (${cpus.join(",")}) is online and allowed to this process (its cpuset)`,
    });
  }
  return result;
}

/** The platform's number for an errno name. */
function errnoNumber(sys: Sys, name: string): number {
  const found = Object.entries(sys.platform.errnoNames).find(([, n]) => n === name);
  if (found === undefined) throw new Error(`no errno ${name} in the ${sys.platform.os} table`);
  return Number(found[0]);
}

/** The tids of this process's threads, from /proc/self/task. */
function threadIds(sys: Sys): string[] {
  const tids = listProcDir(sys, "/proc/self/task");
  if (tids === undefined) throw new Error("reuseport could not list /proc/self/task, where this process's threads are");
  return tids;
}

/** The CPUs the calling thread may run on, ascending: after {@link setAffinity}, every thread's. */
export function getAffinity(sys: Sys): number[] {
  return decodeMask(sys.platform, readMask(sys, 0));
}

/**
 * Pins every thread of this process to `cpus`: the calling thread first,
 * then each thread in /proc/self/task, walking it again until a walk finds
 * no thread it had not pinned (a thread started meanwhile by one not yet
 * pinned would have the old mask). Threads started later inherit the
 * mask from the thread that starts them. A CPU the kernel cannot give
 * (offline, outside the process's cpuset) refuses the whole call, and the
 * calling thread's mask is put back.
 */
export function setAffinity(sys: Sys, cpus: readonly number[]): void {
  const asked = validateCpus(sys, cpus);
  const mask = encodeMask(sys.platform, asked);
  // Every read and check before the first change: a failure here leaves the process as it was.
  threadIds(sys);
  const previous = readMask(sys, 0);
  check(sys, writeMask(sys, 0, mask, asked), "sched_setaffinity");
  // The kernel keeps the CPUs it can give and drops the rest without a word.
  const applied = getAffinity(sys);
  const missing = asked.filter((cpu) => !applied.includes(cpu));
  if (missing.length > 0) {
    check(sys, writeMask(sys, 0, previous), "sched_setaffinity");
    throw new SocketError("EINVAL", errnoNumber(sys, "EINVAL"), "sched_setaffinity", {
      hint: `CPU ${missing.join(",")} is not online or not allowed to this process (its cpuset)`,
    });
  }
  const pinned = new Set<string>();
  for (let walk = 0; walk < MAX_WALKS; walk++) {
    const fresh = threadIds(sys).filter((tid) => !pinned.has(tid));
    if (fresh.length === 0) return;
    for (const tid of fresh) {
      const result = writeMask(sys, Number(tid), mask, asked);
      // ESRCH: the thread ended between the listing and the call.
      if (result < 0 && errnoName(sys, -result) !== "ESRCH") check(sys, result, "sched_setaffinity");
      pinned.add(tid);
    }
  }
}

/**
 * Runs `body` with the calling thread alone on `cpus`, then gives it its
 * own mask back; threads that appeared meanwhile (started by this thread,
 * so on `cpus`) get that mask too. For spawning a child pinned from its
 * first instruction: fork and posix_spawn give the child the mask of the
 * thread that called them.
 */
export function withThreadAffinity<T>(sys: Sys, cpus: readonly number[], body: () => T): T {
  const mask = encodeMask(sys.platform, validateCpus(sys, cpus));
  const before = new Set(threadIds(sys));
  const previous = readMask(sys, 0);
  check(sys, writeMask(sys, 0, mask, cpus), "sched_setaffinity");
  try {
    return body();
  } finally {
    check(sys, writeMask(sys, 0, previous), "sched_setaffinity");
    for (const tid of threadIds(sys)) {
      if (before.has(tid)) continue;
      const result = writeMask(sys, Number(tid), previous);
      if (result < 0 && errnoName(sys, -result) !== "ESRCH") check(sys, result, "sched_setaffinity");
    }
  }
}
