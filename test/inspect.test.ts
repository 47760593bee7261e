// `reuseport inspect <port>` as a user runs it, on each runtime: a group of
// 4 sockets across 2 processes, a socket without SO_REUSEPORT on the same
// port, and a group of another user (uid 65534), in text and JSON; and run
// as that other user, who cannot read root's /proc/<pid>/fd.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PortReport } from "../src/node.ts";
import { type RuntimeId, root, runtimes } from "./_runtimes.ts";

const entries: Record<RuntimeId, string> = {
  node20: "src/cli/node.ts",
  node26: "src/cli/node.ts",
  bun: "src/cli/bun.ts",
  deno: "cli.ts",
};
const NOBODY = 65534;
const home = mkdtempSync(join(tmpdir(), "reuseport-inspect-"));
chmodSync(home, 0o777);
const asNobody = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"];
const nobodyEnv = { ...process.env, HOME: home, DENO_DIR: join(home, "deno"), XDG_CACHE_HOME: home, TMPDIR: home };

const holders: ChildProcess[] = [];
let foreign: Server;
let port = 0;

/** Starts test/inspect/holder.ts on Node 20 (as `uid` when given); resolves once its sockets are open. */
function hold(args: string[], uid?: number): Promise<ChildProcess> {
  const argv = runtimes.node20.argv(join(root, "test/inspect/holder.ts"), args);
  const [command, ...rest] = (uid === undefined ? argv : ["setpriv", ...asNobody, ...argv]) as [string, ...string[]];
  const child = spawn(command, rest, {
    env: uid === undefined ? process.env : nobodyEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  holders.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`holder ${args.join(" ")} exited ${code}: ${stderr}`)));
  });
}

function inspect(id: RuntimeId, args: string[], uid?: number) {
  const argv = runtimes[id].argv(join(root, entries[id]), ["inspect", String(port), ...args]);
  const [command, ...rest] = (uid === undefined ? argv : ["setpriv", ...asNobody, ...argv]) as [string, ...string[]];
  const run = spawnSync(command, rest, {
    env: uid === undefined ? process.env : nobodyEnv,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  port = await pickPort();
  await hold(["127.0.0.1", String(port), "2"]);
  await hold(["127.0.0.1", String(port), "2"]);
  await hold(["127.0.0.3", String(port), "2"], NOBODY);
  // A socket without SO_REUSEPORT: Node's own listener, on another address of the port.
  foreign = createServer();
  await new Promise<void>((resolve) => foreign.listen({ host: "127.0.0.2", port }, () => resolve()));
}, 60_000);

afterAll(async () => {
  for (const child of holders) child.stdin?.end();
  await new Promise<void>((resolve) => (foreign ? foreign.close(() => resolve()) : resolve()));
});

/** A free port: bound and released by a plain listener. */
function pickPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe.each(["node20", "node26", "bun", "deno"] as const)("reuseport inspect on %s", (id) => {
  test("groups the port's sockets by address and user, with their owners, and names the problems", () => {
    const report = JSON.parse(inspect(id, ["--json"])) as PortReport;
    expect(report.port).toBe(port);
    const group = (hostname: string) => report.groups.find((g) => g.transport === "tcp" && g.hostname === hostname);
    const mine = group("127.0.0.1");
    expect(mine?.sockets).toHaveLength(4);
    expect(mine?.uid).toBe(0);
    expect(new Set(mine?.sockets.flatMap((s) => s.owners.map((o) => o.pid))).size).toBe(2);
    for (const socket of mine?.sockets ?? []) {
      expect(socket.state).toBe("LISTEN");
      expect(socket.queued).toBe(0);
      expect(socket.backlog).toBeGreaterThan(0);
      expect(socket.owners[0]?.command).toBe("node");
    }
    expect(group("127.0.0.2")?.sockets).toHaveLength(1);
    const others = group("127.0.0.3");
    expect(others?.uid).toBe(NOBODY);
    expect(others?.sockets).toHaveLength(2);
    const kinds = report.problems.map((p) => `${p.kind} ${p.message}`);
    expect(kinds.some((k) => k.startsWith("not-reuseport") && k.includes("127.0.0.2"))).toBe(true);
    expect(kinds.some((k) => k.startsWith("other-user") && k.includes("127.0.0.3"))).toBe(true);
    expect(kinds.filter((k) => k.startsWith("not-reuseport") && !k.includes("127.0.0.2"))).toEqual([]);
    const text = inspect(id, []);
    expect(text).toMatch(new RegExp(`^tcp 127\\.0\\.0\\.1:${port}  uid 0: a reuseport group of 4 sockets$`, "m"));
    expect(text).toMatch(
      new RegExp(`^tcp 127\\.0\\.0\\.3:${port}  uid ${NOBODY}: a reuseport group of 2 sockets$`, "m"),
    );
    expect(text).toMatch(/^problems:$/m);
  }, 60_000);
});

test("run as another user, root's sockets are listed with their owners unresolved", () => {
  const report = JSON.parse(inspect("node20", ["--json"], NOBODY)) as PortReport;
  const roots = report.groups.find((g) => g.hostname === "127.0.0.1");
  expect(roots?.sockets).toHaveLength(4);
  expect(roots?.sockets.every((s) => !s.ownersResolved && s.owners.length === 0)).toBe(true);
  expect(report.unreadableProcesses).toBeGreaterThan(0);
  const own = report.groups.find((g) => g.hostname === "127.0.0.3");
  expect(own?.sockets.every((s) => s.ownersResolved)).toBe(true);
  expect(report.problems.some((p) => p.kind === "other-user" && p.message.includes("127.0.0.1"))).toBe(true);
  expect(inspect("node20", [], NOBODY)).toMatch(/owner not resolved/);
}, 60_000);
