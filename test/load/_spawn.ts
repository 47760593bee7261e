// Starts the load client (client.ts) as a process of its own and hands back
// its result. Runtime-neutral: node:child_process only.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The load client's script, for a runtime's argv (`runtimes.node26.argv(loadClientScript)`). */
export const loadClientScript: string = fileURLToPath(new URL("./client.ts", import.meta.url));

/** What the load client prints when it ends (see client.ts). */
export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  /** Failures by kind: a socket error's code, "timeout", "empty-response" or "bad-response". */
  readonly errors: Readonly<Record<string, number>>;
  /** Whole 200 responses by body. */
  readonly bodies: Readonly<Record<string, number>>;
  /** The client's time of each mark() (ms since it started, as in samples). */
  readonly marks: Readonly<Record<string, number>>;
  /** Every request: start and end in ms since the client started, and its body or failure. */
  readonly samples: readonly (readonly [startMs: number, endMs: number, outcome: string])[];
}

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  readonly concurrency?: number;
  readonly durationMs?: number;
  readonly maxRequests?: number;
  /** Requests started per second at most. */
  readonly rate?: number;
  readonly timeoutMs?: number;
}

export interface LoadClient {
  /** Resolves once the first request has succeeded; rejects if the client ends before. */
  readonly started: Promise<void>;
  /** Resolves with the result when the client ends on its own (duration, max requests). */
  readonly done: Promise<LoadResult>;
  /** Records the client's current time as `marks[name]` in the result ("mark <name>" on stdin; no spaces in name). */
  mark(name: string): void;
  /** Asks the client to stop ("stop" on stdin); resolves with its result once requests in flight end. */
  stop(): Promise<LoadResult>;
}

/** The client's flags for these options. */
export function loadClientArgs(options: LoadOptions): string[] {
  const args = ["--port", String(options.port)];
  const add = (flag: string, value: string | number | undefined): void => {
    if (value !== undefined) args.push(flag, String(value));
  };
  add("--host", options.host);
  add("--concurrency", options.concurrency);
  add("--duration-ms", options.durationMs);
  add("--max-requests", options.maxRequests);
  add("--rate", options.rate);
  add("--timeout-ms", options.timeoutMs);
  return args;
}

/**
 * Starts the load client. `command` is the argv that runs client.ts on some
 * runtime (its flags are appended), e.g. `runtimes.node26.argv(loadClientScript)`.
 */
export function startLoadClient(command: readonly string[], options: LoadOptions): LoadClient {
  const [file, ...args] = [...command, ...loadClientArgs(options)] as [string, ...string[]];
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let onStarted = (): void => {};
  const started = new Promise<void>((resolve) => {
    onStarted = resolve;
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    if (/^started$/m.test(stderr)) onStarted();
  });
  const done = new Promise<LoadResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const line = stdout.trim().split("\n").pop() ?? "";
      try {
        if (code !== 0) throw new Error(`exited with ${code}`);
        resolve(JSON.parse(line) as LoadResult);
      } catch (error) {
        reject(new Error(`the load client failed (${(error as Error).message}); stderr:\n${stderr}`));
      }
    });
  });
  done.catch(() => {});
  child.stdin.on("error", () => {});
  const flowing = Promise.race([
    started,
    done.then(
      () => {
        throw new Error(`the load client ended before a request succeeded; stderr:\n${stderr}`);
      },
      (error: unknown) => {
        throw error;
      },
    ),
  ]);
  flowing.catch(() => {});
  return {
    started: flowing,
    done,
    mark: (name) => {
      if (/\s/.test(name) || name === "")
        throw new TypeError(`a mark's name must be a word, got ${JSON.stringify(name)}`);
      if (child.exitCode === null && child.stdin.writable) child.stdin.write(`mark ${name}\n`);
    },
    stop: () => {
      if (child.exitCode === null && child.stdin.writable) child.stdin.end("stop\n");
      return done;
    },
  };
}
