import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { renderCharts, renderMarkdown, writeReport } from "../../bench/workers/_report.ts";
import type { Contender, LoadSample, Results, Workload } from "../../bench/workers/_results.ts";
import { cv, median, spread, summary } from "../../bench/workers/_stats.ts";
import { judgeTargets } from "../../bench/workers/_targets.ts";

const contenders: Contender[] = [
  {
    id: "reuseport-node20",
    label: "reuseport run · Node 20 · node:http",
    runtime: "node20",
    family: "reuseport",
    server: "node:http",
  },
  {
    id: "cluster-rr-node20",
    label: "cluster RR · Node 20",
    runtime: "node20",
    family: "cluster-rr",
    server: "node:http",
  },
  {
    id: "cluster-none-node20",
    label: "cluster SCHED_NONE · Node 20",
    runtime: "node20",
    family: "cluster-none",
    server: "node:http",
  },
  { id: "native-node26", label: "reusePort · Node 26", runtime: "node26", family: "native", server: "node:http" },
  { id: "nginx", label: "nginx reuseport", runtime: "nginx", family: "nginx", server: "nginx" },
];

/** Three rounds around the given medians, a little spread either way. */
function rounds(rps: number, cpuUs: number, p99Ms: number, perWorker: readonly number[] = []): LoadSample[] {
  return [0.98, 1, 1.02].map((factor) => ({
    requests: Math.round(rps * factor * 10),
    failed: factor === 1.02 ? 2 : 0,
    seconds: 10,
    rps: rps * factor,
    cpuUsPerRequest: cpuUs * factor,
    p50Ms: (p99Ms / 4) * factor,
    p99Ms: p99Ms * factor,
    p999Ms: p99Ms * 2 * factor,
    perWorker: perWorker.map((count) => Math.round(count * factor)),
  }));
}

function fixture(overrides: Partial<Results> = {}): Results {
  const load = (contender: string, workload: Workload, samples: LoadSample[]) => ({ contender, workload, samples });
  return {
    command: "npm run bench:workers",
    startedAt: "2026-12-01T10:00:00.000Z",
    durationSeconds: 1865,
    smoke: false,
    rounds: 3,
    secondsPerRun: 10,
    machine: { cpus: 2, cpuModel: "Test CPU @ 3.0GHz", kernel: "6.18.0", memoryGiB: 24 },
    versions: { node20: "20.20.2", node26: "26.10.0", nginx: "1.22.1", wrk: "4.2.0" },
    contenders,
    workers: 2,
    load: [
      load("reuseport-node20", "close", rounds(10_000, 40, 2, [5000, 5000])),
      load("cluster-rr-node20", "close", rounds(6000, 80, 4, [3000, 3000])),
      load("cluster-none-node20", "close", rounds(7000, 60, 6, [5000, 2000])),
      load("native-node26", "close", rounds(9000, 45, 2.5, [4600, 4400])),
      load("nginx", "close", rounds(20_000, 20, 1)),
      load("reuseport-node20", "keepalive", rounds(40_000, 12, 1.5)),
      load("cluster-rr-node20", "keepalive", rounds(35_000, 14, 1.8)),
      load("cluster-none-node20", "keepalive", rounds(36_000, 13, 1.7)),
      load("native-node26", "keepalive", rounds(42_000, 11, 1.4)),
      load("nginx", "keepalive", rounds(80_000, 6, 0.6)),
    ],
    wakeups: [2, 8].flatMap((workers) =>
      ["reuseport-node20", "cluster-none-node20"].map((contender) => ({
        contender,
        workers,
        samples: [1, 2, 3].map((round) => ({
          accepted: 1000,
          acceptWakeups: contender === "cluster-none-node20" ? workers * 100 + round : 100 + round,
          futileAccepts: contender === "cluster-none-node20" ? workers * 100 + round : round,
          voluntarySwitches: 2000 + round,
        })),
      })),
    ),
    reloads: [
      {
        contender: "reuseport-node20",
        sample: { reloads: 5, ok: 5000, failed: 0, errors: {}, how: "SIGHUP to the supervisor" },
      },
      {
        contender: "cluster-rr-node20",
        sample: { reloads: 5, ok: 4990, failed: 10, errors: { ECONNRESET: 7, ECONNREFUSED: 3 }, how: "worker restart" },
      },
    ],
    balanceRuns: [{ contender: "reuseport-node20", seconds: 8, perWorker: [36_000, 34_000] }],
    targets: [
      { name: "reuseport run beats cluster RR on close", met: false, detail: "1.67× the requests/s, wanted 2×" },
      { name: "no failed request during reloads", met: null, detail: "not judged" },
    ],
    notes: ["PM2 could not start in this run."],
    ...overrides,
  };
}

describe("bench stats", () => {
  test("median, spread, cv", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(spread([5, 1, 3])).toEqual({ min: 1, max: 5 });
    // From five samples on, the extremes are set aside.
    expect(spread([100, 2, 3, 4, -50])).toEqual({ min: 2, max: 4 });
    expect(cv([5, 5])).toBe(0);
    expect(cv([2, 4, 6])).toBeCloseTo(Math.sqrt(8 / 3) / 4, 12);
    expect(summary([1, 2, 3])).toEqual({ median: 2, min: 1, max: 3 });
  });
});

describe("judgeTargets", () => {
  const cvTarget = (results: Results) =>
    judgeTargets(results).find((target) =>
      target.name.startsWith("reuseport run · Node 20 · node:http: per-worker CV"),
    );

  test("the CV target counts the balance runs, and is missed below 100,000 connections however even", () => {
    expect(cvTarget(fixture())).toMatchObject({
      met: true,
      detail: "CV 2.0% over 2 workers and 100,000 connections",
    });
    expect(cvTarget(fixture({ balanceRuns: [] }))).toMatchObject({
      met: false,
      detail: "CV 0.0% over 2 workers and 30,000 connections, fewer than the 100,000 asked",
    });
  });
});

describe("renderMarkdown", () => {
  const markdown = renderMarkdown(fixture(), "results");

  test("starts by saying it is generated", () => {
    expect(markdown.split("\n")[0]).toMatch(/generated by `npm run bench:workers`.*do not edit by hand/i);
  });

  test("run facts and targets", () => {
    expect(markdown).toContain("2026-12-01 10:00 UTC");
    expect(markdown).toContain("31 min 5 s");
    expect(markdown).toContain("2 CPUs, Test CPU @ 3.0GHz, Linux 6.18.0, 24 GiB");
    expect(markdown).toContain("| node26 | 26.10.0 |");
    expect(markdown).toContain("| reuseport run beats cluster RR on close | ✗ | 1.67× the requests/s, wanted 2× |");
    expect(markdown).toContain("| no failed request during reloads | — | not judged |");
  });

  test("a workload row gives medians, spreads and ratios to its references", () => {
    // reuseport node20 against cluster RR node20, close: rps 10,000 / 6,000, cpu 40 / 80, p99 2 / 4.
    const row = markdown.split("\n").find((line) => line.startsWith("| reuseport run · Node 20"));
    expect(row).toContain("| 10.0k (9.8–10.2k) |");
    expect(row).toContain("| 40.0 (39.2–40.8) |");
    expect(row).toContain("rps 1.67× · cpu 0.50× · p99 0.50×");
    // Node 20 has no reusePort of its own.
    expect(row?.endsWith("| — |")).toBe(true);
    expect(markdown).toMatch(/\| cluster RR · Node 20 \|.*\| ref\. \| — \|/);
    // nginx has no cluster on its runtime and there is none on Node 26 here.
    expect(markdown).toMatch(/\| nginx reuseport \| 20\.0k .*\| — \| — \|/);
    expect(markdown).toContain("### keepalive");
    expect(markdown).toMatch(/### burst.*\n\nNot measured in this run\./);
  });

  test("balance, wake-ups, reloads and notes", () => {
    expect(markdown).toContain("| cluster SCHED_NONE · Node 20 | 71.4% · 28.6% | 0.429 | 21,000 |");
    // 30,000 from the rounds, 70,000 from the run made to count more.
    expect(markdown).toContain("| reuseport run · Node 20 · node:http | 51.0% · 49.0% | 0.020 | 100,000 |");
    expect(markdown).toContain("counted here\nand nowhere else: reuseport run · Node 20 · node:http 8 s.");
    // 801–803 futile accepts per 1,000 connections: the spread rounds away.
    expect(markdown).toContain("| cluster SCHED_NONE · Node 20 | 8 | 0.80 | 0.80 | 2.00 | 3,000 |");
    expect(markdown).toContain(
      "| cluster RR · Node 20 | worker restart | 5 | 4,990 | 10 | ECONNRESET 7 · ECONNREFUSED 3 |",
    );
    expect(markdown).toContain("- PM2 could not start in this run.");
  });

  test("links each chart that has data", () => {
    for (const file of ["throughput", "cpu-per-request", "latency", "wakeups", "share", "reload-failures"])
      expect(markdown).toMatch(new RegExp(`!\\[[^\\]]+\\]\\(results/${file}\\.svg\\)`));
  });

  test("a smoke run says so at the top, a real run does not", () => {
    const warning = /SMOKE RUN: these figures mean nothing/;
    expect(markdown).not.toMatch(warning);
    const smoke = renderMarkdown(fixture({ smoke: true }), "results");
    expect(smoke).toMatch(warning);
    expect(smoke.indexOf("SMOKE RUN")).toBeLessThan(smoke.indexOf("## The run"));
  });
});

describe("renderCharts", () => {
  test("draws every chart as SVG with the contenders on it", async () => {
    const charts = await renderCharts(fixture());
    expect(Object.keys(charts).sort()).toEqual([
      "cpu-per-request.svg",
      "latency.svg",
      "reload-failures.svg",
      "share.svg",
      "throughput.svg",
      "wakeups.svg",
    ]);
    for (const svg of Object.values(charts)) expect(svg.startsWith("<svg")).toBe(true);
    expect(charts["throughput.svg"]).toContain("nginx reuseport");
    expect(charts["share.svg"]).toContain("cluster SCHED_NONE · Node 20");
    expect(charts["wakeups.svg"]).toContain("reuseport run · Node 20 · node:http");
  });

  test("an empty workload draws no chart and gets no link", async () => {
    const results = fixture({ load: [], wakeups: [], balanceRuns: [] });
    const charts = await renderCharts(results);
    expect(Object.keys(charts)).toEqual(["reload-failures.svg"]);
    const markdown = renderMarkdown(results, "results");
    expect(markdown).not.toContain("throughput.svg");
    expect(markdown).not.toContain("latency.svg");
    expect(markdown).toContain("results/reload-failures.svg");
  });
});

describe("writeReport", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bench-report-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("writes the Markdown and the charts, and removes a chart that lost its data", async () => {
    const charts = join(dir, "results");
    const options = { markdownPath: join(dir, "RESULTS.md"), chartsDir: charts, chartsHref: "results" };
    const written = await writeReport(fixture(), options);
    expect(written).toHaveLength(7);
    expect(await readFile(options.markdownPath, "utf8")).toContain("![");
    await writeFile(join(charts, "unrelated.txt"), "kept");
    const again = await writeReport(fixture({ reloads: [] }), options);
    expect(again).toHaveLength(6);
    expect((await readdir(charts)).sort()).toEqual([
      "cpu-per-request.svg",
      "latency.svg",
      "share.svg",
      "throughput.svg",
      "unrelated.txt",
      "wakeups.svg",
    ]);
  });
});
