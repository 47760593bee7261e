import { describe, expect, test } from "vitest";
import { type DrainTarget, PreloadedWorker, type PreloadHost } from "../../src/preload/worker.ts";
import type { InheritedSocket, Transport } from "../../src/types.ts";

const socket = (
  fd: number,
  transport: Transport,
  hostname: string,
  port: number,
  adopted = false,
): InheritedSocket => ({
  fd,
  name: `${transport}-${hostname}-${port}`,
  transport,
  localAddr: { transport, hostname, port },
  adopted,
});

/** A host that records what the worker asks of it. */
function fakeHost(sockets: readonly InheritedSocket[], drainBoundMs = 5000) {
  const calls: string[] = [];
  const claimed: InheritedSocket[] = [];
  const timers: { ms: number; run: () => void }[] = [];
  const handlers: (() => void)[] = [];
  const state = { others: false, removed: 0 };
  const host: PreloadHost = {
    inherited: () => {
      calls.push("inherited");
      return sockets;
    },
    claim: (s) => {
      calls.push(`claim ${s.fd}`);
      claimed.push(s);
      return s.fd + 100;
    },
    notifyReady: () => calls.push("READY=1"),
    awaitTurn: (address) => calls.push(`turn ${address}`),
    joined: (address, listening) => calls.push(`joined ${address}${listening ? "" : " (failed)"}`),
    notify: (message) => calls.push(message),
    onTerminate: (handler) => {
      calls.push("onTerminate");
      handlers.push(handler);
      return {
        others: () => state.others,
        remove: () => {
          state.removed++;
          calls.push("remove");
        },
      };
    },
    exit: (code) => calls.push(`exit ${code}`),
    setExitCode: (code) => calls.push(`exit code ${code}`),
    after: (ms, run) => {
      calls.push(`after ${ms}`);
      timers.push({ ms, run });
    },
    drainBoundMs,
  };
  const sigterm = (): void => {
    for (const handler of handlers) handler();
  };
  return { host, calls, claimed, timers, handlers, state, sigterm };
}

/** A drain target whose `done` the test calls. */
function target() {
  const dones: (() => void)[] = [];
  const drain: DrainTarget = { drain: (done) => dones.push(done) };
  return { drain, dones };
}

const exits = (calls: readonly string[]) => calls.filter((c) => c.startsWith("exit")).length;

describe("PreloadedWorker: supervised", () => {
  test.each([
    ["no sockets", [], false],
    ["only UDP sockets", [socket(3, "udp", "0.0.0.0", 5353)], false],
    ["only adopted TCP sockets", [socket(3, "tcp", "0.0.0.0", 3000, true)], false],
    ["a TCP socket", [socket(3, "tcp", "0.0.0.0", 3000)], true],
    ["UDP and TCP sockets", [socket(3, "udp", "0.0.0.0", 5353), socket(4, "tcp", "::", 3000)], true],
  ] as const)("%s: %s", (_name, sockets, supervised) => {
    expect(new PreloadedWorker(fakeHost(sockets).host).supervised).toBe(supervised);
  });

  test("offers and describes only the TCP sockets not adopted", () => {
    const { host, calls } = fakeHost([
      socket(3, "udp", "0.0.0.0", 5353),
      socket(4, "tcp", "127.0.0.1", 3000, true),
      socket(5, "tcp", "::1", 3000),
    ]);
    const worker = new PreloadedWorker(host);
    expect(worker.offered()).toEqual([{ addr: { transport: "tcp", hostname: "::1", port: 3000 }, taken: false }]);
    expect(worker.describe()).toBe("tcp [::1]:3000");
    expect(worker.stopping).toBe(false);
    // The inherited sockets are read once.
    expect(worker.supervised).toBe(true);
    expect(calls.filter((c) => c === "inherited")).toHaveLength(1);
  });
});

describe("PreloadedWorker: listen", () => {
  test("a served port claims the socket through the host and returns its fd", () => {
    const { host, calls, claimed } = fakeHost([socket(3, "udp", "0.0.0.0", 53), socket(4, "tcp", "0.0.0.0", 3000)]);
    const worker = new PreloadedWorker(host);
    expect(worker.listen(3000, undefined)).toEqual({ kind: "serve", index: 0, fd: 104 });
    expect(claimed.map((s) => s.fd)).toEqual([4]);
    expect(calls).not.toContain("READY=1");
    expect(worker.offered()[0]?.taken).toBe(true);
  });

  test("a second listen on the taken socket is a mismatch told to the supervisor, and claims nothing", () => {
    const { host, calls, claimed } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    const worker = new PreloadedWorker(host);
    worker.listen(3000, undefined);
    const match = worker.listen(3000, undefined);
    expect(match.kind).toBe("mismatch");
    expect(match.fd).toBeUndefined();
    expect(claimed).toHaveLength(1);
    expect(calls.at(-1)).toMatch(/^STATUS=.*a second time/);
  });

  test.each([
    ["elsewhere", 4000, undefined],
    ["mismatch", 3000, "10.0.0.1"],
  ] as const)("%s sends STATUS=<message> and claims nothing", (kind, port, hostname) => {
    const { host, calls, claimed } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    const match = new PreloadedWorker(host).listen(port, hostname);
    expect(match.kind).toBe(kind);
    if (match.kind === "serve") return;
    expect(calls.filter((c) => c.startsWith("STATUS="))).toEqual([`STATUS=${match.message}`]);
    expect(claimed).toEqual([]);
  });
});

describe("PreloadedWorker: READY=1", () => {
  test("once, only after every inherited TCP socket is served", () => {
    const { host, calls } = fakeHost([
      socket(3, "tcp", "0.0.0.0", 3000),
      socket(4, "udp", "0.0.0.0", 53),
      socket(5, "tcp", "::1", 3000),
    ]);
    const worker = new PreloadedWorker(host);
    const a = worker.listen(3000, "0.0.0.0");
    const b = worker.listen(3000, "::1");
    expect([a.kind, b.kind]).toEqual(["serve", "serve"]);
    if (a.kind !== "serve" || b.kind !== "serve") return;
    worker.serving(a.index, target().drain);
    expect(calls).not.toContain("READY=1");
    worker.serving(b.index, target().drain);
    expect(calls.filter((c) => c === "READY=1")).toHaveLength(1);
    worker.serving(b.index, target().drain);
    expect(calls.filter((c) => c === "READY=1")).toHaveLength(1);
  });

  test("an index out of range is ignored: no READY=1, no SIGTERM handler", () => {
    const { host, calls } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    new PreloadedWorker(host).serving(1, target().drain);
    expect(calls).not.toContain("READY=1");
    expect(calls).not.toContain("onTerminate");
  });

  test("the SIGTERM handler is installed once, when the first server serves", () => {
    const { host, calls } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000), socket(4, "tcp", "::1", 3000)]);
    const worker = new PreloadedWorker(host);
    worker.listen(3000, undefined);
    expect(calls).not.toContain("onTerminate");
    worker.serving(0, target().drain);
    worker.serving(1, target().drain);
    expect(calls.filter((c) => c === "onTerminate")).toHaveLength(1);
  });
});

describe("PreloadedWorker: SIGTERM", () => {
  function served(count: number, drainBoundMs?: number) {
    const sockets = Array.from({ length: count }, (_, i) => socket(3 + i, "tcp", "0.0.0.0", 3000 + i));
    const fake = fakeHost(sockets, drainBoundMs);
    const worker = new PreloadedWorker(fake.host);
    const targets = sockets.map((_, i) => {
      const t = target();
      worker.listen(3000 + i, undefined);
      worker.serving(i, t.drain);
      return t;
    });
    fake.calls.length = 0;
    return { ...fake, worker, targets };
  }

  test("an app that handles SIGTERM itself keeps its own stop: no drain, no exit", () => {
    const { calls, targets, state, sigterm, worker, timers } = served(2);
    state.others = true;
    sigterm();
    expect(calls).toEqual([]);
    expect(targets.every((t) => t.dones.length === 0)).toBe(true);
    expect(timers).toEqual([]);
    expect(worker.stopping).toBe(false);
    expect(state.removed).toBe(0);
  });

  test("otherwise STOPPING=1, every server drains, exit 0 once all are done", () => {
    const { calls, targets, sigterm, worker, state, timers } = served(2, 1234);
    sigterm();
    expect(worker.stopping).toBe(true);
    expect(state.removed).toBe(1);
    expect(calls).toContain("STOPPING=1");
    expect(calls.indexOf("STOPPING=1")).toBeLessThan(calls.indexOf("after 1234"));
    expect(targets.map((t) => t.dones.length)).toEqual([1, 1]);
    expect(timers.map((t) => t.ms)).toEqual([1234]);
    expect(exits(calls)).toBe(0);
    targets[0]?.dones[0]?.();
    expect(exits(calls)).toBe(0);
    targets[1]?.dones[0]?.();
    expect(calls.filter((c) => c.startsWith("exit"))).toEqual(["exit 0"]);
    expect(calls).not.toContain("terminateByDefault");
  });

  test("a second SIGTERM while draining drains nothing again", () => {
    const { calls, targets, sigterm, timers } = served(1);
    sigterm();
    sigterm();
    expect(calls.filter((c) => c === "STOPPING=1")).toHaveLength(1);
    expect(targets[0]?.dones).toHaveLength(1);
    expect(timers).toHaveLength(1);
  });

  test("the handler stays for a later SIGTERM once the app no longer handles it", () => {
    const { calls, targets, sigterm, state } = served(1);
    state.others = true;
    sigterm();
    state.others = false;
    sigterm();
    expect(calls).toContain("STOPPING=1");
    expect(targets[0]?.dones).toHaveLength(1);
  });

  test("the bound exits 0 with a STATUS line when a server never finishes", () => {
    const { calls, targets, sigterm, timers } = served(2, 900);
    sigterm();
    targets[0]?.dones[0]?.();
    expect(exits(calls)).toBe(0);
    timers[0]?.run();
    expect(calls.filter((c) => c.startsWith("STATUS="))).toEqual([
      "STATUS=still 1 server(s) draining after 900 ms (the bound under the supervisor's grace time): exiting",
    ]);
    expect(calls.at(-1)).toBe("exit 0");
    expect(exits(calls)).toBe(1);
  });

  test("with no server serving, no SIGTERM handler is installed at all", () => {
    const { host, calls, handlers } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    const worker = new PreloadedWorker(host);
    worker.listen(3000, undefined);
    expect(handlers).toEqual([]);
    expect(calls).not.toContain("onTerminate");
    expect(calls).not.toContain("terminateByDefault");
  });

  test("a server that calls done twice counts once, and the bound does nothing once all are done", () => {
    const { host, calls, timers, sigterm } = fakeHost([
      socket(3, "tcp", "0.0.0.0", 3000),
      socket(4, "tcp", "0.0.0.0", 4000),
    ]);
    const worker = new PreloadedWorker(host);
    const a = target();
    const b = target();
    worker.serving(0, a.drain);
    worker.serving(1, b.drain);
    sigterm();
    a.dones[0]?.();
    a.dones[0]?.();
    expect(exits(calls)).toBe(0);
    b.dones[0]?.();
    expect(exits(calls)).toBe(1);
    for (const timer of timers) timer.run();
    expect(exits(calls)).toBe(1);
    expect(calls.some((c) => c.startsWith("STATUS=still"))).toBe(false);
  });

  test("a self-bound address (fd -1) is claimed with no turn of the preload's: the library's openSocket takes it", () => {
    const { host, calls } = fakeHost([socket(-1, "tcp", "127.0.0.1", 8080)]);
    const worker = new PreloadedWorker(host);
    worker.listen(8080, undefined);
    worker.serving(0, target().drain);
    expect(calls.filter((c) => /^(turn|claim|joined)/.test(c))).toEqual(["claim -1"]);
  });

  test("a join (Bun.serve, Deno.serve) waits for its turn, and serving() says it joined, once", () => {
    const { host, calls } = fakeHost([socket(-1, "tcp", "127.0.0.1", 8080)]);
    const worker = new PreloadedWorker(host);
    const match = worker.join(8080, undefined);
    expect(match).toMatchObject({ kind: "serve", addr: { hostname: "127.0.0.1", port: 8080 } });
    expect(calls.filter((c) => /^(turn|joined)/.test(c))).toEqual(["turn tcp-127.0.0.1-8080"]);
    worker.serving(0, target().drain);
    worker.serving(0, target().drain);
    expect(calls.filter((c) => /^(turn|joined)/.test(c))).toEqual([
      "turn tcp-127.0.0.1-8080",
      "joined tcp-127.0.0.1-8080",
    ]);
  });

  test("an inherited socket takes no turn: it is the supervisor's own", () => {
    const { host, calls } = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    const worker = new PreloadedWorker(host);
    worker.listen(3000, undefined);
    worker.serving(0, target().drain);
    expect(calls.some((c) => /^(turn|joined)/.test(c))).toBe(false);
  });

  test("a serve that fails after its turn ends the turn: joined, failed, and the address is free again", () => {
    const { host, calls } = fakeHost([socket(-1, "tcp", "127.0.0.1", 8080)]);
    const worker = new PreloadedWorker(host);
    expect(worker.join(8080, undefined).kind).toBe("serve");
    worker.joinFailed(0);
    worker.joinFailed(0);
    expect(calls.filter((c) => /^(turn|joined)/.test(c))).toEqual([
      "turn tcp-127.0.0.1-8080",
      "joined tcp-127.0.0.1-8080 (failed)",
    ]);
    expect(worker.offered()[0]?.taken).toBe(false);
  });

  test("joinServe: a self-bound address joins; another port serves as asked; another host and an inherited socket throw with exit code 1", () => {
    const own = fakeHost([socket(-1, "tcp", "127.0.0.1", 8080)]);
    const worker = new PreloadedWorker(own.host);
    expect(worker.joinServe("Bun.serve", 9000, undefined)).toBeUndefined();
    expect(() => worker.joinServe("Bun.serve", 8080, "10.1.2.3")).toThrow(/supervisor serves tcp 127\.0\.0\.1:8080/);
    expect(own.calls).toContain("exit code 1");
    expect(worker.joinServe("Bun.serve", 8080, undefined)).toEqual({
      index: 0,
      addr: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
    });

    const inherited = fakeHost([socket(3, "tcp", "0.0.0.0", 3000)]);
    expect(() => new PreloadedWorker(inherited.host).joinServe("Deno.serve", 3000, undefined)).toThrow(
      /Deno\.serve cannot serve the supervisor's tcp 0\.0\.0\.0:3000: .*--self-bind/,
    );
    expect(inherited.calls.some((c) => c.startsWith("STATUS=Deno.serve cannot serve"))).toBe(true);
    expect(inherited.calls).toContain("exit code 1");
  });

  test("serveJoined: a serve that throws ends the turn; one that returns is served and drains with its own stop", async () => {
    const { host, calls, sigterm } = fakeHost([socket(-1, "tcp", "127.0.0.1", 8080)]);
    const worker = new PreloadedWorker(host);
    worker.join(8080, undefined);
    expect(() =>
      worker.serveJoined(
        0,
        () => {
          throw new Error("EADDRINUSE");
        },
        async () => {},
      ),
    ).toThrow("EADDRINUSE");
    expect(calls).toContain("joined tcp-127.0.0.1-8080 (failed)");
    worker.join(8080, undefined);
    let stopped = 0;
    const server = worker.serveJoined(
      0,
      () => ({ name: "server" }),
      async () => {
        stopped++;
      },
    );
    expect(server).toEqual({ name: "server" });
    expect(calls).toContain("READY=1");
    // The retry's listen is said: the supervisor records the member.
    expect(calls).toContain("joined tcp-127.0.0.1-8080");
    sigterm();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(stopped).toBe(1);
    expect(calls).toContain("exit 0");
  });
});
