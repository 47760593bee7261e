// Restarts self-bound workers under load and reports what the client saw.
// Both cases of test/self-bind-contrast.test.ts run this same code, each in a
// network namespace of its own that differs only in net.ipv4.tcp_migrate_req;
// the driver only reads that setting and reports it.
//
//   contrast-driver.ts [--workers node26] [--client node26] [--count 2]
//     [--restarts 5] [--work-ms 2] [--busy-at-stop-ms 50] [--rate 300]
//     [--concurrency 32] [--settle-ms 300]
//
// It starts --count workers (self-bound-worker.ts on the --workers runtime)
// in one reuseport group on a port the kernel picks, puts the load client
// (on the --client runtime) on it, and once load flows restarts the workers
// one at a time, --restarts times in all, by close-and-rebind: SIGTERM (the
// worker, after --busy-at-stop-ms of work, closes its listener, finishes
// what it accepted, exits), then a replacement that binds the same port,
// then --settle-ms of load. Then it stops the client and the workers and
// prints one JSON line:
//   { migrateReq, port, restarts: [{ stopped, started, atMs }], ok, failed,
//     errors, bodies, failures: [[startMs, endMs, error], ...] }
// (atMs: when the SIGTERM was sent, on the client's clock, as in failures.)
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type RuntimeId, runtimes } from "../_runtimes.ts";
import { loadClientScript, startLoadClient } from "./_spawn.ts";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "node26" },
    client: { type: "string", default: "node26" },
    count: { type: "string", default: "2" },
    restarts: { type: "string", default: "5" },
    "work-ms": { type: "string", default: "2" },
    "busy-at-stop-ms": { type: "string", default: "50" },
    rate: { type: "string", default: "300" },
    concurrency: { type: "string", default: "32" },
    "settle-ms": { type: "string", default: "300" },
  },
});
const workerRuntime = runtimes[values.workers as RuntimeId];
const clientRuntime = runtimes[values.client as RuntimeId];
if (!workerRuntime || !clientRuntime) throw new Error(`unknown runtime: ${values.workers} / ${values.client}`);
const count = Number(values.count);
const restarts = Number(values.restarts);
const workMs = Number(values["work-ms"]);
const busyAtStopMs = Number(values["busy-at-stop-ms"]);
const concurrency = Number(values.concurrency);
const rate = Number(values.rate);
const settleMs = Number(values["settle-ms"]);

const workerScript = fileURLToPath(new URL("./self-bound-worker.ts", import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Worker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly exited: Promise<number | null>;
}

/** Starts one worker; resolves once it listens. */
function startWorker(port: number): Promise<Worker> {
  const [file, ...args] = workerRuntime.argv(workerScript, [
    String(port),
    "--work-ms",
    String(workMs),
    "--busy-at-stop-ms",
    String(busyAtStopMs),
  ]) as [string, ...string[]];
  // stdin is a pipe the worker watches: it exits when this process does.
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const ready = /^ready (\d+)$/m.exec(out);
      if (ready) resolve({ child, pid: child.pid ?? 0, port: Number(ready[1]), exited });
    });
    child.once("error", reject);
    void exited.then((code) => reject(new Error(`a worker exited with ${code} before it listened`)));
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 10 s. */
async function stopWorker(worker: Worker): Promise<void> {
  worker.child.kill("SIGTERM");
  const timer = setTimeout(() => worker.child.kill("SIGKILL"), 10_000);
  await worker.exited;
  clearTimeout(timer);
}

const migrateReq = readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
const first = await startWorker(0);
const port = first.port;
const workers: Worker[] = [first];
for (let i = 1; i < count; i++) workers.push(await startWorker(port));

// Bounded whatever happens: the client stops by itself after a minute.
const client = startLoadClient(clientRuntime.argv(loadClientScript), { port, concurrency, rate, durationMs: 60_000 });
await client.started;
await sleep(settleMs);

const events: { stopped: number; started: number }[] = [];
for (let r = 0; r < restarts; r++) {
  const slot = r % count;
  const old = workers[slot] as Worker;
  client.mark(`restart-${r}`);
  await stopWorker(old);
  const replacement = await startWorker(port);
  workers[slot] = replacement;
  events.push({ stopped: old.pid, started: replacement.pid });
  await sleep(settleMs);
}

const load = await client.stop();
await Promise.all(workers.map(stopWorker));
const { samples, marks, ...counts } = load;
const restartsAt = events.map((event, r) => ({ ...event, atMs: marks[`restart-${r}`] }));
const failures = samples.filter(([, , outcome]) => !(outcome in load.bodies));
process.stdout.write(`${JSON.stringify({ migrateReq, port, restarts: restartsAt, ...counts, failures })}\n`);
