// Node's own HTTP server (node:http) on the library's socket: one worker
// that runs alone, binding its socket, or under `reuseport run` unchanged,
// serving the socket the supervisor hands it. Also runs on Deno, whose
// node:http serves an fd too (Bun's does not: see bun-listen.ts).
//
// Under the supervisor (4 workers on port 8080, then `reuseport reload` or
// `kill -HUP <supervisor pid>` for a reload that drops no connection):
//   npx reuseport run -w 4 -p 8080 examples/workers/node-http.ts
//   npx reuseport run -w 4 -p 8080 --runtime-args "--import tsx" examples/workers/node-http.ts   (Node 20)
//   deno run -A cli.ts run --runtime deno -w 4 -p 8080 examples/workers/node-http.ts
// Alone (port 0 picks a free one):
//   node examples/workers/node-http.ts [port] [hostname]      (Node 20: node --import tsx …)
//   deno run --allow-ffi --allow-env examples/workers/node-http.ts [port] [hostname]
//   curl http://127.0.0.1:8080/
//
// openSocket() adopts the inherited socket for the address when the process
// has one (without arguments it serves the first one it inherited), and
// binds its own otherwise. Serving an fd with its own server, the app says
// READY=1 itself (notifyReady(), a no-op when alone). On SIGTERM it stops
// accepting and lets the connections it accepted finish: what the kernel
// still queues stays in the supervisor's socket for the slot's next worker.
import { createServer } from "node:http";
import { Server } from "node:net";
import process from "node:process";
import { inheritedSockets, notifyReady, openSocket } from "reuseport";

const inherited = inheritedSockets()[0]?.localAddr;
const port = Number(process.argv[2] ?? inherited?.port ?? 8080);
const hostname = process.argv[3] ?? inherited?.hostname ?? "0.0.0.0";

const { REUSEPORT_SLOT: slot, REUSEPORT_GENERATION: generation } = process.env;
const body = `node:http${slot === undefined ? "" : ` slot ${slot} generation ${generation}`} pid ${process.pid}\n`;

const socket = openSocket({ hostname, port });
const address = socket.localAddr;
let stopping = false;
const server = createServer((_request, response) => {
  response.setHeader("content-type", "text/plain");
  // Once stopping, a keep-alive connection ends after this response.
  if (stopping) response.setHeader("connection", "close");
  response.end(body);
});
// release(): the server owns the fd from now on and closes it.
server.listen({ fd: socket.release() }, () => {
  console.log(`listening on http://${address.hostname}:${address.port} (node:http, pid ${process.pid})`);
  notifyReady();
});

process.once("SIGTERM", () => {
  stopping = true;
  // net.Server's close(): stop accepting (on this process's fd: the
  // supervisor's socket keeps listening, its queue intact) and call back once
  // every connection has ended. http.Server's own close() would also close
  // the idle connections at once, among them any accepted a moment ago whose
  // request is still on its way: its client would see a reset.
  Server.prototype.close.call(server, () => process.exit(0));
  // Connections still idle a second later (keep-alive clients between requests) are closed.
  setTimeout(() => server.closeIdleConnections(), 1000).unref();
});
process.once("SIGINT", () => process.exit(0));
