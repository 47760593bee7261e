// Runs `supervise({ selfBind: true })` under load, reloads it, and reports
// what the client saw and what the supervisor said. test/self-bind.test.ts
// runs it inside a network namespace of its own (as root, or as uid 65534
// after root set the namespace's net.ipv4.tcp_migrate_req), so that the
// supervisor's attempt to turn tcp_migrate_req on never reaches the host.
//
//   self-bind-driver.ts --app <file> [--runtime node|bun|deno] [--exec <path>]
//     [--runtime-args "<flags>"] [--port 8080] [--reloads 5] [--rate 300]
//     [--concurrency 32] [--settle-ms 300] [--client <argv as JSON>]
//     [--app-args <args as JSON>] [--inherit] [--tcp-migrate-req] [--no-preload]
//   self-bind-driver.ts worker <port> [--work-ms 2] [--busy-at-stop-ms 50]
//
// The driver starts 2 self-bound workers of --app (given --app-args, by
// default "<port> 127.0.0.1"), or with --inherit 2 workers that serve the
// supervisor's sockets (an unchanged app, through the preload),
// on 127.0.0.1:--port, puts the load client on them (client.ts, run by
// --client, default this process's runtime), reloads --reloads times with
// --settle-ms of load after each (with --churn instead: kill -9 of slot 0's
// worker, a reload, scale to 4, 2 and 4, a reload), stops, and prints one JSON line:
//   { uid, migrateReqBefore, migrateReqAfter, notices, reloads: [{ ok, atMs }], marks,
//     anchorQueues (the supervisor's own member's queue after each step), overflows
//     (the namespace's ListenOverflows meanwhile: SYNs dropped on a full queue),
//     ok, failed, errors, bodies, failures: [[startMs, endMs, error], ...] }
//
// "worker" is a self-bound worker that stays busy when SIGTERM comes, as
// test/load/self-bound-worker.ts does, so that connections wait in its
// socket's queue whenever it closes; it says READY=1 itself (it binds its
// own socket) and closes its listener on SIGTERM after --busy-at-stop-ms of work.
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import type { Conn, SupervisorEvent, WorkerRuntime } from "../../src/node.ts";
import { loadForRuntime } from "../conformance/_library.ts";
import { answerOnce, busy } from "./_serve.ts";
import { loadClientScript, startLoadClient } from "./_spawn.ts";

const MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req";

async function worker(port: number, workMs: number, busyAtStopMs: number): Promise<void> {
  const { lib } = await loadForRuntime();
  const listener = lib.listen({ hostname: "127.0.0.1", port, engine: "accept4" });
  const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
  const response = new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`,
  );
  lib.notifyReady();
  process.once("SIGTERM", () => {
    // On a fresh task, once the loop below has taken what was accepted; busy
    // then close with no turn of the event loop between, so the kernel has
    // queued connections for this socket when it closes. close(), not
    // drain(): drain takes one last round of accepts first, which leaves the
    // kernel almost nothing to reset; close() stops as most servers' own
    // stop does (Bun.serve, Deno.serve, net.Server).
    setTimeout(() => {
      busy(busyAtStopMs);
      listener.close();
    }, 0);
  });
  const serve = (conn: Conn): Promise<void> => answerOnce(conn, response, workMs);

  const serving = new Set<Promise<void>>();
  for await (const conn of listener) {
    const done = serve(conn)
      .catch(() => {})
      .finally(() => conn.close());
    serving.add(done);
    void done.finally(() => serving.delete(done));
  }
  await Promise.all(serving);
  process.exit(0);
}

async function drive(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: "string" },
      runtime: { type: "string", default: "node" },
      exec: { type: "string" },
      "runtime-args": { type: "string", default: "" },
      port: { type: "string", default: "8080" },
      reloads: { type: "string", default: "5" },
      rate: { type: "string", default: "300" },
      concurrency: { type: "string", default: "32" },
      "settle-ms": { type: "string", default: "300" },
      client: { type: "string" },
      "app-args": { type: "string" },
      inherit: { type: "boolean", default: false },
      "tcp-migrate-req": { type: "boolean", default: false },
      "no-preload": { type: "boolean", default: false },
      churn: { type: "boolean", default: false },
      "stop-under-load": { type: "boolean", default: false },
    },
  });
  if (values.app === undefined) throw new Error("--app is required");
  const port = Number(values.port);
  const settleMs = Number(values["settle-ms"]);
  const { lib } = await loadForRuntime();
  const migrateReqBefore = readFileSync(MIGRATE_REQ, "utf8").trim();
  const notices: string[] = [];
  const workerCounts: { pid: number; received: number; answered: number }[] = [];
  const unexpected: SupervisorEvent[] = [];
  const supervisor = lib.supervise({
    app: values.app,
    args: values["app-args"] === undefined ? [String(port), "127.0.0.1"] : (JSON.parse(values["app-args"]) as string[]),
    runtime: values.runtime as WorkerRuntime,
    executable: values.exec,
    runtimeArgs: values["runtime-args"].split(" ").filter((w) => w !== ""),
    workers: 2,
    listen: [{ hostname: "127.0.0.1", port }],
    selfBind: !values.inherit,
    tcpMigrateReq: values["tcp-migrate-req"],
    preload: !values["no-preload"],
    graceMs: 10_000,
    readyTimeoutMs: 20_000,
    onEvent: (event) => {
      if (event.type === "notice") notices.push(event.message);
      if (event.type === "exited" && !event.expected) unexpected.push(event);
    },
    onOutput: (line) => {
      if (line.stream === "stderr") process.stderr.write(`[${line.slot}] ${line.line}\n`);
      // An app that counts what it received and answered says so at exit (test/apps/express.mjs).
      const counts = /received (\d+) answered (\d+)/.exec(line.line);
      if (counts !== null)
        workerCounts.push({ pid: line.pid, received: Number(counts[1]), answered: Number(counts[2]) });
    },
  });
  await supervisor.ready;
  const migrateReqAfter = readFileSync(MIGRATE_REQ, "utf8").trim();
  const client = startLoadClient(
    values.client === undefined
      ? [process.execPath, ...process.execArgv, loadClientScript]
      : [...JSON.parse(values.client), loadClientScript],
    // Bounded whatever happens: the client stops by itself after a minute.
    { port, concurrency: Number(values.concurrency), rate: Number(values.rate), durationMs: 60_000 },
  );
  await client.started;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const reloads: { ok: boolean; reason?: string }[] = [];
  const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, settleMs));
  // The supervisor runs in this process: its anchor is the group's socket held by this pid.
  const anchorQueue = (): number | undefined =>
    lib
      .inspectPort(port)
      .groups.flatMap((g) => g.sockets)
      .find((socket) => socket.owners.some((o) => o.pid === process.pid))?.queued;
  const anchorQueues: (number | undefined)[] = [anchorQueue()];
  const overflowsBefore = lib.listenOverflows().overflows;
  if (values.churn) {
    // kill -9 (a crash and its restart), a reload, scale 2 → 4 → 2 → 4, a reload; the anchor must get nothing.
    const victim = supervisor.workers().find((w) => w.slot === 0) as { pid: number };
    client.mark("kill");
    process.kill(victim.pid, "SIGKILL");
    await new Promise<void>((resolve) => {
      const wait = (): void => {
        const slot0 = supervisor.workers().find((w) => w.slot === 0);
        if (slot0 !== undefined && slot0.pid !== victim.pid && slot0.state === "ready") resolve();
        else setTimeout(wait, 20);
      };
      wait();
    });
    client.mark("restarted");
    anchorQueues.push(anchorQueue());
    for (const [i, step] of (["reload", 4, 2, 4, "reload"] as const).entries()) {
      await settle();
      client.mark(`step-${i}-${step}`);
      if (step === "reload") {
        const result = await supervisor.reload();
        reloads.push({ ok: result.ok, reason: result.reason });
      } else {
        await supervisor.scale(step);
      }
      anchorQueues.push(anchorQueue());
    }
    await settle();
  } else {
    for (let r = 0; r < Number(values.reloads); r++) {
      client.mark(`reload-${r}`);
      const result = await supervisor.reload();
      reloads.push({ ok: result.ok, reason: result.reason });
      await settle();
    }
  }
  const overflows = lib.listenOverflows().overflows - overflowsBefore;
  anchorQueues.push(anchorQueue());
  // A graceful stop with the load still on: the client stops once the supervisor has.
  if (values["stop-under-load"]) client.mark("stop");
  const stopped = values["stop-under-load"] ? supervisor.stop() : undefined;
  if (stopped !== undefined) await stopped;
  const load = await client.stop();
  const clean = await (stopped ?? supervisor.stop());
  const { samples, marks, ...counts } = load;
  const failures = samples.filter(([, , outcome]) => !(outcome in load.bodies));
  const report = {
    uid: process.getuid?.(),
    migrateReqBefore,
    migrateReqAfter,
    notices,
    clean,
    unexpected,
    reloads: reloads.map((reload, r) => ({ ...reload, atMs: marks[`reload-${r}`] })),
    marks,
    anchorQueues,
    overflows,
    workerCounts,
    ...counts,
    failures,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
}

if (process.argv[2] === "worker") {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(3),
    allowPositionals: true,
    options: { "work-ms": { type: "string", default: "2" }, "busy-at-stop-ms": { type: "string", default: "50" } },
  });
  await worker(Number(positionals[0]), Number(values["work-ms"]), Number(values["busy-at-stop-ms"]));
} else {
  await drive();
}
