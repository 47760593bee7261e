// The supervisor on this runtime, with workers of this runtime, under load
// from a client in another process that counts every failed request.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { SuperviseOptions, Supervisor, SupervisorEvent, WorkerOutputLine } from "../../src/node.ts";
import type { Host } from "../hosts/_types.ts";
import { type LoadClient, type LoadResult, loadClientScript, startLoadClient } from "../load/_spawn.ts";
import type { Library } from "./_library.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { openFds } from "./_util.ts";

const app = fileURLToPath(new URL("../supervisor/app.ts", import.meta.url));

/** Flags a worker of this runtime needs to run the test app (not the library: it needs none but Deno's defaults). */
function runtimeArgs(host: Host): string[] {
  if (host.runtime === "node") return [...process.execArgv];
  // The test app finds the library with a computed import, which Deno checks against --allow-read.
  if (host.runtime === "deno") return ["--allow-read"];
  return [];
}

export interface Started {
  readonly supervisor: Supervisor;
  readonly events: SupervisorEvent[];
  readonly output: WorkerOutputLine[];
  readonly port: number;
}

/** A supervisor of 2 workers of the test app on a free port of 127.0.0.1, once ready. */
export async function start(
  { lib, host }: Context,
  args: readonly string[],
  options: Partial<SuperviseOptions> = {},
): Promise<Started> {
  const events: SupervisorEvent[] = [];
  const output: WorkerOutputLine[] = [];
  const supervisor = lib.supervise({
    app,
    args: ["inherited", ...args],
    runtimeArgs: runtimeArgs(host),
    workers: 2,
    listen: [{ hostname: "127.0.0.1", port: 0 }],
    graceMs: 10_000,
    readyTimeoutMs: 20_000,
    onEvent: (event) => events.push(event),
    onOutput: (line) => output.push(line),
    ...options,
  });
  await supervisor.ready;
  return { supervisor, events, output, port: supervisor.addresses[0]?.port ?? 0 };
}

function load(host: Host, port: number, concurrency = 8): LoadClient {
  return startLoadClient(host.command(loadClientScript, []), { port, concurrency, durationMs: 60_000 });
}

/** "slot-generation-pid" → generation. */
function generationOf(body: string): number {
  return Number(body.split("-")[1]);
}

export function describeFailures(result: LoadResult): string {
  return `${result.failed} of ${result.ok + result.failed} failed: ${JSON.stringify(result.errors)}`;
}

/**
 * Fds of this process ("fd target") of the kinds a supervisor opens: pipes (workers'
 * output), inet sockets (the groups) and Unix sockets bound to a path (the
 * notify sockets). Deno keeps an unnamed socket pair of its own, which
 * appears at some point of a process's life and stays, so those are left out.
 */
export function socketsAndPipes(): Set<string> {
  // Read each table once: after load, /proc/net/tcp holds thousands of TIME_WAIT lines.
  const ours = new Set<string>();
  for (const file of ["tcp", "tcp6", "udp", "udp6", "unix"]) {
    for (const line of readFileSync(`/proc/net/${file}`, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // tcp/udp: the inode is field 9; unix: field 6, then the path of a bound one.
      if (file !== "unix") ours.add(fields[9] ?? "");
      else if (fields[7] !== undefined) ours.add(fields[6] ?? "");
    }
  }
  const kept = new Set<string>();
  for (const [fd, target] of openFds()) {
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    if (target.startsWith("pipe:") || (socket !== null && ours.has(socket[1] as string))) kept.add(`${fd} ${target}`);
  }
  return kept;
}

/** Those of `now` that `before` did not have: what was opened and not closed (an earlier scenario's late closes aside). */
export function opened(before: Set<string>, now: Set<string>): string[] {
  return [...now].filter((fd) => !before.has(fd));
}

export async function stopCleanly(supervisor: Supervisor): Promise<void> {
  assert.equal(await supervisor.stop(), true, "every worker stopped cleanly");
}

export function scenario(name: string, run: (context: Context) => Promise<void>): Scenario {
  return { name: `supervisor: ${name}`, run };
}

/**
 * Five reloads under load, for a worker serving the inherited socket one
 * way: listen() with an engine, or the runtime's own server on the fd.
 */
function reloadsUnderLoad(serving: "epoll" | "accept4" | "native" | "serve-fd", reloads: number): Scenario {
  const args = serving === "serve-fd" ? ["--serve-fd"] : ["--engine", serving];
  const how = serving === "serve-fd" ? "the runtime's own server on the fd" : `listen() with the ${serving} engine`;
  return scenario(`${reloads} reloads under connection-per-request load fail no request (${how})`, async (context) => {
    const { supervisor, events, port } = await start(context, args);
    const client = load(context.host, port);
    await client.started;
    for (let i = 0; i < reloads; i++) {
      const result = await supervisor.reload();
      assert.ok(result.ok, `reload ${i + 1}: ${result.reason}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const result = await client.stop();
    assert.equal(supervisor.generation, reloads + 1, "a generation per reload");
    assert.equal(result.failed, 0, describeFailures(result));
    const generations = new Set(Object.keys(result.bodies).map(generationOf));
    for (let g = 1; g <= reloads + 1; g++)
      assert.ok(generations.has(g), `generation ${g} answered (${[...generations]})`);
    // An old generation stops taking connections once the next is ready:
    // a request that starts after another ended cannot be answered by a
    // generation older than the one before that other's.
    const byEnd = [...result.samples].sort((a, b) => a[1] - b[1]);
    let newestEnded = 0;
    let endIndex = 0;
    for (const [startMs, , body] of [...result.samples].sort((a, b) => a[0] - b[0])) {
      while (endIndex < byEnd.length && (byEnd[endIndex]?.[1] ?? 0) < startMs) {
        newestEnded = Math.max(newestEnded, generationOf(byEnd[endIndex]?.[2] ?? "-0"));
        endIndex++;
      }
      assert.ok(
        generationOf(body) >= newestEnded - 1,
        `a request started at ${startMs} ms got generation ${generationOf(body)} after generation ${newestEnded} answered`,
      );
    }
    assert.equal(events.filter((e) => e.type === "reloaded").length, reloads, "a reloaded event per reload");
    assert.ok(
      events.every((e) => e.type !== "exited" || e.expected),
      "no worker exited unasked",
    );
    await stopCleanly(supervisor);
  });
}

export const supervisorScenarios: readonly Scenario[] = [
  scenario("workers adopt their slot's socket, serve, and the group is the supervisor's alone", async (context) => {
    const fdsBefore = socketsAndPipes();
    const { supervisor, port } = await start(context, []);
    const workers = supervisor.workers();
    assert.equal(workers.length, 2, "two workers");
    assert.ok(
      workers.every((w) => w.state === "ready" && w.generation === 1),
      JSON.stringify(workers),
    );
    // Each slot's own socket, its accept queue empty and its backlog the kernel's cap at most.
    for (const worker of workers) {
      assert.equal(worker.sockets.length, 1);
      const [socket] = worker.sockets;
      assert.equal(socket?.addr.port, port);
      assert.equal(socket?.queued, 0, JSON.stringify(socket));
      assert.ok((socket?.backlog ?? 0) > 0, JSON.stringify(socket));
    }
    const client = load(context.host, port);
    await client.started;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await client.stop();
    assert.equal(result.failed, 0, describeFailures(result));
    const slots = new Set(Object.keys(result.bodies).map((b) => b.split("-")[0]));
    assert.equal([...slots].sort().join(","), "0,1", "both slots answered");
    await stopCleanly(supervisor);
    assert.deepEqual(opened(fdsBefore, socketsAndPipes()), [], "every socket and pipe of the supervisor is closed");
  }),

  // Five reloads on the engine the figures are for; two on each other way of serving.
  reloadsUnderLoad("epoll", 5),
  ...(["accept4", "native", "serve-fd"] as const).map((serving) => reloadsUnderLoad(serving, 2)),
  scenario(
    "kill -9 of a worker under load loses only what that worker held, and its slot restarts",
    async (context) => {
      const { supervisor, events, port } = await start(context, ["--delay-ms", "20"]);
      const client = load(context.host, port);
      await client.started;
      // Let load settle so that the victim holds requests when it dies.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const victim = supervisor.workers().find((w) => w.slot === 0);
      assert.ok(victim !== undefined, "slot 0 has a worker");
      client.mark("kill");
      process.kill(victim.pid, "SIGKILL");
      const deadline = Date.now() + 20_000;
      while (!supervisor.workers().some((w) => w.slot === 0 && w.pid !== victim.pid && w.state === "ready")) {
        assert.ok(Date.now() < deadline, "slot 0 was restarted and became ready");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      const result = await client.stop();
      // The client keeps 8 requests in flight, so the killed worker held at
      // most 8; anything beyond would be connections it never accepted.
      assert.ok(result.failed <= 8, `only the killed worker's requests fail: ${describeFailures(result)}`);
      // And each failure was in flight when the worker died: connections
      // made after it waited in its slot's queue for the successor. (The
      // kill is asked for right after the mark; 20 ms covers the client
      // hearing of the mark later than it was written.)
      const killAt = result.marks.kill ?? 0;
      const lateFailures = result.samples.filter(
        ([startMs, , outcome]) => startMs > killAt + 20 && !/^\d+-\d+-\d+$/.test(outcome),
      );
      assert.deepEqual(lateFailures, [], "no connection made after the kill failed");
      const restarted = events.find((e) => e.type === "restarting" && e.slot === 0);
      assert.ok(restarted !== undefined, "a restarting event for slot 0");
      const answeredBy = Object.keys(result.bodies);
      assert.ok(
        answeredBy.some((b) => b.startsWith("0-1-") && !b.endsWith(`-${victim.pid}`)),
        `the new worker of slot 0 answered (${answeredBy})`,
      );
      process.stdout.write(`# kill -9 under load: ${describeFailures(result)}\n`);
      await stopCleanly(supervisor);
    },
  ),

  scenario("connections queued while a slot's worker is down are served by its successor", async (context) => {
    const { supervisor, port } = await start(context, [], { workers: 1 });
    const victim = supervisor.workers()[0];
    assert.ok(victim !== undefined, "a worker");
    process.kill(victim.pid, "SIGKILL");
    // Nobody accepts now; the supervisor's socket still listens, so these wait in its queue.
    const { httpBody } = await import("./_util.ts");
    const bodies = await Promise.all(Array.from({ length: 10 }, () => httpBody(port, "127.0.0.1", 20_000)));
    assert.ok(
      bodies.every((b) => b.startsWith("0-1-") && !b.endsWith(`-${victim.pid}`)),
      `all 10 answered by the successor: ${bodies}`,
    );
    await stopCleanly(supervisor);
  }),

  scenario(
    "graceful stop under load answers every request already accepted, within the grace time",
    async (context) => {
      const { supervisor, port } = await start(context, ["--delay-ms", "300"], { graceMs: 5000 });
      const client = load(context.host, port);
      await client.started;
      await new Promise((resolve) => setTimeout(resolve, 400));
      client.mark("stop");
      const stopping = Date.now();
      const clean = await supervisor.stop();
      const tookMs = Date.now() - stopping;
      const result = await client.stop();
      assert.equal(clean, true, "every worker stopped cleanly");
      assert.ok(tookMs < 5000, `stopped within the grace time (${tookMs} ms)`);
      const stopAt = result.marks.stop ?? 0;
      // Requests started well before SIGTERM were accepted at once (the workers sit idle in their delay).
      const before = result.samples.filter(([startMs]) => startMs < stopAt - 50);
      const failedBefore = before.filter(([, , outcome]) => !/^\d+-\d+-\d+$/.test(outcome));
      assert.ok(before.length >= 8, `requests were in flight at the stop (${before.length})`);
      assert.equal(failedBefore.length, 0, `accepted requests all answered: ${JSON.stringify(failedBefore)}`);
    },
  ),

  scenario(
    "a worker that never becomes ready fails the reload, and the old generation keeps serving",
    async (context) => {
      const { supervisor, events, port } = await start(context, [], { readyTimeoutMs: 1500 });
      const client = load(context.host, port);
      await client.started;
      const result = await supervisor.reload({ args: ["inherited", "--never-ready"] });
      assert.equal(result.ok, false, "the reload failed");
      assert.equal(supervisor.generation, 1, "generation 1 still current");
      assert.ok(
        events.some((e) => e.type === "not-ready"),
        "a not-ready event",
      );
      const after = await client.stop();
      assert.equal(after.failed, 0, describeFailures(after));
      assert.ok(
        Object.keys(after.bodies).every((b) => generationOf(b) === 1),
        `only generation 1 answered: ${Object.keys(after.bodies)}`,
      );
      assert.ok(
        supervisor.workers().every((w) => w.generation === 1),
        "generation 2 is gone",
      );
      // And a good reload still works afterwards, numbered after the failed one.
      const retry = await supervisor.reload({ args: ["inherited"] });
      assert.ok(retry.ok, `the next reload works: ${retry.reason}`);
      await stopCleanly(supervisor);
    },
  ),

  scenario("a worker that fails at start fails the reload at once, its stderr passed on by line", async (context) => {
    const { supervisor, output } = await start(context, [], { readyTimeoutMs: 20_000 });
    const started = Date.now();
    const result = await supervisor.reload({ args: ["inherited", "--fail-start"] });
    assert.equal(result.ok, false, "the reload failed");
    assert.ok(Date.now() - started < 10_000, "without waiting for the ready timeout");
    assert.equal(supervisor.generation, 1, "generation 1 still current");
    await stopCleanly(supervisor);
    const said = output.find((o) => o.line === "failing at start, on purpose");
    assert.ok(said !== undefined, `the worker's stderr line was passed on whole: ${JSON.stringify(output)}`);
    assert.equal(said.stream, "stderr", "from stderr");
    assert.equal(said.generation, 2, "tagged with its generation");
  }),

  scenario("a crashing worker is restarted with growing delays and reported as crash-looping", async (context) => {
    const { supervisor, events } = await start(context, ["--crash-after-ms", "30"], {
      workers: 1,
      crashLoopFailures: 3,
    });
    const deadline = Date.now() + 30_000;
    while (!events.some((e) => e.type === "crash-loop")) {
      assert.ok(Date.now() < deadline, `a crash-loop event (events: ${JSON.stringify(events.map((e) => e.type))})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const delays = events.flatMap((e) => (e.type === "restarting" ? [e.delayMs] : []));
    assert.ok(delays.length >= 3, `three restarts (${delays})`);
    assert.ok(
      delays.every((d, i) => i === 0 || d > (delays[i - 1] ?? 0)),
      `each delay longer than the last: ${delays}`,
    );
    assert.ok(
      supervisor.workers().every((w) => w.crashLooping),
      "workers() says the slot is crash-looping",
    );
    await supervisor.stop();
  }),

  scenario(
    "scale 4 → 2 → 4 under load: new slots serve, and nothing fails, with tcp_migrate_req or without",
    async (context) => {
      // Retiring slots get no new connections and empty their queues before
      // they close, so nothing is reset even where tcp_migrate_req is 0 (the
      // default; 1 moves a closing socket's queue). The suite also runs this
      // in a network namespace with it on.
      const migrate = readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() === "1";
      const { supervisor, events, port } = await start(context, [], { workers: 4 });
      const client = load(context.host, port);
      await client.started;
      await supervisor.scale(2);
      assert.equal(supervisor.slots, 2, "two slots");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = new Set(supervisor.workers().map((w) => w.pid));
      await supervisor.scale(4);
      assert.equal(supervisor.workers().length, 4, "four workers again");
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result = await client.stop();
      const fresh = supervisor.workers().filter((w) => !before.has(w.pid));
      assert.deepEqual(fresh.map((w) => w.slot).sort(), [2, 3], "slots 2 and 3 got new workers");
      for (const worker of fresh) {
        assert.ok(
          Object.keys(result.bodies).some((b) => b.endsWith(`-${worker.pid}`)),
          `the new worker of slot ${worker.slot} answered`,
        );
      }
      assert.ok(
        events.some((e) => e.type === "scaled" && e.from === 4 && e.to === 2),
        "a scaled event",
      );
      process.stdout.write(`# scale 4 → 2 → 4 with tcp_migrate_req=${migrate ? 1 : 0}: ${describeFailures(result)}\n`);
      assert.equal(result.failed, 0, describeFailures(result));
      assert.ok(!events.some((e) => e.type === "notice" && /still queued/.test(e.message)), "no queue was closed");
      await stopCleanly(supervisor);
    },
  ),

  scenario('steer: "cpu": connections made on CPU i are served by slot i, and again after scaling', async (context) => {
    const cpus = Math.min(2, availableParallelism());
    const { supervisor, port } = await start(context, [], { workers: cpus, steer: "cpu" });
    /** Which slots answered 20 requests from a client pinned to `cpu` (each its own connection). */
    const slotsFrom = async (cpu: number): Promise<string[]> => {
      const command = ["taskset", "-c", String(cpu), ...context.host.command(loadClientScript, [])];
      const result = await startLoadClient(command, { port, concurrency: 2, maxRequests: 20 }).done;
      assert.equal(result.failed, 0, describeFailures(result));
      return [...new Set(Object.keys(result.bodies).map((body) => body.split("-")[0] as string))];
    };
    for (let cpu = 0; cpu < cpus; cpu++) assert.deepEqual(await slotsFrom(cpu), [String(cpu)], `from CPU ${cpu}`);
    if (cpus > 1) {
      // One slot left: everything goes to it, whichever CPU received it.
      await supervisor.scale(1);
      assert.deepEqual(await slotsFrom(1), ["0"], "after scaling to 1");
      await supervisor.scale(cpus);
      for (let cpu = 0; cpu < cpus; cpu++)
        assert.deepEqual(await slotsFrom(cpu), [String(cpu)], `rescaled, CPU ${cpu}`);
    }
    await stopCleanly(supervisor);
  }),
  scenario("supervise() refuses bad options before anything starts", async ({ lib }) => {
    const fdsBefore = socketsAndPipes();
    const bad: [unknown, RegExp][] = [
      [{ listen: [{ port: 1 }] }, /app/],
      [{ app, listen: [] }, /listen/],
      [{ app, listen: [{ port: 70000 }] }, /port/],
      [{ app, listen: [{ port: 1 }], workers: 0 }, /workers/],
      [{ app, listen: [{ port: 1 }], runtime: "python" }, /runtime/],
      [{ app, listen: [{ port: 0 }], selfBind: true }, /selfBind/],
      [{ app, listen: [{ port: 1 }], nonsense: 1 }, /nonsense/],
      [{ app, listen: [{ port: 1 }], steer: "round-robin" }, /steer/],
      [{ app, listen: [{ port: 1000 }], steer: "cpu", selfBind: true }, /steer/],
      [{ app, listen: [{ port: 1 }], pin: "yes" }, /pin/],
      [{ app, listen: [{ port: 1 }], metrics: 9100 }, /metrics must be an object/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 65536 } }, /metrics\.port/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 9100, hostname: "example.com" } }, /metrics\.hostname/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 9100, path: "metrics" } }, /metrics\.path/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 9100, path: "/a b" } }, /metrics\.path/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 9100, path: "/m?x=1" } }, /metrics\.path/],
      [{ app, listen: [{ port: 1 }], metrics: { port: 9100, paht: "/m" } }, /metrics\.paht/],
      [{ app, listen: [{ port: 1 }], name: "" }, /name/],
    ];
    for (const [options, message] of bad) {
      let thrown: unknown;
      try {
        (lib as Library).supervise(options as SuperviseOptions);
      } catch (error) {
        thrown = error;
      }
      assert.ok(
        thrown instanceof TypeError || thrown instanceof RangeError,
        `${JSON.stringify(options)} threw a TypeError/RangeError`,
      );
      assert.ok(message.test((thrown as Error).message), `${(thrown as Error).message} names ${message}`);
    }
    assert.deepEqual(opened(fdsBefore, socketsAndPipes()), [], "nothing was opened");
  }),
];
