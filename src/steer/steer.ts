import type { Sys } from "../ffi/sys.ts";
import { check } from "../socket/errors.ts";
import { type CbpfInstruction, cbpf, validateProgram } from "./cbpf.ts";

/** How a reuseport group picks its socket for a new connection or datagram. */
export type SteeringPolicy = "hash" | "cpu" | { readonly program: readonly CbpfInstruction[] };

/** SO_ATTACH_REUSEPORT_CBPF and SO_DETACH_REUSEPORT_BPF (asm-generic/socket.h; the same on every Linux arch). */
const SO_ATTACH_REUSEPORT_CBPF = 51;
const SO_DETACH_REUSEPORT_BPF = 68;
/** `struct sock_fprog` on 64-bit Linux: an unsigned short count, padding, then the pointer. */
const FPROG_SIZE = 16;
const FPROG_FILTER_OFFSET = 8;

/** The "cpu" policy: the socket whose index is the receiving CPU, modulo the group's size. */
export function cpuProgram(groupSize: number): CbpfInstruction[] {
  return [cbpf.load("cpu"), cbpf.alu("mod", groupSize), cbpf.retA()];
}

/** The program a policy stands for, or undefined for the kernel's own hash. */
function programFor(policy: SteeringPolicy, groupSize: number | undefined): readonly CbpfInstruction[] | undefined {
  if (policy === "hash") return undefined;
  if (policy === "cpu") {
    if (groupSize === undefined || !Number.isInteger(groupSize) || groupSize < 1) {
      throw new RangeError(`the "cpu" policy needs the group's size (a positive integer), got ${groupSize}`);
    }
    return cpuProgram(groupSize);
  }
  if (typeof policy === "object" && policy !== null && "program" in policy) return policy.program;
  throw new TypeError(`policy must be "hash", "cpu" or { program }, got ${JSON.stringify(policy)}`);
}

/**
 * Sets how the reuseport group of the socket `fd` picks its member: "hash"
 * (the kernel's 4-tuple hash; detaches any program), "cpu" (the member whose
 * index is the CPU that received the packet, modulo `groupSize`), or a
 * classic BPF program returning the member's index. A program attached to
 * any member serves the whole group, and members that join later inherit
 * it. The kernel numbers members in listen(2) order for TCP and bind(2)
 * order for UDP; when one closes, the last moves into its place.
 */
export function steer(sys: Sys, fd: number, policy: SteeringPolicy, groupSize?: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
  if (sys.platform.os !== "linux") throw new Error(`reuseport steering is Linux's; ${sys.platform.os} has none`);
  const program = programFor(policy, groupSize);
  const c = sys.platform.constants;
  if (program === undefined) {
    const zero = new Uint8Array(4);
    const result = sys.setsockopt(fd, c.SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, zero, 4);
    // ENOENT: nothing was attached, which is the state asked for.
    if (result < 0 && -result === 2) return;
    check(sys, result, "setsockopt", {});
    return;
  }
  validateProgram(program);
  const little = sys.platform.littleEndian;
  // Memory C reads through a pointer: an ArrayBuffer's store, which never moves, alive through the call.
  const filter = new Uint8Array(new ArrayBuffer(program.length * 8));
  const view = new DataView(filter.buffer);
  program.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, little);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, little);
  });
  const fprog = new Uint8Array(new ArrayBuffer(FPROG_SIZE));
  const fprogView = new DataView(fprog.buffer);
  fprogView.setUint16(0, program.length, little);
  fprogView.setBigUint64(FPROG_FILTER_OFFSET, BigInt(sys.addressOf(filter)), little);
  check(sys, sys.setsockopt(fd, c.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog, FPROG_SIZE), "setsockopt", {});
  // Read after the call, so the filter's memory is referenced until the kernel has copied it.
  void filter.length;
}
