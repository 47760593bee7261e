// What test/load/self-bind-driver.ts prints as its last line (see its header).

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
