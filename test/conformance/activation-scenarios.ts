// Socket activation, tested as systemd does it: this process is the fake
// manager. It opens the sockets, starts activated-child.ts with them at fd 3
// on (LISTEN_PID set by a shell that execs the child, as the supervisor
// does), and listens on a NOTIFY_SOCKET of its own for READY=1.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatFdName } from "../../src/activation/names.ts";
import type { Engine, NetAddr, RawSocket } from "../../src/node.ts";
import { encodeSockaddr, encodeUnixSockaddr } from "../../src/socket/_sockaddr.ts";
import type { Context, Scenario } from "./_scenario.ts";
import { followReport, openFds } from "./_util.ts";
import type { ActivatedReport, CallResult, Plan, ReportedError } from "./activated-child.ts";

const childScript = new URL("./activated-child.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface StartOptions {
  /** Parent fds (or a fresh socketpair, "pipe") placed at fd 3, 4, ... of the child. */
  readonly fds: readonly (number | "pipe")[];
  /** LISTEN_FDNAMES; unset when omitted. */
  readonly names?: readonly string[];
  /** LISTEN_PID: the child's own (set by the exec shim), this process's, or unset. */
  readonly pid?: "child" | "parent" | "unset";
  readonly notify?: string;
  /** "ignore": the child does not read stdin (the SIGTERM plan). */
  readonly stdin?: "pipe" | "ignore";
  /** How to run the child script instead of `host.command` (the script and plan are appended). */
  readonly runtime?: readonly string[];
}

interface Activated {
  readonly report: ActivatedReport;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  send(line: string): void;
  nextLine(timeoutMs?: number): Promise<string>;
  /** Closes stdin and waits for a clean exit. */
  stop(): Promise<void>;
}

/** Starts activated-child.ts with `plan`, as a service manager would, and reads its report. */
async function startActivated(ctx: Context, plan: Plan, options: StartOptions): Promise<Activated> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET"]) delete env[name];
  env.LISTEN_FDS = String(options.fds.length);
  if (options.names !== undefined) env.LISTEN_FDNAMES = options.names.join(":");
  if (options.notify !== undefined) env.NOTIFY_SOCKET = options.notify;
  let argv =
    options.runtime === undefined
      ? ctx.host.command(childScript, [JSON.stringify(plan)])
      : [...options.runtime, childScript, JSON.stringify(plan)];
  const pid = options.pid ?? "child";
  // The manager cannot know the child's pid before it exists: a shell sets it to its own, then execs.
  if (pid === "child") argv = ["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', ...argv];
  else if (pid === "parent") env.LISTEN_PID = String(process.pid);
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, {
    env,
    stdio: [options.stdin ?? "pipe", "pipe", "pipe", ...options.fds],
  });
  return { ...(await followReport<ActivatedReport>(child)), child };
}

/** The call's success (the assertion names its error otherwise). */
function ok(result: CallResult | undefined): { fd?: number; addr?: unknown; value?: unknown } {
  assert.ok(result !== undefined, "no result");
  if (!result.ok) assert.fail(`${result.error.name}: ${result.error.message}`);
  return result;
}

/** The call's error (the assertion fails if it succeeded). */
function failed(result: CallResult | undefined): ReportedError {
  assert.ok(result !== undefined, "no result");
  if (result.ok) assert.fail(`expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}

function tcpAddr(hostname: string, port: number, transport: "tcp" | "udp" = "tcp"): NetAddr {
  return { transport, hostname, port };
}

/** What an fd of this process is ("socket:[inode]"). */
function link(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

interface Member {
  readonly inode: string;
  /** For a listener, the accept queue (connections waiting); for UDP, bytes waiting. */
  readonly queue: number;
}

/** The sockets bound to `port` (listening, for TCP) as /proc/net lists them: the members of its group. */
function members(transport: "tcp" | "udp", port: number): Member[] {
  const found: Member[] = [];
  for (const file of [transport, `${transport}6`]) {
    const lines = readFileSync(`/proc/net/${file}`, "utf8").trim().split("\n").slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1] as string;
      const state = fields[3];
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) !== port) continue;
      if (state !== (transport === "tcp" ? "0A" : "07")) continue;
      const queue = Number.parseInt((fields[4] as string).split(":")[1] as string, 16);
      found.push({ inode: fields[9] as string, queue });
    }
  }
  return found;
}

/** Waits until `check` holds (or fails with what it last saw). */
async function until<T>(what: string, read: () => T, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (check(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A client connection that records everything it receives: its text at the end, or "error:CODE". */
function client(port: number, connected?: () => void): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    if (connected !== undefined) socket.once("connect", connected);
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", (error: Error & { code?: string }) => resolve(`error:${error.code ?? error.message}`));
    socket.on("close", () => resolve(text));
    socket.on("end", () => socket.end());
  });
}

/** Counts the outcomes of many clients. */
function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** Accepts every connection waiting on `fd` with the raw accept4, answers "parent" and closes each. */
function acceptAllAsParent(ctx: Context, fd: number): number {
  const sys = ctx.lib.sys();
  const body = encoder.encode("parent");
  let n = 0;
  for (let conn = ctx.lib.accept4(fd); conn !== null; conn = ctx.lib.accept4(fd)) {
    sys.write(conn.fd, body, body.length);
    sys.close(conn.fd);
    n++;
  }
  return n;
}

/** A Unix datagram socket bound at `path` through lib.sys(), standing in for the manager's NOTIFY_SOCKET. */
function notifySocket(
  ctx: Context,
  path: string,
): { next(timeoutMs?: number): Promise<string | undefined>; close(): void } {
  const sys = ctx.lib.sys();
  const c = sys.platform.constants;
  const fd = sys.socket(c.AF_UNIX, c.SOCK_DGRAM | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0, `socket: ${-fd}`);
  const address = encodeUnixSockaddr(sys.platform, path);
  const bound = sys.bind(fd, address, address.length);
  if (bound < 0) {
    sys.close(fd);
    assert.fail(`bind ${path}: errno ${-bound}`);
  }
  const buffer = new Uint8Array(4096);
  return {
    next: async (timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = sys.recvfrom(fd, buffer, buffer.length, 0, null, null);
        if (n >= 0) return decoder.decode(buffer.subarray(0, n));
        if (Date.now() > deadline) return undefined;
        await sleep(10);
      }
    },
    close: () => {
      sys.close(fd);
      if (!path.startsWith("@")) unlinkSync(path);
    },
  };
}

let notifyCount = 0;
/** A fresh abstract-namespace name for a notify socket. */
function abstractName(): string {
  return `@reuseport-test-${process.pid}-${++notifyCount}`;
}

/** Inodes of unnamed Unix sockets (socketpairs), as /proc/net/unix lists them. */
function unnamedUnixSockets(): Set<string> {
  const inodes = new Set<string>();
  for (const line of readFileSync("/proc/net/unix", "utf8").trim().split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 7) inodes.add(`socket:[${fields[6]}]`);
  }
  return inodes;
}

/**
 * Runs `fn` and asserts this process has no fd open that it did not have
 * before, unnamed Unix sockets aside: the runtimes' child_process closes
 * stdio socketpairs late now and then (Deno sometimes never), and the
 * library never makes one.
 */
async function withoutFdLeak(fn: () => Promise<void>): Promise<void> {
  const before = openFds();
  const pairsBefore = unnamedUnixSockets();
  await fn();
  // Child pipes close a moment after the child's exit is reported.
  let changed: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    const after = openFds();
    const pairs = unnamedUnixSockets();
    // Only what is open now and was not before: an fd that closed meanwhile
    // belongs to an earlier scenario whose socket the runtime closed late
    // (Bun does, now and then), not to this one.
    changed = [...after.keys()]
      .filter((fd) => before.get(fd) !== after.get(fd))
      .filter((fd) => !pairsBefore.has(before.get(fd) ?? "") && !pairs.has(after.get(fd) ?? ""))
      .map((fd) => `fd ${fd}: ${before.get(fd) ?? "-"} -> ${after.get(fd) ?? "-"}`);
    if (changed.length === 0) return;
    await sleep(20);
  }
  assert.deepEqual(changed, [], "open fds changed");
}

/** Closes every socket of a scenario, even when it failed. */
function closing(...sockets: RawSocket[]): () => void {
  return () => {
    for (const socket of sockets) socket.close();
  };
}

let warm = false;
/**
 * What a runtime opens once per process and keeps (Bun's and Deno's poller
 * thread and eventfd, Deno's first child process): made before the first
 * scenario counts fds.
 */
async function warmUp(ctx: Context): Promise<void> {
  if (warm) return;
  warm = true;
  const socket = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
  await socket.send(encoder.encode("warm"), socket.addr);
  await socket.receive();
  socket.close();
  const listener = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
  const child = await startActivated(ctx, { calls: [] }, { fds: [listener.fd] });
  await child.stop();
  listener.close();
}

function scenario(name: string, run: (ctx: Context) => Promise<void>): Scenario {
  return {
    name: `activation: ${name}`,
    run: async (ctx) => {
      await warmUp(ctx);
      await withoutFdLeak(() => run(ctx));
    },
  };
}

/** A bound TCP socket that does not listen, made with lib.sys(). */
function boundNotListening(ctx: Context): { fd: number; port: number } {
  const sys = ctx.lib.sys();
  const c = sys.platform.constants;
  const fd = sys.socket(c.AF_INET, c.SOCK_STREAM | c.SOCK_CLOEXEC, 0);
  const address = encodeSockaddr(sys.platform, {
    family: 4,
    bytes: new Uint8Array([127, 0, 0, 1]),
    scopeId: 0,
    port: 0,
  });
  assert.equal(sys.bind(fd, address, address.length), 0);
  const name = new Uint8Array(128);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, 128, true);
  assert.equal(sys.getsockname(fd, name, length), 0);
  return { fd, port: (name[2] as number) * 256 + (name[3] as number) };
}

const badFds: readonly {
  readonly what: string;
  readonly reason: string;
  readonly make: (ctx: Context) => { fd: number | "pipe"; name: string; port: number; close(): void };
}[] = [
  {
    what: "a UDP socket named tcp",
    reason: "wrong-type",
    make: (ctx) => {
      const raw = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      const port = raw.localAddr.port;
      return { fd: raw.fd, name: formatFdName(tcpAddr("127.0.0.1", port)), port, close: () => raw.close() };
    },
  },
  {
    what: "a TCP socket that does not listen",
    reason: "not-listening",
    make: (ctx) => {
      const { fd, port } = boundNotListening(ctx);
      return { fd, name: formatFdName(tcpAddr("127.0.0.1", port)), port, close: () => ctx.lib.sys().close(fd) };
    },
  },
  {
    what: "a file, not a socket",
    reason: "not-a-socket",
    make: () => {
      const fd = openSync("/dev/null", "r");
      return { fd, name: "tcp-127.0.0.1-9", port: 9, close: () => closeSync(fd) };
    },
  },
  {
    what: "a Unix-domain socket",
    reason: "not-inet",
    make: () => ({ fd: "pipe", name: "tcp-127.0.0.1-9", port: 9, close: () => {} }),
  },
  {
    what: "a socket bound to another port than its name",
    reason: "wrong-address",
    make: (ctx) => {
      const raw = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const port = raw.localAddr.port === 65535 ? 65534 : raw.localAddr.port + 1;
      return { fd: raw.fd, name: formatFdName(tcpAddr("127.0.0.1", port)), port, close: () => raw.close() };
    },
  },
];

/** Connections a listener of the accept4 and epoll engines takes ahead of accept() calls. */
const USER_QUEUE = 128;

function closeKeepsOwner(engine: Engine): Scenario {
  return scenario(
    `(${engine}) a worker closing its listener leaves the owner's socket listening, its queue intact`,
    async (ctx) => {
      const raw = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const done = closing(raw);
      try {
        const port = raw.localAddr.port;
        const child = await startActivated(
          ctx,
          { calls: [{ fn: "listen", options: { hostname: "127.0.0.1", port, engine } }], after: "hold" },
          { fds: [raw.fd], names: [formatFdName(raw.localAddr)] },
        );
        try {
          assert.equal(ok(child.report.results[0]).fd, 3);
          // More than the worker takes: the rest wait in the kernel's queue of the shared socket.
          const early = engine === "native" ? 8 : USER_QUEUE + 12;
          const leftEarly = engine === "native" ? 0 : 12;
          const connected: Promise<void>[] = [];
          const first = Array.from({ length: early }, () => {
            let done = (): void => {};
            connected.push(new Promise<void>((resolve) => (done = resolve)));
            return client(port, () => done());
          });
          // Every connection is in the kernel's queue or taken by the worker before it closes.
          await Promise.all(connected);
          await until(
            "the accept queue",
            () => members("tcp", port)[0]?.queue,
            (q) => q === leftEarly,
          );
          child.send("close");
          assert.equal(await child.nextLine(), "closed");
          const later = Array.from({ length: 5 }, () => client(port));
          await until(
            "the accept queue",
            () => members("tcp", port)[0]?.queue,
            (q) => q === leftEarly + 5,
          );
          assert.equal(members("tcp", port).length, 1, "the group has one member");
          assert.equal(acceptAllAsParent(ctx, raw.fd), leftEarly + 5);
          const outcomes = await Promise.all([...first.slice(early - leftEarly), ...later]);
          assert.deepEqual(tally(outcomes), { parent: leftEarly + 5 });
          await Promise.all(first);
        } finally {
          await child.stop();
        }
      } finally {
        done();
      }
    },
  );
}

function termDrains(engine: Engine): Scenario {
  return scenario(
    `(${engine}) SIGTERM: the worker answers every connection it accepted, exits 0, and the owner takes the rest`,
    async (ctx) => {
      const raw = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const name = abstractName();
      const notify = notifySocket(ctx, name);
      try {
        const port = raw.localAddr.port;
        const child = await startActivated(
          ctx,
          { calls: [{ fn: "listen", options: { hostname: "127.0.0.1", port, engine } }], after: "term" },
          { fds: [raw.fd], names: [formatFdName(raw.localAddr)], notify: name, stdin: "ignore" },
        );
        assert.equal(ok(child.report.results[0]).fd, 3);
        assert.equal(await notify.next(), "READY=1");
        const waiting = 32;
        const clients = Array.from({ length: USER_QUEUE + waiting }, () => client(port));
        // The worker holds 128 accepted connections it has not handed out; 32 wait in the kernel.
        await until(
          "the accept queue",
          () => members("tcp", port)[0]?.queue,
          (q) => q === waiting,
        );
        // process.kill: Deno's ChildProcess.kill() reports the signal as the exit cause even when the child exits 0.
        process.kill(child.child.pid as number, "SIGTERM");
        assert.equal(await notify.next(), "STOPPING=1");
        assert.deepEqual(JSON.parse(await child.nextLine()), { served: USER_QUEUE });
        const code = await Promise.race([child.exited, sleep(20_000).then(() => "still running")]);
        if (code === "still running") {
          const dir = `/proc/${child.child.pid}/fd`;
          const left = readdirSync(dir).map((fd) => readlinkSync(`${dir}/${fd}`));
          child.child.kill("SIGKILL");
          assert.fail(`the drained worker did not exit by itself; its fds: ${left.join(" ")}`);
        }
        assert.equal(code, 0);
        // The owner's socket still listens, with its queue as it was.
        assert.equal(members("tcp", port)[0]?.queue, waiting);
        assert.equal(acceptAllAsParent(ctx, raw.fd), waiting);
        assert.deepEqual(tally(await Promise.all(clients)), { child: USER_QUEUE, parent: waiting });
        const late = client(port);
        await until(
          "the accept queue",
          () => members("tcp", port)[0]?.queue,
          (q) => q === 1,
        );
        assert.equal(acceptAllAsParent(ctx, raw.fd), 1);
        assert.equal(await late, "parent");
      } finally {
        notify.close();
        raw.close();
      }
    },
  );
}

/** The datagram form: what the worker read is answered, what it did not stays in the socket for its owner. */
const termDrainsDatagrams: Scenario = scenario(
  "SIGTERM: the worker answers the datagrams it read, exits 0, and later ones wait for the owner",
  async (ctx) => {
    const raw = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const peer = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = raw.localAddr.port;
      const child = await startActivated(
        ctx,
        { calls: [{ fn: "listenDatagram", options: { hostname: "127.0.0.1", port } }], after: "term" },
        { fds: [raw.fd], names: [formatFdName(raw.localAddr)], stdin: "ignore" },
      );
      assert.equal(ok(child.report.results[0]).fd, 3);
      for (let i = 0; i < 5; i++) await peer.send(encoder.encode(`d${i}`), raw.localAddr);
      // The worker has read them into its own queue.
      await until(
        "the receive queue",
        () => members("udp", port)[0]?.queue,
        (q) => q === 0,
      );
      // process.kill: Deno's ChildProcess.kill() reports the signal as the exit cause even when the child exits 0.
      process.kill(child.child.pid as number, "SIGTERM");
      assert.deepEqual(JSON.parse(await child.nextLine()), { served: 5 });
      const replies: string[] = [];
      for (let i = 0; i < 5; i++) replies.push(decoder.decode((await peer.receive())[0]));
      assert.deepEqual(replies.sort(), ["child:d0", "child:d1", "child:d2", "child:d3", "child:d4"]);
      const code = await Promise.race([child.exited, sleep(20_000).then(() => "still running")]);
      if (code === "still running") child.child.kill("SIGKILL");
      assert.equal(code, 0, "the drained worker did not exit by itself");
      await peer.send(encoder.encode("late"), raw.localAddr);
      const sys = ctx.lib.sys();
      const buffer = new Uint8Array(64);
      const n = await until(
        "a datagram for the owner",
        () => sys.recvfrom(raw.fd, buffer, buffer.length, 0, null, null),
        (result) => result >= 0,
      );
      assert.equal(decoder.decode(buffer.subarray(0, n)), "late");
    } finally {
      raw.close();
      peer.close();
    }
  },
);

export const activationScenarios: readonly Scenario[] = [
  scenario("listen, listenDatagram and openSocket adopt fds 3, 4 and 5; no socket joins the group", async (ctx) => {
    const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    const udp = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const v6 = ctx.lib.openSocket({ hostname: "::1", port: 0 });
    const peer = ctx.lib.listenDatagram({ hostname: "127.0.0.1", port: 0 });
    try {
      const names = [formatFdName(tcp.localAddr), formatFdName(udp.localAddr), formatFdName(v6.localAddr)];
      assert.equal(names[2], `tcp-[--1]-${v6.localAddr.port}`);
      const child = await startActivated(
        ctx,
        {
          calls: [
            // "localhost" is 127.0.0.1, and IPv6 text compares in canonical form.
            { fn: "listen", options: { hostname: "localhost", port: tcp.localAddr.port } },
            { fn: "listenDatagram", options: { hostname: "127.0.0.1", port: udp.localAddr.port } },
            { fn: "openSocket", options: { hostname: "0:0::1", port: v6.localAddr.port } },
          ],
        },
        { fds: [tcp.fd, udp.fd, v6.fd], names },
      );
      try {
        const { results, fds, cloexec } = child.report;
        assert.deepEqual(ok(results[0]), { ok: true, fd: 3, addr: tcp.localAddr });
        assert.deepEqual(ok(results[1]), { ok: true, fd: 4, addr: { ...udp.localAddr } });
        assert.deepEqual(ok(results[2]), { ok: true, fd: 5, addr: v6.localAddr });
        // The very same sockets as this process's, and close-on-exec once read.
        assert.deepEqual([fds["3"], fds["4"], fds["5"]], [link(tcp.fd), link(udp.fd), link(v6.fd)]);
        assert.deepEqual([cloexec["3"], cloexec["4"], cloexec["5"]], [true, true, true]);
        assert.deepEqual(ok(child.report.inherited).value, [
          { fd: 3, name: names[0], transport: "tcp", localAddr: tcp.localAddr, adopted: true },
          { fd: 4, name: names[1], transport: "udp", localAddr: udp.localAddr, adopted: true },
          { fd: 5, name: names[2], transport: "tcp", localAddr: v6.localAddr, adopted: true },
        ]);
        // Connections and datagrams reach the child, and the group still has one member.
        assert.deepEqual(tally(await Promise.all(Array.from({ length: 5 }, () => client(tcp.localAddr.port)))), {
          child: 5,
        });
        await peer.send(encoder.encode("hello"), udp.localAddr);
        const [reply] = await peer.receive();
        assert.equal(decoder.decode(reply), "child:hello");
        assert.deepEqual(
          members("tcp", tcp.localAddr.port).map((m) => `socket:[${m.inode}]`),
          [link(tcp.fd)],
        );
        assert.deepEqual(
          members("udp", udp.localAddr.port).map((m) => `socket:[${m.inode}]`),
          [link(udp.fd)],
        );
      } finally {
        await child.stop();
      }
      // The worker is gone; the owner's sockets are still the group.
      assert.equal(members("tcp", tcp.localAddr.port).length, 1);
    } finally {
      closing(tcp, udp, v6)();
      peer.close();
    }
  }),
  scenario(
    "sockets named as systemd units name them (or not at all) are checked and adopted by address",
    async (ctx) => {
      const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const udp = ctx.lib.openSocket({ transport: "udp", hostname: "0.0.0.0", port: 0 });
      try {
        const named = await startActivated(
          ctx,
          {
            calls: [
              { fn: "listen", options: { hostname: "127.0.0.1", port: tcp.localAddr.port } },
              { fn: "listenDatagram", options: { port: udp.localAddr.port } },
            ],
          },
          { fds: [tcp.fd, udp.fd], names: ["http", "dns"] },
        );
        try {
          assert.equal(ok(named.report.results[0]).fd, 3);
          assert.equal(ok(named.report.results[1]).fd, 4);
          assert.deepEqual(ok(named.report.inherited).value, [
            { fd: 3, name: "http", transport: "tcp", localAddr: tcp.localAddr, adopted: true },
            { fd: 4, name: "dns", transport: "udp", localAddr: udp.localAddr, adopted: true },
          ]);
        } finally {
          await named.stop();
        }
        const unnamed = await startActivated(ctx, { calls: [] }, { fds: [tcp.fd, udp.fd] });
        try {
          assert.deepEqual(ok(unnamed.report.inherited).value, [
            { fd: 3, name: "unknown", transport: "tcp", localAddr: tcp.localAddr, adopted: false },
            { fd: 4, name: "unknown", transport: "udp", localAddr: udp.localAddr, adopted: false },
          ]);
        } finally {
          await unnamed.stop();
        }
      } finally {
        closing(tcp, udp)();
      }
    },
  ),
  scenario("LISTEN_PID of another process, or none, means the variables are ignored", async (ctx) => {
    const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = tcp.localAddr.port;
      for (const pid of ["parent", "unset"] as const) {
        const child = await startActivated(
          ctx,
          { calls: [{ fn: "listen", options: { hostname: "127.0.0.1", port } }] },
          { fds: [tcp.fd], names: [formatFdName(tcp.localAddr)], pid },
        );
        try {
          const own = ok(child.report.results[0]);
          assert.notEqual(own.fd, 3, `LISTEN_PID ${pid}: the child adopted fd 3`);
          assert.deepEqual(ok(child.report.inherited).value, []);
          // The child's own socket joined the group.
          assert.equal(members("tcp", port).length, 2);
        } finally {
          await child.stop();
        }
      }
    } finally {
      tcp.close();
    }
  }),
  scenario("a wrong inherited fd is an InheritedSocketError naming it, and nothing is bound instead", async (ctx) => {
    for (const bad of badFds) {
      const made = bad.make(ctx);
      try {
        const child = await startActivated(
          ctx,
          { calls: [{ fn: "listen", options: { hostname: "127.0.0.1", port: made.port } }] },
          { fds: [made.fd], names: [made.name] },
        );
        try {
          const error = failed(child.report.results[0]);
          assert.equal(error.name, "InheritedSocketError", `${bad.what}: ${error.message}`);
          assert.deepEqual(
            { reason: error.reason, fd: error.fd, fdName: error.fdName, code: error.code },
            { reason: bad.reason, fd: 3, fdName: made.name, code: "ERR_INHERITED_SOCKET" },
            `${bad.what}: ${error.message}`,
          );
          assert.ok(error.message.includes(`fd 3 ("${made.name}")`), error.message);
          assert.deepEqual(failed(child.report.inherited).reason, bad.reason);
          assert.equal(child.report.results.length, 1);
          assert.deepEqual(members("tcp", made.port), [], `${bad.what}: the child bound a socket of its own`);
        } finally {
          await child.stop();
        }
      } finally {
        made.close();
      }
    }
  }),
  scenario("another address on an inherited port, and a second adoption, are InheritedSocketErrors", async (ctx) => {
    const local = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    const any = ctx.lib.openSocket({ hostname: "0.0.0.0", port: 0 });
    try {
      const port = local.localAddr.port;
      const child = await startActivated(
        ctx,
        {
          calls: [
            { fn: "listen", options: { hostname: "0.0.0.0", port } },
            { fn: "listen", options: { port } },
            { fn: "openSocket", options: { hostname: "127.0.0.1", port } },
            { fn: "listen", options: { hostname: "127.0.0.1", port } },
            { fn: "listen", options: { hostname: "127.0.0.1", port: 0 } },
            // The default hostname is "0.0.0.0".
            { fn: "listen", options: { port: any.localAddr.port } },
          ],
        },
        { fds: [local.fd, any.fd], names: [formatFdName(local.localAddr), formatFdName(any.localAddr)] },
      );
      try {
        const [explicit, byDefault, adopted, again, ephemeral, anyAdopted] = child.report.results;
        for (const error of [failed(explicit), failed(byDefault)]) {
          assert.equal(error.reason, "address-mismatch", error.message);
          assert.equal(error.fd, 3);
          assert.ok(
            error.message.includes(`127.0.0.1:${port}`) && error.message.includes(`0.0.0.0:${port}`),
            error.message,
          );
        }
        assert.equal(ok(adopted).fd, 3);
        const twice = failed(again);
        assert.deepEqual([twice.reason, twice.fd], ["already-adopted", 3], twice.message);
        assert.ok(![3, 4].includes(ok(ephemeral).fd as number), "port 0 adopted an inherited socket");
        assert.equal(ok(anyAdopted).fd, 4);
      } finally {
        await child.stop();
      }
    } finally {
      closing(local, any)();
    }
  }),
  scenario("notifyReady() sends READY=1 to NOTIFY_SOCKET, and returns false without one", async (ctx) => {
    const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    const path = join(tmpdir(), `reuseport-notify-${process.pid}-${++notifyCount}`);
    const notify = notifySocket(ctx, path);
    try {
      const plan: Plan = {
        calls: [
          { fn: "openSocket", options: { hostname: "127.0.0.1", port: tcp.localAddr.port } },
          { fn: "notifyReady" },
        ],
      };
      const start = { fds: [tcp.fd], names: [formatFdName(tcp.localAddr)] };
      const child = await startActivated(ctx, plan, { ...start, notify: path });
      try {
        assert.equal(ok(child.report.results[0]).fd, 3);
        assert.equal(ok(child.report.results[1]).value, true);
        assert.equal(await notify.next(), "READY=1");
        // openSocket alone sends nothing by itself: that was the only message.
        assert.equal(await notify.next(300), undefined);
      } finally {
        await child.stop();
      }
      const without = await startActivated(ctx, plan, start);
      try {
        assert.equal(ok(without.report.results[1]).value, false);
      } finally {
        await without.stop();
      }
    } finally {
      notify.close();
      tcp.close();
    }
  }),
  scenario(
    "READY=1 goes out by itself once listen() and listenDatagram() serve every inherited socket",
    async (ctx) => {
      const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
      const udp = ctx.lib.openSocket({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      const name = abstractName();
      const notify = notifySocket(ctx, name);
      try {
        const start = {
          fds: [tcp.fd, udp.fd],
          names: [formatFdName(tcp.localAddr), formatFdName(udp.localAddr)],
          notify: name,
        };
        const listenTcp = { fn: "listen", options: { hostname: "127.0.0.1", port: tcp.localAddr.port } } as const;
        const listenUdp = {
          fn: "listenDatagram",
          options: { hostname: "127.0.0.1", port: udp.localAddr.port },
        } as const;
        const half = await startActivated(ctx, { calls: [listenTcp] }, start);
        try {
          ok(half.report.results[0]);
          assert.equal(await notify.next(500), undefined, "READY=1 before every inherited socket was served");
        } finally {
          await half.stop();
        }
        const whole = await startActivated(ctx, { calls: [listenTcp, listenUdp] }, start);
        try {
          assert.equal(await notify.next(), "READY=1");
          assert.equal(await notify.next(300), undefined, "READY=1 was sent twice");
        } finally {
          await whole.stop();
        }
      } finally {
        notify.close();
        closing(tcp, udp)();
      }
    },
  ),
  scenario("(Deno) without env permission the variables read as unset, with no prompt", async (ctx) => {
    if (ctx.host.runtime !== "deno") return;
    const tcp = ctx.lib.openSocket({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = tcp.localAddr.port;
      const child = await startActivated(
        ctx,
        { calls: [{ fn: "listen", options: { hostname: "127.0.0.1", port } }, { fn: "notifyReady" }] },
        {
          fds: [tcp.fd],
          names: [formatFdName(tcp.localAddr)],
          notify: abstractName(),
          runtime: [process.execPath, "run", "--allow-ffi", "--allow-read", "--quiet"],
        },
      );
      try {
        assert.notEqual(ok(child.report.results[0]).fd, 3, "adopted without env permission");
        assert.equal(ok(child.report.results[1]).value, false);
        assert.deepEqual(ok(child.report.inherited).value, []);
      } finally {
        await child.stop();
      }
    } finally {
      tcp.close();
    }
  }),
  ...(["native", "accept4", "epoll"] as const).map(closeKeepsOwner),
  ...(["accept4", "epoll"] as const).map(termDrains),
  termDrainsDatagrams,
];
