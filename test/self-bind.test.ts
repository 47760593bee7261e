// `supervise({ selfBind: true })` (`reuseport run --self-bind`): workers bind
// their own sockets, for servers that cannot serve an inherited fd (Bun.serve,
// Deno.serve). A stopping worker then closes its socket, and Linux resets the
// connections queued on it unless net.ipv4.tcp_migrate_req is 1, which the
// supervisor turns on only when asked (tcpMigrateReq). Each case runs test/load/self-bind-driver.ts
// (supervisor, 2 workers, a load client in another process counting every
// failure, 5 reloads) in a network namespace of its own whose tcp_migrate_req
// root first sets to 0; the host's own setting is never touched.
//   - as root in the namespace but not asked, it leaves the setting at 0 and
//     says what that means;
//   - as root in the namespace and asked, it turns it on, says so, and no
//     request fails: with examples/workers/listen.ts, and with a worker that
//     is busy for 50 ms when SIGTERM comes, so that connections wait in its
//     queue every time it closes; Bun.serve and Deno.serve (bun-serve.ts,
//     deno-serve.ts) lose none to the kernel either, but their own stop can
//     drop a connection they had just accepted;
//   - as uid 65534 it may not: it says that connections may be reset, and
//     with that busy worker they are.
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { runInNamespace as runDriver } from "./load/_namespace.ts";

const RELOADS = 5;
const PORT = 8080;
const TURNED_ON =
  "turned on net.ipv4.tcp_migrate_req for this network namespace, as asked: a closing worker's queue moves to the others";

interface DriverReport {
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
  readonly failures: readonly (readonly [number, number, string])[];
}

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
function runInNamespace(worker: Case, as: "root" | "nobody", askMigration = true): Promise<DriverReport> {
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
  ]);
  return runDriver<DriverReport>(argv, as, { cwd: root, timeoutMs: 45_000 });
}

/** The generation in a body: "Bun.serve slot 0 generation 3 pid 42" or "0-3-42". */
function generationOf(body: string): number {
  return Number(/generation (\d+)/.exec(body)?.[1] ?? /^\d+-(\d+)-/.exec(body)?.[1]);
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

/** What every run must show: the reloads worked, every generation answered, the workers stopped cleanly. */
function expectServed(report: DriverReport): void {
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

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`--self-bind, ${RELOADS} reloads under load:\n${figures.join("\n")}`);
});

test("as root but not asked, the supervisor leaves tcp_migrate_req at 0 and says what that means", async () => {
  const report = await runInNamespace({ app: "examples/workers/listen.ts", runtime: "node26" }, "root", false);
  expect(report.uid).toBe(0);
  expect(report.migrateReqAfter).toBe("0");
  expect(report.notices).toEqual([
    "net.ipv4.tcp_migrate_req is 0; a closing worker's queued connections are reset (tcpMigrateReq, --tcp-migrate-req, turns it on as root)",
  ]);
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
      const failures = JSON.stringify(report.failures);
      expect(
        Object.keys(report.errors).filter((kind) => kind !== drop),
        failures,
      ).toEqual([]);
      expect(report.failed, failures).toBeLessThanOrEqual(2 * RELOADS);
    }, 50_000);
  }
});

// Unchanged Bun.serve and Deno.serve apps (test/apps/, importing nothing of
// reuseport): the preload binds their serve with reusePort on the served
// address, says READY=1 and stops them with their own graceful stop. With
// tcp_migrate_req on, what fails is only what the server's own stop drops.
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

describe("unchanged Bun.serve and Deno.serve apps, as root and asked for tcp_migrate_req", () => {
  for (const [name, worker, drop] of unchanged) {
    test(`${name}: reloads fail at most the few the server's own stop drops`, async () => {
      const report = await runInNamespace(worker, "root");
      figures.push(`  root, unchanged ${name}: ${summary(report)}`);
      expect(report.notices).toEqual([TURNED_ON]);
      expectServed(report);
      const failures = JSON.stringify(report.failures);
      expect(
        Object.keys(report.errors).filter((kind) => kind !== drop),
        failures,
      ).toEqual([]);
      expect(report.failed, failures).toBeLessThanOrEqual(2 * RELOADS);
    }, 50_000);
  }
});

describe("as uid 65534 it may not, though asked: the supervisor says connections may be reset", () => {
  test("examples/workers/listen.ts (node26), which stops at once: the count is reported", async () => {
    const report = await runInNamespace({ app: "examples/workers/listen.ts", runtime: "node26" }, "nobody");
    figures.push(`  uid 65534, examples/workers/listen.ts (node26): ${summary(report)}`);
    expect(report.uid).toBe(65534);
    expect(report.migrateReqAfter).toBe("0");
    expect(report.notices).toHaveLength(1);
    expect(report.notices[0]).toMatch(/tcp_migrate_req is 0 and may not be changed here.*connections are reset/);
    expectServed(report);
  }, 50_000);

  test("a worker busy for 50 ms at SIGTERM (node26): its queued connections are reset", async () => {
    const report = await runInNamespace(busyWorker, "nobody");
    figures.push(`  uid 65534, a worker busy for 50 ms at SIGTERM (node26): ${summary(report)}`);
    expect(report.uid).toBe(65534);
    expect(report.migrateReqAfter).toBe("0");
    expect(report.notices).toHaveLength(1);
    expect(report.notices[0]).toMatch(/tcp_migrate_req is 0 and may not be changed here.*connections are reset/);
    expectServed(report);
    expect(report.errors.ECONNRESET ?? 0, JSON.stringify(report.failures)).toBeGreaterThanOrEqual(1);
  }, 50_000);
});
