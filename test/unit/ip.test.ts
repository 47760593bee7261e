import { describe, expect, test } from "vitest";
import { formatIp, parseIp } from "../../src/socket/_ip.ts";

describe("parseIp / formatIp", () => {
  test.each([
    ["127.0.0.1", 4, "127.0.0.1"],
    ["0.0.0.0", 4, "0.0.0.0"],
    ["255.255.255.255", 4, "255.255.255.255"],
    ["::", 6, "::"],
    ["::1", 6, "::1"],
    ["[::1]", 6, "::1"],
    ["0:0:0:0:0:0:0:1", 6, "::1"],
    ["2001:DB8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1"],
    ["2001:db8::", 6, "2001:db8::"],
    ["fe80::1%2", 6, "fe80::1%2"],
    ["::ffff:127.0.0.1", 6, "::ffff:127.0.0.1"],
    ["::ffff:7f00:1", 6, "::ffff:127.0.0.1"],
    ["1:0:1:0:1:0:1:0", 6, "1:0:1:0:1:0:1:0"],
    ["1:0:0:1:0:0:0:1", 6, "1:0:0:1::1"],
  ])("%s is IPv%i, canonical %s", (text, family, canonical) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(family);
    expect(ip && formatIp(ip)).toBe(canonical);
  });

  test("bytes are in network order", () => {
    expect(Array.from(parseIp("10.1.2.3")?.bytes ?? [])).toEqual([10, 1, 2, 3]);
    expect(Array.from(parseIp("2001:db8::ff")?.bytes ?? [])).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    ]);
    expect(parseIp("fe80::1%7")?.scopeId).toBe(7);
  });

  test.each([
    "",
    "localhost",
    "example.com",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.-4",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "::g",
    "fe80::1%eth0",
    "[::1",
    "::1.2.3",
  ])("%j is not an IP literal", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});
