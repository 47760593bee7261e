// `supervise({ selfBind: true })` (`reuseport run --self-bind`): workers bind
// their own sockets, for servers that cannot serve an inherited fd (Bun.serve,
// Deno.serve). A closing member's queue is reset by Linux unless
// net.ipv4.tcp_migrate_req is 1, so the supervisor (with the preload) keeps
// an anchor as member 0 of the group, lets workers join one at a time and
// steers new connections only to the members of ready, current workers; a
// worker it stops gets nothing new first, and its queue has stayed empty
// when it closes. Each case runs test/load/self-bind-driver.ts (supervisor,
// 2 workers, a load client in another process counting every failure, 5
// reloads) in a network namespace of its own whose tcp_migrate_req root
// first sets to 0; the host's own setting is never touched.
//   - as uid 65534 (no privilege, tcp_migrate_req 0), steered: no request
//     fails, with the library's examples/workers/listen.ts, with a worker busy
//     for 50 ms when SIGTERM comes, with unchanged Bun.serve and Deno.serve
//     apps (only what their own stop drops may fail);
//   - the contrast, the same busy worker unsteered (--no-preload: no anchor,
//     no turns): its queued connections are reset at every close;
//   - as root, asked for tcp_migrate_req (tcpMigrateReq), the supervisor turns
//     it on and says so; not asked, it leaves it at 0.
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { type DriverReport, expectOnly, expectServed } from "./load/_driver-report.ts";
import { runInNamespace as runDriver } from "./load/_namespace.ts";

const RELOADS = 5;
const PORT = 8080;
const STEERED_AT_0 =
  "net.ipv4.tcp_migrate_req is 0; the supervisor steers new connections away from a worker and lets its queue empty before it stops it, so nothing queued is reset";
const TURNED_ON =
  "turned on net.ipv4.tcp_migrate_req for this network namespace, as asked: a closing worker's queue moves to the others";

interface Case {
  /** The worker app, from the repository root. */
  readonly app: string;
  readonly runtime: RuntimeId;
  readonly runtimeArgs?: readonly string[];
  readonly appArgs?: readonly string[];
}

const driver = join(root, "test/load/self-bind-driver.ts");
const busyWorker: Case = {
  app: "test/load/self-bind-driver.ts",
  runtime: "node26",
  appArgs: ["worker", String(PORT), "--busy-at-stop-ms", "50"],
};

/** Runs the driver in a fresh network namespace (tcp_migrate_req=0), as root or as uid 65534. */
function runInNamespace(
  worker: Case,
  as: "root" | "nobody",
  {
    askMigration = true,
    steered = true,
    churn = false,
  }: { askMigration?: boolean; steered?: boolean; churn?: boolean } = {},
): Promise<DriverReport> {
  const [executable, ...rest] = runtimes[worker.runtime].argv("x") as [string, ...string[]];
  const runtime = worker.runtime === "bun" ? "bun" : worker.runtime === "deno" ? "deno" : "node";
  const flags = worker.runtimeArgs ?? (runtime === "node" ? rest.slice(0, -1) : []);
  const argv = runtimes.node26.argv(driver, [
    "--app",
    join(root, worker.app),
    "--runtime",
    runtime,
    "--exec",
    executable,
    // One word, so that flags starting with "--" stay its value.
    `--runtime-args=${flags.join(" ")}`,
    "--port",
    String(PORT),
    "--reloads",
    String(RELOADS),
    ...(worker.appArgs === undefined ? [] : ["--app-args", JSON.stringify(worker.appArgs)]),
    ...(askMigration ? ["--tcp-migrate-req"] : []),
    ...(steered ? [] : ["--no-preload"]),
    ...(churn ? ["--churn"] : []),
  ]);
  return runDriver<DriverReport>(argv, as, { cwd: root, timeoutMs: 45_000 });
}

/** Failures by the reload they followed (client clock). */
function perReload(report: DriverReport): number[] {
  const starts = report.reloads.map((reload) => reload.atMs ?? Number.POSITIVE_INFINITY);
  const counts = starts.map(() => 0);
  for (const [, endMs] of report.failures) {
    const after = starts.findLastIndex((atMs) => atMs <= endMs);
    if (after !== -1) counts[after] = (counts[after] ?? 0) + 1;
  }
  return counts;
}

function summary(report: DriverReport): string {
  const errors = Object.entries(report.errors).map(([kind, n]) => `${kind} ${n}`);
  return `${report.ok + report.failed} requests, ${report.failed} failed${errors.length > 0 ? ` (${errors.join(", ")})` : ""}; per reload: ${perReload(report).join(", ")}`;
}

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`--self-bind, ${RELOADS} reloads under load:\n${figures.join("\n")}`);
});

test("as root but not asked, the supervisor leaves tcp_migrate_req at 0 and says what that means", async () => {
  const report = await runInNamespace({ app: "examples/workers/listen.ts", runtime: "node26" }, "root", {
    askMigration: false,
  });
  expect(report.uid).toBe(0);
  expect(report.migrateReqAfter).toBe("0");
  expect(report.notices).toEqual([STEERED_AT_0]);
  expectServed(report);
}, 50_000);

describe("as root in its namespace and asked, the supervisor turns tcp_migrate_req on: reloads fail no request", () => {
  // Workers built on the library hand out what they accepted (listen.ts drains; the busy worker's
  // loop has taken everything before it closes), and the kernel moves what is still queued.
  const library: [string, Case][] = [
    ["examples/workers/listen.ts (node26)", { app: "examples/workers/listen.ts", runtime: "node26" }],
    ["a worker busy for 50 ms at SIGTERM (node26)", busyWorker],
  ];
  for (const [name, worker] of library) {
    test(name, async () => {
      const report = await runInNamespace(worker, "root");
      figures.push(`  root, ${name}: ${summary(report)}`);
      expect(report.uid).toBe(0);
      expect(report.notices).toEqual([TURNED_ON]);
      expect(report.migrateReqAfter).toBe("1");
      expectServed(report);
      expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    }, 50_000);
  }

  // Bun.serve's stop() and Deno.serve's shutdown() close a connection they
  // accepted whose request has not arrived yet (Bun with a reset, Deno with
  // an empty response: see the examples' headers). That is the server's own
  // stop, not the kernel's queue: failures may only be of that kind, and at
  // most one per worker stopped. (Deno's are told apart from a kernel reset;
  // Bun's are not.)
  const runtimeServers: [string, Case, string][] = [
    ["examples/workers/bun-serve.ts (bun)", { app: "examples/workers/bun-serve.ts", runtime: "bun" }, "ECONNRESET"],
    [
      "examples/workers/deno-serve.ts (deno)",
      { app: "examples/workers/deno-serve.ts", runtime: "deno", runtimeArgs: ["--allow-net", "--unstable-net"] },
      "empty-response",
    ],
  ];
  for (const [name, worker, drop] of runtimeServers) {
    test(`${name}: reloads fail at most the few the server's own stop drops`, async () => {
      const report = await runInNamespace(worker, "root");
      figures.push(`  root, ${name}: ${summary(report)}`);
      expect(report.uid).toBe(0);
      expect(report.notices).toEqual([TURNED_ON]);
      expect(report.migrateReqAfter).toBe("1");
      expectServed(report);
      expectOnly(report, drop, 2 * RELOADS);
    }, 50_000);
  }
});

// Unchanged Bun.serve and Deno.serve apps (test/apps/, importing nothing of
// reuseport): the preload binds their serve with reusePort on the served
// address, says READY=1 and stops them with their own graceful stop. What
// may fail is only what the server's own stop drops (the kind named here).
const unchanged: [string, Case, string][] = [
  ["a Bun.serve default export (bun)", { app: "test/apps/bun-default.ts", runtime: "bun", appArgs: [] }, "ECONNRESET"],
  ["Hono on Bun (bun)", { app: "test/apps/bun-hono.ts", runtime: "bun", appArgs: [] }, "ECONNRESET"],
  ["Elysia (bun)", { app: "test/apps/bun-elysia.ts", runtime: "bun", appArgs: [] }, "ECONNRESET"],
  [
    "Hono on Deno.serve (deno -A)",
    { app: "test/apps/deno-hono.ts", runtime: "deno", runtimeArgs: ["-A"], appArgs: [] },
    "empty-response",
  ],
];

describe("as uid 65534, with tcp_migrate_req 0, steered: reloads fail nothing the kernel resets", () => {
  const steeredCases: [string, Case, string | undefined][] = [
    ["examples/workers/listen.ts (node26)", { app: "examples/workers/listen.ts", runtime: "node26" }, undefined],
    ["a worker busy for 50 ms at SIGTERM (node26)", busyWorker, undefined],
    ...unchanged,
  ];
  for (const [name, worker, drop] of steeredCases) {
    test(name, async () => {
      const report = await runInNamespace(worker, "nobody", { askMigration: false });
      figures.push(`  uid 65534, steered, ${name}: ${summary(report)}`);
      expect(report.uid).toBe(65534);
      expect(report.migrateReqAfter).toBe("0");
      expect(report.notices).toEqual([STEERED_AT_0]);
      expectServed(report);
      expectOnly(report, drop, drop === undefined ? 0 : 2 * RELOADS);
    }, 60_000);
  }

  test("the record of each worker's place holds under churn: kill -9, restart, reload, scale 2 → 4 → 2 → 4, reload", async () => {
    const report = await runInNamespace({ app: "test/apps/bun-default.ts", runtime: "bun", appArgs: [] }, "nobody", {
      askMigration: false,
      churn: true,
    });
    figures.push(
      `  uid 65534, steered, churn with a Bun.serve app: ${summary(report)}; anchor queue ${report.anchorQueues.join(", ")}, SYNs dropped on full queues ${report.overflows}`,
    );
    const detail = JSON.stringify({ ...report, bodies: undefined });
    expect(report.notices, "the record never lost count").toEqual([STEERED_AT_0]);
    expect(
      report.reloads.every((r) => r.ok),
      detail,
    ).toBe(true);
    // The anchor never took a connection: its queue holds just its own two.
    expect(
      report.anchorQueues.every((q) => q === 2),
      detail,
    ).toBe(true);
    // What fails is only what the killed worker had accepted: requests in flight at the kill.
    const kill = report.marks.kill as number;
    for (const [startMs] of report.failures) expect(startMs, detail).toBeLessThanOrEqual(kill + 50);
    expect(report.failed, detail).toBeLessThanOrEqual(32);
    // A SYN the stale program sends to the full anchor between the kill and the re-steer is dropped and resent.
    expect(report.overflows, detail).toBeLessThanOrEqual(10);
  }, 60_000);

  test("contrast: the busy worker unsteered (--no-preload: no anchor, no turns) has its queued connections reset", async () => {
    const report = await runInNamespace(busyWorker, "nobody", { askMigration: false, steered: false });
    figures.push(`  uid 65534, unsteered, a worker busy for 50 ms at SIGTERM (node26): ${summary(report)}`);
    expect(report.uid).toBe(65534);
    expect(report.notices).toHaveLength(1);
    expect(report.notices[0]).toMatch(/tcp_migrate_req is 0; a closing worker's queued connections are reset/);
    expectServed(report);
    expect(report.errors.ECONNRESET ?? 0, JSON.stringify(report.failures)).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("asked for tcp_migrate_req without the right to write it, the supervisor says so and steers", async () => {
    const report = await runInNamespace({ app: "examples/workers/listen.ts", runtime: "node26" }, "nobody");
    expect(report.migrateReqAfter).toBe("0");
    expect(report.notices).toEqual([
      "net.ipv4.tcp_migrate_req is 0 and may not be changed here; the supervisor steers new connections away from a worker and lets its queue empty before it stops it, so nothing queued is reset",
    ]);
    expectServed(report);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
  }, 60_000);
});
