// The measurements bench:workers takes of a running contender: timed wrk
// runs and a burst of connections (throughput, CPU per request, latency,
// each worker's share), a paced run that counts wake-ups, and a steady
// load across reloads that counts failed requests.
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { root, runtimes } from "../../test/_runtimes.ts";
import { loadClientScript, startLoadClient } from "../../test/load/_spawn.ts";
import { clockTicks } from "../_driver.ts";
import type { Running } from "./_contenders.ts";
import { sleep, start, tree, treesCpuTicks, voluntarySwitches } from "./_process.ts";
import type { LoadSample, ReloadSample, WakeupSample, Workload } from "./_results.ts";

const run = promisify(execFile);
const wrkScript = join(root, "bench", "workers", "wrk-report.lua");

/** wrk's connections per workload: enough to keep two workers busy; fewer for the CPU-heavy one, whose queue is the point. */
const CONNECTIONS: Record<Exclude<Workload, "burst">, number> = { close: 50, keepalive: 50, "cpu-heavy": 16 };

/** What wrk-report.lua prints. */
interface WrkReport {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  workers: Record<string, number>;
}

/** CPU ticks of the contender's processes across `work`, with what it returned. */
async function withCpu<T>(running: Running, work: () => Promise<T>): Promise<{ value: T; cpuUs: number }> {
  const roots = running.roots();
  const before = treesCpuTicks(roots);
  const value = await work();
  const cpuUs = ((treesCpuTicks(roots) - before) / clockTicks) * 1e6;
  return { value, cpuUs };
}

/** One wrk run of `seconds` against the contender (close, keepalive or cpu-heavy). */
export async function wrkRun(
  running: Running,
  workload: Exclude<Workload, "burst">,
  seconds: number,
): Promise<LoadSample> {
  const args = ["-t1", `-c${CONNECTIONS[workload]}`, `-d${seconds}s`, "--timeout", "5s", "-s", wrkScript];
  if (workload !== "keepalive") args.push("-H", "Connection: close");
  args.push(`http://127.0.0.1:${running.port}/`, "--");
  if (workload === "close") args.push("count");
  if (workload === "cpu-heavy") args.push("slow-every", "20");
  const { value, cpuUs } = await withCpu(running, () => run("wrk", args, { maxBuffer: 1 << 20 }));
  const report = JSON.parse(value.stdout.trim().split("\n").pop() ?? "") as WrkReport;
  const failed = report.connect + report.read + report.write + report.status + report.timeout;
  const elapsed = report.durationUs / 1e6;
  return {
    requests: report.requests - report.status,
    failed,
    seconds: elapsed,
    rps: (report.requests - report.status) / elapsed,
    cpuUsPerRequest: cpuUs / Math.max(1, report.requests - report.status),
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    p999Ms: report.p999Us / 1000,
    perWorker: Object.entries(report.workers)
      .filter(([worker]) => worker !== "none")
      .map(([, n]) => n)
      .sort((a, b) => b - a),
    errors: nonZero({
      connect: report.connect,
      read: report.read,
      write: report.write,
      timeout: report.timeout,
      status: report.status,
    }),
  };
}

const nonZero = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

/** What burst.c prints. */
interface BurstReport {
  requests: number;
  seconds: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  errors: Record<string, number>;
  workers: Record<string, number>;
}

/** `connections` connections opened at once, a request on each (burst.c, compiled by the caller). */
export async function burstRun(running: Running, burst: string, connections: number): Promise<LoadSample> {
  const { value, cpuUs } = await withCpu(running, () =>
    run(burst, [String(running.port), String(connections), "20"], { maxBuffer: 1 << 20 }),
  );
  const report = JSON.parse(value.stdout.trim()) as BurstReport;
  return {
    requests: report.requests,
    failed: Object.values(report.errors).reduce((sum, n) => sum + n, 0),
    seconds: report.seconds,
    rps: report.requests / report.seconds,
    cpuUsPerRequest: cpuUs / Math.max(1, report.requests),
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    p999Ms: report.p999Us / 1000,
    perWorker: Object.values(report.workers).sort((a, b) => b - a),
    errors: nonZero(report.errors),
  };
}

/** The paced client of the wake-up runs: a connection at a time, at a rate low enough that every worker sleeps between them. */
const PACED = { rate: 200, concurrency: 2 };

async function pacedRun(port: number, ms: number): Promise<number> {
  const client = startLoadClient(runtimes.node20.argv(loadClientScript), { port, ...PACED, durationMs: ms });
  const result = await client.done;
  if (result.failed > 0)
    throw new Error(`the paced client saw ${result.failed} failed requests: ${JSON.stringify(result.errors)}`);
  return result.ok;
}

/**
 * Wake-ups of a contender at a low steady rate. First its voluntary context
 * switches while idle, then across a paced run, less the idle rate. Then
 * the same run under strace, tracing accept calls and the calls a thread
 * waits in: a run of accepts between two waits is one wake-up to accept.
 * strace slows the workers, so its run is separate from the switches' one.
 */
export async function wakeupRun(running: Running, ms: number): Promise<WakeupSample> {
  const roots = running.roots();
  const idleStart = voluntarySwitches(roots);
  await sleep(ms);
  const idlePerMs = (voluntarySwitches(roots) - idleStart) / ms;
  const before = voluntarySwitches(roots);
  const t0 = performance.now();
  const accepted = await pacedRun(running.port, ms);
  const switches = voluntarySwitches(roots) - before - idlePerMs * (performance.now() - t0);
  const traced = await tracedAccepts(roots, () => pacedRun(running.port, ms));
  // Per connection as strace saw them, scaled to the switches' run, so all three share one count.
  const scale = accepted / Math.max(1, traced.accepted);
  return {
    accepted,
    acceptWakeups: traced.wakeups * scale,
    futileAccepts: traced.futile * scale,
    voluntarySwitches: switches,
  };
}

/** The calls a thread sleeps in until there is work. */
const WAITS = ["epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "futex"];

/** Accepts, futile accepts and wake-ups to accept of every thread in the trees while `work` runs. */
async function tracedAccepts(
  roots: readonly number[],
  work: () => Promise<number>,
): Promise<{ accepted: number; futile: number; wakeups: number }> {
  const output = join(tmpdir(), `reuseport-bench-strace-${process.pid}-${Date.now()}`);
  const pids = roots.flatMap(tree).flatMap((pid) => ["-p", String(pid)]);
  const trace = `trace=accept,accept4,${WAITS.join(",")}`;
  const strace = start(["strace", "-f", "-qq", "-e", trace, "-e", "signal=none", "-o", output, ...pids]);
  // strace has attached once its first call shows up in the file, or after a moment (-qq prints nothing).
  await sleep(500);
  try {
    await work();
  } finally {
    const exited = new Promise((resolve) => strace.child.once("exit", resolve));
    strace.child.kill("SIGINT");
    await exited;
  }
  let accepted = 0;
  let futile = 0;
  let wakeups = 0;
  const accepting = new Set<string>();
  for (const line of readFileSync(output, "utf8").split("\n")) {
    // "<tid> accept4(3, …) = 7", "<tid> epoll_wait(5, <unfinished ...>", "<tid> <... epoll_wait resumed>…) = 1"
    const match = line.match(/^(\d+)\s+(<\.\.\. )?(\w+)/);
    if (match === null) continue;
    const [, tid = "", resumed, name = ""] = match;
    if (name === "accept" || name === "accept4") {
      if (line.includes("<unfinished ...>")) continue;
      if (!accepting.has(tid)) wakeups++;
      accepting.add(tid);
      if (/= -1 E/.test(line)) futile++;
      else if (/= \d+/.test(line)) accepted++;
    } else if (resumed === undefined && WAITS.includes(name)) {
      accepting.delete(tid);
    }
  }
  rmSync(output, { force: true });
  return { accepted, futile, wakeups };
}

/** A steady connection-per-request load across `reloads` reloads, counting what failed. */
export async function reloadRun(running: Running, reloads: number, how: string): Promise<ReloadSample> {
  const reload = running.reload;
  if (reload === undefined) throw new Error("this contender cannot reload");
  const client = startLoadClient(runtimes.node20.argv(loadClientScript), {
    port: running.port,
    rate: 500,
    concurrency: 16,
    timeoutMs: 5000,
  });
  await client.started;
  await sleep(300);
  for (let i = 0; i < reloads; i++) {
    await reload();
    await sleep(300);
  }
  const result = await client.stop();
  return { reloads, ok: result.ok, failed: result.failed, errors: result.errors, how };
}
