// What test/load/self-bind-driver.ts prints as its last line (see its header),
// and what the tests that run it hold every run to.
import { expect } from "vitest";

export interface DriverReport {
  readonly uid: number;
  readonly migrateReqBefore: string;
  readonly migrateReqAfter: string;
  readonly notices: readonly string[];
  readonly clean: boolean;
  readonly unexpected: readonly unknown[];
  readonly reloads: readonly { ok: boolean; reason?: string; atMs?: number }[];
  readonly ok: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly bodies: Readonly<Record<string, number>>;
  /** [startMs, endMs, error] of every failed request, on the client's clock. */
  readonly failures: readonly (readonly [number, number, string])[];
  readonly marks: Readonly<Record<string, number>>;
  /** The supervisor's anchor's queue after each step (self-bound groups). */
  readonly anchorQueues: readonly (number | undefined)[];
  /** SYNs the namespace dropped on full queues meanwhile. */
  readonly overflows: number;
  /** What workers that count their requests said at exit. */
  readonly workerCounts: readonly { pid: number; received: number; answered: number }[];
}

/** The generation in a body: "Bun.serve slot 0 generation 3 pid 42" or "0-3-42". */
function generationOf(body: string): number {
  return Number(/generation (\d+)/.exec(body)?.[1] ?? /^\d+-(\d+)-/.exec(body)?.[1]);
}

/** What every run must show: the reloads worked, every generation answered, the workers stopped cleanly. */
export function expectServed(report: DriverReport): void {
  const detail = JSON.stringify({ ...report, bodies: undefined, failures: report.failures.slice(0, 20) });
  expect(report.migrateReqBefore, "the namespace started with tcp_migrate_req=0").toBe("0");
  expect(
    report.reloads.every((r) => r.ok),
    detail,
  ).toBe(true);
  const generations = new Set(Object.keys(report.bodies).map(generationOf));
  expect(
    [...generations].sort((a, b) => a - b),
    detail,
  ).toEqual([1, 2, 3, 4, 5, 6]);
  expect(report.unexpected, "no worker exited unasked").toEqual([]);
  expect(report.clean, "every worker stopped cleanly").toBe(true);
}

/** Failures only of the kind `drop` names (what a server's own stop drops; none when undefined), at most `most`. */
export function expectOnly(report: DriverReport, drop: string | undefined, most: number): void {
  const failures = JSON.stringify(report.failures);
  expect(
    Object.keys(report.errors).filter((kind) => kind !== drop),
    failures,
  ).toEqual([]);
  expect(report.failed, failures).toBeLessThanOrEqual(most);
}
