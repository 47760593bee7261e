import { describe, expect, test } from "vitest";
import { decodeMask, encodeMask, maskCapacity } from "../../src/cpu/_mask.ts";
import { platformTable } from "../../src/ffi/platforms.ts";

const little = platformTable("linux", "x64");
/** The same table as a big-endian platform would have it (none is supported yet; the layout must be ready). */
const big = { ...little, littleEndian: false };

describe("cpu_set_t", () => {
  test("Linux: 128 bytes of 64-bit words, 1024 CPUs; SO_INCOMING_CPU is 49; none on macOS or FreeBSD", () => {
    for (const arch of ["x64", "arm64"]) {
      const table = platformTable("linux", arch);
      expect(table.layouts.cpuSet).toEqual({ size: 128, word: 8 });
      expect(table.constants.SO_INCOMING_CPU).toBe(49);
      expect(maskCapacity(table)).toBe(1024);
    }
    for (const os of ["darwin", "freebsd"]) {
      expect(platformTable(os, "arm64").layouts.cpuSet).toBeUndefined();
      expect(platformTable(os, "arm64").constants.SO_INCOMING_CPU).toBeUndefined();
      expect(() => encodeMask(platformTable(os, "arm64"), [0])).toThrow(/Linux only/);
    }
  });

  test("little-endian: CPU n is bit n % 8 of byte n / 8", () => {
    const mask = encodeMask(little, [0, 9, 63, 64, 1023]);
    expect(mask.length).toBe(128);
    expect([mask[0], mask[1], mask[7], mask[8], mask[127]]).toEqual([1, 2, 0x80, 1, 0x80]);
    expect(decodeMask(little, mask)).toEqual([0, 9, 63, 64, 1023]);
  });

  test("big-endian: each 64-bit word's bytes run from its high bits down", () => {
    const mask = encodeMask(big, [0, 9, 63, 64]);
    // Word 0 holds bits 0, 9 and 63: its last byte has bit 0, the one before bit 9 (1 of it), the first bit 63.
    expect([mask[7], mask[6], mask[0], mask[15]]).toEqual([1, 2, 0x80, 1]);
    expect(decodeMask(big, mask)).toEqual([0, 9, 63, 64]);
  });

  test("the mask lives in an ArrayBuffer of its own", () => {
    const mask = encodeMask(little, [1]);
    expect(mask.byteOffset).toBe(0);
    expect(mask.buffer.byteLength).toBe(128);
  });
});
