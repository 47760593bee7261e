import type { WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import type { AcceptedSocket, NetAddr } from "../types.ts";
import { formatIp } from "./_ip.ts";
import { scratch } from "./_scratch.ts";
import { decodeSockaddr } from "./_sockaddr.ts";
import { errnoName, type SocketError, socketError } from "./errors.ts";
import { socklen } from "./sockopt.ts";

/** Backoff while the process is out of fds: from this... */
const BACKOFF_MIN_MS = 10;
/** ...doubling up to this. */
const BACKOFF_MAX_MS = 1000;

type Attempt = { fd: number; remoteAddr: NetAddr } | { errno: number };

/** What an accept4 failure means, by errno name; anything else is "failed". */
type Outcome = "retry" | "empty" | "starved" | "failed";
const outcomes: Readonly<Record<string, Outcome>> = {
  // The next attempt takes the next connection (ECONNABORTED: the peer gave up while queued).
  EINTR: "retry",
  ECONNABORTED: "retry",
  EAGAIN: "empty",
  EMFILE: "starved",
  ENFILE: "starved",
  ENOBUFS: "starved",
  ENOMEM: "starved",
};

function outcome(sys: Sys, errno: number): Outcome {
  return outcomes[errnoName(sys, errno)] ?? "failed";
}

function attempt(sys: Sys, fd: number, flags: number): Attempt {
  const accept4 = sys.accept4;
  if (accept4 === undefined) throw new Error(`libc on ${sys.platform.os} has no accept4`);
  const { bytes } = scratch(sys).sockaddr;
  const result = accept4(fd, bytes, socklen(sys, bytes.length), flags);
  if (result < 0) return { errno: -result };
  const peer = decodeSockaddr(sys.platform, bytes);
  const remoteAddr: NetAddr = { transport: "tcp", hostname: peer ? formatIp(peer) : "", port: peer?.port ?? 0 };
  return { fd: result, remoteAddr };
}

/**
 * accept4(2) once: the next connection from the accept queue, or null when
 * the queue is empty (EAGAIN). EINTR and ECONNABORTED (the peer gave up
 * while queued) are retried. Other failures throw a SocketError.
 */
export function accept4(sys: Sys, fd: number, flags?: number): AcceptedSocket | null {
  const c = sys.platform.constants;
  for (;;) {
    const result = attempt(sys, fd, flags ?? c.SOCK_NONBLOCK | c.SOCK_CLOEXEC);
    if ("fd" in result) return result;
    const kind = outcome(sys, result.errno);
    if (kind === "retry") continue;
    if (kind === "empty") return null;
    throw socketError(sys, -result.errno, "accept4");
  }
}

/** Where an accept loop delivers. */
export interface AcceptSink {
  /** A new connection's fd (non-blocking, close-on-exec), now owned by the sink. */
  accepted(fd: number, remoteAddr: NetAddr): void;
  /** accept4 failed for good (EBADF, EINVAL, …); the loop has stopped. */
  failed(error: SocketError): void;
}

/** An accept loop's controls. */
export interface AcceptLoop {
  /** Stops accepting (connections wait in the kernel's backlog) until resume(). */
  pause(): void;
  resume(): void;
  ref(): void;
  unref(): void;
  /** Accepts what is queued now, as a wake-up would (not while paused or backing off). */
  flush(): void;
  close(): void;
}

/** What the accept loop needs from its runtime. */
export interface AcceptLoopOptions {
  readonly watchReadable: WatchReadable;
  readonly unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
}

/**
 * The fd number at which the loop stops accepting for a while, leaving the
 * runtime fds for its own needs (some runtimes abort when they find none).
 * Linux hands out the lowest free fd, so receiving fd N means N fds are open.
 */
function fdCeiling(sys: Sys): number {
  const { layouts, constants, littleEndian } = sys.platform;
  const limit = new Uint8Array(layouts.rlimit.size);
  if (sys.getrlimit(constants.RLIMIT_NOFILE, limit) < 0) return Number.POSITIVE_INFINITY;
  const soft = new DataView(limit.buffer).getBigUint64(layouts.rlimit.cur.offset, littleEndian);
  if (soft >= BigInt(Number.MAX_SAFE_INTEGER)) return Number.POSITIVE_INFINITY;
  const cur = Number(soft);
  return cur - Math.min(64, Math.floor(cur / 8));
}

/**
 * Accepts with accept4 whenever `fd` is readable, draining the queue on
 * each wake-up. Out of fds (EMFILE, ENFILE, ENOBUFS, ENOMEM), it stops
 * watching and retries after a growing pause: the connection stays queued
 * in the kernel, the process stays responsive, and nothing spins. It also
 * pauses so before the process is out of fds (see fdCeiling).
 */
export function acceptLoop(sys: Sys, fd: number, sink: AcceptSink, options: AcceptLoopOptions): AcceptLoop {
  const c = sys.platform.constants;
  const flags = c.SOCK_NONBLOCK | c.SOCK_CLOEXEC;
  const ceiling = fdCeiling(sys);
  let paused = false;
  let closed = false;
  let referenced = true;
  let backoffMs = 0;
  let backoffTimer: ReturnType<typeof setTimeout> | undefined;

  const drain = (): void => {
    while (!paused && !closed && backoffTimer === undefined) {
      const result = attempt(sys, fd, flags);
      if ("fd" in result) {
        sink.accepted(result.fd, result.remoteAddr);
        if (result.fd >= ceiling) {
          backOff();
          return;
        }
        backoffMs = 0;
        continue;
      }
      const kind = outcome(sys, result.errno);
      if (kind === "retry") continue;
      if (kind === "starved") backOff();
      else if (kind === "failed") {
        closed = true;
        watch.close();
        sink.failed(socketError(sys, -result.errno, "accept4"));
      }
      return;
    }
  };

  const afterBackoff = (): void => {
    backoffTimer = undefined;
    if (closed) return;
    if (!paused) watch.start();
    drain();
  };

  const backOff = (): void => {
    watch.stop();
    backoffMs = Math.min(Math.max(backoffMs * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
    backoffTimer = setTimeout(afterBackoff, backoffMs);
    if (!referenced) options.unrefTimer(backoffTimer);
  };

  const watch = options.watchReadable(fd, drain);
  return {
    pause: () => {
      paused = true;
      watch.stop();
    },
    resume: () => {
      if (!paused || closed) return;
      paused = false;
      if (backoffTimer === undefined) {
        watch.start();
        drain();
      }
    },
    ref: () => {
      referenced = true;
      watch.ref();
      // A timer cannot be re-referenced portably: replace it with a fresh one.
      if (backoffTimer !== undefined) {
        clearTimeout(backoffTimer);
        backoffTimer = setTimeout(afterBackoff, backoffMs);
      }
    },
    unref: () => {
      referenced = false;
      watch.unref();
      if (backoffTimer !== undefined) options.unrefTimer(backoffTimer);
    },
    flush: () => {
      if (!closed) drain();
    },
    close: () => {
      closed = true;
      if (backoffTimer !== undefined) clearTimeout(backoffTimer);
      backoffTimer = undefined;
      watch.close();
    },
  };
}
