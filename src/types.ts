/**
 * The public contract, shared by every runtime entry. Types only.
 */

/** Transport protocol of a socket. */
export type Transport = "tcp" | "udp";

/** Address family of a socket. */
export type Family = "IPv4" | "IPv6";

/** A bound address, shaped like `Deno.NetAddr`. */
export interface NetAddr {
  /** "tcp" or "udp": the protocol of the socket this address belongs to. */
  readonly transport: Transport;
  /** The IP address in its canonical text form ("127.0.0.1", "::1"). */
  readonly hostname: string;
  /** The port number, 0–65535. */
  readonly port: number;
}

/** Options for {@link openSocket}. */
export interface SocketOptions {
  /** "tcp" (default): a listening stream socket; "udp": a bound datagram socket. */
  readonly transport?: Transport;
  /**
   * An IPv4 or IPv6 literal, or "localhost" (which means 127.0.0.1).
   * Default "0.0.0.0". IPv6 literals may be bracketed ("[::1]") and carry a
   * numeric zone ("fe80::1%2").
   */
  readonly hostname?: string;
  /** 0–65535; 0 asks the kernel for a free port, read back in `localAddr`. */
  readonly port: number;
  /**
   * Join the address's SO_REUSEPORT group (default true). Every member must
   * set it, run as the same effective user, and bind the same address.
   */
  readonly reusePort?: boolean;
  /**
   * SO_REUSEADDR. Default true for TCP (rebinding while old connections
   * linger in TIME_WAIT, as every runtime's own listen does) and false for
   * UDP (where it would let sockets share a port without balancing).
   */
  readonly reuseAddr?: boolean;
  /** Accept-queue length for TCP (default 511; the kernel caps it at net.core.somaxconn). */
  readonly backlog?: number;
  /**
   * IPv6 sockets only: accept IPv6 alone (true) or IPv4-mapped traffic too
   * (false, the default, so "::" is dual-stack). All members of a group
   * must agree.
   */
  readonly ipv6Only?: boolean;
}

/** A listening TCP socket's accept queue, from the kernel's TCP_INFO (Linux). */
export interface SocketStats {
  /** Always "tcp": these are a TCP listener's. */
  readonly transport: "tcp";
  /** Connections that completed the handshake and wait for accept(2): `ss -lt`'s Recv-Q. */
  readonly queued: number;
  /** How many may wait: the listen(2) backlog, capped by net.core.somaxconn (`ss -lt`'s Send-Q). */
  readonly backlog: number;
}

/** A UDP socket's receive queue, from /proc/net/udp (or udp6) for the socket's inode (Linux). */
export interface DatagramSocketStats {
  /** Always "udp": these are a UDP socket's. */
  readonly transport: "udp";
  /** Bytes of datagrams waiting to be read, as the kernel counts them (with its overhead): `ss -lu`'s Recv-Q. */
  readonly queuedBytes: number;
  /** Datagrams the kernel dropped on this socket since it opened, most for a full receive buffer. */
  readonly drops: number;
}

/** A {@link Listener}'s accept queue, counting what the listener itself holds. */
export interface ListenerStats {
  /** How many may wait in the kernel: the listen(2) backlog, capped by net.core.somaxconn. */
  readonly backlog: number;
  /**
   * Connections waiting for `accept()`: the kernel's queue plus those an
   * engine took from it ahead of `accept()` calls (up to 128 for accept4
   * and epoll; the runtime's acceptor takes them all).
   */
  readonly queued: number;
  /** Connections handed out by `accept()` (or iteration) since `listen()`. */
  readonly accepted: number;
}

/** A configured, bound (and for TCP, listening) socket file descriptor. */
export interface RawSocket extends Disposable {
  /** The file descriptor; -1 once closed or released. Non-blocking and close-on-exec. */
  readonly fd: number;
  /** "tcp" (bound and listening) or "udp" (bound), as asked for in the options. */
  readonly transport: Transport;
  /** "IPv4" or "IPv6", from the hostname; an IPv6 socket on "::" is dual-stack unless `ipv6Only`. */
  readonly family: Family;
  /** The bound address, with the kernel's port when 0 was asked for. */
  readonly localAddr: NetAddr;
  /** Closes the fd. Idempotent. */
  close(): void;
  /**
   * Gives up ownership: returns the fd and stops tracking it, so `close()`
   * no longer touches it. Use it when handing the fd to a server that will
   * close it itself (`server.listen({ fd: raw.release() })`).
   */
  release(): number;
}

/** How a {@link Listener} accepts connections. */
export type Engine = "native" | "accept4" | "epoll";

/** Options for {@link listen}: a TCP {@link SocketOptions} plus the accept engine. */
export interface ListenOptions extends Omit<SocketOptions, "transport"> {
  /** Always "tcp" (the default here); a listener has no UDP form. */
  readonly transport?: "tcp";
  /**
   * Default: "epoll" where libc has epoll and accept4 (Linux), else "native".
   * "native": the runtime's own acceptor serves the fd
   * (net.Server on Node and Deno, Bun.listen on Bun).
   * "accept4": the library calls accept4(2) through FFI when the fd is
   * readable and hands each connection to the runtime; it stops accepting
   * while its queue of unaccepted connections is full, leaving them in the
   * kernel's backlog, and backs off on EMFILE/ENFILE.
   * "epoll" (Linux): accepts as "accept4" does, but keeps each connection
   * to itself: read(2) and send(2) through FFI, readiness from one
   * edge-triggered epoll set per process; no runtime socket at all, and the
   * least CPU per request of the three. `fd` is the connection's and belongs
   * to the library's epoll set; connections start with TCP_NODELAY on.
   */
  readonly engine?: Engine;
}

/** A TCP connection with Web Streams, shaped like `Deno.Conn`. */
export interface Conn extends AsyncDisposable {
  /**
   * Bytes from the peer. Pull-based: the socket is read only while the
   * stream wants more, so a slow reader pauses the peer (TCP flow control)
   * instead of buffering without bound. Ends when the peer half-closes.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Bytes to the peer. `write()` resolves when the runtime accepts more
   * (its backpressure); `close()` half-closes (sends FIN) once everything
   * written has been handed over.
   */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Reads into `buffer`: the number of bytes read, or null once the peer has
   * half-closed. Like `Deno.Conn.read`; takes from the same input as
   * `readable` and costs no stream, so it is the faster of the two.
   */
  read(buffer: Uint8Array): Promise<number | null>;
  /**
   * Writes all of `data`, resolving with its length once the runtime is done
   * with `data` (the caller may reuse the buffer) and can take more. Like
   * `Deno.Conn.write`; interleaves in call order with `writable`.
   */
  write(data: Uint8Array): Promise<number>;
  /** This end's address: the host IP the peer reached (not a wildcard) and the listener's port. */
  readonly localAddr: NetAddr;
  /** The peer's address and port; IPv4 clients of a dual-stack "::" listener appear as "::ffff:a.b.c.d". */
  readonly remoteAddr: NetAddr;
  /** The connection's fd where the runtime exposes it (undefined on Bun's native engine). */
  readonly fd: number | undefined;
  /** Half-closes: like `writable.close()`. Fails if the writable is locked to a writer. */
  closeWrite(): Promise<void>;
  /**
   * Closes both directions and releases the fd at once, like
   * `Deno.Conn.close()`: output the kernel has not taken yet and input not
   * yet read are dropped. The peer gets what the kernel took, then an
   * orderly end (FIN); if input it sent is still unread in the kernel, Linux
   * resets the connection (RST) instead, as close(2) does. Idempotent.
   */
  close(): void;
  /** TCP_NODELAY (default on: true). */
  setNoDelay(noDelay?: boolean): void;
  /** SO_KEEPALIVE with an optional initial delay in milliseconds. */
  setKeepAlive(keepAlive?: boolean, initialDelayMs?: number): void;
  /** Makes the open connection keep the process alive again (the default), as `Deno.Conn.ref()`. */
  ref(): void;
  /** Lets the process exit while this connection is open, as `Deno.Conn.unref()`; reads and writes go on. */
  unref(): void;
}

/**
 * A listening TCP socket in a reuseport group, shaped like `Deno.Listener`.
 * Iterate it (`for await (const conn of listener)`) or call `accept()`.
 */
export interface Listener extends AsyncIterable<Conn>, AsyncDisposable {
  /** The bound address, with the kernel's port when 0 was asked for. */
  readonly addr: NetAddr;
  /** The listening fd. */
  readonly fd: number;
  /** The accept engine in use: "native" (the runtime's acceptor), "accept4" (FFI) or "epoll" (FFI, no runtime socket). */
  readonly engine: Engine;
  /** The accept queue now: the kernel's and the listener's own, and what was handed out (Linux). */
  stats(): ListenerStats;
  /**
   * The next connection. After `close()` — including one that is waiting —
   * it rejects with a {@link ListenerClosedError}; a `for await` loop just ends.
   */
  accept(): Promise<Conn>;
  /**
   * Stops listening: closes the fd, ends iteration, rejects waiting
   * `accept()` calls. Connections already handed out stay open and usable;
   * ones accepted but not yet handed out are closed. Idempotent.
   */
  close(): void;
  /**
   * Stops taking connections from the kernel but keeps the ones this
   * process already accepted: `accept()` and iteration hand them out, then
   * iteration ends (and `accept()` rejects with a {@link ListenerClosedError}).
   * The listening fd is closed at once; an inherited socket is never shut
   * down, so connections still in the kernel's queue wait there for the
   * socket's other holders. Connections already handed out stay open.
   * A graceful stop: an activated worker does it on SIGTERM. `close()`
   * afterwards closes what is left. Idempotent.
   */
  drain(): void;
  /** Keeps the process alive while listening (the default). */
  ref(): void;
  /** Lets the process exit even while listening. */
  unref(): void;
}

/** A connection taken with the raw {@link accept4}. */
export interface AcceptedSocket {
  /** The connected fd; the caller owns it. */
  readonly fd: number;
  /** The peer's address and port, as accept4 reported them. */
  readonly remoteAddr: NetAddr;
}

/** Options for {@link listenDatagram}: those of {@link openSocket} for UDP, plus buffer sizes. */
export interface DatagramOptions extends Omit<SocketOptions, "transport" | "backlog"> {
  /** Always "udp" (the default here). */
  readonly transport?: "udp";
  /** SO_RCVBUF in bytes: the kernel's receive queue (it doubles the value and caps it at net.core.rmem_max). */
  readonly receiveBufferSize?: number;
  /** SO_SNDBUF in bytes (doubled and capped at net.core.wmem_max). */
  readonly sendBufferSize?: number;
  /**
   * The longest datagram received whole, 1–65535 (default 65535, the most
   * UDP can carry, so nothing is ever cut). A longer one makes receive()
   * reject with a {@link TruncatedDatagramError} in its place. Smaller
   * values save memory: each socket keeps `batchSize` buffers of this size.
   */
  readonly maxDatagramSize?: number;
  /** Datagrams moved per system call by recvmmsg/sendmmsg, 1–1024 (default 32). */
  readonly batchSize?: number;
}

/** Options for {@link DatagramSocket.receive} and {@link DatagramSocket.receiveMany}. */
export interface ReceiveOptions {
  /** Stops waiting: the call rejects with the signal's reason, and no datagram is taken. */
  readonly signal?: AbortSignal;
}

/** Options for {@link DatagramSocket.receiveMany}. */
export interface ReceiveManyOptions extends ReceiveOptions {
  /** Takes at most this many datagrams (default: every one waiting); the rest stay for the next call. */
  readonly max?: number;
}

/** A received datagram and its sender, like `Deno.DatagramConn`'s `[Uint8Array, Addr]`. */
export type Datagram = [data: Uint8Array, remoteAddr: NetAddr];

/** Where a datagram goes: an IP literal (or "localhost") and a port. */
export interface DatagramTarget {
  /** An IPv4 or IPv6 literal, or "localhost" (127.0.0.1); names are not resolved. */
  readonly hostname: string;
  /** The destination port, 1–65535. */
  readonly port: number;
}

/**
 * A UDP socket in a reuseport group, shaped like `Deno.DatagramConn`.
 * Iterate it (`for await (const [data, addr] of socket)`) or call
 * `receive()`. Datagrams are read in batches (recvmmsg on Linux) into
 * buffers allocated once; each datagram handed out is the caller's own.
 */
export interface DatagramSocket extends AsyncIterable<Datagram>, AsyncDisposable {
  /** The bound address (transport "udp"), with the kernel's port when 0 was asked for. */
  readonly addr: NetAddr;
  /** The socket's fd. */
  readonly fd: number;
  /**
   * The next datagram. Rejects with a {@link TruncatedDatagramError} in place
   * of a datagram longer than `maxDatagramSize`, and with a
   * {@link DatagramSocketClosedError} after `close()`; with the signal's
   * reason when `options.signal` aborts first.
   */
  receive(options?: ReceiveOptions): Promise<Datagram>;
  /**
   * Every datagram received so far, up to the next too-long one (waits for at
   * least one): a batch to answer with `sendMany()`. When the first waiting
   * item is a too-long datagram it rejects with a
   * {@link TruncatedDatagramError}, like `receive()`; the next call goes on
   * after it.
   */
  receiveMany(options?: ReceiveManyOptions): Promise<Datagram[]>;
  /**
   * Sends one datagram; resolves with its length once the kernel took it
   * (waiting while the socket buffer is full). IPv4 targets work from a
   * dual-stack IPv6 socket.
   */
  send(data: Uint8Array, addr: DatagramTarget): Promise<number>;
  /**
   * Sends many datagrams with as few system calls as possible (sendmmsg);
   * resolves with how many went out. Every datagram and address is checked
   * before any is sent. A datagram the kernel refuses does not stop the
   * rest: the call then rejects with a {@link SendManyError} that lists the
   * failures and counts what was sent.
   */
  sendMany(datagrams: readonly (readonly [Uint8Array, DatagramTarget])[]): Promise<number>;
  /** Closes the fd, ends iteration and rejects waiting receive() calls. Idempotent. */
  close(): void;
  /**
   * Stops receiving but keeps what was already received: `receive()` and
   * iteration hand out the datagrams read so far, then iteration ends (and
   * `receive()` rejects with a {@link DatagramSocketClosedError}). Datagrams
   * still in the kernel's queue stay there for the socket's other holders.
   * The fd stays open for `send()` (to answer what was received) until
   * `close()`, and no longer keeps the process alive. An activated worker
   * does it on SIGTERM. Idempotent.
   */
  drain(): void;
  /** Keeps the process alive while open (the default). */
  ref(): void;
  /** Lets the process exit even while open. */
  unref(): void;
}

/**
 * A socket this process inherited through socket activation (systemd's
 * protocol: `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`), as
 * {@link inheritedSockets} lists it. `openSocket()`, `listen()` and
 * `listenDatagram()` on its address adopt it instead of binding a new one.
 */
export interface InheritedSocket {
  /** The fd, from 3 up. */
  readonly fd: number;
  /** Its `LISTEN_FDNAMES` entry ("tcp-127.0.0.1-8080"), or "unknown" when none was given. */
  readonly name: string;
  /** "tcp" for a listening stream socket, "udp" for a datagram socket. */
  readonly transport: Transport;
  /** The address it is bound to, as getsockname(2) reports it. */
  readonly localAddr: NetAddr;
  /** Whether a call of this process has taken it over (it cannot be taken twice). */
  readonly adopted: boolean;
}
