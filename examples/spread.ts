// Opens 4 SO_REUSEPORT listeners on one port, serves each with Node's own
// net.Server on the fd, makes 1,000 connections and shows how the kernel
// spread them. Run: npm start   (or: node --import tsx examples/spread.ts)
import { connect, createServer, type Server } from "node:net";
import { openSocket } from "../src/node.ts";

const LISTENERS = 4;
const CONNECTIONS = 1000;
const CONCURRENCY = 32;

const first = openSocket({ hostname: "127.0.0.1", port: 0 });
const { port } = first.localAddr;
const sockets = [first, ...Array.from({ length: LISTENERS - 1 }, () => openSocket({ hostname: "127.0.0.1", port }))];
const fds = sockets.map((s) => s.fd);

const servers: Server[] = await Promise.all(
  sockets.map(
    (socket, index) =>
      new Promise<Server>((resolve) => {
        const server = createServer((conn) => conn.end(String(index)));
        server.listen({ fd: socket.release() }, () => resolve(server));
      }),
  ),
);

function ask(): Promise<number> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const conn = connect({ host: "127.0.0.1", port });
    conn.setEncoding("utf8");
    conn.on("data", (chunk: string) => {
      answer += chunk;
    });
    conn.on("end", () => resolve(Number(answer)));
    conn.on("error", reject);
  });
}

const counts = new Array<number>(LISTENERS).fill(0);
let sent = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (sent < CONNECTIONS) {
      sent++;
      const index = await ask();
      counts[index] = (counts[index] ?? 0) + 1;
    }
  }),
);
const elapsed = performance.now() - started;
await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));

const most = Math.max(...counts);
console.log(`${LISTENERS} SO_REUSEPORT listeners on 127.0.0.1:${port}, ${CONNECTIONS} connections`);
console.log(`(${process.release.name} ${process.version}, ${Math.round(elapsed)} ms)\n`);
console.log("listener  fd   connections  share");
counts.forEach((count, index) => {
  const bar = "█".repeat(Math.round((count / most) * 40));
  const share = `${((count / CONNECTIONS) * 100).toFixed(1)}%`.padStart(6);
  console.log(`#${index}        ${String(fds[index]).padEnd(4)} ${String(count).padStart(11)}  ${share}  ${bar}`);
});
console.log("\nThe kernel picked a listener for each connection from a hash of its addresses and ports.");
