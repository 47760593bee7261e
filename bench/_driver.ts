// What the benchmark drivers share: CPU pinning, compiling a C load
// generator, starting a benchmark server on a runtime, and the median.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { type RuntimeId, root, runtimes } from "../test/_runtimes.ts";

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
 * Starts a benchmark server (a script under bench/) on a runtime, on CPU 0,
 * and resolves with the first line it prints (its port, for most) once it
 * prints one. Deno gets --unstable-net, which its own reusePort options need.
 */
export async function startServer(
  id: RuntimeId,
  script: string,
  args: string[],
): Promise<{ line: string; child: ChildProcess }> {
  const argv = runtimes[id].argv(join(root, "bench", script), args);
  if (id === "deno") argv.splice(2, 0, "--unstable-net");
  const [command, ...rest] = onCpu(0, argv) as [string, ...string[]];
  const child = spawn(command, rest, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${id} ${args.join(" ")} server exited (${code})`)));
  });
  return { line, child };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The runtimes named on the command line, or all four. */
export function selectedRuntimes(): RuntimeId[] {
  const only = process.argv.slice(2) as RuntimeId[];
  for (const id of only)
    if (!(id in runtimes)) throw new Error(`unknown runtime ${id}; use ${Object.keys(runtimes).join(", ")}`);
  return only.length > 0 ? only : (Object.keys(runtimes) as RuntimeId[]);
}
