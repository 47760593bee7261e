// How evenly a contender's workers share connections: the counts the
// balance figures and the CV target are computed from, for the driver, the
// targets and the report alike.
import type { Contender, Results, Workload } from "./_results.ts";

/** The connections the CV target asks to be counted over. */
export const BALANCE_CONNECTIONS = 100_000;

/** The workloads whose connections count: a connection per request, each placed by the kernel (or the master). */
export const balanceWorkloads: readonly Workload[] = ["close", "burst"];

/**
 * The plain reuseport run contenders (the kernel's hash, no steering option, the benchmark's own apps): the
 * ones the CV and cluster targets are about. The unchanged apps and the run without the preload are there for
 * their comparisons, not for these targets.
 */
export const isHashedReuseport = (contender: Pick<Contender, "id" | "family">): boolean =>
  contender.family === "reuseport" && !/-queue$|-stall-aware$|-express$|-serve$|-nopreload$/.test(contender.id);

/**
 * Connections per worker, summed over the rounds of the balance workloads
 * and any extra runs made to count more. Each run lists its workers from
 * the busiest down and every run starts new workers, so the busiest are
 * summed with the busiest: a CV of the sums is, if anything, too high.
 */
export function connectionsPerWorker(results: Pick<Results, "load" | "balanceRuns">, contender: string): number[] {
  const counts: number[] = [];
  const add = (perWorker: readonly number[]): void =>
    perWorker.forEach((count, worker) => {
      counts[worker] = (counts[worker] ?? 0) + count;
    });
  for (const cell of results.load)
    if (cell.contender === contender && balanceWorkloads.includes(cell.workload))
      for (const sample of cell.samples) add(sample.perWorker);
  for (const run of results.balanceRuns) if (run.contender === contender) add(run.perWorker);
  return Array.from(counts, (count) => count ?? 0);
}
