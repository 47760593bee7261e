import type { PlatformTable } from "../ffi/_platform.ts";

/** The cpu_set_t layout of a platform, or an error naming the platform that has none. */
export function cpuSetLayout(platform: PlatformTable): { readonly size: number; readonly word: number } {
  const layout = platform.layouts.cpuSet;
  if (layout === undefined) throw new Error(`reuseport sets CPU affinity on Linux only, not on ${platform.os}`);
  return layout;
}

/** How many CPUs a cpu_set_t of this platform can name (1024 with glibc's). */
export function maskCapacity(platform: PlatformTable): number {
  return cpuSetLayout(platform).size * 8;
}

/**
 * Where CPU `cpu`'s bit lives: the byte and the bit in it. The set is an
 * array of unsigned longs, so on a big-endian platform the bytes of each
 * word run from its high bits down.
 */
function bitOf(platform: PlatformTable, cpu: number): { byte: number; bit: number } {
  const { word } = cpuSetLayout(platform);
  const bitsPerWord = word * 8;
  const inWord = cpu % bitsPerWord;
  const wordStart = (cpu - inWord) / 8;
  const byteInWord = platform.littleEndian ? inWord >> 3 : word - 1 - (inWord >> 3);
  return { byte: wordStart + byteInWord, bit: inWord & 7 };
}

/**
 * A new cpu_set_t with the bits of `cpus` set, in memory of an ArrayBuffer
 * of its own (which never moves while C reads it). The CPUs must be
 * checked already (integers below `maskCapacity`).
 */
export function encodeMask(platform: PlatformTable, cpus: readonly number[]): Uint8Array {
  const mask = new Uint8Array(new ArrayBuffer(cpuSetLayout(platform).size));
  for (const cpu of cpus) {
    const { byte, bit } = bitOf(platform, cpu);
    mask[byte] = (mask[byte] as number) | (1 << bit);
  }
  return mask;
}

/** An empty cpu_set_t to read a thread's affinity into. */
export function emptyMask(platform: PlatformTable): Uint8Array {
  return new Uint8Array(new ArrayBuffer(cpuSetLayout(platform).size));
}

/** The CPUs whose bits are set, ascending. */
export function decodeMask(platform: PlatformTable, mask: Uint8Array): number[] {
  const cpus: number[] = [];
  for (let cpu = 0; cpu < mask.length * 8; cpu++) {
    const { byte, bit } = bitOf(platform, cpu);
    if (((mask[byte] as number) >> bit) & 1) cpus.push(cpu);
  }
  return cpus;
}
