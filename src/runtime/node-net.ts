// node:net as both Node and Deno provide it: the native acceptor on an fd
// and adoption of an accepted fd. Deno's entry reuses this file, the one
// place outside src/runtime/node.ts that touches node:net.
import cluster from "node:cluster";
import { createServer, type Server, Socket } from "node:net";
import type { Conn, NetAddr } from "../types.ts";
import type { Acceptor, AcceptorSink, KnownAddresses } from "./_adapter.ts";
import { type ConnDriver, type ConnEvents, connFromDriver } from "./_conn.ts";

function address(hostname: string | undefined, port: number | undefined): NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

function handleFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

const kEvents = Symbol("reuseport.connEvents");

/** A net.Socket carrying the Conn its events go to. */
type ConnSocket = Socket & { [kEvents]: ConnEvents };

// One set of listeners for every socket: each finds its Conn on the socket.
function onData(this: ConnSocket, chunk: Uint8Array): void {
  this[kEvents].onData(chunk);
}
function onEnd(this: ConnSocket): void {
  this[kEvents].onEnd();
}
function onError(this: ConnSocket, error: Error): void {
  this[kEvents].onError(error);
}
function onClose(this: ConnSocket): void {
  this[kEvents].onClose();
}

/** A net.Socket as a ConnDriver. */
class NetDriver implements ConnDriver {
  readonly #socket: Socket;
  /**
   * Given to every write: the last one to finish empties Node's queue, and
   * waiting writers may go on. A write that failed is no drain: Node calls
   * back with the error before it emits 'error', whose onError then rejects
   * the waiting writers (had this woken them, they would resolve as sent).
   */
  readonly #written = (error?: Error | null): void => {
    if (error) return;
    const socket = this.#socket as ConnSocket;
    if (socket.writableLength === 0) socket[kEvents].onDrain();
  };
  readonly fd: number | undefined;
  // Read now: once the socket is closed Node can no longer tell.
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;

  constructor(socket: Socket, fd: number | undefined, known?: KnownAddresses) {
    this.#socket = socket;
    this.fd = fd;
    // Node's address getters cost microseconds per connection: use what accept4 told where it did.
    this.localAddr = known?.localAddr ?? address(socket.localAddress, socket.localPort);
    this.remoteAddr = known?.remoteAddr ?? address(socket.remoteAddress, socket.remotePort);
  }

  attach(events: ConnEvents): void {
    const socket = this.#socket as ConnSocket;
    socket[kEvents] = events;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    // A 'data' listener switches the stream to flowing: the Conn pulls instead.
    socket.pause();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /**
   * Node keeps a reference to a chunk it could not send at once, so "done"
   * means its queue is empty, not that write() returned true: a Deno-style
   * caller reuses its buffer as soon as the write resolves.
   */
  write(chunk: Uint8Array): boolean {
    const socket = this.#socket;
    socket.write(chunk, this.#written);
    return socket.writableLength === 0;
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  setNoDelay(noDelay: boolean): void {
    this.#socket.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive: boolean, initialDelayMs: number): void {
    this.#socket.setKeepAlive(keepAlive, initialDelayMs);
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }
}

/** What net.Server's listen() runs once it is to listen in this process. */
type Listen2 = (address: null, port: null, addressType: null, backlog: undefined, fd: number) => void;

/**
 * Has `server` listen on `fd` in this process. In a node:cluster worker,
 * `listen({ fd })` asks the primary to listen on that fd number in the
 * primary's own process (Node and Deno ignore `exclusive` for an fd, and
 * Deno's node:net sends even a handle to the primary): that fails a moment
 * later (bind EINVAL), or, where the primary has a socket at that number,
 * serves the primary's socket here. `_listen2` is the step listen() takes
 * in the primary; Node keeps the name for code that wraps it, and Deno's
 * node:net has it too.
 */
function listenHere(server: Server, fd: number): void {
  if (!cluster.isWorker) {
    server.listen({ fd });
    return;
  }
  const listen2 = (server as unknown as { _listen2?: Listen2 })._listen2;
  if (typeof listen2 !== "function") {
    // Never fall back to listen({ fd }): it would serve whatever the primary has at this number.
    throw new Error(
      'this runtime\'s net.Server has no _listen2, so the native engine cannot serve an fd in a node:cluster worker; use engine "epoll" or "accept4"',
    );
  }
  listen2.call(server, null, null, null, undefined, fd);
}

/**
 * net.Server on the listening fd, in this process even in a node:cluster
 * worker. node:net reports a failure only afterwards (an 'error' event, as
 * for any net.Server): it goes to the sink, which rejects accept() with it.
 */
export function serveNetFd(fd: number, sink: AcceptorSink, localAddr: NetAddr | undefined): Acceptor {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) =>
    sink.conn(connFromDriver(new NetDriver(socket, handleFd(socket), { localAddr, remoteAddr: undefined }))),
  );
  server.on("error", sink.failed);
  listenHere(server, fd);
  return {
    pause: () => {},
    resume: () => {},
    ref: () => server.ref(),
    unref: () => server.unref(),
    close: () => server.close(),
  };
}

/** new net.Socket({ fd }) on an accepted fd. */
export function adoptNetFd(fd: number, known: KnownAddresses): Conn {
  // Without pauseOnCreate (how net.Server's pauseOnConnect works; the typings
  // omit it) the socket starts reading at once and takes input the Conn has
  // not asked for out of the kernel: a close() then ends with FIN where the
  // kernel would have reset the connection for input left unread.
  const options = { fd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true };
  const socket = new Socket(options);
  return connFromDriver(new NetDriver(socket, fd, known));
}
