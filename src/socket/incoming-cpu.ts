import type { Sys } from "../ffi/sys.ts";
import { scratch } from "./_scratch.ts";
import { check } from "./errors.ts";
import { setIntOption, socklen } from "./sockopt.ts";

function optionName(sys: Sys): number {
  const name = sys.platform.constants.SO_INCOMING_CPU;
  if (name === undefined) throw new Error(`SO_INCOMING_CPU is Linux's; ${sys.platform.os} has none`);
  return name;
}

function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
}

/**
 * SO_INCOMING_CPU of a socket: on a connection, the CPU that last handled
 * its packets; on a listening socket, -1 until it is set.
 */
export function getIncomingCpu(sys: Sys, fd: number): number {
  checkFd(fd);
  const name = optionName(sys);
  // Not getIntOption: -1 is a value here, not an errno.
  const { bytes, view } = scratch(sys).int;
  check(sys, sys.getsockopt(fd, sys.platform.constants.SOL_SOCKET, name, bytes, socklen(sys, 4)), "getsockopt");
  return view.getInt32(0, sys.platform.littleEndian);
}

/**
 * Sets SO_INCOMING_CPU (Linux 4.4+): on a member of a reuseport group,
 * the CPU whose connections the group hands to this socket rather than to
 * the hash's pick (Linux 6.2+; from 4.6 to 6.1 the hash decides alone).
 */
export function setIncomingCpu(sys: Sys, fd: number, cpu: number): void {
  checkFd(fd);
  if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0 || cpu > 0x7fffffff) {
    throw new RangeError(`cpu must be a non-negative integer, got ${String(cpu)}`);
  }
  setIntOption(sys, fd, sys.platform.constants.SOL_SOCKET, optionName(sys), cpu);
}
