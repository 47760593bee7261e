import { describe, expect, test } from "vitest";
import { matchListen, type OfferedAddress } from "../../src/preload/match.ts";

const offer = (hostname: string, port: number, taken = false): OfferedAddress => ({
  addr: { transport: "tcp", hostname, port },
  taken,
});

describe("matchListen: the served port", () => {
  test.each([undefined, "", "0.0.0.0", "::"])("host %j takes the first free socket on the port", (host) => {
    expect(matchListen(3000, host, [offer("127.0.0.1", 3000)])).toEqual({ kind: "serve", index: 0 });
    expect(matchListen(3000, host, [offer("0.0.0.0", 3000, true), offer("::1", 3000)])).toEqual({
      kind: "serve",
      index: 1,
    });
    expect(matchListen(3000, host, [offer("0.0.0.0", 4000), offer("::", 3000)])).toEqual({ kind: "serve", index: 1 });
  });

  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["10.0.0.1", "10.0.0.1"],
    ["::1", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["[::1]", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
  ])("host %s takes a socket on %s", (host, served) => {
    expect(matchListen(3000, host, [offer(served, 3000)])).toEqual({ kind: "serve", index: 0 });
  });

  test.each(["127.0.0.1", "::1"])('"localhost" takes a socket on %s', (served) => {
    expect(matchListen(3000, "localhost", [offer(served, 3000)])).toEqual({ kind: "serve", index: 0 });
  });

  test('"localhost" is a mismatch for a 0.0.0.0 socket', () => {
    const match = matchListen(3000, "localhost", [offer("0.0.0.0", 3000)]);
    expect(match.kind).toBe("mismatch");
    expect(match).toHaveProperty("message", expect.stringContaining("localhost:3000"));
    expect(match).toHaveProperty("message", expect.stringContaining("tcp 0.0.0.0:3000"));
  });

  test("another host on the served port is a mismatch naming both and suggesting --host", () => {
    const match = matchListen(3000, "10.0.0.1", [offer("0.0.0.0", 3000)]);
    expect(match.kind).toBe("mismatch");
    if (match.kind !== "mismatch") return;
    expect(match.message).toContain("10.0.0.1:3000");
    expect(match.message).toContain("tcp 0.0.0.0:3000");
    expect(match.message).toContain("--host 10.0.0.1");
    expect(match.message).not.toContain("a second time");
  });

  test("an IPv6 host and an IPv6 socket are written in brackets", () => {
    const match = matchListen(3000, "::2", [offer("::1", 3000)]);
    expect(match.kind).toBe("mismatch");
    expect(match).toHaveProperty("message", expect.stringContaining("[::2]:3000"));
    expect(match).toHaveProperty("message", expect.stringContaining("tcp [::1]:3000"));
  });

  test.each([undefined, "0.0.0.0"])("a second listen (host %j) on a taken socket is a mismatch", (host) => {
    const match = matchListen(3000, host, [offer("0.0.0.0", 3000, true)]);
    expect(match.kind).toBe("mismatch");
    if (match.kind !== "mismatch") return;
    expect(match.message).toContain("a second time");
    expect(match.message).toContain("tcp 0.0.0.0:3000");
  });

  test("the exact host of a taken socket is a mismatch too", () => {
    const match = matchListen(3000, "127.0.0.1", [offer("127.0.0.1", 3000, true)]);
    expect(match).toHaveProperty("message", expect.stringContaining("a second time"));
  });

  test("two sockets on one port: each host finds its own", () => {
    const offered = [offer("0.0.0.0", 3000), offer("::1", 3000)];
    expect(matchListen(3000, "0.0.0.0", offered)).toEqual({ kind: "serve", index: 0 });
    expect(matchListen(3000, "::1", offered)).toEqual({ kind: "serve", index: 1 });
    expect(matchListen(3000, "0:0:0:0:0:0:0:1", offered)).toEqual({ kind: "serve", index: 1 });
    expect(matchListen(3000, "localhost", offered)).toEqual({ kind: "serve", index: 1 });
  });

  test("two sockets on one port, the first taken: no host takes the second", () => {
    const offered = [offer("0.0.0.0", 3000, true), offer("::1", 3000)];
    expect(matchListen(3000, undefined, offered)).toEqual({ kind: "serve", index: 1 });
    expect(matchListen(3000, "::1", offered)).toEqual({ kind: "serve", index: 1 });
  });
});

describe("matchListen: elsewhere", () => {
  test("another port is elsewhere, naming the port and what is served", () => {
    const match = matchListen(4000, undefined, [offer("0.0.0.0", 3000)]);
    expect(match.kind).toBe("elsewhere");
    if (match.kind !== "elsewhere") return;
    expect(match.message).toContain("port 4000");
    expect(match.message).toContain("tcp 0.0.0.0:3000");
    expect(match.message).toContain("--port 4000");
  });

  test("another port with a host names host:port", () => {
    const match = matchListen(4000, "127.0.0.1", [offer("127.0.0.1", 3000), offer("::1", 3000)]);
    expect(match.kind).toBe("elsewhere");
    expect(match).toHaveProperty("message", expect.stringContaining("127.0.0.1:4000"));
    expect(match).toHaveProperty("message", expect.stringContaining("tcp 127.0.0.1:3000, tcp [::1]:3000"));
  });

  test.each([undefined, "0.0.0.0", "127.0.0.1"])("port 0 (host %j) is always elsewhere", (host) => {
    expect(matchListen(0, host, [offer("0.0.0.0", 0), offer("127.0.0.1", 3000)]).kind).toBe("elsewhere");
  });

  test("nothing offered: elsewhere", () => {
    expect(matchListen(3000, undefined, []).kind).toBe("elsewhere");
  });

  test('with 0.0.0.0 and :: both served, "::" and "0.0.0.0" each take their own', () => {
    const both = [
      { addr: { transport: "tcp" as const, hostname: "0.0.0.0", port: 3000 }, taken: false },
      { addr: { transport: "tcp" as const, hostname: "::", port: 3000 }, taken: false },
    ];
    expect(matchListen(3000, "::", both)).toEqual({ kind: "serve", index: 1 });
    expect(matchListen(3000, "0.0.0.0", both)).toEqual({ kind: "serve", index: 0 });
  });

  test("port 0 is told as a port the kernel picks, with no --port 0 hint", () => {
    const match = matchListen(0, undefined, [
      { addr: { transport: "tcp", hostname: "0.0.0.0", port: 3000 }, taken: false },
    ]);
    expect(match.kind).toBe("elsewhere");
    expect(match.kind !== "serve" && match.message).toMatch(/a port the kernel picks \(port 0\)/);
    expect(match.kind !== "serve" && match.message).not.toMatch(/--port 0/);
  });
});
