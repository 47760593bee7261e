// The dns-echo example: starts 4 worker processes (server.ts) of the runtime
// it runs on, all bound to one UDP port on 127.0.0.1 through SO_REUSEPORT,
// then sends DNS queries (400 unless given), each from a fresh client socket
// and so from its own source port, checks every answer (ID, flags, the
// question echoed, a TXT record naming a worker), prints how the kernel
// spread the queries over the workers, and stops them. Exits 1 if a query
// went unanswered, an answer was malformed, or a worker did not stop cleanly.
// Run from the repository root:
//   node --import tsx examples/dns-echo/launch.ts [queries]     (Node 20)
//   node examples/dns-echo/launch.ts [queries]                  (Node 26)
//   bun examples/dns-echo/launch.ts [queries]
//   deno run --allow-ffi --allow-read --allow-run --allow-env examples/dns-echo/launch.ts [queries]
// Deno needs each of those four: --allow-ffi for the library (the client
// sockets are the library's too); --allow-read for the library's files,
// which _lib.ts imports by a computed name (--allow-read=mod.ts,src is
// enough); --allow-run to start the workers; --allow-env because Deno's
// node:child_process copies the environment into them. The workers get
// --allow-ffi and --allow-read for the library's files only.
import { type ChildProcess, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import process from "node:process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { buildQuery, parseAnswer } from "./_dns.ts";
import { type Library, loadLibrary, runtime, runtimeLabel } from "./_lib.ts";

const WORKERS = 4;
const HOST = "127.0.0.1";
const IN_FLIGHT = 16;
const ANSWER_TIMEOUT_MS = 3000;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5000;

const queries = Number(process.argv[2] ?? 400);
if (!Number.isInteger(queries) || queries < 1) {
  console.error(`usage: launch.ts [queries]; ${process.argv[2]} is not a positive integer`);
  process.exit(2);
}

const serverScript = fileURLToPath(new URL("./server.ts", import.meta.url));
/** What a Deno worker reads: the library, which _lib.ts imports by a computed name. */
const libraryFiles = ["../../mod.ts", "../../src"].map((path) => fileURLToPath(new URL(path, import.meta.url)));

/** The arguments that run server.ts on this runtime, as this process was run. */
function workerArgs(args: string[]): string[] {
  switch (runtime) {
    case "deno":
      return ["run", "--allow-ffi", `--allow-read=${libraryFiles.join(",")}`, serverScript, ...args];
    case "bun":
      return [serverScript, ...args];
    case "node":
      // "--import tsx" on Node 20; nothing on a Node that runs TypeScript itself.
      return [...process.execArgv, serverScript, ...args];
  }
}

interface Worker {
  readonly name: string;
  readonly child: ChildProcess;
  readonly port: number;
  /** The exit code, or the signal that ended it. */
  readonly exited: Promise<number | string>;
}

/** Starts one worker on `port` and waits for its "ready <port>" line. */
function startWorker(name: string, port: number): Promise<Worker> {
  const child = spawn(process.execPath, workerArgs([String(port), name]), { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return new Promise<Worker>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`worker ${name} was not ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited (${how}) before it was ready`));
    });
    createInterface({ input: child.stdout as NonNullable<ChildProcess["stdout"]> }).on("line", (line) => {
      const ready = /^ready (\d+)$/.exec(line);
      if (ready === null) {
        console.log(`[worker ${name}] ${line}`);
        return;
      }
      clearTimeout(timer);
      resolve({ name, child, port: Number(ready[1]), exited });
    });
  });
}

/**
 * Stops a worker by closing its stdin (SIGTERM would do as well, but Deno's
 * node:child_process then reports the signal instead of the exit code);
 * true when it exited by itself with code 0.
 */
async function stopWorker(worker: Worker): Promise<boolean> {
  worker.child.stdin?.end();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), STOP_TIMEOUT_MS);
  });
  const how = await Promise.race([worker.exited, late]);
  clearTimeout(timer);
  if (how === 0) return true;
  if (how === "late") {
    worker.child.kill("SIGKILL");
    await worker.exited;
    console.error(`worker ${worker.name} did not stop within ${STOP_TIMEOUT_MS} ms of its stdin closing`);
  } else {
    console.error(`worker ${worker.name} exited with ${how}`);
  }
  return false;
}

type Outcome = { worker: string; pid: number; clientPort: number } | { error: string; clientPort: number };

/** Sends query `index` from a socket of its own and checks the answer. */
async function ask(lib: Library, port: number, index: number): Promise<Outcome> {
  const client = lib.listenDatagram({ hostname: HOST, port: 0, reusePort: false, maxDatagramSize: 512, batchSize: 1 });
  const clientPort = client.addr.port;
  const fail = (error: string): Outcome => ({ error: `query ${index}: ${error}`, clientPort });
  const id = randomInt(0x10000);
  const query = buildQuery(id, `q${index}.dns-echo.test.`);
  // Closing the socket is the timeout: a waiting receive() then rejects.
  const timer = setTimeout(() => client.close(), ANSWER_TIMEOUT_MS);
  try {
    await client.send(query, { hostname: HOST, port });
    for (;;) {
      const [data, from] = await client.receive();
      if (from.hostname !== HOST || from.port !== port) continue; // not the server: not our answer
      const answer = parseAnswer(data);
      if (typeof answer === "string") return fail(answer);
      if (answer.id !== id) return fail(`answer ID ${answer.id}, query ID ${id}`);
      if ((answer.flags & 0x0100) === 0) return fail("RD was not copied");
      if (
        answer.questionBytes.length !== query.length - 12 ||
        answer.questionBytes.some((b, i) => b !== query[12 + i])
      ) {
        return fail("the question was not echoed");
      }
      const who = /^worker (\S+) pid (\d+)$/.exec(answer.text);
      if (who === null) return fail(`TXT ${JSON.stringify(answer.text)} names no worker`);
      return { worker: who[1] as string, pid: Number(who[2]), clientPort };
    }
  } catch (error) {
    if (error instanceof lib.DatagramSocketClosedError) return fail(`no answer within ${ANSWER_TIMEOUT_MS} ms`);
    return fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

const lib = await loadLibrary();
const names = Array.from({ length: WORKERS }, (_, i) => String(i));
const workers: Worker[] = [];
let failed = false;
try {
  const first = await startWorker(names[0] as string, 0);
  workers.push(first);
  const rest = await Promise.allSettled(names.slice(1).map((name) => startWorker(name, first.port)));
  for (const result of rest) if (result.status === "fulfilled") workers.push(result.value);
  for (const result of rest) if (result.status === "rejected") throw result.reason;
  const { port } = first;

  const answered = new Map<string, { count: number; pids: Set<number> }>(
    names.map((name) => [name, { count: 0, pids: new Set() }]),
  );
  const failures: string[] = [];
  const clientPorts = new Set<number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, queries) }, async () => {
      while (next < queries) {
        // A query's own failures come back as outcomes; anything thrown (no FFI, say) stops them all.
        const outcome = await ask(lib, port, next++).catch((error: unknown) => {
          next = queries;
          throw error;
        });
        clientPorts.add(outcome.clientPort);
        if ("error" in outcome) {
          failures.push(outcome.error);
          continue;
        }
        const tally = answered.get(outcome.worker);
        if (tally === undefined) {
          failures.push(`an answer names worker ${outcome.worker}, which was not started`);
          continue;
        }
        tally.count++;
        tally.pids.add(outcome.pid);
      }
    }),
  );
  const elapsed = performance.now() - started;

  const total = [...answered.values()].reduce((sum, tally) => sum + tally.count, 0);
  const most = Math.max(1, ...[...answered.values()].map((tally) => tally.count));
  console.log(`${WORKERS} dns-echo workers in one SO_REUSEPORT group on udp ${HOST}:${port}`);
  console.log(
    `${queries} queries from ${clientPorts.size} source ports (${runtimeLabel()}, ${Math.round(elapsed)} ms)\n`,
  );
  console.log("worker  pid      answers   share");
  for (const [name, { count, pids }] of answered) {
    const bar = "█".repeat(Math.round((count / most) * 40));
    const share = `${((count / queries) * 100).toFixed(1)}%`.padStart(6);
    const pid = [...pids].join(",") || "-";
    console.log(`#${name.padEnd(6)} ${pid.padEnd(8)} ${String(count).padStart(7)}  ${share}  ${bar}`);
  }
  console.log(`\n${total} of ${queries} queries answered.`);
  if (failures.length > 0) {
    failed = true;
    for (const failure of failures.slice(0, 10)) console.error(failure);
    if (failures.length > 10) console.error(`... and ${failures.length - 10} more`);
  } else {
    console.log("The kernel picked a worker for each query from a hash of its source address and port.");
  }
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : error);
} finally {
  const stopped = await Promise.all(workers.map(stopWorker));
  if (stopped.includes(false)) failed = true;
}
process.exitCode = failed ? 1 : 0;
