// The benchmarks, run for a second per cell so that none of them can rot:
// each must start its servers and load generators, measure, and print its
// table. BENCH_SMOKE=1 leaves their targets unjudged; the figures of a
// second's load on a machine running the suite say nothing about them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { root } from "./_runtimes.ts";
import { alive } from "./_watched.ts";

const smoke = { BENCH_SMOKE: "1", BENCH_SECONDS: "1", BENCH_ROUNDS: "1", BENCH_MAX_ROUNDS: "1" };

/** Runs bench/<script> on the machine's Node with tsx, as its npm script does; returns its output. */
function bench(script: string, args: string[], env: Record<string, string>, timeout = 120_000): string {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(root, "bench", script), ...args], {
    cwd: root,
    env: { ...process.env, ...smoke, ...env },
    encoding: "utf8",
    timeout,
  });
  expect(run.status, `${script} ${args.join(" ")}:\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

/** The table rows a benchmark printed for `runtime` (its name opens each row). */
const rows = (output: string, runtime: string): string[] =>
  output.split("\n").filter((line) => line.startsWith(`| ${runtime} `));

test("bench:http measures CPU per request against the C floor (connection per request on Node 20 and Bun, echo on Node 26 and Deno)", () => {
  const variants = { BENCH_VARIANTS: "c-floor,native,library-default" };
  const close = bench("http.ts", ["node20", "bun"], { ...variants, BENCH_WORKLOADS: "close" });
  const echo = bench("http.ts", ["node26", "deno"], { ...variants, BENCH_WORKLOADS: "echo" });
  for (const [output, runtimes] of [
    [close, ["node20", "bun"]],
    [echo, ["node26", "deno"]],
  ] as const) {
    for (const runtime of runtimes) {
      const [row] = rows(output, runtime);
      expect(row, `${runtime} row in:\n${output}`).toBeDefined();
      // Three cells, each with CPU per request, and listen()'s with its ratios to the listener and the C floor.
      expect(row?.match(/\d+(\.\d+)? µs/g)?.length, row).toBeGreaterThanOrEqual(3);
      expect(row, row).toMatch(/× C\)/);
    }
  }
}, 180_000);

test("bench:udp echoes datagrams through listenDatagram() and the runtime's own socket (Bun, Deno)", () => {
  const output = bench("udp.ts", ["bun", "deno"], {});
  for (const runtime of ["bun", "deno"]) expect(rows(output, runtime).length, output).toBeGreaterThanOrEqual(2);
}, 120_000);

test("bench (openSocket + close) on every runtime", () => {
  const output = bench("open-socket.ts", [], {});
  for (const runtime of ["node20", "node26", "bun", "deno"])
    expect(rows(output, runtime).length, output).toBeGreaterThanOrEqual(1);
}, 120_000);

test("bench:workers starts every contender, loads it, counts its wake-ups and reloads it, and writes the report", () => {
  const out = mkdtempSync(join(tmpdir(), "reuseport-bench-workers-"));
  try {
    // It exits non-zero when a contender does not start or answers nothing, smoke run or not.
    const output = bench("workers.ts", [], { BENCH_OUT: out }, 400_000);
    const report = readFileSync(join(out, "RESULTS.md"), "utf8");
    expect(report).toMatch(/SMOKE RUN/);
    const ids = [...output.matchAll(/^\[[^\]]+\] round 1\/1 · (\S+) ·/gm)].map((m) => m[1]);
    expect(ids.length, output).toBeGreaterThanOrEqual(20);
    for (const label of ["reuseport run · Bun · listen()", "cluster SCHED_NONE · Node 20", "PM2 cluster mode", "nginx"])
      expect(report).toContain(`| ${label}`);
    for (const chart of ["throughput", "cpu-per-request", "latency", "wakeups", "share", "reload-failures"])
      expect(existsSync(join(out, "results", `${chart}.svg`)), chart).toBe(true);
    expect(report).not.toMatch(/did not start/);
    // Nothing it started outlives it: no worker, no PM2 daemon, no nginx.
    expect(leftovers(), "processes the run left behind").toEqual([]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 420_000);

/** Running processes whose command line names something bench:workers starts: its worker apps, PM2's or nginx's folders. */
function leftovers(): string[] {
  const marks = ["bench/workers/apps/", "reuseport-bench-pm2-", "reuseport-bench-nginx-"];
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && alive(Number(entry)))
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        return marks.some((mark) => command.includes(mark)) ? [`${pid}: ${command}`] : [];
      } catch {
        return [];
      }
    });
}
