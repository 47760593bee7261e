// Raw accept4 handing connections to worker threads: the main thread owns
// the listening socket, wakes when it is readable, takes every waiting
// connection with accept4(2) and passes each fd to the next of four worker
// threads, which serve it with node:net. This is the shape a supervisor
// takes; the fd number is valid in every thread of the process. (Node only:
// Bun's net.Socket does not adopt an fd.)
//   node --import tsx examples/accept4-workers.ts [port]
//   curl http://127.0.0.1:8080/
import { Worker } from "node:worker_threads";
import { accept4, openSocket, watchReadable } from "reuseport";

const WORKERS = 4;

// A worker adopts each fd it is sent and answers one request on it. Plain
// JavaScript, so the threads need no TypeScript loader of their own.
const workerSource = `
const { Socket } = require("node:net");
const { parentPort, workerData } = require("node:worker_threads");
const body = "worker " + workerData.index + "\\n";
const response = "HTTP/1.1 200 OK\\r\\ncontent-length: " + body.length + "\\r\\nconnection: close\\r\\n\\r\\n" + body;
parentPort.on("message", (fd) => {
  const conn = new Socket({ fd, readable: true, writable: true });
  conn.once("data", () => conn.end(response));
  conn.on("error", () => conn.destroy());
});
`;

const socket = openSocket({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 8080) });
const workers = Array.from(
  { length: WORKERS },
  (_, index) => new Worker(workerSource, { eval: true, workerData: { index } }),
);
let next = 0;
const watch = watchReadable(socket.fd, () => {
  for (let conn = accept4(socket.fd); conn !== null; conn = accept4(socket.fd)) {
    workers[next++ % WORKERS]?.postMessage(conn.fd);
  }
});
console.log(`listening on http://127.0.0.1:${socket.localAddr.port} (accept4 in the main thread, ${WORKERS} workers)`);

const stop = (): void => {
  watch.close();
  socket.close();
  for (const worker of workers) void worker.terminate();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
