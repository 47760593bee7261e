import type { Inheritance } from "../activation/inherited.ts";
import type { Sys } from "../ffi/sys.ts";
import { epollSet } from "../socket/_epoll.ts";
import { acceptLoop } from "../socket/accept.ts";
import { check, ListenerClosedError } from "../socket/errors.ts";
import { isInherited, localAddress, openSocket } from "../socket/open.ts";
import { setIntOption } from "../socket/sockopt.ts";
import { listenerStats } from "../socket/stats.ts";
import type {
  Conn,
  Engine,
  Listener,
  ListenerStats,
  ListenOptions,
  NetAddr,
  RawSocket,
  SocketStats,
} from "../types.ts";
import type { Acceptor, AcceptorSink, KnownAddresses, RuntimeAdapter } from "./_adapter.ts";
import { connFromDriver } from "./_conn.ts";
import { EpollDriver } from "./_epoll-driver.ts";
import { iterateUntilClosed } from "./_iterate.ts";

/** Connections accepted ahead of accept() calls before the accept4 engine stops accepting. */
const MAX_QUEUED = 128;

/** Closes a connection nobody will be handed (a failed adoption has nothing to close). */
function closeWhenAdopted(conn: Conn | Promise<Conn>): void {
  if (!(conn instanceof Promise)) {
    conn.close();
    return;
  }
  void conn.then(
    (c) => c.close(),
    () => {},
  );
}

interface Waiter {
  resolve(conn: Conn | Promise<Conn>): void;
  reject(error: Error): void;
}

class QueueListener implements Listener {
  readonly addr: NetAddr;
  readonly fd: number;
  readonly engine: Engine;
  #acceptor: Acceptor;
  /** Accepted connections nobody has asked for yet; a promise while the runtime adopts one. */
  #queue: (Conn | Promise<Conn>)[] = [];
  #waiters: Waiter[] = [];
  #closed = false;
  /** drain(): the acceptor is closed, the queue is still handed out. */
  #draining = false;
  #acceptorClosed = false;
  #failure: Error | undefined;
  readonly #kernelStats: () => SocketStats;
  #accepted = 0;

  constructor(raw: RawSocket, engine: Engine, start: (sink: AcceptorSink) => Acceptor, kernelStats: () => SocketStats) {
    this.addr = raw.localAddr;
    this.fd = raw.fd;
    this.engine = engine;
    this.#kernelStats = kernelStats;
    this.#acceptor = start({
      conn: (conn) => this.#deliver(conn),
      failed: (error) => {
        this.#failure = error;
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
      },
    });
  }

  #deliver(conn: Conn | Promise<Conn>): void {
    if (this.#closed) {
      closeWhenAdopted(conn);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#accepted++;
      waiter.resolve(conn);
      return;
    }
    // A rejected adoption is reported by accept(); until then it must not count as unhandled.
    if (conn instanceof Promise) conn.catch(() => {});
    this.#queue.push(conn);
    if (this.#queue.length >= MAX_QUEUED && !this.#draining) this.#acceptor.pause();
  }

  accept(): Promise<Conn> {
    const next = this.#queue.shift();
    if (next) {
      this.#accepted++;
      if (this.#draining) {
        if (this.#queue.length === 0) this.#closed = true;
      } else if (this.#queue.length < MAX_QUEUED) this.#acceptor.resume();
      return Promise.resolve(next);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ListenerClosedError(this.addr));
    return new Promise<Conn>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  stats(): ListenerStats {
    // Once the fd is closed its number may belong to another socket: nothing to read.
    if (this.#acceptorClosed) throw new ListenerClosedError(this.addr);
    const kernel = this.#kernelStats();
    return { queued: kernel.queued + this.#queue.length, backlog: kernel.backlog, accepted: this.#accepted };
  }

  /** Yields connections until close(). */
  [Symbol.asyncIterator](): AsyncIterableIterator<Conn, undefined> {
    return iterateUntilClosed(
      () => this.accept(),
      (error) => error instanceof ListenerClosedError,
    );
  }

  #closeAcceptor(): void {
    if (this.#acceptorClosed) return;
    this.#acceptorClosed = true;
    this.#acceptor.close();
  }

  drain(): void {
    if (this.#closed || this.#draining) return;
    // One last round of accepts right before the fd closes: when this
    // process holds the socket's last fd (a slot being scaled away), what
    // is still queued then is reset unless tcp_migrate_req moves it. It
    // stops at the queue bound, as any round does.
    this.#acceptor.flush?.();
    this.#draining = true;
    this.#closeAcceptor();
    // Waiters exist only while the queue is empty: nothing is left for them.
    if (this.#queue.length > 0) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new ListenerClosedError(this.addr));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeAcceptor();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new ListenerClosedError(this.addr));
    for (const conn of this.#queue.splice(0)) closeWhenAdopted(conn);
  }

  ref(): void {
    if (!this.#acceptorClosed) this.#acceptor.ref();
  }

  unref(): void {
    if (!this.#acceptorClosed) this.#acceptor.unref();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Wildcard binds accept on every local address; a specific one is each connection's local address. */
const wildcards = new Set(["0.0.0.0", "::"]);

function connectionLocalAddr(raw: RawSocket): NetAddr | undefined {
  return wildcards.has(raw.localAddr.hostname) ? undefined : raw.localAddr;
}

/** Turns an accepted fd into a Conn: the runtime's socket (accept4) or the library's own (epoll). */
type Adopt = (fd: number, known: KnownAddresses) => Conn | Promise<Conn>;

/**
 * The epoll engine's adoption: the fd stays the library's, read and written
 * through libc. Connections start with TCP_NODELAY on, as Deno's and Bun's
 * do: set once on the listening socket, whose connections inherit it on
 * Linux, instead of by a system call per connection.
 */
function epollAdopt(sys: Sys, adapter: RuntimeAdapter, listenFd: number): Adopt {
  const set = epollSet(sys, adapter.watchReadable(sys));
  const c = sys.platform.constants;
  let noDelay = true;
  try {
    setIntOption(sys, listenFd, c.IPPROTO_TCP, c.TCP_NODELAY, 1);
  } catch {
    // Then each connection keeps the kernel's default, and setNoDelay() sets it.
    noDelay = false;
  }
  return (fd, known) =>
    connFromDriver(
      new EpollDriver(
        sys,
        set,
        fd,
        known.localAddr ?? localAddress(sys, fd, "tcp"),
        known.remoteAddr ?? { transport: "tcp", hostname: "", port: 0 },
        noDelay,
      ),
    );
}

function accept4Acceptor(
  sys: Sys,
  adapter: RuntimeAdapter,
  raw: RawSocket,
  sink: AcceptorSink,
  adopt: Adopt,
  inherited: boolean,
): Acceptor {
  const localAddr = connectionLocalAddr(raw);
  const loop = acceptLoop(
    sys,
    raw.fd,
    {
      accepted: (fd, remoteAddr) => {
        let conn: Conn | Promise<Conn>;
        try {
          conn = adopt(fd, { remoteAddr, localAddr });
        } catch (error) {
          sys.close(fd);
          conn = Promise.reject(error);
        }
        sink.conn(conn);
      },
      failed: sink.failed,
    },
    { watchReadable: adapter.watchReadable(sys), unrefTimer: adapter.unrefTimer },
  );
  return {
    pause: loop.pause,
    resume: loop.resume,
    ref: loop.ref,
    unref: loop.unref,
    flush: loop.flush,
    close: () => {
      // The watch stops first, so no poll of this process still waits on the fd.
      loop.close();
      // A poll on another thread may hold the socket open a moment after
      // close(); shutting it down first stops listening at once, so new
      // connections are refused rather than queued and then reset. Never on
      // an inherited socket: its other holders (the group's owner) still
      // listen on it, and shutdown would reset its whole queue.
      if (!inherited) sys.shutdown(raw.fd, sys.platform.constants.SHUT_RD);
      raw.close();
    },
  };
}

/**
 * The engine `listen()` uses when none is named: the epoll engine wherever
 * libc has epoll and accept4 (Linux), since it costs the least CPU per
 * request of the three on every runtime (bench/README.md); the runtime's own
 * acceptor elsewhere.
 */
export function defaultEngine(sys: Sys): Engine {
  return sys.epollCreate1 && sys.epollCtl && sys.epollWait && sys.accept4 && sys.platform.constants.epoll
    ? "epoll"
    : "native";
}

/**
 * Opens a socket in the group (or adopts the inherited one on its address)
 * and starts accepting with the chosen engine.
 */
export function listen(sys: Sys, adapter: RuntimeAdapter, options: ListenOptions, inheritance?: Inheritance): Listener {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const { engine = defaultEngine(sys), ...socketOptions } = options;
  if (engine !== "native" && engine !== "accept4" && engine !== "epoll") {
    throw new TypeError(`options.engine must be "native", "accept4" or "epoll", got ${JSON.stringify(engine)}`);
  }
  if (socketOptions.transport !== undefined && socketOptions.transport !== "tcp") {
    throw new TypeError('listen() is for TCP; use listenDatagram() for "udp"');
  }
  const raw = openSocket(sys, socketOptions, inheritance);
  const inherited = isInherited(raw);
  let listener: QueueListener;
  try {
    const listenFd = raw.fd;
    listener = new QueueListener(
      raw,
      engine,
      (sink) => {
        if (engine === "accept4")
          return accept4Acceptor(sys, adapter, raw, sink, (fd, known) => adapter.adopt(fd, known), inherited);
        if (engine === "epoll") {
          return accept4Acceptor(sys, adapter, raw, sink, epollAdopt(sys, adapter, raw.fd), inherited);
        }
        const localAddr = connectionLocalAddr(raw);
        // The runtimes listen(2) again on the fd with a backlog of their own
        // (Node's and Bun's 511), which would undo the one asked for (or the
        // one an inherited socket's owner chose): it is put back after.
        const backlog = listenerStats(sys, listenFd).backlog;
        const fd = raw.release();
        try {
          const acceptor = adapter.serveNative(fd, sink, localAddr);
          if (listenerStats(sys, fd).backlog !== backlog) check(sys, sys.listen(fd, backlog), "listen");
          return acceptor;
        } catch (error) {
          sys.close(fd);
          throw error;
        }
      },
      () => listenerStats(sys, listenFd),
    );
  } catch (error) {
    raw.close();
    throw error;
  }
  if (inherited) inheritance?.serving(listener.fd, listener);
  return listener;
}
