// Steering that follows the queues ("stall-aware", "queue"), against the
// kernel's hash and a shared socket, under load from a client in another
// process that times and counts every request.
import assert from "node:assert/strict";
import process from "node:process";
import type { SteerPolicyName } from "../../src/node.ts";
import { type LoadOptions, type LoadResult, loadClientScript, startLoadClient } from "../load/_spawn.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { describeFailures, scenario, start, stopCleanly } from "./supervisor-scenarios.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The p-th percentile of the request latencies (ms) of `samples`. */
function percentile(samples: LoadResult["samples"], p: number): number {
  const latencies = samples.map(([begin, end]) => end - begin).sort((a, b) => a - b);
  return latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
}

const slotOf = (outcome: string): string => outcome.split("-")[0] as string;

interface StallRun {
  readonly result: LoadResult;
  /** ms from the stall to the supervisor's "stalled" event (undefined without one). */
  readonly detectedMs: number | undefined;
  /** Requests started from detection to the stall's end, and how many of them slot 0 answered. */
  readonly window: { readonly total: number; readonly stalled: number };
  readonly p95: number;
  readonly p99: number;
  readonly unstalled: boolean;
}

const STALL_MS = 2000;

/** 2 workers under steady load; slot 0's worker blocks its event loop for 2 s. */
async function stallRun(context: Context, steer: SteerPolicyName): Promise<StallRun> {
  const { supervisor, events, port } = await start(context, ["--stall-on-signal-ms", String(STALL_MS)], {
    steer,
  });
  const options: LoadOptions = { port, concurrency: 64, rate: 400, durationMs: 60_000 };
  const client = startLoadClient(context.host.command(loadClientScript, []), options);
  await client.started;
  await sleep(300);
  const victim = supervisor.workers().find((w) => w.slot === 0);
  assert.ok(victim, "slot 0 has a worker");
  client.mark("stall");
  const stalledAt = Date.now();
  process.kill(victim.pid, "SIGUSR2");
  let detectedMs: number | undefined;
  while (Date.now() - stalledAt < STALL_MS + 300) {
    if (detectedMs === undefined && events.some((e) => e.type === "stalled" && e.slot === 0)) {
      detectedMs = Date.now() - stalledAt;
      client.mark("detected");
    }
    await sleep(5);
  }
  const result = await client.stop();
  const unstalled = events.some((e) => e.type === "unstalled" && e.slot === 0);
  await stopCleanly(supervisor);
  const stall = result.marks.stall ?? 0;
  const from = result.marks.detected ?? stall;
  const during = result.samples.filter(([begin]) => begin >= stall && begin < stall + STALL_MS);
  const inWindow = during.filter(([begin]) => begin >= from);
  return {
    result,
    detectedMs,
    window: { total: inWindow.length, stalled: inWindow.filter(([, , o]) => slotOf(o) === "0").length },
    p95: percentile(during, 95),
    p99: percentile(during, 99),
    unstalled,
  };
}

export const balanceScenarios: Scenario[] = [
  scenario(
    'steer: "stall-aware": a worker that blocks for 2 s gets at most 5% of new connections once detected, none fails; p95 and p99 against "hash"',
    async (context) => {
      const hash = await stallRun(context, "hash");
      const aware = await stallRun(context, "stall-aware");
      process.stdout.write(
        `# stall of 2 s: detected after ${aware.detectedMs} ms; slot 0 got ${aware.window.stalled} of ${aware.window.total} new connections after that (hash: ${hash.window.stalled} of ${hash.window.total}); p95/p99 ${aware.p95}/${aware.p99} ms against ${hash.p95}/${hash.p99} ms with hash\n`,
      );
      assert.equal(aware.result.failed, 0, describeFailures(aware.result));
      assert.equal(hash.result.failed, 0, describeFailures(hash.result));
      assert.ok(aware.detectedMs !== undefined, "a stalled event");
      // The default stallMs (100) plus a sample or two.
      assert.ok(aware.detectedMs <= 300, `detected after ${aware.detectedMs} ms`);
      assert.ok(aware.unstalled, "an unstalled event once the worker emptied its queue");
      assert.ok(aware.window.total >= 200, `${aware.window.total} requests during the stall: the load went on`);
      assert.ok(
        aware.window.stalled <= aware.window.total * 0.05,
        `slot 0 got ${aware.window.stalled} of ${aware.window.total} new connections while stalled`,
      );
      // The contrast: the hash keeps sending the stalled worker its share.
      assert.ok(hash.window.stalled >= hash.window.total * 0.2, `hash: slot 0 got ${hash.window.stalled}`);
      // The connections queued on the stalled socket before detection wait out
      // the stall (2–3% of the window here), so p99 stays near it; p95 shows the rest.
      assert.ok(aware.p95 * 4 < hash.p95, `p95 ${aware.p95} ms with stall-aware, ${hash.p95} ms with hash`);
    },
  ),
  scenario(
    'steer: "queue": a worker busy for 2 s is passed over from the next sample on, none fails, and gets its share again once it catches up',
    async (context) => {
      const hash = await stallRun(context, "hash");
      const queue = await stallRun(context, "queue");
      const after = (run: StallRun) => {
        const stall = run.result.marks.stall ?? 0;
        // From a moment after the block, once the worker has emptied what was queued on it.
        const later = run.result.samples.filter(([begin]) => begin >= stall + STALL_MS + 100);
        return { total: later.length, slot0: later.filter(([, , o]) => slotOf(o) === "0").length };
      };
      const [hashAfter, queueAfter] = [after(hash), after(queue)];
      process.stdout.write(
        `# a worker busy for 2 s: slot 0 got ${queue.window.stalled} of ${queue.window.total} connections started meanwhile with "queue" (hash: ${hash.window.stalled} of ${hash.window.total}), then ${queueAfter.slot0} of ${queueAfter.total} (hash: ${hashAfter.slot0} of ${hashAfter.total}); p95/p99 ${queue.p95}/${queue.p99} ms against ${hash.p95}/${hash.p99} ms\n`,
      );
      assert.equal(queue.result.failed, 0, describeFailures(queue.result));
      assert.equal(hash.result.failed, 0, describeFailures(hash.result));
      assert.ok(queue.window.total >= 200, `${queue.window.total} requests during the block: the load went on`);
      // Sampled every 5 ms, the busy worker's socket is left out once a connection waits on it.
      assert.ok(
        queue.window.stalled <= queue.window.total * 0.05,
        `slot 0 got ${queue.window.stalled} of ${queue.window.total} new connections while busy`,
      );
      assert.ok(hash.window.stalled >= hash.window.total * 0.2, `hash: slot 0 got ${hash.window.stalled}`);
      // Its queue empty again, the worker is no longer passed over.
      assert.ok(queueAfter.total >= 40, `${queueAfter.total} requests after the block`);
      assert.ok(
        queueAfter.slot0 >= queueAfter.total * 0.2,
        `slot 0 got ${queueAfter.slot0} of ${queueAfter.total} after the block`,
      );
      // How much the policies' waits differ under a mix of short and long
      // requests is a benchmark's figure, not a test's: bench:workers
      // measures it (cpu-heavy, with hash, "queue" and a shared socket).
    },
  ),
];
