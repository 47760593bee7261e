// The targets of the benchmark's issue, judged on one run's medians. Each
// says what it compared and, when missed, by how much.
import type { Contender, LoadSample, Results, Target, Workload } from "./_results.ts";
import { cv, median } from "./_stats.ts";

type Measured = Omit<Results, "targets">;

const samples = (results: Measured, contender: string, workload: Workload): LoadSample[] =>
  results.load.filter((c) => c.contender === contender && c.workload === workload).flatMap((c) => c.samples);

const medianOf = (values: LoadSample[], pick: (s: LoadSample) => number): number => median(values.map(pick));

const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : "—");

/** The plain reuseport run contenders (the kernel's hash, no steering option). */
const hashed = (results: Measured): Contender[] =>
  results.contenders.filter((c) => c.family === "reuseport" && !/-queue$|-stall-aware$/.test(c.id));

/** The cluster SCHED_RR contender to compare with: the same Node, else Node 26's. */
function clusterRrFor(results: Measured, contender: Contender): Contender | undefined {
  const rr = results.contenders.filter((c) => c.family === "cluster-rr");
  return rr.find((c) => c.runtime === contender.runtime) ?? rr.find((c) => c.runtime === "node26");
}

/** Judges one comparison: `met` is null when either side has no samples. */
function judge(name: string, ok: boolean | undefined, detail: string): Target {
  return { name, met: ok === undefined ? null : ok, detail };
}

function againstClusterRr(results: Measured): Target[] {
  return hashed(results).map((contender) => {
    const reference = clusterRrFor(results, contender);
    const mine = samples(results, contender.id, "close");
    const theirs = reference === undefined ? [] : samples(results, reference.id, "close");
    if (mine.length === 0 || theirs.length === 0 || reference === undefined)
      return judge(
        `${contender.label}: ≥ 1.6× cluster RR requests/s, ≤ 0.7× its p99 (close)`,
        undefined,
        "not measured",
      );
    const rps = medianOf(mine, (s) => s.rps) / medianOf(theirs, (s) => s.rps);
    const p99 = medianOf(mine, (s) => s.p99Ms) / medianOf(theirs, (s) => s.p99Ms);
    const ok = Number(fixed(rps)) >= 1.6 && Number(fixed(p99)) <= 0.7;
    return judge(
      `${contender.label}: ≥ 1.6× cluster RR requests/s, ≤ 0.7× its p99 (close)`,
      ok,
      `${fixed(rps)}× the requests/s and ${fixed(p99)}× the p99 of ${reference.label}`,
    );
  });
}

function queueAgainstShared(results: Measured): Target[] {
  const queue = results.contenders.find((c) => c.family === "reuseport" && c.id.endsWith("-queue"));
  const none = results.contenders.find((c) => c.family === "cluster-none" && c.runtime === queue?.runtime);
  return (["close", "cpu-heavy"] as const).map((workload) => {
    const name = `--steer queue p99 ≤ cluster SCHED_NONE's (${workload})`;
    if (queue === undefined || none === undefined) return judge(name, undefined, "not measured");
    const mine = samples(results, queue.id, workload);
    const theirs = samples(results, none.id, workload);
    if (mine.length === 0 || theirs.length === 0) return judge(name, undefined, "not measured");
    const p99 = medianOf(mine, (s) => s.p99Ms);
    const reference = medianOf(theirs, (s) => s.p99Ms);
    return judge(
      name,
      Number(fixed(p99 / reference)) <= 1,
      `${fixed(p99, 1)} ms against ${fixed(reference, 1)} ms (${fixed(p99 / reference)}×), ${queue.label} and ${none.label}`,
    );
  });
}

function wakeups(results: Measured): Target[] {
  return results.wakeups
    .filter((cell) => cell.workers === 8)
    .filter((cell) => results.contenders.find((c) => c.id === cell.contender)?.family === "reuseport")
    .map((cell) => {
      const label = results.contenders.find((c) => c.id === cell.contender)?.label ?? cell.contender;
      const perConnection = median(cell.samples.map((s) => s.acceptWakeups / s.accepted));
      const switches = median(cell.samples.map((s) => s.voluntarySwitches / s.accepted));
      return judge(
        `${label}: ≤ 1.1 wake-ups per accepted connection with 8 workers`,
        cell.samples.length === 0 ? undefined : Number(fixed(perConnection)) <= 1.1,
        `${fixed(perConnection)} wake-ups to accept per connection (${fixed(switches)} voluntary context switches of all threads)`,
      );
    });
}

function shares(results: Measured): Target[] {
  return hashed(results).map((contender) => {
    const counts: number[] = [];
    for (const sample of [...samples(results, contender.id, "close"), ...samples(results, contender.id, "burst")])
      sample.perWorker.forEach((n, i) => {
        counts[i] = (counts[i] ?? 0) + n;
      });
    const total = counts.reduce((sum, n) => sum + n, 0);
    const name = `${contender.label}: per-worker CV ≤ 5% (close and burst)`;
    if (total === 0) return judge(name, undefined, "not measured");
    const value = cv(counts);
    const few = total < 100_000 ? `; over ${total.toLocaleString("en")} connections, fewer than the 100,000 asked` : "";
    return judge(name, value <= 0.05, `CV ${(value * 100).toFixed(1)}% over ${counts.length} workers${few}`);
  });
}

function reloadTargets(results: Measured): Target[] {
  return results.reloads
    .filter((cell) => results.contenders.find((c) => c.id === cell.contender)?.family === "reuseport")
    .map((cell) => {
      const label = results.contenders.find((c) => c.id === cell.contender)?.label ?? cell.contender;
      return judge(
        `${label}: 0 failed requests over ${cell.sample.reloads} reloads`,
        cell.sample.failed === 0,
        `${cell.sample.failed} failed of ${(cell.sample.ok + cell.sample.failed).toLocaleString("en")}`,
      );
    });
}

function againstNginx(results: Measured): Target[] {
  const nginx = results.contenders.find((c) => c.family === "nginx");
  return hashed(results)
    .filter((c) => c.id.endsWith("-listen"))
    .map((contender) => {
      const name = `${contender.label}: CPU per request ≤ 1.2× nginx's (keepalive)`;
      const mine = samples(results, contender.id, "keepalive");
      const theirs = nginx === undefined ? [] : samples(results, nginx.id, "keepalive");
      if (mine.length === 0 || theirs.length === 0) return judge(name, undefined, "not measured");
      const ratio = medianOf(mine, (s) => s.cpuUsPerRequest) / medianOf(theirs, (s) => s.cpuUsPerRequest);
      return judge(
        name,
        Number(fixed(ratio)) <= 1.2,
        `${fixed(
          medianOf(mine, (s) => s.cpuUsPerRequest),
          1,
        )} µs against ${fixed(
          medianOf(theirs, (s) => s.cpuUsPerRequest),
          1,
        )} µs (${fixed(ratio)}×)`,
      );
    });
}

/** Every target, judged; in a smoke run none is (its figures say nothing). */
export function judgeTargets(results: Measured): Target[] {
  const targets = [
    ...againstClusterRr(results),
    ...queueAgainstShared(results),
    ...wakeups(results),
    ...shares(results),
    ...reloadTargets(results),
    ...againstNginx(results),
  ];
  return results.smoke ? targets.map((t) => ({ ...t, met: null })) : targets;
}
