// The library's own listener, listen(), as a worker on any runtime: it runs
// alone, binding its socket, or under `reuseport run` unchanged, where
// listen() adopts the socket the supervisor hands it, says READY=1 by
// itself, and on SIGTERM drains: it stops taking connections from the
// kernel, hands out every one it has already accepted, and the loop below
// ends when they are served. What the kernel still queues stays in the
// supervisor's socket for the slot's next worker.
//
// Under the supervisor (4 workers on port 8080; `reuseport reload` drops no connection):
//   npx reuseport run -w 4 -p 8080 examples/workers/listen.ts
//   npx reuseport run -w 4 -p 8080 --runtime-args "--import tsx" examples/workers/listen.ts   (Node 20)
//   bunx --bun reuseport run -w 4 -p 8080 examples/workers/listen.ts
//   deno run -A cli.ts run --runtime deno -w 4 -p 8080 examples/workers/listen.ts
// It also works with --self-bind (each worker binds its own socket), where
// it says ready and drains by itself, as it does alone:
//   npx reuseport run --self-bind -w 4 -p 8080 examples/workers/listen.ts
// Alone (port 0 picks a free one):
//   node examples/workers/listen.ts [port] [hostname]         (Node 20: node --import tsx …)
//   bun examples/workers/listen.ts [port] [hostname]
//   deno run --allow-ffi --allow-env examples/workers/listen.ts [port] [hostname]
//   curl http://127.0.0.1:8080/
import process from "node:process";
import { type Conn, inheritedSockets, listen, notifyReady } from "reuseport";

const inherited = inheritedSockets()[0]?.localAddr;
const port = Number(process.argv[2] ?? inherited?.port ?? 8080);
const hostname = process.argv[3] ?? inherited?.hostname ?? "0.0.0.0";

const { REUSEPORT_SLOT: slot, REUSEPORT_GENERATION: generation } = process.env;
const body = `listen()${slot === undefined ? "" : ` slot ${slot} generation ${generation}`} pid ${process.pid}\n`;
const response = new TextEncoder().encode(
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
);

const listener = listen({ hostname, port });
console.log(`listening on http://${listener.addr.hostname}:${listener.addr.port} (listen(), pid ${process.pid})`);
if (inherited === undefined) {
  // A socket of our own (alone, or under --self-bind): say ready and drain on SIGTERM ourselves.
  notifyReady();
  process.once("SIGTERM", () => listener.drain());
}

/** Reads the request head, answers, and closes once the client has read it all and closed its side. */
async function serve(conn: Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  let head = "";
  try {
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return;
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await conn.write(response);
    // A half-close (FIN) after the response, then the client's own: close()
    // alone may reset a connection (Bun aborts it), racing the response.
    await conn.closeWrite();
    while ((await conn.read(buffer)) !== null) {
      // Whatever the client still sends is read and dropped.
    }
  } catch {
    // The client went away.
  } finally {
    conn.close();
  }
}

const serving = new Set<Promise<void>>();
for await (const conn of listener) {
  const done = serve(conn);
  serving.add(done);
  void done.finally(() => serving.delete(done));
}
// Drained: every accepted connection was handed out; finish them, then exit.
await Promise.all(serving);
process.exit(0);
