import { type FdWatch, flagWatch, type WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";

/** How long an unref'd poll may hold the process (Deno: a pending FFI call keeps it alive). */
const UNREF_POLL_MS = 200;
/** Polls on the JavaScript thread in a row, at most, before waiting off-thread again. */
const EAGER_ROUNDS = 16;
/** Microtask turns a round's promise continuations get before the next eager poll. */
const SETTLE_TICKS = 4;
/** Pause after a failed off-thread poll (its errno is not ours to read; usually EINTR). */
const RETRY_MS = 10;

interface Entry {
  readonly fd: number;
  /** POLLIN or POLLOUT. */
  readonly events: number;
  readonly onReadable: () => void;
  started: boolean;
  referenced: boolean;
  closed: boolean;
}

/** What a runtime without an fd watcher of its own gives the thread poller. */
export interface ThreadPollerOptions {
  /** Makes a timer stop holding the process (Deno.unrefTimer, or timeout.unref()). */
  unrefTimer(timer: ReturnType<typeof setTimeout>): void;
}

const perSys = new WeakMap<Sys, WatchReadable>();

/**
 * Watches fds by running poll(2) off the JavaScript thread (Sys.pollOffThread)
 * over every started watch plus an eventfd that wakes the call when the set
 * changes. One poll is in flight per process, however many listeners there are.
 */
export function threadPoller(sys: Sys, options: ThreadPollerOptions): WatchReadable {
  let poller = perSys.get(sys);
  if (poller === undefined) {
    poller = createThreadPoller(sys, options);
    perSys.set(sys, poller);
  }
  return poller;
}

function createThreadPoller(sys: Sys, options: ThreadPollerOptions): WatchReadable {
  const { pollOffThread: offThread, eventfd } = sys;
  if (offThread === undefined || eventfd === undefined) {
    throw new Error("this platform has no off-thread poll with an eventfd: the accept4 engine is unavailable");
  }
  const pollOffThread = offThread;
  const c = sys.platform.constants;
  const layout = sys.platform.layouts.pollfd;
  const wakeFd = eventfd(0, c.EFD_NONBLOCK | c.EFD_CLOEXEC);
  if (wakeFd < 0) throw new Error(`eventfd failed with errno ${-wakeFd}`);
  const wakeValue = new Uint8Array(8);
  new DataView(wakeValue.buffer).setBigUint64(0, 1n, sys.platform.littleEndian);
  const drainBuffer = new Uint8Array(8);
  const entries = new Set<Entry>();
  let running = false;
  let inFlight = false;

  const wake = (): void => {
    if (inFlight) sys.write(wakeFd, wakeValue, 8);
  };
  const changed = (): void => {
    if (!running) {
      running = true;
      void loop();
    } else {
      wake();
    }
  };
  const pause = (ms: number, referenced: boolean): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (!referenced) options.unrefTimer(timer);
    });

  async function loop(): Promise<void> {
    let eagerRounds = 0;
    for (;;) {
      const armed = [...entries].filter((e) => e.started && !e.closed);
      if (armed.length === 0) break;
      const referenced = armed.some((e) => e.referenced);
      sys.setPollRef?.(referenced);
      const fds = new Uint8Array(layout.size * (armed.length + 1));
      const view = new DataView(fds.buffer);
      [wakeFd, ...armed.map((e) => e.fd)].forEach((fd, i) => {
        view.setInt32(i * layout.size + layout.fd.offset, fd, true);
        view.setInt16(
          i * layout.size + layout.events.offset,
          i === 0 ? c.POLLIN : (armed[i - 1] as Entry).events,
          true,
        );
      });
      let ready: number;
      if (eagerRounds > 0) {
        // After a round with events, more are usually waiting by the time its promise
        // continuations have run: a poll(2) with no timeout on this thread finds them
        // without the round trip through another thread. Bounded, so a busy process
        // still waits off-thread regularly and its other events get their turn.
        for (let i = 0; i < SETTLE_TICKS; i++) await undefined;
        ready = sys.poll(fds, armed.length + 1, 0);
        if (ready <= 0) {
          // Watches may have come or gone while the continuations ran: wait on a fresh set.
          eagerRounds = 0;
          continue;
        }
        eagerRounds--;
      } else {
        const timeout = referenced || sys.setPollRef ? -1 : UNREF_POLL_MS;
        inFlight = true;
        ready = await pollOffThread(fds, armed.length + 1, timeout);
        inFlight = false;
        eagerRounds = ready > 0 ? EAGER_ROUNDS : 0;
      }
      if (ready < 0) {
        await pause(RETRY_MS, referenced);
        continue;
      }
      if (view.getInt16(layout.revents.offset, true) !== 0) sys.read(wakeFd, drainBuffer, 8);
      armed.forEach((entry, i) => {
        const revents = view.getInt16((i + 1) * layout.size + layout.revents.offset, true);
        if (revents !== 0 && entry.started && !entry.closed) entry.onReadable();
      });
      // Unreferenced and idle: yield through an unref'd timer so the process may exit here.
      if (ready === 0 && !referenced) await pause(0, false);
    }
    running = false;
    // Nothing left to watch: the poll thread must not keep the process alive.
    sys.setPollRef?.(false);
  }

  return (fd: number, onReadable: () => void, interest = "readable"): FdWatch => {
    const events = interest === "writable" ? c.POLLOUT : c.POLLIN;
    const entry: Entry = { fd, events, onReadable, started: true, referenced: true, closed: false };
    entries.add(entry);
    changed();
    return flagWatch(entry, changed, () => {
      entries.delete(entry);
      changed();
    });
  };
}
