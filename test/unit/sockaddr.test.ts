import { describe, expect, test } from "vitest";
import { platformTable } from "../../src/ffi/platforms.ts";
import { parseIp } from "../../src/socket/_ip.ts";
import { decodeSockaddr, encodeSockaddr, encodeUnixSockaddr } from "../../src/socket/_sockaddr.ts";

const address = (text: string, port: number) => {
  const ip = parseIp(text);
  if (ip === undefined) throw new Error(text);
  return { ...ip, port };
};

describe("sockaddr layouts", () => {
  test("Linux sockaddr_in: host-order u16 family, big-endian port, 16 bytes", () => {
    const bytes = encodeSockaddr(platformTable("linux", "x64"), address("127.0.0.1", 0x1f90));
    expect(Array.from(bytes)).toEqual([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("Linux sockaddr_in6: family 10, flowinfo, address at 8, scope id at 24, 28 bytes", () => {
    const bytes = encodeSockaddr(platformTable("linux", "arm64"), address("fe80::1%3", 443));
    expect(bytes.length).toBe(28);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([10, 0, 1, 187, 0, 0, 0, 0]);
    expect(bytes[8]).toBe(0xfe);
    expect(bytes[23]).toBe(1);
    expect(Array.from(bytes.subarray(24))).toEqual([3, 0, 0, 0]);
  });

  test.each([
    ["darwin", 30],
    ["freebsd", 28],
  ])("%s: sin_len byte, then a one-byte family (AF_INET6 = %i)", (os, af6) => {
    const table = platformTable(os, "arm64");
    expect(Array.from(encodeSockaddr(table, address("10.0.0.1", 80)).subarray(0, 8))).toEqual([
      16, 2, 0, 80, 10, 0, 0, 1,
    ]);
    const v6 = encodeSockaddr(table, address("::1", 80));
    expect(Array.from(v6.subarray(0, 4))).toEqual([28, af6, 0, 80]);
    expect(v6[23]).toBe(1);
  });

  test.each(["linux", "darwin", "freebsd"])("%s: decode reverses encode, inside a sockaddr_storage", (os) => {
    const table = platformTable(os, "x64");
    for (const [text, port] of [
      ["192.168.7.9", 65535],
      ["2001:db8::7", 1],
      ["fe80::2%9", 8080],
    ] as const) {
      const storage = new Uint8Array(table.layouts.sockaddrStorage);
      storage.set(encodeSockaddr(table, address(text, port)));
      const decoded = decodeSockaddr(table, storage);
      expect(decoded).toEqual(address(text, port));
    }
  });

  test("decode returns undefined for a family it does not know (AF_UNIX)", () => {
    const storage = new Uint8Array(128);
    storage[0] = 1;
    expect(decodeSockaddr(platformTable("linux", "x64"), storage)).toBeUndefined();
  });
});

describe("sockaddr_un", () => {
  test("a path: family, the bytes and their NUL; an abstract name: a NUL first and no terminator", () => {
    const linux = platformTable("linux", "x64");
    const path = encodeUnixSockaddr(linux, "/run/x");
    expect([...path]).toEqual([1, 0, ...new TextEncoder().encode("/run/x"), 0]);
    const abstract = encodeUnixSockaddr(linux, "@x");
    expect([...abstract]).toEqual([1, 0, 0, 120]);
    const bsd = encodeUnixSockaddr(platformTable("freebsd", "x64"), "/a");
    expect([...bsd]).toEqual([5, 1, 47, 97, 0]);
    expect(() => encodeUnixSockaddr(linux, `/${"a".repeat(107)}`)).toThrow(RangeError);
  });
});
