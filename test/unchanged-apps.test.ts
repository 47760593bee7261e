// Unchanged apps under the supervisor: real Express 5, Fastify 5 and Hono
// (on its Node server) apps in test/apps/, which import nothing of
// reuseport, served through the workers' preload. Each case runs
// test/load/self-bind-driver.ts --inherit (a supervisor with 2 workers on
// 127.0.0.1, a load client in another process counting every failure of
// connection-per-request traffic whose requests take about 20 ms, 5 reloads)
// as uid 65534 in a network namespace whose net.ipv4.tcp_migrate_req is 0:
// no privilege and no migration of queued connections. Every generation must answer and
// no request may fail. The contrast: the same Express app without the
// preload's drain, which exits on SIGTERM at once (a handler of its own,
// which the preload leaves alone), loses the requests in flight.
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { type DriverReport, expectServed } from "./load/_driver-report.ts";
import { runInNamespace } from "./load/_namespace.ts";

const RELOADS = 5;

const driver = join(root, "test/load/self-bind-driver.ts");

/** Runs the driver as uid 65534 with `app` on `runtime`; the runtime's flags are the user's own. */
function runAsNobody(
  app: string,
  runtime: RuntimeId,
  runtimeArgs: readonly string[],
  env: Record<string, string> = {},
  extra: readonly string[] = [],
): Promise<DriverReport> {
  const [executable, ...rest] = runtimes[runtime].argv("x") as [string, ...string[]];
  const name = runtime === "bun" ? "bun" : runtime === "deno" ? "deno" : "node";
  const flags = name === "node" ? [...rest.slice(0, -1), ...runtimeArgs] : [...runtimeArgs];
  const argv = runtimes.node26.argv(driver, [
    "--inherit",
    "--app",
    join(root, app),
    "--runtime",
    name,
    "--exec",
    executable,
    `--runtime-args=${flags.join(" ")}`,
    "--port",
    "8080",
    "--reloads",
    String(RELOADS),
    "--app-args",
    "[]",
    ...extra,
  ]);
  return runInNamespace<DriverReport>(argv, "nobody", { cwd: root, timeoutMs: 60_000, env });
}

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`unchanged apps, ${RELOADS} reloads under load:\n${figures.join("\n")}`);
});

const cases: [string, string, RuntimeId, string[]][] = [
  ["Express 5", "test/apps/express.mjs", "node20", []],
  ["Express 5", "test/apps/express.mjs", "node26", []],
  ["Fastify 5", "test/apps/fastify.mjs", "node20", []],
  ["Fastify 5", "test/apps/fastify.mjs", "node26", []],
  // Deno users pass -A; the supervisor adds nothing that conflicts with it.
  ["Hono's Node server", "test/apps/hono-node.mjs", "deno", ["-A"]],
];

describe("as uid 65534, an unchanged app serves the supervisor's sockets: reloads fail no request", () => {
  for (const [name, app, runtime, flags] of cases) {
    test(`${name} on ${runtime}`, async () => {
      const report = await runAsNobody(app, runtime, flags);
      const errors = Object.entries(report.errors).map(([kind, n]) => `${kind} ${n}`);
      figures.push(
        `  ${name} on ${runtime}: ${report.ok + report.failed} requests, ${report.failed} failed ${errors.join(", ")}`,
      );
      const detail = JSON.stringify({ ...report, bodies: undefined, failures: report.failures.slice(0, 20) });
      expect(report.uid).toBe(65534);
      expect(report.migrateReqBefore, "tcp_migrate_req is off, as on this host").toBe("0");
      expectServed(report);
      expect(report.failed, detail).toBe(0);
    }, 70_000);
  }
});

test("contrast: the same Express app exiting at SIGTERM by a handler of its own loses the requests in flight", async () => {
  const report = await runAsNobody("test/apps/express.mjs", "node26", [], { EXIT_ON_SIGTERM: "1" });
  figures.push(
    `  Express 5 on node26, exiting at SIGTERM: ${report.ok + report.failed} requests, ${report.failed} failed`,
  );
  expect(report.reloads.every((r) => r.ok)).toBe(true);
  expect(report.failed, JSON.stringify(report.errors)).toBeGreaterThan(0);
}, 70_000);

describe("a graceful stop under load (Express 5 on node26): every request a worker received is answered", () => {
  test("with the preload's drain: received = answered in every worker, each exits 0", async () => {
    const report = await runAsNobody("test/apps/express.mjs", "node26", [], {}, ["--stop-under-load"]);
    figures.push(`  Express 5 on node26, stopped under load: ${JSON.stringify(report.workerCounts)}`);
    expect(report.clean, "every worker exited 0").toBe(true);
    expect(report.workerCounts.length, "every worker said what it answered").toBeGreaterThanOrEqual(2 * (RELOADS + 1));
    for (const counts of report.workerCounts) expect(counts.answered, JSON.stringify(counts)).toBe(counts.received);
    // What fails is what the kernel still held once the workers had stopped accepting: never a request cut off.
    const stop = report.marks.stop as number;
    expect(Object.keys(report.errors).filter((kind) => kind !== "ECONNRESET" && kind !== "ECONNREFUSED")).toEqual([]);
    for (const [startMs] of report.failures) expect(startMs).toBeGreaterThanOrEqual(stop);
  }, 70_000);

  test("contrast: exiting at SIGTERM by its own handler, workers leave requests they received unanswered", async () => {
    const report = await runAsNobody("test/apps/express.mjs", "node26", [], { EXIT_ON_SIGTERM: "1" }, [
      "--stop-under-load",
    ]);
    const unanswered = report.workerCounts.reduce((sum, c) => sum + c.received - c.answered, 0);
    figures.push(
      `  Express 5 on node26 exiting at SIGTERM, stopped under load: ${unanswered} received and never answered`,
    );
    expect(unanswered).toBeGreaterThan(0);
  }, 70_000);
});

test("kill -9 of an Express worker, then a reload and scale 2 → 4 → 2 → 4: only what the killed worker had accepted is lost", async () => {
  const report = await runAsNobody("test/apps/express.mjs", "node26", [], {}, ["--churn"]);
  const kill = report.marks.kill as number;
  figures.push(`  Express 5 on node26, kill -9 then reloads and scaling: ${report.failed} failed, all at the kill`);
  const detail = JSON.stringify({ ...report, bodies: undefined });
  expect(
    report.reloads.every((r) => r.ok),
    detail,
  ).toBe(true);
  // Requests in flight on the killed worker: started before it died, and no more than the client keeps in flight.
  for (const [startMs] of report.failures) expect(startMs, detail).toBeLessThanOrEqual(kill + 50);
  expect(report.failed, detail).toBeLessThanOrEqual(32);
  expect(report.unexpected.length, "only the killed worker exited unasked").toBe(1);
}, 70_000);
