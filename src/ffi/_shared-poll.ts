import { type FdWatch, flagWatch, type WatchReadable } from "./readiness.ts";

/** What an event loop's poll handle (libuv's uv_poll_t through koffi) offers. */
export interface PollHandle {
  start(events: { readable: boolean; writable: boolean }, callback: (events: PollEvents) => void): void;
  stop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface PollEvents {
  readonly readable: boolean;
  readonly writable: boolean;
  readonly disconnect: boolean;
}

interface Watcher {
  readonly writable: boolean;
  readonly onReady: () => void;
  started: boolean;
  referenced: boolean;
  scheduled: boolean;
  closed: boolean;
}

/** The one handle of an fd and the watches that share it. */
interface Shared {
  readonly handle: PollHandle;
  readonly callback: (events: PollEvents) => void;
  readonly watchers: Set<Watcher>;
  /** What the handle polls for now ("" while stopped). */
  events: string;
  referenced: boolean;
}

/**
 * Readiness over an event loop's poll handles, one handle per fd. libuv
 * allows only one poll handle per fd (a second one on the same socket makes
 * epoll_ctl fail and aborts), so a readable and a writable watch of one
 * socket share a handle that polls for what its started watches want.
 *
 * Callbacks arrive straight from the event loop, outside the runtime's
 * callback scope, so promises settled there would wait for some later event
 * to run their reactions: `defer` (setImmediate) runs the work in a proper
 * callback instead, once per watch however many events came meanwhile.
 *
 * Every handle still open when `onExit` fires is closed then: an unref'd
 * handle does not keep the loop alive, but Node's teardown runs the loop once
 * more, and a poll firing then calls into JavaScript that can no longer run.
 */
export function sharedPoll(
  open: (fd: number, callback: (events: PollEvents) => void) => PollHandle,
  defer: (run: () => void) => void,
  onExit: (closeAll: () => void) => void,
): WatchReadable {
  const byFd = new Map<number, Shared>();
  let exitHooked = false;

  const schedule = (watcher: Watcher): void => {
    watcher.scheduled = true;
    defer(() => {
      watcher.scheduled = false;
      if (watcher.started && !watcher.closed) watcher.onReady();
    });
  };

  const update = (shared: Shared): void => {
    let readable = false;
    let writable = false;
    let referenced = false;
    for (const watcher of shared.watchers) {
      if (!watcher.started) continue;
      if (watcher.writable) writable = true;
      else readable = true;
      if (watcher.referenced) referenced = true;
    }
    const events = readable || writable ? `${readable}/${writable}` : "";
    if (events !== shared.events) {
      if (events === "") shared.handle.stop();
      else shared.handle.start({ readable, writable }, shared.callback);
      shared.events = events;
    }
    if (referenced !== shared.referenced) {
      if (referenced) shared.handle.ref();
      else shared.handle.unref();
      shared.referenced = referenced;
    }
  };

  const openShared = (fd: number): Shared => {
    const watchers = new Set<Watcher>();
    const callback = (events: PollEvents): void => {
      // An error sets no flag: every started watch hears of it, and its own call finds out what.
      const any = events.disconnect || (!events.readable && !events.writable);
      for (const watcher of watchers) {
        if (!watcher.started || watcher.scheduled) continue;
        if (any || (watcher.writable ? events.writable : events.readable)) schedule(watcher);
      }
    };
    // Opened polling for readability; update() sets what the first watch wants.
    const shared: Shared = { handle: open(fd, callback), callback, watchers, events: "true/false", referenced: true };
    byFd.set(fd, shared);
    if (!exitHooked) {
      exitHooked = true;
      onExit(() => {
        for (const each of byFd.values()) each.handle.close();
        byFd.clear();
      });
    }
    return shared;
  };

  return (fd, onReady, interest = "readable"): FdWatch => {
    const shared = byFd.get(fd) ?? openShared(fd);
    const watcher: Watcher = {
      writable: interest === "writable",
      onReady,
      started: true,
      referenced: true,
      scheduled: false,
      closed: false,
    };
    shared.watchers.add(watcher);
    update(shared);
    return flagWatch(
      watcher,
      () => update(shared),
      () => {
        shared.watchers.delete(watcher);
        if (shared.watchers.size > 0) {
          update(shared);
          return;
        }
        byFd.delete(fd);
        shared.handle.close();
      },
    );
  };
}
