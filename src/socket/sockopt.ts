import type { Sys } from "../ffi/sys.ts";
import { check, type SocketErrorDetails } from "./errors.ts";

/** setsockopt with a C int value. */
export function setIntOption(
  sys: Sys,
  fd: number,
  level: number,
  name: number,
  value: number,
  details?: SocketErrorDetails,
): void {
  const buffer = new Uint8Array(4);
  new DataView(buffer.buffer).setInt32(0, value, sys.platform.littleEndian);
  check(sys, sys.setsockopt(fd, level, name, buffer, buffer.length), "setsockopt", details);
}

/** A socklen_t in/out parameter holding `value`. */
export function socklen(sys: Sys, value: number): Uint8Array {
  const buffer = new Uint8Array(sys.platform.layouts.socklen);
  new DataView(buffer.buffer).setUint32(0, value, sys.platform.littleEndian);
  return buffer;
}

/** getsockopt of a C int value. */
export function getIntOption(sys: Sys, fd: number, level: number, name: number): number {
  const buffer = new Uint8Array(4);
  const length = socklen(sys, buffer.length);
  check(sys, sys.getsockopt(fd, level, name, buffer, length), "getsockopt");
  return new DataView(buffer.buffer).getInt32(0, sys.platform.littleEndian);
}
