// The worker examples (examples/workers/), each on every runtime it supports:
// run alone, as a user starts it (its own socket, one request, SIGTERM, exit
// 0), and under supervise() with 2 workers, reloaded under load from a client
// in another process (test/load/client.ts) that counts every failed request:
// none may fail across a reload, both slots of every generation must answer,
// and every worker must stop cleanly.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, test } from "vitest";
import { type SupervisorEvent, supervise } from "../src/node.ts";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";
import { httpBody } from "./conformance/_util.ts";
import { type LoadResult, loadClientScript, startLoadClient } from "./load/_spawn.ts";

interface Example {
  readonly file: string;
  /** The server the body names ("node:http slot 0 generation 1 pid 42"). */
  readonly server: string;
  readonly runtimes: readonly RuntimeId[];
}

const examples: readonly Example[] = [
  { file: "node-http.ts", server: "node:http", runtimes: ["node20", "node26", "deno"] },
  { file: "bun-listen.ts", server: "Bun.listen", runtimes: ["bun"] },
  { file: "listen.ts", server: "listen()", runtimes: ["node20", "node26", "bun", "deno"] },
];

const RELOADS = 1;

const workerRuntime = { node20: "node", node26: "node", bun: "bun", deno: "deno" } as const;

/** The worker command for supervise(): the runtime's executable and its flags (Deno's come from the supervisor). */
function command(id: RuntimeId, app: string) {
  const [executable, ...rest] = runtimes[id].argv(app) as [string, ...string[]];
  const runtimeArgs = id === "deno" ? [] : rest.slice(0, rest.indexOf(app));
  return { app, runtime: workerRuntime[id], executable, runtimeArgs };
}

/** Starts `argv`, waits for its "listening on http://127.0.0.1:PORT" line. */
async function startAlone(argv: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 20 s\n${output}`)), 20_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (first) => {
      clearTimeout(timer);
      resolve(first);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}\n${output}`)));
  });
  const port = Number(/^listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(line)?.[1]);
  if (!port) throw new Error(`unexpected first line: ${line}\n${output}`);
  return { child, port, output: () => output };
}

function exitOf(child: ChildProcess): Promise<number | null | "still running"> {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
  const timeout = new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 10_000));
  return Promise.race([exited, timeout]).then((outcome) => {
    if (outcome === "still running") child.kill("SIGKILL");
    return outcome;
  });
}

function describeLoad(result: LoadResult): string {
  return `${result.ok} ok, ${result.failed} failed ${JSON.stringify(result.errors)}; bodies: ${JSON.stringify(result.bodies)}`;
}

const figures: string[] = [];

for (const example of examples) {
  const app = join(root, "examples/workers", example.file);
  describe(`examples/workers/${example.file}`, () => {
    for (const id of example.runtimes) {
      test(`alone: binds its own socket, answers, exits 0 on SIGTERM (${id})`, async () => {
        const argv =
          id === "deno"
            ? [
                runtimes.deno.argv("x")[0] as string,
                "run",
                "--quiet",
                "--allow-ffi",
                "--allow-env",
                app,
                "0",
                "127.0.0.1",
              ]
            : runtimes[id].argv(app, ["0", "127.0.0.1"]);
        const { child, port, output } = await startAlone(argv);
        const body = await httpBody(port, "127.0.0.1", 10_000);
        expect(body).toBe(`${example.server} pid ${child.pid}\n`);
        child.kill("SIGTERM");
        expect(await exitOf(child), output()).toBe(0);
      }, 30_000);

      test(`under supervise(): 2 workers, ${RELOADS} reloads under load fail no request (${id})`, async () => {
        const events: SupervisorEvent[] = [];
        const lines: string[] = [];
        const supervisor = supervise({
          ...command(id, app),
          workers: 2,
          listen: [{ hostname: "127.0.0.1", port: 0 }],
          graceMs: 10_000,
          readyTimeoutMs: 20_000,
          onEvent: (event) => events.push(event),
          onOutput: (line) => lines.push(`[${line.slot}] ${line.line}`),
        });
        try {
          await supervisor.ready;
          const port = supervisor.addresses[0]?.port ?? 0;
          const client = startLoadClient(runtimes.node26.argv(loadClientScript), {
            port,
            concurrency: 8,
            durationMs: 60_000,
          });
          await client.started;
          await new Promise((resolve) => setTimeout(resolve, 300));
          for (let i = 0; i < RELOADS; i++) {
            const reload = await supervisor.reload();
            expect(reload.ok, reload.reason).toBe(true);
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          const result = await client.stop();
          figures.push(
            `  ${example.file} on ${id}: ${result.ok} requests, ${result.failed} failed across ${RELOADS} reloads`,
          );
          expect(result.failed, describeLoad(result)).toBe(0);
          const answered = Object.keys(result.bodies);
          for (const body of answered) {
            expect(body).toMatch(
              new RegExp(
                `^${example.server.replace(/[.()]/g, "\\$&")} slot [01] generation [1-${RELOADS + 1}] pid \\d+\\n$`,
              ),
            );
          }
          for (let generation = 1; generation <= RELOADS + 1; generation++) {
            for (const slot of [0, 1]) {
              const want = `slot ${slot} generation ${generation} `;
              expect(
                answered.some((b) => b.includes(want)),
                `${want}answered: ${describeLoad(result)}`,
              ).toBe(true);
            }
          }
          expect(
            events.filter((e) => e.type === "exited" && !e.expected),
            "no worker exited unasked",
          ).toEqual([]);
        } finally {
          const clean = await supervisor.stop();
          expect(clean, `every worker stopped cleanly\n${lines.join("\n")}\n${JSON.stringify(events)}`).toBe(true);
        }
      }, 60_000);
    }
  });
}

afterAll(() => {
  if (figures.length > 0) console.log(`worker examples, ${RELOADS} reloads under load each:\n${figures.join("\n")}`);
});
