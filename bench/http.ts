// Requests per second on Node 20, Node 26, Bun and Deno: each runtime's own
// listener against the library's native, accept4 and epoll engines, beside the
// floor of their API (a library-free promise-per-read server), for HTTP/1.1
// keep-alive and HTTP/1.1 connection-per-request driven by wrk, and raw echo
// driven by bench/echo-load.c (compiled here with cc).
// Run: npm run bench:http [runtime…]   (installs wrk from Debian's packages if missing)
import { type ChildProcess, execFileSync } from "node:child_process";
import { type RuntimeId, runtimes, runtimeVersion } from "../test/_runtimes.ts";
import { compileC, has, median, onCpu, pinned, selectedRuntimes, startServer as startBenchServer } from "./_driver.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
/** Rounds per cell, the variants interleaved in each; the median is reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGETS = { "library-fd": 0.97, "library-native": 0.97, "library-accept4": 0.85 } as const;
const workloads = ["keepalive", "close", "echo"] as const;
const variants = ["native", "floor", "library-fd", "library-native", "library-accept4", "library-epoll"] as const;
/** listen()'s columns also show their ratio to the floor: what the library adds to the API's own cost. */
const againstFloor = new Set<string>(["library-native", "library-accept4", "library-epoll"]);

/** wrk from Debian's packages; the echo client compiled from bench/echo-load.c. */
function prepareTools(): string {
  if (!has("wrk")) {
    console.log("installing wrk from Debian's packages…");
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", "wrk"], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  }
  return compileC("echo-load.c");
}

async function startServer(
  id: RuntimeId,
  variant: string,
  workload: string,
): Promise<{ port: number; child: ChildProcess }> {
  const { line, child } = await startBenchServer(id, "_http-server.ts", [variant, workload]);
  return { port: Number(line), child };
}

function measure(port: number, workload: string, echoLoad: string): number {
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
  const output = execFileSync(command, args, { encoding: "utf8" });
  const match = output.match(/Requests\/sec:\s+([\d.]+)/);
  if (!match) throw new Error(`no rate in:\n${output}`);
  if (/Non-2xx|Socket errors/.test(output)) console.error(output);
  return Number(match[1]);
}

const echoLoad = prepareTools();
const ids = selectedRuntimes();
const rows: string[] = [];
let missed = 0;
for (const id of ids) {
  const version = runtimeVersion(runtimes[id]);
  for (const workload of workloads) {
    const samples = Object.fromEntries(variants.map((variant) => [variant, [] as number[]]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of variants) {
        const { port, child } = await startServer(id, variant, workload);
        try {
          samples[variant]?.push(measure(port, workload, echoLoad));
        } finally {
          child.kill();
        }
      }
    }
    const rates: Record<string, number> = {};
    for (const [variant, values] of Object.entries(samples)) rates[variant] = median(values);
    const base = rates.native ?? 1;
    const cells = variants.slice(1).map((variant) => {
      const rate = rates[variant] ?? 0;
      const ratio = rate / base;
      const target = TARGETS[variant as keyof typeof TARGETS] as number | undefined;
      const miss = target !== undefined && ratio < target;
      if (miss) missed++;
      const floor = againstFloor.has(variant) ? `, ${(rate / (rates.floor ?? 1)).toFixed(2)}× floor` : "";
      return `${Math.round(rate)} (${ratio.toFixed(2)}×${miss ? " ✗" : ""}${floor})`;
    });
    const row = `| ${id} ${version} | ${workload} | ${Math.round(base)} | ${cells.join(" | ")} |`;
    console.log(row);
    rows.push(row);
  }
}
console.log(
  `\n${CONNECTIONS} connections, median of ${ROUNDS} interleaved rounds of ${SECONDS} s per cell, on 127.0.0.1: wrk -t1 for HTTP, bench/echo-load.c for echo${pinned ? "; server on CPU 0, load on CPU 1" : ""}`,
);
console.log(
  "requests (or echo round trips) per second, the ratio to the runtime's own listener, and for listen() the ratio to the floor",
);
console.log(
  "targets: the runtime's server on a library fd and the native engine ≥ 0.97×, accept4 engine ≥ 0.85× (✗ marks a miss)\n",
);
console.log(
  "| runtime | workload | runtime's listener | floor: runtime's listener, Deno.Conn-style, no library | runtime's server on openSocket() fd | listen(), native engine | listen(), accept4 engine | listen(), epoll engine |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
process.exitCode = missed === 0 ? 0 : 1;
