// The processes a contender is made of: starting them and waiting for a
// line, finding every process of a tree, their CPU time and their
// voluntary context switches, and a free port.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { childrenOf, cpuTicks } from "../_driver.ts";

/** A started process, with every line it has printed so far (stdout and stderr). */
export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /**
   * Resolves with the count-th line (from either stream) matching `pattern`
   * among those no earlier call has read; rejects when the process exits
   * first, or after timeoutMs.
   */
  waitFor(pattern: RegExp, timeoutMs?: number, count?: number): Promise<string>;
  /** The last lines printed, for an error message. */
  tail(): string;
}

/** Starts argv with its output captured line by line. */
export function start(argv: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  // Lines no waitFor() has looked at yet, and the last ones printed (for errors).
  const unread: string[] = [];
  const recent: string[] = [];
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => {
      unread.push(line);
      recent.push(line);
      if (recent.length > 40) recent.shift();
      for (const listener of listeners) listener();
    });
  }
  let exited = false;
  child.once("exit", () => {
    exited = true;
    for (const listener of listeners) listener();
  });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(" ")}`);
  const what = argv.join(" ");
  return {
    child,
    pid: child.pid,
    waitFor: (pattern, timeoutMs = 30_000, count = 1) =>
      new Promise<string>((resolve, reject) => {
        let matched = 0;
        const check = (): void => {
          for (let line = unread.shift(); line !== undefined; line = unread.shift()) {
            if (pattern.test(line) && ++matched === count) {
              done(() => resolve(line));
              return;
            }
          }
          if (exited) done(() => reject(new Error(`${what} exited:\n${recent.join("\n")}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} from ${what} in ${timeoutMs} ms:\n${recent.join("\n")}`))),
          timeoutMs,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    tail: () => recent.join("\n"),
  };
}

/** Runs argv to its end; resolves with its exit code (null when a signal ended it) and its last lines. */
export async function runToEnd(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; tail: string }> {
  const command = start(argv, options);
  const code = await new Promise<number | null>((resolve) => command.child.once("exit", resolve));
  return { code, tail: command.tail() };
}

/** Ends a process with SIGTERM (SIGKILL after graceMs) and waits until it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A process and every process under it, from any of their threads. */
export function tree(pid: number): number[] {
  try {
    return [pid, ...childrenOf(pid).flatMap(tree)];
  } catch {
    // it exited while being walked
    return [pid];
  }
}

/** CPU ticks (user + system) of these process trees, so far. */
export function treesCpuTicks(roots: readonly number[]): number {
  let ticks = 0;
  for (const root of roots) {
    try {
      ticks += cpuTicks(root);
    } catch {
      // exited
    }
  }
  return ticks;
}

/** Voluntary context switches of every thread of every process of these trees, so far. */
export function voluntarySwitches(roots: readonly number[]): number {
  let switches = 0;
  for (const pid of roots.flatMap(tree)) {
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
        switches += Number(status.match(/^voluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
      }
    } catch {
      // exited while being read
    }
  }
  return switches;
}

/** A port nothing listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sleeps. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
