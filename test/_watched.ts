// A child process whose output a test waits on, line patterns at a time.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Watched {
  readonly child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Waits until the output matches; returns the match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Its exit code (null when a signal ended it), once its output is read. */
  readonly exited: Promise<number | null>;
}

/** Collects a child's stdout and stderr (spawned with both piped). */
export function watch(child: ChildProcess, defaultTimeoutMs = 20_000): Watched {
  let text = "";
  const waiters: (() => void)[] = [];
  const take = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return {
    child,
    output: () => text,
    exited: new Promise((resolve) => child.once("close", (code) => resolve(code))),
    waitFor: (pattern, timeoutMs = defaultTimeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${text}`)), timeoutMs);
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          } else waiters.push(check);
        };
        check();
      }),
  };
}

/**
 * Whether a process runs: a zombie has ended (orphans here are reparented
 * to a pid 1 that may never wait for them).
 */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
