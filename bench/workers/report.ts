// Redraws bench/RESULTS.md and bench/results/*.svg from a run saved with
// BENCH_JSON, without running the benchmark again: for a change to the
// report itself, or a run made on another machine. The targets are judged
// again from the samples.
// Run: node --import tsx bench/workers/report.ts results.json
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeReport } from "./_report.ts";
import type { Results } from "./_results.ts";
import { judgeTargets } from "./_targets.ts";

const usage = "usage: node --import tsx bench/workers/report.ts results.json";
const root = fileURLToPath(new URL("../../", import.meta.url));

function parse(): ReturnType<
  typeof parseArgs<{ options: { help: { type: "boolean"; short: "h" } }; allowPositionals: true }>
> {
  try {
    return parseArgs({ options: { help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
}

const { values, positionals } = parse();
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const [input, ...extra] = positionals;
if (input === undefined || extra.length > 0) {
  console.error(usage);
  process.exit(2);
}

const results: unknown = JSON.parse(await readFile(resolve(input), "utf8"));
// A file that is not a run's Results would otherwise fail deep in the report with a puzzling message.
const fields = ["contenders", "load", "wakeups", "reloads", "targets", "notes"] as const;
const missing = fields.filter(
  (field) =>
    typeof results !== "object" || results === null || !Array.isArray((results as Record<string, unknown>)[field]),
);
if (missing.length > 0) {
  console.error(`${input} is not a bench:workers results file: no ${missing.join(", ")}`);
  process.exit(1);
}

// The targets are judged again, so that a change to how they are judged shows in a redrawn report.
// Runs saved before the balance runs existed have none.
const saved = results as Omit<Results, "balanceRuns"> & Partial<Pick<Results, "balanceRuns">>;
const run: Results = { ...saved, balanceRuns: saved.balanceRuns ?? [] };
const written = await writeReport(
  { ...run, targets: judgeTargets(run) },
  {
    markdownPath: join(root, "bench", "RESULTS.md"),
    chartsDir: join(root, "bench", "results"),
    chartsHref: "results",
  },
);
for (const path of written) console.log(relative(root, path));
