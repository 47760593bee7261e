import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Conn, Engine, Listener } from "../../src/node.ts";
import { assertSpread } from "./_assert.ts";
import type { Context, Scenario } from "./_scenario.ts";
import {
  connected,
  openFds,
  rawBody,
  spread,
  startChild,
  tcpMemoryPages,
  tcpSocketsLeft,
  unreadBytes,
} from "./_util.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** Echoes every connection: the peer's half-close ends the echo with one of ours. */
function serveEcho(listener: Listener): Promise<void> {
  return (async () => {
    for await (const conn of listener) void conn.readable.pipeTo(conn.writable).catch(() => conn.close());
  })();
}

/** Answers `id` on every connection, then half-closes. */
function serveId(listener: Listener, id: string): Promise<void> {
  return (async () => {
    for await (const conn of listener) {
      const writer = conn.writable.getWriter();
      void writer
        .write(encoder.encode(id))
        .then(() => writer.close())
        .catch(() => conn.close());
    }
  })();
}

/** Collects a client socket's input until the peer half-closes. */
function readToEnd(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
  });
}

/** How a server's close reached a client: "end after N bytes", or the error code that ended it instead. */
function peerOutcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.once("end", () => resolve(`end after ${received} bytes`));
    socket.once("error", (error: Error & { code?: string }) => resolve(`${error.code} after ${received} bytes`));
    socket.once("close", () => resolve(`closed without an end after ${received} bytes`));
  });
}

/** 64 KiB chunks whose bytes depend on their index, so loss or reordering changes the hash. */
function chunkAt(index: number): Uint8Array {
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (index * 7 + i * 13) & 0xff;
  return chunk;
}

/** Writes `bytes` to a client socket honouring its backpressure; resolves with the hash sent. */
async function clientSend(socket: Socket, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  for (let i = 0; i * 64 * 1024 < bytes; i++) {
    const chunk = chunkAt(i);
    hash.update(chunk);
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  socket.end();
  return hash.digest("hex");
}

async function readAllHashed(conn: Conn): Promise<{ hash: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of conn.readable) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { hash: hash.digest("hex"), bytes };
}

async function writeAllHashed(conn: Conn, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  const writer = conn.writable.getWriter();
  for (let i = 0; i * 64 * 1024 < bytes; i++) {
    const chunk = chunkAt(i);
    hash.update(chunk);
    await writer.write(chunk);
  }
  await writer.close();
  return hash.digest("hex");
}

/** User+system CPU time of a process in clock ticks (1/100 s here). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

function listenOn(ctx: Context, engine: Engine | undefined, port = 0): Listener {
  return ctx.lib.listen({ hostname: "127.0.0.1", port, engine });
}

/**
 * Runtimes whose own acceptor (the native engine) mishandles running out of
 * fds, as seen here: Bun 1.4 busy-loops at 100% CPU until fds are free; Deno
 * 2.9 aborts ("Deno has panicked", EMFILE in its signal handling). The
 * accept4 engine handles both. Each entry is asserted, so a runtime that
 * fixes its bug fails this scenario until the entry goes.
 */
const knownStarvationIssues: Record<string, "spins" | "dies"> = {
  "bun/native": "spins",
  "deno/native": "dies",
};

/** Each client sends "#<its index>" and half-closes; each must get exactly that back. */
async function assertEchoes(clients: Socket[]): Promise<void> {
  const replies = clients.map((client, i) => {
    const reply = readToEnd(client);
    client.end(`#${i}`);
    return reply;
  });
  const texts = (await Promise.all(replies)).map((b) => b.toString());
  assert.deepEqual(
    texts,
    texts.map((_, i) => `#${i}`),
  );
  for (const client of clients) client.destroy();
}

/** A listener with one connection: the client end and the server's Conn. */
async function acceptedPair(
  ctx: Context,
  engine: Engine | undefined,
): Promise<{ listener: Listener; client: Socket; conn: Conn }> {
  const listener = listenOn(ctx, engine);
  const accepted = listener.accept();
  const client = await connected(listener.addr.port);
  return { listener, client, conn: await accepted };
}

/**
 * The listener scenarios, named for one engine; with none, listen() is
 * called without `engine`, and the scenarios hold it to the Linux default.
 */
export function listenerScenarios(option?: Engine): Scenario[] {
  const engine: Engine = option ?? "epoll";
  const scenario = (name: string, run: Scenario["run"]): Scenario => ({
    name: `[${option ?? "default"}] ${name}`,
    run,
  });
  return [
    scenario("echo, with the listener's and the connection's addresses", async (ctx) => {
      const listener = listenOn(ctx, option);
      assert.equal(listener.engine, engine);
      assert.ok(listener.fd >= 0);
      assert.equal(listener.addr.hostname, "127.0.0.1");
      const first = listener.accept();
      const client = await connected(listener.addr.port);
      const conn = await first;
      assert.deepEqual(conn.localAddr, { transport: "tcp", hostname: "127.0.0.1", port: listener.addr.port });
      const clientPort = client.localPort;
      assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: clientPort });
      if (engine !== "native" || ctx.host.runtime === "node") assert.ok((conn.fd ?? -1) >= 0, "fd exposed");
      conn.setNoDelay(true);
      conn.setKeepAlive(true, 1000);
      const echoed = conn.readable.pipeTo(conn.writable);
      const reply = readToEnd(client);
      client.end("hello, group");
      assert.equal((await reply).toString(), "hello, group");
      await echoed;
      client.destroy();
      conn.close();
      // Still there once the connection is gone, for the log line written after close.
      assert.deepEqual(conn.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: clientPort });
      assert.equal(conn.localAddr.port, listener.addr.port);
      listener.close();
    }),
    scenario("close() right after write() resolves: the peer gets the whole answer and an orderly end", async (ctx) => {
      const fdsBefore = openFds();
      const listener = listenOn(ctx, option);
      const answer = new Uint8Array(100_000).fill(97);
      void (async () => {
        for await (const conn of listener) {
          void (async () => {
            await conn.read(new Uint8Array(1024));
            await conn.write(answer);
            conn.close();
          })();
        }
      })();
      const outcomes = await Promise.all(
        Array.from(
          { length: 20 },
          () =>
            new Promise<string>((resolve) => {
              const client = connect(listener.addr.port, "127.0.0.1", () => client.write("request"));
              let received = 0;
              client.on("data", (chunk: Buffer) => {
                received += chunk.length;
              });
              // A reset after the answer (SO_LINGER 0, as Bun's terminate() does) can cost the peer the answer itself.
              let outcome = "closed without an end";
              client.on("error", (error: Error & { code?: string }) => {
                outcome = `${error.code} after ${received} bytes`;
              });
              client.on("end", () => {
                outcome = received === answer.length ? "ok" : `ended after ${received} bytes`;
              });
              client.on("close", () => resolve(outcome));
            }),
        ),
      );
      listener.close();
      // Let a runtime that closes sockets late do it here, so that later scenarios' fd counts do not see it.
      assert.deepEqual(await tcpSocketsLeft(fdsBefore, 0), [], "every connection's fd is closed");
      assert.deepEqual(
        outcomes.filter((o) => o !== "ok"),
        [],
        "every peer read the whole answer, then the end",
      );
    }),
    scenario(
      "close() with nothing unread or unsent: each of 5 peers gets an orderly end, and the fds go at once",
      async (ctx) => {
        const fdsBefore = openFds();
        const listener = listenOn(ctx, option);
        const clients: Socket[] = [];
        const outcomes: Promise<string>[] = [];
        for (let i = 0; i < 5; i++) {
          const accepted = listener.accept();
          const client = await connected(listener.addr.port);
          clients.push(client);
          outcomes.push(peerOutcome(client));
          (await accepted).close();
        }
        listener.close();
        assert.deepEqual(await Promise.all(outcomes), Array(5).fill("end after 0 bytes"), "FIN, not RST");
        // The peers still hold their ends open: only close() can have released the server's fds.
        const left = await tcpSocketsLeft(fdsBefore, clients.length);
        assert.equal(left.length, clients.length, `the server's fds are closed (open sockets: ${left.join(", ")})`);
        for (const client of clients) client.destroy();
      },
    ),
    scenario(
      "close() while a write waits: the peer gets what the kernel took, then an orderly end; the fd goes at once",
      async (ctx) => {
        const fdsBefore = openFds();
        const { listener, client, conn } = await acceptedPair(ctx, option);
        listener.close();
        const outcome = peerOutcome(client);
        // The peer does not read, so the write waits for room once the kernel's buffers are full.
        client.pause();
        const size = 32 * MiB;
        const written = conn.write(new Uint8Array(size).fill(42)).then(
          () => "resolved",
          () => "rejected",
        );
        const early = await Promise.race([
          written,
          new Promise((resolve) => setTimeout(() => resolve("waiting"), 200)),
        ]);
        assert.equal(early, "waiting", "the write waits for the peer");
        // The kernel may take nothing for a while where TCP memory is short
        // (net.ipv4.tcp_mem counts every process's buffers): wait for bytes.
        const unread = (): number => unreadBytes(client.localPort as number, listener.addr.port) ?? 0;
        for (let i = 0; i < 250 && unread() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(unread() > 0, `the kernel took no byte in 5 s (TCP memory: ${tcpMemoryPages()} pages)`);
        conn.close();
        // Counted before the peer reads on, while it still holds its end: only close() can release the server's fd.
        const left = await tcpSocketsLeft(fdsBefore, 1);
        client.resume();
        const seen = await outcome;
        const match = /^end after (\d+) bytes$/.exec(seen);
        assert.ok(match !== null, `the peer saw ${seen}, not an orderly end`);
        const received = Number(match[1]);
        assert.ok(received > 0 && received < size, `the peer got ${received} of ${size} bytes`);
        assert.equal(left.length, 1, `only the client's socket is open (open sockets: ${left.join(", ")})`);
        // Dropped output settles the write instead of leaving it waiting for good.
        assert.notEqual(
          await Promise.race([written, new Promise((r) => setTimeout(() => r("pending"), 2000))]),
          "pending",
        );
        client.destroy();
      },
    ),
    scenario("close() with input left unread: the kernel resets the connection, as close(2) does", async (ctx) => {
      const fdsBefore = openFds();
      const { listener, client, conn } = await acceptedPair(ctx, option);
      listener.close();
      const outcome = peerOutcome(client);
      await new Promise((resolve) => client.write("never read", resolve));
      // Loopback delivers at once; the pause makes sure the bytes wait in the server's receive queue.
      await new Promise((resolve) => setTimeout(resolve, 50));
      conn.close();
      assert.equal(await outcome, "ECONNRESET after 0 bytes");
      assert.deepEqual(await tcpSocketsLeft(fdsBefore, 0), [], "both ends' fds are closed");
    }),
    scenario("64 MiB each way at once, checksummed", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      const clientReceived = readToEnd(client);
      const [serverGot, serverSent, clientSent] = await Promise.all([
        readAllHashed(conn),
        writeAllHashed(conn, 64 * MiB),
        clientSend(client, 64 * MiB),
      ]);
      const clientGot = await clientReceived;
      assert.equal(serverGot.bytes, 64 * MiB);
      assert.equal(serverGot.hash, clientSent, "client → server bytes differ");
      assert.equal(clientGot.length, 64 * MiB);
      assert.equal(createHash("sha256").update(clientGot).digest("hex"), serverSent, "server → client bytes differ");
      listener.close();
    }),
    scenario("1,000 concurrent connections", async (ctx) => {
      const listener = listenOn(ctx, option);
      const served = serveEcho(listener);
      const clients = await Promise.all(Array.from({ length: 1000 }, () => connected(listener.addr.port)));
      await assertEchoes(clients);
      listener.close();
      await served;
    }),
    scenario("half-close: the server reads to the end, then answers", async (ctx) => {
      const listener = listenOn(ctx, option);
      const accepted = listener.accept();
      const client = await connected(listener.addr.port);
      const reply = readToEnd(client);
      client.end("question");
      const conn = await accepted;
      let received = "";
      for await (const chunk of conn.readable) received += new TextDecoder().decode(chunk);
      assert.equal(received, "question");
      const writer = conn.writable.getWriter();
      await writer.write(encoder.encode(`answer to ${received}`));
      await writer.close();
      assert.equal((await reply).toString(), "answer to question");
      listener.close();
    }),
    scenario("the server half-closes while paused and still reads all the peer sends", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      const greeting = readToEnd(client);
      const clientSent = clientSend(client, 16 * MiB);
      const reader = conn.readable.getReader();
      const hash = createHash("sha256");
      const first = await reader.read();
      hash.update(first.value ?? new Uint8Array());
      let bytes = first.value?.length ?? 0;
      // Not reading for a while pauses the socket; the FIN goes out while it is paused.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const writer = conn.writable.getWriter();
      await writer.write(encoder.encode("bye for now"));
      await writer.close();
      assert.equal((await greeting).toString(), "bye for now");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        hash.update(value);
        bytes += value.length;
      }
      assert.equal(bytes, 16 * MiB);
      assert.equal(hash.digest("hex"), await clientSent);
      client.destroy();
      listener.close();
    }),
    scenario("read() and write(), as on Deno.Conn: partial reads, then the end", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      const reply = readToEnd(client);
      // Two reads waiting at once, before anything arrived, both get their turn.
      const [a, b] = [new Uint8Array(5), new Uint8Array(5)];
      const reads = [conn.read(a), conn.read(b)];
      client.end("0123456789".repeat(1000));
      const both = await Promise.all(reads);
      assert.deepEqual(both, [5, 5]);
      assert.equal(new TextDecoder().decode(a) + new TextDecoder().decode(b), "0123456789");
      // A 7-byte buffer takes the rest in pieces, none lost or repeated.
      const buffer = new Uint8Array(7);
      let text = "";
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        assert.ok(n > 0 && n <= 7);
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      assert.equal(text, "0123456789".repeat(999));
      assert.equal(await conn.read(buffer), null);
      assert.equal(await conn.write(encoder.encode("got ")), 4);
      // write() and the writable interleave in call order.
      const writer = conn.writable.getWriter();
      await writer.write(encoder.encode(`${text.length} bytes`));
      await writer.close();
      assert.equal((await reply).toString(), "got 9990 bytes");
      conn.close();
      await assert.rejects(conn.write(encoder.encode("late")), { code: "ERR_SOCKET_CLOSED" });
      client.destroy();
      listener.close();
    }),
    scenario(
      "write() is done with its buffer when it resolves: one buffer echoes 16 MiB to a late reader",
      async (ctx) => {
        const { listener, client, conn } = await acceptedPair(ctx, option);
        // Deno.Conn's echo loop: read into one buffer, write that same buffer, read into it again.
        const echoing = (async () => {
          const buffer = new Uint8Array(16 * 1024);
          for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
            await conn.write(buffer.subarray(0, n));
          }
          await conn.closeWrite();
        })();
        const clientSent = clientSend(client, 16 * MiB);
        // The client starts reading late, so the server's output queues behind a full socket buffer.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const echoed = await readToEnd(client);
        await echoing;
        assert.equal(echoed.length, 16 * MiB);
        assert.equal(createHash("sha256").update(echoed).digest("hex"), await clientSent, "echoed bytes differ");
        client.destroy();
        conn.close();
        listener.close();
      },
    ),
    scenario("closeWrite() half-closes; the peer still gets everything written before", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      const reply = readToEnd(client);
      const writer = conn.writable.getWriter();
      await writer.write(encoder.encode("written, then "));
      writer.releaseLock();
      await conn.closeWrite();
      assert.equal((await reply).toString(), "written, then ");
      // The read side is still open: the peer can answer after our FIN.
      const reader = conn.readable.getReader();
      client.end("answered after FIN");
      let text = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
      assert.equal(text, "answered after FIN");
      // With the writable locked, closeWrite() refuses instead of racing the writer.
      const other = await acceptedPair(ctx, option);
      other.conn.writable.getWriter();
      await assert.rejects(other.conn.closeWrite(), TypeError);
      other.conn.close();
      other.client.destroy();
      other.listener.close();
      client.destroy();
      listener.close();
    }),
    scenario(
      "a peer that resets the connection: read() rejects with ECONNRESET and the fd is released",
      async (ctx) => {
        const { listener, client, conn } = await acceptedPair(ctx, option);
        const fdsBefore = openFds().size;
        client.resetAndDestroy();
        const buffer = new Uint8Array(64);
        const outcome = await conn.read(buffer).then(
          (n) => ({ n }),
          (error: Error & { code?: string; syscall?: string }) => ({ error }),
        );
        // Bun's own socket names the reset only in its close callback; the Conn passes it on.
        assert.ok("error" in outcome, `read() gave ${JSON.stringify(outcome)}`);
        assert.equal(outcome.error.code, "ECONNRESET");
        if (engine === "epoll") {
          assert.equal(outcome.error.name, "SocketError");
          assert.equal(outcome.error.syscall, "read");
        }
        await assert.rejects(conn.write(encoder.encode("after the reset")));
        conn.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(openFds().size < fdsBefore, "the connection's fd is closed");
        listener.close();
      },
    ),
    scenario("a slow reader holds the sender back instead of buffering", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      // The client pushes as fast as TCP lets it for a second while the server reads 10 chunks.
      let sent = 0;
      let stop = false;
      const pushing = (async () => {
        for (let i = 0; !stop && sent < 256 * MiB; i++) {
          const chunk = chunkAt(i);
          sent += chunk.length;
          if (!client.write(chunk)) {
            await new Promise((resolve) => {
              client.once("drain", resolve);
              client.once("close", resolve);
            });
          }
        }
      })();
      const reader = conn.readable.getReader();
      let read = 0;
      for (let i = 0; i < 10; i++) {
        const { value } = await reader.read();
        read += value?.length ?? 0;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stop = true;
      // Kernel buffers on loopback hold a few MiB; without a pause the runtime would have taken it all.
      assert.ok(sent < 48 * MiB, `the sender got ${Math.round(sent / MiB)} MiB through while 10 chunks were read`);
      assert.ok(read > 0);
      client.destroy();
      conn.close();
      await pushing;
      listener.close();
    }),
    scenario("a listener opened just as another's last connection ends accepts at once", async (ctx) => {
      // The readiness watcher is busiest right after a connection's events: a watch
      // added then must be in the very next wait (it once waited on the old set).
      for (let round = 0; round < 5; round++) {
        const { listener, client, conn } = await acceptedPair(ctx, option);
        client.end("bye");
        for (let n = await conn.read(new Uint8Array(16)); n !== null; n = await conn.read(new Uint8Array(16))) {}
        conn.close();
        listener.close();
        const next = listenOn(ctx, option);
        const accepted = next.accept();
        const other = await connected(next.addr.port);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`round ${round}: no connection accepted within 2 s`)), 2000);
        });
        try {
          (await Promise.race([accepted, timeout])).close();
        } finally {
          clearTimeout(timer);
        }
        other.destroy();
        next.close();
      }
    }),
    scenario("close() while a for await waits ends the loop; accept() then rejects", async (ctx) => {
      const listener = listenOn(ctx, option);
      const pending = listener.accept();
      const loop = (async () => {
        let seen = 0;
        for await (const _conn of listener) seen++;
        return seen;
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      listener.close();
      listener.close();
      assert.equal(await loop, 0);
      await assert.rejects(pending, (error: Error) => error instanceof ctx.lib.ListenerClosedError);
      await assert.rejects(listener.accept(), { name: "ListenerClosedError", code: "ERR_LISTENER_CLOSED" });
      await assert.rejects(rawBody(listener.addr.port), /ECONNREFUSED/);
    }),
    scenario("close() leaves accepted connections open and usable", async (ctx) => {
      const { listener, client, conn } = await acceptedPair(ctx, option);
      await listener[Symbol.asyncDispose]();
      await assert.rejects(rawBody(listener.addr.port), /ECONNREFUSED/);
      const echoed = conn.readable.pipeTo(conn.writable);
      const reply = readToEnd(client);
      client.end("still here");
      assert.equal((await reply).toString(), "still here");
      await echoed;
      await conn[Symbol.asyncDispose]();
    }),
    scenario("connections nobody accepts yet are bounded in the process, and all are served later", async (ctx) => {
      const listener = listenOn(ctx, option);
      const sockets = (): number => [...openFds().values()].filter((target) => target.startsWith("socket:")).length;
      const before = sockets();
      const clients = await Promise.all(Array.from({ length: 300 }, () => connected(listener.addr.port)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const taken = sockets() - before - clients.length;
      // The accept4 and epoll engines stop at 128 waiting connections (the rest stay in the
      // kernel's backlog); a runtime's own acceptor takes them all.
      if (engine !== "native") assert.ok(taken <= 128 + 8, `${taken} connections taken from the kernel`);
      else assert.ok(taken >= 290, `${taken} connections taken from the kernel`);
      const served = serveEcho(listener);
      await assertEchoes(clients);
      listener.close();
      await served;
    }),
    scenario("4 listeners in one process each accept a share of 400 connections", async (ctx) => {
      const first = listenOn(ctx, option);
      const listeners = [first, ...[1, 2, 3].map(() => listenOn(ctx, option, first.addr.port))];
      const served = listeners.map((listener, i) => serveId(listener, `l${i}`));
      try {
        assertSpread(await spread(first.addr.port, 400, "127.0.0.1", 16, rawBody), ["l0", "l1", "l2", "l3"], 400);
      } finally {
        for (const listener of listeners) listener.close();
      }
      await Promise.all(served);
    }),
    scenario("4 processes listening on one port each accept a share", async (ctx) => {
      const first = await startChild(ctx.host, ["listen", "0", option ?? "default", "--serve", "p0"]);
      assert.ok(first.report.ok, first.report.error?.message);
      const port = first.report.port as number;
      const others = await Promise.all(
        [1, 2, 3].map((i) => startChild(ctx.host, ["listen", String(port), option ?? "default", "--serve", `p${i}`])),
      );
      try {
        for (const child of others) assert.deepEqual(child.report, { ok: true, port });
        assertSpread(await spread(port, 400, "127.0.0.1", 16, rawBody), ["p0", "p1", "p2", "p3"], 400);
      } finally {
        await Promise.all([first, ...others].map((child) => child.stop()));
      }
    }),
    scenario("out of fds (EMFILE): the listener stays up, stays idle, and serves once fds are free", async (ctx) => {
      const known = knownStarvationIssues[`${ctx.host.runtime}/${engine}`];
      const child = await startChild(ctx.host, ["listen", "0", option ?? "default", "--hold"], undefined, [
        "prlimit",
        "--nofile=160",
      ]);
      assert.ok(child.report.ok, child.report.error?.message);
      const port = child.report.port as number;
      const flood: Socket[] = [];
      try {
        // More connections than the child has fds: it holds what it can, the rest wait in the backlog.
        for (let i = 0; i < 240; i++) {
          const socket = connect({ host: "127.0.0.1", port });
          socket.on("error", () => {});
          flood.push(socket);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (known === "dies") {
          const code = await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
          assert.notEqual(
            code,
            undefined,
            `${ctx.host.runtime}'s own acceptor no longer dies when starved: drop it from knownStarvationIssues`,
          );
          return;
        }
        const before = cpuTicks(child.pid);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const used = cpuTicks(child.pid) - before;
        if (known === "spins") {
          assert.ok(
            used > 50,
            `${ctx.host.runtime}'s own acceptor no longer spins when starved (${used} ticks): drop it from knownStarvationIssues`,
          );
        } else {
          assert.ok(used <= 25, `the starved child used ${used} ticks of CPU in 1 s`);
        }
        for (const socket of flood) socket.destroy();
        child.send("release");
        assert.equal(await child.nextLine(), "released");
        // It serves again: within the backoff, a new connection gets its answer.
        let answer = "";
        for (let attempt = 0; attempt < 20 && answer !== "ok"; attempt++) {
          answer = await rawBody(port, "127.0.0.1", undefined, 3000).catch(() => "");
        }
        assert.equal(answer, "ok");
      } finally {
        for (const socket of flood) socket.destroy();
        if (known === "dies") await child.exited;
        else await child.stop();
      }
    }),
    scenario("an unref'd Conn lets the process exit; a ref'd one (or one ref'd again) keeps it alive", async (ctx) => {
      const clients: Socket[] = [];
      try {
        for (const mode of ["unref", "ref", "unref-ref"] as const) {
          const child = await startChild(ctx.host, ["listen", "0", option ?? "default", "--conn", mode]);
          assert.ok(child.report.ok, child.report.error?.message);
          clients.push(await connected(child.report.port as number));
          assert.equal(await child.nextLine(), "accepted");
          const outcome = await Promise.race([
            child.exited,
            new Promise<"running">((resolve) => setTimeout(() => resolve("running"), mode === "unref" ? 5000 : 500)),
          ]);
          if (outcome === "running") child.kill();
          assert.equal(outcome, mode === "unref" ? 0 : "running", `conn mode ${mode}`);
          await child.exited;
        }
      } finally {
        for (const client of clients) client.destroy();
      }
    }),
    scenario("the process exits by itself after listener.close() and the last conn.close()", async (ctx) => {
      const child = await startChild(ctx.host, ["listen", "0", option ?? "default", "--serve-then-close", "5"]);
      assert.ok(child.report.ok, child.report.error?.message);
      for (let i = 0; i < 5; i++) assert.equal(await rawBody(child.report.port as number), "ok");
      assert.equal(await child.nextLine(), "closed");
      const outcome = await Promise.race([
        child.exited,
        new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 5000)),
      ]);
      if (outcome === "still running") child.kill();
      assert.equal(outcome, 0, "something still held the process after everything closed");
    }),
    scenario("an unref'd listener lets the process exit; a ref'd one keeps it alive", async (ctx) => {
      const unrefd = await startChild(ctx.host, ["listen", "0", option ?? "default", "--unref"]);
      assert.ok(unrefd.report.ok, unrefd.report.error?.message);
      const timeout = new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 5000));
      const outcome = await Promise.race([unrefd.exited, timeout]);
      if (outcome === "still running") unrefd.kill();
      assert.equal(outcome, 0, "the unref'd child did not exit by itself");
      const refd = await startChild(ctx.host, ["listen", "0", option ?? "default", "--ref"]);
      const early = await Promise.race([
        refd.exited,
        new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 1000)),
      ]);
      assert.equal(early, "running", "the ref'd child exited");
      assert.equal(await refd.stop(), 0);
    }),
  ];
}
