// A worker app for the supervisor scenarios, the same file on every runtime.
// It answers each HTTP request with "<slot>-<generation>-<pid>" and closes
// the connection. It does nothing about the supervisor: listen() adopts the
// inherited socket and says READY=1 by itself, and SIGTERM drains it.
//
//   app.ts <port | "inherited"> [--engine native|accept4|epoll] [--delay-ms N]
//          [--serve-fd] [--crash-after-ms N] [--never-ready] [--fail-start]
//          [--stall-on-signal-ms N]
//          [--no-accept]
//
// --serve-fd: openSocket() and the runtime's own HTTP server on the fd
//   (node:http; Bun.listen), then notifyReady() and "ready" on stdout;
//   SIGTERM stops it gracefully (no new connections, the open ones answered).
// --delay-ms: wait before answering, so requests are in flight at a stop.
// --crash-after-ms: exit 3 that long after being ready.
// --never-ready: open the socket and never say ready.
// --fail-start: say so on stderr and exit 4 at once.
// --stall-on-signal-ms: SIGUSR2 blocks the event loop that long (a stalled
//   worker: it accepts nothing, while its socket keeps receiving).
// --no-accept: say ready and never accept, so connections stay queued in
//   the slot's socket (SIGTERM ends it).
import process from "node:process";
import { loadForRuntime } from "../conformance/_library.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
if (args.includes("--fail-start")) {
  process.stderr.write("failing at start, on purpose\n");
  process.exit(4);
}
const id = `${process.env.REUSEPORT_SLOT}-${process.env.REUSEPORT_GENERATION}-${process.pid}`;
const delayMs = Number(flag("--delay-ms") ?? 0);
const { lib, host } = await loadForRuntime();
// "inherited": the port of the first socket the supervisor handed over (it may have asked the kernel for one).
const port = args[0] === "inherited" ? (lib.inheritedSockets()[0]?.localAddr.port ?? -1) : Number(args[0]);
const encoder = new TextEncoder();
const response = encoder.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`);
const crashAfter = flag("--crash-after-ms");
const stallMs = flag("--stall-on-signal-ms");
if (stallMs !== undefined) {
  process.on("SIGUSR2", () => {
    process.stdout.write("stalling\n");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(stallMs));
  });
}
const crashLater = (): void => {
  if (crashAfter !== undefined) setTimeout(() => process.exit(3), Number(crashAfter));
};

if (args.includes("--no-accept")) {
  lib.openSocket({ hostname: "127.0.0.1", port });
  lib.notifyReady();
  setInterval(() => {}, 1000);
} else if (args.includes("--never-ready")) {
  lib.openSocket({ hostname: "127.0.0.1", port });
  setInterval(() => {}, 1000);
} else if (args.includes("--serve-fd")) {
  const socket = lib.openSocket({ hostname: "127.0.0.1", port });
  const served = await host.serveFd(socket.release(), id);
  // A graceful stop: no new connections, the open ones answered.
  process.on("SIGTERM", () => void served.drain().then(() => process.exit(0)));
  lib.notifyReady();
  process.stdout.write("ready\n");
  crashLater();
} else {
  const listener = lib.listen({
    hostname: "127.0.0.1",
    port,
    engine: (flag("--engine") ?? "epoll") as "native" | "accept4" | "epoll",
  });
  crashLater();
  for await (const conn of listener) {
    void (async () => {
      // Each connection its own: a read copies into it when input arrives, and
      // another connection's read settling before this one resumes would overwrite a shared one.
      const buffer = new Uint8Array(4096);
      try {
        let request = "";
        while (!request.includes("\r\n\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) break;
          request += new TextDecoder().decode(buffer.subarray(0, n));
        }
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        await conn.write(response);
      } finally {
        conn.close();
      }
    })().catch(() => {});
  }
}
