import type { Conn, NetAddr } from "../types.ts";

/**
 * Where a driver reports what happens on its socket. The Conn itself is the
 * receiver, so a connection costs no closures for its events.
 */
export interface ConnEvents {
  onData(chunk: Uint8Array): void;
  /** The peer half-closed (FIN). */
  onEnd(): void;
  /** Buffered output went out; writes may continue. */
  onDrain(): void;
  onError(error: Error): void;
  /** The socket is gone. */
  onClose(): void;
}

/**
 * One runtime's socket, reduced to what a Conn needs. A driver starts
 * paused: nothing is read until `resume()`.
 */
export interface ConnDriver {
  readonly localAddr: NetAddr;
  readonly remoteAddr: NetAddr;
  readonly fd: number | undefined;
  /** Connects the driver's events; called once, before anything else. */
  attach(events: ConnEvents): void;
  pause(): void;
  resume(): void;
  /**
   * Sends a chunk. True when the runtime is done with it (the caller may
   * reuse its memory) and takes more; false when it still holds the chunk or
   * is full: onDrain follows once both are over.
   */
  write(chunk: Uint8Array): boolean;
  /** Sends FIN after everything written so far. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  setNoDelay(noDelay: boolean): void;
  setKeepAlive(keepAlive: boolean, initialDelayMs: number): void;
  /** Keeps the process alive while the socket is open (the default). */
  ref(): void;
  /** Lets the process exit while the socket is open. */
  unref(): void;
}

/** A read waiting for input: given the next chunk, null at the end, or the failure. */
type Reader = (next: Uint8Array | null | Error) => void;

/** Bytes read ahead of the reader before the socket is paused. */
const READ_AHEAD = 64 * 1024;

class ClosedConnError extends Error {
  readonly code = "ERR_SOCKET_CLOSED";
  override readonly name = "ClosedConnError";
}

/**
 * A Conn over a driver. Input collects in a small inbox that both `read()`
 * and `readable` take from; output goes straight to the driver from both
 * `write()` and `writable`. The streams are built on first use, so a
 * program that uses `read()`/`write()` pays for no stream at all.
 */
class StreamConn implements Conn, ConnEvents {
  readonly #driver: ConnDriver;
  #closed = false;
  #failure: Error | undefined;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #inputEnded = false;
  #paused = true;
  /** Reads waiting for input, oldest first (read() calls and the readable's pull can overlap). */
  #readers: Reader[] = [];
  #drainWaiters: (() => void)[] = [];
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(driver: ConnDriver) {
    this.#driver = driver;
    driver.attach(this);
  }

  /** @internal Driver event. */
  onData(chunk: Uint8Array): void {
    if (this.#inputEnded) return;
    // A waiting reader takes the chunk straight away: the inbox is empty whenever one waits.
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader(chunk);
      this.#feedReaders();
      return;
    }
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.length;
    if (this.#inboxBytes >= READ_AHEAD) this.#pause();
  }

  /** @internal Driver event. */
  onEnd(): void {
    this.#inputEnded = true;
    this.#settleReaders(null);
  }

  /** @internal Driver event. */
  onDrain(): void {
    this.#wakeWriters();
  }

  /** @internal Driver event. */
  onError(error: Error): void {
    this.#failure = error;
    this.#inputEnded = true;
    this.#settleReaders(error);
    this.#wakeWriters();
  }

  /** @internal Driver event. */
  onClose(): void {
    this.#closed = true;
    this.#inputEnded = true;
    this.#settleReaders(null);
    this.#wakeWriters();
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#driver.pause();
  }

  #resume(): void {
    if (!this.#paused || this.#inputEnded) return;
    this.#paused = false;
    this.#driver.resume();
  }

  /** A reader that took only part of a chunk left the rest in the inbox: the next waiting reader gets it. */
  #feedReaders(): void {
    while (this.#inbox.length > 0 && this.#readers.length > 0) {
      (this.#readers.shift() as Reader)(this.#takeChunk() as Uint8Array);
    }
  }

  /** Input is over: every waiting reader gets the end (null) or the failure. */
  #settleReaders(outcome: null | Error): void {
    const readers = this.#readers;
    if (readers.length === 0) return;
    this.#readers = [];
    for (const reader of readers) reader(outcome);
  }

  #wakeWriters(): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Takes the next chunk of input now: the chunk, null at the end, or
   * undefined when nothing has arrived yet (the socket is then reading).
   */
  #takeChunk(): Uint8Array | null | undefined {
    if (this.#inbox.length > 0) {
      const chunk = this.#inbox.shift() as Uint8Array;
      this.#inboxBytes -= chunk.length;
      if (this.#inboxBytes < READ_AHEAD) this.#resume();
      return chunk;
    }
    if (this.#failure) throw this.#failure;
    if (this.#inputEnded) return null;
    this.#resume();
    return undefined;
  }

  /** Copies a chunk into `buffer`; what does not fit is read next. */
  #copyOut(chunk: Uint8Array | null, buffer: Uint8Array): number | null {
    if (chunk === null) return null;
    if (chunk.length <= buffer.length) {
      buffer.set(chunk);
      return chunk.length;
    }
    buffer.set(chunk.subarray(0, buffer.length));
    this.#inbox.unshift(chunk.subarray(buffer.length));
    this.#inboxBytes += chunk.length - buffer.length;
    if (this.#inboxBytes >= READ_AHEAD) this.#pause();
    return buffer.length;
  }

  /**
   * Reads into `buffer`: resolves with the number of bytes read, or null once
   * the peer has half-closed. Like `Deno.Conn.read`. Input already waiting
   * costs one settled promise; otherwise the next chunk goes straight from the
   * runtime's callback to this read.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    let chunk: Uint8Array | null | undefined;
    try {
      chunk = this.#takeChunk();
    } catch (error) {
      return Promise.reject(error);
    }
    if (chunk !== undefined) return Promise.resolve(this.#copyOut(chunk, buffer));
    return new Promise<number | null>((resolve, reject) => {
      this.#readers.push((next) => {
        if (next instanceof Error) reject(next);
        else resolve(this.#copyOut(next, buffer));
      });
    });
  }

  /** Writes all of `data`; resolves with its length once the driver is done with it and can take more. Like `Deno.Conn.write`. */
  write(data: Uint8Array): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ClosedConnError("the connection is closed"));
    let done: boolean;
    try {
      done = this.#driver.write(data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (done) return Promise.resolve(data.length);
    return new Promise<number>((resolve, reject) => {
      this.#drainWaiters.push(() => {
        if (this.#failure) reject(this.#failure);
        else resolve(data.length);
      });
    });
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          const deliver = (chunk: Uint8Array | null): void => {
            if (chunk === null) controller.close();
            else controller.enqueue(chunk);
          };
          const chunk = this.#takeChunk();
          if (chunk !== undefined) {
            deliver(chunk);
            return;
          }
          return new Promise<void>((resolve, reject) => {
            this.#readers.push((next) => {
              if (next instanceof Error) reject(next);
              else resolve(deliver(next));
            });
          });
        },
        cancel: () => {
          this.#inputEnded = true;
          this.#pause();
        },
      },
      // The inbox is the buffer: the stream pulls only when its reader asks.
      { highWaterMark: 0 },
    );
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>(
      {
        write: async (chunk) => {
          await this.write(chunk);
        },
        close: () => {
          if (!this.#closed) this.#driver.end();
        },
        abort: () => this.close(),
      },
      { highWaterMark: 1 },
    );
    return this.#writable;
  }

  get localAddr(): NetAddr {
    return this.#driver.localAddr;
  }

  get remoteAddr(): NetAddr {
    return this.#driver.remoteAddr;
  }

  get fd(): number | undefined {
    return this.#driver.fd;
  }

  async closeWrite(): Promise<void> {
    const writable = this.#writable;
    if (writable === undefined) {
      // No stream holds queued chunks: the driver sends FIN after what it has.
      if (this.#failure) throw this.#failure;
      if (!this.#closed) this.#driver.end();
      return;
    }
    if (writable.locked) throw new TypeError("closeWrite(): the writable is locked; close its writer instead");
    await writable.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#driver.destroy();
  }

  setNoDelay(noDelay = true): void {
    this.#driver.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive = true, initialDelayMs = 0): void {
    this.#driver.setKeepAlive(keepAlive, initialDelayMs);
  }

  ref(): void {
    if (!this.#closed) this.#driver.ref();
  }

  unref(): void {
    if (!this.#closed) this.#driver.unref();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Wraps a runtime socket as a Conn with Web Streams. */
export function connFromDriver(driver: ConnDriver): Conn {
  return new StreamConn(driver);
}
