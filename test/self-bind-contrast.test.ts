// Why the group needs an owner: workers that each bind their own socket in
// the reuseport group lose connections whenever one restarts by
// close-and-rebind, because closing a listener resets every connection in
// its accept queue and every handshake still pending on it. Linux can move
// them to another member instead (net.ipv4.tcp_migrate_req=1), but that is a
// per-namespace setting that is off by default. Measured here with a real
// client in another process (test/load/client.ts): connection-per-request
// load at a steady 300 requests/s, 5 restarts of 2 workers that each do 2 ms
// of work per request and are busy for 50 ms more when SIGTERM comes, so
// that, as on a loaded server, connections are waiting in the closing
// worker's queue every time. Both cases run the same driver
// (test/load/contrast-driver.ts) in a network namespace of their own,
// differing only in tcp_migrate_req; the host's own setting is never touched.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes, runtimeVersion } from "./_runtimes.ts";

const COUNT = 2;
const RESTARTS = 5;

interface DriverReport {
  readonly migrateReq: string;
  readonly port: number;
  readonly restarts: readonly { stopped: number; started: number; atMs?: number }[];
  readonly ok: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly bodies: Readonly<Record<string, number>>;
  readonly failures: readonly (readonly [number, number, string])[];
}

/** Runs the driver, with workers on `workers`, in a fresh network namespace with tcp_migrate_req set to `migrateReq`. */
function runInNamespace(workers: RuntimeId, migrateReq: 0 | 1): Promise<DriverReport> {
  const driver = runtimes.node26.argv(join(root, "test/load/contrast-driver.ts"), [
    "--workers",
    workers,
    "--count",
    String(COUNT),
    "--restarts",
    String(RESTARTS),
  ]);
  const script = `ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=${migrateReq} && exec "$@"`;
  return new Promise((resolve, reject) => {
    execFile(
      "unshare",
      ["-n", "sh", "-c", script, "sh", ...driver],
      { cwd: root, timeout: 45_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`the driver failed: ${error.message}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as DriverReport);
      },
    );
  });
}

/** Failures by the restart they followed (client clock): what each close cost. */
function perRestart(report: DriverReport): number[] {
  const starts = report.restarts.map((restart) => restart.atMs ?? Number.POSITIVE_INFINITY);
  const counts = starts.map(() => 0);
  for (const [, endMs] of report.failures) {
    const after = starts.findLastIndex((atMs) => atMs <= endMs);
    if (after !== -1) counts[after] = (counts[after] ?? 0) + 1;
  }
  return counts;
}

function describeRun(report: DriverReport): string {
  const errors = Object.entries(report.errors).map(([kind, n]) => `${kind} ${n}`);
  return `${report.ok} ok, ${report.failed} failed${errors.length > 0 ? ` (${errors.join(", ")})` : ""}; per restart: ${perRestart(report).join(", ")}`;
}

const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`self-bound workers, ${RESTARTS} restarts each:\n${figures.join("\n")}`);
});

for (const id of ["node26", "node20", "bun", "deno"] as const) {
  describe(`${id} (${runtimeVersion(runtimes[id])}) self-bound workers restarted by close-and-rebind under load`, () => {
    let resets: number | undefined;

    test(`without tcp_migrate_req, the client sees connections reset (${RESTARTS} restarts)`, async () => {
      const report = await runInNamespace(id, 0);
      resets = report.errors.ECONNRESET ?? 0;
      console.log(`${id}, tcp_migrate_req=0: ${describeRun(report)}`);
      expect(report.migrateReq).toBe("0");
      // Every worker, replacements included, answered: the load reached each generation.
      expect(Object.keys(report.bodies)).toHaveLength(COUNT + RESTARTS);
      expect(resets, JSON.stringify(report.failures)).toBeGreaterThanOrEqual(1);
    }, 60_000);

    test(`with tcp_migrate_req=1, no request fails (${RESTARTS} restarts)`, async () => {
      const report = await runInNamespace(id, 1);
      console.log(`${id}, tcp_migrate_req=1: ${describeRun(report)}`);
      figures.push(
        `  ${id}: ${resets ?? "?"} resets across ${RESTARTS} restarts without migration; ${report.failed} failures with tcp_migrate_req=1`,
      );
      expect(report.migrateReq).toBe("1");
      expect(Object.keys(report.bodies)).toHaveLength(COUNT + RESTARTS);
      expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    }, 60_000);
  });
}
