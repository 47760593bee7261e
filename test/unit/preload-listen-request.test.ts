import { describe, expect, test } from "vitest";
import { parseListenArgs } from "../../src/preload/listen-request.ts";

const cb = (): void => {};

describe("parseListenArgs: a TCP port", () => {
  test.each([
    ["listen(3000)", [3000], 3000, undefined],
    ['listen("3000")', ["3000"], 3000, undefined],
    ['listen(" 3000 ")', [" 3000 "], 3000, undefined],
    ['listen(3000, "127.0.0.1")', [3000, "127.0.0.1"], 3000, "127.0.0.1"],
    ['listen(3000, "::", 511, cb)', [3000, "::", 511, cb], 3000, "::"],
    ["listen(3000, cb)", [3000, cb], 3000, undefined],
    ["listen(3000, 511, cb)", [3000, 511, cb], 3000, undefined],
    ["listen(0)", [0], 0, undefined],
    ["listen(65535)", [65535], 65535, undefined],
    ["listen()", [], 0, undefined],
    ["listen(cb)", [cb], 0, undefined],
    ["listen(null)", [null], 0, undefined],
    ['listen({ port: "8080" })', [{ port: "8080" }], 8080, undefined],
    ["listen({})", [{}], 0, undefined],
    ['listen({ host: "::1" })', [{ host: "::1" }], 0, "::1"],
  ] as const)("%s is port %i, host %s", (_name, args, port, host) => {
    const request = parseListenArgs(args);
    expect(request).toEqual({
      kind: "port",
      port,
      host,
      ipv6Only: false,
      callback: typeof args.at(-1) === "function" ? cb : undefined,
    });
  });

  test("an options object: port, host and ipv6Only, the backlog ignored, the callback after it", () => {
    const request = parseListenArgs([{ port: 3000, host: "0.0.0.0", backlog: 5, ipv6Only: true }, cb]);
    expect(request).toEqual({ kind: "port", port: 3000, host: "0.0.0.0", ipv6Only: true, callback: cb });
  });

  test("ipv6Only counts only when it is true", () => {
    expect(parseListenArgs([{ port: 1, ipv6Only: "yes" }])).toMatchObject({ kind: "port", ipv6Only: false });
    expect(parseListenArgs([{ port: 1, ipv6Only: false }])).toMatchObject({ kind: "port", ipv6Only: false });
  });

  test("a host that is no string is no host", () => {
    expect(parseListenArgs([{ port: 1, host: 7 }])).toMatchObject({ kind: "port", host: undefined });
  });

  test("the callback is the last argument, when it is a function", () => {
    const first = (): void => {};
    const last = (): void => {};
    expect(parseListenArgs([3000, first, last])).toMatchObject({ kind: "port", callback: last });
    expect(parseListenArgs([3000, "::", last])).toMatchObject({ kind: "port", callback: last });
    expect(parseListenArgs([3000, first, 511])).toMatchObject({ kind: "port", callback: undefined });
    expect(parseListenArgs([3000])).toMatchObject({ kind: "port", callback: undefined });
  });
});

describe("parseListenArgs: anything else is listened as the app wrote it", () => {
  test.each([
    ['a pipe path, listen("/tmp/x.sock")', ["/tmp/x.sock", cb]],
    ['a relative pipe name, listen("app.sock")', ["app.sock"]],
    ["listen({ path })", [{ path: "/tmp/x.sock" }, cb]],
    ["listen({ fd: 3 })", [{ fd: 3 }]],
    ["listen({ fd: 0 })", [{ fd: 0 }]],
    ["listen({ handle: {} })", [{ handle: {} }]],
    ["listen({ _handle: {} })", [{ _handle: {} }]],
    ["listen({ port: 3000, handle: {} })", [{ port: 3000, handle: {} }]],
    ["listen(70000)", [70000]],
    ["listen(65536)", [65536]],
    ["listen(-1)", [-1]],
    ["listen(1.5)", [1.5]],
    ["listen(NaN)", [Number.NaN]],
    ['listen("70000")', ["70000"]],
    ['listen("-1")', ["-1"]],
    ["listen({ port: 70000 })", [{ port: 70000 }]],
    ["listen({ port: -1 })", [{ port: -1 }]],
    ["listen({ port: 1.5 })", [{ port: 1.5 }]],
    ['listen({ port: "x" })', [{ port: "x" }]],
    ["listen(true)", [true]],
  ] as const)("%s", (_name, args) => {
    expect(parseListenArgs(args)).toEqual({ kind: "other" });
  });

  test("a port beside a path is a port, as node:net listens on the port", () => {
    expect(parseListenArgs([{ port: 3000, path: "/tmp/x.sock" }])).toMatchObject({ kind: "port", port: 3000 });
  });
});
