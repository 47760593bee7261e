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

class StreamConn implements Conn {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #driver: ConnDriver;
  #closed = false;
  #drained: (() => void) | undefined;
  #failure: Error | undefined;

  constructor(driver: ConnDriver) {
    this.#driver = driver;
    let readController!: ReadableStreamDefaultController<Uint8Array>;
    let readDone = false;
    const finishRead = (error?: Error): void => {
      if (readDone) return;
      readDone = true;
      if (error) readController.error(error);
      else readController.close();
    };
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          readController = controller;
        },
        pull: () => driver.resume(),
        cancel: () => {
          readDone = true;
          driver.pause();
        },
      },
      // Up to 64 KiB read ahead: beyond that the socket is paused until the reader catches up.
      new ByteLengthQueuingStrategy({ highWaterMark: READ_AHEAD }),
    );
    this.writable = new WritableStream<Uint8Array>(
      {
        write: (chunk) => {
          if (this.#failure) throw this.#failure;
          if (this.#closed) throw new ClosedConnError("the connection is closed");
          if (driver.write(chunk)) return;
          return new Promise<void>((resolve) => {
            this.#drained = resolve;
          });
        },
        close: () => {
          if (!this.#closed) driver.end();
        },
        abort: () => this.close(),
      },
      { highWaterMark: 1 },
    );
    driver.attach({
      data: (chunk) => {
        if (readDone) return;
        readController.enqueue(chunk);
        if ((readController.desiredSize ?? 0) <= 0) driver.pause();
      },
      end: () => finishRead(),
      drain: () => {
        const resolve = this.#drained;
        this.#drained = undefined;
        resolve?.();
      },
      error: (error) => {
        this.#failure = error;
        finishRead(error);
        this.#drained?.();
      },
      close: () => {
        this.#closed = true;
        finishRead();
        this.#drained?.();
      },
    });
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
    if (this.writable.locked) throw new TypeError("closeWrite(): the writable is locked; close its writer instead");
    await this.writable.close();
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
