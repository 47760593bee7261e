// Every server example, run as a user would run it: start it, read the port
// from its first line, send 200 requests, check that each of its servers
// answered a share, stop it with SIGTERM and expect it to exit.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { type RepoServer, serveRepo } from "./_serve-repo.ts";
import { spread } from "./conformance/_util.ts";

const REQUESTS = 200;

/** Starts `argv`, waits for "listening on http://127.0.0.1:PORT", and returns the port. */
async function startExample(argv: string[]): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 30 s\n${stderr}`)), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (first) => {
      clearTimeout(timer);
      resolve(first);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}\n${stderr}`)));
  });
  const port = Number(line.match(/^listening on http:\/\/127\.0\.0\.1:(\d+) /)?.[1]);
  if (!port) throw new Error(`unexpected first line: ${line}\n${stderr}`);
  return { child, port, stderr: () => stderr };
}

/** SIGTERM, then the exit code (or "still running" after 10 s, when it is killed). */
function stop(child: ChildProcess): Promise<number | null | "still running"> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const timeout = new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 10_000));
  return Promise.race([exited, timeout]).then((outcome) => {
    if (outcome === "still running") child.kill("SIGKILL");
    return outcome;
  });
}

/** Runs an example and checks that `servers` distinct answers each got more than 10% of the requests. */
async function checkSpread(argv: string[], servers: number, answer: RegExp): Promise<void> {
  const { child, port, stderr } = await startExample(argv);
  try {
    const counts = await spread(port, REQUESTS);
    const summary = JSON.stringify(Object.fromEntries(counts));
    for (const body of counts.keys()) expect(body, summary).toMatch(answer);
    expect(counts.size, summary).toBe(servers);
    for (const count of counts.values()) expect(count, summary).toBeGreaterThan(REQUESTS / 10);
  } finally {
    expect(await stop(child), stderr()).not.toBe("still running");
  }
}

const argv = (id: RuntimeId, script: string): string[] => runtimes[id].argv(join(root, "examples", script), ["0"]);

describe("examples", () => {
  for (const id of ["node20", "node26"] as const) {
    test(
      `node-http.ts: 4 node:http servers on one port (${id})`,
      () => checkSpread(argv(id, "node-http.ts"), 4, /^server [0-3]\n$/),
      60_000,
    );
    test(
      `accept4-workers.ts: accept4 in the main thread, 4 worker threads (${id})`,
      () => checkSpread(argv(id, "accept4-workers.ts"), 4, /^worker [0-3]\n$/),
      60_000,
    );
  }
  for (const id of ["node20", "node26", "bun"] as const) {
    test(
      `processes.ts: a launcher starts 4 processes on one port (${id})`,
      () => checkSpread(argv(id, "processes.ts"), 4, /^pid \d+\n$/),
      60_000,
    );
  }
  test(
    "bun-servers.ts: Bun.listen on the library's fd and Bun.serve share a group (bun)",
    () => checkSpread(argv("bun", "bun-servers.ts"), 2, /^Bun\.(listen on a reuseport fd|serve in the same group)\n$/),
    60_000,
  );

  describe("deno-server.ts, run from a URL with --allow-ffi alone (deno)", () => {
    let repo: RepoServer;
    beforeAll(async () => {
      repo = await serveRepo(["examples/deno-server.ts"]);
    });
    afterAll(() => repo.close());
    test("4 listeners on one port", () => {
      const [deno] = runtimes.deno.argv("x");
      const host = new URL(repo.base).host;
      return checkSpread(
        [
          deno as string,
          "run",
          "--quiet",
          "--no-prompt",
          "--allow-ffi",
          `--allow-import=${host}`,
          `${repo.base}/examples/deno-server.ts`,
          "0",
        ],
        4,
        /^listener [0-3]\n$/,
      );
    }, 60_000);
  });
});
