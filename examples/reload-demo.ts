// Reloads that drop nothing: a supervisor (supervise()) runs 2 workers of
// examples/workers/listen.ts on one port, a client in another process sends
// connection-per-request HTTP load at it, and the supervisor reloads 5 times
// under that load: each time it starts a new generation of workers on the
// same sockets, waits until they are ready, then stops the old ones, which
// drain. The supervisor holds every socket throughout, so the group never
// changes and no queued connection is reset. It prints the failed-request
// count (0) and how many requests each generation served.
//   node examples/reload-demo.ts [port]                      (Node 20: node --import tsx …)
//   bun examples/reload-demo.ts [port]
//   deno run -A examples/reload-demo.ts [port]
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { supervise } from "reuseport";

const RELOADS = 5;
const CONCURRENCY = 8;
const HOST = "127.0.0.1";
const isDeno = "Deno" in globalThis;
const self = fileURLToPath(import.meta.url);

/** argv that runs `script` on this runtime, with this process's loader flags (tsx on Node 20). */
function sameRuntime(script: string, args: string[]): [string, string[]] {
  return [process.execPath, isDeno ? ["run", "--allow-all", script, ...args] : [...process.execArgv, script, ...args]];
}

/** What the client counts: answers by body, failures by kind. */
interface ClientResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  bodies: Record<string, number>;
}

/**
 * The client: a fresh connection per request, CONCURRENCY in flight, until
 * "stop" arrives on stdin; then one JSON line with what it saw.
 */
async function client(port: number): Promise<void> {
  const counts: ClientResult = { ok: 0, failed: 0, errors: {}, bodies: {} };
  let stopping = false;
  let inFlight = 0;
  let done = (): void => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const once = (): void => {
    inFlight++;
    let response = "";
    let error: string | undefined;
    const socket = connect({ host: HOST, port }, () =>
      socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    socket.setEncoding("utf8").setTimeout(10_000, () => socket.destroy(new Error("timeout")));
    socket.on("data", (chunk: string) => {
      response += chunk;
    });
    socket.on("error", (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
    });
    socket.on("close", () => {
      const body = /^HTTP\/1\.1 200 .*?\r\n\r\n(.+)$/s.exec(response)?.[1];
      if (body !== undefined) {
        counts.ok++;
        counts.bodies[body.trim()] = (counts.bodies[body.trim()] ?? 0) + 1;
      } else {
        counts.failed++;
        const kind = error ?? "bad-response";
        counts.errors[kind] = (counts.errors[kind] ?? 0) + 1;
      }
      if (counts.ok === 1) process.stderr.write("started\n");
      inFlight--;
      pump();
    });
  };
  const pump = (): void => {
    while (!stopping && inFlight < CONCURRENCY) once();
    if (stopping && inFlight === 0) done();
  };
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "stop") {
      stopping = true;
      pump();
    }
  });
  pump();
  await finished;
  process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
}

/** Starts the client process; resolves once its first request succeeded. */
async function startClient(port: number): Promise<{ child: ChildProcess; result: Promise<ClientResult> }> {
  const [command, args] = sameRuntime(self, ["client", String(port)]);
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const result = new Promise<ClientResult>((resolve, reject) => {
    child.once("close", (code) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`the client exited with ${code} and no result`));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
      if (line === "started") resolve();
      else process.stderr.write(`client: ${line}\n`);
    });
    result.catch(reject);
  });
  return { child, result };
}

async function demo(port: number): Promise<void> {
  const app = fileURLToPath(new URL("./workers/listen.ts", import.meta.url));
  const supervisor = supervise({
    app,
    // The workers run on this runtime; Node 20 needs its TypeScript loader too.
    runtimeArgs: isDeno ? [] : process.execArgv,
    workers: 2,
    listen: [{ hostname: HOST, port }],
    graceMs: 10_000,
    onEvent: (event) => {
      if (event.type === "reloaded") console.log(`reloaded: generation ${event.generation} serving (${event.ms} ms)`);
      if (event.type === "reload-failed" || event.type === "crash-loop" || event.type === "notice") {
        console.log(JSON.stringify(event));
      }
      if (event.type === "exited" && !event.expected) console.log(`a worker exited unasked: ${JSON.stringify(event)}`);
    },
    // The workers' own lines ("listening on …") are left out.
    onOutput: () => {},
  });
  await supervisor.ready;
  const bound = supervisor.addresses[0]?.port;
  console.log(`supervisor pid ${process.pid}: 2 workers of examples/workers/listen.ts on http://${HOST}:${bound}`);
  const { child, result } = await startClient(bound ?? 0);
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  await pause(300);
  for (let i = 0; i < RELOADS; i++) {
    const reload = await supervisor.reload();
    if (!reload.ok) console.log(`reload ${i + 1} failed: ${reload.reason}`);
    await pause(300);
  }
  child.stdin?.end("stop\n");
  const load = await result;
  const clean = await supervisor.stop();

  const byGeneration = new Map<number, number>();
  for (const [body, n] of Object.entries(load.bodies)) {
    const generation = Number(/generation (\d+)/.exec(body)?.[1] ?? 0);
    byGeneration.set(generation, (byGeneration.get(generation) ?? 0) + n);
  }
  const errors = Object.entries(load.errors).map(([kind, n]) => `${kind} ${n}`);
  console.log(
    `${load.ok + load.failed} requests across ${RELOADS} reloads: ${load.failed} failed${errors.length > 0 ? ` (${errors.join(", ")})` : ""}`,
  );
  console.log("served per generation:");
  for (const [generation, n] of [...byGeneration].sort((a, b) => a[0] - b[0])) {
    console.log(`  generation ${generation}: ${n}`);
  }
  console.log(clean ? "stopped: every worker stopped cleanly" : "stopped: some workers had to be killed");
  process.exitCode = load.failed === 0 && clean ? 0 : 1;
}

if (process.argv[2] === "client") await client(Number(process.argv[3]));
else await demo(Number(process.argv[2] ?? 0));
