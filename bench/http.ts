// Server CPU time per request, with requests per second beside it, on Node
// 20, Node 26, Bun and Deno: listen() (its default engine, and the native and
// accept4 engines) against each runtime's own listener, the floor of their
// API (a library-free promise-per-read server) and a C floor
// (bench/http-floor.c), for HTTP/1.1 keep-alive and HTTP/1.1
// connection-per-request driven by wrk, and raw echo driven by
// bench/echo-load.c (both C files compiled here with cc).
// Run: npm run bench:http [runtime…]   (installs wrk from Debian's packages if missing)
// Narrow a run with BENCH_WORKLOADS=close,echo and BENCH_VARIANTS=c-floor,native,library-default;
// BENCH_JSON=file writes every sample.
import { type ChildProcess, execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { type RuntimeId, runtimes, runtimeVersion } from "../test/_runtimes.ts";
import {
  clockTicks,
  compileC,
  cpuTicks,
  exitCodeFor,
  has,
  median,
  onCpu,
  pinned,
  selectedRuntimes,
  startPinned,
  startServer,
  stop,
} from "./_driver.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
// wrk's -d takes no fractions of a second.
if (!Number.isInteger(SECONDS) || SECONDS < 1)
  throw new Error(`BENCH_SECONDS must be a whole number ≥ 1, got ${SECONDS}`);
/** Rounds per cell, the variants interleaved in each so that drift on the machine falls on all of them alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Rounds a noisy cell may grow to. */
const MAX_ROUNDS = Math.max(ROUNDS, Number(process.env.BENCH_MAX_ROUNDS ?? 7));
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(MAX_ROUNDS))
  throw new Error(`BENCH_ROUNDS and BENCH_MAX_ROUNDS must be whole numbers ≥ 1`);
/**
 * A cell whose CPU per request spreads by more than this ((max − min) /
 * median) gets more rounds, and is marked noisy if it still does. From five
 * rounds on, the lowest and the highest sample are left out of the spread:
 * one disturbed round either way (another process on CPU 0) is then set
 * aside, which more rounds could never do for a plain min–max.
 */
const SPREAD = 0.1;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const JSON_PATH = process.env.BENCH_JSON;

const workloads = ["keepalive", "close", "echo"] as const;
type Workload = (typeof workloads)[number];
const variants = [
  "c-floor",
  "native",
  "floor",
  "library-fd",
  "library-native",
  "library-accept4",
  "library-default",
  "library-epoll",
] as const;
type Variant = (typeof variants)[number];
/** listen() without an engine option is the epoll engine on Linux: measuring "library-epoll" too would repeat it. */
const defaultVariants: readonly Variant[] = variants.filter((variant) => variant !== "library-epoll");

const columns: Record<Variant, string> = {
  "c-floor": "C floor: bench/http-floor.c, one thread, epoll",
  native: "runtime's listener",
  floor: "floor: runtime's listener, Deno.Conn-style, no library",
  "library-fd": "runtime's server on openSocket() fd",
  "library-native": "listen(), native engine",
  "library-accept4": "listen(), accept4 engine",
  "library-default": "listen(), no engine option",
  "library-epoll": "listen(), epoll engine",
};

/** The same, short, for the list of missed targets. */
const names: Record<Variant, string> = {
  "c-floor": "the C floor",
  native: "the runtime's listener",
  floor: "the floor",
  "library-fd": "the runtime's server on an openSocket() fd",
  "library-native": "listen()'s native engine",
  "library-accept4": "listen()'s accept4 engine",
  "library-default": "listen() with no engine option",
  "library-epoll": "listen()'s epoll engine",
};

/** A target on one cell, as a ratio to another cell of the same row. */
interface Target {
  readonly variant: Variant;
  readonly against: Variant;
  /** "cpu": CPU per request, at most `limit` times the other cell's; "rate": requests/s, at least `limit` times. */
  readonly measure: "cpu" | "rate";
  readonly limit: (workload: Workload) => number;
}

const targets: readonly Target[] = [
  { variant: "library-default", against: "native", measure: "cpu", limit: () => 1.0 },
  { variant: "library-default", against: "c-floor", measure: "cpu", limit: (w) => (w === "close" ? 1.5 : 1.3) },
  { variant: "library-native", against: "floor", measure: "rate", limit: () => 0.97 },
  { variant: "library-accept4", against: "floor", measure: "rate", limit: () => 0.97 },
];
/** The cells others are read against: they get the extra rounds of any noisy cell in their row too. */
const references = new Set<Variant>(["c-floor", "native", "floor"]);

/** Names from a comma-separated environment variable, in the table's order; every name when unset. */
function chosen<T extends string>(
  value: string | undefined,
  all: readonly T[],
  fallback: readonly T[],
  what: string,
): T[] {
  if (value === undefined || value.trim() === "") return [...fallback];
  const names = value.split(",").map((name) => name.trim());
  for (const name of names)
    if (!all.includes(name as T)) throw new Error(`unknown ${what} ${name}; use ${all.join(", ")}`);
  return all.filter((name) => names.includes(name));
}

const selectedWorkloads = chosen(process.env.BENCH_WORKLOADS, workloads, workloads, "workload");
const selectedVariants = chosen(process.env.BENCH_VARIANTS, variants, defaultVariants, "variant");

/** wrk from Debian's packages; the echo client and the C floor compiled from bench/. */
function prepareTools(): { echoLoad: string; httpFloor: string } {
  if (!has("wrk")) {
    console.log("installing wrk from Debian's packages…");
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "wrk"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  return { echoLoad: compileC("echo-load.c"), httpFloor: compileC("http-floor.c") };
}

/** One load run against one server process. */
interface Sample {
  readonly round: number;
  /** Requests (echo round trips) the load generator completed. */
  readonly requests: number;
  /** Requests per second, as the load generator reports it. */
  readonly rate: number;
  /** The server's user + system CPU time over the run, in clock ticks. */
  readonly cpuTicks: number;
  readonly cpuUsPerRequest: number;
  /**
   * The share of the run the server spent on a CPU: near 1 when it is what
   * limits the rate. Less, and it handles fewer requests per wake-up, which
   * costs more CPU per request; the C floor, limited by the load generator, is
   * measured that way, so it is if anything a little high.
   */
  readonly busy: number;
  /** The engine listen() ran, for listen()'s variants. */
  readonly engine?: string;
}

/**
 * Runs the load on CPU 1 against a server, reading the server's CPU time
 * right before and right after. Nothing else runs in the server meanwhile,
 * so what it spent is what the requests cost it.
 */
function load(port: number, pid: number, workload: Workload, echoLoad: string, what: string): Omit<Sample, "round"> {
  const argv =
    workload === "echo"
      ? [echoLoad, String(port), String(CONNECTIONS), String(SECONDS)]
      : [
          "wrk",
          "-t1",
          `-c${CONNECTIONS}`,
          `-d${SECONDS}s`,
          ...(workload === "close" ? ["-H", "Connection: close"] : []),
          `http://127.0.0.1:${port}/`,
        ];
  const [command, ...args] = onCpu(1, argv) as [string, ...string[]];
  const before = cpuTicks(pid);
  const output = execFileSync(command, args, { encoding: "utf8" });
  const ticks = cpuTicks(pid) - before;
  const rate = output.match(/Requests\/sec:\s+([\d.]+)/);
  const count = output.match(/(\d+) requests in ([\d.]+)(us|ms|s|m)\b/);
  if (!rate || !count || Number(count[1]) === 0) throw new Error(`no requests counted in:\n${output}`);
  if (/Non-2xx|Socket errors/.test(output)) console.error(`${what}:\n${output}`);
  const requests = Number(count[1]);
  const units: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60 };
  const seconds = Number(count[2]) * (units[count[3] ?? "s"] ?? 1);
  const cpuSeconds = ticks / clockTicks;
  return {
    requests,
    rate: Number(rate[1]),
    cpuTicks: ticks,
    cpuUsPerRequest: (cpuSeconds * 1e6) / requests,
    busy: Math.round((cpuSeconds / seconds) * 100) / 100,
  };
}

async function sample(
  id: RuntimeId,
  variant: Variant,
  workload: Workload,
  round: number,
  tools: { echoLoad: string; httpFloor: string },
): Promise<Sample> {
  const what = `${id} ${workload} ${variant}`;
  let server: { line: string; child: ChildProcess };
  if (variant === "c-floor") server = await startPinned([tools.httpFloor, workload], what);
  else server = await startServer(id, "_http-server.ts", [variant, workload]);
  const { line, child } = server;
  try {
    const [port = "", engine] = line.split(" ");
    if (child.pid === undefined) throw new Error(`${what}: no pid`);
    const result = load(Number(port), child.pid, workload, tools.echoLoad, what);
    return { round, ...result, ...(engine === undefined ? {} : { engine }) };
  } finally {
    await stop(child);
  }
}

/** A cell's numbers over its rounds. */
interface Stats {
  readonly cpu: number;
  readonly min: number;
  readonly max: number;
  /** The spread judged against SPREAD (see there). */
  readonly spread: number;
  readonly noisy: boolean;
  readonly rate: number;
  readonly rounds: number;
}

function spreadOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const judged = sorted.length >= 5 ? sorted.slice(1, -1) : sorted;
  const middle = median(values);
  return middle === 0 ? 0 : ((judged.at(-1) ?? 0) - (judged[0] ?? 0)) / middle;
}

function stats(samples: Sample[]): Stats {
  const cpu = samples.map((s) => s.cpuUsPerRequest);
  const spread = spreadOf(cpu);
  return {
    cpu: median(cpu),
    min: Math.min(...cpu),
    max: Math.max(...cpu),
    spread,
    noisy: spread > SPREAD,
    rate: median(samples.map((s) => s.rate)),
    rounds: samples.length,
  };
}

type Status = "met" | "missed" | "not judged";

/** One target on one row. */
interface Verdict {
  readonly runtime: RuntimeId;
  readonly workload: Workload;
  readonly variant: Variant;
  readonly against: Variant;
  readonly measure: "cpu" | "rate";
  readonly ratio: number;
  readonly limit: number;
  /** A noisy cell (either of the two) that misses is not judged: its miss may be the noise. */
  readonly status: Status;
}

function judge(runtime: RuntimeId, workload: Workload, row: Map<Variant, Stats>): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const target of targets) {
    const cell = row.get(target.variant);
    const other = row.get(target.against);
    if (cell === undefined || other === undefined) continue;
    const limit = target.limit(workload);
    // Judged as printed, to two decimals: about what 10 ms clock ticks resolve over a 2 s run.
    const exact = target.measure === "cpu" ? cell.cpu / other.cpu : cell.rate / other.rate;
    const ratio = Math.round(exact * 100) / 100;
    const met = target.measure === "cpu" ? ratio <= limit : ratio >= limit;
    const status: Status = met ? "met" : cell.noisy || other.noisy ? "not judged" : "missed";
    const { variant, against, measure } = target;
    verdicts.push({ runtime, workload, variant, against, measure, ratio, limit, status });
  }
  return verdicts;
}

const mark = (verdict: Verdict | undefined): string =>
  verdict?.status === "missed" ? " ✗" : verdict?.status === "not judged" ? " ?" : "";

const micros = (us: number): string => us.toFixed(1);
const perSecond = (rate: number): string =>
  rate >= 100_000 ? `${Math.round(rate / 1000)}k/s` : `${(rate / 1000).toFixed(1)}k/s`;

/** `~7.4 µs 7.2–8.1 (1.04×, 1.23× C) · 135k/s, 0.98× floor` */
function renderCell(variant: Variant, row: Map<Variant, Stats>, verdicts: Verdict[]): string {
  const cell = row.get(variant);
  if (cell === undefined) return "—";
  const verdict = (against: Variant, measure: "cpu" | "rate"): Verdict | undefined =>
    verdicts.find((v) => v.variant === variant && v.against === against && v.measure === measure);
  const native = row.get("native");
  const cFloor = row.get("c-floor");
  const floor = row.get("floor");
  const ratios: string[] = [];
  if (native !== undefined && variant !== "native" && variant !== "c-floor")
    ratios.push(`${(cell.cpu / native.cpu).toFixed(2)}×${mark(verdict("native", "cpu"))}`);
  if (cFloor !== undefined && variant !== "c-floor")
    ratios.push(`${(cell.cpu / cFloor.cpu).toFixed(2)}× C${mark(verdict("c-floor", "cpu"))}`);
  let text = `${cell.noisy ? "~" : ""}${micros(cell.cpu)} µs`;
  if (cell.rounds > 1) text += ` ${micros(cell.min)}–${micros(cell.max)}`;
  if (ratios.length > 0) text += ` (${ratios.join(", ")})`;
  text += ` · ${perSecond(cell.rate)}`;
  const rateVerdict = verdict("floor", "rate");
  if (rateVerdict !== undefined && floor !== undefined)
    text += `, ${(cell.rate / floor.rate).toFixed(2)}× floor${mark(rateVerdict)}`;
  return text;
}

/** How to run this again: the command line and the BENCH_ settings it ran with. */
function commandLine(): string {
  const settings = Object.entries(process.env)
    .filter(([name]) => name.startsWith("BENCH_") && name !== "BENCH_JSON")
    .map(([name, value]) => `${name}=${value}`)
    .sort();
  const args = process.argv.slice(2);
  return [...settings, "npm run bench:http", ...(args.length > 0 ? ["--", ...args] : [])].join(" ");
}

const tools = prepareTools();
const ids = selectedRuntimes();
const versions: Partial<Record<RuntimeId, string>> = {};
const rows: string[] = [];
const allVerdicts: Verdict[] = [];
const extraRounds: string[] = [];
const engines = new Set<string>();
const recorded: object[] = [];
const header = [
  `${commandLine()}`,
  `${pinned ? "server on CPU 0, load on CPU 1 (taskset)" : "not pinned (taskset or a second CPU missing)"}; ${ROUNDS} interleaved rounds of ${SECONDS} s per cell, up to ${MAX_ROUNDS} while CPU per request spreads over ${SPREAD * 100}%; ${CONNECTIONS} connections on 127.0.0.1; wrk -t1 for HTTP, bench/echo-load.c for echo`,
];

function writeJson(): void {
  if (JSON_PATH === undefined) return;
  const run = {
    command: header[0],
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() },
    pinned,
    seconds: SECONDS,
    rounds: ROUNDS,
    maxRounds: MAX_ROUNDS,
    spread: SPREAD,
    connections: CONNECTIONS,
    clockTicksPerSecond: clockTicks,
    versions,
    cells: recorded,
    targets: allVerdicts,
  };
  writeFileSync(JSON_PATH, `${JSON.stringify(run, null, 2)}\n`);
}

console.log(header.join("\n"));
for (const id of ids) {
  const version = runtimeVersion(runtimes[id]);
  versions[id] = version;
  for (const workload of selectedWorkloads) {
    const samples = new Map<Variant, Sample[]>(selectedVariants.map((variant) => [variant, []]));
    let rounds = 0;
    const round = async (which: readonly Variant[]): Promise<void> => {
      rounds++;
      for (const variant of which) samples.get(variant)?.push(await sample(id, variant, workload, rounds, tools));
    };
    while (rounds < ROUNDS) await round(selectedVariants);
    // Noisy cells run again, interleaved with the cells they are read against.
    while (rounds < MAX_ROUNDS) {
      const noisy = selectedVariants.filter((variant) => stats(samples.get(variant) ?? []).noisy);
      if (noisy.length === 0) break;
      await round(selectedVariants.filter((variant) => noisy.includes(variant) || references.has(variant)));
    }
    if (rounds > ROUNDS) extraRounds.push(`${id} ${workload}: ${rounds} rounds`);
    const row = new Map<Variant, Stats>();
    for (const [variant, values] of samples) {
      const cell = stats(values);
      row.set(variant, cell);
      for (const s of values) if (s.engine !== undefined && variant === "library-default") engines.add(s.engine);
      recorded.push({ runtime: id, version, workload, variant, ...cell, samples: values });
    }
    const verdicts = judge(id, workload, row);
    allVerdicts.push(...verdicts);
    const cells = selectedVariants.map((variant) => renderCell(variant, row, verdicts));
    const line = `| ${id} ${version} | ${workload} | ${cells.join(" | ")} |`;
    console.log(line);
    rows.push(line);
    writeJson();
  }
}

const describe = (v: Verdict): string => {
  const what = v.measure === "cpu" ? "CPU per request" : "requests/s";
  const bound = v.measure === "cpu" ? "≤" : "≥";
  return `${v.runtime} ${v.workload}, ${names[v.variant]}: ${v.ratio.toFixed(2)}× ${names[v.against]} in ${what} (target ${bound} ${v.limit.toFixed(2)}×)`;
};
const missed = allVerdicts.filter((v) => v.status === "missed");
const notJudged = allVerdicts.filter((v) => v.status === "not judged");

console.log(`\n${header.join("\n")}`);
console.log(
  "each cell: the server's CPU time (user + system, all threads) per request, median µs and min–max over the rounds; its ratio to the runtime's listener and to the C floor; then requests (echo round trips) per second, median, and for the native and accept4 engines the ratio to the floor's",
);
console.log(
  `targets: listen() with no engine option${engines.size > 0 ? ` (here the ${[...engines].join(", ")} engine)` : ""} ≤ 1.00× the runtime's listener, and ≤ 1.3× the C floor for keepalive and echo, ≤ 1.5× for close, in CPU per request; the native and accept4 engines ≥ 0.97× the floor's requests/s`,
);
console.log(
  `✗ a missed target; ~ a noisy cell (spread still over ${SPREAD * 100}% after up to ${MAX_ROUNDS} rounds); ? a target missed by a noisy cell, not judged\n`,
);
console.log(`| runtime | workload | ${selectedVariants.map((variant) => columns[variant]).join(" | ")} |`);
console.log(`|---|---|${selectedVariants.map(() => "---").join("|")}|`);
for (const row of rows) console.log(row);
if (extraRounds.length > 0) console.log(`\nmore rounds for noisy cells: ${extraRounds.join("; ")}`);
console.log(missed.length === 0 ? "\nno target missed" : `\nmissed targets (${missed.length}):`);
for (const v of missed) console.log(`  ✗ ${describe(v)}`);
if (notJudged.length > 0) console.log(`noisy, not judged (${notJudged.length}; run them again):`);
for (const v of notJudged) console.log(`  ? ${describe(v)}`);
writeJson();
process.exitCode = exitCodeFor(missed.length);
