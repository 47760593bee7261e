// The supervisor's metrics endpoint on this runtime: Prometheus text over
// HTTP from the supervisor process, scraped with plain sockets.
import assert from "node:assert/strict";
import type { Supervisor } from "../../src/node.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { connected, rawBody } from "./_util.ts";
import { opened, socketsAndPipes, start, stopCleanly } from "./supervisor-scenarios.ts";

interface Answer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Sends `request` as it is and parses the answer (the server closes after it). */
async function ask(port: number, request: string, timeoutMs = 5000): Promise<Answer> {
  const text = await rawBody(port, "127.0.0.1", request, timeoutMs);
  const split = text.indexOf("\r\n\r\n");
  assert.ok(split !== -1, `a whole HTTP answer: ${JSON.stringify(text)}`);
  const [statusLine = "", ...lines] = text.slice(0, split).split("\r\n");
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  assert.ok(status !== null, `a status line: ${JSON.stringify(statusLine)}`);
  const headers = new Map(
    lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
  );
  return { status: Number(status[1]), headers, body: text.slice(split + 4) };
}

function get(port: number, path: string, method = "GET"): Promise<Answer> {
  return ask(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/plain\r\n\r\n`);
}

/** The value of each sample of `metric`, keyed by its labels as written. */
function samples(text: string, metric: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, "gm"))) {
    found.set(match[1] as string, Number(match[2]));
  }
  return found;
}

function metricsPort(supervisor: Supervisor): number {
  const addr = supervisor.metricsAddr;
  assert.ok(addr !== undefined, "metricsAddr is set");
  assert.equal(addr.hostname, "127.0.0.1", "this host only, by default");
  assert.ok(addr.port > 0, `the kernel's port: ${addr.port}`);
  return addr.port;
}

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Fds opened since `before` and still open; the scenario's own client sockets close a moment after their end. */
async function fdsLeft(before: Set<string>): Promise<string[]> {
  for (let i = 0; i < 100 && opened(before, socketsAndPipes()).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return opened(before, socketsAndPipes());
}

function scenario(name: string, run: (context: Context) => Promise<void>): Scenario {
  return { name: `supervisor metrics: ${name}`, run };
}

export const metricsScenarios: readonly Scenario[] = [
  scenario("each slot's accept queue as workers() has it, connections nobody accepts counted", async (context) => {
    const fdsBefore = socketsAndPipes();
    const { supervisor, port } = await start(context, ["--no-accept"], { name: "queue", metrics: { port: 0 } });
    const scrapePort = metricsPort(supervisor);
    const labels = (slot: number): string => `name="queue",slot="${slot}",address="tcp 127.0.0.1:${port}"`;
    const first = await get(scrapePort, "/metrics");
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(Number(first.headers.get("content-length")), new TextEncoder().encode(first.body).length);
    assert.equal(first.headers.get("connection"), "close");
    assert.equal(samples(first.body, "reuseport_slots").get('name="queue"'), 2);
    assert.equal(samples(first.body, "reuseport_workers").get('name="queue",state="ready"'), 2);
    for (const slot of [0, 1]) assert.equal(samples(first.body, "reuseport_socket_queued").get(labels(slot)), 0);

    // The kernel hashes them over both slots' sockets; the workers take none.
    const clients = await Promise.all(Array.from({ length: 6 }, () => connected(port)));
    const kernelQueued = (): number => supervisor.workers().reduce((sum, w) => sum + (w.sockets[0]?.queued ?? 0), 0);
    await until("6 connections queued in the kernel", () => kernelQueued() === 6);
    const scraped = (await get(scrapePort, "/metrics")).body;
    const queued = samples(scraped, "reuseport_socket_queued");
    const backlog = samples(scraped, "reuseport_socket_backlog");
    const workers = supervisor.workers();
    assert.equal(workers.length, 2);
    for (const worker of workers) {
      const socket = worker.sockets[0];
      assert.equal(queued.get(labels(worker.slot)), socket?.queued, `slot ${worker.slot}: ${scraped}`);
      assert.equal(backlog.get(labels(worker.slot)), socket?.backlog, `slot ${worker.slot}'s backlog`);
    }
    assert.equal(
      [...queued.values()].reduce((a, b) => a + b, 0),
      6,
      "the 6 connections, over both slots",
    );
    for (const client of clients) client.destroy();

    await stopCleanly(supervisor);
    await assert.rejects(connected(scrapePort), /ECONNREFUSED/, "the metrics port is closed after stop()");
    // Free again for a socket of any kind.
    context.lib.openSocket({ hostname: "127.0.0.1", port: scrapePort, reusePort: false }).close();
    assert.deepEqual(await fdsLeft(fdsBefore), [], "every socket and pipe of the supervisor is closed");
  }),

  scenario(
    "answers GET and HEAD on its path alone, and cuts off a client that sends too much or nothing",
    async (context) => {
      const { supervisor } = await start(context, [], { workers: 1, metrics: { port: 0, path: "/scrape" } });
      const scrapePort = metricsPort(supervisor);
      // A client that says nothing holds one connection until the read timeout, and no more.
      const idleSince = Date.now();
      const idle = rawBody(scrapePort, "127.0.0.1", undefined, 15_000);

      const ok = await get(scrapePort, "/scrape");
      assert.equal(ok.status, 200, "while another client is idle");
      assert.match(ok.body, /^# HELP reuseport_generation /);
      assert.match(ok.body, /^reuseport_socket_queued\{name="app",slot="0",address="tcp 127\.0\.0\.1:\d+"\} 0$/m);
      assert.equal((await get(scrapePort, "/scrape?from=test")).status, 200, "a query string is no other path");
      const head = await get(scrapePort, "/scrape", "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.body, "", "HEAD: no body");
      assert.ok(Number(head.headers.get("content-length")) > 0, "HEAD: the length GET would send");

      for (const path of ["/metrics", "/", "/scrape/", "/scrapes"]) {
        assert.equal((await get(scrapePort, path)).status, 404, path);
      }
      const post = await get(scrapePort, "/scrape", "POST");
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      assert.equal((await ask(scrapePort, "hello\r\n\r\n")).status, 400, "not HTTP");
      const huge = `GET /scrape HTTP/1.1\r\nHost: x\r\nX-Filler: ${"x".repeat(10_000)}\r\n\r\n`;
      assert.equal((await ask(scrapePort, huge)).status, 431, "a head over 8 KiB");

      assert.equal(await idle, "", "the idle client is closed unanswered");
      const idleMs = Date.now() - idleSince;
      assert.ok(idleMs >= 4500 && idleMs < 8000, `after the 5 s read timeout (${idleMs} ms)`);
      await stopCleanly(supervisor);
    },
  ),

  scenario("a metrics port in use fails supervise() before any worker starts, and is never shared", async (context) => {
    const blocker = context.lib.openSocket({ hostname: "127.0.0.1", port: 0, reusePort: false });
    const taken = blocker.localAddr.port;
    const fdsBefore = socketsAndPipes();
    const events: string[] = [];
    try {
      await assert.rejects(
        start(context, [], { metrics: { port: taken }, onEvent: (event) => events.push(event.type) }),
        (error: Error & { code?: string }) => {
          assert.ok(error instanceof context.lib.SocketError, `a SocketError: ${error}`);
          assert.equal(error.code, "EADDRINUSE");
          assert.equal(
            error.message,
            `metrics: 127.0.0.1:${taken} is in use (bind EADDRINUSE); the metrics socket shares no port, so pick another one`,
          );
          return true;
        },
      );
    } finally {
      blocker.close();
    }
    assert.deepEqual(events, [], "no worker started");
    assert.deepEqual(await fdsLeft(fdsBefore), [], "the group's sockets were closed again");

    // Two supervisors asking for one metrics port: the second fails, it does not join the first.
    const { supervisor } = await start(context, [], { workers: 1, metrics: { port: 0 } });
    const port = metricsPort(supervisor);
    await assert.rejects(start(context, [], { workers: 1, metrics: { port } }), /EADDRINUSE/);
    assert.equal((await get(port, "/metrics")).status, 200, "the first still serves");
    await stopCleanly(supervisor);
  }),
];
