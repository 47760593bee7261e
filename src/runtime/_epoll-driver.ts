import type { EpollConstants } from "../ffi/_platform.ts";
import type { Sys } from "../ffi/sys.ts";
import type { EpollSet, EpollTarget } from "../socket/_epoll.ts";
import { errnoName, socketError } from "../socket/errors.ts";
import { setIntOption } from "../socket/sockopt.ts";
import type { NetAddr } from "../types.ts";
import type { ConnDriver, ConnEvents } from "./_conn.ts";

/** A write after the connection's FIN, refused as Node refuses it. */
class WriteAfterEndError extends Error {
  readonly code = "ERR_STREAM_WRITE_AFTER_END";
  override readonly name = "WriteAfterEndError";
}

/** The most one read(2) takes; each chunk is copied out at its own size. */
const READ_BYTES = 64 * 1024;

/** One read buffer per Sys: reads happen one at a time on the JavaScript thread. */
const readBuffers = new WeakMap<Sys, Uint8Array>();

function readBuffer(sys: Sys): Uint8Array {
  let buffer = readBuffers.get(sys);
  if (buffer === undefined) {
    buffer = new Uint8Array(new ArrayBuffer(READ_BYTES));
    readBuffers.set(sys, buffer);
  }
  return buffer;
}

/**
 * A connected fd read and written through libc, no runtime socket at all:
 * the epoll engine's ConnDriver. Readiness is edge-triggered, so each side
 * works until EAGAIN and then waits for the next event. Output the kernel
 * cannot take yet stays queued here (as views of the caller's chunks, which
 * the Conn does not hand back before onDrain). The fd closes by itself once
 * both directions are over, like a runtime socket that allows half-open.
 */
export class EpollDriver implements ConnDriver, EpollTarget {
  readonly fd: number;
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly #sys: Sys;
  readonly #set: EpollSet;
  readonly #c: EpollConstants;
  readonly #buffer: Uint8Array;
  #events: ConnEvents | undefined;
  /** The Conn wants input. */
  #reading = false;
  /** No EAGAIN since the last input event: there may be more to read. */
  #readable = true;
  /** The peer's FIN has been signalled: read until read(2) returns 0, however short the reads. */
  #peerClosing = false;
  #readEnded = false;
  #pending: Uint8Array[] = [];
  #endRequested = false;
  #writeEnded = false;
  #closed = false;
  #resumeQueued = false;

  /** TCP_NODELAY as the socket has it (inherited from the listener), so setting it again costs nothing. */
  #noDelay: boolean;

  constructor(sys: Sys, set: EpollSet, fd: number, localAddr: NetAddr, remoteAddr: NetAddr, noDelay: boolean) {
    this.#sys = sys;
    this.#set = set;
    this.#c = set.constants;
    this.#buffer = readBuffer(sys);
    this.fd = fd;
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
    this.#noDelay = noDelay;
    set.add(fd, this);
  }

  attach(events: ConnEvents): void {
    this.#events = events;
  }

  pause(): void {
    this.#reading = false;
  }

  resume(): void {
    if (this.#reading) return;
    this.#reading = true;
    // Not now: resume() runs inside the Conn's read(), which must queue its reader before input arrives.
    if (this.#readable && !this.#resumeQueued) {
      this.#resumeQueued = true;
      queueMicrotask(() => {
        this.#resumeQueued = false;
        this.#readNow();
      });
    }
  }

  /** @internal An epoll event for this fd. */
  onEvents(events: number): void {
    const c = this.#c;
    if (events & (c.EPOLLIN | c.EPOLLRDHUP | c.EPOLLHUP | c.EPOLLERR)) {
      this.#readable = true;
      if (events & (c.EPOLLRDHUP | c.EPOLLHUP | c.EPOLLERR)) this.#peerClosing = true;
      this.#readNow();
    }
    if (events & (c.EPOLLOUT | c.EPOLLHUP | c.EPOLLERR) && !this.#closed) this.#flush();
  }

  #readNow(): void {
    const sys = this.#sys;
    const buffer = this.#buffer;
    while (this.#reading && this.#readable && !this.#readEnded && !this.#closed) {
      const n = sys.read(this.fd, buffer, READ_BYTES);
      if (n > 0) {
        // A short read emptied the socket; new input raises a new edge, except the FIN already signalled.
        if (n < READ_BYTES && !this.#peerClosing) this.#readable = false;
        this.#events?.onData(buffer.slice(0, n));
      } else if (n === 0) {
        this.#readEnded = true;
        this.#events?.onEnd();
        this.#closeIfDone();
      } else {
        const code = errnoName(sys, -n);
        if (code === "EINTR") continue;
        if (code === "EAGAIN" || code === "EWOULDBLOCK") this.#readable = false;
        else this.#fail(n, "read");
      }
    }
  }

  /**
   * Sends as much of `chunk` as the kernel takes: what is left (a view), or
   * null when all of it went or the connection failed.
   */
  #send(chunk: Uint8Array): Uint8Array | null {
    const sys = this.#sys;
    for (let offset = 0; offset < chunk.length; ) {
      const rest = offset === 0 ? chunk : chunk.subarray(offset);
      const n = sys.sendto(this.fd, rest, rest.length, this.#c.MSG_NOSIGNAL, null, 0);
      if (n >= 0) {
        offset += n;
        continue;
      }
      const code = errnoName(sys, -n);
      if (code === "EINTR") continue;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") return rest;
      this.#fail(n, "send");
      return null;
    }
    return null;
  }

  write(chunk: Uint8Array): boolean {
    if (this.#writeEnded || this.#endRequested) throw new WriteAfterEndError("write after closeWrite()");
    if (this.#closed) return true;
    if (this.#pending.length > 0) {
      this.#pending.push(chunk);
      return false;
    }
    const rest = this.#send(chunk);
    if (rest === null) return true;
    this.#pending.push(rest);
    return false;
  }

  #flush(): void {
    if (this.#pending.length === 0 && !this.#endRequested) return;
    while (this.#pending.length > 0) {
      const rest = this.#send(this.#pending[0] as Uint8Array);
      if (this.#closed) return;
      if (rest !== null) {
        this.#pending[0] = rest;
        return;
      }
      this.#pending.shift();
    }
    if (this.#endRequested) {
      this.#endRequested = false;
      this.#shutdownWrite();
    }
    this.#events?.onDrain();
  }

  end(): void {
    if (this.#closed || this.#writeEnded || this.#endRequested) return;
    if (this.#pending.length > 0) this.#endRequested = true;
    else this.#shutdownWrite();
  }

  #shutdownWrite(): void {
    this.#writeEnded = true;
    this.#sys.shutdown(this.fd, this.#sys.platform.constants.SHUT_WR);
    this.#closeIfDone();
  }

  #closeIfDone(): void {
    if (this.#readEnded && this.#writeEnded) this.destroy();
  }

  #fail(result: number, syscall: string): void {
    if (this.#closed) return;
    const { hostname: address, port } = this.remoteAddr;
    this.#events?.onError(socketError(this.#sys, result, syscall, { address, port }));
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#set.closing(this.fd);
    this.#sys.close(this.fd);
    this.#events?.onClose();
  }

  setNoDelay(noDelay: boolean): void {
    if (this.#closed || noDelay === this.#noDelay) return;
    const c = this.#sys.platform.constants;
    setIntOption(this.#sys, this.fd, c.IPPROTO_TCP, c.TCP_NODELAY, noDelay ? 1 : 0);
    this.#noDelay = noDelay;
  }

  ref(): void {
    if (!this.#closed) this.#set.setReferenced(this.fd, true);
  }

  unref(): void {
    if (!this.#closed) this.#set.setReferenced(this.fd, false);
  }

  setKeepAlive(keepAlive: boolean, initialDelayMs: number): void {
    if (this.#closed) return;
    const sys = this.#sys;
    const c = sys.platform.constants;
    setIntOption(sys, this.fd, c.SOL_SOCKET, this.#c.SO_KEEPALIVE, keepAlive ? 1 : 0);
    // The kernel counts in whole seconds; Node rounds the same way.
    if (keepAlive && initialDelayMs > 0) {
      setIntOption(sys, this.fd, c.IPPROTO_TCP, this.#c.TCP_KEEPIDLE, Math.max(1, Math.floor(initialDelayMs / 1000)));
    }
  }
}
