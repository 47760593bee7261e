import type { Inheritance } from "../activation/inherited.ts";
import type { FdWatch, WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import { formatIp, type IpAddress, parseHost } from "../socket/_ip.ts";
import { MessageBatch, type ReceivedMessage } from "../socket/_messages.ts";
import { scratch } from "../socket/_scratch.ts";
import { encodeSockaddr, type SocketAddress } from "../socket/_sockaddr.ts";
import {
  DatagramSocketClosedError,
  errnoName,
  type SendFailure,
  SendManyError,
  SocketError,
  socketError,
  TruncatedDatagramError,
} from "../socket/errors.ts";
import { isInherited, openSocket } from "../socket/open.ts";
import { setIntOption } from "../socket/sockopt.ts";
import type {
  Datagram,
  DatagramOptions,
  DatagramSocket,
  NetAddr,
  RawSocket,
  ReceiveManyOptions,
  ReceiveOptions,
} from "../types.ts";
import type { RuntimeAdapter } from "./_adapter.ts";
import { iterateUntilClosed } from "./_iterate.ts";

/** The largest UDP payload there is (IPv6's 65,535 − 8; IPv4's is 65,507). */
const MAX_DATAGRAM = 65_535;
const DEFAULT_BATCH = 32;
/** Received datagrams held for receive() calls before the socket stops reading (the kernel queue takes over). */
const MAX_QUEUED = 1024;
/** Waits after a send found the socket buffer full: from 1 ms, doubling to 100 ms. */
const SEND_RETRY_MS = 1;
const SEND_RETRY_MAX_MS = 100;
/** Parsed destination hostnames kept per socket (then the cache starts over). */
const HOST_CACHE = 4096;

const datagramKeys = ["receiveBufferSize", "sendBufferSize", "maxDatagramSize", "batchSize"] as const;

function positiveInteger(
  options: DatagramOptions,
  key: (typeof datagramKeys)[number],
  max: number,
): number | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`options.${key} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`options.${key} must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** An item of the receive queue: a datagram, or a failure to report in its place. */
type Received = Datagram | Error;

interface Waiter {
  resolve(items: Received[]): void;
  reject(error: Error): void;
  /** How many datagrams it takes at most: 1 for receive(), up to `max` for receiveMany(). */
  readonly max: number;
}

/** A send that found the socket buffer full and waits for room. */
interface PendingSend {
  /** Tries again: true when the send is over (settled), false while it must still wait. */
  attempt(): boolean;
  /** The socket closed first. */
  abandon(error: Error): void;
}

/** What a send's result means: sent, wait for buffer room and retry, or failed for good. */
type SendOutcome = "sent" | "wait" | "failed";

class BatchedDatagramSocket implements DatagramSocket {
  readonly addr: NetAddr;
  readonly #sys: Sys;
  readonly #raw: RawSocket;
  readonly #family: 4 | 6;
  readonly #receiving: MessageBatch;
  #sending: MessageBatch | undefined;
  readonly #batchSize: number;
  readonly #maxDatagramSize: number;
  readonly #watch: FdWatch;
  readonly #unrefTimer: RuntimeAdapter["unrefTimer"];
  #queue: Received[] = [];
  #waiters: Waiter[] = [];
  #watching = true;
  #referenced = true;
  #closed = false;
  /** drain(): no more receiving; the queue is still handed out and sends still go. */
  #draining = false;
  /** Sends waiting for room in the socket buffer, in order. */
  #sendQueue: PendingSend[] = [];
  #sendTimer: ReturnType<typeof setTimeout> | undefined;
  #sendDelay = SEND_RETRY_MS;
  readonly #watchReady: WatchReadable;
  /** Started while sends wait on a full send buffer (EAGAIN): wakes them when the kernel has room. */
  #roomWatch: FdWatch | undefined;
  /** Why the last send had to wait (an errno name). */
  #waitCode = "";
  /** Datagram sends that went out, counted to tell a wake-up that made progress from one that did not. */
  #sendsDone = 0;
  readonly #hosts = new Map<string, IpAddress>();

  constructor(sys: Sys, adapter: RuntimeAdapter, raw: RawSocket, maxDatagramSize: number, batchSize: number) {
    this.#sys = sys;
    this.#raw = raw;
    this.addr = raw.localAddr;
    this.#family = raw.family === "IPv4" ? 4 : 6;
    this.#maxDatagramSize = maxDatagramSize;
    // Without recvmmsg, datagrams come one at a time through slot 0.
    this.#batchSize = sys.recvmmsg === undefined || sys.platform.layouts.mmsghdr === undefined ? 1 : batchSize;
    this.#receiving = new MessageBatch(sys, this.#batchSize, maxDatagramSize);
    this.#unrefTimer = adapter.unrefTimer;
    this.#watchReady = adapter.watchReadable(sys);
    this.#watch = this.#watchReady(raw.fd, () => this.#drain());
  }

  get fd(): number {
    return this.#raw.fd;
  }

  /** Reads everything waiting (up to the queue's limit), a batch per system call. */
  #drain(): void {
    while (!this.#closed && !this.#draining && this.#queue.length < MAX_QUEUED) {
      const messages = this.#receiveBatch();
      if (messages === undefined) break;
      for (const message of messages) this.#queue.push(this.#toItem(message));
      if (messages.length < this.#batchSize) break;
    }
    this.#serveWaiters();
    this.#updateWatch();
  }

  /** One recvmmsg (or recvfrom): the datagrams read, or undefined when none are waiting. */
  #receiveBatch(): ReceivedMessage[] | undefined {
    const sys = this.#sys;
    const batch = this.#receiving;
    for (;;) {
      let result: number;
      if (sys.recvmmsg !== undefined && this.#batchSize > 1) {
        batch.prepareReceive(this.#batchSize);
        result = sys.recvmmsg(this.#raw.fd, batch.vector, this.#batchSize, sys.platform.constants.MSG_TRUNC, null);
        if (result > 0) return batch.takeReceived(result);
      } else {
        const { data, name, nameLength } = batch.single();
        new DataView(nameLength.buffer, nameLength.byteOffset, 4).setUint32(0, name.length, true);
        result = sys.recvfrom(this.#raw.fd, data, data.length, sys.platform.constants.MSG_TRUNC, name, nameLength);
        // With MSG_TRUNC, Linux returns the real length; elsewhere a full buffer may hide a longer datagram.
        if (result >= 0) return [batch.takeSingle(result, result > data.length ? result : undefined)];
      }
      if (result === 0) return [];
      const code = errnoName(sys, -result);
      if (code === "EINTR") continue;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") return undefined;
      // ENOMEM and the like: report it in the datagram's place and wait for the next wake-up.
      this.#queue.push(socketError(sys, result, batch.count > 1 ? "recvmmsg" : "recvfrom", this.#where()));
      return undefined;
    }
  }

  #toItem(message: ReceivedMessage): Received {
    const from: NetAddr = { transport: "udp", hostname: message.hostname, port: message.port };
    if (message.truncatedFrom !== undefined) {
      return new TruncatedDatagramError(message.data, message.truncatedFrom, this.#maxDatagramSize, from);
    }
    return [message.data, from];
  }

  #where(): { address: string; port: number } {
    return { address: this.addr.hostname, port: this.addr.port };
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      const waiter = this.#waiters.shift() as Waiter;
      waiter.resolve(this.#take(waiter.max));
    }
  }

  /** Takes one item, or for receiveMany every datagram up to the next failure. */
  #take(max: number): Received[] {
    const queue = this.#queue;
    if (max === 1 || queue[0] instanceof Error) return [queue.shift() as Received];
    let end = 0;
    while (end < queue.length && end < max && !(queue[end] instanceof Error)) end++;
    return queue.splice(0, end);
  }

  /** Reads while there is room in the queue; stops at the limit so the kernel's own queue holds the rest. */
  #updateWatch(): void {
    if (this.#closed || this.#draining) return;
    const wanted = this.#queue.length < MAX_QUEUED;
    if (wanted === this.#watching) return;
    this.#watching = wanted;
    if (wanted) this.#watch.start();
    else this.#watch.stop();
  }

  #next(max: number, signal: AbortSignal | undefined): Promise<Received[]> {
    if (this.#queue.length > 0) {
      const items = this.#take(max);
      this.#updateWatch();
      return Promise.resolve(items);
    }
    if (this.#closed || this.#draining) return Promise.reject(new DatagramSocketClosedError(this.addr));
    if (signal === undefined)
      return new Promise<Received[]>((resolve, reject) => this.#waiters.push({ resolve, reject, max }));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<Received[]>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (items) => {
          signal.removeEventListener("abort", onAbort);
          resolve(items);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
        max,
      };
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at !== -1) this.#waiters.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async receive(options?: ReceiveOptions): Promise<Datagram> {
    const [item] = await this.#next(1, options?.signal);
    if (item instanceof Error) throw item;
    return item as Datagram;
  }

  async receiveMany(options?: ReceiveManyOptions): Promise<Datagram[]> {
    const max = options?.max ?? Number.POSITIVE_INFINITY;
    if (max !== Number.POSITIVE_INFINITY && (!Number.isInteger(max) || max < 1)) {
      throw new RangeError(`options.max must be a positive integer, got ${String(max)}`);
    }
    const items = await this.#next(max, options?.signal);
    if (items[0] instanceof Error) throw items[0];
    return items as Datagram[];
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Datagram, undefined> {
    return iterateUntilClosed(
      () => this.receive(),
      (error) => error instanceof DatagramSocketClosedError,
    );
  }

  /** Where a datagram goes, as this socket's family writes it (IPv4 through a dual-stack socket as ::ffff:a.b.c.d). */
  #destination(addr: { hostname: string; port: number }): SocketAddress {
    if (typeof addr !== "object" || addr === null) throw new TypeError("addr must be { hostname, port }");
    const { hostname, port } = addr;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`addr.port must be an integer from 1 to 65535, got ${String(port)}`);
    }
    if (typeof hostname !== "string")
      throw new TypeError(`addr.hostname must be an IP literal, got ${String(hostname)}`);
    const ip = this.#hostAddress(hostname);
    return { family: ip.family, bytes: ip.bytes, scopeId: ip.scopeId, port };
  }

  /**
   * The parsed address of a hostname, from a small cache: a server answers
   * the same clients again and again, and parsing text per datagram cost
   * more than sending it.
   */
  #hostAddress(hostname: string): IpAddress {
    const cached = this.#hosts.get(hostname);
    if (cached !== undefined) return cached;
    const ip = parseHost(hostname);
    if (ip === undefined) throw new TypeError(`addr.hostname must be an IP literal, got ${hostname}`);
    const mapped = toFamily(ip, this.#family);
    if (mapped === undefined) {
      throw new TypeError(`cannot send to ${formatIp(ip)} from an IPv4 socket (${this.addr.hostname})`);
    }
    if (this.#hosts.size >= HOST_CACHE) this.#hosts.clear();
    this.#hosts.set(hostname, mapped);
    return mapped;
  }

  #checkData(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
    if (data.length > MAX_DATAGRAM) {
      throw new RangeError(`a datagram holds at most ${MAX_DATAGRAM} bytes, got ${data.length}`);
    }
  }

  send(data: Uint8Array, addr: { hostname: string; port: number }): Promise<number> {
    try {
      if (this.#closed) throw new DatagramSocketClosedError(this.addr);
      this.#checkData(data);
      const to = this.#destination(addr);
      return new Promise<number>((resolve, reject) => {
        this.#enqueueSend({
          attempt: () => {
            const name = encodeSockaddr(this.#sys.platform, to, scratch(this.#sys).sockaddr.bytes);
            const result = this.#sys.sendto(this.#raw.fd, data, data.length, 0, name, name.length);
            const outcome = this.#sendOutcome(result);
            if (outcome === "sent") resolve(result);
            else if (outcome === "failed") reject(this.#sendError(result, "sendto", to));
            return outcome !== "wait";
          },
          abandon: reject,
        });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sendMany(datagrams: readonly (readonly [Uint8Array, { hostname: string; port: number }])[]): Promise<number> {
    try {
      if (this.#closed) throw new DatagramSocketClosedError(this.addr);
      if (!Array.isArray(datagrams)) throw new TypeError("datagrams must be an array of [data, addr]");
      // Every datagram is checked before any is sent.
      const prepared = datagrams.map(([data, addr]) => {
        this.#checkData(data);
        return [data, this.#destination(addr)] as const;
      });
      if (prepared.length === 0) return Promise.resolve(0);
      if (this.#sys.sendmmsg === undefined || this.#sys.platform.layouts.mmsghdr === undefined) {
        return this.#sendEach(prepared);
      }
      return new Promise<number>((resolve, reject) => {
        const failures: SendFailure[] = [];
        let next = 0;
        this.#enqueueSend({
          attempt: () => {
            while (next < prepared.length) {
              const result = this.#sendBatch(prepared, next);
              const outcome = result === 0 ? "wait" : this.#sendOutcome(result);
              if (outcome === "wait") return false;
              if (outcome === "sent") {
                next += result;
                continue;
              }
              // The first datagram of the batch failed for good: report it and go on with the rest.
              failures.push({ index: next, error: this.#sendError(result, "sendmmsg", prepared[next]?.[1]) });
              next++;
            }
            const sent = prepared.length - failures.length;
            if (failures.length === 0) resolve(sent);
            else reject(new SendManyError(sent, failures));
            return true;
          },
          abandon: reject,
        });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** sendMany without sendmmsg: one send() each, failures collected the same way. */
  async #sendEach(prepared: readonly (readonly [Uint8Array, SocketAddress])[]): Promise<number> {
    const results = await Promise.allSettled(prepared.map(([data, to]) => this.send(data, toNetAddr(to))));
    const failures: SendFailure[] = [];
    results.forEach((result, index) => {
      if (result.status === "rejected") {
        if (!(result.reason instanceof SocketError)) throw result.reason;
        failures.push({ index, error: result.reason });
      }
    });
    if (failures.length > 0) throw new SendManyError(prepared.length - failures.length, failures);
    return prepared.length;
  }

  /** One sendmmsg for up to a batch of datagrams from `from` on; larger ones go alone through sendto. */
  #sendBatch(prepared: readonly (readonly [Uint8Array, SocketAddress])[], from: number): number {
    const sys = this.#sys;
    const first = prepared[from] as readonly [Uint8Array, SocketAddress];
    this.#sending ??= new MessageBatch(sys, this.#batchSize, this.#maxDatagramSize);
    const batch = this.#sending;
    if (first[0].length > batch.slotSize) {
      const name = encodeSockaddr(sys.platform, first[1], scratch(sys).sockaddr.bytes);
      const result = sys.sendto(this.#raw.fd, first[0], first[0].length, 0, name, name.length);
      return result < 0 ? result : 1;
    }
    let n = 0;
    while (n < batch.count && from + n < prepared.length) {
      const [data, to] = prepared[from + n] as readonly [Uint8Array, SocketAddress];
      if (data.length > batch.slotSize) break;
      batch.setOutgoing(n, data, to);
      n++;
    }
    return (sys.sendmmsg as NonNullable<Sys["sendmmsg"]>)(this.#raw.fd, batch.vector, n, 0);
  }

  /** EAGAIN and ENOBUFS mean the buffer is full (and EINTR, interrupted): try again later. */
  #sendOutcome(result: number): SendOutcome {
    if (result >= 0) {
      this.#sendsDone++;
      return "sent";
    }
    const code = errnoName(this.#sys, -result);
    if (code === "EAGAIN" || code === "EWOULDBLOCK" || code === "ENOBUFS" || code === "EINTR") {
      this.#waitCode = code;
      return "wait";
    }
    return "failed";
  }

  #sendError(result: number, syscall: string, to: SocketAddress | undefined): SocketError {
    return socketError(this.#sys, result, syscall, to === undefined ? {} : { address: formatIp(to), port: to.port });
  }

  /** Runs a send now, or after the ones already waiting for buffer room. */
  #enqueueSend(pending: PendingSend): void {
    if (this.#sendQueue.length === 0 && pending.attempt()) return;
    this.#sendQueue.push(pending);
    this.#scheduleSendRetry();
  }

  /**
   * Waits for room: a full send buffer (EAGAIN) on the socket's own
   * writability, so sends resume as soon as the kernel frees space; anything
   * else (ENOBUFS from a full device queue, which POLLOUT does not reflect,
   * or EINTR) on a timer that backs off from 1 to 100 ms.
   */
  #scheduleSendRetry(): void {
    if (this.#waitCode === "EAGAIN" || this.#waitCode === "EWOULDBLOCK") {
      if (this.#roomWatch === undefined) {
        this.#roomWatch = this.#watchReady(this.#raw.fd, () => this.#onRoom(), "writable");
        if (!this.#referenced) this.#roomWatch.unref();
      } else {
        this.#roomWatch.start();
      }
      return;
    }
    this.#scheduleSendTimer();
  }

  /** The socket is writable: sends go in order until one must wait again. */
  #onRoom(): void {
    const before = this.#sendsDone;
    while (this.#sendQueue.length > 0 && !this.#closed) {
      if (!(this.#sendQueue[0] as PendingSend).attempt()) break;
      this.#sendQueue.shift();
    }
    if (this.#sendQueue.length === 0 || this.#closed) {
      this.#roomWatch?.stop();
      return;
    }
    // Writable yet nothing went out (ENOBUFS, or EAGAIN despite POLLOUT): the
    // level-triggered watch would call again at once, so wait on the timer instead.
    if (this.#sendsDone === before || (this.#waitCode !== "EAGAIN" && this.#waitCode !== "EWOULDBLOCK")) {
      this.#roomWatch?.stop();
      this.#scheduleSendTimer();
    }
  }

  #scheduleSendTimer(): void {
    if (this.#sendTimer !== undefined) return;
    this.#sendTimer = setTimeout(() => {
      this.#sendTimer = undefined;
      while (this.#sendQueue.length > 0 && !this.#closed) {
        if (!(this.#sendQueue[0] as PendingSend).attempt()) {
          this.#sendDelay = Math.min(this.#sendDelay * 2, SEND_RETRY_MAX_MS);
          this.#scheduleSendRetry();
          return;
        }
        this.#sendQueue.shift();
      }
      this.#sendDelay = SEND_RETRY_MS;
    }, this.#sendDelay);
    if (!this.#referenced) this.#unrefTimer(this.#sendTimer);
  }

  drain(): void {
    if (this.#closed || this.#draining) return;
    this.#draining = true;
    this.#watch.close();
    // Waiters exist only while the queue is empty: nothing is left for them.
    const error = new DatagramSocketClosedError(this.addr);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#draining) this.#watch.close();
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer);
    this.#roomWatch?.close();
    this.#raw.close();
    const error = new DatagramSocketClosedError(this.addr);
    // Sends still waiting for buffer room will never go out: they fail, as do waiting receives.
    for (const pending of this.#sendQueue.splice(0)) pending.abandon(error);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  ref(): void {
    this.#referenced = true;
    if (!this.#closed && !this.#draining) this.#watch.ref();
    if (!this.#closed) this.#roomWatch?.ref();
  }

  unref(): void {
    this.#referenced = false;
    if (!this.#closed && !this.#draining) this.#watch.unref();
    if (!this.#closed) this.#roomWatch?.unref();
    if (this.#sendTimer !== undefined) this.#unrefTimer(this.#sendTimer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** An address as a socket of `family` sends to it, or undefined when it cannot. */
function toFamily(ip: IpAddress, family: 4 | 6): IpAddress | undefined {
  if (ip.family === family) return ip;
  if (family === 6) {
    const bytes = new Uint8Array(16);
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(ip.bytes, 12);
    return { family: 6, bytes, scopeId: 0 };
  }
  const mapped = ip.bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  return mapped ? { family: 4, bytes: ip.bytes.slice(12), scopeId: 0 } : undefined;
}

function toNetAddr(address: SocketAddress): NetAddr {
  return { transport: "udp", hostname: formatIp(address), port: address.port };
}

/** Opens a UDP socket in the group (or adopts the inherited one on its address) and starts receiving. */
export function listenDatagram(
  sys: Sys,
  adapter: RuntimeAdapter,
  options: DatagramOptions,
  inheritance?: Inheritance,
): DatagramSocket {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const socketOptions: Record<string, unknown> = { ...options };
  for (const key of datagramKeys) delete socketOptions[key];
  if (socketOptions.transport !== undefined && socketOptions.transport !== "udp") {
    throw new TypeError('listenDatagram() is for UDP; use listen() for "tcp"');
  }
  const receiveBuffer = positiveInteger(options, "receiveBufferSize", 0x7fffffff);
  const sendBuffer = positiveInteger(options, "sendBufferSize", 0x7fffffff);
  const maxSize = positiveInteger(options, "maxDatagramSize", MAX_DATAGRAM) ?? MAX_DATAGRAM;
  const batch = positiveInteger(options, "batchSize", 1024) ?? DEFAULT_BATCH;
  const raw = openSocket(
    sys,
    { ...(socketOptions as Omit<DatagramOptions, (typeof datagramKeys)[number]>), transport: "udp" },
    inheritance,
  );
  let socket: BatchedDatagramSocket;
  try {
    const c = sys.platform.constants;
    const where = { address: raw.localAddr.hostname, port: raw.localAddr.port };
    if (receiveBuffer !== undefined) setIntOption(sys, raw.fd, c.SOL_SOCKET, c.SO_RCVBUF, receiveBuffer, where);
    if (sendBuffer !== undefined) setIntOption(sys, raw.fd, c.SOL_SOCKET, c.SO_SNDBUF, sendBuffer, where);
    socket = new BatchedDatagramSocket(sys, adapter, raw, maxSize, batch);
  } catch (error) {
    raw.close();
    throw error;
  }
  if (isInherited(raw)) inheritance?.serving(socket.fd, socket);
  return socket;
}
