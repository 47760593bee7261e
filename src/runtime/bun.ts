import type { PreloadedWorker } from "../preload/worker.ts";
import { threadPoller } from "../socket/_poller.ts";
import type { Conn, NetAddr } from "../types.ts";
import type { Acceptor, AcceptorSink, KnownAddresses, RuntimeAdapter } from "./_adapter.ts";
import { type ConnDriver, type ConnEvents, connFromDriver } from "./_conn.ts";

import { processActivation } from "./_process.ts";

export { hostPlatform } from "./_process.ts";

type BunSocket = Bun.Socket<BunDriver | undefined>;
type Handlers = Bun.SocketHandler<BunDriver | undefined>;

/**
 * A Bun socket as a ConnDriver. Bun's write() may take only part of a
 * chunk; the rest waits here for the drain callback, and FIN waits for it.
 */
class BunDriver implements ConnDriver {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly fd: number | undefined;
  readonly #socket: BunSocket;
  #events: ConnEvents | undefined;
  #pending: Uint8Array[] = [];
  #endRequested = false;

  constructor(socket: BunSocket, fd: number | undefined, known?: KnownAddresses) {
    this.#socket = socket;
    this.fd = fd;
    this.localAddr = known?.localAddr ?? { transport: "tcp", hostname: socket.localAddress, port: socket.localPort };
    this.remoteAddr = known?.remoteAddr ?? {
      transport: "tcp",
      hostname: socket.remoteAddress,
      port: socket.remotePort,
    };
  }

  attach(events: ConnEvents): void {
    this.#events = events;
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#pending.length > 0) {
      this.#pending.push(chunk);
      return false;
    }
    const written = this.#socket.write(chunk);
    if (written >= chunk.length) return true;
    this.#pending.push(chunk.subarray(Math.max(written, 0)));
    return false;
  }

  end(): void {
    if (this.#pending.length > 0) this.#endRequested = true;
    else this.#socket.shutdown();
  }

  destroy(): void {
    // Output still waiting here is dropped, as Conn.close() says; what the
    // kernel already took is delivered, then FIN, as close(2) does on the
    // other runtimes. Bun 1.4's end() is that close(2), at once, even with
    // half-open allowed (its docs speak of a half-close; the scenarios
    // count the fds). Never terminate(): it resets the connection
    // (SO_LINGER 0), and the peer loses even what was sent before.
    this.#pending = [];
    this.#endRequested = false;
    this.#socket.end();
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

  onData(chunk: Uint8Array): void {
    this.#events?.onData(chunk);
  }

  onDrain(): void {
    while (this.#pending.length > 0) {
      const chunk = this.#pending[0] as Uint8Array;
      const written = this.#socket.write(chunk);
      if (written < chunk.length) {
        this.#pending[0] = chunk.subarray(Math.max(written, 0));
        return;
      }
      this.#pending.shift();
    }
    if (this.#endRequested) {
      this.#endRequested = false;
      this.#socket.shutdown();
    }
    this.#events?.onDrain();
  }

  onEnd(): void {
    this.#events?.onEnd();
  }

  onError(error: Error): void {
    this.#events?.onError(error);
  }

  /** Bun names a reset only here, as the close's error: waiting writes must fail with it, not resolve. */
  onClose(error?: Error): void {
    if (error !== undefined) this.#events?.onError(error);
    this.#events?.onClose();
  }
}

/** Socket callbacks shared by every connection; each socket's `data` is its driver. */
const forwarding: Omit<Handlers, "open"> = {
  data: (socket, chunk) => socket.data?.onData(chunk),
  drain: (socket) => socket.data?.onDrain(),
  end: (socket) => socket.data?.onEnd(),
  error: (socket, error) => socket.data?.onError(error),
  close: (socket, error) => socket.data?.onClose(error),
};

/** Makes a connection's driver as soon as Bun opens it: paused, so the Conn pulls. */
function openConn(socket: BunSocket, fd: number | undefined, known?: KnownAddresses): Conn {
  socket.pause();
  const driver = new BunDriver(socket, fd, known);
  socket.data = driver;
  return connFromDriver(driver);
}

// Bun.listen and Bun.connect take an fd at run time; bun-types does not declare it.
const listenOnFd = Bun.listen as unknown as (options: {
  fd: number;
  allowHalfOpen: boolean;
  socket: Handlers;
}) => Bun.TCPSocketListener<BunDriver | undefined>;
const connectToFd = Bun.connect as unknown as (options: {
  fd: number;
  allowHalfOpen: boolean;
  socket: Handlers;
}) => Promise<BunSocket>;

function serveBunFd(fd: number, sink: AcceptorSink, localAddr: NetAddr | undefined): Acceptor {
  const listener = listenOnFd({
    fd,
    allowHalfOpen: true,
    socket: {
      ...forwarding,
      open: (socket) => sink.conn(openConn(socket, undefined, { localAddr, remoteAddr: undefined })),
    },
  });
  return {
    pause: () => {},
    resume: () => {},
    ref: () => listener.ref(),
    unref: () => listener.unref(),
    close: () => listener.stop(false),
  };
}

function adoptBunFd(fd: number, known: KnownAddresses): Promise<Conn> {
  return new Promise<Conn>((resolve, reject) => {
    connectToFd({
      fd,
      allowHalfOpen: true,
      socket: {
        ...forwarding,
        open: (socket) => resolve(openConn(socket, fd, known)),
        connectError: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
}

const unrefTimer = (timer: ReturnType<typeof setTimeout>): void => {
  timer.unref();
};

/** Bun: Bun.listen and Bun.connect on fds; readiness from poll(2) in a Worker. */
export const bunAdapter: RuntimeAdapter = {
  serveNative: serveBunFd,
  adopt: adoptBunFd,
  watchReadable: (sys) => threadPoller(sys, { unrefTimer }),
  unrefTimer,
  activation: processActivation,
};

type Serve = (options: Record<string, unknown>, ...rest: unknown[]) => { stop(closeActive?: boolean): unknown };

/**
 * The preload's hook into Bun.serve (also behind `export default { fetch }`),
 * which cannot serve an fd: a serve on a served port binds its own socket
 * with reusePort on the served address, which joins the supervisor's group,
 * and counts as served at once (Bun.serve listens before it returns). Its
 * drain is Bun's own graceful stop(), which finishes the requests in flight.
 */
export function hookBunServe(worker: PreloadedWorker): void {
  const bun = Bun as unknown as { serve: Serve };
  const original = bun.serve;
  bun.serve = function serve(this: unknown, options: Record<string, unknown>, ...rest: unknown[]) {
    if (!worker.supervised || typeof options !== "object" || options === null || options.unix !== undefined) {
      return original.call(this, options, ...rest);
    }
    // Bun.serve's own default: BUN_PORT, PORT (which the supervisor sets), NODE_PORT, then 3000.
    const env = process.env;
    const port = Number(options.port ?? env.BUN_PORT ?? env.PORT ?? env.NODE_PORT ?? 3000);
    const host = typeof options.hostname === "string" ? options.hostname : undefined;
    const joining = worker.joinServe("Bun.serve", port, host);
    if (joining === undefined) return original.call(this, options, ...rest);
    const { addr } = joining;
    const server = worker.serveJoined(
      joining.index,
      () => original.call(this, { ...options, hostname: addr.hostname, port: addr.port, reusePort: true }, ...rest),
      // Bun's own graceful stop: no new connections, the requests in flight finished.
      (joined) => Promise.resolve(joined.stop(false)),
    );
    return server;
  };
}
