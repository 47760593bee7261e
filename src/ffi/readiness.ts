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

/** What a watch's start/stop/ref/unref flip, and whether it stopped for good. */
export interface WatchFlags {
  started: boolean;
  referenced: boolean;
  closed: boolean;
}

/**
 * An FdWatch over `flags`: `changed` runs after each flip that changes
 * something, `onClose` once, on the first close(); nothing runs after it.
 */
export function flagWatch(flags: WatchFlags, changed: () => void, onClose: () => void): FdWatch {
  const set = (key: "started" | "referenced", value: boolean): void => {
    if (flags.closed || flags[key] === value) return;
    flags[key] = value;
    changed();
  };
  return {
    start: () => set("started", true),
    stop: () => set("started", false),
    ref: () => set("referenced", true),
    unref: () => set("referenced", false),
    close: () => {
      if (flags.closed) return;
      flags.closed = true;
      onClose();
    },
  };
}
