// The targets of the benchmark's issue, judged on one run's medians. Each
// says what it compared and, when missed, by how much.
import { BALANCE_CONNECTIONS, connectionsPerWorker, isHashedReuseport } from "./_balance.ts";
import type { Contender, LoadSample, Results, Target, Workload } from "./_results.ts";
import { cv, median } from "./_stats.ts";

type Measured = Omit<Results, "targets">;

const samples = (results: Measured, contender: string, workload: Workload): LoadSample[] =>
  results.load.filter((c) => c.contender === contender && c.workload === workload).flatMap((c) => c.samples);

const medianOf = (values: LoadSample[], pick: (s: LoadSample) => number): number => median(values.map(pick));

const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : "—");

/** The plain reuseport run contenders (the kernel's hash, no steering option). */
const hashed = (results: Measured): Contender[] => results.contenders.filter(isHashedReuseport);

/**
 * The cluster SCHED_RR contender of `pool` to compare with: the one running the same server (Express
 * against Express) on the same Node, else on Node 26; else any on the same Node, else Node 26's.
 */
export function clusterRrReference(contender: Contender, pool: readonly Contender[]): Contender | undefined {
  const rr = pool.filter((c) => c.family === "cluster-rr");
  const on = (runtime: Contender["runtime"], server?: string): Contender | undefined =>
    rr.find((c) => c.runtime === runtime && (server === undefined || c.server === server));
  return (
    on(contender.runtime, contender.server) ?? on("node26", contender.server) ?? on(contender.runtime) ?? on("node26")
  );
}

/** Judges one comparison: `met` is null when either side has no samples. */
function judge(name: string, ok: boolean | undefined, detail: string): Target {
  return { name, met: ok === undefined ? null : ok, detail };
}

/** The median of a figure of the first contender of a family (on a runtime, if given), for a "why". */
function familyFigure(
  results: Measured,
  family: Contender["family"],
  workload: Workload,
  pick: (s: LoadSample) => number,
  runtime?: Contender["runtime"],
): { label: string; value: number } | undefined {
  const found = results.contenders.find(
    (c) =>
      c.family === family &&
      (runtime === undefined || c.runtime === runtime) &&
      samples(results, c.id, workload).length > 0,
  );
  return found === undefined
    ? undefined
    : { label: found.label, value: medianOf(samples(results, found.id, workload), pick) };
}

/** The runtime whose own reusePort a contender is compared with: its own, or Node 26's for Node 20 (which has none). */
const ownRuntime = (contender: Contender): Contender["runtime"] =>
  contender.runtime === "node20" ? "node26" : contender.runtime;

/** The runtime's own reusePort contender's close p99 and CPU per request, for a "why". */
function ownReusePort(
  results: Measured,
  contender: Contender,
): { label: string; p99: number; cpu: number } | undefined {
  const own = results.contenders.find((c) => c.family === "native" && c.runtime === ownRuntime(contender));
  const theirs = own === undefined ? [] : samples(results, own.id, "close");
  if (own === undefined || theirs.length === 0) return undefined;
  return { label: own.label, p99: medianOf(theirs, (s) => s.p99Ms), cpu: medianOf(theirs, (s) => s.cpuUsPerRequest) };
}

/** Why a plain reuseport run contender missed the cluster RR target, from this run's own figures. */
function whyNotRr(results: Measured, contender: Contender, slow: boolean, late: boolean): string {
  const reasons: string[] = [];
  if (slow) {
    const alone = familyFigure(results, "single", "close", (s) => s.rps);
    reasons.push(
      "the load generator shares the 2 CPUs with the workers, so requests/s is capped by what it leaves them" +
        (alone === undefined ? "" : ` (${alone.label} alone: ${(alone.value / 1000).toFixed(1)}k/s)`) +
        "; CPU per request is the figure that carries over to a machine with CPUs to spare",
    );
  }
  if (late) {
    const mine = samples(results, contender.id, "close");
    const p99 = medianOf(mine, (s) => s.p99Ms);
    const cpu = medianOf(mine, (s) => s.cpuUsPerRequest);
    const own = ownReusePort(results, contender);
    const none = familyFigure(
      results,
      "cluster-none",
      "close",
      (s) => s.p99Ms,
      contender.runtime === "node20" ? "node20" : "node26",
    );
    const shared = none === undefined ? "" : `; ${none.label}, one shared queue, ${fixed(none.value, 1)} ms`;
    if (own === undefined) {
      reasons.push(
        `hashing places each connection without looking at the queues, so one worker's queue grows while the other's is empty (p99 ${fixed(p99, 1)} ms${shared})`,
      );
    } else if (p99 <= own.p99 * 1.25) {
      reasons.push(
        `hashing places each connection without looking at the queues, so one worker's queue grows while the other's is empty: ` +
          `${own.label}, the same placement without a supervisor, has about the same p99 (${fixed(own.p99, 1)} ms against ${fixed(p99, 1)} ms)${shared}`,
      );
    } else {
      reasons.push(
        `this server costs more per request than ${own.label} (${fixed(cpu, 1)} µs against ${fixed(own.cpu, 1)} µs), so a hashed ` +
          `connection waits behind more work: that server, placed by the same hash, has a p99 of ${fixed(own.p99, 1)} ms against ${fixed(p99, 1)} ms${shared}`,
      );
    }
  }
  return reasons.join("; and ");
}

function againstClusterRr(results: Measured): Target[] {
  return hashed(results).map((contender) => {
    const reference = clusterRrReference(contender, results.contenders);
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
    const cpu = medianOf(mine, (s) => s.cpuUsPerRequest) / medianOf(theirs, (s) => s.cpuUsPerRequest);
    const ok = Number(fixed(rps)) >= 1.6 && Number(fixed(p99)) <= 0.7;
    const figures = `${fixed(rps)}× the requests/s, ${fixed(p99)}× the p99 and ${fixed(cpu)}× the CPU per request of ${reference.label}`;
    return judge(
      `${contender.label}: ≥ 1.6× cluster RR requests/s, ≤ 0.7× its p99 (close)`,
      ok,
      ok
        ? figures
        : `${figures}. Why: ${whyNotRr(results, contender, Number(fixed(rps)) < 1.6, Number(fixed(p99)) > 0.7)}`,
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
    const ok = Number(fixed(p99 / reference)) <= 1;
    const hash = results.contenders.find((c) => c.id === queue.id.replace(/-queue$/, ""));
    const hashP99 = hash === undefined ? undefined : medianOf(samples(results, hash.id, workload), (s) => s.p99Ms);
    const figures =
      `${fixed(p99, 1)} ms against ${fixed(reference, 1)} ms (${fixed(p99 / reference)}×), ${queue.label} and ${none.label}` +
      (hashP99 === undefined || Number.isNaN(hashP99) ? "" : `; hashing alone ${fixed(hashP99, 1)} ms`);
    const why =
      workload === "close"
        ? "the supervisor samples the queues every 5 ms and steers every new connection to the shortest for the next period, " +
          "while at thousands of connections a second a queue fills and drains within one period: one shared queue is " +
          "work-conserving at every instant, steering only between samples"
        : "a connection a worker has already accepted waits behind that worker's 50 ms burn whatever the steering, and the " +
          "sampling sees a busy worker only once connections wait on its socket; one shared queue hands every connection " +
          "to whichever worker is free";
    return judge(name, ok, ok ? figures : `${figures}. Why: ${why}`);
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
    const counts = connectionsPerWorker(results, contender.id);
    const total = counts.reduce((sum, n) => sum + n, 0);
    const name = `${contender.label}: per-worker CV ≤ 5% (close and burst)`;
    if (total === 0) return judge(name, undefined, "not measured");
    const value = cv(counts);
    const over = `over ${counts.length} workers and ${total.toLocaleString("en")} connections`;
    const few = total < BALANCE_CONNECTIONS;
    return judge(
      name,
      value <= 0.05 && !few,
      `CV ${(value * 100).toFixed(1)}% ${over}${few ? `, fewer than the ${BALANCE_CONNECTIONS.toLocaleString("en")} asked` : ""}`,
    );
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
      const cpu = medianOf(mine, (s) => s.cpuUsPerRequest);
      const reference = medianOf(theirs, (s) => s.cpuUsPerRequest);
      const ok = Number(fixed(cpu / reference)) <= 1.2;
      const figures = `${fixed(cpu, 1)} µs against ${fixed(reference, 1)} µs (${fixed(cpu / reference)}×)`;
      if (ok) return judge(name, ok, figures);
      const own = familyFigure(results, "native", "keepalive", (s) => s.cpuUsPerRequest, ownRuntime(contender));
      const why =
        "nginx answers from C with nothing allocated per request; listen() answers in JavaScript, with a promise per " +
        "read and an FFI call per read and per write" +
        (own === undefined
          ? ""
          : `; ${own.label}, the runtime's own server, takes ${fixed(own.value, 1)} µs here (listen() ${fixed(cpu / own.value)}× of it)`);
      return judge(name, ok, `${figures}. Why: ${why}`);
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
