import type { EpollConstants } from "../ffi/_platform.ts";
import type { FdWatch, WatchReadable } from "../ffi/readiness.ts";
import type { Sys } from "../ffi/sys.ts";
import { check } from "./errors.ts";

/** Where an fd in the set hears about itself. */
export interface EpollTarget {
  /** The EPOLL* bits that changed, edge-triggered: act on them until EAGAIN. */
  onEvents(events: number): void;
}

/** The process's one epoll set of connections, for the epoll engine. */
export interface EpollSet {
  readonly constants: EpollConstants;
  /** Adds `fd` for input, output and the peer's FIN, edge-triggered; throws a SocketError. */
  add(fd: number, target: EpollTarget): void;
  /**
   * Forgets `fd`; call it right before closing the fd. No epoll_ctl: closing
   * the last fd of a socket takes it out of every epoll set, and a
   * connection's fd is never duplicated. One system call less per connection.
   */
  closing(fd: number): void;
  /** Whether `fd` keeps the process alive (each does when added); the set's watch does while any does. */
  setReferenced(fd: number, referenced: boolean): void;
}

/** Events taken per epoll_wait; a busier set just loops. */
const BATCH = 256;

const perSys = new WeakMap<Sys, EpollSet>();

/**
 * The epoll set of this Sys, created on first use. The runtime watches the
 * epoll fd itself for readability (libuv on Node, the off-thread poll on Bun
 * and Deno): one watch however many connections there are, and adding or
 * removing a connection needs no wake-up of the watcher.
 */
export function epollSet(sys: Sys, watchReadable: WatchReadable): EpollSet {
  let set = perSys.get(sys);
  if (set === undefined) {
    set = createEpollSet(sys, watchReadable);
    perSys.set(sys, set);
  }
  return set;
}

function createEpollSet(sys: Sys, watchReadable: WatchReadable): EpollSet {
  const { epollCreate1, epollCtl, epollWait } = sys;
  const constants = sys.platform.constants.epoll;
  const layout = sys.platform.layouts.epollEvent;
  if (!epollCreate1 || !epollCtl || !epollWait || !constants || !layout) {
    throw new Error(`the epoll engine needs Linux's epoll; ${sys.platform.os} has none`);
  }
  const little = sys.platform.littleEndian;
  const epfd = check(sys, epollCreate1(constants.EPOLL_CLOEXEC), "epoll_create1");
  const targets = new Map<number, EpollTarget>();
  const one = new Uint8Array(layout.size);
  const oneView = new DataView(one.buffer);
  const batch = new Uint8Array(layout.size * BATCH);
  const batchView = new DataView(batch.buffer);
  const interest = constants.EPOLLIN | constants.EPOLLOUT | constants.EPOLLRDHUP | constants.EPOLLET;

  const dispatch = (): void => {
    for (;;) {
      const count = epollWait(epfd, batch, BATCH, 0);
      // EINTR is the only failure a valid set and buffer can see: the watch calls again.
      if (count <= 0) return;
      for (let i = 0; i < count; i++) {
        const at = i * layout.size;
        // The fd as add() stored it; a target removed earlier in this batch is skipped.
        targets.get(batchView.getInt32(at + layout.data.offset, little))?.onEvents(batchView.getUint32(at, little));
      }
      if (count < BATCH) return;
    }
  };

  // Started only while the set holds a connection, so an empty set never keeps the process alive.
  let watch: FdWatch | undefined;
  /** Fds that were unref'd: the watch holds the process only while some other fd is in the set. */
  const unreferenced = new Set<number>();
  let watchReferenced = true;
  const updateReference = (): void => {
    const referenced = targets.size > unreferenced.size;
    if (referenced === watchReferenced || watch === undefined) return;
    watchReferenced = referenced;
    if (referenced) watch.ref();
    else watch.unref();
  };

  return {
    constants,
    add(fd, target) {
      oneView.setUint32(layout.events.offset, interest >>> 0, little);
      // The fd goes in the data word's first 4 bytes, where dispatch reads it back on any byte order.
      oneView.setBigUint64(layout.data.offset, 0n);
      oneView.setInt32(layout.data.offset, fd, little);
      check(sys, epollCtl(epfd, constants.EPOLL_CTL_ADD, fd, one), "epoll_ctl");
      targets.set(fd, target);
      if (watch === undefined) watch = watchReadable(epfd, dispatch);
      else if (targets.size === 1) watch.start();
      updateReference();
    },
    closing(fd) {
      if (!targets.delete(fd)) return;
      if (targets.size === 0) watch?.stop();
      unreferenced.delete(fd);
      // A stopped watch holds nothing: only a set still watched needs its reference right.
      if (targets.size > 0) updateReference();
    },
    setReferenced(fd, referenced) {
      if (!targets.has(fd)) return;
      if (referenced) unreferenced.delete(fd);
      else unreferenced.add(fd);
      updateReference();
    },
  };
}
