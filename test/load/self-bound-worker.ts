// A worker that binds its own socket in a reuseport group, the way most
// multi-process servers do (no owner process holds the group): `listen()` on
// the port, answer every HTTP request with this process's pid as the body.
// Restarting such a worker is close-and-rebind, which changes the group.
//
//   self-bound-worker.ts <port> [--work-ms N] [--busy-at-stop-ms N]
//                        [--engine accept4|native|epoll]
//
// Prints "ready <port>" once it listens. --work-ms keeps the thread busy for
// N ms per request (a server with work to do), so connections wait in the
// kernel's accept queue as they do on a loaded server. On SIGTERM it closes
// its listener, finishes the requests it has accepted and exits 0; with
// --busy-at-stop-ms the thread is first busy N ms more (a request or a GC
// pause in progress when the signal came), so the kernel has queued
// connections for it when it closes, every time. It also exits when stdin
// ends, so it never outlives the process that started it.
import process from "node:process";
import type { Conn } from "../../src/node.ts";
import { loadForRuntime } from "../conformance/_library.ts";
import { answerOnce, busy } from "./_serve.ts";

const [portArg = "0", ...rest] = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const at = rest.indexOf(name);
  return at === -1 ? undefined : rest[at + 1];
};
const workMs = Number(flag("--work-ms") ?? 0);
const busyAtStopMs = Number(flag("--busy-at-stop-ms") ?? 0);
const engine = (flag("--engine") ?? "accept4") as "accept4" | "native" | "epoll";

const { lib } = await loadForRuntime();
const listener = lib.listen({ hostname: "127.0.0.1", port: Number(portArg), engine });
const body = new TextEncoder().encode(String(process.pid));
const response = new Uint8Array([
  ...new TextEncoder().encode(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`),
  ...body,
]);

/** Reads the request head, answers, then waits for the client to close before closing. */
const serve = (conn: Conn): Promise<void> => answerOnce(conn, response, workMs);

let inFlight = 0;
let closing = false;
let closed = false;
const exitWhenIdle = (): void => {
  if (closed && inFlight === 0) process.exit(0);
};

const shutdown = (): void => {
  if (closing) return;
  closing = true;
  // close() also closes connections the listener has accepted but not yet
  // handed to the loop below. On Deno a signal listener can run between an
  // accept and that hand-over (both are promise continuations), so close on a
  // fresh task, once the loop has taken everything accepted: what is lost is
  // then only what the kernel loses, the subject of the test.
  setTimeout(() => {
    // Busy, then close, with no turn of the event loop between: nothing is accepted meanwhile.
    if (busyAtStopMs > 0) busy(busyAtStopMs);
    listener.close();
    closed = true;
    exitWhenIdle();
  }, 0);
  // Whatever is still in flight after this long is abandoned.
  setTimeout(() => process.exit(0), 5000).unref();
};
process.on("SIGTERM", shutdown);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("data", () => {});

process.stdout.write(`ready ${listener.addr.port}\n`);
for await (const conn of listener) {
  inFlight++;
  void serve(conn)
    .catch(() => {})
    .finally(() => {
      conn.close();
      inFlight--;
      exitWhenIdle();
    });
}
