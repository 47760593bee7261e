/**
 * Classic BPF for SO_ATTACH_REUSEPORT_CBPF: the instruction set, a small
 * typed builder, and the checks the kernel would make, so that a bad
 * program is an error naming its instruction rather than EINVAL.
 */

/** One `struct sock_filter`: opcode, jump offsets if true / if false, and the constant. */
export interface CbpfInstruction {
  /** The opcode: class, size or operation, and mode or source bits. */
  readonly code: number;
  /** For a conditional jump: instructions to skip when the test holds. */
  readonly jt: number;
  /** For a conditional jump: instructions to skip when it does not. */
  readonly jf: number;
  /** The constant operand (an offset, a value, or a jump's length). */
  readonly k: number;
}

/** The instruction classes and fields of linux/filter.h (bpf_common.h). */
const LD = 0x00;
const LDX = 0x01;
const ST = 0x02;
const STX = 0x03;
const ALU = 0x04;
const JMP = 0x05;
const RET = 0x06;
const MISC = 0x07;
const W = 0x00;
const ABS = 0x20;
const IMM = 0x00;
const K = 0x00;
const X = 0x08;
const A = 0x10;

/** The kernel's limit on a classic program's length (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;
/** Scratch memory slots M[0..15] (BPF_MEMWORDS). */
const MEMWORDS = 16;
/** SKF_AD_OFF: loads at this negative offset read ancillary data, not the packet. */
const AD_OFF = -0x1000;

/** Ancillary data a program can load (SKF_AD_*): what the reuseport path fills in. */
export const ancillary = {
  /** The CPU handling the packet (SKF_AD_CPU). */
  cpu: 36,
  /** The receive queue the packet came in on (SKF_AD_QUEUE). */
  queue: 24,
  /** The packet's flow hash (SKF_AD_RXHASH). */
  rxhash: 32,
  /** A random number (SKF_AD_RANDOM). */
  random: 56,
} as const;

const ALU_OPS = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  xor: 0xa0,
};
const JUMPS = { jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40 };

const instruction = (code: number, k: number, jt = 0, jf = 0): CbpfInstruction => ({ code, jt, jf, k: k >>> 0 });

/**
 * Builds classic BPF instructions. For reuseport a program returns the
 * index of the socket in the group that gets the connection or datagram;
 * an index past the group's end falls back to the kernel's hash.
 */
export const cbpf = {
  /** A = the ancillary value named (the receiving CPU, queue, flow hash or a random number). */
  load: (what: keyof typeof ancillary): CbpfInstruction => instruction(LD | W | ABS, AD_OFF + ancillary[what]),
  /** A = a 32-bit word of the packet's payload at `offset` (for UDP, from the start of the datagram's data). */
  loadWord: (offset: number): CbpfInstruction => instruction(LD | W | ABS, offset),
  /** A = k. */
  loadConstant: (k: number): CbpfInstruction => instruction(LD | W | IMM, k),
  /** A = A <op> k. */
  alu: (op: keyof typeof ALU_OPS, k: number): CbpfInstruction => instruction(ALU | ALU_OPS[op] | K, k),
  /** If A <test> k, skip `ifTrue` instructions, else skip `ifFalse`. */
  jump: (test: keyof typeof JUMPS, k: number, ifTrue: number, ifFalse: number): CbpfInstruction =>
    instruction(JMP | JUMPS[test] | K, k, ifTrue, ifFalse),
  /** Return k: the socket with index k. */
  ret: (k: number): CbpfInstruction => instruction(RET | K, k),
  /** Return A. */
  retA: (): CbpfInstruction => instruction(RET | A, 0),
} as const;

/** A program refused before the system call, naming the instruction at fault. */
export class CbpfProgramError extends Error {
  /** Always "CbpfProgramError". */
  override readonly name = "CbpfProgramError";
  /** The instruction's index, or -1 for the program as a whole. */
  readonly index: number;
  /** `message` says what is wrong with instruction `index`. */
  constructor(index: number, message: string) {
    super(index < 0 ? message : `instruction ${index}: ${message}`);
    this.index = index;
  }
}

function fail(index: number, message: string): never {
  throw new CbpfProgramError(index, message);
}

/** The checks of the kernel's bpf_check_classic, made before the syscall. */
export function validateProgram(program: readonly CbpfInstruction[]): void {
  if (!Array.isArray(program)) throw new TypeError("a program is an array of instructions");
  if (program.length === 0 || program.length > MAX_INSTRUCTIONS) {
    fail(-1, `a program has 1 to ${MAX_INSTRUCTIONS} instructions, this one ${program.length}`);
  }
  program.forEach((insn, index) => {
    if (typeof insn !== "object" || insn === null) fail(index, "not an instruction ({ code, jt, jf, k })");
    const { code, jt, jf, k } = insn;
    const fields = { code: [code, 0xffff], jt: [jt, 0xff], jf: [jf, 0xff], k: [k, 0xffffffff] } as const;
    for (const [name, [value, max]] of Object.entries(fields)) {
      if (!Number.isInteger(value) || value < 0 || value > max)
        fail(index, `${name} must be an integer from 0 to ${max}, got ${value}`);
    }
    const cls = code & 0x07;
    if (cls === JMP) {
      const op = code & 0xf0;
      const target = (offset: number): number => index + 1 + offset;
      if (op === 0x00) {
        if ((code & 0x08) !== 0 || target(k) >= program.length) fail(index, `jump of ${k} goes past the end`);
      } else if (!Object.values(JUMPS).includes(op)) {
        fail(index, `unknown jump 0x${code.toString(16)}`);
      } else if (target(jt) >= program.length || target(jf) >= program.length) {
        fail(index, `a jump (${jt}, ${jf}) goes past the end`);
      }
    } else if (cls === ALU) {
      const op = code & 0xf0;
      if (op !== 0x80 && !Object.values(ALU_OPS).includes(op))
        fail(index, `unknown ALU operation 0x${code.toString(16)}`);
      if ((op === ALU_OPS.div || op === ALU_OPS.mod) && (code & X) === 0 && k === 0) fail(index, "division by zero");
    } else if ((cls === ST || cls === STX) && k >= MEMWORDS) {
      fail(index, `scratch slot ${k} does not exist (0–${MEMWORDS - 1})`);
    } else if ((cls === LD || cls === LDX) && (code & 0xe0) === 0x60 && k >= MEMWORDS) {
      fail(index, `scratch slot ${k} does not exist (0–${MEMWORDS - 1})`);
    } else if (cls === RET && (code & 0x18) === 0x18) {
      fail(index, `unknown return 0x${code.toString(16)}`);
    } else if (cls === MISC && (code & 0xf8) !== 0 && (code & 0xf8) !== 0x80) {
      fail(index, `unknown misc operation 0x${code.toString(16)}`);
    }
  });
  const last = program[program.length - 1] as CbpfInstruction;
  if ((last.code & 0x07) !== RET) fail(program.length - 1, "a program must end with a return");
}
