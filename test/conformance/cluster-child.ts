// A node:cluster primary and its workers, for the cluster scenarios.
//
//   cluster-child.ts <worker>...
//
// The primary forks one worker per argument, the first alone (its port is
// the group's), the others together, and prints one JSON report line
// (ClusterReport) once each listens, or the first failure. End of stdin
// kills the workers and exits. An argument is `<kind>[:<name>]`; the whole
// argument is the worker's id, which it answers as an HTTP body:
//   native | accept4 | epoll | default  listen() with that engine (default: none given)
//   own-server  the runtime's own server on an openSocket() fd, as the README
//     says for a cluster worker: node:http fed by accept4 (Node, Deno),
//     Bun.listen (Bun)
//   exclusive  node:http's listen({ fd, exclusive: true }), on a port of its
//     own: outside the group, since nobody serves its socket
//
// Before a worker opens its socket, it and the primary agree on the fd
// number the socket will have, and the primary puts a listening socket of
// its own (the decoy) at that number: a worker whose fd is served by the
// primary instead of by itself serves the decoy. Workers print nothing on
// stdout (it is the primary's); they talk to it over the cluster channel.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { Socket } from "node:net";
import process from "node:process";
import type { Conn, Engine, RawSocket } from "../../src/node.ts";
import { loadForRuntime } from "./_library.ts";

export interface WorkerReport {
  readonly id: string;
  readonly pid: number;
  /** The fd of the worker's listening socket. */
  readonly fd: number;
  /** The port the worker listens on: the group's, or its own for "exclusive". */
  readonly port: number;
  /** The port of the primary's decoy, the socket at the same fd number in the primary. */
  readonly decoyPort: number;
}

export interface ClusterReport {
  readonly ok: boolean;
  /** The group's port. */
  readonly port?: number;
  readonly workers?: readonly WorkerReport[];
  readonly error?: string;
}

/** Worker to primary: the fd number its socket would get now; or that it listens; or why not. */
type FromWorker =
  | { readonly probe: number }
  | { readonly listening: { readonly fd: number; readonly port: number } }
  | { readonly failed: string };
/** Primary to worker: open the socket now (the decoy is in place), or probe the next number. */
type ToWorker = { readonly go: true } | { readonly again: true };

const hostname = "127.0.0.1";
// Linux's F_DUPFD_CLOEXEC (the platform tables lack it): a decoy must not leak into workers forked after it.
const F_DUPFD_CLOEXEC = 1030;
const { lib, host } = await loadForRuntime();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const httpAnswer = (id: string): Uint8Array =>
  encoder.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${id.length}\r\nconnection: close\r\n\r\n${id}`);

/** Reads the request's head, answers `id` and closes. */
async function answer(conn: Conn, id: string): Promise<void> {
  const buffer = new Uint8Array(4096);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    head += decoder.decode(buffer.subarray(0, n));
  }
  await conn.write(httpAnswer(id));
  conn.close();
}

/** Starts the worker's server; resolves with its listening fd and port. */
async function start(id: string, groupPort: number): Promise<{ fd: number; port: number }> {
  const kind = id.split(":")[0];
  if (kind === "native" || kind === "accept4" || kind === "epoll" || kind === "default") {
    const engine = kind === "default" ? undefined : (kind as Engine);
    const listener = lib.listen({ hostname, port: groupPort, engine });
    void (async () => {
      for await (const conn of listener) void answer(conn, id).catch(() => conn.close());
    })();
    return { fd: listener.fd, port: listener.addr.port };
  }
  if (kind === "own-server") {
    const socket = lib.openSocket({ hostname, port: groupPort });
    const { fd } = socket;
    if (host.runtime === "bun") {
      await host.serveFd(socket.release(), id);
      return { fd, port: socket.localAddr.port };
    }
    // The README's way for node:http in a cluster worker: accept here, hand each connection to the server.
    const server = createServer((_request, response) => {
      response.setHeader("connection", "close");
      response.end(id);
    });
    lib.watchReadable(fd, () => {
      for (let c = lib.accept4(fd); c !== null; c = lib.accept4(fd)) {
        server.emit("connection", new Socket({ fd: c.fd, readable: true, writable: true }));
      }
    });
    return { fd, port: socket.localAddr.port };
  }
  if (kind === "exclusive") {
    const socket = lib.openSocket({ hostname, port: 0 });
    const { fd } = socket;
    const server = createServer((_request, response) => {
      response.setHeader("connection", "close");
      response.end(id);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ fd: socket.release(), exclusive: true }, () => resolve());
    });
    return { fd, port: socket.localAddr.port };
  }
  throw new Error(`unknown worker kind ${JSON.stringify(id)}`);
}

function send(message: FromWorker): void {
  process.send?.(message);
}

async function runWorker(): Promise<void> {
  const id = process.env.CLUSTER_WORKER_ID ?? "";
  const groupPort = Number(process.env.CLUSTER_GROUP_PORT);
  const replies: ToWorker[] = [];
  let waiting: ((reply: ToWorker) => void) | undefined;
  process.on("message", (reply: ToWorker) => {
    const resolve = waiting;
    waiting = undefined;
    if (resolve) resolve(reply);
    else replies.push(reply);
  });
  const next = (): Promise<ToWorker> =>
    new Promise((resolve) => {
      const reply = replies.shift();
      if (reply) resolve(reply);
      else waiting = resolve;
    });
  // Numbers the primary holds already stay taken here, so the next probe finds a higher one.
  const held: RawSocket[] = [];
  try {
    for (;;) {
      const probe = lib.openSocket({ hostname, port: 0 });
      send({ probe: probe.fd });
      const reply = await next();
      if ("again" in reply) {
        held.push(probe);
        continue;
      }
      const expected = probe.fd;
      probe.close();
      const started = await start(id, groupPort);
      if (started.fd !== expected) {
        throw new Error(`the socket got fd ${started.fd}, not ${expected} where the decoy is; an fd opened meanwhile`);
      }
      send({ listening: started });
      return;
    }
  } catch (error) {
    send({ failed: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  } finally {
    for (const socket of held) socket.close();
  }
}

/** Puts a listening socket at fd `number` of this process; its port, or undefined if the number is taken. */
function decoyAt(number: number): number | undefined {
  const sys = lib.sys();
  if (sys.fcntl(number, sys.platform.constants.F_GETFD, 0) >= 0) return undefined;
  const socket = lib.openSocket({ hostname, port: 0 });
  const port = socket.localAddr.port;
  const fd = socket.release();
  // The socket may have got the number itself, the lowest free one.
  if (fd === number) return port;
  const moved = sys.fcntl(fd, F_DUPFD_CLOEXEC, number);
  sys.close(fd);
  if (moved !== number) throw new Error(`the decoy went to fd ${moved}, not ${number}`);
  return port;
}

/** Forks the worker `id` and resolves with its report once it listens. */
function fork(id: string, groupPort: number): Promise<WorkerReport> {
  const worker = cluster.fork({ CLUSTER_WORKER_ID: id, CLUSTER_GROUP_PORT: String(groupPort) });
  return new Promise((resolve, reject) => {
    let decoyPort = 0;
    worker.on("message", (message: FromWorker) => {
      try {
        if ("probe" in message) {
          const port = decoyAt(message.probe);
          if (port === undefined) {
            worker.send({ again: true } satisfies ToWorker);
            return;
          }
          decoyPort = port;
          worker.send({ go: true } satisfies ToWorker);
        } else if ("listening" in message) {
          resolve({ id, pid: worker.process.pid ?? -1, ...message.listening, decoyPort });
        } else {
          reject(new Error(`worker ${id}: ${message.failed}`));
        }
      } catch (error) {
        reject(error);
      }
    });
    worker.on("exit", (code, signal) => reject(new Error(`worker ${id} exited (${code ?? signal})`)));
  });
}

async function runPrimary(): Promise<void> {
  const ids = process.argv.slice(2);
  const print = (report: ClusterReport): void => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  };
  try {
    const [first, ...rest] = ids;
    if (first === undefined || first.startsWith("exclusive")) throw new Error("the first worker sets the group's port");
    const leader = await fork(first, 0);
    const others = await Promise.all(rest.map((id) => fork(id, leader.port)));
    print({ ok: true, port: leader.port, workers: [leader, ...others] });
  } catch (error) {
    print({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
  process.stdin.resume();
  process.stdin.on("end", () => {
    const workers = Object.values(cluster.workers ?? {});
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const worker of workers) {
      worker?.once("exit", () => {
        if (--left === 0) process.exit(0);
      });
      worker?.kill();
    }
  });
}

if (cluster.isPrimary) await runPrimary();
else await runWorker();
