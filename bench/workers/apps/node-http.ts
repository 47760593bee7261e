// node:http as a benchmark worker, on Node 20, Node 26 and Deno (Deno's
// node:http), with the socket it is told to serve:
//   node-http.ts inherited        the socket `reuseport run` hands it (openSocket() adopts it)
//   node-http.ts port <port>      listen(port): one process alone, a cluster worker, a PM2 instance
//   node-http.ts reuse-port <port> listen({ reusePort: true }): the runtime's own option (Node 26)
// It prints "listening" once it is, and answers as _respond.ts says.
import { createServer } from "node:http";
import { Server } from "node:net";
import process from "node:process";
import { burn, SLOW_MS, WORKER_HEADER } from "./_respond.ts";

const [mode = "port", portText = "0"] = process.argv.slice(2);
const headers = { "content-type": "text/plain", "content-length": "2", [WORKER_HEADER]: String(process.pid) };
const server = createServer((request, response) => {
  if (request.url === "/slow") burn(SLOW_MS);
  response.writeHead(200, headers);
  response.end("ok");
});
const listening = (): void => {
  process.stdout.write("listening\n");
};

if (mode === "inherited") {
  const { loadForRuntime } = await import("../../../test/conformance/_library.ts");
  const { lib } = await loadForRuntime();
  const inherited = lib.inheritedSockets()[0]?.localAddr;
  if (inherited === undefined) throw new Error("inherited: no socket was handed to this process");
  server.listen({ fd: lib.openSocket({ hostname: inherited.hostname, port: inherited.port }).release() }, () => {
    listening();
    lib.notifyReady();
  });
  // A graceful stop that leaves the supervisor's socket and its queue alone (see examples/workers/node-http.ts).
  process.once("SIGTERM", () => {
    Server.prototype.close.call(server, () => process.exit(0));
    setTimeout(() => server.closeIdleConnections(), 1000).unref();
  });
} else if (mode === "port" || mode === "reuse-port") {
  server.listen({ host: "127.0.0.1", port: Number(portText), reusePort: mode === "reuse-port" }, listening);
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
} else {
  throw new Error(`unknown mode ${mode}: inherited, port or reuse-port`);
}
