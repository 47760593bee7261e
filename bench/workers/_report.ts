// Draws bench/RESULTS.md and its charts from one run's Results, and from
// nothing else, so that a report can be drawn again from a saved BENCH_JSON.
// The charts are vega-lite specs compiled to vega and rendered headless to
// SVG: no browser and no canvas, so the report can be redrawn on any machine
// that has the dev dependencies.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { BALANCE_CONNECTIONS, connectionsPerWorker } from "./_balance.ts";
import type { Contender, LoadSample, Results, Workload } from "./_results.ts";
import { cv, type Summary, summary } from "./_stats.ts";
import { clusterRrReference } from "./_targets.ts";

const workloads: readonly Workload[] = ["close", "keepalive", "burst", "cpu-heavy"];

const workloadTitles: Record<Workload, string> = {
  close: "close: a connection per request",
  keepalive: "keepalive: HTTP/1.1 keep-alive",
  burst: "burst: 10,000 connections at once",
  "cpu-heavy": "cpu-heavy: a connection per request, 1 in 20 burning 50 ms of CPU",
};

// ─── Looking things up ──────────────────────────────────────────────────────

function samplesOf(results: Results, contender: string, workload: Workload): LoadSample[] {
  return results.load
    .filter((cell) => cell.contender === contender && cell.workload === workload)
    .flatMap((cell) => cell.samples);
}

/** The contenders with samples for `workload`, in the run's order. */
function measured(results: Results, workload: Workload): Contender[] {
  return results.contenders.filter((contender) => samplesOf(results, contender.id, workload).length > 0);
}

/** A contender's label; its id when the run did not describe it. */
function labelOf(results: Results, id: string): string {
  return results.contenders.find((contender) => contender.id === id)?.label ?? id;
}

/** The contenders that wake-ups or reloads mention, in the run's order, then any it did not describe. */
function idsInOrder(results: Results, ids: readonly string[]): string[] {
  const known = results.contenders.map((contender) => contender.id).filter((id) => ids.includes(id));
  return [...known, ...new Set(ids.filter((id) => !known.includes(id)))];
}

interface LoadSummary {
  readonly rps: Summary;
  readonly cpu: Summary;
  readonly p50: Summary;
  readonly p99: Summary;
  readonly p999: Summary;
  readonly failed: Summary;
}

function summarizeLoad(samples: readonly LoadSample[]): LoadSummary {
  const of = (pick: (sample: LoadSample) => number): Summary => summary(samples.map(pick));
  return {
    rps: of((sample) => sample.rps),
    cpu: of((sample) => sample.cpuUsPerRequest),
    p50: of((sample) => sample.p50Ms),
    p99: of((sample) => sample.p99Ms),
    p999: of((sample) => sample.p999Ms),
    failed: of((sample) => sample.failed),
  };
}

/** The runtime's own reusePort option; none for Node 20, which lacks it, nor for nginx. */
function nativeReference(contender: Contender, pool: readonly Contender[]): Contender | undefined {
  return pool.find((other) => other.family === "native" && other.runtime === contender.runtime);
}

// ─── Numbers ────────────────────────────────────────────────────────────────

const dash = "—";

function finite(format: (value: number) => string): (value: number) => string {
  return (value) => (Number.isFinite(value) ? format(value) : dash);
}

const formatRps = finite((value) => {
  if (Math.round(value) >= 999_950) return `${(value / 1e6).toFixed(2)}M`;
  if (Math.round(value) >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return Math.round(value).toString();
});

const oneDecimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const formatUs = finite((value) => oneDecimal.format(value));

/** Two significant decimals where the figure is small, one from 10 ms up. */
const formatMs = finite((value) => {
  if (Math.abs(value) >= 10) return oneDecimal.format(value);
  if (Math.abs(value) >= 1 || value === 0) return value.toFixed(2);
  return value.toPrecision(2);
});

const formatCount = finite((value) => Math.round(value).toLocaleString("en-US"));

/** Per-connection figures: small, so two decimals below 10. */
const formatPerConnection = finite((value) => (Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2)));

const formatRatio = finite((value) => `${value.toFixed(2)}×`);

function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)}%` : dash;
}

/** "9.9k (9.5–10.2k)": the median, then the spread; a unit both ends share is written once. */
function spreadCell(figure: Summary, format: (value: number) => string): string {
  const middle = format(figure.median);
  let low = format(figure.min);
  const high = format(figure.max);
  if (middle === dash || low === high) return middle;
  const unit = /[kM]$/.exec(high)?.[0];
  if (unit !== undefined && low.endsWith(unit)) low = low.slice(0, -1);
  return `${middle} (${low}–${high})`;
}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${whole % 60} s`;
  return `${whole} s`;
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// ─── Markdown ───────────────────────────────────────────────────────────────

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A Markdown table; `align` has an "l" or an "r" per column (numbers read best right-aligned), "l" past its end. */
function table(headers: readonly string[], rows: readonly (readonly string[])[], align: string): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(" | ")} |`;
  const rule = headers.map((_, index) => (align[index] === "r" ? "---:" : "---"));
  return [line(headers), `|${rule.join("|")}|`, ...rows.map(line)];
}

function ratioCell(
  contender: Contender,
  reference: Contender | undefined,
  figures: ReadonlyMap<string, LoadSummary>,
): string {
  if (reference === undefined) return dash;
  if (reference.id === contender.id) return "ref.";
  const own = figures.get(contender.id);
  const theirs = figures.get(reference.id);
  if (own === undefined || theirs === undefined) return dash;
  const ratio = (pick: (figure: LoadSummary) => Summary): string => formatRatio(pick(own).median / pick(theirs).median);
  const cell = `rps ${ratio((f) => f.rps)} · cpu ${ratio((f) => f.cpu)} · p99 ${ratio((f) => f.p99)}`;
  return reference.runtime === contender.runtime ? cell : `${cell} (vs ${reference.runtime})`;
}

function loadSection(results: Results, workload: Workload): string[] {
  const pool = measured(results, workload);
  const lines = [`### ${workloadTitles[workload]}`, ""];
  if (pool.length === 0) return [...lines, "Not measured in this run.", ""];
  const entries = pool.map((contender) => ({
    contender,
    figure: summarizeLoad(samplesOf(results, contender.id, workload)),
  }));
  const figures = new Map(entries.map(({ contender, figure }) => [contender.id, figure]));
  const rows = entries.map(({ contender, figure }) => [
    contender.label,
    spreadCell(figure.rps, formatRps),
    spreadCell(figure.cpu, formatUs),
    spreadCell(figure.p50, formatMs),
    spreadCell(figure.p99, formatMs),
    spreadCell(figure.p999, formatMs),
    spreadCell(figure.failed, formatCount),
    ratioCell(contender, clusterRrReference(contender, pool), figures),
    ratioCell(contender, nativeReference(contender, pool), figures),
  ]);
  const headers = [
    "contender",
    "requests/s",
    "CPU µs/request",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "failed",
    "vs cluster RR",
    "vs own reusePort",
  ];
  return [...lines, ...table(headers, rows, "lrrrrrrll"), ""];
}

/**
 * The unchanged apps (they import nothing of reuseport and listen on PORT), each beside what it is
 * compared with: the first id of a group is `reuseport run`'s, the others its comparisons.
 */
const unchangedApps: readonly { readonly app: string; readonly ids: readonly string[] }[] = [
  { app: "Express 5", ids: ["reuseport-node20-express", "pm2-node20-express", "cluster-rr-node20-express"] },
  { app: "node:http, the preload on and off", ids: ["reuseport-node26-own", "reuseport-node26-own-nopreload"] },
  { app: "Bun.serve", ids: ["reuseport-bun-serve", "native-bun"] },
  { app: "Deno.serve", ids: ["reuseport-deno-serve", "deno-serve-parallel", "native-deno"] },
];

/** "0 of 2,351": a contender's failed requests across its reload runs; a dash where none ran. */
function reloadFailures(results: Results, id: string): string {
  const runs = results.reloads.filter((row) => row.contender === id);
  if (runs.length === 0) return dash;
  return runs
    .map(({ sample }) => `${formatCount(sample.failed)} of ${formatCount(sample.ok + sample.failed)}`)
    .join(", ");
}

function unchangedSection(results: Results): string[] {
  const lines = ["## Unchanged apps", ""];
  const shown: readonly Workload[] = ["close", "keepalive"];
  const rows = unchangedApps.flatMap(({ app, ids }) => {
    const group = ids.flatMap((id) => results.contenders.filter((contender) => contender.id === id));
    const subject = group.find((contender) => contender.id === ids[0]);
    return group.flatMap((contender) => {
      const measuredHere = shown.filter((workload) => samplesOf(results, contender.id, workload).length > 0);
      return measuredHere.map((workload, index) => {
        const figure = summarizeLoad(samplesOf(results, contender.id, workload));
        const figures = new Map([[contender.id, figure]]);
        const theirs = subject === undefined ? [] : samplesOf(results, subject.id, workload);
        if (subject !== undefined && theirs.length > 0) figures.set(subject.id, summarizeLoad(theirs));
        return [
          app,
          contender.label,
          workload,
          spreadCell(figure.rps, formatRps),
          spreadCell(figure.cpu, formatUs),
          spreadCell(figure.p99, formatMs),
          subject === undefined || subject === contender ? dash : ratioCell(subject, contender, figures),
          index === 0 ? reloadFailures(results, contender.id) : "",
        ];
      });
    });
  });
  if (rows.length === 0) return [...lines, "Not measured in this run.", ""];
  const headers = [
    "app",
    "contender",
    "workload",
    "requests/s",
    "CPU µs/request",
    "p99 ms",
    "reuseport run ÷ this row",
    "failed across reloads",
  ];
  return [
    ...lines,
    "Apps that import nothing of reuseport and listen on PORT, under `reuseport run` with its preload, each",
    "beside the other ways to run the same app on as many workers: Express 5 under PM2's cluster mode and",
    "Node's cluster (SCHED_RR); Bun.serve's default export (`--self-bind`) beside Bun.serve with reusePort",
    "started by hand; Deno.serve (`--self-bind`) beside `deno serve --parallel` (threads of one process on",
    "one shared socket) and Deno.serve with reusePort started by hand. node:http on the adopted fd with and",
    "without the preload (`--no-preload`) shows what the preload costs per request: it hooks only the listen",
    "and serve calls, so its ratio is to be 1.00×. The ratio is the first row of an app (`reuseport run`'s)",
    "divided by this row's: requests/s above 1× and CPU or p99 below 1× are better for `reuseport run`. The",
    "figures are the load tables'; the reload failures are the Reloads section's, where measured.",
    "",
    ...table(headers, rows, "lllrrrll"),
    "",
  ];
}

/** Connections per worker for the contenders whose runs could tell (see _balance.ts). */
function workerTotals(results: Results): { contender: Contender; counts: number[] }[] {
  return results.contenders.flatMap((contender) => {
    const counts = connectionsPerWorker(results, contender.id);
    return counts.some((count) => count > 0) ? [{ contender, counts }] : [];
  });
}

/** "reuseport run · Bun · listen() 12 s": the extra balance runs, per contender. */
function balanceRunsText(results: Results): string {
  const seconds = new Map<string, number>();
  for (const run of results.balanceRuns) seconds.set(run.contender, (seconds.get(run.contender) ?? 0) + run.seconds);
  return [...seconds].map(([id, total]) => `${labelOf(results, id)} ${total} s`).join(", ");
}

function shareSection(results: Results, chart: ChartLink): string[] {
  const lines = ["## Balance across workers (close and burst)", ""];
  const totals = workerTotals(results);
  if (totals.length === 0) return [...lines, "Not measured in this run.", ""];
  const rows = totals.map(({ contender, counts }) => {
    const total = counts.reduce((sum, count) => sum + count, 0);
    return [
      contender.label,
      counts.map((count) => formatPercent((100 * count) / total)).join(" · "),
      finite((value) => value.toFixed(3))(cv(counts)),
      formatCount(total),
    ];
  });
  return [
    ...lines,
    "Each worker's share of the connections of the close and burst workloads (a connection per request),",
    "summed over the rounds, and the coefficient of variation of the per-worker counts (0 is an even split).",
    "Every round starts new workers and lists them from the busiest down, so the busiest are summed with the",
    "busiest: the CV is, if anything, a little high.",
    ...(results.balanceRuns.length === 0
      ? []
      : [
          `A plain \`reuseport run\` contender whose rounds counted fewer than ${BALANCE_CONNECTIONS.toLocaleString("en")} connections (the CV`,
          "target asks for that many) got connection-per-request runs of its own after the rounds, counted here",
          `and nowhere else: ${balanceRunsText(results)}.`,
        ]),
    "",
    ...table(["contender", "share per worker", "CV", "connections counted"], rows, "lrrr"),
    "",
    ...chart("share.svg"),
  ];
}

function wakeupSection(results: Results, chart: ChartLink): string[] {
  const lines = ["## Wake-ups", ""];
  if (results.wakeups.length === 0) return [...lines, "Not measured in this run.", ""];
  const rows = idsInOrder(
    results,
    results.wakeups.map((cell) => cell.contender),
  ).flatMap((id) =>
    wakeupCells(results, id).map(({ workers, wakeups, futile, switches, accepted }) => [
      labelOf(results, id),
      workers.toString(),
      spreadCell(wakeups, formatPerConnection),
      spreadCell(futile, formatPerConnection),
      spreadCell(switches, formatPerConnection),
      formatCount(accepted),
    ]),
  );
  const headers = [
    "contender",
    "workers",
    "wake-ups to accept / connection",
    "futile accepts / connection",
    "voluntary switches / connection",
    "accepted, all rounds",
  ];
  return [
    ...lines,
    "A paced run at a low rate (every worker asleep between connections), per connection accepted: the",
    "wake-ups to accept (runs of accept calls by one thread between two waits, traced with strace: the",
    "thundering herd is every worker waking for each connection), the accepts that found nothing (EAGAIN:",
    "a herd's losers, and the last try of a loop that accepts until the queue is empty), and the voluntary",
    "context switches of all the contender's threads in a run without strace, less their idle rate (all",
    "the sleeping and waking a connection costs, the runtime's helper threads included).",
    "",
    ...table(headers, rows, "lrrrrr"),
    "",
    ...chart("wakeups.svg"),
  ];
}

interface WakeupCell {
  readonly workers: number;
  readonly wakeups: Summary;
  readonly futile: Summary;
  readonly switches: Summary;
  readonly accepted: number;
}

function wakeupCells(results: Results, id: string): WakeupCell[] {
  const cells = results.wakeups.filter((cell) => cell.contender === id);
  const counts = [...new Set(cells.map((cell) => cell.workers))].sort((a, b) => a - b);
  return counts.map((workers) => {
    // A round that accepted nothing has no per-connection figure.
    const samples = cells
      .filter((cell) => cell.workers === workers)
      .flatMap((cell) => cell.samples)
      .filter((sample) => sample.accepted > 0);
    return {
      workers,
      wakeups: summary(samples.map((sample) => sample.acceptWakeups / sample.accepted)),
      futile: summary(samples.map((sample) => sample.futileAccepts / sample.accepted)),
      switches: summary(samples.map((sample) => sample.voluntarySwitches / sample.accepted)),
      accepted: samples.reduce((sum, sample) => sum + sample.accepted, 0),
    };
  });
}

function formatErrors(errors: Readonly<Record<string, number>>): string {
  const kinds = Object.entries(errors)
    .filter(([, count]) => count > 0)
    .sort(([, a], [, b]) => b - a);
  return kinds.length === 0 ? "none" : kinds.map(([kind, count]) => `${kind} ${formatCount(count)}`).join(" · ");
}

function reloadSection(results: Results, chart: ChartLink): string[] {
  const lines = ["## Reloads", ""];
  if (results.reloads.length === 0) return [...lines, "Not measured in this run.", ""];
  const order = idsInOrder(
    results,
    results.reloads.map((row) => row.contender),
  );
  const rows = order.flatMap((id) =>
    results.reloads
      .filter((row) => row.contender === id)
      .map(({ sample }) => [
        labelOf(results, id),
        sample.how,
        formatCount(sample.reloads),
        formatCount(sample.ok),
        formatCount(sample.failed),
        formatErrors(sample.errors),
      ]),
  );
  return [
    ...lines,
    "A connection per request at a steady rate while the workers are reloaded; every failed request is a",
    "connection a reload dropped or refused.",
    "",
    ...table(["contender", "how", "reloads", "ok", "failed", "errors"], rows, "llrrrl"),
    "",
    ...chart("reload-failures.svg"),
  ];
}

function runSection(results: Results): string[] {
  const { machine } = results;
  const memory = Number.isFinite(machine.memoryGiB) ? `${+machine.memoryGiB.toFixed(1)} GiB` : dash;
  const versions = Object.entries(results.versions);
  return [
    "## The run",
    "",
    `- date: ${formatDate(results.startedAt)}`,
    `- duration: ${formatDuration(results.durationSeconds)}`,
    `- command: \`${results.command}\``,
    `- machine: ${machine.cpus} CPUs, ${machine.cpuModel}, Linux ${machine.kernel}, ${memory} of memory`,
    `- ${results.rounds} rounds per cell (the contenders alternating within each round), ` +
      `${results.secondsPerRun} s per run`,
    `- ${results.workers} worker processes per contender for the load workloads`,
    `- smoke run: ${results.smoke ? "**yes**" : "no"}`,
    "",
    ...(versions.length === 0 ? [] : [...table(["software", "version"], versions, "ll"), ""]),
  ];
}

function targetSection(results: Results): string[] {
  const lines = ["## Targets", ""];
  if (results.targets.length === 0) return [...lines, "None were judged in this run.", ""];
  const met = (value: boolean | null): string => (value === null ? dash : value ? "✓" : "✗");
  const rows = results.targets.map((target) => [target.name, met(target.met), target.detail]);
  return [...lines, ...table(["target", "met", "detail"], rows, "lll"), ""];
}

/** The smoke warning, first thing after the title: a smoke run's figures are only there to prove the driver runs. */
const smokeWarning =
  "> [!WARNING]\n> **SMOKE RUN: these figures mean nothing.** The run was cut short to check that every contender " +
  "starts and answers; its rounds are too few and too short to compare anything. Run `npm run bench:workers` " +
  "without the smoke option for figures to read.";

type ChartLink = (file: ChartFile) => string[];

/**
 * The report as Markdown. `chartsHref` is the charts' folder relative to the
 * Markdown file; a chart whose data is empty gets no link.
 */
export function renderMarkdown(results: Results, chartsHref: string): string {
  const specs = chartSpecs(results);
  const base = chartsHref.replace(/\/+$/, "");
  const chart: ChartLink = (file) => {
    const entry = specs[file];
    return entry === undefined ? [] : [`![${entry.title}](${base}/${file})`, ""];
  };
  const notes = results.notes.length === 0 ? ["None.", ""] : [...results.notes.map((note) => `- ${note}`), ""];
  const lines = [
    "_Generated by `npm run bench:workers`: do not edit by hand. Run the benchmark again, or redraw this file " +
      "from a saved BENCH_JSON with `node --import tsx bench/workers/report.ts results.json`._",
    "",
    "# Workers: reuseport run against cluster, PM2, reusePort and nginx",
    "",
    ...(results.smoke ? [smokeWarning, ""] : []),
    ...runSection(results),
    ...targetSection(results),
    "## Load",
    "",
    "Each figure is the median over the rounds, with the spread (min–max; from five rounds on, the lowest and",
    "the highest round are left out) in brackets. CPU is the server's, every worker and any master, user and",
    "system. The ratios compare medians: requests/s above 1× and CPU or p99 below 1× are better than the",
    "reference. The cluster RR reference is Node's round-robin cluster on the same runtime, else the one on",
    "Node 26 (marked so), running the same app where there is one (Express against Express); the",
    "own-reusePort reference is the runtime's own `reusePort` option.",
    "",
    ...chart("throughput.svg"),
    ...chart("cpu-per-request.svg"),
    ...workloads.flatMap((workload) => loadSection(results, workload)),
    ...chart("latency.svg"),
    ...unchangedSection(results),
    ...shareSection(results, chart),
    ...wakeupSection(results, chart),
    ...reloadSection(results, chart),
    "## Notes",
    "",
    ...notes,
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}

// ─── Charts ─────────────────────────────────────────────────────────────────

const chartFiles = [
  "throughput.svg",
  "cpu-per-request.svg",
  "latency.svg",
  "wakeups.svg",
  "share.svg",
  "reload-failures.svg",
] as const;
type ChartFile = (typeof chartFiles)[number];

interface ChartEntry {
  readonly title: string;
  readonly spec: TopLevelSpec;
}

// GitHub shows an SVG on its page's background, dark in dark mode: the white
// background keeps the axes readable there.
const config = {
  background: "white",
  padding: 12,
  font: "Helvetica, Arial, sans-serif",
  axis: { labelFontSize: 12, titleFontSize: 13, labelLimit: 420, titleFontWeight: "normal" },
  header: { labelFontSize: 13, labelFontWeight: "bold", titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12, orient: "top" },
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: "#555", anchor: "start", offset: 12 },
  view: { stroke: "#ddd" },
} as const;

const ruleColor = "#222";
const spreadNote = "bars: median over the rounds; lines: spread (min–max, the extremes left out from five rounds on)";

interface RangeRow {
  readonly contender: string;
  readonly group: string;
  /** How the contender spreads connections, for the bars' colour. */
  readonly model?: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function loadRows(results: Results, shown: readonly Workload[], pick: (sample: LoadSample) => number): RangeRow[] {
  return shown.flatMap((workload) =>
    measured(results, workload).map((contender) => ({
      contender: contender.label,
      group: workload,
      model: models[contender.family],
      ...summary(samplesOf(results, contender.id, workload).map(pick)),
    })),
  );
}

function labelsOf(rows: readonly { readonly contender: string }[]): string[] {
  return [...new Set(rows.map((row) => row.contender))];
}

function groupsOf(rows: readonly { readonly group: string }[]): string[] {
  return [...new Set(rows.map((row) => row.group))];
}

/** What the bars' colours stand for: the family of each contender, as a reader would name it. */
const models: Record<Contender["family"], string> = {
  reuseport: "reuseport run",
  "cluster-rr": "cluster SCHED_RR",
  "cluster-none": "cluster SCHED_NONE",
  pm2: "PM2",
  native: "the runtime's own reusePort",
  "deno-parallel": "deno serve --parallel",
  nginx: "nginx",
  single: "one process",
};

/** Horizontal bars with spread rules, a column per group, each column with its own x scale. */
function facetedBars(rows: readonly RangeRow[], title: string, xTitle: string, thousands: boolean): TopLevelSpec {
  // With an SI format vega gives every tick the largest tick's prefix, so the axis would start at "0k".
  const labels = thousands ? { labelExpr: "datum.value === 0 ? '0' : format(datum.value, '~s')" } : {};
  const x = { type: "quantitative", title: xTitle, axis: { tickCount: 5, ...labels } } as const;
  return {
    title: { text: title, subtitle: spreadNote },
    data: { values: [...rows] },
    facet: { column: { field: "group", type: "nominal", sort: groupsOf(rows), title: null } },
    spec: {
      width: 300,
      height: { step: 20 },
      encoding: { y: { field: "contender", type: "nominal", sort: labelsOf(rows), title: null } },
      layer: [
        {
          mark: { type: "bar" },
          encoding: {
            x: { field: "median", ...x },
            color: {
              field: "model",
              type: "nominal",
              sort: Object.values(models),
              title: null,
              scale: { domain: Object.values(models), scheme: "tableau10" },
              legend: { orient: "bottom", columns: 4, labelFontSize: 12, labelLimit: 240 },
            },
          },
        },
        {
          mark: { type: "rule", color: ruleColor, strokeWidth: 1.5 },
          encoding: { x: { field: "min", ...x }, x2: { field: "max" } },
        },
      ],
    },
    resolve: { scale: { x: "independent" } },
    config,
  };
}

function latencySpec(results: Results): TopLevelSpec | undefined {
  const percentiles = [
    ["p50", (sample: LoadSample) => sample.p50Ms],
    ["p99", (sample: LoadSample) => sample.p99Ms],
    ["p99.9", (sample: LoadSample) => sample.p999Ms],
  ] as const;
  const rows = (["close", "cpu-heavy"] as const)
    .flatMap((workload) =>
      measured(results, workload).flatMap((contender) =>
        percentiles.map(([percentile, pick]) => {
          const figure = summary(samplesOf(results, contender.id, workload).map(pick));
          // A log scale has no room for 0: such a figure is left off, and a spread
          // starting at 0 starts at the median instead.
          return {
            contender: contender.label,
            group: workload,
            percentile,
            ...figure,
            min: figure.min > 0 ? figure.min : figure.median,
          };
        }),
      ),
    )
    .filter((row) => row.median > 0);
  if (rows.length === 0) return undefined;
  // vega's own log ticks label every 1–9 of a decade and overprint; 1 and 3
  // of each decade, nearly evenly spaced, read better.
  const ticks = [-2, -1, 0, 1, 2, 3, 4].flatMap((decade) =>
    [1, 3].map((step) => +(step * 10 ** decade).toPrecision(1)),
  );
  const x = {
    type: "quantitative" as const,
    scale: { type: "log" as const },
    title: "latency, ms (log scale)",
    axis: { values: ticks, format: "~g", labelOverlap: "greedy" as const },
  };
  const order = percentiles.map(([percentile]) => percentile);
  return {
    title: { text: "Latency percentiles", subtitle: "dots: median over the rounds; lines: spread" },
    data: { values: rows },
    facet: { column: { field: "group", type: "nominal", sort: groupsOf(rows), title: null } },
    spec: {
      width: 300,
      // With an offset channel the step is each percentile's, not each contender's.
      height: { step: 9 },
      encoding: {
        y: { field: "contender", type: "nominal", sort: labelsOf(rows), title: null },
        yOffset: { field: "percentile", type: "nominal", sort: order },
        color: { field: "percentile", type: "nominal", sort: order, title: null, scale: { scheme: "set1" } },
      },
      layer: [
        { mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x: { field: "min", ...x }, x2: { field: "max" } } },
        { mark: { type: "point", filled: true, size: 40 }, encoding: { x: { field: "median", ...x } } },
      ],
    },
    resolve: { scale: { x: "independent" } },
    config,
  };
}

function wakeupSpec(results: Results): TopLevelSpec | undefined {
  const rows: RangeRow[] = idsInOrder(
    results,
    results.wakeups.map((cell) => cell.contender),
  ).flatMap((id) =>
    wakeupCells(results, id)
      .filter((cell) => Number.isFinite(cell.wakeups.median))
      .map((cell) => ({ contender: labelOf(results, id), group: `${cell.workers} workers`, ...cell.wakeups })),
  );
  if (rows.length === 0) return undefined;
  const x = { type: "quantitative", title: "wake-ups to accept per accepted connection" } as const;
  const groups = groupsOf(rows);
  return {
    title: {
      text: "Wake-ups per connection (the thundering herd)",
      subtitle: `threads woken to accept, per connection accepted at a low rate; ${spreadNote}`,
    },
    data: { values: rows },
    width: 560,
    // With an offset channel the step is each worker count's, not each contender's.
    height: { step: 11 },
    encoding: {
      y: { field: "contender", type: "nominal", sort: labelsOf(rows), title: null },
      yOffset: { field: "group", type: "nominal", sort: groups },
    },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          x: { field: "median", ...x },
          color: { field: "group", type: "nominal", sort: groups, title: null, scale: { scheme: "tableau10" } },
        },
      },
      {
        mark: { type: "rule", color: ruleColor, strokeWidth: 1.5 },
        encoding: { x: { field: "min", ...x }, x2: { field: "max" } },
      },
    ],
    config,
  };
}

function shareSpec(results: Results): TopLevelSpec | undefined {
  const rows = workerTotals(results).flatMap(({ contender, counts }) => {
    const total = counts.reduce((sum, count) => sum + count, 0);
    let start = 0;
    return counts.map((count, index) => {
      const share = (100 * count) / total;
      const row = {
        contender: contender.label,
        worker: `worker ${index + 1}`,
        index,
        start,
        end: start + share,
        middle: start + share / 2,
        // A segment too narrow for its figure goes unlabelled rather than overprinted.
        text: share >= 7 ? `${share.toFixed(share >= 10 ? 0 : 1)}%` : "",
      };
      start += share;
      return row;
    });
  });
  if (rows.length === 0) return undefined;
  const x = { type: "quantitative" as const, scale: { domain: [0, 100] }, title: "share of the requests, %" };
  return {
    title: {
      text: "Share of connections per worker (close and burst)",
      subtitle: "summed over the rounds; an even split is 100 % / workers",
    },
    data: { values: rows },
    width: 560,
    height: { step: 22 },
    encoding: { y: { field: "contender", type: "nominal", sort: labelsOf(rows), title: null } },
    layer: [
      {
        mark: { type: "bar", stroke: "white", strokeWidth: 1 },
        encoding: {
          x: { field: "start", ...x },
          x2: { field: "end" },
          color: {
            field: "worker",
            type: "nominal",
            sort: { field: "index" },
            title: null,
            scale: { scheme: "pastel1" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 11, color: "#222" },
        encoding: { x: { field: "middle", ...x }, text: { field: "text" } },
      },
    ],
    config,
  };
}

function reloadSpec(results: Results): TopLevelSpec | undefined {
  const ids = results.reloads.map((row) => row.contender);
  const rows = idsInOrder(results, ids).flatMap((id) => {
    const mine = results.reloads.filter((row) => row.contender === id);
    // Two reload runs of one contender (two ways to reload it) get a bar each.
    return mine.map(({ sample }) => ({
      contender: mine.length > 1 ? `${labelOf(results, id)} (${sample.how})` : labelOf(results, id),
      failed: sample.failed,
      text: `${formatCount(sample.failed)} of ${formatCount(sample.ok + sample.failed)}, ${formatCount(sample.reloads)} reloads`,
    }));
  });
  if (rows.length === 0) return undefined;
  // An axis of a run that failed nothing still needs a length.
  const most = Math.max(1, ...rows.map((row) => row.failed));
  const x = { type: "quantitative" as const, title: "failed requests", scale: { domain: [0, most], nice: true } };
  return {
    title: { text: "Failed requests during reloads", subtitle: "a connection per request at a steady rate" },
    data: { values: rows },
    width: 420,
    height: { step: 22 },
    encoding: { y: { field: "contender", type: "nominal", sort: labelsOf(rows), title: null } },
    layer: [
      { mark: { type: "bar", color: "#e45756" }, encoding: { x: { field: "failed", ...x } } },
      {
        mark: { type: "text", align: "left", dx: 4, fontSize: 11, color: "#333" },
        encoding: { x: { field: "failed", ...x }, text: { field: "text" } },
      },
    ],
    config,
  };
}

/** The charts the run has data for, by file name. */
function chartSpecs(results: Results): Partial<Record<ChartFile, ChartEntry>> {
  const throughput = loadRows(results, ["close", "keepalive"], (sample) => sample.rps);
  const cpu = loadRows(results, ["close", "keepalive"], (sample) => sample.cpuUsPerRequest);
  const entries: [ChartFile, string, TopLevelSpec | undefined][] = [
    [
      "throughput.svg",
      "Requests per second, close and keepalive",
      throughput.length === 0 ? undefined : facetedBars(throughput, "Requests per second", "requests/s", true),
    ],
    [
      "cpu-per-request.svg",
      "Server CPU per request, close and keepalive",
      cpu.length === 0 ? undefined : facetedBars(cpu, "Server CPU per request", "CPU µs per request", false),
    ],
    ["latency.svg", "Latency percentiles, close and cpu-heavy", latencySpec(results)],
    ["wakeups.svg", "Wake-ups to accept per connection", wakeupSpec(results)],
    ["share.svg", "Share of connections per worker, close and burst", shareSpec(results)],
    ["reload-failures.svg", "Failed requests during reloads", reloadSpec(results)],
  ];
  const specs: Partial<Record<ChartFile, ChartEntry>> = {};
  for (const [file, title, spec] of entries) if (spec !== undefined) specs[file] = { title, spec };
  return specs;
}

// Headless, vega has no canvas to measure text with and guesses 0.8 em a
// character, which cuts contender labels short and pads the charts. These
// widths, in em, are near Helvetica's and Arial's, a little generous so that a
// reader's font does not overrun the axis.
const narrow = new Set(" .,:;'|!·ijlI()[]");
const semiNarrow = new Set("frt-/1");
const wide = new Set("mwMW@%");

function estimateWidth(text: string, fontSize: number): number {
  let ems = 0;
  for (const character of text) {
    if (narrow.has(character)) ems += 0.3;
    else if (semiNarrow.has(character)) ems += 0.4;
    else if (wide.has(character)) ems += 0.86;
    else if (character >= "A" && character <= "Z") ems += 0.68;
    else ems += 0.57;
  }
  return ems * fontSize * 1.04;
}

interface TextItem {
  readonly fontSize?: number | string;
  readonly limit?: number;
}

interface TextMetrics {
  width: (item: TextItem, text: unknown) => number;
}

/** vega's text metrics: exported by its scenegraph, though vega's typings leave them out. */
function textMetrics(): TextMetrics | undefined {
  const metrics = (vega as unknown as { textMetrics?: TextMetrics }).textMetrics;
  return typeof metrics?.width === "function" ? metrics : undefined;
}

function measureText(item: TextItem, text: unknown): number {
  const size = item.fontSize === undefined ? 11 : Number(item.fontSize) || 0;
  const width = estimateWidth(Array.isArray(text) ? text.join(" ") : String(text ?? "").trim(), size);
  // vega truncates a text to its limit with an ellipsis, asking for widths until one fits.
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
}

async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every chart the run has data for, as SVG text by file name; a chart with no data is left out. */
export async function renderCharts(results: Results): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  const metrics = textMetrics();
  const vegaWidth = metrics?.width;
  if (metrics !== undefined) metrics.width = measureText;
  try {
    for (const [file, entry] of Object.entries(chartSpecs(results))) charts[file] = await renderSvg(entry.spec);
  } finally {
    if (metrics !== undefined && vegaWidth !== undefined) metrics.width = vegaWidth;
  }
  return charts;
}

/** Where {@link writeReport} puts the report. */
export interface ReportOptions {
  /** The Markdown file, e.g. bench/RESULTS.md. */
  readonly markdownPath: string;
  /** The folder the SVG charts go in. */
  readonly chartsDir: string;
  /** That folder as the Markdown file links to it, e.g. "results". */
  readonly chartsHref: string;
}

/**
 * Writes the Markdown report and its charts, and returns the paths written.
 * A chart this run has no data for is removed from `chartsDir`, so that no
 * older run's figures stay beside a report that no longer links them.
 */
export async function writeReport(results: Results, options: ReportOptions): Promise<string[]> {
  const charts = await renderCharts(results);
  await mkdir(options.chartsDir, { recursive: true });
  const written: string[] = [];
  for (const file of chartFiles) {
    const path = join(options.chartsDir, file);
    const svg = charts[file];
    if (svg === undefined) await rm(path, { force: true });
    else {
      await writeFile(path, `${svg}\n`);
      written.push(path);
    }
  }
  await mkdir(dirname(options.markdownPath), { recursive: true });
  await writeFile(options.markdownPath, renderMarkdown(results, options.chartsHref));
  written.push(options.markdownPath);
  return written;
}
