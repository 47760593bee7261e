import type { Conn, NetAddr } from "../types.ts";

/** Where a driver reports what happens on its socket. */
export interface ConnEvents {
  data(chunk: Uint8Array): void;
  /** The peer half-closed (FIN). */
  end(): void;
  /** Buffered output went out; writes may continue. */
  drain(): void;
  error(error: Error): void;
  /** The socket is gone. */
  close(): void;
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
  /** Queues a chunk; false when the runtime's buffer is full (wait for drain). */
  write(chunk: Uint8Array): boolean;
  /** Sends FIN after everything written so far. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  setNoDelay(noDelay: boolean): void;
  setKeepAlive(keepAlive: boolean, initialDelayMs: number): void;
}

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
class StreamConn implements Conn {
  readonly #driver: ConnDriver;
  #closed = false;
  #failure: Error | undefined;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #inputEnded = false;
  #paused = true;
  /** Readers waiting for input (read() calls and the readable's pull can overlap). */
  #inputWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(driver: ConnDriver) {
    this.#driver = driver;
    driver.attach({
      data: (chunk) => {
        if (this.#inputEnded) return;
        this.#inbox.push(chunk);
        this.#inboxBytes += chunk.length;
        if (this.#inboxBytes >= READ_AHEAD) this.#pause();
        this.#wakeInput();
      },
      end: () => {
        this.#inputEnded = true;
        this.#wakeInput();
      },
      drain: () => this.#wakeWriters(),
      error: (error) => {
        this.#failure = error;
        this.#inputEnded = true;
        this.#wakeInput();
        this.#wakeWriters();
      },
      close: () => {
        this.#closed = true;
        this.#inputEnded = true;
        this.#wakeInput();
        this.#wakeWriters();
      },
    });
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

  #wakeInput(): void {
    for (const wake of this.#inputWaiters.splice(0)) wake();
  }

  #wakeWriters(): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /**
   * Takes the next chunk of input now: the chunk, null at the end, or
   * undefined when nothing has arrived yet (the socket is then reading).
   */
  #takeChunk(): Uint8Array | null | undefined {
    const chunk = this.#inbox.shift();
    if (chunk !== undefined) {
      this.#inboxBytes -= chunk.length;
      if (this.#inboxBytes < READ_AHEAD) this.#resume();
      return chunk;
    }
    if (this.#failure) throw this.#failure;
    if (this.#inputEnded) return null;
    this.#resume();
    return undefined;
  }

  /**
   * Calls `take` with the next chunk (or null at the end) as soon as there is
   * one: at once when input is waiting, so a busy connection costs one
   * promise per read rather than a chain of them.
   */
  #whenChunk<T>(take: (chunk: Uint8Array | null) => T): Promise<T> {
    try {
      const chunk = this.#takeChunk();
      if (chunk !== undefined) return Promise.resolve(take(chunk));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.#inputWaiters.push(() => {
        // Woken: retry, which waits again if another reader took the input first.
        this.#whenChunk(take).then(resolve, reject);
      });
    });
  }

  /**
   * Reads into `buffer`: resolves with the number of bytes read, or null once
   * the peer has half-closed. Like `Deno.Conn.read`.
   */
  read(buffer: Uint8Array): Promise<number | null> {
    return this.#whenChunk((chunk) => {
      if (chunk === null) return null;
      if (chunk.length <= buffer.length) {
        buffer.set(chunk);
        return chunk.length;
      }
      buffer.set(chunk.subarray(0, buffer.length));
      // The rest is read next.
      this.#inbox.unshift(chunk.subarray(buffer.length));
      this.#inboxBytes += chunk.length - buffer.length;
      return buffer.length;
    });
  }

  /** Writes all of `data`; resolves with its length when the runtime can take more. Like `Deno.Conn.write`. */
  write(data: Uint8Array): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ClosedConnError("the connection is closed"));
    if (this.#driver.write(data)) return Promise.resolve(data.length);
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
        pull: (controller) =>
          this.#whenChunk((chunk) => {
            if (chunk === null) controller.close();
            else controller.enqueue(chunk);
          }),
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

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Wraps a runtime socket as a Conn with Web Streams. */
export function connFromDriver(driver: ConnDriver): Conn {
  return new StreamConn(driver);
}
