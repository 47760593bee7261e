import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { Datagram, DatagramSocket, NetAddr } from "../../src/node.ts";
import { assertSpread, expectSocketError } from "./_assert.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { fdsOpenedSince, openFds, startChild } from "./_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (data: Uint8Array): string => decoder.decode(data);

/** A client socket: the library's, outside any group, on its own ephemeral port. */
function client(ctx: Context, hostname = "127.0.0.1"): DatagramSocket {
  return ctx.lib.listenDatagram({ hostname, port: 0, reusePort: false });
}

/** Rejects when `promise` takes longer than `ms`, naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Counts what each of `servers` receives until `total` datagrams arrived:
 * sender "port" → server index, for every datagram.
 */
async function collect(
  servers: DatagramSocket[],
  total: number,
): Promise<{ byServer: number[]; bySender: Map<number, Set<number>> }> {
  const byServer = servers.map(() => 0);
  const bySender = new Map<number, Set<number>>();
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const loops = servers.map(async (server, index) => {
    for await (const [, from] of server) {
      byServer[index] = (byServer[index] ?? 0) + 1;
      const seen = bySender.get(from.port) ?? new Set<number>();
      seen.add(index);
      bySender.set(from.port, seen);
      if (++received === total) done();
    }
  });
  await within(all, 10_000, `${total} datagrams (got ${received})`);
  for (const server of servers) server.close();
  await Promise.all(loops);
  return { byServer, bySender };
}

function group(ctx: Context, size: number, hostname = "127.0.0.1"): DatagramSocket[] {
  const first = ctx.lib.listenDatagram({ hostname, port: 0 });
  const rest = Array.from({ length: size - 1 }, () => ctx.lib.listenDatagram({ hostname, port: first.addr.port }));
  return [first, ...rest];
}

/** Each client sends `each` datagrams to `port`, one client after another. */
async function sendFromEach(clients: DatagramSocket[], port: number, each = 1, hostname = "127.0.0.1"): Promise<void> {
  for (const c of clients) {
    for (let i = 0; i < each; i++) await c.send(encoder.encode(`${c.addr.port}:${i}`), { hostname, port });
  }
}

/**
 * The fd count once the process-wide watcher exists: the first socket on
 * Bun and Deno starts the shared off-thread poll (an eventfd, and Bun's
 * Worker), which stays for the life of the process and is not a leak.
 */
async function settledFds(ctx: Context): Promise<Map<string, string>> {
  const socket = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
  // A datagram that comes back proves the watcher runs (Bun's Worker is up).
  await socket.send(new Uint8Array(1), socket.addr);
  await within(socket.receive(), 5000, "a datagram to itself");
  socket.close();
  return openFds();
}

function counts(byServer: number[]): Map<string, number> {
  return new Map(byServer.map((n, i) => [String(i), n]));
}

/** The datagram scenarios: UDP through listenDatagram(). */
export const datagramScenarios: Scenario[] = [
  {
    name: "udp: echo with addresses through receive() and send(); no fd left behind",
    async run(ctx) {
      const before = await settledFds(ctx);
      const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
      assert.equal(server.addr.transport, "udp");
      assert.equal(server.addr.hostname, "127.0.0.1");
      assert.ok(server.addr.port > 0);
      assert.ok(server.fd >= 0);
      const peer = client(ctx);
      assert.equal(await peer.send(encoder.encode("ping"), server.addr), 4);
      const [data, from] = await within(server.receive(), 5000, "ping");
      assert.equal(text(data), "ping");
      assert.deepEqual(from, { transport: "udp", hostname: "127.0.0.1", port: peer.addr.port });
      assert.equal(await server.send(encoder.encode("pong!"), from), 5);
      const [reply, replyFrom] = await within(peer.receive(), 5000, "pong");
      assert.equal(text(reply), "pong!");
      assert.deepEqual(replyFrom, server.addr);
      server.close();
      server.close();
      peer.close();
      assert.deepEqual(fdsOpenedSince(before), [], "fds left open after closing both sockets");
    },
  },
  {
    name: "udp: IPv6 on ::1, and IPv4 peers of a dual-stack socket",
    async run(ctx) {
      const server = ctx.lib.listenDatagram({ hostname: "::", port: 0 });
      const v6 = client(ctx, "::1");
      const v4 = client(ctx);
      await v6.send(encoder.encode("six"), { hostname: "::1", port: server.addr.port });
      const [six, sixFrom] = await within(server.receive(), 5000, "from ::1");
      assert.equal(text(six), "six");
      assert.deepEqual(sixFrom, { transport: "udp", hostname: "::1", port: v6.addr.port });
      await v4.send(encoder.encode("four"), { hostname: "127.0.0.1", port: server.addr.port });
      const [four, fourFrom] = await within(server.receive(), 5000, "from 127.0.0.1");
      assert.equal(text(four), "four");
      assert.deepEqual(fourFrom, { transport: "udp", hostname: "::ffff:127.0.0.1", port: v4.addr.port });
      // A plain IPv4 target works from the dual-stack socket too.
      await server.send(encoder.encode("mapped"), { hostname: "127.0.0.1", port: v4.addr.port });
      assert.equal(text((await within(v4.receive(), 5000, "reply to IPv4"))[0]), "mapped");
      await server.send(encoder.encode("back"), sixFrom);
      assert.equal(text((await within(v6.receive(), 5000, "reply to IPv6"))[0]), "back");
      await assert.rejects(v4.send(encoder.encode("x"), { hostname: "::1", port: 9 }), TypeError);
      for (const s of [server, v6, v4]) s.close();
    },
  },
  {
    name: "udp: 400 datagrams in order through receiveMany() and back through sendMany(), in batches",
    async run(ctx) {
      const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0, batchSize: 16 });
      const peer = client(ctx);
      const got: Datagram[] = [];
      let largestBatch = 0;
      for (let round = 0; round < 4; round++) {
        const outgoing = Array.from(
          { length: 100 },
          (_, i) => [encoder.encode(`n${round * 100 + i}`), server.addr] as [Uint8Array, NetAddr],
        );
        assert.equal(await peer.sendMany(outgoing), 100);
        const target = (round + 1) * 100;
        while (got.length < target) {
          const batch = await within(server.receiveMany(), 5000, `round ${round}: ${got.length} of ${target}`);
          largestBatch = Math.max(largestBatch, batch.length);
          got.push(...batch);
        }
      }
      assert.deepEqual(
        got.map(([data]) => text(data)),
        Array.from({ length: 400 }, (_, i) => `n${i}`),
      );
      assert.ok(largestBatch > 1, `every receiveMany() returned one datagram (largest ${largestBatch})`);
      for (let at = 0; at < got.length; at += 100) {
        const replies = got.slice(at, at + 100).map(([data, from]) => [data, from] as const);
        assert.equal(await server.sendMany(replies), 100);
        const echoed: string[] = [];
        while (echoed.length < 100) {
          for (const [data] of await within(peer.receiveMany(), 5000, "echoes")) echoed.push(text(data));
        }
        assert.deepEqual(
          echoed,
          Array.from({ length: 100 }, (_, i) => `n${at + i}`),
        );
      }
      assert.equal(await server.sendMany([]), 0);
      server.close();
      peer.close();
    },
  },
  ...[32, 1].map(
    (batchSize): Scenario => ({
      name: `udp: a datagram over maxDatagramSize rejects receive() with TruncatedDatagramError; the next arrives whole (${batchSize === 1 ? "recvfrom" : "recvmmsg"})`,
      async run(ctx) {
        const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0, maxDatagramSize: 100, batchSize });
        const peer = client(ctx);
        await peer.send(new Uint8Array(300).fill(7), server.addr);
        await peer.send(new Uint8Array(100).fill(8), server.addr);
        const error = await within(
          server.receive().then(
            () => assert.fail("a 300-byte datagram was received as if whole"),
            (e: unknown) => e,
          ),
          5000,
          "the long datagram",
        );
        assert.ok(error instanceof ctx.lib.TruncatedDatagramError, String(error));
        assert.equal(error.size, 300);
        assert.deepEqual(error.data, new Uint8Array(100).fill(7));
        assert.equal(error.remoteAddr.port, peer.addr.port);
        const [next, from] = await within(server.receive(), 5000, "the datagram after it");
        assert.deepEqual(next, new Uint8Array(100).fill(8));
        assert.deepEqual(from, peer.addr);
        server.close();
        peer.close();
      },
    }),
  ),
  {
    name: "udp: 4 sockets in one group each receive a share of datagrams from 200 source ports",
    async run(ctx) {
      const servers = group(ctx, 4);
      const clients = Array.from({ length: 200 }, () => client(ctx));
      const collected = collect(servers, 200);
      await sendFromEach(clients, servers[0]?.addr.port ?? 0);
      const { byServer } = await collected;
      assertSpread(counts(byServer), ["0", "1", "2", "3"], 200);
      for (const c of clients) c.close();
    },
  },
  {
    name: "udp: every datagram from one source address and port lands on the same socket",
    async run(ctx) {
      const servers = group(ctx, 4);
      const clients = Array.from({ length: 40 }, () => client(ctx));
      const collected = collect(servers, 400);
      await sendFromEach(clients, servers[0]?.addr.port ?? 0, 10);
      const { bySender } = await collected;
      assert.equal(bySender.size, 40);
      for (const [port, landed] of bySender) assert.equal(landed.size, 1, `source port ${port} reached ${[...landed]}`);
      // And the 40 sources did not all hash to one socket.
      assert.ok(new Set([...bySender.values()].map((s) => [...s][0])).size > 1);
      for (const c of clients) c.close();
    },
  },
  {
    name: "udp: a socket that leaves the group stops receiving; the other 3 take its share",
    async run(ctx) {
      const servers = group(ctx, 4);
      const port = servers[0]?.addr.port ?? 0;
      servers[3]?.close();
      const clients = Array.from({ length: 200 }, () => client(ctx));
      const collected = collect(servers.slice(0, 3), 200);
      await sendFromEach(clients, port);
      const { byServer } = await collected;
      assertSpread(counts(byServer), ["0", "1", "2"], 200);
      for (const c of clients) c.close();
    },
  },
  {
    name: "udp: without reusePort a second bind fails with EADDRINUSE, and no fd is left",
    async run(ctx) {
      const before = await settledFds(ctx);
      const alone = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0, reusePort: false });
      const port = alone.addr.port;
      expectSocketError(
        ctx,
        () => ctx.lib.listenDatagram({ hostname: "127.0.0.1", port }),
        "EADDRINUSE",
        "not-reuseport",
      );
      alone.close();
      const member = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
      expectSocketError(
        ctx,
        () => ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: member.addr.port, reusePort: false }),
        "EADDRINUSE",
        "reuseport-disabled",
      );
      member.close();
      assert.deepEqual(fdsOpenedSince(before), [], "fds left open");
    },
  },
  {
    name: "udp: send() and sendMany() wait while the send buffer is full (EAGAIN behind a rate-limited loopback) and resume as soon as there is room; all arrive in order",
    async run(ctx) {
      // A namespace of our own, whose loopback a token bucket holds to 8 Mbit/s:
      // datagrams wait in the queue, charged to the sender, so its buffer fills.
      const ns = `reuseport-${process.pid}-${Date.now() % 100000}`;
      const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
      ip("netns", "add", ns);
      try {
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
        ip(
          "netns",
          "exec",
          ns,
          "tc",
          "qdisc",
          "add",
          "dev",
          "lo",
          "root",
          "tbf",
          "rate",
          "8mbit",
          "burst",
          "16kb",
          "latency",
          "5s",
        );
        // On one CPU: loopback delivers through the transmitting CPU's backlog, and
        // the token bucket releases datagrams from whichever CPU runs its timer, so
        // across two CPUs the kernel itself may deliver them out of order.
        const pinned = ["ip", "netns", "exec", ns, "taskset", "-c", "0"];
        const child = await startChild(ctx.host, ["udp-paced", "400"], undefined, pinned);
        assert.ok(child.report.ok, child.report.error?.message);
        const result = JSON.parse(await child.nextLine(30_000)) as {
          received: number;
          inOrder: boolean;
          sentMs: number;
          maxGapMs: number;
          abandoned: string;
        };
        await child.exited;
        assert.equal(result.received, 400, JSON.stringify(result));
        assert.ok(result.inOrder, "datagrams arrived out of order");
        // 400 kB at 8 Mbit/s take 0.4 s: the sends must have waited for the queue.
        assert.ok(result.sentMs >= 250, `sent in ${result.sentMs} ms: the rate limit did not hold the sender back`);
        // The link frees room for a datagram about every millisecond: sends waiting for it
        // resume on the socket's writability, so the link never idles for long and the
        // 400 go out in about the 0.4 s the rate allows (retry timers backing off to
        // 100 ms took 1.05–1.13 s here, with pauses of 100 ms between arrivals).
        assert.ok(result.sentMs <= 700, `sent in ${result.sentMs} ms: sends resumed late`);
        assert.ok(result.maxGapMs <= 60, `arrivals paused for ${result.maxGapMs} ms: sends resumed late`);
        assert.equal(result.abandoned, "ERR_SOCKET_CLOSED", "a sendMany() waiting for room when its socket closed");
      } finally {
        ip("netns", "del", ns);
      }
    },
  },
  {
    name: "udp: socketStats() gives the bytes waiting unread and the datagrams the kernel dropped",
    async run(ctx) {
      // openSocket() reads nothing, so what arrives stays in the kernel's queue.
      const socket = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const peer = client(ctx);
      try {
        const sys = ctx.lib.sys();
        const c = sys.platform.constants;
        const int = new Uint8Array(4);
        new DataView(int.buffer).setInt32(0, 4096, sys.platform.littleEndian);
        // The kernel doubles it, to 8 KiB: room for a few 1,000-byte datagrams and their overhead.
        assert.equal(sys.setsockopt(socket.fd, c.SOL_SOCKET, c.SO_RCVBUF, int, 4), 0);
        assert.deepEqual(ctx.lib.socketStats(socket.fd), { transport: "udp", queuedBytes: 0, drops: 0 });
        await peer.send(new Uint8Array(1000), socket.localAddr);
        const one = ctx.lib.socketStats(socket.fd) as { queuedBytes: number; drops: number };
        assert.ok(one.queuedBytes >= 1000, JSON.stringify(one));
        assert.equal(one.drops, 0);
        await peer.sendMany(Array.from({ length: 50 }, () => [new Uint8Array(1000), socket.localAddr] as const));
        const full = ctx.lib.socketStats(socket.fd) as { queuedBytes: number; drops: number };
        assert.ok(full.drops > 0 && full.drops < 51, JSON.stringify(full));
        assert.ok(full.queuedBytes <= 2 * 8192, JSON.stringify(full));
      } finally {
        peer.close();
        socket.close();
      }
    },
  },
  {
    name: "udp: sendMany() goes on past a datagram the kernel refuses, and the SendManyError lists it",
    async run(ctx) {
      const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
      const peer = client(ctx);
      const refused = { hostname: "255.255.255.255", port: 9 };
      const error = await peer
        .sendMany([
          [encoder.encode("a"), server.addr],
          [encoder.encode("b"), refused],
          [encoder.encode("c"), server.addr],
        ])
        .then(
          () => assert.fail("a broadcast without SO_BROADCAST was sent"),
          (e: unknown) => e,
        );
      assert.ok(error instanceof ctx.lib.SendManyError, String(error));
      assert.equal(error.sent, 2);
      assert.equal(error.failures.length, 1);
      assert.equal(error.failures[0]?.index, 1);
      assert.equal(error.failures[0]?.error.code, "EACCES");
      assert.equal(error.failures[0]?.error.address, "255.255.255.255");
      const got: string[] = [];
      while (got.length < 2)
        for (const [data] of await within(server.receiveMany(), 5000, "a and c")) got.push(text(data));
      assert.deepEqual(got, ["a", "c"]);
      await assert.rejects(peer.send(encoder.encode("b"), refused), { name: "SocketError", code: "EACCES" });
      server.close();
      peer.close();
    },
  },
  {
    name: "udp: receive({ signal }) stops waiting when the signal aborts, and takes no datagram; receiveMany({ max })",
    async run(ctx) {
      const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
      const peer = client(ctx);
      const controller = new AbortController();
      const waiting = server.receive({ signal: controller.signal });
      const reason = new Error("no longer needed");
      controller.abort(reason);
      await assert.rejects(waiting, (e) => e === reason);
      await assert.rejects(server.receiveMany({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      await peer.send(encoder.encode("kept"), server.addr);
      const [data] = await within(server.receive({ signal: new AbortController().signal }), 5000, "the datagram");
      assert.equal(text(data), "kept");
      // receiveMany({ max }) leaves the rest for the next call.
      await peer.sendMany(["a", "b", "c"].map((t) => [encoder.encode(t), server.addr] as const));
      const got: string[] = [];
      while (got.length < 3) {
        const batch = await within(server.receiveMany({ max: 2 }), 5000, "a, b, c");
        assert.ok(batch.length <= 2, `max 2, got ${batch.length}`);
        got.push(...batch.map(([d]) => text(d)));
      }
      assert.deepEqual(got, ["a", "b", "c"]);
      await assert.rejects(server.receiveMany({ max: 0 }), RangeError);
      server.close();
      peer.close();
    },
  },
  {
    name: "udp: close() ends iteration and rejects a waiting receive(); later calls reject",
    async run(ctx) {
      const server = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
      const waiting = server.receive();
      const iterated: Datagram[] = [];
      const loop = (async () => {
        for await (const datagram of server) iterated.push(datagram);
      })();
      setTimeout(() => server.close(), 50);
      await assert.rejects(waiting, ctx.lib.DatagramSocketClosedError);
      await within(loop, 5000, "the for await loop to end");
      assert.equal(iterated.length, 0);
      await assert.rejects(server.receive(), ctx.lib.DatagramSocketClosedError);
      await assert.rejects(server.send(encoder.encode("x"), { hostname: "127.0.0.1", port: 9 }), {
        code: "ERR_SOCKET_CLOSED",
      });
      assert.equal(server.fd, -1);
    },
  },
  {
    name: "udp: bad options and targets are refused before any system call",
    async run(ctx) {
      const before = await settledFds(ctx);
      const open = (options: object) => () => ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0, ...options });
      assert.throws(open({ maxDatagramSize: 0 }), RangeError);
      assert.throws(open({ maxDatagramSize: 70_000 }), RangeError);
      assert.throws(open({ batchSize: "8" }), TypeError);
      assert.throws(open({ receiveBufferSize: -1 }), RangeError);
      assert.throws(open({ transport: "tcp" }), TypeError);
      assert.throws(open({ backlog: 5 }), TypeError);
      assert.throws(open({ hostname: "example.com" }), TypeError);
      assert.deepEqual(fdsOpenedSince(before), [], "a refused option left an fd open");
      const socket = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0, receiveBufferSize: 1 << 20 });
      const to = { hostname: "127.0.0.1", port: 9 };
      await assert.rejects(socket.send("text" as unknown as Uint8Array, to), TypeError);
      await assert.rejects(socket.send(new Uint8Array(70_000), to), RangeError);
      await assert.rejects(socket.send(new Uint8Array(1), { hostname: "example.com", port: 9 }), TypeError);
      await assert.rejects(socket.send(new Uint8Array(1), { hostname: "127.0.0.1", port: 0 }), RangeError);
      await assert.rejects(socket.sendMany([[new Uint8Array(1), { hostname: "::1", port: 9 }]]), TypeError);
      socket.close();
    },
  },
  {
    name: "udp: an unref'd or closed socket lets the process exit; a ref'd one keeps it alive",
    async run(ctx) {
      for (const how of ["--unref", "--close"]) {
        const child = await startChild(ctx.host, ["udp", "0", how]);
        assert.ok(child.report.ok, child.report.error?.message);
        const timeout = new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 5000));
        const outcome = await Promise.race([child.exited, timeout]);
        if (outcome === "still running") child.kill();
        assert.equal(outcome, 0, `the child (${how}) did not exit by itself`);
      }
      const refd = await startChild(ctx.host, ["udp", "0", "--ref"]);
      const early = await Promise.race([
        refd.exited,
        new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 1000)),
      ]);
      assert.equal(early, "running", "the ref'd child exited");
      assert.equal(await refd.stop(), 0);
    },
  },
];
