// What runtime sockets promise, held to every engine under load: ten
// thousand connections at once, slow readers that must not turn into
// memory, and a peer that resets with output still queued.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Conn, Engine } from "../../src/node.ts";
import type { Scenario } from "./_scenario.ts";
import { connected, openFds, startChild, tcpSocketsLeft } from "./_util.ts";

const MiB = 1024 * 1024;
const CONNECTIONS = 10_000;
/** Connects in flight at once: more would overflow the child's backlog into SYN retries. */
const CONNECTING = 500;
const SLOW_READERS = 200;
const SLOW_BYTES = MiB;
/**
 * How far the server's RSS may grow while 200 × 1 MiB wait to be read: the
 * Conn reads at most 64 KiB ahead per connection (12.5 MiB for 200), the rest
 * is the runtime's own buffers and garbage. Unbounded reading would be 200 MiB.
 * More data would not test more, and it waits in the kernel's buffers: 200 ×
 * 4 MiB took 1.1 GiB of TCP memory, past tcp_mem's pressure mark on a 24 GiB
 * machine, and two runtimes' runs at once can reach its hard limit, where the
 * kernel takes no byte from a new socket's send() and another scenario's
 * connection ends with nothing sent.
 */
const RSS_GROWTH_LIMIT_MIB = 96;

/** This process's soft fd limit, raised (as root may) when 10,000 client sockets would not fit. */
function ensureFdLimit(wanted: number): void {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const soft = Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 0);
  if (soft >= wanted) return;
  execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${wanted}:${wanted}`]);
}

/** Connects, sends `message` and resolves with what comes back before the server's FIN. */
function echoOnce(port: number, message: string, open: Socket[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    open.push(socket);
    let received = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(message));
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.length >= message.length) resolve(received);
    });
    socket.once("error", reject);
  });
}

/** Connects and writes `payload`; resolves once all of it is handed to the kernel. */
function sendAll(port: number, payload: Uint8Array, open: Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    open.push(socket);
    socket.once("error", reject);
    socket.once("connect", () => socket.end(payload, () => resolve()));
  });
}

/** The load scenarios, named for one engine like the listener scenarios (none: the default). */
export function loadScenarios(option?: Engine): Scenario[] {
  const engine = option ?? "default";
  const scenario = (name: string, run: Scenario["run"]): Scenario => ({ name: `[${engine}] ${name}`, run });
  return [
    scenario(
      "stats(): connections waiting for accept(), kernel's and the listener's own, and those handed out",
      async (ctx) => {
        const listener = ctx.lib.listen({ hostname: "127.0.0.1", port: 0, engine: option, backlog: 64 });
        const clients: Socket[] = [];
        const conns: Conn[] = [];
        try {
          const backlog = Math.min(64, Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8")));
          assert.deepEqual(listener.stats(), { queued: 0, backlog, accepted: 0 });
          for (let i = 0; i < 10; i++) {
            clients.push(await connected(listener.addr.port));
          }
          // The engines move connections from the kernel's queue to their own: the sum stays.
          assert.deepEqual(listener.stats(), { queued: 10, backlog, accepted: 0 });
          for (let k = 0; k < 4; k++) conns.push(await listener.accept());
          assert.deepEqual(listener.stats(), { queued: 6, backlog, accepted: 4 });
          listener.close();
          assert.throws(() => listener.stats(), ctx.lib.ListenerClosedError);
        } finally {
          for (const client of clients) client.destroy();
          for (const conn of conns) conn.close();
          listener.close();
        }
      },
    ),
    scenario(
      "setNoDelay() sets TCP_NODELAY as getsockopt reads it; epoll connections start with it on",
      async (ctx) => {
        const listener = ctx.lib.listen({ hostname: "127.0.0.1", port: 0, engine: option });
        const accepted = listener.accept();
        const client = connect({ host: "127.0.0.1", port: listener.addr.port });
        const conn = await accepted;
        try {
          const fd = conn.fd;
          // Bun's native engine exposes no fd: nothing to read the option from.
          if (fd === undefined) return;
          const sys = ctx.lib.sys();
          const c = sys.platform.constants;
          const noDelay = (): number => {
            const value = new Uint8Array(4);
            assert.equal(sys.getsockopt(fd, c.IPPROTO_TCP, c.TCP_NODELAY, value, new Uint8Array([4, 0, 0, 0])), 0);
            return value[0] as number;
          };
          if ((option ?? "epoll") === "epoll")
            assert.equal(noDelay(), 1, "an epoll connection starts with TCP_NODELAY");
          conn.setNoDelay(false);
          assert.equal(noDelay(), 0);
          conn.setNoDelay(true);
          assert.equal(noDelay(), 1);
          conn.setNoDelay(false);
          assert.equal(noDelay(), 0);
        } finally {
          client.destroy();
          conn.close();
          listener.close();
        }
      },
    ),
    scenario("10,000 concurrent connections in one process each echo a message; no fd is left", async (ctx) => {
      ensureFdLimit(CONNECTIONS + 2000);
      const child = await startChild(ctx.host, ["listen", "0", engine, "--echo-all"], undefined, [
        "prlimit",
        `--nofile=${CONNECTIONS + 2000}`,
      ]);
      const open: Socket[] = [];
      try {
        assert.ok(child.report.ok, child.report.error?.message);
        const port = child.report.port as number;
        child.send("sockets");
        const before = Number(await child.nextLine());
        const answers: Promise<string>[] = [];
        for (let i = 0; i < CONNECTIONS; i++) {
          answers.push(echoOnce(port, `message ${i};`, open));
          if (answers.length % CONNECTING === 0) await Promise.all(answers.slice(-CONNECTING));
        }
        const echoed = await Promise.all(answers);
        const wrong = echoed.filter((text, i) => text !== `message ${i};`);
        assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${CONNECTIONS} answers wrong`);
        // All 10,000 are open at this moment, each answered.
        child.send("sockets");
        assert.ok(Number(await child.nextLine()) >= before + CONNECTIONS, "the connections were open at once");
        const closed = open.map((socket) => new Promise((resolve) => socket.once("close", resolve)));
        for (const socket of open) socket.end();
        await Promise.all(closed);
        let after = Number.POSITIVE_INFINITY;
        for (let attempt = 0; attempt < 100 && after > before; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
          child.send("sockets");
          after = Number(await child.nextLine());
        }
        assert.equal(after, before, "sockets still open in the server after every peer closed");
      } finally {
        for (const socket of open) socket.destroy();
        await child.stop();
      }
    }),
    scenario(
      "200 connections sending 1 MiB each to a server that reads late: its RSS stays bounded, every byte arrives",
      async (ctx) => {
        const child = await startChild(ctx.host, ["listen", "0", engine, "--slow-read", String(SLOW_READERS)]);
        const open: Socket[] = [];
        try {
          assert.ok(child.report.ok, child.report.error?.message);
          const port = child.report.port as number;
          const body = randomBytes(SLOW_BYTES - 4);
          const expected = createHash("sha256").update(body).digest("hex");
          child.send("rss");
          const rssBefore = Number(await child.nextLine());
          const failures: string[] = [];
          const sent = Array.from({ length: SLOW_READERS }, (_, i) => {
            const payload = Buffer.alloc(SLOW_BYTES);
            payload.writeUInt32BE(i, 0);
            body.copy(payload, 4);
            return sendAll(port, payload, open).catch((error: Error) => {
              failures.push(`sender ${i}: ${error.message}`);
            });
          });
          // Long enough for every connection to fill what the kernel and the process will take.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          child.send("rss");
          const growthMiB = (Number(await child.nextLine()) - rssBefore) / 1024;
          assert.ok(
            growthMiB <= RSS_GROWTH_LIMIT_MIB,
            `RSS grew by ${growthMiB.toFixed(1)} MiB while ${SLOW_READERS} × 1 MiB waited (limit ${RSS_GROWTH_LIMIT_MIB})`,
          );
          child.send("read");
          const results = JSON.parse(await child.nextLine(60_000)) as { index: number; bytes: number; hash: string }[];
          await Promise.all(sent);
          assert.deepEqual(failures.slice(0, 3), [], `${failures.length} senders failed`);
          assert.deepEqual(
            results.map((r) => r.index).sort((a, b) => a - b),
            Array.from({ length: SLOW_READERS }, (_, i) => i),
            "one stream from each sender",
          );
          const damaged = results.filter((r) => r.bytes !== SLOW_BYTES || r.hash !== expected);
          assert.deepEqual(damaged.slice(0, 3), [], `${damaged.length} streams arrived short or altered`);
        } finally {
          for (const socket of open) socket.destroy();
          await child.stop();
        }
      },
    ),
    scenario(
      "a peer that resets with output queued: the write rejects (ECONNRESET or EPIPE), the fd is released",
      async (ctx) => {
        const fdsBefore = openFds();
        const listener = ctx.lib.listen({ hostname: "127.0.0.1", port: 0, engine: option });
        const accepted = listener.accept();
        const client = await connected(listener.addr.port);
        const conn = await accepted;
        // The client reads nothing: 32 MiB cannot all go into the kernel's buffers, so part stays queued.
        client.pause();
        const writing = conn.write(new Uint8Array(32 * MiB));
        const outcome = writing.then(
          () => "resolved",
          (error: Error & { code?: string }) => error,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        client.resetAndDestroy();
        const settled = await Promise.race([
          outcome,
          new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 5000)),
        ]);
        assert.ok(settled instanceof Error, `the queued write ${String(settled)}`);
        assert.ok(
          settled.code === "ECONNRESET" || settled.code === "EPIPE",
          `rejected with ${settled.code}: ${settled.message}`,
        );
        if ((option ?? "epoll") === "epoll") assert.ok(settled instanceof ctx.lib.SocketError, settled.name);
        await assert.rejects(conn.write(new Uint8Array(1)), "a write after the reset");
        conn.close();
        listener.close();
        assert.deepEqual(await tcpSocketsLeft(fdsBefore, 0), [], "the connection's fd is released");
      },
    ),
  ];
}
