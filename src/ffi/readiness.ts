/**
 * Readiness: being told when an fd becomes readable, without blocking the
 * JavaScript thread and without polling in a loop. Node watches the fd on
 * its libuv loop; Bun and Deno block in poll(2) on another thread.
 */
export interface FdWatch {
  /** Calls back whenever the fd is readable (level-triggered). Watches start started. */
  start(): void;
  /** Stops calling back until `start()`. */
  stop(): void;
  /** Keeps the process alive while started (the default). */
  ref(): void;
  /** Lets the process exit even while the watch is started. */
  unref(): void;
  /** Stops for good. Call it before closing the fd. */
  close(): void;
}

/**
 * Starts watching `fd`; `onReady` runs on the JavaScript thread whenever it
 * is readable, or with `"writable"` whenever it has room to write (POLLOUT).
 */
export type WatchReadable = (fd: number, onReady: () => void, interest?: "readable" | "writable") => FdWatch;
