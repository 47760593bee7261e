// What the benchmark drivers share: CPU pinning, compiling a C load
// generator or server, starting and stopping a benchmark server, a server's
// CPU time, and the median.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { type RuntimeId, root, runtimes } from "../test/_runtimes.ts";

/**
 * BENCH_SMOKE=1: a run that only shows the benchmark still works end to end
 * (the test suite runs one so that none can rot): figures are printed, but
 * targets are not judged, since a second of load on a busy machine says
 * nothing about them.
 */
export const smoke: boolean = process.env.BENCH_SMOKE === "1";

/** The exit code of a benchmark run: 1 when a target was missed, except in a smoke run. */
export function exitCodeFor(missed: number): number {
  if (smoke) console.log("\nsmoke run (BENCH_SMOKE=1): targets not judged");
  return missed === 0 || smoke ? 0 : 1;
}

/** Whether a command is on PATH. */
export function has(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * With two or more CPUs the server runs on CPU 0 and the load generator on
 * CPU 1, so neither steals the other's time slices: the rate then measures
 * the server's cost per request, and repeats agree far better.
 */
export const pinned: boolean = availableParallelism() >= 2 && has("taskset");

/** argv run on one CPU when pinning is possible, else unchanged. */
export const onCpu = (cpu: number, argv: string[]): string[] =>
  pinned ? ["taskset", "-c", String(cpu), ...argv] : argv;

/** Compiles a C file under bench/ with `cc -O2` into a temporary directory; returns the executable. */
export function compileC(source: string): string {
  const executable = join(mkdtempSync(join(tmpdir(), "reuseport-bench-")), basename(source, ".c"));
  execFileSync("cc", ["-O2", "-o", executable, join(root, "bench", source)], { stdio: "inherit" });
  return executable;
}

/**
 * Starts a server process from `argv` on CPU 0 and resolves with the first
 * line it prints (its port, for most) once it prints one. `taskset` execs
 * the server, so the child's pid is the server's own.
 */
export async function startPinned(argv: string[], what: string): Promise<{ line: string; child: ChildProcess }> {
  const [command, ...rest] = onCpu(0, argv) as [string, ...string[]];
  const child = spawn(command, rest, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${what} server exited (${code})`)));
  });
  return { line, child };
}

/**
 * Starts a benchmark server (a script under bench/) on a runtime, on CPU 0,
 * and resolves with the first line it prints. Deno gets --unstable-net,
 * which its own reusePort options need.
 */
export async function startServer(
  id: RuntimeId,
  script: string,
  args: string[],
): Promise<{ line: string; child: ChildProcess }> {
  const argv = runtimes[id].argv(join(root, "bench", script), args);
  if (id === "deno") argv.splice(2, 0, "--unstable-net");
  return startPinned(argv, `${id} ${args.join(" ")}`);
}

/** Ends a server and waits until it has exited, so it takes no CPU from the next one. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill();
  await exited;
}

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
export const clockTicks: number = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/**
 * User plus system CPU time a process and every process under it have used
 * so far, all their threads together (JIT, GC and poll threads included), in
 * clock ticks: fields 14 and 15 of /proc/<pid>/stat, and 16 and 17 for
 * children already waited for. The tree, because a server may not be one
 * process: Node 20 runs TypeScript through tsx, whose esbuild service stays
 * a child of the server for its whole life.
 */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Counted after the command name's closing parenthesis, as the name may hold spaces: fields[0] is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  for (const child of childrenOf(pid)) {
    try {
      ticks += cpuTicks(child);
    } catch {
      // it exited between the two reads; its time is in the parent's fields 16 and 17 once it is waited for
    }
  }
  return ticks;
}

/** The processes a process started, from any of its threads. */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(" "))
    .filter((child) => child !== "")
    .map(Number);
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? 0;
  return ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The runtimes named on the command line, or all four. */
export function selectedRuntimes(): RuntimeId[] {
  const only = process.argv.slice(2) as RuntimeId[];
  for (const id of only)
    if (!(id in runtimes)) throw new Error(`unknown runtime ${id}; use ${Object.keys(runtimes).join(", ")}`);
  return only.length > 0 ? only : (Object.keys(runtimes) as RuntimeId[]);
}
