import type { Sys } from "../ffi/sys.ts";

/** A reusable buffer with its DataView. */
export interface Slot {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/**
 * Buffers reused across the synchronous calls made through one Sys. Each
 * call fills them and reads them back before it returns, and JavaScript
 * runs one call at a time, so no two users overlap; reuse saves the
 * ArrayBuffer allocations that otherwise dominate openSocket's own cost.
 * Never hold one across an await.
 */
export interface Scratch {
  /** A C int value (setsockopt/getsockopt). */
  readonly int: Slot;
  /** A socklen_t in/out parameter. */
  readonly socklen: Slot;
  /** A sockaddr_storage. */
  readonly sockaddr: Slot;
}

const perSys = new WeakMap<Sys, Scratch>();

function slot(size: number): Slot {
  const bytes = new Uint8Array(size);
  return { bytes, view: new DataView(bytes.buffer) };
}

/** The scratch buffers of this Sys. */
export function scratch(sys: Sys): Scratch {
  let found = perSys.get(sys);
  if (found === undefined) {
    const { layouts } = sys.platform;
    found = { int: slot(4), socklen: slot(layouts.socklen), sockaddr: slot(layouts.sockaddrStorage) };
    perSys.set(sys, found);
  }
  return found;
}
