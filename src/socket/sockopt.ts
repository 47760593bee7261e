import type { Sys } from "../ffi/sys.ts";
import { scratch } from "./_scratch.ts";
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
  const { bytes, view } = scratch(sys).int;
  view.setInt32(0, value, sys.platform.littleEndian);
  check(sys, sys.setsockopt(fd, level, name, bytes, 4), "setsockopt", details);
}

/** An int socket option, or the `-errno` of getsockopt. */
export function getIntOption(sys: Sys, fd: number, level: number, name: number): number {
  const { bytes, view } = scratch(sys).int;
  const result = sys.getsockopt(fd, level, name, bytes, socklen(sys, 4));
  return result < 0 ? result : view.getInt32(0, sys.platform.littleEndian);
}

/** The shared socklen_t in/out parameter, set to `value`. */
export function socklen(sys: Sys, value: number): Uint8Array {
  const { bytes, view } = scratch(sys).socklen;
  view.setUint32(0, value, sys.platform.littleEndian);
  return bytes;
}

/** setsockopt with a struct timeval of `ms` milliseconds (SO_RCVTIMEO, SO_SNDTIMEO). */
export function setTimeoutOption(
  sys: Sys,
  fd: number,
  level: number,
  name: number,
  ms: number,
  details?: SocketErrorDetails,
): void {
  const layout = sys.platform.layouts.timeval;
  const bytes = new Uint8Array(layout.size);
  const view = new DataView(bytes.buffer);
  const le = sys.platform.littleEndian;
  view.setBigInt64(layout.sec.offset, BigInt(Math.floor(ms / 1000)), le);
  view.setBigInt64(layout.usec.offset, BigInt((ms % 1000) * 1000), le);
  check(sys, sys.setsockopt(fd, level, name, bytes, layout.size), "setsockopt", details);
}
