// A worker process for cross-process scenarios. Prints one JSON report line,
// then follows stdin: it stops when stdin closes.
//
//   child.ts <port> [--no-reuseport] [--serve <id>] [--hostname <ip>]
//     openSocket; with --serve, the runtime's HTTP server answers <id>.
//   child.ts listen <port> <engine|default> (--serve <id> | --hold | --unref | --ref)
//     listen(); --serve answers <id> on every connection and closes it;
//     --hold keeps every connection open until the line "release" (then
//     answers "ok"); --unref unrefs the listener and waits for nothing;
//     --ref just keeps listening; --conn <ref|unref|unref-ref> accepts one
//     connection, closes the listener, (un)refs the connection and keeps it;
//     --serve-then-close <n> answers n connections, closing each, then closes
//     the listener; --echo-all echoes every connection until its FIN and
//     prints its count of open sockets on "sockets"; --slow-read <n> takes n
//     connections, reads nothing, prints its RSS in KiB on "rss", and on
//     "read" reads them all and prints [{ index, bytes, hash }].
//   child.ts udp <port> (--unref | --ref | --close)
//     listenDatagram(); --unref unrefs it and waits for nothing; --close
//     exchanges a datagram with itself, closes it and waits for nothing.
//   child.ts udp-paced <count>
//     sends <count> numbered 1,000-byte datagrams from a socket with the
//     smallest send buffer to another in this process, half with send() and
//     half with sendMany(), then one more sendMany() it closes the socket
//     under, and prints {"received", "inOrder", "sentMs", "abandoned"}. Meant
//     for a network namespace whose loopback is rate-limited, where the send
//     buffer fills and sendto reports EAGAIN.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Conn, Engine, Listener } from "../../src/node.ts";
import { loadForRuntime } from "./_library.ts";
import { type ChildReport, openFds, tcpSocketTargets } from "./_util.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const { lib, host } = await loadForRuntime();
const print = (report: ChildReport | string): void => {
  process.stdout.write(`${typeof report === "string" ? report : JSON.stringify(report)}\n`);
};
const failure = (error: unknown): ChildReport => {
  const e = error as Error & { code?: string; reason?: string; ownerUid?: number };
  return {
    ok: false,
    error: { name: e.name, code: e.code, reason: e.reason, ownerUid: e.ownerUid, message: e.message },
  };
};

/** Open TCP sockets of this process (Unix ones aside: Deno opens a pair of its own at some point and keeps it). */
function openSockets(): number {
  const isTcp = tcpSocketTargets();
  return [...openFds().values()].filter(isTcp).length;
}

/** Resident memory of this process, KiB. */
function rssKiB(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
}

/** Reads a connection to its end: the first 4 bytes name its sender, the rest is hashed. */
async function readAllHashed(conn: Conn): Promise<{ index: number; bytes: number; hash: string }> {
  const buffer = new Uint8Array(64 * 1024);
  const hash = createHash("sha256");
  const head = new Uint8Array(4);
  let bytes = 0;
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    const chunk = buffer.subarray(0, n);
    const headPart = Math.max(0, Math.min(4 - bytes, n));
    if (headPart > 0) head.set(chunk.subarray(0, headPart), bytes);
    hash.update(chunk.subarray(headPart));
    bytes += n;
  }
  conn.close();
  return { index: new DataView(head.buffer).getUint32(0), bytes, hash: hash.digest("hex") };
}

async function answer(conn: Conn, text: string): Promise<void> {
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
}

let stop = async (): Promise<void> => {};
let onLine = (_line: string): void => {};

if (args[0] === "listen") {
  let listener: Listener | undefined;
  try {
    listener = lib.listen({
      hostname: "127.0.0.1",
      port: Number(args[1]),
      engine: args[2] === "default" ? undefined : (args[2] as Engine),
    });
    print({ ok: true, port: listener.addr.port });
  } catch (error) {
    print(failure(error));
  }
  if (listener) {
    const running = listener;
    const id = flag("--serve");
    const held: Conn[] = [];
    let holding = args.includes("--hold");
    onLine = (line) => {
      if (line !== "release") return;
      holding = false;
      for (const conn of held.splice(0)) conn.close();
      print("released");
    };
    if (args.includes("--unref")) running.unref();
    if (args.includes("--echo-all")) {
      // Echoes every connection until the peer's FIN, then closes it.
      void (async () => {
        for await (const conn of running) {
          void (async () => {
            const buffer = new Uint8Array(4096);
            try {
              for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
                await conn.write(buffer.subarray(0, n));
              }
            } catch {
              // A reset peer: the count of open sockets tells the test.
            }
            conn.close();
          })();
        }
      })();
      onLine = (line) => {
        if (line === "sockets") print(String(openSockets()));
      };
    }
    const slowRead = flag("--slow-read");
    if (slowRead !== undefined) {
      // Takes n connections and reads nothing until "read": what waits meanwhile
      // must stay in the kernel, not in this process.
      const conns: Conn[] = [];
      const accepted = (async () => {
        while (conns.length < Number(slowRead)) conns.push(await running.accept());
      })();
      onLine = (line) => {
        if (line === "rss") print(String(rssKiB()));
        if (line !== "read") return;
        void accepted.then(async () => {
          const results = await Promise.all(conns.map(readAllHashed));
          print(JSON.stringify(results));
        });
      };
    }
    const connRef = flag("--conn");
    const serveThenClose = flag("--serve-then-close");
    if (connRef !== undefined) {
      // One connection, kept open; the listener closes, so only the connection can hold the process.
      void running.accept().then((conn) => {
        running.close();
        if (connRef === "unref") conn.unref();
        else if (connRef === "unref-ref") {
          conn.unref();
          conn.ref();
        }
        held.push(conn);
        print("accepted");
      });
    } else if (serveThenClose !== undefined) {
      // Serves this many connections, closes each and then the listener: nothing may be left to hold the process.
      void (async () => {
        for (let served = 0; served < Number(serveThenClose); served++) {
          const conn = await running.accept();
          await answer(conn, "ok").catch(() => {});
          conn.close();
        }
        running.close();
        print("closed");
      })();
    } else if (id !== undefined || holding) {
      void (async () => {
        for await (const conn of running) {
          if (holding) held.push(conn);
          else void answer(conn, id ?? "ok").catch(() => conn.close());
        }
      })();
    }
    stop = async () => running.close();
  }
} else if (args[0] === "udp-paced") {
  const count = Number(args[1]);
  const receiver = lib.listenDatagram({ hostname: "127.0.0.1", port: 0, receiveBufferSize: 4 << 20 });
  const sender = lib.listenDatagram({ hostname: "127.0.0.1", port: 0, reusePort: false, sendBufferSize: 1 });
  print({ ok: true, port: receiver.addr.port });
  const received: number[] = [];
  // The longest pause between two arrivals: the link sends one datagram about
  // every millisecond, so a sender that resumes late leaves a gap.
  let lastArrival = 0;
  let maxGapMs = 0;
  const all = (async () => {
    for await (const [data] of receiver) {
      const now = performance.now();
      if (received.length > 0) maxGapMs = Math.max(maxGapMs, now - lastArrival);
      lastArrival = now;
      received.push(new DataView(data.buffer, data.byteOffset).getUint32(0));
      if (received.length === count) break;
    }
  })();
  const numbered = (i: number): Uint8Array => {
    const datagram = new Uint8Array(1000);
    new DataView(datagram.buffer).setUint32(0, i);
    return datagram;
  };
  const started = Date.now();
  const half = Math.floor(count / 2);
  for (let i = 0; i < half; i++) await sender.send(numbered(i), receiver.addr);
  await sender.sendMany(Array.from({ length: count - half }, (_, j) => [numbered(half + j), receiver.addr] as const));
  const sentMs = Date.now() - started;
  let giveUp: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise((resolve) => (giveUp = setTimeout(resolve, 20_000)))]);
  clearTimeout(giveUp);
  // A batch stuck behind the full buffer when the socket closes must fail, not hang.
  const stuck = sender.sendMany(Array.from({ length: 200 }, (_, j) => [numbered(j), receiver.addr] as const));
  sender.close();
  const abandoned = await Promise.race([
    stuck.then(
      () => "sent",
      (error: { code?: string }) => error.code,
    ),
    new Promise((resolve) => (giveUp = setTimeout(() => resolve("still waiting"), 5000))),
  ]);
  clearTimeout(giveUp);
  const inOrder = received.every((n, i) => n === i);
  print(JSON.stringify({ received: received.length, inOrder, sentMs, maxGapMs: Math.round(maxGapMs), abandoned }));
  receiver.close();
  sender.close();
} else if (args[0] === "udp") {
  try {
    const socket = lib.listenDatagram({ hostname: "127.0.0.1", port: Number(args[1]) });
    if (args.includes("--unref")) socket.unref();
    stop = async () => socket.close();
    if (args.includes("--close")) {
      await socket.send(new Uint8Array(1), socket.addr);
      await socket.receive();
      socket.close();
    }
    print({ ok: true, port: socket.addr.port });
  } catch (error) {
    print(failure(error));
  }
} else {
  try {
    const socket = lib.openSocket({
      port: Number(args[0]),
      hostname: flag("--hostname") ?? "127.0.0.1",
      reusePort: !args.includes("--no-reuseport"),
    });
    const id = flag("--serve");
    if (id === undefined) {
      stop = async () => socket.close();
    } else {
      const served = await host.serveFd(socket.release(), id);
      stop = () => served.close();
    }
    print({ ok: true, port: socket.localAddr.port });
  } catch (error) {
    print(failure(error));
  }
}

// Modes that test what holds the process do not read stdin, which would hold it.
const exitsByItself =
  args.includes("--unref") ||
  args.includes("--close") ||
  args.includes("--serve-then-close") ||
  flag("--conn") === "unref" ||
  args[0] === "udp-paced";
if (!exitsByItself) {
  let pending = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  });
  process.stdin.on("end", async () => {
    await stop();
    process.exit(0);
  });
}
