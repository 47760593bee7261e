// Many workers on one port, side by side: `reuseport run` (workers on Node
// 20, Node 26, Bun and Deno; hashing, and the queue-aware and stall-aware
// steering) against Node's cluster (SCHED_RR and SCHED_NONE), PM2's cluster
// mode, each runtime's own reusePort with workers started by hand, nginx
// with reuseport, and one process alone; and unchanged apps (Express,
// Bun.serve, Deno.serve, importing nothing of reuseport) under reuseport
// run, PM2, cluster and deno serve --parallel. Workloads: HTTP connection per
// request, keep-alive, a burst of connections at once, and a CPU-heavy mix;
// then wake-ups per connection with 2 and 8 workers at a low rate, and
// failed requests across reloads under load. Writes bench/RESULTS.md and
// its charts (bench/results/). See bench/README.md.
//
// Run: npm run bench:workers          (installs wrk, nginx and strace from Debian's packages if missing)
// BENCH_ONLY=id,id   only these contenders (ids as in RESULTS.md)
// BENCH_ROUNDS=3 BENCH_SECONDS=2   rounds, and seconds per wrk run
// BENCH_JSON=file    also write every sample (redraw with bench/workers/report.ts)
// BENCH_OUT=dir      write RESULTS.md and results/ there instead of bench/
// BENCH_SMOKE=1      a short run that checks every contender starts and answers; no target judged
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { root, runtimes, runtimeVersion } from "../test/_runtimes.ts";
import { compileC, exitCodeFor, has, smoke } from "./_driver.ts";
import { BALANCE_CONNECTIONS, connectionsPerWorker, isHashedReuseport } from "./workers/_balance.ts";
import { type ContenderSpec, contenders, type Running } from "./workers/_contenders.ts";
import { burstRun, reloadRun, wakeupRun, wrkRun } from "./workers/_load.ts";
import { freePort } from "./workers/_process.ts";
import { writeReport } from "./workers/_report.ts";
import type { LoadSample, ReloadSample, Results, WakeupSample, Workload } from "./workers/_results.ts";
import { judgeTargets } from "./workers/_targets.ts";

const whole = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1, got ${value}`);
  return value;
};
const ROUNDS = whole("BENCH_ROUNDS", smoke ? 1 : 3);
// wrk's -d takes whole seconds.
const SECONDS = whole("BENCH_SECONDS", smoke ? 1 : 2);
const WORKERS = 2;
const BURST = smoke ? 200 : 10_000;
const WAKEUP_MS = smoke ? 500 : 1000;
// A smoke run starts the largest group only: it checks that every wake-up contender runs, not what it measures.
const WAKEUP_WORKERS = smoke ? [8] : [2, 8];
const RELOADS = smoke ? 1 : 5;
const OUT = process.env.BENCH_OUT ?? join(root, "bench");

const only = process.env.BENCH_ONLY?.split(",").filter((id) => id !== "");
for (const id of only ?? [])
  if (!contenders.some((c) => c.id === id))
    throw new Error(`BENCH_ONLY: no contender ${id}; there are ${contenders.map((c) => c.id).join(", ")}`);
const chosen = contenders.filter((c) => only === undefined || only.includes(c.id));

// ─── What the run needs ────────────────────────────────────────────────────

const needed = { wrk: "wrk", nginx: "nginx", strace: "strace", cc: "gcc" };
const missing = Object.entries(needed).filter(([command]) => !has(command));
if (missing.length > 0) {
  const packages = missing.map(([, pkg]) => pkg);
  console.log(`installing ${packages.join(", ")} from Debian's packages (apt-get)`);
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}
const burst = compileC("workers/burst.c");

const versions: Record<string, string> = {};
for (const id of ["node20", "node26", "bun", "deno"] as const) versions[id] = runtimeVersion(runtimes[id]);
/** A tool's version from what it prints, on either stream (nginx -v writes to stderr; wrk --version exits 1). */
const versionOf = (argv: string[], pattern: RegExp): string => {
  const [command, ...args] = argv as [string, ...string[]];
  const { stdout, stderr } = spawnSync(command, args, { encoding: "utf8" });
  return `${stdout}${stderr}`.match(pattern)?.[1] ?? "?";
};
versions.nginx = versionOf(["nginx", "-v"], /nginx\/(\S+)/);
versions.wrk = versionOf(["wrk", "--version"], /wrk (\S+)/);
// From its package, not `pm2 --version`: any pm2 command starts a daemon (in ~/.pm2) that outlives the run.
versions.pm2 = (
  JSON.parse(readFileSync(join(root, "node_modules", "pm2", "package.json"), "utf8")) as { version: string }
).version;
versions.strace = versionOf(["strace", "--version"], /version (\S+)/);

// ─── The plan, and its progress ────────────────────────────────────────────

interface Step {
  readonly what: string;
  /** A guess of its seconds, for the time left. */
  readonly estimate: number;
  run(): Promise<void>;
}

const load = new Map<string, LoadSample[]>();
const wakeups = new Map<string, WakeupSample[]>();
const reloads: { contender: string; sample: ReloadSample }[] = [];
const balanceRuns: Results["balanceRuns"][number][] = [];
const notes: string[] = [];
let failures = 0;

const keyOf = (contender: string, workload: Workload): string => `${contender}\u0000${workload}`;
const measuredLoad = (): Results["load"][number][] =>
  [...load].map(([key, samples]) => {
    const [contender = "", workload = "close"] = key.split("\u0000");
    return { contender, workload: workload as Workload, samples };
  });

/** Starts a contender, runs `work` on it, and always stops it; a contender that cannot start is a failure of the run. */
async function onContender(
  contender: ContenderSpec,
  workers: number,
  work: (running: Running) => Promise<void>,
): Promise<void> {
  let running: Running;
  try {
    running = await contender.start(workers, await freePort());
  } catch (error) {
    failures++;
    notes.push(`${contender.label} did not start with ${workers} workers: ${(error as Error).message.split("\n")[0]}`);
    console.log(`  ✗ ${contender.id} did not start: ${(error as Error).message}`);
    return;
  }
  try {
    await work(running);
  } catch (error) {
    failures++;
    notes.push(`${contender.label}: ${(error as Error).message.split("\n")[0]}`);
    console.log(`  ✗ ${contender.id}: ${(error as Error).message}`);
  } finally {
    await running.stop();
  }
}

function loadStep(contender: ContenderSpec, round: number): Step {
  const workloads = contender.workloads;
  return {
    what: `round ${round}/${ROUNDS} · ${contender.id} · ${workloads.join(", ")}`,
    estimate: 2 + (smoke ? 0 : 1) + workloads.length * (SECONDS + 0.3) + (workloads.includes("burst") ? 1 : 0),
    run: () =>
      onContender(contender, WORKERS, async (running) => {
        // JIT warm-up, not measured: the first requests a runtime serves cost several times the later ones.
        if (!smoke) await wrkRun(running, "keepalive", 1);
        for (const workload of workloads) {
          const sample =
            workload === "burst" ? await burstRun(running, burst, BURST) : await wrkRun(running, workload, SECONDS);
          const key = keyOf(contender.id, workload);
          load.set(key, [...(load.get(key) ?? []), sample]);
          if (sample.requests === 0) throw new Error(`${workload}: no request was answered`);
        }
      }),
  };
}

function wakeupStep(contender: ContenderSpec, workers: number, round: number): Step {
  return {
    what: `wake-ups round ${round}/${ROUNDS} · ${contender.id} · ${workers} workers`,
    estimate: 2 + (WAKEUP_MS / 1000) * 3 + 1,
    run: () =>
      onContender(contender, workers, async (running) => {
        const key = `${contender.id}\u0000${workers}`;
        wakeups.set(key, [...(wakeups.get(key) ?? []), await wakeupRun(running, WAKEUP_MS)]);
      }),
  };
}

function reloadStep(contender: ContenderSpec, how: string): Step {
  return {
    what: `reloads · ${contender.id} · ${RELOADS} × ${how}`,
    estimate: 3 + RELOADS * 1.5,
    run: () =>
      onContender(contender, WORKERS, async (running) => {
        reloads.push({ contender: contender.id, sample: await reloadRun(running, RELOADS, how) });
      }),
  };
}

/**
 * After the rounds: more connection-per-request runs for a plain reuseport
 * run contender whose rounds counted fewer connections than the CV target
 * asks for, as long as the rate it showed says, counted for the balance
 * figures only (its other figures stay the interleaved rounds' own).
 */
function balanceStep(contender: ContenderSpec): Step {
  return {
    what: `balance · ${contender.id} · up to ${BALANCE_CONNECTIONS.toLocaleString("en")} connections counted`,
    estimate: 6,
    run: async () => {
      const before = connectionsPerWorker({ load: measuredLoad(), balanceRuns }, contender.id).reduce(
        (sum, n) => sum + n,
        0,
      );
      const missing = BALANCE_CONNECTIONS - before;
      if (missing <= 0) return;
      const rates = (load.get(keyOf(contender.id, "close")) ?? []).map((sample) => sample.rps);
      const rate = rates.length > 0 ? Math.min(...rates) : 0;
      if (rate === 0) return;
      // wrk takes whole seconds; 30 at most, so that a very slow contender cannot hold the run up.
      const seconds = Math.min(30, Math.ceil((missing / rate) * 1.1));
      console.log(`  ${before.toLocaleString("en")} counted: ${seconds} s more of close`);
      await onContender(contender, WORKERS, async (running) => {
        const sample = await wrkRun(running, "close", seconds);
        balanceRuns.push({ contender: contender.id, seconds, perWorker: sample.perWorker });
      });
    },
  };
}

const steps: Step[] = [];
// Rounds alternate the contenders (A B C … A B C …), so that drift on the machine falls on all of them alike.
for (let round = 1; round <= ROUNDS; round++) for (const c of chosen) steps.push(loadStep(c, round));
if (!smoke) for (const c of chosen.filter(isHashedReuseport)) steps.push(balanceStep(c));
for (let round = 1; round <= ROUNDS; round++)
  for (const workers of WAKEUP_WORKERS)
    for (const c of chosen.filter((c) => c.wakeups)) steps.push(wakeupStep(c, workers, round));
for (const c of chosen) if (c.reloads !== undefined) steps.push(reloadStep(c, c.reloads));

const clock = (seconds: number): string => {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
};

const command = `${smoke ? "BENCH_SMOKE=1 " : ""}npm run bench:workers`;
console.log(
  `${command}: ${chosen.length} contenders, ${WORKERS} workers each (wake-ups: ${WAKEUP_WORKERS.join(" and ")}), ` +
    `${ROUNDS} round(s) of ${SECONDS} s per run, ${steps.length} steps, about ${clock(steps.reduce((s, x) => s + x.estimate, 0))}`,
);
const startedAt = new Date();
const t0 = performance.now();
let estimatedDone = 0;
let estimatedLeft = steps.reduce((sum, step) => sum + step.estimate, 0);
for (const step of steps) {
  const elapsed = (performance.now() - t0) / 1000;
  // The estimates scaled by how fast the run has gone so far.
  const pace = estimatedDone > 0 ? elapsed / estimatedDone : 1;
  console.log(`[${clock(elapsed)} · ~${clock(estimatedLeft * pace)} left] ${step.what}`);
  await step.run();
  estimatedDone += step.estimate;
  estimatedLeft -= step.estimate;
}

// ─── The report ────────────────────────────────────────────────────────────

const measured: Omit<Results, "targets"> = {
  command,
  startedAt: startedAt.toISOString(),
  durationSeconds: Math.round((performance.now() - t0) / 1000),
  smoke,
  rounds: ROUNDS,
  secondsPerRun: SECONDS,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    kernel: release(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  },
  versions,
  contenders: chosen.map(({ id, label, runtime, family, server }) => ({ id, label, runtime, family, server })),
  workers: WORKERS,
  load: measuredLoad(),
  balanceRuns,
  wakeups: [...wakeups].map(([key, samples]) => {
    const [contender = "", workers = "0"] = key.split("\u0000");
    return { contender, workers: Number(workers), samples };
  }),
  reloads,
  notes,
};
const results: Results = { ...measured, targets: judgeTargets(measured) };
// One note per caveat, however many contenders it is about.
for (const contender of chosen)
  if (contender.caveat !== undefined && !notes.includes(contender.caveat)) notes.push(contender.caveat);
for (const { contender, workload, samples } of measured.load) {
  const failed = samples.reduce((sum, s) => sum + s.failed, 0);
  if (failed === 0) continue;
  const kinds: Record<string, number> = {};
  for (const sample of samples)
    for (const [kind, n] of Object.entries(sample.errors ?? {})) kinds[kind] = (kinds[kind] ?? 0) + n;
  const label = chosen.find((c) => c.id === contender)?.label ?? contender;
  const byKind = Object.entries(kinds).map(([kind, n]) => `${kind} ${n.toLocaleString("en")}`);
  notes.push(`${label}, ${workload}: ${failed.toLocaleString("en")} failed over the rounds (${byKind.join(", ")})`);
}
if (process.env.BENCH_JSON !== undefined)
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(results, null, 1)}\n`);
const written = await writeReport(results, {
  markdownPath: join(OUT, "RESULTS.md"),
  chartsDir: join(OUT, "results"),
  chartsHref: "results",
});
console.log(`\nwrote ${written.length} files: ${join(OUT, "RESULTS.md")} and its charts`);
for (const target of results.targets)
  console.log(`${target.met === null ? "—" : target.met ? "✓" : "✗"} ${target.name}: ${target.detail}`);
const missed = results.targets.filter((t) => t.met === false).length;
if (failures > 0) console.log(`\n${failures} contender run(s) failed (see the notes in RESULTS.md)`);
console.log(`${clock((performance.now() - t0) / 1000)} in all`);
process.exit(failures > 0 ? 1 : exitCodeFor(missed));
