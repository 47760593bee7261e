// Node's own HTTP server on SO_REUSEPORT sockets: four node:http servers in
// one process share one port, and the kernel spreads connections between
// them. Works on Node 20, which has no reusePort option of its own.
//   node --import tsx examples/node-http.ts [port]    (Node 22.6+: node examples/node-http.ts)
//   curl http://127.0.0.1:8080/
import { createServer } from "node:http";
import { openSocket } from "reuseport";

const SERVERS = 4;
const first = openSocket({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 8080) });
const { port } = first.localAddr;
const sockets = [first, ...Array.from({ length: SERVERS - 1 }, () => openSocket({ hostname: "127.0.0.1", port }))];

const servers = sockets.map((socket, index) =>
  // release(): the server owns the fd from now on and closes it.
  createServer((_request, response) => response.end(`server ${index}\n`)).listen({ fd: socket.release() }),
);
console.log(`listening on http://127.0.0.1:${port} (${SERVERS} node:http servers, one port)`);

const stop = (): void => {
  for (const server of servers) server.close();
  for (const server of servers) server.closeAllConnections();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
